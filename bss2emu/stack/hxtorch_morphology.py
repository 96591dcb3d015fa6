"""``hxtorch.snn.morphology`` for ``bss2emu exec``: ``SingleCompartmentNeuron``, a neuron
of ``size`` neighbouring circuits joined into one compartment. Its ``compartments`` are
``lola.Morphology``'s (``halco.LogicalNeuronCompartments``), for ``placement_constraint``
lists of ``halco.LogicalNeuronOnDLS``.

The ``snn`` modules run one circuit per neuron: a module given a ``neuron_structure`` of more
than one circuit is refused (``size`` 1 is what they run anyway).

>>> SingleCompartmentNeuron(8, expand_horizontally=False).size
8
"""

from __future__ import annotations

from bss2emu.errors import ConfigError


class SingleCompartmentNeuron:
    """One compartment of ``size`` circuits: in one row (``expand_horizontally=False``) or,
    with ``expand_horizontally=True``, in both rows of ``size // 2`` columns."""

    def __init__(self, size: int, expand_horizontally: bool = False) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1 or \
                (expand_horizontally and size % 2):
            raise ConfigError(f"SingleCompartmentNeuron: size={size!r} must be a positive integer (even with "
                              f"expand_horizontally=True: two rows)")
        self.size, self.expand_horizontally = size, bool(expand_horizontally)

    def circuits(self) -> list[tuple[int, int]]:
        """(column, row) of the circuits, relative to the neuron's anchor."""
        if self.expand_horizontally:
            return [(c, r) for r in (0, 1) for c in range(self.size // 2)]
        return [(c, 0) for c in range(self.size)]

    @property
    def compartments(self):
        from bss2emu.stack import halco, lola

        if not hasattr(lola, "Morphology"):
            raise ConfigError("SingleCompartmentNeuron.compartments needs the structured neurons of "
                              "bss2emu.stack.lola (lola.Morphology), not in this installation")
        morphology = lola.Morphology()
        morphology.create_compartment([halco.AtomicNeuronOnLogicalNeuron(c, r) for c, r in self.circuits()])
        return morphology.done()[0]

    def __repr__(self) -> str:
        return f"SingleCompartmentNeuron(size={self.size}, expand_horizontally={self.expand_horizontally})"
