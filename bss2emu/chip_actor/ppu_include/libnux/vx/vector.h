// bss2emu host implementation of libnux/vx/vector.h: row access to the synapse array.
#pragma once
#include <cstddef>
#include <cstdint>
#include "libnux/vx/dls.h"
#include "libnux/vx/vector_row.h"

namespace libnux::vx {

typedef VectorRowMod8 vector_row_t;

namespace detail {
inline void check_row(size_t row)
{
	if (row >= dls_num_rows)
		bss2emu::ppu::fail("synapse row %zu does not exist (a hemisphere has %zu rows)", row, dls_num_rows);
}
inline vector_row_t read_row(uint8_t const (&source)[dls_num_rows][dls_num_columns], size_t row)
{
	check_row(row);
	vector_row_t ret;
	for (size_t c = 0; c < dls_num_columns; ++c)
		ret[c] = source[row][c];
	return ret;
}
} // namespace detail

/** Weights of one row of this PPU's synapse array (6 bit: 0..63). */
inline vector_row_t get_weights(size_t row)
{
	return detail::read_row(bss2emu::ppu::state->weights[bss2emu::ppu::this_hemisphere()], row);
}

/** Write the weights of one row where mask is above zero; the synapse keeps 6 bit (value & 63). */
inline void set_weights_masked(vector_row_t const& values, vector_row_t const& mask, size_t row)
{
	detail::check_row(row);
	auto& weights = bss2emu::ppu::state->weights[bss2emu::ppu::this_hemisphere()][row];
	for (size_t c = 0; c < dls_num_columns; ++c)
		if (static_cast<int8_t>(mask[c]) > 0)
			weights[c] = values[c] & 0x3f;
}

inline void set_weights(vector_row_t const& values, size_t row)
{
	set_weights_masked(values, vector_row_t(1), row);
}

} // namespace libnux::vx
