"""``exp`` as glibc computes it, written out so that it runs as SIMD.

The kernels call ``exp`` once per neuron and step for the exponential term; through libm that
call (about 5 ns here) was most of a neuron update, and it cannot be vectorised. glibc's
``exp`` (since 2.28; the algorithm of ARM's optimized-routines) is a short sequence of
floating-point operations on a table of 2^(i/128) — written out here with the same
operations, the same constants, the same table and the fused multiply-adds of glibc's x86-64
FMA build, it returns the same bits::

    k = round(x · 128/ln2),  r = x - k ln2/128            (the reduction, two fused steps)
    exp(x) = 2^(k/128) · exp(r) ≈ s + s · (t + r + r² (C2 + r C3) + r⁴ (C4 + r C5))

with ``s`` = 2^(k/128) and ``t`` its tail from the table. Valid for 2^-54 ≤ |x| < 512
(``in_fast_range``); the few arguments outside (and NaN) go to libm's ``exp`` itself.

``exp_array`` runs it in blocks of ``LANES`` arguments, each block written in LLVM IR (the
intrinsic ``exp_block``): the arithmetic on vectors (two zmm registers with AVX-512, two ymm
with AVX2, LLVM's generic lowering elsewhere) and the table look-up as one 16-byte load of the
pair (tail, head) per lane, the pairs dealt into two vectors by two shuffles. As a plain loop,
LLVM vectorised the look-up with two gathers (``vpgatherqq``) per 8 lanes, which on Zen 4 cost
more than all the arithmetic: 1.2 ns per argument then, 0.65 ns now. Bits are checked
(``tests/chip_actor/test_libm_exp.py``) against libm's ``exp`` on millions of arguments, on
every table entry and the range's edges, in code for AVX-512, AVX2 and plain x86-64, and
against an exact-arithmetic twin (``exp_reference``).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.core.codegen import get_host_cpu_features
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


def _compiles_for_avx512() -> bool:
    """Whether numba's code targets AVX-512 (its features: ``NUMBA_CPU_FEATURES`` or the host's)."""
    features = config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()
    return "+avx512f" in features.split(",")


# arguments per block: two zmm registers of float64 with AVX-512, two ymm without (measured on
# Zen 4, ns per argument: 0.64 with 16 lanes, 0.70 with 8 in zmm; 0.73 with 8, 0.79 with 16 in ymm)
LANES = 16 if _compiles_for_avx512() else 8
_I32, _I64, _F64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()


def _emit_exp_block(builder, x_ptr, out_ptr, table_ptr, mask):
    """The IR of ``exp`` over the ``LANES`` float64 at ``x_ptr``, written to ``out_ptr``; with
    ``mask`` (``<LANES x i1>``) only those lanes are read and written. Each table look-up is
    one 16-byte load of the pair ``TABLE[j : j + 2]`` from an index taken out of the vector,
    the pairs then dealt into tails and heads by two shuffles: on Zen 4 that is about twice as
    fast as two gathers (``vpgatherqq``) per block, and it needs nothing but loads and
    shuffles, so every x86-64 (and any other target) compiles it."""
    vf, vi = ir.VectorType(_F64, LANES), ir.VectorType(_I64, LANES)
    module = builder.module
    fma_v = cgutils.get_or_insert_function(module, ir.FunctionType(vf, [vf] * 3), f"llvm.fma.v{LANES}f64")

    def splat_f(v):
        return ir.Constant(vf, [v] * LANES)

    def splat_i(v):
        return ir.Constant(vi, [v] * LANES)

    def fma_(a, b, c):
        return builder.call(fma_v, [a, b, c])

    def lanes(seq):
        return ir.Constant(ir.VectorType(_I32, len(seq)), list(seq))

    x_vptr, out_vptr = builder.bitcast(x_ptr, vf.as_pointer()), builder.bitcast(out_ptr, vf.as_pointer())
    align = ir.Constant(_I32, 8)
    if mask is None:
        x = builder.load(x_vptr, align=8)
    else:
        load = cgutils.get_or_insert_function(
            module, ir.FunctionType(vf, [x_vptr.type, _I32, mask.type, vf]), f"llvm.masked.load.v{LANES}f64.p0")
        x = builder.call(load, [x_vptr, align, mask, splat_f(0.0)])
    kd = fma_(splat_f(INV_LN2_N), x, splat_f(SHIFT))
    ki = builder.bitcast(kd, vi)
    kd = builder.fsub(kd, splat_f(SHIFT))
    r = fma_(kd, splat_f(NEG_LN2_LO_N), fma_(kd, splat_f(NEG_LN2_HI_N), x))
    j = builder.shl(builder.and_(ki, splat_i(_N - 1)), splat_i(1))  # < 2·128: in the table whatever x is
    pair_t = ir.VectorType(_I64, 2)
    parts = [builder.load(builder.bitcast(builder.gep(table_ptr, [builder.extract_element(j, ir.Constant(_I32, lane))]),
                                          pair_t.as_pointer()), align=8)
             for lane in range(LANES)]
    while len(parts) > 1:  # concatenated: tail, head of lane 0, tail, head of lane 1, ...
        width = 2 * parts[0].type.count
        parts = [builder.shuffle_vector(a, b, lanes(range(width))) for a, b in zip(parts[::2], parts[1::2])]
    tail = builder.bitcast(builder.shuffle_vector(parts[0], parts[0], lanes(range(0, 2 * LANES, 2))), vf)
    head = builder.shuffle_vector(parts[0], parts[0], lanes(range(1, 2 * LANES, 2)))
    scale = builder.bitcast(builder.add(head, builder.shl(ki, splat_i(52 - TABLE_BITS))), vf)
    r2 = builder.fmul(r, r)
    tmp = fma_(builder.fmul(r2, r2), fma_(r, splat_f(C5), splat_f(C4)),
               fma_(r2, fma_(r, splat_f(C3), splat_f(C2)), builder.fadd(tail, r)))
    y = fma_(scale, tmp, scale)
    if mask is None:
        builder.store(y, out_vptr, align=8)
    else:
        store = cgutils.get_or_insert_function(
            module, ir.FunctionType(ir.VoidType(), [vf, out_vptr.type, _I32, mask.type]),
            f"llvm.masked.store.v{LANES}f64.p0")
        builder.call(store, [y, out_vptr, align, mask])


def _check_block_args(x, out, table):
    """Whether ``exp_block``'s arrays are what it reads: C-contiguous float64, the table uint64."""
    return (isinstance(x, types.Array) and isinstance(out, types.Array) and isinstance(table, types.Array)
            and x.dtype == out.dtype == types.float64 and table.dtype == types.uint64
            and x.layout == out.layout == table.layout == "C")


