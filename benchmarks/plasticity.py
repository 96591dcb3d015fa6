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
per run, 100 runs per emulated second. The rule is the shipped ``ppu.CorrelationTableRule``
(the host runs it inside its compiled window loop); "STDP in Python" is the same rule as a
Python kernel (``AllSynapseSTDP``: a window cut and a Python call per run). Printed: wall time per run (best of ``--repeat``)
with and without the rule and their ratio (the target is ≤ 1.3×) per placement, and with an
empty Python kernel on the same timer (what a Python kernel's window cut and call cost alone).
Before: where the CPU time of a local run goes — the compiled windows, the PPU's
rule, the chip applying its writes, the rest — without plasticity, with its windows cut at
the rule's times but no kernel (what the compiled rule's cuts cost: ``max_window_steps``),
with an empty kernel, with the correlation sensors running and no kernel (``sensors, no
kernel``: what the sensors cost the compiled windows alone), with them and an empty Python
kernel that declares it reads them (``sensors only``: that plus the empty kernel's window cuts
and calls), and with the STDP rule; and the CPU time of one
invocation of the rule: in one compiled sweep
(``SynapseView.update_weights_by_correlation``, the rule the comparison runs), and as the
views' reads and writes with the arithmetic in a numba-jitted helper or in numpy.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
from numba import njit

import bss2emu
from bss2emu.chip_actor.ppu import CorrelationTableRule, SynapseView, sweep_order
from bss2emu.protocol.experiment import Experiment

_spec = importlib.util.spec_from_file_location("single_chip", Path(__file__).with_name("single_chip.py"))
single_chip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(single_chip)


@njit(cache=False)  # (numba's cache does not hold for a script loaded by path: compiled once per process)
def stdp_weights(causal, acausal, weights):
    """``clip(w + floor((causal − acausal + 8) / 16), 0, 63)`` in one pass (numpy twin:
    ``AllSynapseSTDP.numpy_weights``)."""
    out = np.empty(weights.shape[0], np.int64)
    for i in range(weights.shape[0]):
        w = weights[i] + (np.int64(causal[i]) - np.int64(acausal[i]) + 8) // 16
        out[i] = min(63, max(0, w))
    return out


#: the rule's weight change per (causal, acausal) code pair: floor((c − a + 8) / 16)
STDP_TABLE = (np.subtract.outer(np.arange(256), np.arange(256)) + 8) // 16


class AllSynapseSTDP:
    """Pair STDP from the correlation sensors on every synapse of the rule's projections:
    ``how`` = "table": one compiled sweep (``SynapseView.update_weights_by_correlation`` with
    ``STDP_TABLE``); "numba": the views' reads and writes with the arithmetic in a
    numba-jitted helper; "numpy": the same in numpy (all three write the same weights)."""

    def __init__(self, how: str = "table") -> None:
        self.how = how

    @staticmethod
    def numpy_weights(causal, acausal, weights):
        dw = (causal.astype(np.int64) - acausal.astype(np.int64) + 8) // 16
        return np.clip(weights + dw, 0, 63)

    def __call__(self, ctx):
        if not hasattr(self, "all"):  # all synapses as one vector (this chip's copy keeps it): one pass per run
            if not ctx.projections:  # (views made once: the rule's later runs reuse self.all)
                self.all = None
                return
            first, *rest = ctx.projections
            merged = first.merged(rest, [v.connection for v in ctx.projections], "all")
            order = sweep_order(merged.flat)  # one sweep over the chip's arrays, not one per projection
            self.all = tuple(a[order] for a in (merged.hemisphere, merged.row, merged.column, merged.connection,
                                                merged.flat))
        if self.all is None:
            return
        view = SynapseView(ctx, "all", *self.all)
        if self.how == "table":
            view.update_weights_by_correlation(STDP_TABLE, reset=True)
            return
        causal, acausal = view.correlation(reset=True)
        update = stdp_weights if self.how == "numba" else self.numpy_weights
        view.set_weights(update(causal, acausal, view.weights()))


class NoRule:
    """A kernel that does nothing: what splitting the run at every kernel time costs."""

    def __call__(self, ctx):
        pass


def experiment(n: int, runtime_us: float, period_us: float | None, kernel=None, sensors: bool = False) -> Experiment:
    """The reference network, with ``kernel`` (``CorrelationTableRule(STDP_TABLE)`` by default)
    every ``period_us`` on all its projections (None: no plasticity); ``sensors``: the
    correlation sensors on (``recordings.correlation``) also without a kernel that reads them."""
    exp = single_chip.reference_network(n, runtime_us)
    if sensors:
        exp.setdefault("recordings", {})["correlation"] = True
    if period_us is not None:
        exp["plasticity"] = [{"name": "stdp", "kernel": kernel or CorrelationTableRule(STDP_TABLE), "period_us": period_us,
                              "projections": [p["name"] for p in exp["projections"]]}]
    return Experiment.model_validate(exp)


def best_of(exp: Experiment, placement: str, repeat: int) -> tuple[float, int, float]:
    """Best wall seconds of ``repeat`` runs, the spikes, and the best CPU seconds of the run:
    this process's, plus the Ray hosts' (``host_cpu_s``) in the other placements — a figure
    the machine's load disturbs less than the wall time."""
    times, cpu, spikes = [], [], 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = bss2emu.run(exp, placement=placement)
        times.append(time.perf_counter() - t0)
        hosts = 0.0 if placement == "local" else sum(res.metadata.get("host_cpu_s") or [0.0])  # (local: this process)
        cpu.append(time.process_time() - c0 + hosts)
        spikes = res.spikes.num_rows
    return min(times), spikes, min(cpu)


