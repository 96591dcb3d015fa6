"""``libm_exp.exp_array`` returns libm's ``exp`` bit for bit (the kernel's results are pinned
to it) and follows its written-out algorithm (an exact-arithmetic twin)."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from bss2emu.chip_actor import libm_exp as L


@njit(cache=True)
def _libm(x, out):
    for i in range(x.shape[0]):
        out[i] = np.exp(x[i])


def _fast(x):
    out = np.empty_like(x)
    L.exp_array(x, out)
    return out


def _libm_bits(x):
    want = np.empty_like(x)
    _libm(x, want)
    return want.view(np.uint64)


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


def _every_table_entry_and_the_edges():
    """For every table index (k mod 128, k = round(x·128/ln2)) and sign, arguments at both ends
    of its reduction interval and in its middle, for k near 0 and near the range's ends; and
    the fast range's edges themselves."""
    k = np.concatenate([np.arange(-128, 128), np.arange(-94_000, -93_744), np.arange(94_000, 94_256) - 256,
                        np.arange(-65_536, -65_280), np.arange(3_584, 3_840)]).astype(np.float64)
    mid = k / L.INV_LN2_N
    lo_end, hi_end = (k - 0.5) / L.INV_LN2_N, (k + 0.5) / L.INV_LN2_N
    x = np.concatenate([mid, np.nextafter(lo_end, np.inf), np.nextafter(hi_end, -np.inf), lo_end, hi_end])
    edges = np.array([2.0 ** -54, -(2.0 ** -54), np.nextafter(512.0, 0.0), -np.nextafter(512.0, 0.0),
                      np.nextafter(2.0 ** -54, 1.0), -np.nextafter(2.0 ** -54, 1.0), 709.0 / 2, -700.0, 1.0, -1.0])
    x = np.concatenate([x, edges])
    return x[L.in_fast_range_array(x)]


def test_every_table_entry_and_the_range_edges():
    """libm's bits, and the exact twin's, on arguments that use every table entry and on the
    fast range's edges (in blocks and a part block: the count is no multiple of ``LANES``)."""
    x = _every_table_entry_and_the_edges()
    assert len(x) % L.LANES != 0
    j = (np.round(x * L.INV_LN2_N).astype(np.int64)) % 128
    assert len(np.unique(j)) == 128  # the arguments reach every entry
    got = _fast(x)
    assert np.array_equal(got.view(np.uint64), _libm_bits(x))
    assert [L.exp_reference(float(v)) for v in x[::7]] == got[::7].tolist()


_ARGS = st.lists(st.floats(-511.9, 511.9).filter(lambda v: abs(v) >= 2.0 ** -54), min_size=0, max_size=40)


@settings(max_examples=300, deadline=None)
@given(_ARGS, st.integers(0, 40), st.integers(0, 40))
def test_any_stretch_in_blocks_and_a_part_block(args, lo, hi):
    """``exp_array`` over ``[lo, hi)`` of any length (whole blocks of ``LANES`` and a part
    block): libm's bits there, and nothing outside written."""
    x = np.array(args, np.float64)
    lo, hi = min(lo, len(x)), min(hi, len(x))
    out = np.full(len(x), -1.5)
    L.exp_array(x, out, np.uint64(lo), np.uint64(hi))
    end = hi if hi else len(x)
    inside = np.zeros(len(x), bool)
    inside[lo:end] = True
    assert np.array_equal(out[inside].view(np.uint64), _libm_bits(x[inside]))
    assert np.all(out[~inside] == -1.5)


def test_the_lanes_are_computed_as_vectors():
    """The compiled ``exp_array`` does its arithmetic on vectors of ``LANES`` (the fused
    multiply-adds of a block as ``llvm.fma.v{LANES}f64``; none left scalar)."""
    fresh = njit(boundscheck=False, error_model="numpy")(L.exp_array.py_func)  # not from the cache: inspectable
    x = np.ones(3 * L.LANES + 1)
    fresh(x, np.empty_like(x), np.uint64(0), np.uint64(0))
    ir_text = "".join(fresh.inspect_llvm().values())
    assert f"@llvm.fma.v{L.LANES}f64(" in ir_text
    assert "@llvm.fma.f64(" not in ir_text


