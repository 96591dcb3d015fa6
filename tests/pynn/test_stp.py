"""Tsodyks–Markram synapses on the synapse driver's 4-bit grid: the rounding is said
(``QuantisationWarning``) and shown (``Projection.realised_parameters()``), and the chip
does what the realised values say."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bss2emu.pynn import translation as T
from bss2emu.pynn.simulator import state


def _pair(sim):
    return (sim.Population(1, sim.IF_curr_exp(), label="a"), sim.Population(1, sim.IF_curr_exp(), label="b"))


def test_rounding_by_more_than_5_percent_warns_with_both_values(sim):
    a, b = _pair(sim)
    with pytest.warns(T.QuantisationWarning, match=r"projection 'ab': TsodyksMarkramSynapse U=0\.1, tau_rec=100 ms, "
                                                   r"tau_facil=0 ms is realised as U=0\.125, tau_rec=90\.5\d* ms.*"
                                                   r"\(U \+25%, tau_rec -9%\).*realised_parameters\(\)") as record:
        sim.Projection(a, b, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(U=0.1, tau_rec=100.0, weight=0.2),
                       label="ab")
    assert record[0].filename == __file__, "the warning points at the user's line"


def test_values_on_the_grid_or_within_5_percent_are_silent(sim):
    a, b = _pair(sim)
    with warnings.catch_warnings():
        warnings.simplefilter("error", T.QuantisationWarning)
        prj = sim.Projection(a, b, sim.AllToAllConnector(),
                             sim.TsodyksMarkramSynapse(U=0.3, tau_rec=128.0 * 1.04, weight=0.2))  # 4 %, 4 %
        prj.set(weight=0.3)
        sim.Projection(b, a, sim.AllToAllConnector(),
                       sim.TsodyksMarkramSynapse(U=0.25, tau_rec=0.0, tau_facil=2.0 * 2 ** 3.5, weight=0.2))


def test_a_new_value_warns_again(sim):
    a, b = _pair(sim)
    prj = sim.Projection(a, b, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(U=0.5, tau_rec=128.0, weight=0.2))
    with pytest.warns(T.QuantisationWarning, match="tau_rec=100 ms.*realised as.*tau_rec=90"):
        prj.set(tau_rec=100.0)


def test_realised_parameters(sim):
    a, b = _pair(sim)
    static = sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.2), label="static")
    with pytest.warns(T.QuantisationWarning):
        dep = sim.Projection(b, a, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(U=0.3, tau_rec=100.0,
                                                                                     weight=0.2))
    assert set(static.realised_parameters()) == {"weight"}
    real = dep.realised_parameters()
    assert set(real) == {"weight", "U", "tau_rec", "tau_facil"}
    assert real["U"].tolist() == [5 / 16] and real["tau_facil"].tolist() == [0.0]
    assert real["tau_rec"][0] == pytest.approx(2.0 * 2 ** 5.5)
    assert real["weight"].tolist() == dep.hardware_weights()[1].tolist()


def test_the_chip_follows_the_realised_values(sim, example):
    """Off-grid U and tau_rec: the PSP train follows the Tsodyks–Markram recursion of the
    realised values (within the STP example's tolerance), not that of the values asked for."""
    mod = example("pynn_stp")
    train = mod.spike_train(50.0, 100.0)
    neuron = sim.Population(1, sim.IF_curr_exp(**mod.CELL), label="neuron")
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=train.tolist()), label="train")
    with pytest.warns(T.QuantisationWarning):
        prj = sim.Projection(source, neuron, sim.AllToAllConnector(),
                             sim.TsodyksMarkramSynapse(U=0.4, tau_rec=75.0, weight=mod.WEIGHT_NA, delay=mod.DELAY_MS))
    neuron.record("v")
    sim.run(float(train[-1] + mod.DELAY_MS + 50.0))
    seg = neuron.get_data().segments[-1]
    t, v = seg.analogsignals[0].times.magnitude, seg.analogsignals[0].magnitude[:, 0]
    cell = neuron.realised_parameters()
    heights, _ = mod.psp_heights(t, v, train + mod.DELAY_MS, (cell["tau_m"][0], cell["tau_syn_E"][0]),
                                 cell["v_rest"][0])
    real = prj.realised_parameters()
    realised = mod.tsodyks_markram(train, real["U"][0], real["tau_rec"][0], real["tau_facil"][0])
    asked = mod.tsodyks_markram(train, 0.4, 75.0, 0.0)
    measured = heights / heights[0]
    assert np.max(np.abs(measured - realised / realised[0])) < 0.008
    assert np.max(np.abs(measured - asked / asked[0])) > 0.05
    assert state.last_experiment.projections[0].stp.utilisation == 5  # U = 6/16
