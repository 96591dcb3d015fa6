"""AdEx firing patterns in PyNN: ``EIF_cond_exp_isfa_ista`` under a current step.

Eight parameter sets of Naud, Marcille, Clopath & Gerstner (2008, Biol. Cybern. 99:335,
Table 1) in the form NEST and Brian users know them (spike detection at V_peak = 0 mV,
``v_spike=0``), each a neuron that gets a ``DCSource`` step from ``STEP_ON_MS`` to the end
of the run: tonic spiking, adaptation, initial burst, regular bursting, delayed
accelerating, delayed regular bursting, transient spiking and irregular spiking.

Every set fits the hardware's ranges as given — the backend rejected none (it would raise
``InvalidParameterValueError`` with the range). The chip realises them quantised: most
visibly τ_w, a bias current ∝ 1/τ_w with 10-bit resolution (300 ms becomes 286 ms, 150 ms
154 ms); the spike times stay within a few ms of NEST's (``pyNN.nest``, same script).

Each pattern is its own short run (``setup`` … ``end``): one neuron recording ``v`` is
digitised by the MADC at every 0.1 ms step, while several neurons would share the CADC at
a sampling interval of 0.6 ms or more. The MADC reads one signal per run, so a second run
of the same neuron records its adaptation current ``w``; the emulation is deterministic
(no noise, no random input here), so both runs spike at the same times, and together they
give the trajectory in the (v, w) phase plane that Naud et al. use to explain the
patterns (``pynn_adex_phase.png``). The membrane is initialised at ``v_rest`` (PyNN's
default initial ``v`` is -70.6 mV; the hardware membrane starts at its leak potential).

The table gives per pattern the spike count, the first and last inter-spike interval (ISI),
their ratio — the adaptation index here: > 1 the neuron slows down, < 1 it accelerates —
and the ISIs' coefficient of variation (CV).

    python examples/pynn_adex_patterns.py [--runtime-ms 500] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu.pynn as sim
from _common import command_line, new_figure, print_table, pynn_recording, save_figure

STEP_ON_MS = 20.0

# Naud et al. (2008), Table 1: C pF, g_L nS, E_L mV, V_T mV, a nS, τ_w ms, b pA, V_r mV, I pA
# (Δ_T = 2 mV for all)
NAUD_2008: dict[str, tuple[float, ...]] = {
    "tonic": (200, 10, -70, -50, 2, 30, 0, -58, 500),
    "adapting": (200, 12, -70, -50, 2, 300, 60, -58, 500),
    "initial_burst": (130, 18, -58, -50, 4, 150, 120, -50, 400),
    "bursting": (200, 10, -58, -50, 2, 120, 100, -46, 210),
    "delayed_accelerating": (200, 12, -70, -50, -10, 300, 0, -58, 300),
    "delayed_bursting": (100, 10, -65, -50, -10, 90, 30, -47, 110),
    "transient": (100, 10, -65, -50, 10, 90, 100, -47, 180),
    "irregular": (100, 12, -60, -50, -11, 130, 30, -48, 160),
}
PATTERNS = tuple(NAUD_2008)


def cell_parameters(pattern: str) -> tuple[dict[str, float], float]:
    """PyNN parameters (nF, ms, mV, nS, nA) and the step current (nA) of a Naud et al. set."""
    c_pf, g_l_ns, e_l, v_t, a_ns, tau_w, b_pa, v_r, i_pa = NAUD_2008[pattern]
    cell = {"cm": c_pf / 1000.0, "tau_m": c_pf / g_l_ns, "v_rest": e_l, "v_thresh": v_t, "delta_T": 2.0,
            "a": a_ns, "tau_w": tau_w, "b": b_pa / 1000.0, "v_reset": v_r, "v_spike": 0.0, "tau_refrac": 0.1}
    return cell, i_pa / 1000.0


def run_pattern(pattern: str, runtime_ms: float, variable: str = "v") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One neuron with ``pattern``'s parameters under its current step: ``(t_ms, x, spikes_ms)``
    with ``x`` the membrane ``v`` (mV) or the adaptation current ``w`` (pA)."""
    cell, step_na = cell_parameters(pattern)
    sim.setup(timestep=0.1, min_delay=0.1)
    neuron = sim.Population(1, sim.EIF_cond_exp_isfa_ista(**cell), label=pattern)
    neuron.initialize(v=cell["v_rest"])
    sim.DCSource(amplitude=step_na, start=STEP_ON_MS, stop=runtime_ms).inject_into(neuron)
    neuron.record(["spikes", variable])
    sim.run(runtime_ms)
    recording = pynn_recording(neuron, variable, "mV" if variable == "v" else "pA")
    sim.end()
    return recording


