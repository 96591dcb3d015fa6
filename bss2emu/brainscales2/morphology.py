"""pynn.brainscales2's ``morphology``: multi-compartment neurons over this view's ``HXNeuron``
(``lola.AtomicNeuron``'s flattened names, e.g. ``multicompartment_i_bias_nmda``). The one
implementation is ``bss2emu.pynn.morphology``; this module only names this view's cell type.

>>> import bss2emu.brainscales2 as pynn
>>> from bss2emu.brainscales2.morphology import create_mc_neuron, Compartment, SharedLineConnection
>>> Two = create_mc_neuron("Two", compartments=[
...     Compartment(positions=[0], label="soma", connect_shared_line=[0]),
...     Compartment(positions=[1], label="dend", connect_conductance=[(1, 200)])],
...     connections=[SharedLineConnection(start=0, stop=1, row=0)])
>>> Two.get_labels(), "multicompartment_connect_soma" in Two.default_parameters  # the morphology sets the switches
(['soma', 'dend'], False)
"""

from __future__ import annotations

from ..pynn.morphology import (  # noqa: F401 - pynn.brainscales2's names
    Compartment, CompartmentTypeError, McCircuitParameters, McNeuronBase, PlacedCompartment, SharedLineConnection,
)
from ..pynn.morphology import create_mc_neuron as _create_mc_neuron
from .standardmodels.cells import HXNeuron


def create_mc_neuron(name: str, compartments, connections=None, single_active_circuit: bool = False):
    """A cell type of multi-compartment neurons whose parameters are this view's ``HXNeuron``'s
    (see ``bss2emu.pynn.morphology.create_mc_neuron``)."""
    return _create_mc_neuron(name, compartments, connections, single_active_circuit, base=HXNeuron)


__all__ = ["create_mc_neuron", "Compartment", "PlacedCompartment", "SharedLineConnection", "McCircuitParameters",
           "McNeuronBase", "CompartmentTypeError"]
