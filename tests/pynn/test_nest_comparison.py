"""The same PyNN scripts (``scripts.py``) on pyNN.nest and on bss2emu.pynn (ideal chip,
translated by calibration: ``bss2emu.calib``'s nominal maps).

Tolerances and why:

* **Spike times**, nominal parameters: ``|Δt_k| ≤ 0.3 ms + 3 % · (t_k − stimulus onset)``
  and the same number of spikes. Two sources of difference accumulate spike by spike:
  (1) DAC quantisation — each voltage to ±½ LSB = ±0.06 mV biological (≈ 0.4 % of a
  15 mV distance to threshold), leak, currents and synaptic gains to ≤ 0.3 % — which near
  threshold, where the membrane creeps, changes an interval by up to ≈ 1 %; (2) time
  discretisation: NEST's iaf models end refractoriness on their 0.1 ms grid, the emulator
  at the exact time (and interpolates spike times); the emulator holds a conductance over
  a step and integrates the exponential term to second order (current-based PSPs are
  exact, also for events inside a step): ≤ 1–2 steps (0.1–0.2 ms) per interval, ≈ 1–2 % of
  the 5–20 ms intervals. Measured worst case (ratio |Δt|/tolerance): IF_curr_exp 0.09
  (step) / 0.13 (spikes), IF_cond_exp 0.04 / 0.26, EIF_cond_exp_isfa_ista 0.02 / 0.20.
  Inputs are chosen so that no threshold crossing lies within these few percent of
  threshold (a 2 % weaker PSP then drops a spike).
* **Realised parameters** (``Population.realised_parameters()``: what the quantised DAC
  values mean) given to NEST remove (1): for a current step the emulator then agrees to
  within about one step per spike (``|Δt_k| ≤ 0.1 ms · (k + 1) + 0.01``, plus the current's
  quantisation below; measured ≤ 0.13 ms · (k + 1), IF_cond_exp, where NEST's grid release
  from refractoriness is the difference); for EIF_cond_exp_isfa_ista two steps (measured
  0.14 ms for its one spike; 0.43 ms when the emulator held the exponential term constant
  over a step): the upswing to the spike is steep on a 0.1 ms grid.
* **Membrane**, subthreshold: ``|Δv| ≤ 0.3 mV`` over the whole trace: MADC resolution
  0.117 mV biological, leak-potential quantisation ±0.06 mV, steady-state current error
  ≤ 0.3 % of 12 mV, the conductance step's error (measured 0.08 mV).
* **Synaptic conductances and adaptation** (MADC, converted through the neuron's
  capacitance): ``|Δg| ≤ 1 %`` of the largest conductance and ``|Δw| ≤ 1 %`` of the largest
  w, except at the sample of an event's arrival (NEST's record at the arrival time includes
  the event, the MADC samples the state at the start of that step: one sample late) and
  within 1 ms of a spike of either simulator (spike times differ as above, w jumps by b).
  Measured: g 0.08 %, w 0.5 % (weight and τ_syn quantisation; w follows the membrane
  through ``a``).
* **Network rates**: within 10 % (measured +4 … +6 %): the networks share their
  connectivity (PyNN's RNG draws it for both) but not their Poisson input (the rate
  estimate of ~5000 spikes has ≈ 2–3 % noise), and weights and time constants are
  quantised.
"""

from __future__ import annotations

import numpy as np
import pytest
import scripts

MODELS = ["IF_curr_exp", "IF_cond_exp", "EIF_cond_exp_isfa_ista"]


def _onset(stimulus: str) -> float:
    return 50.0 if stimulus == "step" else scripts.INPUT_TIMES[0]


STEP_END_MS = 150.0  # scripts.single_neuron's current step: 50 … 150 ms


def _before_the_step_ends(spikes: np.ndarray, stimulus: str, margin_ms: float) -> np.ndarray:
    """The spikes a comparison can hold to: one within its timing tolerance of the step
    current's end may fall before it in one simulator and be cut off in the other (the
    realised leak and threshold are a DAC step — 0.18 mV biological — off)."""
    return spikes[spikes < STEP_END_MS - margin_ms] if stimulus == "step" else spikes


@pytest.mark.parametrize("stimulus", ["step", "spikes"])
@pytest.mark.parametrize("model", MODELS)
def test_single_neuron_spike_times_match_nest(nest_sim, model, stimulus):
    import bss2emu.pynn as bss

    ref = scripts.single_neuron(nest_sim, model, stimulus)
    got = scripts.single_neuron(bss, model, stimulus)
    margin = 0.3 + 0.03 * (STEP_END_MS - _onset(stimulus))
    r, g = (_before_the_step_ends(x["spikes"], stimulus, margin) for x in (ref, got))
    assert len(r) >= 1
    assert len(g) == len(r), (ref["spikes"], got["spikes"])
    # the EIF's one spike under the step comes 47 ms after its onset, near its rheobase, where
    # the realised values' residuals move it by ~2 ms (v_rest −70.72 mV realised: 99.44 ms;
    # −70.62: 97.39 ms, with τ_m 0.4 % long — one bias step): 5 % of the latency there
    per_ms = 0.05 if (model.startswith("EIF") and stimulus == "step") else 0.03
    tol = 0.3 + per_ms * (r - _onset(stimulus))
    assert np.all(np.abs(g - r) <= tol), (ref["spikes"], got["spikes"])
    assert got["v"].shape == ref["v"].shape  # same samples: 0, dt, …, runtime


