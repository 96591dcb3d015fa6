// bss2emu host implementation of libnux/vx/correlation.h: the correlation sensors of this PPU's
// hemisphere, read as 8-bit CADC codes as on the hardware: a reset charges a sensor's capacitor to
// the reset level (state->correlation_reset_code), correlated pre/post pairs discharge it, so a
// read is the reset code minus the accumulated correlation (floored at 0), and kernels take
// "baseline - read" as the correlation (as calix's correlation measurement does).
//
// A reset returns the sensors to the reset code for the rest of this invocation and asks the
// emulator to reset the chip's sensors (bss2emu resets all sensors of the chip; the hardware resets
// the given ones).
#pragma once
#include <cstddef>
#include <cstdint>
#include "libnux/vx/dls.h"
#include "libnux/vx/vector_row.h"

namespace libnux::vx {

namespace detail {
inline void read_half_rows(
    uint8_t const (&source)[dls_num_rows][dls_num_columns], VectorMod8::Data* even, VectorMod8::Data* odd, size_t row)
{
	if (row >= dls_num_rows)
		bss2emu::ppu::fail("synapse row %zu does not exist (a hemisphere has %zu rows)", row, dls_num_rows);
	auto* e = reinterpret_cast<uint8_t*>(even);
	auto* o = reinterpret_cast<uint8_t*>(odd);
	uint32_t const reset_code = bss2emu::ppu::state->correlation_reset_code;
	auto read = [reset_code](uint8_t accumulated) {
		return static_cast<uint8_t>(accumulated < reset_code ? reset_code - accumulated : 0);
	};
	for (size_t i = 0; i < dls_num_columns / 2; ++i) {
		e[i] = read(source[row][2 * i]);
		o[i] = read(source[row][2 * i + 1]);
	}
}
inline size_t hemisphere()
{
	return bss2emu::ppu::this_hemisphere();
}
} // namespace detail

inline void get_causal_correlation(VectorMod8::Data* first_half, VectorMod8::Data* second_half, size_t row)
{
	detail::read_half_rows(bss2emu::ppu::state->causal[detail::hemisphere()], first_half, second_half, row);
}

inline void get_acausal_correlation(VectorMod8::Data* first_half, VectorMod8::Data* second_half, size_t row)
{
	detail::read_half_rows(bss2emu::ppu::state->acausal[detail::hemisphere()], first_half, second_half, row);
}

inline void get_correlation(
    VectorMod8::Data* first_causal_half,
    VectorMod8::Data* second_causal_half,
    VectorMod8::Data* first_acausal_half,
    VectorMod8::Data* second_acausal_half,
    size_t row)
{
	get_causal_correlation(first_causal_half, second_causal_half, row);
	get_acausal_correlation(first_acausal_half, second_acausal_half, row);
}

/** Reset the sensors of one row where mask is above zero. */
inline void reset_correlation_masked(VectorRowMod8 const& mask, size_t row)
{
	if (row >= dls_num_rows)
		bss2emu::ppu::fail("synapse row %zu does not exist (a hemisphere has %zu rows)", row, dls_num_rows);
	auto* s = bss2emu::ppu::state;
	size_t const h = detail::hemisphere();
	for (size_t c = 0; c < dls_num_columns; ++c) {
		if (static_cast<int8_t>(mask[c]) > 0) {
			s->correlation_reset[h][row][c] = 1;
			s->causal[h][row][c] = 0;
			s->acausal[h][row][c] = 0;
		}
	}
}

inline void reset_correlation(size_t row)
{
	reset_correlation_masked(VectorRowMod8(1), row);
}

inline void reset_all_correlations()
{
	for (size_t row = 0; row < dls_num_rows; ++row)
		reset_correlation(row);
}

} // namespace libnux::vx
