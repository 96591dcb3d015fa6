"""A synfire chain: 8 groups of 16 excitatory neurons, each group all-to-all onto the next.

A pulse of 16 input spikes (jittered by 1 µs) into group 0 starts a wave of synchronous
activity that travels group to group, about 2 µs per group, and stays sharp (the chain
synchronises its input: Diesmann, Gewaltig & Aertsen 1999). A weaker pulse later in the run
(5 of the 16 inputs, jittered by 2 µs) falls below the chain's threshold: a few neurons of
group 0 answer, and the activity dies out. (The weak pulse comes at mid-run, at 40 µs or
later; runs shorter than 55 µs leave it out.)

The 128 neurons sit on one chip with fixed-pattern mismatch (serial 7): weight 40 with the
excitatory synaptic gain raised to 170 (twice the default) makes 16 coincident inputs comfortably suprathreshold
on every circuit; a refractory time of 8 µs (``refractory_count`` 250 at ``refractory_clock``
3: 250 · 2**3 cycles of 4 ns) lets each neuron fire once per wave.

    python examples/synfire_chain.py [--runtime-us 80] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu
from _common import command_line, new_figure, print_table, save_figure

GROUPS = 8
GROUP_SIZE = 16
WEIGHT = 40
NEURON = {"i_bias_syn_exc_gm": 170, "refractory_count": 250, "refractory_clock": 3}
STRONG_PULSE_US = 10.0
WEAK_INPUTS = 5
STRONG_JITTER_US = 1.0
WEAK_JITTER_US = 2.0


def group(k: int) -> str:
    return f"group{k}"


def pulse_times(runtime_us: float, seed: int = 1) -> tuple[float, float | None, list[list[float]]]:
    """Stimulus: all 16 inputs around ``STRONG_PULSE_US`` (sd 1 µs), 5 of them again at
    mid-run and more scattered (sd 2 µs). Returns (strong time, weak time or None, trains)."""
    rng = np.random.default_rng(seed)
    weak_us = max(runtime_us / 2.0 + 5.0, 40.0)
    if weak_us + 15.0 > runtime_us:
        weak_us = None  # no room for the weak pulse to play out
    times = []
    for i in range(GROUP_SIZE):
        t = [STRONG_PULSE_US + rng.normal(0.0, STRONG_JITTER_US)]
        if i < WEAK_INPUTS and weak_us is not None:
            t.append(weak_us + rng.normal(0.0, WEAK_JITTER_US))
        times.append([round(float(x), 3) for x in t if 0.0 <= x < runtime_us])
    return STRONG_PULSE_US, weak_us, times


def build_experiment(runtime_us: float) -> bss2emu.Experiment:
    _, _, times = pulse_times(runtime_us)
    return bss2emu.Experiment(
        name="synfire chain", runtime_us=runtime_us, chip={"serial": 7},
        populations=[{"name": group(k), "size": GROUP_SIZE, "params": NEURON} for k in range(GROUPS)],
        sources=[{"kind": "spike_array", "name": "stimulus", "size": GROUP_SIZE, "spike_times_us": times}],
        projections=[{"pre": "stimulus", "post": group(0), "weight": 63}]
        + [{"pre": group(k), "post": group(k + 1), "weight": WEIGHT} for k in range(GROUPS - 1)],
    )


def main(runtime_us: float = 80.0, out_dir: str = ".") -> dict:
    """Run, plot the raster ``synfire_chain.png`` and return per-group latencies."""
    strong_us, weak_us, stim = pulse_times(runtime_us)
    res = bss2emu.run(build_experiment(runtime_us))
    split_us = weak_us - 3.0 if weak_us is not None else np.inf  # full-pulse wave | weak pulse

    fig = new_figure(9.0, 5.0)
    ax = fig.add_subplot()
    rows, latency, spread, strong_count, weak_count = [], [], [], [], []
    for k in range(GROUPS):
        trains = res.spike_times_us(group(k))
        for i, tr in enumerate(trains):
            ax.plot(tr, np.full(len(tr), k * GROUP_SIZE + i), "|", color=f"C{k % 10}", ms=4)
        allt = np.concatenate(trains) if trains else np.zeros(0)
        strong = allt[(allt >= strong_us - 3.0) & (allt < split_us)]
        weak = allt[allt >= split_us]
        strong_count.append(int(len(strong)))
        weak_count.append(int(len(weak)))
        latency.append(float(strong.min() - strong_us) if len(strong) else float("nan"))
        spread.append(float(strong.std()) if len(strong) > 1 else float("nan"))
        rows.append((k, f"{len(strong)}/{GROUP_SIZE}", latency[-1], spread[-1], f"{len(weak)}/{GROUP_SIZE}"))
    for k in range(1, GROUPS):
        ax.axhline(k * GROUP_SIZE - 0.5, color="0.9", lw=0.5, zorder=0)
    for i, tr in enumerate(stim):
        ax.plot(tr, np.full(len(tr), -2 - i * 0.5), "|", color="k", ms=2)
    ax.axvline(strong_us, color="k", lw=0.5, ls=":")
    if weak_us is not None:
        ax.axvline(weak_us, color="k", lw=0.5, ls=":")
    ax.set_yticks([k * GROUP_SIZE + GROUP_SIZE / 2 for k in range(GROUPS)], [f"group {k}" for k in range(GROUPS)])
    ax.set_ylim(-11, GROUPS * GROUP_SIZE)
    ax.set_xlim(0, runtime_us)
    ax.set_xlabel("time [µs hardware ≙ ms biological]")
    weak_text = f", a weak one ({WEAK_INPUTS} inputs) fades" if weak_us is not None else ""
    ax.set_title(f"Synfire chain, {GROUPS} × {GROUP_SIZE} neurons: a full pulse ({GROUP_SIZE} inputs, "
                 f"t = {strong_us:g} µs) travels{weak_text}", fontsize=10)
    ax.text(strong_us + 0.5, -9, "stimulus", fontsize=8)
    png = save_figure(fig, out_dir, "synfire_chain.png")

    print_table(("group", "fired (full pulse)", "first-spike latency µs", "spread (sd) µs",
                 "fired (weak pulse)"), rows)
    reached = strong_count[-1] > GROUP_SIZE // 2
    print(f"full pulse {'reaches' if reached else 'does not reach'} group {GROUPS - 1}"
          + (f" after {latency[-1]:.1f} µs ({latency[-1] / GROUPS:.2f} µs per group)" if reached else ""))
    print(f"wrote {png}")
    return {
        "png": str(png), "latency_us": latency, "spread_us": spread,
        "spikes_full_pulse": strong_count, "spikes_weak_pulse": weak_count,
        "wave_reaches_last_group": bool(reached), "wall_s": res.metadata["wall_s"],
    }


if __name__ == "__main__":
    command_line(main, __doc__, runtime_us=80.0)
