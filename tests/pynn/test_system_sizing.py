"""``setup()`` without ``chips=``/``system=``: the network runs on the smallest system it
fits, reported in the log, ``sim.state.system`` and the run's metadata; an explicit
``chips=`` is honoured exactly."""

from __future__ import annotations

import logging
import warnings

import pytest
import scripts

import bss2emu.pynn as sim


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_issue_network_runs_unchanged_on_the_smallest_system(caplog):
    with caplog.at_level(logging.INFO, logger="bss2emu.pynn"):
        got = scripts.adex_ei_network(sim, runtime=50.0)
    assert got["chips"] == 2  # one chip has too few synapse drivers for its 600 sources
    assert any("fits 2 chip(s): running on system 'jboa-2'" in r.getMessage() for r in caplog.records)


def test_metadata_says_which_system_and_that_it_was_sized():
    sim.setup(timestep=0.1)
    pop = sim.Population(600, sim.IF_curr_exp(), label="big")
    pop.record("spikes")
    sim.run(1.0)
    assert sim.state.results.metadata["system"] == {"name": "jboa-2", "chips": 2, "sized_for_network": True}
    assert len(sim.state.system.chips) == 2
    sim.end()


def test_explicit_chips_are_honoured():
    sim.setup(timestep=0.1, chips=1)
    sim.Population(600, sim.IF_curr_exp(), label="big")
    with pytest.raises(sim.errors.ConnectionError, match=r"600 neuron circuits; 1 chip\(s\) have 512"):
        sim.run(1.0)
    sim.end()
    sim.setup(timestep=0.1, chips=3)
    sim.Population(10, sim.IF_curr_exp(), label="small")
    sim.run(1.0)
    assert sim.state.results.metadata["system"] == {"name": "jboa-3", "chips": 3, "sized_for_network": False}
    sim.end()