@pytest.mark.parametrize("model", MODELS)
def test_realised_parameters_match_nest_to_a_step(nest_sim, model):
    import bss2emu.pynn as bss

    got = scripts.single_neuron(bss, model, "step")
    ref = scripts.single_neuron(nest_sim, model, "step", params=got["realised"])
    steps = 2 if model.startswith("EIF") else 1  # the upswing to a spike is steep on the grid
    # + the step current's own quantisation (one i_const LSB, ≤ 0.5 % of the current at the
    # chosen capacitance), which realised_parameters does not include: ≤ 0.5 % of the time since onset
    margin = 0.1 * steps * len(ref["spikes"]) + 0.01 + 0.005 * (STEP_END_MS - 50.0)
    r, g = (_before_the_step_ends(x["spikes"], "step", margin) for x in (ref, got))
    assert len(g) == len(r) >= 1, (ref["spikes"], got["spikes"])
    k = np.arange(len(r))
    tol = 0.1 * steps * (k + 1) + 0.01 + 0.005 * (r - 50.0)
    assert np.all(np.abs(g - r) <= tol), (ref["spikes"], got["spikes"])


@pytest.mark.parametrize("model", ["IF_curr_exp", "IF_cond_exp"])
def test_subthreshold_membrane_matches_nest(nest_sim, model):
    import bss2emu.pynn as bss

    def script(sim):
        sim.setup(timestep=0.1, min_delay=0.1)
        pop = sim.Population(1, getattr(sim, model)(), label="neuron")
        pop.record("v")
        sim.DCSource(amplitude=0.6, start=20.0, stop=60.0).inject_into(pop)
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=[80.0]), label="input")
        w = 0.5 if model == "IF_curr_exp" else 0.01
        sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0))
        sim.run(120.0)
        v = pop.get_data().segments[0].analogsignals[0]
        sim.end()
        return v

    ref, got = script(nest_sim), script(bss)
    assert got.units == ref.units and got.shape == ref.shape
    assert float(got.t_start) == float(ref.t_start) and float(got.sampling_period) == float(ref.sampling_period)
    diff = np.abs(got.magnitude - ref.magnitude)
    assert diff.max() <= 0.3, float(diff.max())
    assert ref.magnitude.max() > -56.0  # the step moved the membrane by ~10 mV


@pytest.mark.parametrize("model, variable, a_ns", [
    ("IF_cond_exp", "gsyn_exc", None), ("IF_cond_exp", "gsyn_inh", None), ("EIF_cond_exp_isfa_ista", "gsyn_exc", None),
    ("EIF_cond_exp_isfa_ista", "w", 2.0), ("EIF_cond_exp_isfa_ista", "w", 4.0)])
def test_conductance_and_adaptation_traces_match_nest(nest_sim, model, variable, a_ns):
    import bss2emu.pynn as bss

    # NEST runs the neuron as asked: a lands on its circuit's DAC steps (8.1 nS on the chip,
    # ``chip_actor.analog``), and the translation picks the capacitance whose steps meet the
    # asked-for a/g_L (``calib.translate.choose_capacitance``): 2 and 4 nS within 2 %
    params = {} if a_ns is None else {"a": a_ns}
    got = scripts.synaptic_and_adaptation_trace(bss, model, variable, **params)
    if a_ns is not None:
        assert float(got["realised"]["a"][0]) == pytest.approx(a_ns, rel=0.02)
    ref = scripts.synaptic_and_adaptation_trace(nest_sim, model, variable, **params)
    assert (got["name"], got["units"]) == (ref["name"], ref["units"])
    np.testing.assert_allclose(got["t"], ref["t"])
    t = ref["t"]
    skip = np.zeros(len(t), bool)
    for arrival in np.add(scripts.EXC_TIMES + scripts.INH_TIMES, 1.0):
        skip |= np.isclose(t, arrival)
    for spike in np.concatenate([ref["spikes"], got["spikes"]]):
        skip |= np.abs(t - spike) <= 1.0
    scale = np.abs(ref["x"]).max()
    assert scale > (0.009 if variable != "w" else 0.1)  # the inputs (spikes) arrived
    diff = np.abs(got["x"] - ref["x"])[~skip]
    assert diff.max() <= 0.01 * scale, (float(diff.max()), float(scale))
    if variable == "w":
        assert len(ref["spikes"]) >= 3 and len(got["spikes"]) == len(ref["spikes"])


def test_network_rates_match_nest(nest_sim):
    import bss2emu.pynn as bss

    ref = scripts.small_network(nest_sim)
    got = scripts.small_network(bss)
    for name in ("exc", "inh"):
        assert ref[name] > 5.0
        assert abs(got[name] - ref[name]) <= 0.10 * ref[name], (name, ref, got)


def test_issue_adex_network_runs_unchanged_and_rates_match_nest(nest_sim):
    """Issue #10's 500-neuron AdEx E/I network with 100 Poisson sources, ``setup()`` naming
    no system: bss2emu sizes the system (2 chips) and the rates agree with NEST's within
    10 %. Measured (500 ms): NEST exc 28.4 / inh 31.3 Hz, bss2emu 27.9 / 32.5 Hz
    (−1.7 % / +3.8 %). Why 10 %: the Poisson input differs (NEST's own rates vary by ±3 %
    between its rng seeds: exc 27.0 … 28.4, inh 30.6 … 32.2 Hz over four seeds) and the
    6-bit weights and quantised time constants shift the balance by a few percent (bss2emu's
    seeds 0 … 2: +0 … +9 % on exc against NEST's mean)."""
    import bss2emu.pynn as bss

    ref = scripts.adex_ei_network(nest_sim)
    got = scripts.adex_ei_network(bss)
    assert got["chips"] == 2
    for name in ("exc", "inh"):
        assert ref[name] > 10.0
        assert abs(got[name] - ref[name]) <= 0.10 * ref[name], (name, ref, got)
