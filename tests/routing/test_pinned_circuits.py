"""Populations pinned to circuits (pynn.brainscales2's neuronPermutation)."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.errors import ConfigError, RoutingError
from bss2emu.routing import mapping as R


def _exp(*populations):
    return bss2emu.Experiment(runtime_us=5, chip={"ideal": True}, populations=list(populations))


def test_pinned_circuits_are_used_and_skipped_by_the_others():
    m = R.map_experiment(_exp({"name": "a", "size": 3}, {"name": "p", "size": 2, "circuits": [1, 300]},
                              {"name": "b", "size": 2}))
    assert m.partition.circuit["p"].tolist() == [1, 300]
    assert m.partition.circuit["a"].tolist() == [0, 2, 3]  # consecutive, around the pinned ones
    assert m.partition.circuit["b"].tolist() == [4, 5]


def test_two_populations_on_one_circuit_are_refused():
    with pytest.raises(RoutingError, match="circuit 7 .* pinned already"):
        R.map_experiment(_exp({"name": "p", "size": 1, "circuits": [7]}, {"name": "q", "size": 1, "circuits": [7]}))


@pytest.mark.parametrize("circuits", [[1, 1], [1], [0, 512]])
def test_circuits_must_be_distinct_one_per_neuron_and_on_the_chip(circuits):
    with pytest.raises(ConfigError, match="circuits"):
        _exp({"name": "p", "size": 2, "circuits": circuits})


def test_a_pinned_neuron_runs_on_its_circuit():
    """A circuit's mismatch follows the neuron pinned to it: the spikes of the neuron that
    routing places on circuit 9, and different ones on circuit 10."""
    def spikes(**pin):
        exp = bss2emu.Experiment(runtime_us=50, chip={"serial": 2, "ideal": False}, populations=[
            {"name": "pad", "size": 9}, {"name": "n", "size": 1, "params": {"i_const": 1000}, **pin}])
        return bss2emu.run(exp).spike_times_us("n")[0]

    routed = spikes()  # on circuit 9
    assert len(routed) > 3
    np.testing.assert_array_equal(spikes(circuits=[9]), routed)
    assert not np.array_equal(spikes(circuits=[10]), routed)
