"""``pynn.simulator.state.neuron_placement``: which neuron circuits the network's neurons are on.

pynn.brainscales2 (the version the tutorials use) places every neuron when its population is
made: in creation order, each on the next free circuit of ``neuronPermutation`` (default: the
circuits in enumeration order, 0…511). Scripts ask for it to hand circuit numbers to PPU
kernels (ts_07 Pong's readout rule counts the spikes of these circuits). bss2emu places
neurons when it maps the network; asking ``neuron_placement`` pins them where
pynn.brainscales2 puts them (``setup(neuronPermutation=range(512))``, its default), so the
answer holds for the run.
"""

from __future__ import annotations

import numpy as np

from ..protocol import coordinates as C
from ..protocol.morphology import Morphology
from ..pynn.exceptions import InvalidParameterValueError
from ..pynn.experiment import pinned_circuits
from ..pynn.morphology_sites import is_mc
from ..pynn.standardmodels import is_source
from ..stack import halco


class NeuronPlacement:
    """pynn.brainscales2's ``NeuronPlacement`` of the current network (read-only).

    >>> import bss2emu.brainscales2 as pynn
    >>> pynn.setup()
    >>> pop = pynn.Population(3, pynn.cells.HXNeuron())
    >>> placement = pynn.simulator.state.neuron_placement
    >>> [int(placement.id2logicalneuron(i).get_atomic_neurons()[0].toEnum()) for i in pop.all_cells]
    [0, 1, 2]
    >>> pynn.end()
    """

    def __init__(self, state) -> None:
        self._state = state

    def id2logicalneuron(self, neuron_id):
        """The ``halco.LogicalNeuronOnDLS`` of a neuron's ID (a list for a list of IDs)."""
        if not isinstance(neuron_id, (int, np.integer)):  # pyNN's IDs are ints
            return [self.id2logicalneuron(i) for i in neuron_id]
        (circuit,) = self._circuits(neuron_id)
        return halco.LogicalNeuronOnDLS(halco.LogicalNeuronCompartments(_POINT), circuit)

    def id2first_circuit(self, neuron_id):
        """The (first) circuit of a neuron's ID, as an int (a list for a list of IDs)."""
        if not isinstance(neuron_id, (int, np.integer)):
            return [self.id2first_circuit(i) for i in neuron_id]
        return self._circuits(neuron_id)[0]

    def _circuits(self, neuron_id) -> list[int]:
        state, nid = self._state, int(neuron_id)
        pop = next((p for p in state.populations if int(p.first_id) <= nid <= int(p.last_id)), None)
        if pop is None:
            raise ValueError(f"neuron_placement: no neuron has ID {nid}; give the ID of a neuron of a population "
                             f"made since setup() (population.all_cells)")
        if is_source(pop):
            raise ValueError(f"neuron_placement: ID {nid} is a spike source of population {pop.label!r}, which is "
                             f"not placed on a neuron circuit")
        if is_mc(pop):
            raise InvalidParameterValueError(
                f"neuron_placement: population {pop.label!r} holds multi-compartment neurons; bss2emu gives the "
                f"circuits of point neurons here — read a logical neuron's circuits from its morphology "
                f"(LogicalNeuronOnDLS(compartments, anchor).get_atomic_neurons())")
        if state.neuron_permutation is None:
            state.neuron_permutation = list(range(C.NEURONS_PER_CHIP))  # pynn.brainscales2's default, now pinned
        circuits = pinned_circuits(state)[id(pop)]
        return [circuits[pop.id_to_index(nid)]]


def _point_neuron():
    """One compartment of one circuit: a point neuron's morphology."""
    morphology = Morphology()
    morphology.create_compartment([(0, 0)])
    return morphology.done()


_POINT = _point_neuron()
