// bss2emu host implementation of libnux/vx/parallel_rng.h: one random generator per lane.
//
// The hardware has a linear-feedback generator per vector lane; bss2emu gives each of the 256
// lanes of this PPU an xorshift32 generator seeded from the seed vector. The numbers are uniform
// and reproducible for a seed, but not the hardware's sequence.
#pragma once
#include <cstddef>
#include <cstdint>
#include "libnux/vx/vector_row.h"

namespace libnux::vx {

namespace detail {
inline uint32_t (&rng_lanes())[256]
{
	static uint32_t lanes[256] = {};
	return lanes;
}
inline uint8_t rng_next(size_t lane)
{
	uint32_t& x = rng_lanes()[lane];
	if (x == 0)
		x = 0x9e3779b9u ^ (uint32_t(lane) * 0x85ebca6bu);
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return static_cast<uint8_t>(x >> 24);
}
template <typename T>
struct IsRow : std::false_type {};
template <typename H>
struct IsRow<VectorRow<H>> : std::true_type {};
} // namespace detail

/** Seed the lanes from a vector (index 0: lanes 0..127, 1: lanes 128..255) or a whole row. */
template <typename V>
void parallel_rng_seed(V const& value, size_t index = 0)
{
	constexpr size_t n = V::size;
	for (size_t i = 0; i < n; ++i) {
		size_t const lane = (n == 256) ? i : (index * 128 + i) % 256;
		uint32_t const s = static_cast<uint32_t>(value[i]) + 1u;
		detail::rng_lanes()[lane] = s * 0x9e3779b9u ^ (uint32_t(lane) * 0x85ebca6bu) ^ 0x6a09e667u;
	}
}

/** Draw one number per lane (8-bit lanes use one draw, 16-bit lanes two). */
template <typename V>
V parallel_rng_rand(size_t index = 0)
{
	V ret;
	for (size_t i = 0; i < V::size; ++i) {
		size_t const lane = (V::size == 256) ? i : (index * 128 + i) % 256;
		uint32_t bits = detail::rng_next(lane);
		if constexpr (sizeof(typename V::Element) == 2)
			bits = (bits << 8) | detail::rng_next(lane);
		ret[i] = static_cast<typename V::Element>(bits);
	}
	return ret;
}

} // namespace libnux::vx
