"""CalibHXNeuronCuba/Coba with calix's target names reach their targets."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import numpy as np

from bs2_scripts import pynn  # noqa: F401 (fixture)


def test_cuba_targets_are_reached(pynn):
    """Leak over threshold: ISI = tau_refrac + tau_m·ln((v_rest − v_reset)/(v_rest − v_thresh)),
    voltages in CADC units, times in µs; a neuron with its threshold above its rest sits at v_rest."""
    firing = pynn.Population(1, pynn.cells.CalibHXNeuronCuba(v_rest=150, v_reset=70, v_thresh=100, tau_m=10,
                                                             tau_refrac=2))
    resting = pynn.Population(2, pynn.cells.CalibHXNeuronCuba(v_rest=100, v_thresh=200))
    firing.record("spikes")
    resting.record("v", device="cadc")
    pynn.run(0.2)
    spikes = firing.get_data().segments[-1].spiketrains[0].magnitude
    isi_us = 2.0 + 10.0 * np.log((150 - 70) / (150 - 100))
    assert np.mean(np.diff(spikes)[1:]) * 1000 == pytest.approx(isi_us, rel=0.03)
    for signal in resting.get_data().segments[-1].irregularlysampledsignals:
        assert np.mean(signal.magnitude[signal.times.magnitude > 0.05]) == pytest.approx(100, abs=1.5)


def test_coba_defaults_run_and_the_input_is_conductance_based(pynn):
    with pytest.warns(Warning, match="e_rev_E"):  # calix's default 300 lies beyond the emulated range
        pop = pynn.Population(1, pynn.cells.CalibHXNeuronCoba())
        stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.02]))
        pynn.Projection(stim, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63))
        pop.record("v")
        pynn.run(0.06)
    v = pop.get_data().segments[-1].irregularlysampledsignals[0]
    t, x = v.times.magnitude, v.magnitude.ravel()
    assert x[(t > 0.02) & (t < 0.04)].max() > x[t < 0.02].mean() + 3


@pytest.mark.parametrize("name, value", [("v_rest", 40), ("tau_m", 70), ("i_synin_gm_E", 900), ("cm", 64)])
def test_targets_out_of_the_real_range_are_refused(pynn, name, value):
    with pytest.raises(ValueError, match=name):
        pynn.Population(1, pynn.cells.CalibHXNeuronCuba(**{name: value}))


def test_the_synapse_dac_bias_scales_the_psp_linearly(pynn):
    """The synapse DAC's bias is the reference current of every synapse's 6-bit DAC, so the PSP
    (its height above rest, CADC codes) grows as bias/600 (calix's default): 1000 gives 5/3, 300 half.
    A population per bias, each with its own input, recorded in one run."""
    biases = (300, 600, 1000)
    pops = [pynn.Population(1, pynn.cells.CalibHXNeuronCuba(synapse_dac_bias=b, v_thresh=220)) for b in biases]
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.02]))
    for pop in pops:
        pynn.Projection(stim, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63))
        pop.record("v", device="cadc")
    pynn.run(0.08)
    heights = []  # CADC codes: integers, so each height is ±1 code
    for pop in pops:
        v = pop.get_data().segments[-1].irregularlysampledsignals[0]
        t, x = v.times.magnitude, v.magnitude.ravel()
        heights.append(x[(t > 0.02) & (t < 0.06)].max() - x[t < 0.02].mean())
    assert heights[0] == pytest.approx(heights[1] * 300 / 600, rel=0.05, abs=1.0)
    assert heights[2] == pytest.approx(heights[1] * 1000 / 600, rel=0.05, abs=1.0)
    with pytest.raises(ValueError, match="synapse_dac_bias=1100 is outside"):
        pynn.Population(1, pynn.cells.CalibHXNeuronCuba(synapse_dac_bias=1100))
