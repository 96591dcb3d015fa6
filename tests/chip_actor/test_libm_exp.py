"""``libm_exp.exp_array`` returns libm's ``exp`` bit for bit (the kernel's results are pinned
to it) and follows its written-out algorithm (an exact-arithmetic twin)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit

from bss2emu.chip_actor import libm_exp as L


@njit(cache=True)
def _libm(x, out):
    for i in range(x.shape[0]):
        out[i] = np.exp(x[i])


def _fast(x):
    out = np.empty_like(x)
    L.exp_array(x, out, np.empty_like(x), np.empty(len(x), np.uint64))
    return out


def _near_ties(rng, n):
    """Arguments at and a few ulps around the reduction's rounding ties x = (k + 1/2) ln2/128."""
    base = (rng.integers(-65000, 4000, n) + 0.5) / L.INV_LN2_N
    out, up, dn = [base], base.copy(), base.copy()
    for _ in range(8):
        up, dn = np.nextafter(up, np.inf), np.nextafter(dn, -np.inf)
        out += [up, dn]
    return np.concatenate(out)


def test_table_is_the_powers_of_two():
    """Each head H is 2^(i/128) rounded to nearest and each tail t (2^(i/128) - H)/H rounded,
    checked in exact arithmetic: the 128th powers of the rounding intervals' ends bracket 2^i.
    (Not against numpy's ``2.0 ** a``: on AVX-512 its SIMD pow is 1 ulp off for 10 of the 128.)"""
    tail = L.TABLE[0::2].view(np.float64)
    head = (L.TABLE[1::2] + (np.arange(128, dtype=np.uint64) << np.uint64(45))).view(np.float64)
    for i in range(128):
        h, t = Fraction(float(head[i])), Fraction(float(tail[i]))
        half_ulp_h = Fraction(math.ulp(float(head[i]))) / 2
        assert (h - half_ulp_h) ** 128 < 2**i < (h + half_ulp_h) ** 128, i
        half_ulp_t = Fraction(math.ulp(float(tail[i]))) / 2 if tail[i] != 0 else Fraction(0)
        assert (h * (1 + t - half_ulp_t)) ** 128 <= 2**i <= (h * (1 + t + half_ulp_t)) ** 128, i
    assert np.all(np.abs(tail) < 2.0 ** -53)


def test_bits_equal_libm_exp_over_the_kernels_range():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-511.9, 30.0, 1_000_000), rng.uniform(-1.0, 1.0, 300_000),
                        rng.uniform(-40.0, 5.0, 700_000), _near_ties(rng, 20_000),
                        np.array([2.0 ** -54, -(2.0 ** -54), 511.99, -511.99, 30.0, -1e-10])])
    assert L.in_fast_range_array(x).all()
    want = np.empty_like(x)
    _libm(x, want)
    got = _fast(x)
    bad = np.flatnonzero(got.view(np.uint64) != want.view(np.uint64))
    assert len(bad) == 0, f"{len(bad)} differ, e.g. exp({x[bad[0]]!r}) = {got[bad[0]]!r}, libm {want[bad[0]]!r}"


def test_outside_the_fast_range_is_flagged():
    x = np.array([0.0, 1e-300, -1e-17, 512.0, -600.0, 1e308, np.inf, -np.inf, np.nan])
    assert not L.in_fast_range_array(x).any()


def test_twin_in_exact_arithmetic_agrees():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-500.0, 30.0, 1500), _near_ties(rng, 30)])
    got = _fast(x)
    assert [L.exp_reference(float(v)) for v in x] == got.tolist()
