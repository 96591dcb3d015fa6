"""The PyNN examples run (short) and show what they claim; each is imported from
``examples/`` by path (the ``example`` fixture) and its ``main(...)`` called."""

from __future__ import annotations

import numpy as np


def test_pynn_single_neuron(example, tmp_path, png_written):
    mod = example("pynn_single_neuron")
    r = mod.main(runtime_ms=150.0, out_dir=tmp_path)
    png_written(r, tmp_path, "pynn_single_neuron.png")
    on, off = r["step_ms"]
    assert r["spikes"] and all(on < t < off + 1.0 for t in r["spikes"]), "spikes only under the current step"
    assert 1.0 < r["psp_mv"] < 8.0
    assert r["samples"] == 1501  # 0 … 150 ms every 0.1 ms (MADC)
    assert -71.0 < r["v_min"] < -69.0 and r["v_max"] < -49.5  # reset and threshold, biological mV
    assert abs(r["realised"]["tau_m"] - 20.0) < 0.1


def test_pynn_synfire_over_four_chips(example, tmp_path, png_written):
    mod = example("pynn_synfire")
    r = mod.main(runtime_ms=30.0, out_dir=tmp_path)
    png_written(r, tmp_path, "pynn_synfire.png")
    assert r["wave_reaches_last_group"] and min(r["fired"]) == mod.GROUP_SIZE
    hops = np.diff(r["latency_ms"])
    assert np.all(hops > mod.DELAY_MS), "each hop takes its delay plus the rise time"
    assert hops[mod.DELAYED_HOP] > np.delete(hops, mod.DELAYED_HOP).max() + 2.5, "the 4 ms hop is longer"
    assert r["chips_used"] == 4
    assert r["inter_chip_events"] == sum(r["spikes"][:-1]) and r["dropped_events"] == 0


def test_pynn_adex_patterns(example, tmp_path, png_written):
    mod = example("pynn_adex_patterns")
    r = mod.main(runtime_ms=400.0, out_dir=tmp_path)  # three bursts of the bursting neuron
    png_written(r, tmp_path, "pynn_adex_patterns.png")
    p = r["patterns"]
    assert set(p) == set(mod.PATTERNS)
    isi = {name: np.diff(s["spike_times_ms"]) for name, s in p.items()}
    # tonic: many spikes, regular (the first ISI is 7 % shorter than the last: little adaptation)
    assert p["tonic"]["n_spikes"] > 20 and p["tonic"]["isi_cv"] < 0.05 and p["tonic"]["adaptation_index"] < 1.15
    # adapting: every ISI at least as long as the one before, the last > 3× the first
    assert p["adapting"]["adaptation_index"] > 3.0 and np.all(np.diff(isi["adapting"]) > -0.2)
    # initial burst: two short ISIs, then (after one longer ISI) regular firing at a much lower rate
    first, rest = isi["initial_burst"][:2], isi["initial_burst"][3:]
    assert first.max() < 0.2 * rest.min() and rest.std() / rest.mean() < 0.05
    # regular bursting: ISIs short within bursts or long between them, nothing in between
    b = isi["bursting"]
    assert np.all((b < 10.0) | (b > 100.0)) and np.sum(b > 100.0) >= 2 and np.sum(b < 10.0) >= 2
    # delayed accelerating: the first spike comes late and the neuron speeds up
    assert p["delayed_accelerating"]["first_spike_ms"] > mod.STEP_ON_MS + 25.0
    assert p["delayed_accelerating"]["adaptation_index"] < 0.8
    # transient: spiking at the step's onset only
    transient = np.asarray(p["transient"]["spike_times_ms"])
    assert len(transient) >= 1 and transient.max() < mod.STEP_ON_MS + 50.0
    # irregular: ISIs vary widely
    assert p["irregular"]["isi_cv"] > 0.3
    # the w run repeats the v run exactly (deterministic emulation), and w rises by b at each spike
    png_written({"png": r["phase_png"]}, tmp_path, "pynn_adex_phase.png")
    for name, s in p.items():
        assert s["w_spike_times_ms"] == s["spike_times_ms"], name
        cell, _ = mod.cell_parameters(name)
        t, w = s["t_ms"], s["w_pa"]
        # at rest w = a (v - E_L) ≈ 0: |a| ≤ 11 nS times the leak's quantisation (≤ 0.06 mV)
        assert np.all(np.abs(w[t < mod.STEP_ON_MS]) < 1.0), name
        for spike in s["spike_times_ms"][:3]:
            k = int(np.searchsorted(t, spike))
            jump = w[k + 1] - w[k - 1]  # 0.2 ms: drift through a (v - E_L) and τ_w is < 1 pA
            assert abs(jump - 1000.0 * cell["b"]) < 0.03 * 1000.0 * cell["b"] + 1.0, (name, jump)


