// bss2emu host implementation of hate/tuple.h: for_each over tuple-like sequences in lockstep.
#pragma once
#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace hate {

namespace detail {
template <size_t I, typename F, typename... Ts>
void call_at(F& f, Ts&... ts)
{
	f(std::get<I>(ts)...);
}

template <typename F, size_t... I, typename... Ts>
void for_each_impl(F&& f, std::index_sequence<I...>, Ts&&... ts)
{
	(call_at<I>(f, ts...), ...);
}
} // namespace detail

/**
 * Call f(std::get<i>(ts)...) for each i of the tuple-likes ts (std::tuple, std::array), which
 * must all have the same size.
 */
template <typename F, typename T, typename... Ts>
void for_each(F&& f, T&& t, Ts&&... ts)
{
	constexpr size_t size = std::tuple_size_v<std::remove_cv_t<std::remove_reference_t<T>>>;
	static_assert(
	    ((std::tuple_size_v<std::remove_cv_t<std::remove_reference_t<Ts>>> == size) && ...),
	    "hate::for_each: all sequences need the same size");
	detail::for_each_impl(
	    std::forward<F>(f), std::make_index_sequence<size>{}, std::forward<T>(t),
	    std::forward<Ts>(ts)...);
}

} // namespace hate
