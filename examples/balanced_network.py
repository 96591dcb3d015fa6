"""A balanced random network on one emulated chip: 320 excitatory and 80 inhibitory AdEx
neurons with sparse random connectivity, driven by the chip's Poisson background generators.

* Connectivity: every neuron gets exactly 32 excitatory and 8 inhibitory inputs from the
  network (``fixed_number_pre``, 10 % of each population), weights 20 (excitatory) and 63
  (inhibitory, with the inhibitory synaptic gain doubled to 170): inhibition dominates.
* Drive: 4 of the chip's 8 background generators, each in binned-Poisson mode with 64
  labels (period 40 cycles = 160 ns, emitting with probability 128/256: ≈ 49 Hz biological
  per label); every neuron gets 2 labels from each generator, weight 63 (≈ 390 Hz in all).
  The generators run on the chip, so the FPGA plays back no input at all.
* Neurons: hardware defaults (τ_m ≈ 10 µs, τ_syn ≈ 5 µs) on chip serial 7 with its
  fixed-pattern mismatch, reset to the leak potential (``v_reset`` 604: 587 mV, as the default leak).

Without the inhibitory projections the excitatory feedback runs away (≈ 200 Hz, every neuron
firing); with them, excitation and inhibition cancel and the network fires asynchronously and
irregularly at about the rate the drive alone would cause.

Why this size: a neuron's column has 256 synapse rows per chip, and every presynaptic neuron
with many random targets occupies (part of) a row in each hemisphere it reaches. 400 neurons
with in-degree 40 use ≈ 280 of the 512 rows; all 512 circuits with in-degree 100 do not fit,
and routing stops with a ``RoutingError`` that says so. Background labels are cheap: a
generator's labels share synapse drivers, and with 2 labels per neuron all 64 fit on one
driver's 2 rows (more labels per neuron spread a generator over more drivers).

Rates are spikes per ms of hardware time, which is Hz biological (1 µs hw ≙ 1 ms bio).

    python examples/balanced_network.py [--runtime-us 1000] [--out DIR]
"""

from __future__ import annotations

import time

import numpy as np

import bss2emu
from _common import command_line, new_figure, print_table, save_figure

N_EXC, N_INH = 320, 80
IN_EXC, IN_INH = 32, 8  # network inputs per neuron (10 % of each population)
W_EXC, W_INH = 20, 63
NEURON = {"v_reset": 604, "i_bias_syn_inh_gm": 170}
GENERATORS = 4
LABELS_PER_GENERATOR = 64
LABELS_PER_NEURON = 2  # per generator: then its 64 labels fit on one synapse driver (2 rows)
BACKGROUND = {"mode": "poisson", "period": 40, "rate": 128}
W_BACKGROUND = 63


def build_experiment(runtime_us: float) -> bss2emu.Experiment:
    pops = ("exc", "inh")
    sources = [{"kind": "background", "name": f"background{g}", "size": LABELS_PER_GENERATOR, **BACKGROUND}
               for g in range(GENERATORS)]
    network = [
        {"pre": pre, "post": post, "weight": w, "receptor": rec,
         "connector": {"kind": "fixed_number_pre", "n": n, "allow_self_connections": False}}
        for pre, n, w, rec in (("exc", IN_EXC, W_EXC, "excitatory"), ("inh", IN_INH, W_INH, "inhibitory"))
        for post in pops
    ]
    drive = [
        {"pre": src["name"], "post": post, "weight": W_BACKGROUND,
         "connector": {"kind": "fixed_number_pre", "n": LABELS_PER_NEURON}}
        for src in sources for post in pops
    ]
    return bss2emu.Experiment(
        name="balanced network", seed=1, runtime_us=runtime_us, chip={"serial": 7},
        populations=[{"name": "exc", "size": N_EXC, "params": NEURON},
                     {"name": "inh", "size": N_INH, "params": NEURON}],
        sources=sources,
        projections=network + drive,
    )