def test_pynn_dynamic_range(example, tmp_path, png_written):
    mod = example("pynn_dynamic_range")
    r = mod.main(coarse_steps=8, out_dir=tmp_path)
    png_written(r, tmp_path, "pynn_dynamic_range.png")
    w, fine = np.asarray(r["weights_na"]), np.asarray(r["fine"])
    one_code_na = mod.W_MAX_NA / 63.0
    for receptor in mod.RECEPTORS:
        h, o = np.asarray(r[receptor]["heights_mv"]), r[receptor]
        # monotonic: a height never falls by more than the readout's resolution, and spans > 8 mV
        assert np.all(np.diff(h) >= -r["readout_mv"] - 1e-9) and h[-1] > 8.0
        assert np.all(np.diff(h[~fine]) > 0), "every coarse step is a full code step or more"
        assert o["r_squared"] > 0.99
        # quantised: weights below half a code give no PSP (within one readout step of the
        # baseline; the calibrated LSB differs from W_MAX/63 by its residual: keep clear of ½ code)
        assert np.all(h[w < 0.4 * one_code_na] <= r["readout_mv"] + 1e-9) and np.all(h[fine & (w > 0.6 * one_code_na)] > 0.0)
        # one code's PSP step, divided by the slope, is the LSB the chip realises (code × LSB =
        # hardware_weights()), which is W_MAX/63 to the calibration's residual. Measured 1.000 ±
        # 1e-4 with a 16-bit readout, within 1 % with the MADC (plateaus read to ±0.06 mV of
        # 0.2 mV codes); it read 1.28 when the step was the mean of only the two-readout-step
        # jumps of the staircase. Where the baseline falls on the MADC's code grid (the leak's
        # 2.4 mV DAC steps place it) decides how the plateaus' quantisation adds up: 1.011 (exc)
        # and 1.037 (inh) with the leak map of the AdEx tutorial (chip_actor.analog)
        assert abs(o["weight_step_na"] / o["lsb_na"] - 1.0) < 0.045
        assert abs(o["lsb_na"] / one_code_na - 1.0) < 0.03
        assert len(np.unique(np.rint(h[fine] / r["readout_mv"]))) <= 2 * fine.sum() // 4 + 1
        # the slope against the realised weights is the ideal LIF neuron's for the realised
        # tau_m and tau_syn, to the MADC's ±0.06 mV on 12 mV: measured 0.993 (exc) and 1.003
        # (inh); 0.992 before an input's PSP included its arrival step's charge (0.1 ms/tau_syn).
        # (Against the parameters asked for: 1.1 % lower still, from the
        # realised tau_m; it read 0.91 when each PSP also sat on the previous one's 12 % tail.)
        assert 0.98 < o["slope_mv_per_na"] / o["realised_ideal_mv_per_na"] < 1.01


def test_pynn_stp(example, tmp_path, png_written):
    mod = example("pynn_stp")
    r = mod.main(out_dir=tmp_path)
    png_written(r, tmp_path, "pynn_stp.png")
    dep, fac, static = r["depressing"], r["facilitating"], r["static"]
    assert dep["ratios"][1] < 1.0 and fac["ratios"][1] > 1.0
    assert dep["ratios"][-2] < 0.3 and fac["ratios"][-2] > 2.5, "steady state after 10 spikes at 50 Hz"
    assert dep["ratios"][-2] < dep["ratios"][-1] < 1.0, "the recovery spike has partly recovered"
    # measured vs the Tsodyks–Markram recursion, every spike. Largest deviation over 20, 25, 40
    # and 50 Hz and 50–400 ms recovery: depression 0.006, facilitation 0.018, from the MADC's
    # 0.12 mV steps on PSPs of 1–4 mV (first facilitating PSP: 1 mV) and from the chip's PSP
    # starting at the end of its 0.1 ms step, against the fit's analytic shape (each up to
    # 0.015 alone; with a 16-bit readout and the shape started there both are exact to 2e-4;
    # with events acting from their time inside a step, 0.004 and 0.014 at 50 Hz).
    # Allow a third more than measured.
    for name, tol in (("depressing", 0.008), ("facilitating", 0.025)):
        assert np.max(np.abs(np.subtract(r[name]["ratios"], r[name]["predicted_ratios"]))) < tol, name
    # efficacy of the first spike = U (weight is the PSC at full efficacy); static stays flat
    assert abs(dep["measured_first_efficacy"] - 0.5) < 0.015 and abs(fac["measured_first_efficacy"] - 0.25) < 0.015
    assert np.ptp(static["ratios"]) < 0.01
