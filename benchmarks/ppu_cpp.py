#!/usr/bin/env python3
"""PPU kernel benchmark: the cost of one plasticity-kernel invocation on one emulated chip, the
tutorial's homeostasis rule written as PPU C++ (compiled for the host, ``CppKernel``) against the
same rule as a numpy and as a numba Python kernel.

Run from the repository root::

    python benchmarks/ppu_cpp.py                  # 64 rows per hemisphere, 200 invocations
    python benchmarks/ppu_cpp.py --rows 256 --calls 100

The workload
------------
One projection with synapses in ``--rows`` rows × 256 columns of both hemispheres (a full chip at
256 rows: 131,072 plastic synapses) onto a population of all 512 neurons; random weights, spike
counts and correlation codes. Each invocation reads the rate counters, updates every weight of
the view by sign(target − count), clamps to 0..63 and hands the writes to the PPU context
(``ctx.set_weights``), exactly as in a run. Timed: the kernel call (C++: copying the chip state
into the shared memory, both PPU processes' round trips, reading the changed weights back).
Also printed: an empty C++ kernel (the fixed cost of the process boundary) and the one-off
compile time (cache cold).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bss2emu.chip_actor.cpp_kernel import CppKernel  # noqa: E402
from bss2emu.chip_actor.ppu import ChipSnapshot, PpuContext, PpuKernel  # noqa: E402

HOMEOSTASIS = """
#include "grenade/vx/ppu/synapse_array_view_handle.h"
#include "grenade/vx/ppu/neuron_view_handle.h"
#include "libnux/vx/vector_if.h"
#include "hate/tuple.h"
using namespace grenade::vx::ppu;
using namespace libnux::vx;
extern volatile PPUOnDLS ppu;

VectorRowFracSat8 signum(VectorRowFracSat8 const& x)
{
    VectorRowFracSat8 const pm = vector_if(x, VectorIfCondition::greater_equal, VectorRowFracSat8(1), VectorRowFracSat8(-1));
    return vector_if(x, VectorIfCondition::equal, VectorRowFracSat8(0), pm);
}

template <size_t N>
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, N>& synapses, std::array<NeuronViewHandle, N>& neurons)
{
    hate::for_each([](SynapseArrayViewHandle const& s, NeuronViewHandle& n) {
        if (s.hemisphere != ppu) return;
        auto const step = signum(VectorRowFracSat8(2) - static_cast<VectorRowFracSat8>(n.get_rate_counters(true)));
        for (size_t j = 0; j < s.rows.size(); ++j) {
            VectorRowFracSat8 w = static_cast<VectorRowFracSat8>(s.get_weights(j)) + step;
            w = vector_if(w, VectorIfCondition::greater, w, VectorRowFracSat8(0));
            w = vector_if(w - 63, VectorIfCondition::greater, VectorRowFracSat8(63), w);
            s.set_weights(static_cast<VectorRowMod8>(w), j);
        }
    }, synapses, neurons);
}
"""

EMPTY = """
#include "grenade/vx/ppu/synapse_array_view_handle.h"
#include "grenade/vx/ppu/neuron_view_handle.h"
using namespace grenade::vx::ppu;
template <size_t N, size_t M>
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, N>&, std::array<NeuronViewHandle, M>&) {}
"""


def homeostasis_numpy(ctx):
    h, r, c = ctx.synapses["p"]
    counts = np.minimum(ctx.spike_counts, 255).astype(np.uint8).view(np.int8).astype(np.int64)
    w = ctx.weights()[h, r, c].astype(np.int64)
    w = np.clip(w + np.sign(np.clip(2 - counts[h * 256 + c], -128, 127)), -128, 127)
    w = np.where(w > 0, w, 0)
    w = np.where(w - 63 > 0, 63, w)
    ctx.set_weights(h, r, c, w)


def _numba_rule():
    from numba import njit

    @njit(cache=False)
    def update(w, counts, h, c):
        out = np.empty(w.size, np.int64)
        for i in range(w.size):
            n = counts[h[i] * 256 + c[i]]
            n8 = n - 256 if n > 127 else n
            d = 2 - n8
            step = 1 if d > 0 else (-1 if d < 0 else 0)
            x = min(127, max(-128, w[i] + step))
            out[i] = 63 if x > 63 else (x if x > 0 else 0)
        return out

    def homeostasis_numba(ctx):
        h, r, c = ctx.synapses["p"]
        counts = np.minimum(ctx.spike_counts, 255)
        ctx.set_weights(h, r, c, update(ctx.weights()[h, r, c].astype(np.int64), counts, h, c))

    return homeostasis_numba


def contexts(rows: int, calls: int):
    rng = np.random.default_rng(0)
    hh, rr, cc = np.meshgrid(np.arange(2), np.arange(rows), np.arange(256), indexing="ij")
    synapses = {"p": (hh.ravel(), rr.ravel(), cc.ravel())}
    placement = {"n": np.arange(512)}
    weights = rng.integers(0, 64, (2, 256, 256))
    codes = rng.integers(0, 256, (2, 256, 256)).astype(np.uint8)
    snap = ChipSnapshot(np.zeros(512, np.int64), rng.integers(0, 256, 512).astype(np.uint8), codes, codes, weights)
    for i in range(calls):
        counts = rng.integers(0, 5, 512)
        yield lambda k, i=i, counts=counts: PpuContext(PpuKernel("bench", k, 1000, 1000), snap, 1000 * (i + 1),
                                                      counts, synapses, placement)


def timed(kernel, rows: int, calls: int) -> tuple[float, int]:
    make = list(contexts(rows, calls))
    kernel(make[0](kernel))  # compile / jit / start outside the timing
    times, writes = [], 0
    for m in make[1:]:
        ctx = m(kernel)
        t0 = time.perf_counter()
        kernel(ctx)
        times.append(time.perf_counter() - t0)
        writes = sum(w.values.size for w in ctx.writes)
    return float(np.median(times)), writes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=64, help="plastic rows per hemisphere (<= 256)")
    ap.add_argument("--calls", type=int, default=200, help="invocations timed (median reported)")
    args = ap.parse_args()
    os.environ["BSS2EMU_CACHE"] = tempfile.mkdtemp(prefix="bss2emu-bench-")
    n_syn = 2 * args.rows * 256
    print(f"one invocation per chip, {args.rows} rows x 256 columns x 2 hemispheres = {n_syn} plastic synapses, "
          f"median of {args.calls - 1}")
    cold = CppKernel(HOMEOSTASIS, "homeostasis", ["p"], ["n"])
    t0 = time.perf_counter()
    cold(next(contexts(args.rows, 1))(cold))
    print(f"  C++ compile (cold cache) + first call: {time.perf_counter() - t0:8.3f} s")
    cold.close()
    rows = [("C++ homeostasis (CppKernel)", CppKernel(HOMEOSTASIS, "homeostasis", ["p"], ["n"])),
            ("C++ empty kernel (process boundary)", CppKernel(EMPTY, "empty", ["p"], ["n"])),
            ("Python/numpy homeostasis", homeostasis_numpy),
            ("Python/numba homeostasis", _numba_rule())]
    for name, k in rows:
        t, writes = timed(k, args.rows, args.calls)
        print(f"  {name:38s} {t * 1e3:8.3f} ms   ({writes} weight writes)")
        if isinstance(k, CppKernel):
            k.close()


if __name__ == "__main__":
    main()
