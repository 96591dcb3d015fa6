"""``pynn.simulator.state.neuron_placement`` (pynn.brainscales2's NeuronPlacement): the
circuits it names are where the run puts the neurons (ts_07 Pong hands them to PPU kernels)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import bss2emu.brainscales2 as pynn
from bss2emu.protocol import coordinates as C


@pytest.fixture(autouse=True)
def _end():
    yield
    pynn.end()


def _network(**setup):
    pynn.setup(**setup)
    a = pynn.Population(5, pynn.cells.HXNeuron())
    src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    b = pynn.Population(4, pynn.cells.HXNeuron())
    prj = pynn.Projection(src, b, pynn.AllToAllConnector(),
                          synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=10))
    return a, src, b, prj


def _placed_columns(prj):
    pynn.run(0.02)
    return {c.pop_post_index: int(p[0].synapse_on_row) for c, p in zip(prj.connections, prj.placed_connections)}


@pytest.mark.parametrize("permutation", [None, [300, 2, 9, 4, 260, 261, 40, 41, 42]])
def test_the_placement_asked_for_is_the_runs(permutation):
    a, _, b, prj = _network(neuronPermutation=permutation)
    placement = pynn.simulator.state.neuron_placement
    circuits = [int(n.get_atomic_neurons()[0].toEnum()) for n in placement.id2logicalneuron(list(b.all_cells))]
    expected = list(range(5, 9)) if permutation is None else permutation[5:9]  # after a's five, in creation order
    assert circuits == expected == placement.id2first_circuit(list(b.all_cells))
    assert placement.id2first_circuit(int(a[0])) == (0 if permutation is None else permutation[0])
    columns = _placed_columns(prj)
    assert columns == {i: c % C.COLUMNS_PER_HEMISPHERE for i, c in enumerate(expected)}


def test_ids_that_are_not_placed_neurons_are_refused():
    _, src, _, _ = _network()
    placement = pynn.simulator.state.neuron_placement
    with pytest.raises(ValueError, match="no neuron has ID 999"):
        placement.id2logicalneuron(999)
    with pytest.raises(ValueError, match="spike source"):
        placement.id2first_circuit(int(src[0]))
