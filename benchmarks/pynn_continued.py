#!/usr/bin/env python3
"""Chunked PyNN runs: ``--chunks`` × ``run(T / chunks)`` against one ``run(T)``.

Run from the repository root::

    python benchmarks/pynn_continued.py                  # 200 neurons, 20 x 50 ms vs 1000 ms
    python benchmarks/pynn_continued.py --chunks 10 --total-ms 500 --repeat 3

The network: 200 ``IF_cond_exp`` neurons (80 % excitatory, connection probability 0.1,
exc 0.004 µS, inh 0.02 µS) driven by 100 ``SpikeSourcePoisson`` at 20 Hz (p = 0.1, 0.01 µS),
all spikes recorded. A continued ``run()`` resumes the segment's emulation where the last
one ended (``Coordinator.continue_with``); ``--from-zero`` switches that off, which is how
every run emulated the segment from t = 0 before. Printed: wall seconds of the chunked and
of the single run (min / median over ``--repeat``), their ratio, and whether the spikes are
the same. The chunked runs still rebuild the segment's experiment each time (translation,
Poisson trains, chip setup): that part grows with the segment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from unittest import mock

import numpy as np


def simulate(chunks: int, total_ms: float, from_zero: bool) -> tuple[float, list]:
    import bss2emu.pynn as sim
    from bss2emu.cluster.coordinator import Coordinator

    sim.setup(timestep=0.1, seed=5)
    src = sim.Population(100, sim.SpikeSourcePoisson(rate=20.0), label="drive")
    exc = sim.Population(160, sim.IF_cond_exp(), label="exc")
    inh = sim.Population(40, sim.IF_cond_exp(), label="inh")
    rng = sim.NumpyRNG(7)
    for pre, w, kind in ((exc, 0.004, "excitatory"), (inh, 0.02, "inhibitory")):
        for post in (exc, inh):
            sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1, rng=rng), sim.StaticSynapse(weight=w),
                           receptor_type=kind)
    for post in (exc, inh):
        sim.Projection(src, post, sim.FixedProbabilityConnector(0.1, rng=rng), sim.StaticSynapse(weight=0.01))
    for p in (exc, inh):
        p.record("spikes")
    patch = mock.patch.object(Coordinator, "continue_with", lambda self, exp: False) if from_zero else mock.MagicMock()
    with patch:
        t0 = time.perf_counter()
        for _ in range(chunks):
            sim.run(total_ms / chunks)
        wall = time.perf_counter() - t0
    trains = [np.asarray(s.magnitude) for p in (exc, inh) for s in p.get_data().segments[-1].spiketrains]
    sim.end()
    return wall, trains


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--total-ms", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--from-zero", action="store_true", help="emulate every run from t = 0 (the former way)")
    args = ap.parse_args(argv)
    simulate(1, 10.0, False)  # warm-up: kernels, imports
    chunked, single = [], []
    for _ in range(args.repeat):
        w1, one = simulate(1, args.total_ms, args.from_zero)
        wn, many = simulate(args.chunks, args.total_ms, args.from_zero)
        single.append(w1)
        chunked.append(wn)
    same = all(np.array_equal(a, b) for a, b in zip(one, many))
    print(f"{args.chunks} x run({args.total_ms / args.chunks:g} ms) vs run({args.total_ms:g} ms), 200 neurons"
          f"{' (every run from t = 0)' if args.from_zero else ''}; load average {os.getloadavg()[0]:.1f}")
    print(f"  one run   {min(single):7.2f} / {statistics.median(single):7.2f} s (min / median)")
    print(f"  chunked   {min(chunked):7.2f} / {statistics.median(chunked):7.2f} s")
    print(f"  ratio     {min(chunked) / min(single):7.2f}x (mins)   spikes identical: {same}")


if __name__ == "__main__":
    main()
