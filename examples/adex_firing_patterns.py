"""AdEx firing patterns on the emulated chip: tonic, adapting, initial burst, bursting, transient.

Each pattern is one neuron circuit with the exponential term and adaptation switched on,
driven by a current step (a timed write of ``i_const`` at 20 µs). The DAC values below
translate the parameter sets of Naud, Marcille, Clopath & Gerstner (2008, Biol. Cybern.
99:335, Table 1) to the hardware with one fixed scaling:

* time: 1 ms biological → 1 µs hardware (the chip's 1000× acceleration);
* voltage: 1 mV biological → 4.7 mV, with E = -70 mV at 352 mV: ``v_exp`` 4 DAC LSB per mV
  (V_T = -50 mV → 380); the leak, reset and threshold cells have their own maps (leak 0.55
  mV/LSB below 700 ≙ 384 mV and 2.4 above; threshold above 407 as the leak's upper line 315
  LSB higher; reset 1.61 mV/LSB, 150 mV at 400: E = -70 mV → ``v_leak`` 639; the comparator threshold sits at -30 mV →
  ``v_threshold`` 450, far enough above V_T that the exponential upswing, not the
  comparator, shapes the spike);
* capacitance: 200 pF → 1.15 pF (``capacitance`` 31); conductances hence × 5.75
  (g_L 2.15 nS/LSB, a 8.1 nS/LSB: Naud's a of 2–4 nS, 12–23 nS on the chip, lands on
  1–3 steps) and currents × 27 (i_const 85 pA/LSB, b 29 pA/LSB);
* Δ_T = 2 mV → 9.4 mV (``i_bias_exp`` 188, 0.05 mV/LSB); τ_w → ``i_bias_adapt_tau`` =
  17300 µs / τ_w.

For the transient neuron the subthreshold adaptation ``a`` is chosen here (97 nS on the
chip, 1.7 g_L) so that the adapted neuron's rheobase lies above the step and firing stops.
The chip is ``ideal`` (no fixed-pattern mismatch), so the DAC values mean exactly what the
maps say; on a real chip they would come from calibration.

The MADC records one neuron per run, so each pattern is its own run. The printed table
gives the ISI statistics and the pattern the spike train is classified as (``classify``).

    python examples/adex_firing_patterns.py [--runtime-us 500] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu
from _common import command_line, madc_trace_mv, new_figure, print_table, save_figure

STEP_ON_US = 20.0

# shared by all patterns: AdEx on, comparator at -30 mV (bio), Δ_T = 2 mV (bio),
# refractory 25 << 2 = 100 cycles of 4 ns = 0.4 µs
COMMON = {
    "enable_exponential": 1, "enable_adaptation": 1, "v_threshold": 450, "i_bias_exp": 188,
    "refractory_count": 25, "refractory_clock": 2,
}

# Naud et al. (2008) value in the comment: C pF, g_L nS, E_L, V_T, V_r mV, a nS, τ_w ms, b pA, I pA
PATTERNS: dict[str, dict[str, int]] = {
    # C 200, g_L 10, E_L -70, V_T -50, a 2, τ_w 30, b 0, V_r -58, I 500
    "tonic": dict(capacitance=31, i_bias_leak=27, v_leak=639, v_exp=380, v_reset=561,
                  i_bias_adapt_a=1, i_bias_adapt_tau=577, i_bias_adapt_b=0, i_const=159),
    # C 200, g_L 12, E_L -70, V_T -50, a 2, τ_w 300, b 60, V_r -58, I 500
    "adapting": dict(capacitance=31, i_bias_leak=32, v_leak=639, v_exp=380, v_reset=561,
                     i_bias_adapt_a=1, i_bias_adapt_tau=58, i_bias_adapt_b=56, i_const=159),
    # C 130, g_L 18, E_L -58, V_T -50, a 4, τ_w 150, b 120, V_r -50, I 400
    "initial_burst": dict(capacitance=20, i_bias_leak=49, v_leak=710, v_exp=380, v_reset=584,
                          i_bias_adapt_a=3, i_bias_adapt_tau=115, i_bias_adapt_b=113, i_const=128),
    # C 200, g_L 10, E_L -58, V_T -50, a 2, τ_w 120, b 100, V_r -46, I 210
    "bursting": dict(capacitance=31, i_bias_leak=27, v_leak=710, v_exp=380, v_reset=596,
                     i_bias_adapt_a=1, i_bias_adapt_tau=144, i_bias_adapt_b=93, i_const=67),
    # C 100, g_L 10, E_L -65, V_T -50, τ_w 90, b 30, V_r -47, I 350; a 17 (tuned here)
    "transient": dict(capacitance=15, i_bias_leak=27, v_leak=687, v_exp=380, v_reset=593,
                      i_bias_adapt_a=12, i_bias_adapt_tau=192, i_bias_adapt_b=28, i_const=111),
}


def build_experiment(pattern: str, runtime_us: float) -> bss2emu.Experiment:
    """One neuron with ``pattern``'s DAC values; the current step starts at ``STEP_ON_US``."""
    params = {**COMMON, **PATTERNS[pattern]}
    i_const = params.pop("i_const")
    return bss2emu.Experiment(
        name=f"adex {pattern}", runtime_us=runtime_us, chip={"ideal": True},
        populations=[{"name": pattern, "size": 1, "params": params}],
        writes=[{"kind": "neuron", "time_us": STEP_ON_US, "population": pattern,
                 "parameter": "i_const", "value": i_const}],
        recordings={"madc": {"population": pattern}},
    )


