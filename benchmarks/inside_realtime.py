"""What writes inside the run cost: the inside-realtime-hook tutorial's network (64 Poisson
sources at 4 kHz, one-to-one onto 64 bypassed neurons) run with and without its timed
weight-row writes, in one process, repeated.

    python benchmarks/inside_realtime.py [--runtime-ms 640] [--writes 64] [--repeat 2]

Prints the wall time of each run (the first includes numba's compilation) and the ratio of
the medians with and without writes (same process, same load: the ratio is the figure to
compare).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def run_once(runtime_ms: float, n_writes: int, seed: int = 1) -> tuple[float, int]:
    """Wall seconds of ``pynn.run(runtime_ms)`` and the spikes recorded."""
    import bss2emu.brainscales2 as pynn
    from bss2emu.stack import haldls as hal
    from bss2emu.stack import lola
    from bss2emu.stack import stadls as sta

    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.setup(enable_neuron_bypass=True, injected_config=pynn.InjectedConfiguration(inside_realtime=builder),
               ideal=True, seed=seed)
    sources = pynn.Population(64, pynn.cells.SpikeSourcePoisson(start=0, rate=4000, duration=runtime_ms))
    neurons = pynn.Population(64, pynn.cells.HXNeuron())
    neurons.record(["spikes"])
    projection = pynn.Projection(sources, neurons, pynn.OneToOneConnector(),
                                 synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=0 if n_writes else 63))
    pynn.run(None, pynn.RunCommand.PREPARE)
    placed = [synapses[0] for synapses in projection.placed_connections]
    rng = np.random.default_rng(seed)
    cycles_per_write = int(runtime_ms * 1000 * int(hal.Timer.Value.fpga_clock_cycles_per_us) / max(n_writes, 1))
    for j in range(n_writes):
        row = lola.SynapseWeightRow()
        for synapse in placed:
            row.values[synapse.synapse_on_row] = int(rng.integers(0, 64))
        builder.write(hal.Timer.Value(j * cycles_per_write), placed[0].synapse_row.toSynapseWeightRowOnDLS(), row)
    t0 = time.perf_counter()
    pynn.run(runtime_ms)
    wall = time.perf_counter() - t0
    spikes = sum(len(st) for st in neurons.get_data("spikes").segments[-1].spiketrains)
    pynn.end()
    return wall, spikes


def main(argv=None) -> dict[int, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-ms", type=float, default=640.0, help="hardware ms per run")
    parser.add_argument("--writes", type=int, default=64, help="timed weight-row writes in the run")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    times: dict[int, list[float]] = {0: [], args.writes: []}
    spikes: dict[int, int] = {}
    for k in range(args.repeat):
        for n in (0, args.writes):
            wall, spikes[n] = run_once(args.runtime_ms, n)
            times[n].append(wall)
            print(f"run {k}: {n:4d} writes  {wall:7.2f} s  {spikes[n]} spikes")
    base, hooked = (statistics.median(times[n]) for n in (0, args.writes))
    print(f"median {base:.2f} s without writes, {hooked:.2f} s with {args.writes}: ratio {hooked / base:.2f}")
    return spikes


if __name__ == "__main__":
    main()
