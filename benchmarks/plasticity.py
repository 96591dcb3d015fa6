#!/usr/bin/env python3
"""Plasticity benchmark: the reference network with an STDP rule on all its synapses.

Run from the repository root::

    python benchmarks/plasticity.py                    # 512 neurons, 1000 µs, local and per-chip
    python benchmarks/plasticity.py --runtime-us 200 --placements local --repeat 1

The network is ``benchmarks/single_chip.py``'s reference network (512 AdEx neurons,
in-degree 100 + 8 Poisson inputs, 1000 µs hardware = 1 s biological). The rule runs on the
PPU every ``--period-us`` (10 µs hardware) on every synapse of every projection: it reads
the causal and acausal correlation sensors (with reset) and writes
``w ← clip(w + rint((causal − acausal)/16), 0, 63)``, i.e. ~55,000 synapses read and written
per run, 100 runs per emulated second. Printed: wall time per run (best of ``--repeat``)
with and without the rule and their ratio (the target is ≤ 1.3×) per placement.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np

import bss2emu
from bss2emu.chip_actor.ppu import SynapseView
from bss2emu.protocol.experiment import Experiment

_spec = importlib.util.spec_from_file_location("single_chip", Path(__file__).with_name("single_chip.py"))
single_chip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(single_chip)


class AllSynapseSTDP:
    """Pair STDP from the correlation sensors on every synapse of the rule's projections."""

    def __call__(self, ctx):
        if not ctx.projections:
            return
        if not hasattr(self, "all"):  # all synapses as one vector (this chip's copy keeps it): one pass per run
            first, *rest = ctx.projections
            merged = first.merged(rest, [v.connection for v in ctx.projections], "all")
            self.all = (merged.hemisphere, merged.row, merged.column, merged.connection)
        view = SynapseView(ctx, "all", *self.all)
        causal, acausal = view.correlation(reset=True)
        dw = (causal.astype(np.int64) - acausal.astype(np.int64) + 8) // 16
        view.set_weights(np.clip(view.weights() + dw, 0, 63))


def experiment(n: int, runtime_us: float, period_us: float | None) -> Experiment:
    exp = single_chip.reference_network(n, runtime_us)
    if period_us is not None:
        exp["plasticity"] = [{"name": "stdp", "kernel": AllSynapseSTDP(), "period_us": period_us,
                              "projections": [p["name"] for p in exp["projections"]]}]
    return Experiment.model_validate(exp)


def best_of(exp: Experiment, placement: str, repeat: int) -> tuple[float, int]:
    times, spikes = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = bss2emu.run(exp, placement=placement)
        times.append(time.perf_counter() - t0)
        spikes = res.spikes.num_rows
    return min(times), spikes


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=512)
    ap.add_argument("--runtime-us", type=float, default=1000.0)
    ap.add_argument("--period-us", type=float, default=10.0)
    ap.add_argument("--placements", nargs="+", default=["local", "per-chip"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    static = experiment(args.neurons, args.runtime_us, None)
    plastic = experiment(args.neurons, args.runtime_us, args.period_us)
    n_syn = sum(len(p.connector.connections) for p in plastic.projections)
    print(f"{args.neurons} neurons, {n_syn} synapses, {args.runtime_us:g} µs hardware; STDP every "
          f"{args.period_us:g} µs on all synapses ({int(args.runtime_us // args.period_us)} runs)")
    out = {}
    for placement in args.placements:
        best_of(static, placement, 1)  # warm-up: numba caches, Ray workers
        t_static, s_static = best_of(static, placement, args.repeat)
        t_plastic, s_plastic = best_of(plastic, placement, args.repeat)
        out[placement] = (t_static, t_plastic)
        print(f"{placement:>10}: without {t_static:6.2f} s ({s_static} spikes), with STDP {t_plastic:6.2f} s "
              f"({s_plastic} spikes): ratio {t_plastic / t_static:.2f}x (target <= 1.3x)")
    return out


if __name__ == "__main__":
    main()
