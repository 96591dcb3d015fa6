"""``exp`` as glibc computes it, written out so that the compiler vectorises it.

The kernels call ``exp`` once per neuron and step for the exponential term; through libm that
call (about 5 ns here) was most of a neuron update, and it cannot be vectorised. glibc's
``exp`` (since 2.28; the algorithm of ARM's optimized-routines) is a short sequence of
floating-point operations on a table of 2^(i/128) — written out here with the same
operations, the same constants, the same table and the fused multiply-adds of glibc's x86-64
FMA build, it returns the same bits, and over an array it runs as SIMD::

    k = round(x · 128/ln2),  r = x - k ln2/128            (the reduction, two fused steps)
    exp(x) = 2^(k/128) · exp(r) ≈ s + s · (t + r + r² (C2 + r C3) + r⁴ (C4 + r C5))

with ``s`` = 2^(k/128) and ``t`` its tail from the table. Valid for 2^-54 ≤ |x| < 512
(``in_fast_range``); the few arguments outside (and NaN) go to libm's ``exp`` itself.
``tests/chip_actor/test_libm_exp.py`` checks the bits against libm's ``exp`` on millions of
arguments and against an exact-arithmetic twin (``exp_reference``).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

TABLE_BITS = 7
_N = 1 << TABLE_BITS
INV_LN2_N = float.fromhex("0x1.71547652b82fep0") * _N
SHIFT = float.fromhex("0x1.8p52")  # adding it rounds to an integer in the low mantissa bits
NEG_LN2_HI_N = float.fromhex("-0x1.62e42fefa0000p-8")
NEG_LN2_LO_N = float.fromhex("-0x1.cf79abc9e3b3ap-47")
C2, C3, C4, C5 = (float.fromhex(h) for h in ("0x1.ffffffffffdbdp-2", "0x1.555555555543cp-3",
                                               "0x1.55555cf172b91p-5", "0x1.1111167a4d017p-7"))
_TOP_MIN, _TOP_SPAN = 0x3C9, 0x408 - 0x3C9  # top 12 bits of 2^-54 and of 512


def _table() -> np.ndarray:
    """glibc's ``__exp_data.tab``: for i < 128, ``tab[2i]`` the bits of the tail
    (2^(i/128) - H)/H and ``tab[2i + 1]`` those of H = 2^(i/128) rounded, minus i << 45."""
    tab = np.zeros(2 * _N, np.uint64)
    with localcontext() as ctx:
        ctx.prec = 80
        for i in range(_N):
            exact = Decimal(2) ** (Decimal(i) / Decimal(_N))
            h = float(exact)  # correctly rounded
            tail = float((exact - Decimal(h)) / Decimal(h))
            tab[2 * i] = np.float64(tail).view(np.uint64)
            tab[2 * i + 1] = (int(np.float64(h).view(np.uint64)) - (i << (52 - TABLE_BITS))) % (1 << 64)
    return tab


TABLE = _table()


@intrinsic
def fma(typingctx, a, b, c):
    """``a · b + c`` rounded once (the fused multiply-add)."""
    if not all(isinstance(t, types.Float) and t.bitwidth == 64 for t in (a, b, c)):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@intrinsic
def bits_of(typingctx, x):
    """The bits of a float64 as uint64."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def float_of(typingctx, u):
    """The float64 with the bits of a uint64."""
    if not isinstance(u, types.Integer) or u.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


_JIT = dict(cache=True, boundscheck=False, error_model="numpy")


@njit(inline="always", **_JIT)
def in_fast_range(x):
    """Whether ``exp_array`` computes ``exp(x)`` itself (2^-54 ≤ |x| < 512, not NaN)."""
    return np.uint64((bits_of(x) >> np.uint64(52)) & np.uint64(0x7FF)) - np.uint64(_TOP_MIN) < np.uint64(_TOP_SPAN)


@njit(**_JIT)
def exp_array(x, out, r_buf, k_buf, lo=np.uint64(0), hi=np.uint64(0)):
    """``out[i] = exp(x[i])`` for ``lo <= i < hi`` (``hi`` 0: to the end; unsigned, so that
    the loops vectorise: signed indices are checked for wrap-around), bit for bit as
    libm's ``exp`` where ``in_fast_range(x[i])`` (elsewhere ``out`` is meaningless: call
    ``np.exp`` there). Three loops, so that the arithmetic vectorises around the table
    look-up; ``r_buf`` (float64) and ``k_buf`` (uint64) are scratch as long as ``x``."""
    n = np.uint64(x.shape[0]) if hi == 0 else np.uint64(hi)
    lo = np.uint64(lo)
    for i in range(lo, n):
        xv = x[i]
        kd = fma(INV_LN2_N, xv, SHIFT)
        k_buf[i] = bits_of(kd)
        kd -= SHIFT
        r_buf[i] = fma(kd, NEG_LN2_LO_N, fma(kd, NEG_LN2_HI_N, xv))
    for i in range(lo, n):
        ki = k_buf[i]
        j = np.uint64(2) * (ki & np.uint64(_N - 1))
        out[i] = float_of(TABLE[j])
        k_buf[i] = TABLE[j + np.uint64(1)] + (ki << np.uint64(52 - TABLE_BITS))
    for i in range(lo, n):
        r = r_buf[i]
        r2 = r * r
        tmp = fma(r2 * r2, fma(r, C5, C4), fma(r2, fma(r, C3, C2), out[i] + r))
        scale = float_of(k_buf[i])
        out[i] = fma(scale, tmp, scale)


def exp_reference(x: float) -> float:
    """The same operations in exact rational arithmetic, each rounded once to float64 (the
    twin of ``exp_array`` for tests; fast range only)."""
    def rnd(q: Fraction) -> float:
        return float(q)  # Fraction → float rounds correctly (to nearest, ties to even)

    def f(v: float) -> Fraction:
        return Fraction(v)

    kd = rnd(f(INV_LN2_N) * f(x) + f(SHIFT))
    ki = int(np.float64(kd).view(np.uint64))
    kd = kd - SHIFT  # exact
    r = rnd(f(kd) * f(NEG_LN2_LO_N) + f(rnd(f(kd) * f(NEG_LN2_HI_N) + f(x))))
    j = 2 * (ki % _N)
    tail = float(TABLE[j : j + 1].view(np.float64)[0])
    sbits = (int(TABLE[j + 1]) + (ki << (52 - TABLE_BITS))) % (1 << 64)
    scale = float(np.array([sbits], np.uint64).view(np.float64)[0])
    r2 = r * r
    r4 = r2 * r2
    p5 = rnd(f(r) * f(C5) + f(C4))
    p3 = rnd(f(r) * f(C3) + f(C2))
    tmp = rnd(f(r4) * f(p5) + f(rnd(f(r2) * f(p3) + f(tail + r))))
    return rnd(f(scale) * f(tmp) + f(scale))


@njit(**_JIT)
def in_fast_range_array(x):
    """``in_fast_range`` over an array (bool)."""
    out = np.empty(x.shape[0], np.bool_)
    for i in range(x.shape[0]):
        out[i] = in_fast_range(x[i])
    return out