def population_statistics(trains: list[np.ndarray], runtime_us: float) -> dict[str, float]:
    """Mean rate (Hz biological), mean ISI CV (neurons with ≥ 4 spikes), fraction active."""
    counts = np.array([len(t) for t in trains])
    cvs = [np.std(np.diff(t)) / np.mean(np.diff(t)) for t in trains if len(t) >= 4]
    return {
        "rate_hz": float(counts.mean() / (runtime_us * 1e-3)),
        "cv_isi": float(np.mean(cvs)) if cvs else float("nan"),
        "active_fraction": float((counts > 0).mean()),
        "spikes": int(counts.sum()),
    }


def main(runtime_us: float = 1000.0, out_dir: str = ".") -> dict:
    """Run, plot ``balanced_network.png`` (raster + population rate), print a summary."""
    wall0 = time.perf_counter()
    exp = build_experiment(runtime_us)
    res = bss2emu.run(exp)
    wall_run = time.perf_counter() - wall0
    trains = {p.name: res.spike_times_us(p.name) for p in exp.populations}
    stats = {name: population_statistics(tr, runtime_us) for name, tr in trains.items()}

    fig = new_figure(9.0, 6.0)
    ax_r, ax_p = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    colours = {"exc": "tab:blue", "inh": "tab:red"}
    offset = 0
    bin_us = 10.0
    bins = np.arange(0.0, runtime_us + bin_us, bin_us)
    for name, tr in trains.items():
        t = np.concatenate(tr) if tr else np.zeros(0)
        y = np.concatenate([np.full(len(x), offset + i) for i, x in enumerate(tr)]) if tr else np.zeros(0)
        ax_r.plot(t, y, ".", ms=1.2, color=colours[name])
        hist, _ = np.histogram(t, bins)
        ax_p.plot(bins[:-1] + bin_us / 2, hist / len(tr) / (bin_us * 1e-3), color=colours[name], lw=0.8,
                  label=f"{name}: {stats[name]['rate_hz']:.1f} Hz, CV {stats[name]['cv_isi']:.2f}")
        offset += len(tr)
    ax_r.set_ylim(-1, offset)
    ax_r.set_ylabel("neuron")
    ax_p.legend(loc="upper right", fontsize=8, ncol=2)
    ax_r.set_title(f"Balanced network on one chip: {N_EXC} exc + {N_INH} inh, in-degree "
                   f"{IN_EXC}+{IN_INH}, background-generator drive", fontsize=10)
    ax_p.set_ylabel("rate [Hz bio]")
    ax_p.set_ylim(0, 1.5 * max(ax_p.get_ylim()[1], 1.0))  # room for the legend
    ax_p.set_xlabel("time [µs hardware ≙ ms biological]")
    ax_p.set_xlim(0, runtime_us)
    png = save_figure(fig, out_dir, "balanced_network.png")

    routing = res.metadata["mapping"]["chips"][0]
    print(f"balanced network: {N_EXC} excitatory + {N_INH} inhibitory neurons, "
          f"{runtime_us:g} µs hardware (= {runtime_us:g} ms biological)")
    print(f"routing: {routing.get('synapses_used', '?')} synapses on {routing.get('rows_used', '?')} of 512 rows, "
          f"{routing.get('drivers_used', '?')} of 128 synapse drivers; {GENERATORS} background generators")
    print_table(
        ("population", "neurons", "spikes", "rate [Hz bio]", "ISI CV", "active"),
        [(name, len(trains[name]), s["spikes"], s["rate_hz"], s["cv_isi"], f"{100 * s['active_fraction']:.0f} %")
         for name, s in stats.items()],
    )
    print(f"wall time: {wall_run:.2f} s for the run (routing {res.metadata['map_s']:.2f} s; "
          f"the very first run also compiles the numba kernels)")
    print(f"wrote {png}")
    return {
        "png": str(png), "n_neurons": N_EXC + N_INH, "populations": stats,
        "rate_exc_hz": stats["exc"]["rate_hz"], "rate_inh_hz": stats["inh"]["rate_hz"],
        "wall_s": wall_run, "routing": routing,
    }


if __name__ == "__main__":
    command_line(main, __doc__, runtime_us=1000.0)
