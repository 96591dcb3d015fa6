// bss2emu host implementation of grenade/vx/ppu/time.h.
#pragma once
#include <cstdint>
#include "bss2emu/ppu_state.h"

namespace grenade::vx::ppu {
/** Time since the start of the experiment in PPU clock cycles (250 MHz). */
inline uint64_t now()
{
	return bss2emu::ppu::state->time_cycles;
}
} // namespace grenade::vx::ppu
