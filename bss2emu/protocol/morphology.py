"""Structured (multi-compartment) neurons: the morphology of a logical neuron, and its place.

A logical neuron is a set of neighbouring neuron circuits, described in coordinates
relative to its anchor: ``(column, row)`` with row 0 (top hemisphere) or 1 (bottom). A
``Morphology`` is built as with the real stack's ``lola.Morphology``:

* ``create_compartment(circuits)`` joins the membranes of neighbouring circuits (the
  switches ``connect_right`` between row neighbours, ``connect_vertical`` on both circuits
  of a column) — one compartment;
* ``connect_to_soma(c)`` connects circuit c's membrane directly to its piece of the somatic
  line, ``connect_resistor_to_soma(c)`` through the inter-compartment conductance;
* ``connect_soma_line(start, end, row)`` joins the pieces of line from column start to end;
* ``done()`` checks the whole and returns ``LogicalNeuronCompartments``: the compartments
  (those created, in order, then every circuit connected to the line but in no created
  compartment, as a compartment of its own, by column and row) and every circuit's switches.

Every rule raises ``ConfigError`` naming the circuit, the rule and the fix. ``place``
turns a morphology into a population's circuits and switch values on one chip (the
hardware values of ``hardware.STRUCTURE_SWITCHES``), so a logical neuron is an ordinary
pinned population to routing, the kernel and every placement.

>>> m = Morphology()
>>> m.create_compartment([(0, 0), (1, 0)])
0
>>> m.create_compartment([(2, 0)])
1
>>> m.connect_resistor_to_soma((1, 0)); m.connect_to_soma((2, 0)); m.connect_soma_line(1, 2, 0)
>>> neuron = m.done()
>>> neuron.compartments
((CircuitOnLogicalNeuron(column=0, row=0), CircuitOnLogicalNeuron(column=1, row=0)), (CircuitOnLogicalNeuron(column=2, row=0),))
>>> placed = neuron.place(anchor_columns=[10, 20])
>>> placed.circuits[:3], placed.index(neuron=1, compartment=1)
([10, 11, 12], 5)
>>> m.create_compartment([(0, 0), (2, 0)])
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: morphology: circuit (column 0, row 0) is already in compartment 0: a circuit belongs to one compartment; leave it out of this one
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

from ..errors import ConfigError
from . import coordinates as C

COMPARTMENTS_MAX = 255
"""Compartments per logical neuron (the real stack's CompartmentOnLogicalNeuron range)."""
ROWS = C.HEMISPHERES
COLUMNS = C.COLUMNS_PER_HEMISPHERE
SWITCHES = ("connect_right", "connect_vertical", "connect_soma", "connect_soma_right", "enable_conductance")


class CircuitOnLogicalNeuron(NamedTuple):
    """A circuit relative to its logical neuron's anchor: column 0..255, row 0..1."""

    column: int
    row: int

    def __str__(self) -> str:
        return f"(column {self.column}, row {self.row})"


def circuit(value) -> CircuitOnLogicalNeuron:
    """A relative circuit coordinate from ``(column, row)`` or anything with ``.column``/``.row``
    (``x``/``y``); range-checked."""
    if hasattr(value, "column") and hasattr(value, "row"):
        col, row = value.column, value.row
    elif hasattr(value, "x") and hasattr(value, "y"):
        col, row = value.x, value.y
    else:
        try:
            col, row = value
        except (TypeError, ValueError):
            raise ConfigError(f"morphology: {value!r} is not a circuit coordinate; give (column, row)") from None
    col, row = int(col), int(row)
    if not 0 <= col < COLUMNS or not 0 <= row < ROWS:
        raise ConfigError(f"morphology: circuit (column {col}, row {row}) is outside a logical neuron's grid "
                          f"(columns 0..{COLUMNS - 1}, rows 0..{ROWS - 1}); use a coordinate inside it")
    return CircuitOnLogicalNeuron(col, row)


def _neighbours(a: CircuitOnLogicalNeuron, b: CircuitOnLogicalNeuron) -> bool:
    return (a.row == b.row and abs(a.column - b.column) == 1) or (a.column == b.column and a.row != b.row)


class Morphology:
    """Builds a logical neuron's structure (``lola.Morphology``'s calls, relative coordinates)."""

    def __init__(self) -> None:
        self._compartments: list[tuple[CircuitOnLogicalNeuron, ...]] = []
        self._owner: dict[CircuitOnLogicalNeuron, int] = {}
        self._switches: dict[CircuitOnLogicalNeuron, set[str]] = {}

    def _set(self, c: CircuitOnLogicalNeuron, switch: str) -> None:
        self._switches.setdefault(c, set()).add(switch)

    def create_compartment(self, circuits: Iterable) -> int:
        """Join these circuits' membranes into one compartment; returns its number."""
        cs = [circuit(c) for c in circuits]
        if not cs:
            raise ConfigError("morphology: a compartment needs at least one circuit; give its circuits")
        if len(set(cs)) != len(cs):
            dup = next(c for c in cs if cs.count(c) > 1)
            raise ConfigError(f"morphology: circuit {dup} is listed twice in one compartment; list it once")
        for c in cs:
            if c in self._owner:
                raise ConfigError(f"morphology: circuit {c} is already in compartment {self._owner[c]}: a circuit "
                                  f"belongs to one compartment; leave it out of this one")
        # the circuits must be joined by the chip's switches: neighbours in a row or a column
        reached, todo = {cs[0]}, [cs[0]]
        while todo:
            a = todo.pop()
            for b in cs:
                if b not in reached and _neighbours(a, b):
                    reached.add(b)
                    todo.append(b)
        if len(reached) != len(cs):
            lone = next(c for c in cs if c not in reached)
            raise ConfigError(f"morphology: circuit {lone} is not a neighbour of the compartment's other circuits "
                              f"{sorted(str(c) for c in reached)}: the chip joins membranes of neighbours in a row "
                              f"or a column only; add the circuits between them")
        if len(self._compartments) >= COMPARTMENTS_MAX:
            raise ConfigError(f"morphology: a logical neuron has at most {COMPARTMENTS_MAX} compartments; "
                              f"join circuits into fewer compartments")
        number = len(self._compartments)
        for a in cs:
            self._owner[a] = number
            for b in cs:
                if a.row == b.row and b.column == a.column + 1:
                    self._set(a, "connect_right")
                if a.column == b.column and a.row != b.row:
                    self._set(a, "connect_vertical")
        self._compartments.append(tuple(cs))
        return number

    def connect_to_soma(self, c) -> None:
        """Connect circuit ``c``'s membrane directly to its piece of the somatic line."""
        c = circuit(c)
        if "enable_conductance" in self._switches.get(c, ()):
            raise ConfigError(f"morphology: circuit {c} is already connected to the somatic line through the "
                              f"conductance; a circuit connects either directly or through it: use another circuit")
        self._set(c, "connect_soma")

    def connect_resistor_to_soma(self, c) -> None:
        """Connect circuit ``c``'s membrane to its piece of the somatic line through the
        inter-compartment conductance."""
        c = circuit(c)
        if "connect_soma" in self._switches.get(c, ()):
            raise ConfigError(f"morphology: circuit {c} is already connected directly to the somatic line; a "
                              f"circuit connects either directly or through the conductance: use another circuit")
        self._set(c, "enable_conductance")

    def connect_soma_line(self, start, end, row) -> None:
        """Join the pieces of somatic line of ``row`` from column ``start`` to ``end``."""
        a, b = circuit((int(start), int(row))), circuit((int(end), int(row)))
        if b.column <= a.column:
            raise ConfigError(f"morphology: somatic line from column {a.column} to {b.column} in row {a.row}: the "
                              f"line runs along one row from a column to a larger one; swap start and end")
        for col in range(a.column, b.column):
            self._set(CircuitOnLogicalNeuron(col, a.row), "connect_soma_right")

    def done(self) -> "LogicalNeuronCompartments":
        """Check the whole structure and return the logical neuron."""
        circuits = set(self._owner) | {c for c, s in self._switches.items() if s & {"connect_soma", "enable_conductance"}}
        if not circuits:
            raise ConfigError("morphology: no circuits; create a compartment first")
        compartments = list(self._compartments)
        for c in sorted(circuits - set(self._owner), key=lambda c: (c.column, c.row)):
            compartments.append((c,))
        if len(compartments) > COMPARTMENTS_MAX:
            raise ConfigError(f"morphology: {len(compartments)} compartments (circuits connected to the line in no "
                              f"created compartment count as one each); a logical neuron has at most "
                              f"{COMPARTMENTS_MAX}: join circuits into fewer compartments")
        # every part joined: membranes, and the pieces of line through the line's switches
        node = {}
        for i, comp in enumerate(compartments):
            for c in comp:
                node[c] = ("m", i)
        parent: dict = {}

        def find(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        def join(x, y):
            parent[find(x)] = find(y)

        for c, sw in self._switches.items():
            line = ("l", c.column, c.row)
            if "connect_soma_right" in sw:
                join(line, ("l", c.column + 1, c.row))
            if sw & {"connect_soma", "enable_conductance"}:
                join(node[c], line)
        roots = {find(("m", i)) for i in range(len(compartments))}
        if len(roots) > 1:
            alone = next(comp[0] for i, comp in enumerate(compartments) if find(("m", i)) != find(("m", 0)))
            raise ConfigError(f"morphology: circuit {alone} is not connected to compartment 0's circuits: a logical "
                              f"neuron is one contiguous structure; connect its compartment to the somatic line "
                              f"(connect_to_soma / connect_resistor_to_soma, connect_soma_line)")
        # a piece of line with a conductance must carry another compartment's connection, or
        # the conductance joins nothing (pieces of line joined by connect_soma_right only)
        line_parent: dict = {}

        def line_root(col, row):
            x = (col, row)
            while line_parent.setdefault(x, x) != x:
                x = line_parent[x]
            return x

        for c, sw in self._switches.items():
            if "connect_soma_right" in sw:
                line_parent[line_root(c.column, c.row)] = line_root(c.column + 1, c.row)
        compartment_of = {c: i for i, comp in enumerate(compartments) for c in comp}
        on_line: dict = {}
        for c, sw in self._switches.items():
            if sw & {"connect_soma", "enable_conductance"}:
                on_line.setdefault(line_root(c.column, c.row), set()).add(compartment_of[c])
        for c, sw in sorted(self._switches.items()):
            if "enable_conductance" in sw and on_line[line_root(c.column, c.row)] == {compartment_of[c]}:
                raise ConfigError(f"morphology: circuit {c} connects through the conductance to a piece of "
                                  f"somatic line no other compartment is on; connect another compartment to it "
                                  f"(connect_to_soma) or join the line (connect_soma_line)")
        switches = {c: frozenset(s) for c, s in self._switches.items()}
        for comp in compartments:
            for c in comp:
                switches.setdefault(c, frozenset())
        # pieces of line that only pass the line along need their circuits too
        for c, s in list(switches.items()):
            if "connect_soma_right" in s:
                switches.setdefault(CircuitOnLogicalNeuron(c.column + 1, c.row), frozenset())
        return LogicalNeuronCompartments(tuple(compartments), switches)


def chain_morphology(length: int) -> "LogicalNeuronCompartments":
    """The BSS-2 tutorial's chain of ``length`` compartments: compartment i on columns 2i,
    2i+1 of row 0; its right circuit reaches the next compartment's left circuit through the
    conductance and the somatic line.

    >>> len(chain_morphology(3).compartments)
    3
    """
    m = Morphology()
    for i in range(length):
        m.create_compartment([(2 * i, 0), (2 * i + 1, 0)])
    for i in range(length - 1):
        m.connect_resistor_to_soma((2 * i + 1, 0))
        m.connect_to_soma((2 * i + 2, 0))
        m.connect_soma_line(2 * i + 1, 2 * i + 2, 0)
    return m.done()


@dataclass(frozen=True)
class LogicalNeuronCompartments:
    """A finished morphology: its compartments (tuples of relative circuits) and every
    circuit's switches (circuits that only carry the line appear with no compartment)."""

    compartments: tuple[tuple[CircuitOnLogicalNeuron, ...], ...]
    switches: dict

    @property
    def circuits(self) -> tuple[CircuitOnLogicalNeuron, ...]:
        """Every circuit the logical neuron occupies, in compartment order, then line-only ones."""
        inside = [c for comp in self.compartments for c in comp]
        extra = sorted(set(self.switches) - set(inside), key=lambda c: (c.column, c.row))
        return tuple(inside + extra)

    @property
    def width(self) -> int:
        """Columns it spans from its anchor."""
        return max(c.column for c in self.circuits) + 1

    def get_compartments(self) -> dict[int, list[CircuitOnLogicalNeuron]]:
        """``{compartment: [circuits]}`` (the real stack's ``get_compartments``)."""
        return {i: list(comp) for i, comp in enumerate(self.compartments)}

    def switch_values(self) -> dict[str, list[int]]:
        """Per circuit (in ``circuits`` order) the value of each structure switch, 0/1."""
        cs = self.circuits
        return {s: [int(s in self.switches.get(c, ())) for c in cs] for s in SWITCHES}

    def place(self, anchor_columns: Iterable[int], anchor_row: int = 0) -> "PlacedNeurons":
        """Logical neurons with this morphology anchored at these columns (of row 0, or
        ``anchor_row`` 1 for a one-row morphology), as one population's circuits."""
        cs = self.circuits
        out: list[int] = []
        anchors = [int(a) for a in anchor_columns]
        if not anchors:
            raise ConfigError("morphology: no anchor columns; give one column per logical neuron")
        if anchor_row not in (0, 1) or (anchor_row == 1 and any(c.row for c in cs)):
            raise ConfigError(f"morphology: anchor row {anchor_row} leaves circuits outside the chip's 2 rows; "
                              f"anchor in row 0")
        owner: dict[int, int] = {}
        for k, a in enumerate(anchors):
            if a < 0 or a + self.width > COLUMNS:
                raise ConfigError(f"logical neuron {k}: anchored at column {a} it spans columns {a}..{a + self.width - 1}"
                                  f", the chip's rows have columns 0..{COLUMNS - 1}; anchor it at 0..{COLUMNS - self.width}")
            for c in cs:
                n = (c.row + anchor_row) * COLUMNS + a + c.column
                if n in owner:
                    raise ConfigError(f"logical neuron {k} (anchor column {a}): circuit {n} is also logical neuron "
                                      f"{owner[n]}'s; logical neurons do not overlap: anchor them at least "
                                      f"{self.width} columns apart")
                owner[n] = k
                out.append(n)
        sw = self.switch_values()
        return PlacedNeurons(self, anchors, out, {s: v * len(anchors) for s, v in sw.items()})


@dataclass(frozen=True)
class PlacedNeurons:
    """Logical neurons on one chip: ``circuits`` (one population, ``len(morphology.circuits)``
    per logical neuron) and the structure switches' values for them."""

    morphology: LogicalNeuronCompartments
    anchors: list[int]
    circuits: list[int]
    switches: dict[str, list[int]]

    @property
    def size(self) -> int:
        return len(self.circuits)

    def index(self, neuron: int, compartment: int, circuit: int = 0) -> int:
        """The population index of ``circuit`` (its position in the compartment) of
        ``compartment`` of logical neuron ``neuron``."""
        m = self.morphology
        if not 0 <= neuron < len(self.anchors):
            raise ConfigError(f"logical neuron {neuron} does not exist: there are {len(self.anchors)}")
        if not 0 <= compartment < len(m.compartments):
            raise ConfigError(f"compartment {compartment} does not exist: the morphology has {len(m.compartments)}")
        comp = m.compartments[compartment]
        if not 0 <= circuit < len(comp):
            raise ConfigError(f"compartment {compartment} has {len(comp)} circuits, not {circuit + 1}")
        return neuron * len(m.circuits) + m.circuits.index(comp[circuit])

    def population(self, name: str, params: dict | None = None, **fields) -> dict:
        """The population (``experiment.Population`` fields) of these logical neurons: their
        circuits pinned, the switches set, ``params`` (one value, or one per circuit) added."""
        p = dict(params or {})
        clash = set(p) & set(self.switches)
        if clash:
            raise ConfigError(f"population {name!r}: params set the structure switches {sorted(clash)}; the "
                              f"morphology sets them, leave them out")
        p.update(self.switches)
        return dict(name=name, size=self.size, circuits=list(self.circuits), params=p, **fields)
