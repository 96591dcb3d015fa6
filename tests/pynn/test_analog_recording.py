"""Recording synaptic inputs and adaptation (``gsyn_exc``, ``gsyn_inh``, ``w``; the
hardware types' ``exc_synin``, ``inh_synin``, ``adaptation``) through the MADC, and its
limits. The traces' agreement with NEST is in ``test_nest_comparison``."""

from __future__ import annotations

import numpy as np
import pytest
from pyNN import errors

import bss2emu
from bss2emu.chip_actor.analog import SYN_GAIN_NA_PER_LSB, capacitance_pf

ARRIVAL = 11.0  # ms: the input spike at 10 ms plus the 1 ms delay


def _one_input(sim, cell, weight, receptor="excitatory", label="n"):
    pop = sim.Population(1, cell, label=label)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[ARRIVAL - 1.0]), label="src")
    prj = sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=weight, delay=1.0),
                         receptor_type=receptor)
    return pop, prj


def _signal(pop, name):
    (sig,) = [s for s in pop.get_data().segments[-1].analogsignals if s.name == name]
    return sig.times.rescale("ms").magnitude, sig.magnitude[:, 0], sig.units.dimensionality.string


def test_conductance_on_a_mismatched_chip_has_the_realised_weight_and_decay(sim):
    """On a chip with mismatch the conductance decays with the calibrated τ_syn (as
    ``realised_parameters`` reports it) and jumps by the realised weight — up to the
    circuit's capacitance deviation from nominal (the conversion's only unknown, 3 % spread)."""
    sim.setup(timestep=0.1, ideal=False, serial=7)
    pop, prj = _one_input(sim, sim.IF_cond_exp(tau_syn_E=8.0), 0.02)
    pop.record("gsyn_exc")
    sim.run(40.0)
    t, g, unit = _signal(pop, "gsyn_exc")
    assert unit == "uS"
    realised = pop.realised_parameters()["tau_syn_E"][0]
    after = (t > ARRIVAL + 0.05) & (t < ARRIVAL + 20.0)
    slope = np.polyfit(t[after] - ARRIVAL, np.log(g[after]), 1)
    # realised_parameters predicts from the calibration's transfer model: 0.5 % residual
    assert -1.0 / slope[0] == pytest.approx(realised, rel=5e-3)
    g0 = np.exp(slope[1])  # the jump at the arrival
    w_hw = prj.hardware_weights()[1][0]
    assert g0 == pytest.approx(w_hw, rel=0.1)  # 3 σ of the capacitance spread
    assert np.all(g[t < ARRIVAL - 1e-9] == 0.0)


def test_adaptation_in_nanoampere_jumps_by_b_at_each_spike(sim):
    """``w`` of an adapting neuron (a = 0: only the spike-triggered jumps) rises by b
    at each spike and decays with τ_w in between — on the ideal chip to the calibration's
    residual."""
    pop = sim.Population(1, sim.EIF_cond_exp_isfa_ista(a=0.0, b=0.05, tau_w=100.0), label="n")
    pop.record(["w", "spikes"])
    sim.DCSource(amplitude=1.0, start=5.0, stop=60.0).inject_into(pop)
    sim.run(100.0)
    t, w, unit = _signal(pop, "w")
    spikes = pop.get_data().segments[-1].spiketrains[0].magnitude
    assert unit == "nA" and len(spikes) >= 3
    real = pop.realised_parameters()
    for s in spikes:
        before, after = w[np.searchsorted(t, s) - 1], w[np.searchsorted(t, s) + 1]
        assert after - before == pytest.approx(real["b"][0], rel=0.02)
    tail = t > spikes[-1] + 1.0
    slope = np.polyfit(t[tail], np.log(w[tail]), 1)[0]
    assert -1.0 / slope == pytest.approx(real["tau_w"][0], rel=0.01)


