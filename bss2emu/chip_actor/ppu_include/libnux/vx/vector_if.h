// bss2emu host implementation of libnux/vx/vector_if.h: lane-wise selection.
//
// As on the hardware (libnux vector_if.tcc): the mask's lanes are compared with zero; for a
// mask of unsigned (Mod) lanes only "zero" and "not zero" exist, so `greater` means not zero,
// `lesser` never holds and `greater_equal` always holds.
#pragma once
#include <cstddef>
#include <type_traits>
#include "libnux/vx/vector_row.h"
#include "bss2emu/ppu_state.h"

namespace libnux::vx {

enum class VectorIfCondition
{
	greater,
	lesser,
	equal,
	greater_equal,
	lesser_equal,
	unequal,
};

template <typename VectorMask, typename VectorValue>
VectorValue vector_if(
    VectorMask const& mask,
    VectorIfCondition const condition,
    VectorValue const& value_true,
    VectorValue const& value_false)
{
	static_assert(
	    sizeof(typename VectorMask::Element) == sizeof(typename VectorValue::Element),
	    "Element size of mask and value need to match.");
	static_assert(VectorMask::size == VectorValue::size, "Element number of mask and value need to match.");
	VectorValue ret;
	for (size_t i = 0; i < VectorValue::size; ++i) {
		auto const m = mask[i];
		bool take;
		if constexpr (std::is_unsigned_v<typename VectorMask::Element>) {
			switch (condition) {
				case VectorIfCondition::greater: take = m != 0; break;
				case VectorIfCondition::lesser: take = false; break;
				case VectorIfCondition::equal: take = m == 0; break;
				case VectorIfCondition::greater_equal: take = true; break;
				case VectorIfCondition::lesser_equal: take = m == 0; break;
				case VectorIfCondition::unequal: take = m != 0; break;
				default: bss2emu::ppu::fail("vector_if: unknown condition");
			}
		} else {
			switch (condition) {
				case VectorIfCondition::greater: take = m > 0; break;
				case VectorIfCondition::lesser: take = m < 0; break;
				case VectorIfCondition::equal: take = m == 0; break;
				case VectorIfCondition::greater_equal: take = m >= 0; break;
				case VectorIfCondition::lesser_equal: take = m <= 0; break;
				case VectorIfCondition::unequal: take = m != 0; break;
				default: bss2emu::ppu::fail("vector_if: unknown condition");
			}
		}
		ret[i] = take ? value_true[i] : value_false[i];
	}
	return ret;
}

} // namespace libnux::vx
