"""A synfire chain over 4 emulated chips, written in PyNN.

8 groups of 32 ``IF_curr_exp`` neurons, group k pinned to chip k % 4 of the ``cube-4``
system (``population.annotate(chip=k % 4)``), all-to-all between consecutive groups with
a 1 ms delay; the hop from group 3 to group 4 has ``DELAYED_HOP_MS`` = 4 ms. A pulse of 32
jittered input spikes starts a synchronous wave. Every hop crosses chips: its delay is
realised by the FPGAs and must be at least the route latency (0.65 µs hardware ≙ 0.65 ms
biological on ``cube-4``); a delay of ``min_delay`` would mean "as fast as the network
allows", i.e. the route latency itself.

    python examples/pynn_synfire.py [--runtime-ms 60] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu.pynn as sim
from _common import command_line, new_figure, print_table, save_figure

SYSTEM = "cube-4"
CHIPS = 4
GROUPS = 8
GROUP_SIZE = 32
CELL = {"tau_m": 10.0, "cm": 0.25, "v_rest": -65.0, "v_reset": -70.0, "v_thresh": -55.0, "tau_refrac": 8.0,
        "tau_syn_E": 2.0, "tau_syn_I": 5.0}
WEIGHT_NA = 0.4
DELAY_MS = 1.0
DELAYED_HOP = 3
DELAYED_HOP_MS = 4.0
PULSE_MS, JITTER_MS = 5.0, 1.0


def main(runtime_ms: float = 60.0, out_dir: str = ".", seed: int = 1) -> dict:
    sim.setup(timestep=0.1, system=SYSTEM, seed=seed)
    rng = np.random.default_rng(seed)
    pulse = [[round(float(PULSE_MS + rng.normal(0.0, JITTER_MS)), 1)] for _ in range(GROUP_SIZE)]
    stim = sim.Population(GROUP_SIZE, sim.SpikeSourceArray(spike_times=pulse), label="stimulus")
    groups = []
    for k in range(GROUPS):
        g = sim.Population(GROUP_SIZE, sim.IF_curr_exp(**CELL), label=f"group{k}")
        g.annotate(chip=k % CHIPS)
        g.record("spikes")
        groups.append(g)
    sim.Projection(stim, groups[0], sim.AllToAllConnector(), sim.StaticSynapse(weight=WEIGHT_NA, delay=DELAY_MS))
    for k in range(GROUPS - 1):
        delay = DELAYED_HOP_MS if k == DELAYED_HOP else DELAY_MS
        sim.Projection(groups[k], groups[k + 1], sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=WEIGHT_NA, delay=delay), receptor_type="excitatory")
    sim.run(runtime_ms)
    trains = [[st.rescale("ms").magnitude for st in g.get_data().segments[0].spiketrains] for g in groups]
    meta = sim.simulator.state.results.metadata
    sim.end()

    fired = [sum(len(t) > 0 for t in tr) for tr in trains]
    spikes = [int(sum(len(t) for t in tr)) for tr in trains]
    latency = [float(np.median(np.concatenate(tr))) if any(len(t) for t in tr) else np.nan for tr in trains]
    spread = [float(np.std(np.concatenate(tr))) if any(len(t) for t in tr) else np.nan for tr in trains]
    fig = new_figure(8.0, 3.8)
    ax = fig.add_subplot()
    for k, tr in enumerate(trains):
        for i, t in enumerate(tr):
            ax.plot(t, np.full(len(t), k * GROUP_SIZE + i), "|", ms=3, color=f"C{k % CHIPS}")
    ax.set(xlabel="time (ms, biological)", ylabel="neuron (group × 32 + index)", xlim=(0, runtime_ms),
           title=f"PyNN synfire chain on {CHIPS} emulated chips (colour = chip)")
    png = save_figure(fig, out_dir, "pynn_synfire.png")
    print_table(["group", "chip", "fired", "median time (ms)", "spread (ms)"],
                [[k, k % CHIPS, fired[k], latency[k], spread[k]] for k in range(GROUPS)])
    reaches = fired[-1] >= 0.75 * GROUP_SIZE
    print(f"the wave {'reaches' if reaches else 'does not reach'} group {GROUPS - 1}; "
          f"{meta['inter_chip_events']} events crossed chips")
    return {"png": str(png), "fired": fired, "spikes": spikes, "latency_ms": latency, "spread_ms": spread,
            "wave_reaches_last_group": bool(reaches), "chips_used": meta["chips_used"],
            "inter_chip_events": meta["inter_chip_events"], "dropped_events": meta["dropped_events"]}


if __name__ == "__main__":
    command_line(main, __doc__, runtime_ms=60.0)
