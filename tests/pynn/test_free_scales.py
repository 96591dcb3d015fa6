"""Translation with the freedom the physics allows (issue #10): per population the
hardware capacitance and with it every current, conductance and weight (``current_scale``),
the voltage map's offset and, where the default slope cannot reach, its scale; a negative
constant current as a lower leak potential. Compared with NEST on textbook AdEx patterns.

Tolerances and why:

* **Scaled vs unscaled** (cm, a, b, currents, weights × k): the translation normalises by
  cm, so the hardware targets are the same numbers and the ideal chip's spike times are
  identical (asserted to 1 µs).
* **Voltage scale 7 instead of 10** (the same neuron): DAC quantisation of voltages and
  biases differs; the spike times agree as with NEST below (measured 3.3 ms at 371 ms,
  0.43 of the tolerance).
* **Neuronal Dynamics Table 6.1 vs NEST** (all seven patterns, 400 ms, 65 pA step from
  20 ms): the same spike count up to 390 ms (the last 10 ms excluded: a drift of 1 % moves
  a spike across the end of the run — tonic spikes at 395.6 ms on NEST, 399.9 ms here), the
  first spike within 0.5 ms, the k-th spike (k = 1, 2, …) within 0.15 ms · k + 2 % of the
  time since the step. The 2 %: quantised tau_w (a bias ∝ 1/tau_w, 10 bit), b, a and the
  leak change each interval by up to ≈ 1 %, accumulating spike by spike (tonic: 1.1 %);
  the 0.15 ms per spike: the upswing of the exponential term on the 0.1 ms grid (the
  emulator integrates it to second order, NEST adaptively), which the short intervals of
  a burst show (initial burst: 0.1–0.5 ms per 3–14 ms interval). Measured worst
  |Δt|/tolerance per pattern: tonic 0.64, adapting 0.25, initial burst 0.79, bursting
  0.70, irregular 0.53, transient 0.22, delayed 0.36.
* **Naud et al. (2008) Table 1 vs NEST** (``examples/pynn_adex_patterns.py``'s sets): as
  above, with 3 % drift: their tau_w of 300 ms is realised as 286 ms (−4.7 %), 150 ms as
  154 ms, which moves the late spikes of the adapting neurons by ≈ 2.5 % of the time since
  the step (adapting: 367.0 vs 376.0 ms). Measured worst |Δt|/tolerance: tonic 0.27,
  adapting 0.75, initial burst 0.75, bursting 0.29, delayed accelerating 0.27, delayed
  bursting 0.59, transient 0.47. The irregular pattern is chaotic — its trains
  part after a few spikes — so there the count up to 390 ms agrees within one spike and
  the first spike within 0.5 ms. Both simulators start at v_rest (NEST's default initial
  v, −70.6 mV, moved the first spikes of the patterns at E_L = −58 … −60 mV by up to 4 ms).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scripts

import bss2emu.pynn as bss

from bss2emu.pynn import translation as T

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))  # as the example fixture does
import pynn_adex_patterns  # noqa: E402

COUNT_UNTIL_MS = 390.0


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def assert_spikes_agree(ref: np.ndarray, got: np.ndarray, onset: float, first_ms: float = 0.5,
                        drift: float = 0.02) -> None:
    ref, got = ref[ref < COUNT_UNTIL_MS], got[got < COUNT_UNTIL_MS]
    # a spike within the timing tolerance of the counting window's end may fall inside it in
    # one simulator and outside in the other: only there may one train have a spike more
    n = min(len(ref), len(got))
    margin = 0.15 * (n + 1) + drift * (COUNT_UNTIL_MS - onset)
    unmatched = np.concatenate([ref[n:], got[n:]])
    assert n > 0 and len(unmatched) <= 1 and np.all(unmatched >= COUNT_UNTIL_MS - margin), \
        (ref.round(1).tolist(), got.round(1).tolist())
    ref, got = ref[:n], got[:n]
    assert abs(got[0] - ref[0]) <= first_ms, (ref[0], got[0])
    tolerance = 0.15 * np.arange(1, len(ref) + 1) + drift * (ref - onset)
    assert np.all(np.abs(got - ref) <= tolerance), (ref.round(1).tolist(), got.round(1).tolist())


@pytest.mark.parametrize("k", [0.25, 4.0])
def test_scaled_and_unscaled_translations_spike_alike(k):
    base = scripts.neuronal_dynamics_cell("adapting")
    ref = scripts.adex_step(bss, base)
    got = scripts.adex_step(bss, dict(base, cm=base["cm"] * k, a=base["a"] * k, b=base["b"] * k),
                            amplitude=scripts.ND_STEP_NA * k)
    assert len(ref["spikes"]) >= 10
    np.testing.assert_allclose(got["spikes"], ref["spikes"], atol=1e-3)
    assert got["scales"]["current_scale"] == pytest.approx(ref["scales"]["current_scale"] / k)


def test_a_smaller_voltage_scale_gives_the_same_dynamics(monkeypatch):
    base = scripts.neuronal_dynamics_cell("adapting")
    ref = scripts.adex_step(bss, base)
    monkeypatch.setattr(T, "V_SCALES", (7.0,))
    got = scripts.adex_step(bss, base, record_v=True)
    assert ref["scales"]["v_scale"] == 10.0 and got["scales"]["v_scale"] == 7.0
    # (at 7 hardware mV per mV the leak's 2.4 mV step is 0.34 mV: rest lands 0.17 mV low and
    # V_T - E_L 1.4 % wide, which the near-rheobase adapting neuron turns into a 2.6 % drift)
    assert_spikes_agree(ref["spikes"], got["spikes"], scripts.ND_STEP_ON_MS, drift=0.03)
    assert got["v"][:100].mean() == pytest.approx(-70.0, abs=0.3)  # recorded in the user's mV


def test_a_tonic_neuron_with_a_strong_b_gets_a_smaller_voltage_scale(nest_sim):
    """The issue's tonic neuron (b = 0.06 nA at cm = 0.04 nF, tau_m = 20 ms: a jump of w by
    b/g_L = 30 mV) fits at 10 hardware mV per mV since b's step is 29 pA; with b doubled (60
    mV) the adaptation circuit's reach at the smallest capacitance that keeps tau_m calibrated
    asks for 8. It fires tonically (5 spikes in 400 ms), as NEST with the parameters it
    realises."""
    params = scripts.neuronal_dynamics_cell("tonic")
    assert scripts.adex_step(bss, params)["scales"]["v_scale"] == 10.0
    params = dict(params, b=0.12)
    got = scripts.adex_step(bss, params)
    assert got["scales"]["v_scale"] == 8.0
    ref = scripts.adex_step(nest_sim, scripts.with_realised_voltages(params, got))
    assert len(got["spikes"]) >= 4
    assert_spikes_agree(ref["spikes"], got["spikes"], scripts.ND_STEP_ON_MS)


@pytest.mark.parametrize("pattern", list(scripts.NEURONAL_DYNAMICS))
def test_neuronal_dynamics_patterns_match_nest(nest_sim, pattern):
    params = scripts.neuronal_dynamics_cell(pattern)
    got = scripts.adex_step(bss, params)
    ref = scripts.adex_step(nest_sim, scripts.with_realised_voltages(params, got))
    assert_spikes_agree(ref["spikes"], got["spikes"], scripts.ND_STEP_ON_MS)


@pytest.mark.parametrize("pattern", list(pynn_adex_patterns.PATTERNS))
def test_naud_2008_patterns_match_nest(nest_sim, pattern):
    """Naud et al. (2008), Table 1, as ``examples/pynn_adex_patterns.py`` runs them (v_spike 0 mV,
    tau_refrac 0.1 ms, their step currents from 20 ms)."""
    params, amplitude = pynn_adex_patterns.cell_parameters(pattern)
    run = scripts.adex_step(bss, params, amplitude=amplitude)
    ref = scripts.adex_step(nest_sim, scripts.with_realised_voltages(params, run), amplitude=amplitude)["spikes"]
    got = run["spikes"]
    if pattern == "irregular":  # chaotic: the spike trains part after a few spikes
        n_ref, n_got = (int(np.sum(s < COUNT_UNTIL_MS)) for s in (ref, got))
        assert abs(n_got - n_ref) <= 1 and abs(got[0] - ref[0]) <= 0.5, (ref.round(1), got.round(1))
        return
    assert_spikes_agree(ref, got, scripts.ND_STEP_ON_MS, drift=0.03)


def _offset_neuron(sim, offset: float, i_offset: float = 0.0, amplitude: float = 0.25) -> dict:
    sim.setup(timestep=0.1, min_delay=0.1)
    cell = sim.IF_cond_exp(v_rest=-65.0 + offset, v_reset=-70.0 + offset, v_thresh=-52.0 + offset,
                           e_rev_E=offset, e_rev_I=-80.0 + offset, tau_m=20.0, cm=0.2, i_offset=i_offset,
                           tau_refrac=2.0)
    pop = sim.Population(1, cell, label="n", initial_values={"v": -65.0 + offset + i_offset * 100.0})
    pop.record(["spikes", "v"])
    sim.DCSource(amplitude=amplitude, start=50.0, stop=150.0).inject_into(pop)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[20.0, 170.0]), label="s")
    sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01, delay=1.0))
    sim.run(200.0)
    seg = pop.get_data().segments[-1]
    out = {"spikes": seg.spiketrains[0].magnitude.copy(), "v": seg.analogsignals[0].magnitude[:, 0].copy()}
    if hasattr(pop, "realised_parameters"):
        out["realised"] = pop.realised_parameters()
    sim.end()
    return out


def test_a_network_at_rest_0_mv_is_the_default_network_shifted(nest_sim):
    ref = _offset_neuron(nest_sim, 65.0)
    got = _offset_neuron(bss, 65.0)
    default = _offset_neuron(bss, 0.0)
    assert got["realised"].scales["v_offset_mv"] == pytest.approx(1150.0 - 10 * 65.0)  # e_rev_E 65 mV at 1150
    assert default["realised"].scales["v_offset_mv"] == 1000.0
    assert got["realised"]["v_rest"][0] == pytest.approx(0.0, abs=0.1)
    # (first spike to 0.35 ms: the rest and threshold each land on 0.24 mV DAC steps)
    assert_spikes_agree(ref["spikes"], got["spikes"], 50.0, first_ms=0.35)
    quiet = slice(0, 190)  # before the first input: the membrane at rest, in the user's mV
    assert np.abs(got["v"][quiet] - ref["v"][quiet]).max() < 0.3
    assert np.abs(got["v"][quiet] - default["v"][quiet] - 65.0).max() < 0.3


def test_a_negative_current_is_a_lower_leak_potential(nest_sim):
    ref = _offset_neuron(nest_sim, 0.0, i_offset=-0.05, amplitude=0.35)
    got = _offset_neuron(bss, 0.0, i_offset=-0.05, amplitude=0.35)
    scales = got["realised"].scales
    assert scales["folded_current_na"][0] == pytest.approx(-0.05)
    assert got["realised"]["i_offset"][0] == pytest.approx(-0.05, abs=1e-3)  # reported as given …
    assert got["realised"]["v_rest"][0] == pytest.approx(-65.0, abs=0.1)  # … the leak at -70 mV
    assert_spikes_agree(ref["spikes"], got["spikes"], 50.0, first_ms=0.3)
    rest = slice(0, 190)
    assert np.abs(got["v"][rest] - ref["v"][rest]).max() < 0.3  # at -70 mV = -65 + (-0.05 nA)(20 ms)/(0.2 nF)
