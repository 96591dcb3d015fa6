#!/usr/bin/env python3
"""``exp`` over an array as the kernels compute it (``libm_exp.exp_array``) against libm's ``exp``
called per element, in ns per argument.

Run from the repository root::

    python benchmarks/libm_exp.py               # 512 arguments (a chip's neurons), best of 5 rounds
    python benchmarks/libm_exp.py --n 256 --repeat 9

The arguments are those of the exponential term, (V - V_T)/Δ_T, drawn from -40 to 30 (the
kernel clips at 30). Printed: ns per argument, the fastest of many samples in each round (on a
busy machine a sample that ran undisturbed), the vector width (``libm_exp.LANES``), and whether
the bits equal libm's.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from numba import njit

from bss2emu.chip_actor import libm_exp as L

CALLS, SAMPLES = 200, 30  # a sample: CALLS calls over the same arguments


@njit(cache=True)
def _exp_array_calls(calls, x, out):
    for _ in range(calls):
        L.exp_array(x, out, np.uint64(0), np.uint64(x.shape[0]))


@njit(cache=True)
def _libm_calls(calls, x, out):
    for _ in range(calls):
        for i in range(x.shape[0]):
            out[i] = np.exp(x[i])  # numba calls libm's exp for a scalar


def _best_ns(run, n: int) -> float:
    best = math.inf
    for _ in range(SAMPLES):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best / (CALLS * n) * 1e9


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=512, help="arguments per call")
    ap.add_argument("--repeat", type=int, default=5, help="rounds")
    args = ap.parse_args(argv)
    x = np.random.default_rng(0).uniform(-40.0, 30.0, args.n)
    out, want = np.empty_like(x), np.empty_like(x)
    _exp_array_calls(1, x, out)  # compiled on the first call
    _libm_calls(1, x, want)
    runs = {"exp_array": lambda: _exp_array_calls(CALLS, x, out),
            "libm exp per element": lambda: _libm_calls(CALLS, x, want)}
    results = {name: [_best_ns(run, args.n) for _ in range(args.repeat)] for name, run in runs.items()}
    print(f"exp over {args.n} arguments in [-40, 30], ns per argument: the fastest of {SAMPLES} samples of "
          f"{CALLS} calls, in each of {args.repeat} rounds; LANES {L.LANES}; load average {os.getloadavg()[0]:.1f}")
    for name, ts in results.items():
        print(f"  {name:22s} {min(ts):6.3f}   ({', '.join(f'{t:.3f}' for t in ts)})")
    same = np.array_equal(out.view(np.uint64), want.view(np.uint64))
    print("  exp_array gave libm's bits" if same else "  EXP_ARRAY DIFFERS FROM LIBM")


if __name__ == "__main__":
    main()
