// bss2emu host implementation of libnux/vx/dls.h: the PPU's view of the chip.
#pragma once
#include <cstddef>
#include <cstdint>
#include "bss2emu/ppu_state.h"

namespace libnux::vx {

/** The two PPUs of a chip, one per hemisphere. */
enum class PPUOnDLS : uint32_t
{
	top = 0,
	bottom = 1
};

constexpr size_t dls_num_columns = 256;
constexpr size_t dls_num_rows = 256;
constexpr size_t dls_vector_size = 128;     // bytes of one SIMD vector
constexpr size_t dls_num_vectors_per_row = 2;
constexpr uint8_t dls_correlation_reset = 0;

} // namespace libnux::vx

/** The PPU executing this code (defined by bss2emu's generated entry point). */
extern volatile libnux::vx::PPUOnDLS ppu;

namespace bss2emu::ppu {
inline size_t this_hemisphere()
{
	return static_cast<size_t>(static_cast<libnux::vx::PPUOnDLS>(::ppu));
}
} // namespace bss2emu::ppu
