"""Weight signs as PyNN and pyNN.nest take them: negative for current-based inhibition,
positive for excitation and for conductances, whatever the connector.

pyNN's standard connectors check the sign (``pyNN.standardmodels.check_weights``);
``FromListConnector`` and ``Projection.set`` do not, and NEST then takes the receptor
from the sign: a wrong-signed weight acts on the *other* receptor. bss2emu realises
one receptor per projection, so it accepts what pyNN.nest accepts with PyNN's signs —
with the same effect — and refuses a wrong-signed weight with an error that says what
NEST would do with it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from pyNN import errors as pynn_errors

TAU_SYN = {"tau_syn_E": 2.0, "tau_syn_I": 8.0}  # the receptor shows in the PSP's time course


def _psp_train(sim, model: str, receptor: str, weights: list[float], connector: str = "list") -> np.ndarray:
    """One neuron at rest; source i fires at 20 + 40 i ms with ``weights[i]`` onto ``receptor``:
    the membrane (mV) every 0.1 ms."""
    sim.setup(timestep=0.1, min_delay=0.1)
    extra = {"e_rev_E": 0.0, "e_rev_I": -80.0} if model == "IF_cond_exp" else {}
    neuron = sim.Population(1, getattr(sim, model)(v_thresh=-40.0, **TAU_SYN, **extra), label="neuron")
    times = [[20.0 + 40.0 * i] for i in range(len(weights))]
    times = times[0] if len(times) == 1 else times  # [[t]] for one source: populations.py's check fails on it
    source = sim.Population(len(weights), sim.SpikeSourceArray(spike_times=times), label="input")
    if connector == "list":
        sim.Projection(source, neuron, sim.FromListConnector([(i, 0, w, 1.0) for i, w in enumerate(weights)]),
                       sim.StaticSynapse(), receptor_type=receptor, label="sweep")
    else:
        sim.Projection(source, neuron, sim.AllToAllConnector(), sim.StaticSynapse(weight=weights[0], delay=1.0),
                       receptor_type=receptor, label="sweep")
    neuron.record("v")
    sim.run(40.0 * len(weights) + 20.0)
    v = neuron.get_data().segments[-1].analogsignals[0].magnitude[:, 0].copy()
    sim.end()
    return v


@pytest.mark.parametrize("connector", ["list", "all"])
def test_negative_inhibitory_current_weights_act_as_on_nest(nest_sim, connector):
    import bss2emu.pynn as bss

    weights = [-0.1, -0.3, -0.5] if connector == "list" else [-0.4]
    ref = _psp_train(nest_sim, "IF_curr_exp", "inhibitory", weights, connector)
    got = _psp_train(bss, "IF_curr_exp", "inhibitory", weights, connector)
    assert ref.min() < -65.0 - 1.0, "NEST: hyperpolarising PSPs of tau_syn_I"
    # the subthreshold tolerance of test_nest_comparison: MADC step, DAC quantisation, PSP 2 %
    assert np.max(np.abs(got - ref)) <= 0.3


def test_positive_conductance_weights_onto_inhibition_act_as_on_nest(nest_sim):
    import bss2emu.pynn as bss

    ref = _psp_train(nest_sim, "IF_cond_exp", "inhibitory", [0.005, 0.01])
    got = _psp_train(bss, "IF_cond_exp", "inhibitory", [0.005, 0.01])
    assert ref.min() < -65.0 - 0.5
    assert np.max(np.abs(got - ref)) <= 0.3


@pytest.mark.parametrize("model, receptor, weight", [
    ("IF_curr_exp", "inhibitory", 0.3), ("IF_curr_exp", "excitatory", -0.3),
    ("IF_cond_exp", "inhibitory", -0.01), ("IF_cond_exp", "excitatory", -0.01)])
def test_a_wrong_sign_is_refused_where_nest_switches_the_receptor(nest_sim, model, receptor, weight):
    import bss2emu.pynn as bss

    v = _psp_train(nest_sim, model, receptor, [weight])
    excites = v.max() - v[:200].mean() > -(v.min() - v[:200].mean())
    assert excites == (receptor == "inhibitory"), "NEST: the other receptor acts"
    other = "excitatory" if receptor == "inhibitory" else "inhibitory"
    with pytest.raises(pynn_errors.ConnectionError,
                       match=rf"projection 'sweep': weight {re.escape(f'{weight:+g}')} of connection 0→0 onto the "
                             rf"{receptor} receptor of {model} population 'neuron' .* has the wrong sign.*NEST makes "
                             rf"it {other}.*give {re.escape(f'{-weight:+g}')}, or put the connection into a "
                             rf"projection with receptor_type='{other}'"):
        _psp_train(bss, model, receptor, [weight])
    bss.end()


def test_standard_connectors_refuse_what_pynn_nest_refuses(nest_sim):
    import bss2emu.pynn as bss

    for sim in (nest_sim, bss):
        with pytest.raises(pynn_errors.ConnectionError, match="Weights must be negative for current-based"):
            _psp_train(sim, "IF_curr_exp", "inhibitory", [0.3], connector="all")
        sim.end()


def test_set_with_a_wrong_sign_is_refused_and_undone(sim):
    a = sim.Population(2, sim.IF_curr_exp(), label="a")
    b = sim.Population(2, sim.IF_curr_exp(), label="b")
    prj = sim.Projection(a, b, sim.FromListConnector([(0, 1, -0.2, 1.0), (1, 0, -0.3, 1.0)]),
                         receptor_type="inhibitory", label="inh")
    with pytest.raises(pynn_errors.ConnectionError, match=r"projection 'inh': weight \+0\.2 .* \(2 connections\)"):
        prj.set(weight=0.2)
    assert sorted(prj.get("weight", format="list")) == [(0, 1, -0.2), (1, 0, -0.3)]
    assert sorted(prj.hardware_weights()[1].tolist()) == pytest.approx([-0.3, -0.2], rel=0.02)


def test_hardware_unit_weights_are_codes_whatever_the_receptor(sim):
    a = sim.Population(2, sim.HXNeuron(), label="a")
    sim.Projection(a, a, sim.FromListConnector([(0, 1, 20, 0.1)]), receptor_type="inhibitory")
    with pytest.raises(pynn_errors.ConnectionError,
                       match=r"weight -20 .* HXNeuron population 'a' is negative: .* 6-bit codes 0 … 63 for both "
                             r"receptors .*: give 20"):
        sim.Projection(a, a, sim.FromListConnector([(1, 0, -20, 0.1)]), receptor_type="inhibitory")