def test_hardware_types_record_synaptic_input_in_chip_units(sim):
    sim.setup(timestep=0.1)
    cuba, _ = _one_input(sim, sim.CalibHXNeuronCuba(), 63, label="cuba")
    cuba.record("exc_synin")
    sim.run(30.0)
    t, i, unit = _signal(cuba, "exc_synin")
    assert unit == "nA" and i.max() > 0 and np.all(i[t < ARRIVAL - 1e-9] == 0)
    sim.end()
    sim.setup(timestep=0.1)
    coba, _ = _one_input(sim, sim.CalibHXNeuronCoba(), 63, label="coba")
    coba.record("exc_synin")
    sim.run(30.0)
    t, g, unit = _signal(coba, "exc_synin")
    assert unit == "uS" and g.max() > 0


def test_hxneuron_synaptic_input_is_weight_times_gain(sim):
    """HXNeuron: exc_synin in nA (current-based), the jump weight × 1.77 pA × bias
    (``chip_actor.analog``'s ideal gain) decayed over the rest of its step."""
    pop, _ = _one_input(sim, sim.HXNeuron(i_bias_syn_exc_gm=500, i_bias_syn_exc_tau=30), 40, label="hx")
    pop.record("exc_synin")
    sim.run(20.0)
    t, i, unit = _signal(pop, "exc_synin")
    tau = 300.0 / 30  # µs
    k = np.searchsorted(t, ARRIVAL + 0.1 - 1e-9)
    assert unit == "nA"
    assert i[k] == pytest.approx(40 * SYN_GAIN_NA_PER_LSB * 500 * np.exp(-0.1 / tau), rel=1e-9)


def test_membrane_by_cadc_besides_a_conductance_by_madc(sim):
    pop, _ = _one_input(sim, sim.IF_cond_exp(), 0.02)
    pop.record(["v", "gsyn_exc"], sampling_interval=0.6)
    sim.run(30.0)
    t_v, v, _ = _signal(pop, "v")
    t_g, g, _ = _signal(pop, "gsyn_exc")
    assert np.allclose(np.diff(t_v), 0.6) and np.allclose(np.diff(t_g), 0.6)
    assert v.max() > -65.0 + 0.5 and g.max() > 0.01  # the PSP and the conductance both seen


def test_more_than_two_madc_signals_need_more_runs(sim):
    pop = sim.Population(2, sim.EIF_cond_exp_isfa_ista(), label="n")
    pop.record(["gsyn_exc", "w"])
    with pytest.raises(errors.InvalidParameterValueError, match=r"gsyn_exc of 2 neurons of 'n', w of 2 neurons .*"
                                                                r"one analog signal .* of at most 2 neurons per run "
                                                                r"\(its two channels, alternately\)") as info:
        sim.run(5.0)
    assert isinstance(info.value, bss2emu.BssError)


def test_two_madc_signals_alternate_on_the_grid_of_the_madc(sim):
    """w of one neuron and gsyn_exc of its neighbour: the MADC's two channels. In PyNN's
    AnalogSignal (one regular grid) each is NaN where the other was sampled."""
    pop = sim.Population(2, sim.EIF_cond_exp_isfa_ista(a=4.0), label="n")
    pop[0:1].record("w")
    pop[1:2].record("gsyn_exc")
    sim.run(5.0)
    t_w, w, _ = _signal(pop, "w")
    t_g, g, _ = _signal(pop, "gsyn_exc")
    assert np.allclose(np.diff(t_w), 0.1) and np.array_equal(t_w, t_g)
    assert np.isnan(w[1::2]).all() and not np.isnan(w[0::2]).any()  # channel 0: every second sample
    assert np.isnan(g[0::2]).all() and not np.isnan(g[1::2]).any()


def test_membrane_besides_madc_signal_needs_the_cadc_rate(sim):
    pop = sim.Population(1, sim.IF_cond_exp(), label="n")
    pop.record(["v", "gsyn_inh"], sampling_interval=0.1)
    with pytest.raises(errors.InvalidParameterValueError, match=r"the MADC records gsyn_inh, so v .* from the CADC.*"
                                                                 r"sampling_interval=0\.6"):
        sim.run(5.0)


def test_current_based_cells_have_no_conductance(sim):
    pop = sim.Population(1, sim.IF_curr_exp(), label="n")
    with pytest.raises(errors.RecordingError):
        pop.record("gsyn_exc")


def test_capacitance_map_matches_the_chip_physics():
    assert capacitance_pf(63) == pytest.approx(2.3) and capacitance_pf(0) == pytest.approx(2.3 / 64)