def isi_statistics(spikes_us: np.ndarray) -> dict[str, float]:
    """Spike count, first/last/shortest/longest ISI (µs), ISI CV and Naud's adaptation index
    A = mean((ISI[k+1] - ISI[k]) / (ISI[k+1] + ISI[k])) (> 0: slowing down)."""
    isi = np.diff(spikes_us)
    nan = float("nan")
    return {
        "n_spikes": int(len(spikes_us)),
        "first_isi_us": float(isi[0]) if len(isi) else nan,
        "last_isi_us": float(isi[-1]) if len(isi) else nan,
        "min_isi_us": float(isi.min()) if len(isi) else nan,
        "max_isi_us": float(isi.max()) if len(isi) else nan,
        "cv": float(isi.std() / isi.mean()) if len(isi) > 1 else nan,
        "adaptation_index": float(np.mean(np.diff(isi) / (isi[1:] + isi[:-1]))) if len(isi) > 1 else nan,
        "last_spike_us": float(spikes_us[-1]) if len(spikes_us) else nan,
    }


def classify(spikes_us: np.ndarray, step_on_us: float, runtime_us: float) -> str:
    """Name the firing pattern of a spike train under a current step.

    * transient: it stops firing in the first half of the step;
    * a *burst break* is an ISI more than 3× the one before: one break followed by regular
      firing is an initial burst, several breaks are bursting;
    * otherwise adapting if the last ISI is ≥ 1.5× the first, else tonic."""
    if len(spikes_us) < 3:
        return "silent" if len(spikes_us) == 0 else "transient"
    if spikes_us[-1] < step_on_us + 0.5 * (runtime_us - step_on_us):
        return "transient"
    isi = np.diff(spikes_us)
    breaks = int(np.sum(isi[1:] > 3.0 * isi[:-1]))
    if breaks >= 2:
        return "bursting"
    if breaks == 1:
        return "initial_burst"
    return "adapting" if isi[-1] >= 1.5 * isi[0] else "tonic"


def main(runtime_us: float = 500.0, out_dir: str = ".") -> dict:
    """Run every pattern, plot ``adex_firing_patterns.png``, return statistics per pattern."""
    results: dict[str, dict] = {}
    fig = new_figure(9.0, 10.0)
    axes = fig.subplots(len(PATTERNS), 1, sharex=True)
    for ax, pattern in zip(axes, PATTERNS):
        res = bss2emu.run(build_experiment(pattern, runtime_us))
        t, v = madc_trace_mv(res)
        spikes = res.spike_times_us(pattern)[0]
        stats = isi_statistics(spikes)
        stats["classified_as"] = classify(spikes, STEP_ON_US, runtime_us)
        stats["spike_times_us"] = spikes.tolist()
        results[pattern] = stats
        ax.axvspan(STEP_ON_US, runtime_us, color="tab:orange", alpha=0.08)
        ax.plot(t, v, lw=0.8, color="tab:blue")
        ax.plot(spikes, np.full(len(spikes), v.max() + 10.0), "|", color="tab:red", ms=8)
        ax.set_ylabel("mV")
        ax.set_title(f"{pattern.replace('_', ' ')}  —  {stats['n_spikes']} spikes, "
                     f"classified: {stats['classified_as'].replace('_', ' ')}", fontsize=10, loc="left")
    axes[-1].set_xlabel("time [µs hardware ≙ ms biological]; current step from 20 µs (shaded)")
    fig.suptitle("AdEx firing patterns (Naud et al. 2008 parameters as DAC values, ideal chip)")
    png = save_figure(fig, out_dir, "adex_firing_patterns.png")

    print_table(
        ("pattern", "spikes", "first ISI µs", "last ISI µs", "ISI range µs", "ISI CV", "adapt. index",
         "classified as"),
        [(p, s["n_spikes"], s["first_isi_us"], s["last_isi_us"], f"{s['min_isi_us']:.1f}-{s['max_isi_us']:.1f}",
          s["cv"], s["adaptation_index"], s["classified_as"]) for p, s in results.items()],
    )
    print(f"wrote {png}")
    return {"png": str(png), "patterns": results}


if __name__ == "__main__":
    command_line(main, __doc__, runtime_us=500.0)
