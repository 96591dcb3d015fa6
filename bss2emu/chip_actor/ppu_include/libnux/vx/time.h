// bss2emu host implementation of libnux/vx/time.h.
#pragma once
#include <cstdint>
#include "bss2emu/ppu_state.h"

namespace libnux::vx {
typedef uint64_t time_base_t;
constexpr static uint32_t default_ppu_cycles_per_us = 250;
/** PPU clock cycles since the start of the experiment (the emulated PPU's time). */
inline time_base_t now()
{
	return bss2emu::ppu::state->time_cycles;
}
} // namespace libnux::vx
