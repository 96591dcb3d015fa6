// bss2emu host implementation of libnux/vx/reset_neurons.h.
//
// bss2emu's PPU cannot reset membranes from a kernel yet: reset_neurons() does nothing (the
// emulated neurons keep their state). Kernels that rely on it behave as on a chip whose reset
// found the neurons at rest.
#pragma once
namespace libnux::vx {
inline void reset_neurons() {}
} // namespace libnux::vx
