"""Short-term plasticity: one neuron receives a regular spike train through a depressing
projection, then another through a facilitating one; PSP amplitudes per spike from the MADC.

On BSS-2, STP lives in the synapse drivers (Tsodyks–Markram, 4-bit utilisation U and 4-bit
recovery τ): every synapse of a presynaptic source shares its driver's STP state. So the two
trains come from two sources, each with its own ``stp`` on its projection:

* depressing:   utilisation 7  → U = 8/16 = 0.5,   recovery 12 → τ = 2 µs · 2**6 = 128 µs
* facilitating: utilisation 2  → U = 3/16 ≈ 0.19,  recovery 12 → τ = 128 µs

with spikes every 20 µs (50 Hz biological), much shorter than τ. The neuron does not fire
(``enable_fire`` 0); a small capacitance (0.58 pF), fast membrane (≈ 4 µs) and fast synapse
(2 µs) make PSPs large next to the MADC's 1.17 mV step and decay between spikes. Each PSP
amplitude is the trace's maximum after a spike minus its value at the spike; the plot sets
them beside the Tsodyks–Markram efficacy U·R (depression) or u (facilitation), scaled to the
measured amplitudes by least squares.

    python examples/stp.py [--runtime-us 500] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu
from bss2emu.chip_actor.analog import stp_tau_us, stp_utilisation
from _common import command_line, madc_trace_mv, new_figure, print_table, save_figure

ISI_US = 20.0
FIRST_SPIKE_US = 10.0
STP = {
    "depressing": {"mode": "depression", "utilisation": 7, "recovery": 12},
    "facilitating": {"mode": "facilitation", "utilisation": 2, "recovery": 12},
}
NEURON = {
    "enable_fire": 0, "capacitance": 15, "i_bias_leak": 30,
    "i_bias_syn_exc_tau": 150, "i_bias_syn_exc_gm": 170,
}


def spike_trains(runtime_us: float) -> dict[str, list[float]]:
    """A regular train in each half of the run."""
    half = runtime_us / 2.0
    n = max(2, int((half - FIRST_SPIKE_US - ISI_US) // ISI_US) + 1)
    return {
        name: [k * half + FIRST_SPIKE_US + i * ISI_US for i in range(n)]
        for k, name in enumerate(STP)
    }


def build_experiment(runtime_us: float) -> bss2emu.Experiment:
    trains = spike_trains(runtime_us)
    return bss2emu.Experiment(
        name="stp", runtime_us=runtime_us, chip={"serial": 7},
        populations=[{"name": "neuron", "size": 1, "params": NEURON}],
        sources=[{"kind": "spike_array", "name": f"{name}_train", "size": 1, "spike_times_us": [times]}
                 for name, times in trains.items()],
        projections=[{"pre": f"{name}_train", "post": "neuron", "weight": 63, "stp": stp}
                     for name, stp in STP.items()],
        recordings={"madc": {"population": "neuron"}},
    )


def tsodyks_markram_efficacy(stp: dict, spike_times_us: list[float]) -> np.ndarray:
    """Efficacy of every spike of a train, by the equations the synapse drivers follow
    (``bss2emu.chip_actor.kernels``), from the 4-bit settings via the chip's maps."""
    big_u = float(stp_utilisation(stp["utilisation"]))
    tau = float(stp_tau_us(stp["recovery"]))
    r, u, last, out = 1.0, 0.0, None, []
    for t in spike_times_us:
        decay = 0.0 if last is None else np.exp(-(t - last) / tau)
        last = t
        if stp["mode"] == "depression":
            r = 1.0 - (1.0 - r) * decay
            out.append(big_u * r)
            r *= 1.0 - big_u
        else:
            u = u * decay
            u = u + big_u * (1.0 - u)
            out.append(u)
    return np.asarray(out)


def psp_amplitudes(t_us: np.ndarray, v_mv: np.ndarray, spike_times_us: list[float]) -> np.ndarray:
    """Per input spike: the trace's maximum until the next spike minus its value at the spike."""
    amps = []
    for s in spike_times_us:
        start = np.searchsorted(t_us, s)
        window = (t_us >= s) & (t_us < s + ISI_US)
        amps.append(v_mv[window].max() - v_mv[start])
    return np.asarray(amps)


def main(runtime_us: float = 500.0, out_dir: str = ".") -> dict:
    """Run, plot ``stp.png`` and return the PSP amplitudes of both projections."""
    trains = spike_trains(runtime_us)
    res = bss2emu.run(build_experiment(runtime_us))
    t, v = madc_trace_mv(res)

    fig = new_figure(9.0, 6.5)
    ax_v, ax_a = fig.subplots(2, 1, height_ratios=[1.2, 1])
    ax_v.plot(t, v, lw=0.8, color="0.3")
    colours = {"depressing": "tab:red", "facilitating": "tab:blue"}
    out: dict[str, dict] = {}
    for name, times in trains.items():
        amps = psp_amplitudes(t, v, times)
        eff = tsodyks_markram_efficacy(STP[name], times)
        scale = float(amps @ eff / (eff @ eff))  # least-squares amplitude per unit efficacy
        out[name] = {"amplitudes_mv": amps.tolist(), "model_mv": (scale * eff).tolist(),
                     "ratio_last_first": float(amps[-1] / amps[0]) if amps[0] > 0 else float("inf")}
        c = colours[name]
        ax_v.plot(times, np.full(len(times), v.min() - 3.0), "^", color=c, ms=5, label=f"{name} input")
        k = np.arange(1, len(times) + 1)
        ax_a.plot(k, amps, "o", color=c, label=f"{name}: measured (MADC)")
        ax_a.plot(k, scale * eff, "-", color=c, alpha=0.6, label=f"{name}: Tsodyks–Markram model")
    ax_v.set_xlabel("time [µs hardware ≙ ms biological]")
    ax_v.set_ylabel("membrane [mV]")
    ax_v.set_title("One neuron, two input trains (every 20 µs) through STP synapse drivers")
    ax_v.legend(fontsize=8, loc="upper center")
    ax_a.set_xlabel("spike number in the train")
    ax_a.set_ylabel("PSP amplitude [mV]")
    ax_a.set_ylim(bottom=0)
    ax_a.legend(fontsize=8, ncol=2)
    png = save_figure(fig, out_dir, "stp.png")

    n = max(len(x) for x in trains.values())
    print_table(
        ("spike", *(f"{name} mV" for name in trains)),
        [(i + 1, *(f"{out[name]['amplitudes_mv'][i]:.1f}" if i < len(trains[name]) else "" for name in trains))
         for i in range(n)],
    )
    print("last/first amplitude: " + ", ".join(f"{k} {o['ratio_last_first']:.2f}" for k, o in out.items()))
    print(f"wrote {png}")
    return {"png": str(png), **out}


if __name__ == "__main__":
    command_line(main, __doc__, runtime_us=500.0)