@intrinsic
def exp_block(typingctx, x, out, table, i):
    """``out[i : i + LANES] = exp(x[i : i + LANES])`` (``table``: ``TABLE``), as SIMD."""
    if not _check_block_args(x, out, table) or not isinstance(i, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        xa, oa, ta = (context.make_array(t)(context, builder, a) for t, a in zip(signature.args[:3], args[:3]))
        _emit_exp_block(builder, builder.gep(xa.data, [args[3]]), builder.gep(oa.data, [args[3]]),
                        builder.bitcast(ta.data, _I64.as_pointer()), None)
        return context.get_dummy_value()

    return types.void(x, out, table, types.uint64), codegen


@intrinsic
def exp_block_part(typingctx, x, out, table, i, m):
    """``exp_block`` for the first ``m`` < ``LANES`` lanes only (no other element read or written)."""
    if not _check_block_args(x, out, table) or not all(isinstance(t, types.Integer) for t in (i, m)):
        return None

    def codegen(context, builder, signature, args):
        xa, oa, ta = (context.make_array(t)(context, builder, a) for t, a in zip(signature.args[:3], args[:3]))
        m_vec = builder.insert_element(ir.Constant(ir.VectorType(_I64, LANES), None), args[4], ir.Constant(_I32, 0))
        m_vec = builder.shuffle_vector(m_vec, m_vec, ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES))
        mask = builder.icmp_unsigned("<", ir.Constant(ir.VectorType(_I64, LANES), list(range(LANES))), m_vec)
        _emit_exp_block(builder, builder.gep(xa.data, [args[3]]), builder.gep(oa.data, [args[3]]),
                        builder.bitcast(ta.data, _I64.as_pointer()), mask)
        return context.get_dummy_value()

    return types.void(x, out, table, types.uint64, types.uint64), codegen


@njit(inline="always", **_JIT)
def in_fast_range(x):
    """Whether ``exp_array`` computes ``exp(x)`` itself (2^-54 ≤ |x| < 512, not NaN)."""
    return np.uint64((bits_of(x) >> np.uint64(52)) & np.uint64(0x7FF)) - np.uint64(_TOP_MIN) < np.uint64(_TOP_SPAN)


@njit(**_JIT)
def exp_array(x, out, lo=np.uint64(0), hi=np.uint64(0)):
    """``out[i] = exp(x[i])`` for ``lo <= i < hi`` (``hi`` 0: to the end), bit for bit as
    libm's ``exp`` where ``in_fast_range(x[i])`` (elsewhere ``out`` is meaningless: call
    ``np.exp`` there), in blocks of ``LANES`` (``exp_block``) and a part block at the end;
    nothing outside ``[lo, hi)`` is read or written."""
    n = np.uint64(x.shape[0]) if hi == 0 else np.uint64(hi)
    i = np.uint64(lo)
    while i + np.uint64(LANES) <= n:
        exp_block(x, out, TABLE, i)
        i += np.uint64(LANES)
    if i < n:
        exp_block_part(x, out, TABLE, i, n - i)


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
