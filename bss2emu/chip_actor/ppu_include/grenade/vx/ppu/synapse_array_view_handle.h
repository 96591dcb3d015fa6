// bss2emu host implementation of grenade/vx/ppu/synapse_array_view_handle.h: the synapses of
// one projection on one hemisphere, as the generated entry point hands them to a kernel.
//
// As on the hardware, every access checks that this PPU owns the hemisphere and that the row
// index exists; a wrong access stops the kernel (the run fails with the rule's name and time).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>
#include "hate/visibility.h"
#include "libnux/vx/correlation.h"
#include "libnux/vx/dls.h"
#include "libnux/vx/vector.h"

namespace grenade::vx::ppu {

struct SynapseArrayViewHandle
{
	/** Columns in synapse array of view. */
	std::vector<uint8_t> columns;
	/** Rows in synapse array of view. */
	std::vector<uint8_t> rows;
	/** Hemisphere location information. */
	libnux::vx::PPUOnDLS hemisphere;
	typedef libnux::vx::vector_row_t Row;
	/** 1 in the columns of the view. */
	Row column_mask;

	void check(size_t index_row, char const* what) const
	{
		if (::ppu != hemisphere)
			bss2emu::ppu::fail(
			    "SynapseArrayViewHandle::%s: the view is on the %s hemisphere, this PPU is the %s one "
			    "(check `if (synapses[i].hemisphere != ppu) return;`)",
			    what, hemisphere == libnux::vx::PPUOnDLS::top ? "top" : "bottom",
			    ::ppu == libnux::vx::PPUOnDLS::top ? "top" : "bottom");
		if (index_row >= rows.size())
			bss2emu::ppu::fail(
			    "SynapseArrayViewHandle::%s: row index %zu, the view has %zu rows", what, index_row, rows.size());
	}

	/** Weights of row `rows[index_row]`, all 256 columns (no column masking). */
	Row get_weights(size_t index_row) const
	{
		check(index_row, "get_weights");
		return libnux::vx::get_weights(rows[index_row]);
	}

	/** Set the weights of row `rows[index_row]` in the view's columns only. */
	void set_weights(Row const& value, size_t index_row) const
	{
		check(index_row, "set_weights");
		libnux::vx::set_weights_masked(value, column_mask, rows[index_row]);
	}

	Row get_causal_correlation(size_t index_row) const
	{
		check(index_row, "get_causal_correlation");
		Row ret;
		libnux::vx::get_causal_correlation(&ret.even.data, &ret.odd.data, rows[index_row]);
		return ret;
	}

	Row get_acausal_correlation(size_t index_row) const
	{
		check(index_row, "get_acausal_correlation");
		Row ret;
		libnux::vx::get_acausal_correlation(&ret.even.data, &ret.odd.data, rows[index_row]);
		return ret;
	}

	struct CorrelationRow
	{
		Row causal;
		Row acausal;
	};

	/** Causal and acausal correlation of a row; reset the view's columns afterwards if asked. */
	CorrelationRow get_correlation(size_t index_row, bool reset) const
	{
		check(index_row, "get_correlation");
		CorrelationRow ret;
		libnux::vx::get_correlation(
		    &ret.causal.even.data, &ret.causal.odd.data, &ret.acausal.even.data, &ret.acausal.odd.data,
		    rows[index_row]);
		if (reset)
			libnux::vx::reset_correlation_masked(column_mask, rows[index_row]);
		return ret;
	}

	/** Reset the correlation sensors of the view's columns in a row. */
	void reset_correlation(size_t index_row) const
	{
		check(index_row, "reset_correlation");
		libnux::vx::reset_correlation_masked(column_mask, rows[index_row]);
	}
};

} // namespace grenade::vx::ppu