class SensorsOnly:
    """A kernel that reads nothing but declares that it reads the sensors: what running the
    correlation sensors costs the emulation alone."""

    reads_correlation = True

    def __call__(self, ctx):
        pass


def where_time_goes(exps: dict, repeat: int) -> dict:
    """Per experiment (or ``(experiment, options of bss2emu.run)``), the best of ``repeat``
    local runs' CPU ms (this thread) split into the compiled windows
    (``host_kernel.run_windows``), the PPU's kernels (``Ppu.run_due``), the chip applying their
    writes (``Chip.apply_writes``) and the rest (mapping, set-up, the host's loop, results)."""
    from bss2emu.chip_actor import ppu as ppu_mod
    from bss2emu.cluster import host as host_mod

    patched = [(host_mod.HK, "run_windows"), (ppu_mod.Ppu, "run_due"), (host_mod.Chip, "apply_writes")]
    acc = {name: 0.0 for _, name in patched}
    originals = [getattr(owner, name) for owner, name in patched]

    def timed(key, f):
        def wrapper(*a, **k):
            t0 = time.thread_time()
            try:
                return f(*a, **k)
            finally:
                acc[key] += time.thread_time() - t0
        return wrapper

    for (owner, name), f in zip(patched, originals):
        setattr(owner, name, timed(name, f))
    out = {}
    try:
        for label, exp in exps.items():
            exp, options = exp if isinstance(exp, tuple) else (exp, {})
            bss2emu.run(exp, **options)
            for _ in range(repeat):
                acc.update({name: 0.0 for _, name in patched})
                t0 = time.thread_time()
                bss2emu.run(exp, **options)
                total = time.thread_time() - t0
                row = (total, acc["run_windows"], acc["run_due"], acc["apply_writes"])
                if label not in out or total < out[label][0]:
                    out[label] = row
    finally:
        for (owner, name), f in zip(patched, originals):
            setattr(owner, name, f)
    return {k: tuple(x * 1e3 for x in v) for k, v in out.items()}


def kernel_cost_ms(n: int, runtime_us: float, period_us: float, kernel) -> float:
    """CPU ms per invocation of ``kernel`` in a local run (best of 3 runs; the kernel only)."""
    calls = []

    def timed(ctx):
        t0 = time.thread_time()  # CPU time: the machine's load changes it less than the wall time
        kernel(ctx)
        calls.append(time.thread_time() - t0)

    exp = experiment(n, runtime_us, period_us, timed)
    best = float("inf")
    for _ in range(3):
        calls.clear()
        bss2emu.run(exp)
        best = min(best, sum(calls) / max(1, len(calls)))
    return best * 1e3


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
    split = experiment(args.neurons, args.runtime_us, args.period_us, NoRule())
    n_syn = sum(len(p.connector.connections) for p in plastic.projections)
    print(f"{args.neurons} neurons, {n_syn} synapses, {args.runtime_us:g} µs hardware; STDP every "
          f"{args.period_us:g} µs on all synapses ({int(args.runtime_us // args.period_us)} runs)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name, how in (("one compiled sweep", "table"), ("reads and writes, numba helper", "numba"),
                      ("reads and writes, numpy", "numpy")):
        k = AllSynapseSTDP(how)
        print(f"  one invocation ({name}): {kernel_cost_ms(args.neurons, args.runtime_us, args.period_us, k):.3f} ms")
    print("where the CPU time of a local run goes (ms, best of --repeat; 'x': of the run without plasticity):")
    cut_steps = int(round(args.period_us * 1e3 / static.dt_ns))
    split_exps = {"without plasticity": static, "windows cut": (static, {"max_window_steps": cut_steps}),
                  "empty kernel": split,
                  "sensors, no kernel": experiment(args.neurons, args.runtime_us, None, sensors=True),
                  "sensors only": experiment(args.neurons, args.runtime_us, args.period_us, SensorsOnly()),
                  "STDP in Python": experiment(args.neurons, args.runtime_us, args.period_us, AllSynapseSTDP()),
                  "STDP": plastic}
    table = where_time_goes(split_exps, args.repeat)
    base = table["without plasticity"][0]
    print(f"  {'':>20} {'total':>7} {'x':>5} {'windows':>8} {'PPU rule':>9} {'writes':>7} {'other':>7}")
    for label, (total, windows, rule, writes) in table.items():
        print(f"  {label:>20} {total:7.1f} {total / base:5.2f} {windows:8.1f} {rule:9.1f} {writes:7.1f} "
              f"{total - windows - rule - writes:7.1f}")
    out = {}
    for placement in args.placements:
        best_of(static, placement, 1)  # warm-up: numba caches, Ray workers
        t_static, s_static, c_static = best_of(static, placement, args.repeat)
        t_plastic, s_plastic, c_plastic = best_of(plastic, placement, args.repeat)
        t_split, _, c_split = best_of(split, placement, args.repeat)
        out[placement] = (t_static, t_plastic)
        print(f"{placement:>10}: without {t_static:6.2f} s ({s_static} spikes), with STDP {t_plastic:6.2f} s "
              f"({s_plastic} spikes): ratio {t_plastic / t_static:.2f}x (target <= 1.3x); an empty Python kernel "
              f"on the same timer {t_split:6.2f} s: {t_split / t_static:.2f}x")
        print(f"{'':>10}  CPU time ({'this process' if placement == 'local' else 'this process and the hosts'}): "
              f"without {c_static:6.3f} s, with STDP {c_plastic:6.3f} s: {c_plastic / c_static:.2f}x; empty kernel "
              f"{c_split:6.3f} s: {c_split / c_static:.2f}x")
    return out


if __name__ == "__main__":
    main()
