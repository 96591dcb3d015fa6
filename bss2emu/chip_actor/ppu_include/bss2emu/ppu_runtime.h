// bss2emu: what the generated entry point of a host-compiled kernel needs before the kernel.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include "bss2emu/ppu_state.h"
#include "libnux/vx/dls.h"
#include "libnux/vx/vector_row.h"

namespace bss2emu::ppu {

/** Serialize a recorded value (scalars, std::array, std::tuple, rows) in order, packed. */
template <typename T>
void dump(uint8_t*& out, T const& value)
{
	if constexpr (std::is_arithmetic_v<T>) {
		std::memcpy(out, &value, sizeof(T));
		out += sizeof(T);
	} else if constexpr (std::is_same_v<T, libnux::vx::VectorRowMod8> || std::is_same_v<T, libnux::vx::VectorRowFracSat8> ||
	                     std::is_same_v<T, libnux::vx::VectorRowMod16> || std::is_same_v<T, libnux::vx::VectorRowFracSat16>) {
		for (size_t i = 0; i < T::size; ++i)
			dump(out, value[i]);
	} else {
		std::apply([&out](auto const&... parts) { (dump(out, parts), ...); }, value);
	}
}

} // namespace bss2emu::ppu
