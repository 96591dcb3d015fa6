"""Where the compartments of a multi-compartment population sit: its logical neurons'
circuits (side by side in row 0 of a chip), the experiment index of each compartment (its
first circuit: where its synapses sit and its membrane is read) and the recording
locations. The backend's modules ask these, so that a population of logical neurons is an
experiment population of ``size × circuits_per_neuron`` pinned circuits; for a point
population every answer is the neuron itself.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..protocol.morphology import COLUMNS, ROWS
from .exceptions import InvalidParameterValueError
from .morphology import McNeuronBase


def experiment_size(pop) -> int:
    """How many circuits a population takes in the experiment (logical neurons × circuits)."""
    return pop.size * getattr(pop.celltype, "circuits_per_neuron", 1) if is_mc(pop) else pop.size


def is_mc(pop) -> bool:
    return isinstance(getattr(pop, "celltype", None), McNeuronBase)


def circuit_index(pop, neuron: np.ndarray, compartment: np.ndarray | int = 0) -> np.ndarray:
    """The experiment index (a circuit of the population) of ``compartment`` of logical
    neuron ``neuron``: its first circuit. For a point population the neuron itself."""
    neuron = np.asarray(neuron, np.int64)
    if not is_mc(pop):
        return neuron
    ct = pop.celltype
    comp = np.broadcast_to(np.asarray(compartment, np.int64), neuron.shape)
    offsets = np.array([ct.lead_offset(c) for c in range(len(ct.compartments))], np.int64)
    return neuron * ct.circuits_per_neuron + offsets[comp]


def place_circuits(pops) -> dict[int, list[int]]:
    """Circuits of the multi-compartment populations among ``pops``: their logical neurons
    side by side from column 0 of their chip, in creation order — in row 0, then (a
    morphology of one row) in row 1."""
    out, cursor = {}, {}
    for pop in pops:
        if not is_mc(pop):
            continue
        chip = pop.chip or 0
        structure = pop.celltype.structure
        width = structure.width
        rows = 1 if any(c.row for c in structure.circuits) else 2  # rows a neuron may be anchored in
        circuits = []
        for _ in range(pop.size):
            row, column = cursor.get(chip, (0, 0))
            if column + width > COLUMNS and row + 1 < rows:
                row, column = row + 1, 0
            if column + width > COLUMNS:
                per_chip = rows * (COLUMNS // width)
                raise ConfigError(
                    f"population {pop.label!r}: {pop.size} {type(pop.celltype).__name__} neurons of {width} columns "
                    f"each, and a chip holds {per_chip} of them (after the multi-compartment populations before it "
                    f"on chip {chip}); use at most that many per chip, or put a population on another chip "
                    f"(population.annotate(chip=k))")
            circuits += structure.place([column], anchor_row=row).circuits
            cursor[chip] = (row, column + width)
        out[id(pop)] = circuits
    return out


def place_permuted(pops, permutation) -> dict[int, list[int]]:
    """Circuits of the neuron populations ``pops`` (sources left out by the caller) under
    pynn.brainscales2's ``neuronPermutation``: the permutation lists the circuits
    (``AtomicNeuronOnDLS`` enums, row * 256 + column) the neurons may take, in the order they
    are tried. Every neuron, in creation order, takes the first listed circuit still free
    at which its morphology, anchored there, stays inside the chip's rows with all its
    circuits listed and free (pynn.brainscales2's ``NeuronPlacement``); a point neuron is
    a morphology of one circuit, so the k-th point neuron of a network without
    multi-compartment neurons takes the k-th listed circuit."""
    order = [int(c) for c in permutation]
    free = set(order)
    out = {}
    for pop in pops:
        structure = pop.celltype.structure if is_mc(pop) else None
        cells = [(0, 0)] if structure is None else [(c.row, c.column) for c in structure.circuits]
        width = 1 + max(col for _, col in cells)
        rows = 1 + max(row for row, _ in cells)
        circuits = []
        for k in range(pop.size):
            for anchor in order:
                if anchor not in free:
                    continue
                row, column = divmod(anchor, COLUMNS)
                if column + width > COLUMNS or row + rows > ROWS:
                    continue  # the logical neuron would leave the chip's neuron rows
                placed = [(row + r) * COLUMNS + column + c for r, c in cells]
                if free.issuperset(placed):
                    free.difference_update(placed)
                    circuits += placed
                    break
            else:
                what = "neuron" if structure is None else (f"{type(pop.celltype).__name__} neuron of {len(cells)} "
                                                           f"circuits ({rows} row(s) x {width} columns)")
                raise InvalidParameterValueError(
                    f"setup(neuronPermutation=...): population {pop.label!r}: its {what} {k} finds no place among "
                    f"the {len(free)} listed circuits still free (the {len(order)} listed, less those of the neurons "
                    f"before it); list more circuits, with room for the morphology at an anchor (row * {COLUMNS} + "
                    f"column; the others at the morphology's offsets from it)")
        out[id(pop)] = circuits
    return out


def target_compartment(pop, location_selector, label: str | None) -> int:
    """The compartment a projection onto ``pop`` targets (``location_selector``: a label)."""
    ct = pop.celltype
    if location_selector is None:
        raise ConfigError(f"projection {label or ''!r} onto {type(ct).__name__} population {pop.label!r}: a "
                          f"multi-compartment neuron takes input at a compartment; give the connector "
                          f"location_selector=<label>, one of {ct.get_labels()}")
    try:
        return ct.compartment_of(location_selector)
    except ConfigError as err:
        raise ConfigError(f"projection {label or ''!r} onto population {pop.label!r}: {err}") from None


class CompartmentLocation(int):
    """A compartment's number as a recorded variable's ``location``: true even for
    compartment 0 (PyNN names a signal ``"<label>.<variable>"`` when ``variable.location``)."""

    def __bool__(self) -> bool:
        return True


def localized_variables(pop, variables, locations) -> list[tuple[str, int, str]]:
    """``record(variables, locations=...)``'s (variable, compartment, label) triples; every
    location names a compartment of ``pop``'s multi-compartment cell type."""
    if not is_mc(pop):
        raise ConfigError(f"population {pop.label!r}: record(..., locations={locations!r}), but its "
                          f"{type(pop.celltype).__name__} neurons have one compartment; leave locations out")
    ct = pop.celltype
    out = []
    for loc in ([locations] if isinstance(locations, (str, int, np.integer)) else list(locations)):
        comp = ct.compartment_of(loc)
        for var in ([variables] if isinstance(variables, str) else variables):
            out.append((var, CompartmentLocation(comp), ct.compartments[comp].label or str(comp)))
    return out


def readout_key(pop, neuron_index: int, location) -> int:
    """Where a recorded variable of ``neuron_index`` at ``location`` (a compartment number, or
    None: compartment 0) is read: its experiment index (``circuit_index``)."""
    return int(circuit_index(pop, np.array([neuron_index]), 0 if location is None else int(location))[0])


def compartment_columns(pop, neuron_index: int, location) -> np.ndarray:
    """The experiment indices of all circuits of a compartment of a logical neuron (where its
    spikes may come from: the compartment fires through its lead circuit)."""
    if not is_mc(pop):
        return np.array([neuron_index])
    ct = pop.celltype
    circuits = ct.structure.circuits
    comp = ct.structure.compartments[0 if location is None else int(location)]
    return neuron_index * ct.circuits_per_neuron + np.array([circuits.index(c) for c in comp])