_OTHER_TARGET = """
import math
import numpy as np
from numba import njit
from bss2emu.chip_actor import libm_exp as L
from tests.chip_actor.test_libm_exp import _every_table_entry_and_the_edges
x = np.concatenate([_every_table_entry_and_the_edges(), np.random.default_rng(5).uniform(-511.9, 30.0, 20_003)])
got = np.empty_like(x)
exp_array = njit(boundscheck=False, error_model="numpy")(L.exp_array.py_func)  # not cached: its code inspectable
exp_array(x, got, np.uint64(0), np.uint64(0))
want = np.array([math.exp(v) for v in x])  # libm's (numpy's exp is its own SIMD code)
asm = "".join(exp_array.inspect_asm().values())
print(int(np.sum(got.view(np.uint64) != want.view(np.uint64))), asm.count("zmm"), "vfmadd" in asm, L.LANES)
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 targets only")
@pytest.mark.parametrize("cpu, features", [("haswell", "+avx,+avx2,+fma,+sse4.2,+popcnt,-avx512f"),
                                           ("x86-64", "-avx,-avx2,-fma,-avx512f")])
def test_same_bits_compiled_for_a_cpu_without_avx512(cpu, features, tmp_path):
    """Compiled for AVX2 without AVX-512 (the vectors in ymm pairs) and for plain x86-64 (SSE2;
    the fused multiply-adds as libm's ``fma``): the same bits (run here, in a subprocess)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": features, "NUMBA_CACHE_DIR": str(tmp_path),
           "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", _OTHER_TARGET], env=env, cwd=root, capture_output=True, text=True,
                         check=True).stdout.split()
    # no bit differs; no zmm; FMA instructions with AVX2 only; blocks of 8 lanes
    assert out == ["0", "0", str(cpu == "haswell"), "8"]



@pytest.mark.parametrize("arg", [-745.5, -4e5])
def test_the_kernel_leaves_arguments_outside_the_fast_range_to_libm(arg):
    """A neuron whose exponential term's argument (V − V_T)/Δ_T lies outside ``exp_array``'s
    range, where libm's ``exp`` is exactly 0, integrates as the same neuron without the term
    (i + 0.0 is i) step for step, and its term (``S_EPREV``: g_L·Δ_T·exp) is 0. ``exp_array``'s
    own value there is meaningless (−5.5e292 at −745.5): a kernel that did not hand such
    arguments to libm gives another membrane, NaN, or a term other than 0."""
    from bss2emu.chip_actor import kernels as K
    from bss2emu.chip_actor.chip import Chip
    from bss2emu.protocol.hardware import ChipConfig

    cfg = ChipConfig()
    cfg.neurons.column("enable_fire")[:] = 0
    cfg.neurons.column("enable_exponential")[:2] = 1
    chip = Chip(cfg, ideal=True)
    coef = chip.coef.copy()
    coef[:, 1] = coef[:, 0]
    coef[K.K_DT, 0] = (chip.nstate[K.S_V, 0] - coef[K.K_VT, 0]) / arg  # the term on, at ``arg``
    coef[K.K_DT, 1] = 0.0  # the term off
    chip.coef = coef
    chip.nstate[:, 1] = chip.nstate[:, 0]
    at = (chip.nstate[K.S_V, 0] - chip.coef[K.K_VT, 0]) / chip.coef[K.K_DT, 0]
    assert not L.in_fast_range(at) and np.exp(at) == 0.0
    empty = np.zeros(0, np.int64)
    for k in range(20):
        chip.run_window(k, 1, empty, empty, empty)
        v = chip.nstate[K.S_V, :2]
        assert np.isfinite(v).all() and v[0] == v[1], (k, v)
        assert chip.nstate[K.S_EPREV, 0] == 0.0, (k, chip.nstate[K.S_EPREV, 0])
