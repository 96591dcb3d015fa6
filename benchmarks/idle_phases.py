#!/usr/bin/env python3
"""Idle phases: a Pong-tutorial-like run whose circuits spend most of the time at rest.

Run from the repository root::

    python benchmarks/idle_phases.py                 # 20 input rows, best of 3
    python benchmarks/idle_phases.py --rows 50 --repeat 5

The BSS-2 Pong tutorial (ts_07) runs 4.1 ms hardware per input row, of which only 0.59 ms
carries input; the rest is the PPU's plasticity phase with every circuit at rest. Here:
100 inputs (a ``spike_array`` source) all-to-all onto 100 AdEx outputs; per row 10
neighbouring inputs (at a random place) each fire a burst of 140 events, one every 4.2 µs
(0.588 ms), then all is idle until the next row 4.1 ms later; a PPU kernel on a 4.1 ms timer (reads the outputs' spike counts, writes
nothing: the timer's cut is what matters). Printed: wall and CPU seconds per run (best of
``--repeat``), per row, and the output spikes; and the same run with no PPU timer. The chip
kernel skips steps where every circuit is at rest and nothing is due
(``kernels.integrate_steps``): compare the figures before and after such a change in the
same load.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import bss2emu
from bss2emu.protocol.experiment import Experiment

ROW_US = 4100.0  # hardware µs per input row (the tutorial's period)
BURST_EVENTS, BURST_DT_US = 140, 4.2
N_IN, N_OUT = 100, 100
ACTIVE_INPUTS = 10  # inputs that fire a burst per row
# LIF outputs, as the tutorial's calibrated neurons (no exponential term, no adaptation):
# the single-chip benchmark's leak, reset, threshold and time constants (τ_m 10 µs, τ_syn 5 µs,
# τ_ref 2 µs), threshold 704 mV from a leak of 587 mV
NEURON_PARAMS = {"v_leak": 785, "v_reset": 635, "v_threshold": 518, "i_bias_leak": 105, "capacitance": 63,
                 "i_bias_syn_exc_tau": 60, "i_bias_syn_inh_tau": 60, "refractory_count": 125, "refractory_clock": 2}


class CountSpikes:
    """A PPU kernel that reads the outputs' spike counts and writes nothing."""

    def __call__(self, ctx):
        ctx.record("spikes", float(np.sum(ctx.spike_counts)))


def experiment(rows: int, ppu: bool = True, seed: int = 1) -> Experiment:
    rng = np.random.default_rng(seed)
    times = [[] for _ in range(N_IN)]
    for row in range(rows):
        first = int(rng.integers(0, N_IN - ACTIVE_INPUTS + 1))  # the row's active inputs (the ball's place)
        for s in range(first, first + ACTIVE_INPUTS):
            times[s] = [round(row * ROW_US + 1.0 + 0.1 * (s - first) + k * BURST_DT_US, 3)
                        for k in range(BURST_EVENTS)] + times[s]
    times = [sorted(t) for t in times]
    exp = {
        "name": "idle phases", "seed": seed, "runtime_us": rows * ROW_US, "dt_ns": 100, "chip": {"ideal": True},
        "populations": [{"name": "out", "size": N_OUT, "params": NEURON_PARAMS}],
        "sources": [{"kind": "spike_array", "name": "in", "size": N_IN, "spike_times_us": times}],
        "projections": [{"name": "in→out", "pre": "in", "post": "out", "weight": 20,
                         "connector": {"kind": "all_to_all"}}],
    }
    if ppu:
        exp["plasticity"] = [{"name": "count", "kernel": CountSpikes(), "period_us": ROW_US,
                              "projections": ["in→out"]}]
    return Experiment.model_validate(exp)


def best_of(exp: Experiment, repeat: int) -> tuple[float, float, int]:
    walls, cpus, spikes = [], [], 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = bss2emu.run(exp)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        spikes = res.spikes.num_rows
    return min(walls), min(cpus), spikes


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"{N_IN} inputs -> {N_OUT} outputs, {args.rows} rows of {ROW_US:g} µs hardware (burst of "
          f"{BURST_EVENTS} events over {BURST_EVENTS * BURST_DT_US:g} µs, then idle); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out = {}
    for name, ppu in (("PPU timer every row", True), ("no PPU timer", False)):
        exp = experiment(args.rows, ppu)
        best_of(exp, 1)  # warm-up: numba caches
        wall, cpu, spikes = best_of(exp, args.repeat)
        out[name] = (wall, cpu, spikes)
        print(f"  {name:>20}: {wall:6.3f} s wall, {cpu:6.3f} s CPU ({wall / args.rows * 1e3:6.2f} ms wall per row); "
              f"{spikes} spikes recorded")
    return out


if __name__ == "__main__":
    main()
