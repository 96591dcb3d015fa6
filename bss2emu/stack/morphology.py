"""lola's structured neurons: ``Morphology`` and ``LogicalNeuron`` over
``protocol.morphology`` (which holds the rules); re-exported by ``bss2emu.stack.lola``.

>>> from bss2emu.stack import halco, lola
>>> coord = halco.AtomicNeuronOnLogicalNeuron
>>> morphology = lola.Morphology()
>>> morphology.create_compartment([coord(0, 0), coord(1, 0)])
CompartmentOnLogicalNeuron(0)
>>> morphology.create_compartment([coord(2, 0)])
CompartmentOnLogicalNeuron(1)
>>> morphology.connect_resistor_to_soma(coord(1, 0))
>>> morphology.connect_to_soma(coord(2, 0))
>>> morphology.connect_soma_line(halco.NeuronColumnOnLogicalNeuron(1), halco.NeuronColumnOnLogicalNeuron(2),
...                              halco.NeuronRowOnLogicalNeuron(0))
>>> compartments, neuron = morphology.done()
>>> compartments.get_compartments()[halco.CompartmentOnLogicalNeuron(1)]
[AtomicNeuronOnLogicalNeuron(2, 0)]
>>> neuron.at(halco.CompartmentOnLogicalNeuron(0), 1).multicompartment.enable_conductance
True
"""

from __future__ import annotations

import copy

from ..errors import ConfigError
from ..protocol import morphology as M
from . import halco

# protocol switch -> lola's multicompartment field
_FIELD = {"connect_right": "connect_right", "connect_vertical": "connect_vertical", "connect_soma": "connect_soma",
          "connect_soma_right": "connect_soma_right", "enable_conductance": "enable_conductance"}


class Morphology:
    """``lola.Morphology``: build a logical neuron from compartments of neighbouring circuits
    and connections to the somatic line (``protocol.morphology.Morphology``'s rules)."""

    def __init__(self) -> None:
        self._m = M.Morphology()

    def create_compartment(self, circuits) -> halco.CompartmentOnLogicalNeuron:
        return halco.CompartmentOnLogicalNeuron(self._m.create_compartment(circuits))

    def connect_to_soma(self, circuit) -> None:
        self._m.connect_to_soma(circuit)

    def connect_resistor_to_soma(self, circuit) -> None:
        self._m.connect_resistor_to_soma(circuit)

    def connect_soma_line(self, start, end, row) -> None:
        self._m.connect_soma_line(start, end, row)

    def done(self) -> tuple:
        """``(halco.LogicalNeuronCompartments, LogicalNeuron)``."""
        structure = self._m.done()
        return halco.LogicalNeuronCompartments(structure), LogicalNeuron(structure)


class LogicalNeuron:
    """``lola.LogicalNeuron``: one AtomicNeuron per circuit, the morphology's switches set;
    ``at(compartment, index)`` is the circuit's neuron to configure (the switches are the
    morphology's: writes to them are overwritten when it is placed)."""

    def __init__(self, structure: M.LogicalNeuronCompartments) -> None:
        from .lola import AtomicNeuron

        self.structure = structure
        self._neurons = {}
        for c in structure.circuits:
            n = AtomicNeuron()
            self._neurons[c] = n
        self._apply_switches()

    def _apply_switches(self) -> None:
        for c, n in self._neurons.items():
            sw = self.structure.switches.get(c, ())
            for name, field in _FIELD.items():
                setattr(n.multicompartment, field, name in sw)

    def at(self, compartment, index: int = 0):
        comps = self.structure.compartments
        i = int(compartment)
        if not 0 <= i < len(comps) or not 0 <= int(index) < len(comps[i]):
            raise ConfigError(f"LogicalNeuron.at({i}, {index}): the logical neuron has {len(comps)} compartments"
                              + (f", compartment {i} has {len(comps[i])} circuits" if 0 <= i < len(comps) else ""))
        return self._neurons[comps[i][int(index)]]

    def set_at(self, compartment, index: int, neuron) -> None:
        """Replace one circuit's AtomicNeuron (its structure switches stay the morphology's)."""
        c = self.structure.compartments[int(compartment)][int(index)]
        self._neurons[c] = copy.deepcopy(neuron)
        self._apply_switches()

    def atomic_neurons(self, coordinate: halco.LogicalNeuronOnDLS) -> list:
        """``[(AtomicNeuronOnDLS, AtomicNeuron)]`` of the logical neuron placed at ``coordinate``."""
        self._apply_switches()
        placed = coordinate.placed
        return [(halco.AtomicNeuronOnDLS(n), self._neurons[c]) for n, c in zip(placed.circuits, self.structure.circuits)]