def isi_summary(spikes_ms: np.ndarray) -> dict[str, float]:
    """Spike count, first/last ISI (ms), adaptation index last/first ISI and ISI CV
    (NaN where there are too few spikes)."""
    isi = np.diff(spikes_ms)
    nan = float("nan")
    first, last = (float(isi[0]), float(isi[-1])) if len(isi) else (nan, nan)
    return {"n_spikes": len(spikes_ms), "first_spike_ms": float(spikes_ms[0]) if len(spikes_ms) else nan,
            "first_isi_ms": first, "last_isi_ms": last, "adaptation_index": last / first,
            "isi_cv": float(isi.std() / isi.mean()) if len(isi) > 1 else nan}


def main(runtime_ms: float = 500.0, out_dir: str = ".") -> dict:
    """Run every pattern (once recording v, once w), plot ``pynn_adex_patterns.png`` (v
    against time) and ``pynn_adex_phase.png`` (the (v, w) trajectories); return spikes, ISI
    figures and w per pattern."""
    fig = new_figure(11.0, 9.0)
    axes = fig.subplots(4, 2, sharex=True).ravel()
    phase = new_figure(11.0, 9.0)
    phase_axes = phase.subplots(4, 2).ravel()
    out: dict[str, dict] = {}
    for ax, pax, pattern in zip(axes, phase_axes, PATTERNS):
        t, v, spikes = run_pattern(pattern, runtime_ms)
        _, w, spikes_w = run_pattern(pattern, runtime_ms, "w")
        summary = isi_summary(spikes)
        out[pattern] = {**summary, "spike_times_ms": spikes.tolist(), "w_spike_times_ms": spikes_w.tolist(),
                        "t_ms": t, "v_mv": v, "w_pa": w}
        reset = np.flatnonzero(np.diff(v) < -5.0) + 1  # break the line at each reset
        pax.plot(np.insert(v, reset, np.nan), np.insert(w, reset, np.nan), lw=0.6, color="tab:purple")
        pax.plot(v[0], w[0], "o", ms=3, color="k")
        pax.set_title(pattern.replace("_", " "), fontsize=9, loc="left")
        pax.set_ylabel("w (pA)")
        ax.axvspan(STEP_ON_MS, runtime_ms, color="tab:orange", alpha=0.08)
        ax.plot(t, v, lw=0.7, color="tab:blue")
        n = summary["n_spikes"]
        ax.set_title(f"{pattern.replace('_', ' ')}: {n} spike{'' if n == 1 else 's'}", fontsize=9, loc="left")
        ax.set_ylabel("v (mV)")
    for ax in axes[-2:]:
        ax.set_xlabel(f"time (ms, biological); current step from {STEP_ON_MS:g} ms (shaded)")
    for ax in phase_axes[-2:]:
        ax.set_xlabel("v (mV); at each spike the trajectory restarts at v_reset, b higher")
    fig.suptitle("AdEx firing patterns (Naud et al. 2008) through PyNN on an emulated BrainScaleS-2 chip")
    phase.suptitle("AdEx (v, w) trajectories from rest (dot): v and w recorded by the MADC in two runs")
    png = save_figure(fig, out_dir, "pynn_adex_patterns.png")
    phase_png = save_figure(phase, out_dir, "pynn_adex_phase.png")
    print_table(["pattern", "spikes", "first spike (ms)", "first ISI (ms)", "last ISI (ms)",
                 "last/first ISI", "ISI CV"],
                [[p, s["n_spikes"], s["first_spike_ms"], s["first_isi_ms"], s["last_isi_ms"], s["adaptation_index"],
                  s["isi_cv"]] for p, s in out.items()])
    return {"png": str(png), "phase_png": str(phase_png), "patterns": out}


if __name__ == "__main__":
    command_line(main, __doc__, runtime_ms=(500.0, "biological ms per pattern (≙ µs hardware)"))
