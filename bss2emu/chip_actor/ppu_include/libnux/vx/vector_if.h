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

namespace detail {
template <typename T>
struct IsRowLike : std::false_type {};
template <typename H>
struct IsRowLike<VectorRow<H>> : std::true_type {};
template <typename T>
struct IsHalfRow16 : std::false_type {};
template <typename Q>
struct IsHalfRow16<VectorHalfRow16<Q>> : std::true_type {};

template <typename Mask, typename Value, typename Cond>
void select_lanes(Mask const& mask, Value const& t, Value const& f, Value& ret, Cond cond)
{
	auto const* m = mask.lanes();
	auto const* a = t.lanes();
	auto const* b = f.lanes();
	auto* r = ret.lanes();
	for (size_t i = 0; i < Value::size; ++i)
		r[i] = cond(m[i]) ? a[i] : b[i];
}
} // namespace detail

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
	if constexpr (detail::IsRowLike<VectorValue>::value) {  // the halves, as libnux does
		return VectorValue(
		    vector_if(mask.even, condition, value_true.even, value_false.even),
		    vector_if(mask.odd, condition, value_true.odd, value_false.odd));
	} else if constexpr (detail::IsHalfRow16<VectorValue>::value) {
		return VectorValue(
		    vector_if(mask.left, condition, value_true.left, value_false.left),
		    vector_if(mask.right, condition, value_true.right, value_false.right));
	} else {
		VectorValue ret;
		auto const& m = mask;
		auto const& t = value_true;
		auto const& f = value_false;
		if constexpr (std::is_unsigned_v<typename VectorMask::Element>) {
			switch (condition) {
				case VectorIfCondition::greater:
				case VectorIfCondition::unequal: detail::select_lanes(m, t, f, ret, [](auto x) { return x != 0; }); break;
				case VectorIfCondition::lesser: return f;
				case VectorIfCondition::greater_equal: return t;
				case VectorIfCondition::equal:
				case VectorIfCondition::lesser_equal: detail::select_lanes(m, t, f, ret, [](auto x) { return x == 0; }); break;
				default: bss2emu::ppu::fail("vector_if: unknown condition");
			}
		} else {
			switch (condition) {
				case VectorIfCondition::greater: detail::select_lanes(m, t, f, ret, [](auto x) { return x > 0; }); break;
				case VectorIfCondition::lesser: detail::select_lanes(m, t, f, ret, [](auto x) { return x < 0; }); break;
				case VectorIfCondition::equal: detail::select_lanes(m, t, f, ret, [](auto x) { return x == 0; }); break;
				case VectorIfCondition::greater_equal: detail::select_lanes(m, t, f, ret, [](auto x) { return x >= 0; }); break;
				case VectorIfCondition::lesser_equal: detail::select_lanes(m, t, f, ret, [](auto x) { return x <= 0; }); break;
				case VectorIfCondition::unequal: detail::select_lanes(m, t, f, ret, [](auto x) { return x != 0; }); break;
				default: bss2emu::ppu::fail("vector_if: unknown condition");
			}
		}
		return ret;
	}
}

} // namespace libnux::vx
