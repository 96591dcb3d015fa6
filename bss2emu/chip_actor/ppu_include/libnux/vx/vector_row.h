// bss2emu host implementation of the libnux/vx SIMD vector types.
//
// The PPU's vector unit works on 128-byte vectors: 128 lanes of 8 bit or 64 lanes of 16 bit.
// A synapse row (256 columns) is two 8-bit vectors: `even` holds columns 0, 2, 4, ... and `odd`
// columns 1, 3, 5, ... (the hardware's interleaved access); `row[c]` addresses column c.
// Lane arithmetic as the hardware and libnux define it (libnux tests/hw/libnux/vx/test_vector_*):
//  - Mod (unsigned lanes): +, -, * modulo 2^bits (the low bits of the product); << and >> logical;
//    a shift by bits or more gives 0.
//  - FracSat (signed lanes, value / 2^(bits-1) as a fraction): +, - saturate at the lane's range;
//    * is the fractional product floor(a * b / 2^(bits-1)), saturated (-128 * -128 -> 127);
//    >> n is floor(a / 2^n); << n shifts the magnitude bits and keeps the sign bit (no
//    saturation); a shift by bits or more gives 0.
//  - static_cast between Mod and FracSat of one width keeps the bits; convert_contiguous() maps
//    the ranges onto each other (Mod 0 <-> FracSat -128); Mod8 -> Mod16 zero-extends, Mod16 -> Mod8
//    keeps the low byte, FracSat8 -> FracSat16 multiplies by 256, FracSat16 -> FracSat8 keeps the
//    high byte (floor of a / 256).
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace libnux::vx {

struct Mod {};
struct FracSat {};

template <typename E, typename Kind>
struct Vector;

namespace detail {

template <typename E, typename Kind>
struct Lane
{
	static_assert(std::is_integral_v<E> && (sizeof(E) == 1 || sizeof(E) == 2));
	static constexpr int bits = 8 * sizeof(E);
	static constexpr bool frac = std::is_same_v<Kind, FracSat>;
	static constexpr int32_t lo = std::numeric_limits<E>::min();
	static constexpr int32_t hi = std::numeric_limits<E>::max();
	using U = std::make_unsigned_t<E>;

	static E wrap(int64_t v) { return static_cast<E>(static_cast<U>(static_cast<uint64_t>(v))); }
	static E clamp(int64_t v) { return static_cast<E>(v < lo ? lo : (v > hi ? hi : v)); }
	static E fix(int64_t v) { return frac ? clamp(v) : wrap(v); }

	static E add(E a, E b) { return fix(int64_t(a) + int64_t(b)); }
	static E sub(E a, E b) { return fix(int64_t(a) - int64_t(b)); }
	static E mul(E a, E b)
	{
		int64_t const p = int64_t(a) * int64_t(b);
		if constexpr (frac) {
			// floor division by 2^(bits-1) (an arithmetic shift), then saturate
			int64_t const q = (p >= 0) ? (p >> (bits - 1)) : -((-p + (int64_t(1) << (bits - 1)) - 1) >> (bits - 1));
			return clamp(q);
		} else {
			return wrap(p);
		}
	}
	static E shift_left(E a, int n)
	{
		if (n == 0) {
			return a;
		}
		if (n >= bits || n <= -bits) {
			return 0;
		}
		U const u = static_cast<U>(a);
		if (n > 0) {
			if constexpr (frac) {
				U const sign = static_cast<U>(U(1) << (bits - 1));
				return static_cast<E>(static_cast<U>((u & sign) | (static_cast<U>(u << n) & static_cast<U>(sign - 1))));
			} else {
				return static_cast<E>(static_cast<U>(u << n));
			}
		}
		if constexpr (frac) {
			int64_t const v = a;
			int64_t const d = int64_t(1) << (-n);
			return static_cast<E>(v >= 0 ? v / d : -((-v + d - 1) / d));
		} else {
			return static_cast<E>(static_cast<U>(u >> (-n)));
		}
	}
};

template <typename T>
struct IsVector : std::false_type {};
template <typename E, typename K>
struct IsVector<Vector<E, K>> : std::true_type {};

} // namespace detail

/** One SIMD vector of 128 bytes: 128 lanes of 8 bit or 64 lanes of 16 bit. */
template <typename E, typename Kind>
struct Vector
{
	typedef E Element;
	typedef E Data __attribute__((vector_size(128)));
	using L = detail::Lane<E, Kind>;
	using Other = Vector<std::conditional_t<std::is_signed_v<E>, std::make_unsigned_t<E>, std::make_signed_t<E>>,
	                     std::conditional_t<std::is_same_v<Kind, Mod>, FracSat, Mod>>;
	constexpr static size_t size = 128 / sizeof(E);

	Data data;

	// lanes through a plain pointer: subscripting a 128-byte GCC vector on the host moves the
	// whole vector per access
	E* lanes() { return reinterpret_cast<E*>(&data); }
	E const* lanes() const { return reinterpret_cast<E const*>(&data); }

	Vector() : data() {}
	Vector(Element value) : data()
	{
		E* l = lanes();
		for (size_t i = 0; i < size; ++i)
			l[i] = value;
	}
	Vector(Data const& value) : data(value) {}
	Vector(Vector const& other) = default;
	Vector& operator=(Vector const& other) = default;

	Element& operator[](size_t index) { return lanes()[index]; }
	Element const& operator[](size_t index) const { return lanes()[index]; }

	bool operator==(Vector const& other) const
	{
		for (size_t i = 0; i < size; ++i)
			if (lanes()[i] != other.lanes()[i])
				return false;
		return true;
	}
	bool operator!=(Vector const& other) const { return !(*this == other); }

	template <typename F>
	Vector& apply(Vector const& rhs, F f)
	{
		E* l = lanes();
		E const* r = rhs.lanes();
		for (size_t i = 0; i < size; ++i)
			l[i] = f(l[i], r[i]);
		return *this;
	}
	Vector operator-() const { return Vector(E(0)) -= *this; }
	Vector& operator+=(Vector const& rhs) { return apply(rhs, L::add); }
	Vector& operator-=(Vector const& rhs) { return apply(rhs, L::sub); }
	Vector& operator*=(Vector const& rhs) { return apply(rhs, L::mul); }
	Vector& operator<<=(int n)
	{
		E* l = lanes();
		for (size_t i = 0; i < size; ++i)
			l[i] = L::shift_left(l[i], n);
		return *this;
	}
	Vector& operator>>=(int n) { return *this <<= -n; }
	Vector operator+(Vector const& rhs) const { Vector r(*this); return r += rhs; }
	Vector operator-(Vector const& rhs) const { Vector r(*this); return r -= rhs; }
	Vector operator*(Vector const& rhs) const { Vector r(*this); return r *= rhs; }
	Vector operator<<(int n) const { Vector r(*this); return r <<= n; }
	Vector operator>>(int n) const { Vector r(*this); return r >>= n; }
	friend Vector operator+(Element lhs, Vector const& rhs) { return Vector(lhs) += rhs; }
	friend Vector operator-(Element lhs, Vector const& rhs) { return Vector(lhs) -= rhs; }
	friend Vector operator*(Element lhs, Vector const& rhs) { return Vector(lhs) *= rhs; }

	/** Map the lane range onto the other kind's (Mod 0 <-> FracSat minimum). */
	Other convert_contiguous() const
	{
		using OE = typename Other::Element;
		Other ret;
		constexpr int64_t offset = int64_t(1) << (8 * sizeof(E) - 1);
		for (size_t i = 0; i < size; ++i)
			ret[i] = static_cast<OE>(std::is_signed_v<E> ? int64_t(lanes()[i]) + offset : int64_t(lanes()[i]) - offset);
		return ret;
	}
	/** The same bits read as the other kind. */
	explicit operator Other() const
	{
		Other ret;
		for (size_t i = 0; i < size; ++i)
			ret[i] = static_cast<typename Other::Element>(lanes()[i]);
		return ret;
	}
};

typedef Vector<uint8_t, Mod> VectorMod8;
typedef Vector<int8_t, FracSat> VectorFracSat8;
typedef Vector<uint16_t, Mod> VectorMod16;
typedef Vector<int16_t, FracSat> VectorFracSat16;

/** Half a row of 16-bit lanes: 128 lanes in two vectors (`left` lanes 0..63, `right` 64..127). */
template <typename Quarter_>
struct VectorHalfRow16
{
	typedef Quarter_ Quarter;
	typedef typename Quarter::Element Element;
	using OtherHalf = VectorHalfRow16<typename Quarter::Other>;
	constexpr static size_t size = Quarter::size * 2;
	Quarter left{};
	Quarter right{};

	VectorHalfRow16() = default;
	VectorHalfRow16(Element value) : left(value), right(value) {}
	VectorHalfRow16(Quarter const& l, Quarter const& r) : left(l), right(r) {}
	Element& operator[](size_t i) { return i < Quarter::size ? left[i] : right[i - Quarter::size]; }
	Element const& operator[](size_t i) const { return i < Quarter::size ? left[i] : right[i - Quarter::size]; }
	bool operator==(VectorHalfRow16 const& o) const { return left == o.left && right == o.right; }
	bool operator!=(VectorHalfRow16 const& o) const { return !(*this == o); }
	VectorHalfRow16 operator-() const { return VectorHalfRow16(-left, -right); }
	VectorHalfRow16& operator+=(VectorHalfRow16 const& r) { left += r.left; right += r.right; return *this; }
	VectorHalfRow16& operator-=(VectorHalfRow16 const& r) { left -= r.left; right -= r.right; return *this; }
	VectorHalfRow16& operator*=(VectorHalfRow16 const& r) { left *= r.left; right *= r.right; return *this; }
	VectorHalfRow16& operator<<=(int n) { left <<= n; right <<= n; return *this; }
	VectorHalfRow16& operator>>=(int n) { left >>= n; right >>= n; return *this; }
	VectorHalfRow16 operator+(VectorHalfRow16 const& r) const { VectorHalfRow16 x(*this); return x += r; }
	VectorHalfRow16 operator-(VectorHalfRow16 const& r) const { VectorHalfRow16 x(*this); return x -= r; }
	VectorHalfRow16 operator*(VectorHalfRow16 const& r) const { VectorHalfRow16 x(*this); return x *= r; }
	VectorHalfRow16 operator<<(int n) const { VectorHalfRow16 x(*this); return x <<= n; }
	VectorHalfRow16 operator>>(int n) const { VectorHalfRow16 x(*this); return x >>= n; }
	friend VectorHalfRow16 operator+(Element l, VectorHalfRow16 const& r) { return VectorHalfRow16(l) += r; }
	friend VectorHalfRow16 operator-(Element l, VectorHalfRow16 const& r) { return VectorHalfRow16(l) -= r; }
	friend VectorHalfRow16 operator*(Element l, VectorHalfRow16 const& r) { return VectorHalfRow16(l) *= r; }
	OtherHalf convert_contiguous() const { return OtherHalf(left.convert_contiguous(), right.convert_contiguous()); }
	explicit operator OtherHalf() const
	{
		return OtherHalf(static_cast<typename Quarter::Other>(left), static_cast<typename Quarter::Other>(right));
	}
};

typedef VectorMod8 VectorHalfRowMod8;
typedef VectorFracSat8 VectorHalfRowFracSat8;
typedef VectorHalfRow16<VectorMod16> VectorHalfRowMod16;
typedef VectorHalfRow16<VectorFracSat16> VectorHalfRowFracSat16;

/** A whole row of 256 lanes, one per column: `even` columns 0, 2, ..., `odd` columns 1, 3, .... */
template <typename VectorHalfRow>
struct VectorRow
{
	typedef VectorHalfRow HalfRow;
	typedef typename HalfRow::Element Element;
	constexpr static size_t size = HalfRow::size * 2;
	HalfRow even{};
	HalfRow odd{};

	VectorRow() = default;
	VectorRow(Element value) : even(value), odd(value) {}
	VectorRow(HalfRow const& e, HalfRow const& o) : even(e), odd(o) {}
	VectorRow(VectorRow const& other) = default;
	VectorRow& operator=(VectorRow const& other) = default;

	Element& operator[](size_t index) { return (index % 2) ? odd[index / 2] : even[index / 2]; }
	Element const& operator[](size_t index) const { return (index % 2) ? odd[index / 2] : even[index / 2]; }
	bool operator==(VectorRow const& o) const { return even == o.even && odd == o.odd; }
	bool operator!=(VectorRow const& o) const { return !(*this == o); }
	VectorRow operator-() const { return VectorRow(Element(0)) -= *this; }
	VectorRow& operator+=(VectorRow const& r) { even += r.even; odd += r.odd; return *this; }
	VectorRow& operator-=(VectorRow const& r) { even -= r.even; odd -= r.odd; return *this; }
	VectorRow& operator*=(VectorRow const& r) { even *= r.even; odd *= r.odd; return *this; }
	VectorRow& operator<<=(int n) { even <<= n; odd <<= n; return *this; }
	VectorRow& operator>>=(int n) { even >>= n; odd >>= n; return *this; }
	VectorRow operator+(VectorRow const& r) const { VectorRow x(*this); return x += r; }
	VectorRow operator-(VectorRow const& r) const { VectorRow x(*this); return x -= r; }
	VectorRow operator*(VectorRow const& r) const { VectorRow x(*this); return x *= r; }
	VectorRow operator<<(int n) const { VectorRow x(*this); return x <<= n; }
	VectorRow operator>>(int n) const { VectorRow x(*this); return x >>= n; }
	friend VectorRow operator+(Element l, VectorRow const& r) { return VectorRow(l) += r; }
	friend VectorRow operator-(Element l, VectorRow const& r) { return VectorRow(l) -= r; }
	friend VectorRow operator*(Element l, VectorRow const& r) { return VectorRow(l) *= r; }

	auto convert_contiguous() const
	{
		using R = VectorRow<decltype(std::declval<HalfRow>().convert_contiguous())>;
		return R(even.convert_contiguous(), odd.convert_contiguous());
	}

	/** Conversions between the row types (see the file's head for their arithmetic). */
	template <typename OtherRow>
	explicit operator OtherRow() const
	{
		using OE = typename OtherRow::Element;
		static_assert(OtherRow::size == size, "rows of 256 lanes only");
		constexpr bool same_width = sizeof(OE) == sizeof(Element);
		constexpr bool same_sign = std::is_signed_v<OE> == std::is_signed_v<Element>;
		static_assert(same_width != same_sign,
		              "libnux converts rows between Mod and FracSat of one width, or within Mod or "
		              "FracSat between 8 and 16 bit");
		OtherRow ret;
		if constexpr (same_width && sizeof(Element) == 1) {  // bits kept, half by half
			using OH = typename OtherRow::HalfRow;
			return OtherRow(static_cast<OH>(even), static_cast<OH>(odd));
		}
		for (size_t i = 0; i < size; ++i) {
			int64_t const v = (*this)[i];
			if constexpr (same_width) {
				ret[i] = static_cast<OE>(v);
			} else if constexpr (std::is_signed_v<Element>) {  // FracSat 8 <-> 16
				ret[i] = static_cast<OE>(sizeof(OE) > sizeof(Element) ? v * 256 : (v >= 0 ? v / 256 : -((-v + 255) / 256)));
			} else {  // Mod 8 <-> 16
				ret[i] = static_cast<OE>(v);
			}
		}
		return ret;
	}
};

typedef VectorRow<VectorHalfRowFracSat8> VectorRowFracSat8;
typedef VectorRow<VectorHalfRowFracSat16> VectorRowFracSat16;
typedef VectorRow<VectorHalfRowMod8> VectorRowMod8;
typedef VectorRow<VectorHalfRowMod16> VectorRowMod16;

} // namespace libnux::vx
