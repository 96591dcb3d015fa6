// bss2emu host implementation of the few halco / haldls / stadls names PPU kernels use to read and
// reset a neuron's spike counter directly (as the Pong demo's kernel does), over the same counters
// as NeuronViewHandle::get_rate_counter.
//
// The counter has 8 bit and an overflow flag: get_count() is the count modulo 256, get_overflow()
// tells whether more than 255 spikes arrived since the reset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>
#include "bss2emu/ppu_state.h"

namespace halco::common {
/** A coordinate's linear index. */
struct Enum
{
	size_t value_;
	constexpr explicit Enum(size_t v = 0) : value_(v) {}
	constexpr size_t value() const { return value_; }
};
} // namespace halco::common

namespace halco::hicann_dls::vx::v3 {

struct NeuronColumnOnDLS
{
	size_t value_;
	constexpr explicit NeuronColumnOnDLS(size_t v = 0) : value_(v) {}
	constexpr size_t value() const { return value_; }
	constexpr static size_t size = 256;
};

struct NeuronRowOnDLS
{
	size_t value_;  // 0: top hemisphere, 1: bottom
	constexpr explicit NeuronRowOnDLS(size_t v = 0) : value_(v) {}
	constexpr size_t value() const { return value_; }
	constexpr static size_t size = 2;
};

struct SpikeCounterReadOnDLS
{
	size_t hemisphere, column;
	constexpr static size_t size = 512;
	static SpikeCounterReadOnDLS of(size_t e) { return {e / 256, e % 256}; }
};

struct SpikeCounterResetOnDLS
{
	size_t hemisphere, column;
	constexpr static size_t size = 512;
	static SpikeCounterResetOnDLS of(size_t e) { return {e / 256, e % 256}; }
};

struct AtomicNeuronOnDLS
{
	NeuronColumnOnDLS column;
	NeuronRowOnDLS row;
	AtomicNeuronOnDLS(NeuronColumnOnDLS c, NeuronRowOnDLS r) : column(c), row(r)
	{
		if (c.value() >= NeuronColumnOnDLS::size || r.value() >= NeuronRowOnDLS::size)
			bss2emu::ppu::fail("AtomicNeuronOnDLS(column %zu, row %zu) does not exist", c.value(), r.value());
	}
	/** Enum i: column i % 256 of the top (i < 256) or bottom hemisphere, as halco numbers them. */
	explicit AtomicNeuronOnDLS(halco::common::Enum e)
	    : AtomicNeuronOnDLS(NeuronColumnOnDLS(e.value() % 256), NeuronRowOnDLS(e.value() / 256))
	{}
	constexpr static size_t size = 512;
	static AtomicNeuronOnDLS of(size_t e) { return AtomicNeuronOnDLS(halco::common::Enum(e)); }
	halco::common::Enum toEnum() const { return halco::common::Enum(row.value() * 256 + column.value()); }
	SpikeCounterReadOnDLS toSpikeCounterReadOnDLS() const { return {row.value(), column.value()}; }
	SpikeCounterResetOnDLS toSpikeCounterResetOnDLS() const { return {row.value(), column.value()}; }
};

} // namespace halco::hicann_dls::vx::v3

namespace halco::common {
/** All coordinates of a type, in enum order. */
template <typename Coordinate>
std::vector<Coordinate> iter_all()
{
	std::vector<Coordinate> all;
	for (size_t e = 0; e < Coordinate::size; ++e)
		all.push_back(Coordinate::of(e));
	return all;
}
} // namespace halco::common

namespace haldls::vx::v3 {

struct SpikeCounterRead
{
	struct Count
	{
		uint32_t value_;
		constexpr static uint32_t max = 255;
		constexpr uint32_t value() const { return value_; }
		constexpr operator uint32_t() const { return value_; }
	};
	uint32_t count = 0;
	bool overflow = false;
	Count get_count() const { return Count{count}; }
	bool get_overflow() const { return overflow; }
};

struct SpikeCounterReset
{};

} // namespace haldls::vx::v3

namespace stadls::vx::v3::ppu {

template <typename T>
T read(halco::hicann_dls::vx::v3::SpikeCounterReadOnDLS const& coord)
{
	static_assert(std::is_same_v<T, haldls::vx::v3::SpikeCounterRead>, "bss2emu's PPU reads spike counters only");
	uint32_t const n = bss2emu::ppu::state->rate_counters[coord.hemisphere][coord.column];
	haldls::vx::v3::SpikeCounterRead ret;
	ret.count = n % 256;
	ret.overflow = n > 255;
	return ret;
}

inline void write(halco::hicann_dls::vx::v3::SpikeCounterResetOnDLS const& coord, haldls::vx::v3::SpikeCounterReset const&)
{
	bss2emu::ppu::state->rate_counters[coord.hemisphere][coord.column] = 0;
}

} // namespace stadls::vx::v3::ppu
