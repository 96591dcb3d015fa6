// bss2emu host implementation of grenade/vx/ppu/neuron_view_handle.h: the neurons of one
// population on one hemisphere.
//
// Rate counters count a neuron's spikes since their last reset (8 bit: a counter that overflowed
// reads 255, as on the hardware); analog readouts are the CADC's 8-bit membrane codes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>
#include "hate/visibility.h"
#include "libnux/vx/dls.h"
#include "libnux/vx/vector.h"

namespace grenade::vx::ppu {

struct NeuronViewHandle
{
	/** Columns in neuron view. */
	std::vector<uint8_t> columns;
	/** Hemisphere location information. */
	libnux::vx::PPUOnDLS hemisphere;
	typedef libnux::vx::vector_row_t Row;

	void check(char const* what) const
	{
		if (::ppu != hemisphere)
			bss2emu::ppu::fail(
			    "NeuronViewHandle::%s: the view is on the %s hemisphere, this PPU is the %s one", what,
			    hemisphere == libnux::vx::PPUOnDLS::top ? "top" : "bottom",
			    ::ppu == libnux::vx::PPUOnDLS::top ? "top" : "bottom");
	}

	/** Spike count of neuron `columns[column_index]`, saturated at 255; reset it if asked. */
	uint8_t get_rate_counter(size_t column_index, bool reset) const
	{
		if (column_index >= columns.size())
			bss2emu::ppu::fail(
			    "NeuronViewHandle::get_rate_counter: index %zu, the view has %zu columns", column_index,
			    columns.size());
		auto& counter = bss2emu::ppu::state->rate_counters[static_cast<size_t>(hemisphere)][columns[column_index]];
		uint8_t const ret = counter > 255 ? 255 : static_cast<uint8_t>(counter);
		if (reset)
			counter = 0;
		return ret;
	}

	/** Rate counters of the view's columns (other columns 0). */
	Row get_rate_counters(bool reset) const
	{
		Row ret(0);
		for (size_t i = 0; i < columns.size(); ++i)
			ret[columns[i]] = get_rate_counter(i, reset);
		return ret;
	}

#ifdef BSS2EMU_NEURON_PARAMETERS
	/**
	 * bss2emu extension (the real handle has no parameter writes): set a neuron parameter of
	 * neuron `columns[column_index]` to a hardware value (a 10-bit DAC value, or the range of a
	 * switch or counter; bss2emu::ppu::NeuronParameter names them as bss2emu's NEURON_PARAMETERS
	 * do). Takes effect when the kernel returns, as the PPU's CapMem writes do; a value out of the
	 * parameter's range stops the kernel.
	 */
	void set_parameter(bss2emu::ppu::NeuronParameter parameter, size_t column_index, uint16_t value) const
	{
		check("set_parameter");
		if (column_index >= columns.size())
			bss2emu::ppu::fail(
			    "NeuronViewHandle::set_parameter: index %zu, the view has %zu columns", column_index,
			    columns.size());
		auto const p = static_cast<size_t>(parameter);
		if (value > bss2emu::ppu::neuron_parameter_maximum[p])
			bss2emu::ppu::fail(
			    "NeuronViewHandle::set_parameter: %s = %u is out of its range 0..%u", bss2emu::ppu::neuron_parameter_names[p],
			    static_cast<unsigned>(value), static_cast<unsigned>(bss2emu::ppu::neuron_parameter_maximum[p]));
		auto& st = *bss2emu::ppu::state;
		if (st.neuron_write_count >= bss2emu::ppu::neuron_writes_max)
			bss2emu::ppu::fail(
			    "NeuronViewHandle::set_parameter: more than %zu parameter writes in one invocation",
			    bss2emu::ppu::neuron_writes_max);
		st.neuron_writes[st.neuron_write_count++] = bss2emu::ppu::NeuronWrite{
		    static_cast<uint16_t>(p),
		    static_cast<uint16_t>(static_cast<size_t>(hemisphere) * libnux::vx::dls_num_columns + columns[column_index]),
		    value, 0};
	}
#endif

	/** CADC codes of all 256 columns of this hemisphere (no column masking). */
	Row get_analog_readouts() const
	{
		check("get_analog_readouts");
		Row ret;
		auto const& cadc = bss2emu::ppu::state->cadc[static_cast<size_t>(hemisphere)];
		for (size_t c = 0; c < libnux::vx::dls_num_columns; ++c)
			ret[c] = cadc[c];
		return ret;
	}
};

} // namespace grenade::vx::ppu
