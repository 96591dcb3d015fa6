"""Signed weights as on BrainScaleS-2, and a synfire chain propagating."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import numpy as np

from pyNN.errors import ConnectionError

from bs2_scripts import LISTENER, stimulated_listener, pynn  # noqa: F401 (fixture)


def _baseline_and_extreme(v, spike_ms=0.05):
    t, x = v.times.magnitude, v.magnitude.ravel()
    before = x[(t > 0.03) & (t < spike_ms)]
    after = x[(t > spike_ms) & (t < spike_ms + 0.05)]
    return before.mean(), after.min(), after.max()


def test_an_inhibitory_projection_lowers_the_membrane(pynn):
    base, low, high = _baseline_and_extreme(stimulated_listener(pynn, -63, "inhibitory"))
    assert low < base - 10  # MADC codes
    assert high <= base + 1


def test_an_excitatory_projection_raises_the_membrane(pynn):
    base, low, high = _baseline_and_extreme(stimulated_listener(pynn, 63, "excitatory"))
    assert high > base + 10
    assert low >= base - 1


@pytest.mark.parametrize("weight, receptor", [(63, "inhibitory"), (-63, "excitatory")])
def test_a_weight_against_its_receptor_is_refused(pynn, weight, receptor):
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    with pytest.raises(ConnectionError, match="negative|positive"):  # PyNN's connector check, or ours
        pynn.Projection(stim, pop, pynn.AllToAllConnector(),
                        synapse_type=pynn.synapses.StaticSynapse(weight=weight), receptor_type=receptor)


def test_a_sign_mismatch_set_later_is_refused(pynn):
    """``set`` passes PyNN's connector check: bss2emu's own names the signed-weight rule."""
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    prj = pynn.Projection(stim, pop, pynn.AllToAllConnector(), synapse_type=pynn.synapses.StaticSynapse(weight=-5),
                          receptor_type="inhibitory")
    with pytest.raises(ConnectionError, match="signed as on BrainScaleS-2"):
        prj.set(weight=5)
    assert prj.get("weight", format="list")[0][2] == -5


@pytest.mark.parametrize("big, parts", [(126, (63, 63)), (100, (63, 37)), (-100, (-63, -37)),
                                        (288, (63, 63, 63, 63, 36))])
def test_a_weight_beyond_63_spreads_over_synapse_rows(big, parts):
    """As pynn.brainscales2 does (123 → 63 + 60): a larger weight takes more synapse rows of
    the neuron's column, each carrying up to 63; on the ideal chip the current-based PSPs add,
    so the PSP of the sum is the sum of the parts' PSPs (within MADC quantisation: 2 codes per
    part). Beyond one driver's two rows (288: five rows) a group of drivers sharing a
    row-select mask carries them."""
    import bss2emu.brainscales2 as pynn

    def psp(weight):
        pynn.setup(ideal=True)
        try:
            v = stimulated_listener(pynn, weight, "excitatory" if weight > 0 else "inhibitory")
            stats = pynn.get_backend_statistics()
        finally:
            pynn.end()
        base, low, high = _baseline_and_extreme(v)
        return (high if weight > 0 else low) - base, stats.num_synapses

    height, synapses = psp(big)
    heights = [psp(w)[0] for w in parts]
    assert synapses == len(parts)
    assert abs(height) > 20  # a PSP well above the quantisation
    assert height == pytest.approx(sum(heights), abs=2.0 * (len(parts) - 1))


def test_weights_are_rounded_as_pynn_brainscales2_rounds_and_beyond_one_bus_refused(pynn):
    """pynn.brainscales2 rounds weights (Python's round: half to even); one presynaptic neuron
    reaches a column through the 32 drivers of one PADI bus, 64 rows: 4032 at most."""
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pop = pynn.Population(4, pynn.cells.HXNeuron())
    prj = pynn.Projection(stim, pop, pynn.AllToAllConnector(),
                          synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=np.array([[64.5, 57.26, 0.5, 125.5]])))
    codes, _ = prj.hardware_weights()
    assert codes.tolist() == [64, 57, 0, 126]
    prj.set(weight=4033)
    with pytest.raises(Exception, match=r"projection .* has weight 4033, which takes 65 synapse rows .* at most 4032"):
        pynn.run(0.05)


def test_a_synfire_chain_propagates(pynn):
    """Four groups of 8 calibrated neurons, all-to-all between consecutive groups; a volley of 8
    into the first travels down the chain, each group firing after the one before."""
    size, groups = 8, 4
    cell = pynn.cells.CalibHXNeuronCuba(v_rest=60, v_reset=50, v_thresh=80, tau_m=10, tau_syn_E=5, tau_refrac=20,
                                        i_synin_gm_E=800)
    chain = [pynn.Population(size, cell) for _ in range(groups)]
    stim = pynn.Population(size, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pynn.Projection(stim, chain[0], pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63))
    for pre, post in zip(chain, chain[1:]):
        pynn.Projection(pre, post, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63))
    for pop in chain:
        pop.record("spikes")
    pynn.run(0.1)
    first = []
    for pop in chain:
        trains = pop.get_data().segments[-1].spiketrains
        assert all(len(t) >= 1 for t in trains), "every neuron of every group fires"
        first.append(np.median([t.magnitude.min() for t in trains]))
    assert np.all(np.diff(first) > 0), first


def test_a_second_projection_adds_a_second_synapse_row(pynn):
    """Beyond 63, a second projection between the same neurons doubles the PSP (two rows)."""
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.02]))
    pop = pynn.Population(1, pynn.cells.HXNeuron(**LISTENER))
    pop.record("v")
    prjs = [pynn.Projection(stim, pop, pynn.AllToAllConnector(), pynn.synapses.StaticSynapse(weight=63))
            for _ in range(2)]
    pynn.run(0.06)
    v = pop.get_data().segments[-1].irregularlysampledsignals[0].magnitude.ravel()
    two = v.max() - v[:150].mean()
    prjs[1].set(weight=0)
    pynn.reset()
    pynn.run(0.06)
    v = pop.get_data().segments[-1].irregularlysampledsignals[0].magnitude.ravel()
    one = v.max() - v[:150].mean()
    assert one > 10 and two == pytest.approx(2 * one, abs=2)  # MADC codes
