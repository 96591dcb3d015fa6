"""A synfire chain across 4 chips: 8 groups of 32 neurons, group k pinned to chip k % 4.

Every hop of the chain goes from one chip to another (0 → 1 → 2 → 3 → 0 → …), so each
group's spikes leave its chip through the FPGA, cross the aggregator of the ``cube-4``
system (FPGA → aggregator → FPGA: 2 hops of 0.325 µs = 0.65 µs hardware) and arrive as
events at the next chip, where the FPGA injects them into that chip's synapse drivers.
The chips integrate in conservative windows no longer than that latency (0.6 µs at dt
0.1 µs) and exchange their spikes in between.

A pulse of 32 input spikes (jittered by 1 µs) into group 0 starts a synchronous wave that
travels group to group: about 2 µs of synaptic and membrane rise time per group plus the
0.65 µs route latency of every hop, ≈ 2.7 µs per group against ≈ 2 µs on one chip
(``synfire_chain.py``). The projection from group 3 to group 4 carries an axonal delay of
``delay_us`` = 4 µs, realised by the FPGA (a delay must be at least the route latency); it
shows as a longer gap in the raster.

All-to-all between groups, 32 inputs of weight 20 (excitatory synaptic gain 170) put a
group's neurons well above threshold on every chip despite each chip's own fixed-pattern
mismatch (cube-4 chips have serials 2000-2003; weight 14 already fails to carry the wave);
a refractory time of 8 µs lets each neuron fire once per wave.

    python examples/synfire_multichip.py [--runtime-us 45] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu
from _common import command_line, new_figure, print_table, save_figure

SYSTEM = "cube-4"
CHIPS = 4
GROUPS = 8
GROUP_SIZE = 32
WEIGHT = 20
STIMULUS_WEIGHT = 24
NEURON = {"i_bias_syn_exc_gm": 170, "refractory_count": 250, "refractory_clock": 3}
PULSE_US = 10.0
JITTER_US = 1.0
DELAYED_HOP = 3  # the projection group 3 → group 4 ...
DELAY_US = 4.0  # ... has this FPGA-realised axonal delay (µs hardware)


def group(k: int) -> str:
    return f"group{k}"


def chip_of_group(k: int) -> int:
    return k % CHIPS


def pulse_times(seed: int = 1) -> list[list[float]]:
    """One spike per input neuron around ``PULSE_US`` (sd ``JITTER_US``)."""
    rng = np.random.default_rng(seed)
    return [[round(float(PULSE_US + rng.normal(0.0, JITTER_US)), 3)] for _ in range(GROUP_SIZE)]


def build_experiment(runtime_us: float) -> bss2emu.Experiment:
    chain = []
    for k in range(GROUPS - 1):
        proj = {"pre": group(k), "post": group(k + 1), "weight": WEIGHT}
        if k == DELAYED_HOP:
            proj["delay_us"] = DELAY_US
        chain.append(proj)
    return bss2emu.Experiment(
        name="synfire chain on 4 chips", seed=1, runtime_us=runtime_us,
        populations=[{"name": group(k), "size": GROUP_SIZE, "params": NEURON, "chip": chip_of_group(k)}
                     for k in range(GROUPS)],
        sources=[{"kind": "spike_array", "name": "stimulus", "size": GROUP_SIZE, "spike_times_us": pulse_times()}],
        projections=[{"pre": "stimulus", "post": group(0), "weight": STIMULUS_WEIGHT}] + chain,
    )


def link_rows(res: bss2emu.Results) -> list[tuple]:
    """Per directed link: (link, sent, delivered, dropped, longest queue)."""
    links = res.tables["links"].to_pydict()
    return list(zip(links["link"], links["sent"], links["delivered"], links["dropped"], links["max_queue"]))


def events_sent(res: bss2emu.Results) -> int:
    """Events the chips sent into the network: what their FPGAs' uplinks carried.

    ``metadata["link_hops"]`` counts link transmissions, i.e. each event once per
    hop (2 hops chip → aggregator → chip on cube-4)."""
    links = res.tables["links"].to_pydict()
    return int(sum(n for name, n in zip(links["link"], links["sent"]) if name.startswith("fpga")))


def main(runtime_us: float = 45.0, out_dir: str = ".") -> dict:
    """Run on ``cube-4``, plot ``synfire_multichip.png`` (raster coloured by chip) and
    return per-group latencies, chips and the link counters."""
    res = bss2emu.run(build_experiment(runtime_us), system=SYSTEM)
    spikes = res.to_pandas("spikes")

    fig = new_figure(9.0, 5.0)
    ax = fig.add_subplot()
    rows, latency, spread, fired, n_spikes, chips = [], [], [], [], [], []
    for k in range(GROUPS):
        df = spikes[spikes["population"] == group(k)]
        ax.scatter(df["time_us"], k * GROUP_SIZE + df["index"], s=9, marker="|",
                   c=[f"C{c}" for c in df["chip"]], linewidths=1.0)
        t = df["time_us"].to_numpy()
        chips.append(sorted({int(c) for c in df["chip"]}))
        fired.append(int(df["index"].nunique()))
        n_spikes.append(len(df))
        latency.append(float(t.min() - PULSE_US) if len(t) else float("nan"))
        spread.append(float(t.std()) if len(t) > 1 else float("nan"))
        gap = latency[-1] - latency[-2] if k else latency[-1]
        hop = "stimulus" if k == 0 else f"chip {chip_of_group(k - 1)} → {chip_of_group(k)}" + (
            f", delay {DELAY_US:g} µs" if k - 1 == DELAYED_HOP else "")
        rows.append((k, ",".join(map(str, chips[-1])) or "-", f"{fired[-1]}/{GROUP_SIZE}", latency[-1], gap,
                     spread[-1], hop))
    for k in range(1, GROUPS):
        ax.axhline(k * GROUP_SIZE - 0.5, color="0.9", lw=0.5, zorder=0)
    for i, tr in enumerate(pulse_times()):
        ax.plot(tr, [-3 - i * 0.25], "|", color="k", ms=2)
    for c in range(CHIPS):
        ax.plot([], [], "s", color=f"C{c}", label=f"chip {c}")
    ax.legend(loc="lower right", fontsize=8, ncol=CHIPS)
    ax.set_yticks([k * GROUP_SIZE + GROUP_SIZE / 2 for k in range(GROUPS)],
                  [f"group {k}" for k in range(GROUPS)])
    ax.set_ylim(-13, GROUPS * GROUP_SIZE)
    ax.set_xlim(0, runtime_us)
    ax.set_xlabel("time [µs hardware ≙ ms biological]")
    ax.set_title(f"Synfire chain on {SYSTEM}: {GROUPS} × {GROUP_SIZE} neurons, group k on chip k mod {CHIPS}; "
                 f"{DELAY_US:g} µs delay between groups {DELAYED_HOP} and {DELAYED_HOP + 1}", fontsize=10)
    ax.text(PULSE_US + 3.0, -10, "stimulus", fontsize=8)
    png = save_figure(fig, out_dir, "synfire_multichip.png")

    meta = res.metadata
    print(f"synfire chain on {SYSTEM}: {meta['chips_used']} chips, {meta['windows']} windows of "
          f"{meta['window_us']:g} µs, wall {meta['wall_s']:.2f} s")
    print_table(("group", "chip", "fired", "first-spike latency µs", "since previous µs", "spread (sd) µs", "hop"),
                rows)
    reached = fired[-1] > GROUP_SIZE // 2
    hops = np.diff(latency)
    plain = np.delete(hops, DELAYED_HOP)  # hops without the extra delay
    print(f"the wave {'reaches' if reached else 'does not reach'} group {GROUPS - 1}"
          + (f" after {latency[-1]:.1f} µs: {np.nanmean(plain):.2f} µs per chip-to-chip hop "
             f"(route latency 0.65 µs included), {hops[DELAYED_HOP]:.2f} µs over the delayed one" if reached else ""))
    print(f"\ninter-chip events: {events_sent(res)} sent by the chips ({meta['link_hops']} link "
          f"transmissions at 2 hops each), {meta['dropped_events']} dropped")
    print_table(("link", "sent", "delivered", "dropped", "max queue"), link_rows(res))
    print(f"wrote {png}")
    return {
        "png": str(png), "latency_us": latency, "spread_us": spread, "fired": fired, "spikes": n_spikes,
        "chips": chips, "wave_reaches_last_group": bool(reached),
        "inter_chip_events": meta["inter_chip_events"], "link_hops": meta["link_hops"], "events_sent": events_sent(res),
        "dropped_events": meta["dropped_events"], "links": link_rows(res), "wall_s": meta["wall_s"],
    }


if __name__ == "__main__":
    command_line(main, __doc__, runtime_us=45.0)
