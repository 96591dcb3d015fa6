"""Multi-compartment neurons in PyNN: ``create_mc_neuron``, ``Compartment``, ``SharedLineConnection``.

pynn.brainscales2's ``morphology`` for both PyNN views (``bss2emu.brainscales2.morphology``
and ``bss2emu.pynn.morphology`` name the same functions): a compartment is a set of
neighbouring circuits of a logical neuron, given by their positions (enums of
``AtomicNeuronOnLogicalNeuron``: ``row * 256 + column``), connected to the shared (somatic)
line directly (``connect_shared_line``) or through the inter-compartment conductance
(``connect_conductance=[(position, conductance DAC value)]``); ``SharedLineConnection(start,
stop, row)`` joins the line's pieces. ``create_mc_neuron`` checks the structure with the
Morphology rules (``protocol.morphology``) and returns a cell type whose parameters are the
view's ``HXNeuron`` parameters, one value per circuit (the switches are the morphology's).

In a population of such cells every logical neuron takes its circuits (placed side by
side on one chip: row 0, then row 1); projections target a compartment by its label
(``AllToAllConnector(location_selector="dend")``: the synapses sit on the compartment's
first circuit); ``record(["v"], locations=["dend"])`` records the compartment's membrane
(``get_data()`` gives it as the signal named ``"dend.v"``), ``record(["spikes"],
locations=[...])`` its spikes (spike trains annotated with ``location``); without
``locations`` a recording is of compartment 0. ``morphology_sites`` says where each
compartment sits for the backend. A conductance may be a calibration target instead of a
DAC value (``connect_conductance=[(1, 4 * pq.us)]``, τ_icc, or ``50 * pq.nS``, g_icc): the
backend sets each circuit from the chip's measured conductance (``calib.multicompartment``).

>>> c0 = Compartment(positions=[0, 1], label="soma", connect_conductance=[(1, 200)])
>>> c1 = Compartment(positions=[2, 3], label="dend", connect_shared_line=[2])
>>> Chain = create_mc_neuron("Chain", compartments=[c0, c1],
...                          connections=[SharedLineConnection(start=1, stop=2, row=0)])
>>> Chain.get_labels(), Chain.circuits_per_neuron
(['soma', 'dend'], 4)
>>> Compartment(positions=[0, 1], label="x", connect_shared_line=[5])
Traceback (most recent call last):
...
bss2emu.pynn.morphology.CompartmentTypeError: Compartment 'x': connect_shared_line lists position 5, which is not among its positions [0, 1]; list only the compartment's own circuits
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable

import numpy as np
import quantities as pq
from pyNN.parameters import ArrayParameter

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol import morphology as M
from ..protocol.atomic_neuron import ATOMIC_NEURON_FIELDS
from ..protocol.hardware import STRUCTURE_SWITCHES

SharedLineConnection = namedtuple("SharedLineConnection", ["start", "stop", "row"])
"""Join the shared line of ``row`` from column ``start`` to column ``stop``."""

SINGLE_ACTIVE_OFF = {"i_bias_leak": 0, "leak_division": 1, "leak_multiplication": 0, "capacitance": 0,
                     "enable_fire": 0}
"""``single_active_circuit``: every circuit of a compartment but its first gets no leak, no
capacitance and no threshold (bss2emu neuron parameter names; pynn.brainscales2's rule)."""
CONDUCTANCE = "i_bias_conductance"


class CompartmentTypeError(ConfigError, TypeError):
    """A ``Compartment`` or ``create_mc_neuron`` argument of the wrong shape (pynn.brainscales2
    raises ``TypeError`` there)."""


def _ints(value, what: str, label: str) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise CompartmentTypeError(f"Compartment {label!r}: {what}={value!r} is not a sequence of circuit positions; "
                                   f"give a list of ints (AtomicNeuronOnLogicalNeuron enums, row * 256 + column)")
    out = list(value)
    bad = [v for v in out if not isinstance(v, (int, np.integer)) or isinstance(v, bool)]
    if bad:
        raise CompartmentTypeError(f"Compartment {label!r}: {what} contains {bad[0]!r}, not an int; give circuit "
                                   f"positions as ints (row * 256 + column)")
    dup = [v for v in out if out.count(v) > 1]
    if dup:
        raise CompartmentTypeError(f"Compartment {label!r}: {what} lists position {dup[0]} twice; list it once")
    return [int(v) for v in out]


def position_circuit(position: int, label: str = "") -> M.CircuitOnLogicalNeuron:
    """A position (``AtomicNeuronOnLogicalNeuron`` enum: row * 256 + column) as a relative circuit."""
    if not 0 <= position < M.ROWS * M.COLUMNS:
        raise ConfigError(f"Compartment {label!r}: position {position} is outside a logical neuron's "
                          f"{M.ROWS * M.COLUMNS} circuits (0 … {M.ROWS * M.COLUMNS - 1}: row * {M.COLUMNS} + "
                          f"column); use a position inside it")
    return M.CircuitOnLogicalNeuron(position % M.COLUMNS, position // M.COLUMNS)


def conductance_target(value, where: str) -> tuple[str, float]:
    """A conductance target of ``connect_conductance``: ``("g_ns", nS)`` for a conductance,
    ``("tau_ms", ms)`` for a time constant τ_icc (in the view's ms: hardware ms in
    ``bss2emu.brainscales2``, biological ms in ``bss2emu.pynn``)."""
    for unit, kind in ((pq.nS, "g_ns"), (pq.ms, "tau_ms")):
        try:
            v = float(np.asarray(value.rescale(unit).magnitude))
        except ValueError:
            continue
        if not v > 0:
            raise ConfigError(f"{where}: conductance target {value} is not positive; give a conductance (e.g. "
                              f"50 * pq.nS) or a time constant τ_icc (e.g. 4 * pq.us) above 0")
        return kind, v
    raise ConfigError(f"{where}: conductance target {value} is neither a conductance nor a time; give e.g. "
                      f"50 * pq.nS (g_icc) or 4 * pq.us (τ_icc = C / g_icc), or a DAC value 0 … 1022")


class Compartment:
    """One iso-potential compartment: its circuits (``positions``), ``label`` (how projections
    and recordings name it), its circuits on the shared line directly (``connect_shared_line``)
    or through the conductance (``connect_conductance``: ``[(position, DAC value 0 … 1022)]``,
    or a calibration target instead of the value: a conductance ``50 * pq.nS`` or a time
    constant τ_icc ``4 * pq.us``), and parameters of its circuits (one value, or one per
    circuit)."""

    def __init__(self, *, positions, label: str | None = None, connect_shared_line=None, connect_conductance=None,
                 **parameters):
        if label is not None and not isinstance(label, str):
            raise CompartmentTypeError(f"Compartment label {label!r} is not a string; give a str (or leave it out)")
        self.label = label or ""
        self.positions = _ints(positions, "positions", self.label)
        if not self.positions:
            raise CompartmentTypeError(f"Compartment {self.label!r}: positions is empty; a compartment needs at least "
                                       f"one circuit")
        for p in self.positions:
            position_circuit(p, self.label)
        self.connect_shared_line = self._own(_ints(connect_shared_line or [], "connect_shared_line", self.label),
                                             "connect_shared_line")
        self.connect_conductance = self._conductances(connect_conductance)
        both = set(self.connect_shared_line) & {p for p, _ in self.connect_conductance}
        if both:
            raise CompartmentTypeError(f"Compartment {self.label!r}: circuit {min(both)} is in connect_shared_line and "
                                       f"connect_conductance; a circuit connects to the line either directly or "
                                       f"through the conductance: use another circuit of the compartment")
        self.parameters = parameters

    def _own(self, positions: list[int], what: str) -> list[int]:
        for p in positions:
            if p not in self.positions:
                raise CompartmentTypeError(f"Compartment {self.label!r}: {what} lists position {p}, which is not among "
                                           f"its positions {self.positions}; list only the compartment's own circuits")
        return positions

    def _conductances(self, value) -> list[tuple[int, int]]:
        if value is None:
            return []
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise CompartmentTypeError(f"Compartment {self.label!r}: connect_conductance={value!r} is not a sequence; "
                                       f"give [(position, conductance), ...]")
        out = []
        for entry in value:
            if not isinstance(entry, tuple) or len(entry) != 2:
                raise CompartmentTypeError(f"Compartment {self.label!r}: connect_conductance entry {entry!r} is not a "
                                           f"(position, conductance) tuple; give e.g. [({self.positions[0]}, 200)]")
            position, g = entry
            if isinstance(g, pq.Quantity):
                conductance_target(g, f"Compartment {self.label!r}, position {position}")  # checks the unit
                out.append((position, g))
                continue
            g_ok = isinstance(g, (int, float, np.integer, np.floating)) and not isinstance(g, bool)
            if not g_ok or not 0 <= g <= 1022:
                raise ConfigError(f"Compartment {self.label!r}: conductance {g!r} of position {position} is not a DAC "
                                  f"value; give 0 … 1022 (3.3 nS per value), or a target: a conductance (e.g. "
                                  f"50 * pq.nS) or a time constant τ_icc (e.g. 4 * pq.us)")
            out.append((position, int(g)))
        self._own(_ints([p for p, _ in out], "connect_conductance", self.label), "connect_conductance")
        return out

    @property
    def size(self) -> int:
        return len(self.positions)

    def __repr__(self) -> str:
        return f"Compartment(positions={self.positions}, label={self.label!r})"


PlacedCompartment = Compartment  # pynn.brainscales2's newer name


class McCircuitParameters(ArrayParameter):
    """The value of one parameter for every circuit of one multi-compartment neuron: one list
    per compartment, one value per circuit."""

    def __init__(self, value) -> None:  # noqa: D107 - a ragged array: no ArrayParameter.__init__
        self.value = np.array([np.asarray(v) for v in value] + [None], dtype=object)[:-1]

    def max(self):
        return max(np.max(v) for v in self.value)

    def __eq__(self, other):
        if isinstance(other, McCircuitParameters):
            return len(self.value) == len(other.value) and all(
                np.array_equal(a, b) for a, b in zip(self.value, other.value))
        return False

    def __repr__(self) -> str:
        return f"McCircuitParameters({[v.tolist() for v in self.value]})"


class McNeuronBase:
    """Mixin of a multi-compartment cell type over a view's ``HXNeuron`` (``create_mc_neuron``
    makes the class). Parameters are kept per circuit (``circuits_per_neuron`` per logical
    neuron, in ``structure.circuits`` order: the compartments' circuits, then circuits that
    only carry the line)."""

    compartments: dict = {}
    structure: M.LogicalNeuronCompartments
    single_active_circuit = False
    circuits_per_neuron = 0
    circuit_defaults: dict = {}  # parameter -> value per circuit (compartments' parameters over the view's defaults)
    given_per_circuit: dict = {}  # parameter -> per circuit: set by the morphology (wins over initial_config)
    icc_targets: dict = {}  # "g_ns" / "tau_ms" -> per circuit (NaN: a DAC value, no target)

    def __init__(self, **parameters):
        self._circuit_given = {k: v for k, v in parameters.items() if isinstance(v, McCircuitParameters)}
        super().__init__(**{k: v for k, v in parameters.items() if k not in self._circuit_given})
        self.given_parameters = tuple(parameters)

    # --- labels (pynn.brainscales2's class methods) ----------------------------------------
    @classmethod
    def get_labels(cls) -> list[str]:
        return [c.label for c in cls.compartments.values()]

    @classmethod
    def get_label(cls, compartment_id) -> str:
        return cls.compartments[int(compartment_id)].label

    @classmethod
    def get_compartment_ids(cls, labels) -> list[int]:
        """The compartment numbers whose label is one of ``labels`` (a label may name several)."""
        out = []
        for label in ([labels] if isinstance(labels, str) else labels):
            ids = [i for i, c in cls.compartments.items() if c.label == label]
            if not ids:
                raise ConfigError(f"{cls.__name__}: no compartment is labelled {label!r}; its labels are "
                                  f"{cls.get_labels()}")
            out += ids
        return out

    @classmethod
    def compartment_of(cls, location) -> int:
        """The compartment a location names: its label (exactly one compartment) or its number."""
        if isinstance(location, str):
            ids = cls.get_compartment_ids([location])
            if len(ids) > 1:
                raise ConfigError(f"{cls.__name__}: label {location!r} names compartments {ids}; a projection or "
                                  f"recording goes to one: give the compartments distinct labels")
            return ids[0]
        if isinstance(location, (int, np.integer)) and 0 <= int(location) < len(cls.compartments):
            return int(location)
        raise ConfigError(f"{cls.__name__}: location {location!r} is not a compartment; give one of its labels "
                          f"{cls.get_labels()} or a number 0 … {len(cls.compartments) - 1}")

    def can_record(self, variable, location=None) -> bool:
        """Every recordable variable of every compartment (``location``: its number)."""
        return variable in self.recordable and (location is None or 0 <= int(location) < len(self.compartments))

    @classmethod
    def lead_offset(cls, compartment: int) -> int:
        """The position, within a logical neuron's circuits, of the compartment's first circuit
        (where its synapses sit and where it is read)."""
        circuits = cls.structure.circuits
        return circuits.index(cls.structure.compartments[compartment][0])

    # --- parameters per circuit ------------------------------------------------------------
    def per_circuit(self, values: dict, size: int, old: dict | None = None) -> dict[str, np.ndarray]:
        """Parameter values → ``(size, circuits_per_neuron)`` arrays: a number for every
        circuit, a ``McCircuitParameters`` per compartment and circuit, one per neuron of either."""
        k = self.circuits_per_neuron
        out = {}
        for name, value in values.items():
            arr = np.asarray(value, dtype=object) if not isinstance(value, McCircuitParameters) else None
            if arr is None:
                out[name] = np.tile(self._expand(value, name), (size, 1))
            elif arr.ndim == 2 and arr.shape == (size, k):
                out[name] = arr.astype(float)
            else:
                flat = np.broadcast_to(arr, (size,)) if arr.ndim <= 1 else None
                if flat is None:
                    raise ConfigError(f"{type(self).__name__}: {name} has shape {arr.shape}; give a number, a "
                                      f"McCircuitParameters or one of either per neuron ({size})")
                out[name] = np.stack([self._expand(v, name) for v in flat])
        return out

    def _expand(self, value, name: str) -> np.ndarray:
        k = self.circuits_per_neuron
        if not isinstance(value, McCircuitParameters):
            return np.full(k, float(value))
        out = np.array(self.circuit_defaults[name], float)
        comps = self.structure.compartments
        if len(value.value) != len(comps):
            raise ConfigError(f"{type(self).__name__}: {name}={value!r} gives {len(value.value)} compartments, the "
                              f"neuron has {len(comps)}; give one list per compartment")
        circuits = self.structure.circuits
        for comp, v in zip(comps, value.value):
            v = np.broadcast_to(np.asarray(v, float), (len(comp),)) if np.ndim(v) == 0 or len(v) == len(comp) \
                else None
            if v is None:
                raise ConfigError(f"{type(self).__name__}: {name}={value!r}: a compartment of {len(comp)} circuits "
                                  f"needs one value per circuit; give {len(comp)} values")
            out[[circuits.index(c) for c in comp]] = v
        return out

    def from_circuits(self, values: np.ndarray):
        """``(neurons, circuits)`` values as ``Population.get`` returns them: one number if all
        are equal, else a ``McCircuitParameters`` per neuron."""
        if np.all(values == values.flat[0]):
            return values.flat[0]
        circuits = self.structure.circuits

        def of(row):
            return McCircuitParameters([[row[circuits.index(c)] for c in comp] for comp in self.structure.compartments])

        out = np.empty(len(values), dtype=object)
        for i, row in enumerate(values):
            out[i] = of(row)
        return out

    def initial_circuit_values(self, params: dict, size: int) -> dict[str, np.ndarray]:
        """A new population's ``(size, circuits)`` values: the compartments' over the defaults,
        the cell type's parameters over them (``McCircuitParameters`` given to it too)."""
        out = {name: np.tile(np.asarray(v, float), (size, 1)) for name, v in self.circuit_defaults.items()}
        given = {k: params[k] for k in self.given_parameters if k in params and k not in self._circuit_given}
        out.update(self.per_circuit(given, size))
        out.update(self.per_circuit(self._circuit_given, size))
        return out

    def internal_values(self, params: dict, circuits: np.ndarray, population) -> dict[str, np.ndarray]:
        """bss2emu's neuron parameters per circuit (``circuits``: the population's, neuron by
        neuron): the view's ``HXNeuron`` values with the morphology's switches and
        ``single_active_circuit``'s values on top. With the view's initial configuration
        (``setup(initial_config=...)``) a circuit takes the chip's value of a parameter that
        neither the script nor the morphology set for it."""
        size = len(circuits) // self.circuits_per_neuron
        n = len(circuits)
        flat = {k: np.asarray(v, float).reshape(-1) for k, v in params.items()}
        mask = {k: np.ones(n, bool) for k in getattr(population, "set_by_user", ()) if k in flat}
        for name, m in self.given_per_circuit.items():
            mask[name] = mask.get(name, np.zeros(n, bool)) | np.tile(m, size)
        for name, v in _names(self, self.forced_internal(size)).items():
            forced = ~np.isnan(v)
            flat[name] = np.where(forced, v, flat.get(name, v))
            mask[name] = mask.get(name, np.zeros(n, bool)) | forced
        defaults = self.view_defaults(circuits)
        if defaults is None:
            return super().internal_values(flat, circuits, _Given(flat))
        for name, m in mask.items():
            if not m.all() and name in defaults:
                flat[name] = np.where(m, flat[name], defaults[name])
        return super().internal_values(flat, circuits, _Given(mask))

    def calibrated_conductances(self, values: dict, circuits, serial: int, ideal: bool, us_per_ms: float) -> dict:
        """``values`` (bss2emu's parameters per circuit of ``circuits``: the population's, neuron
        by neuron) with the conductance targets of ``connect_conductance`` realised on chip
        ``serial``: ``i_bias_conductance`` and its division or multiplication from the
        conductance calibration (``calib.multicompartment``, measured on the chip, so its
        mismatch is calibrated away). A τ_icc target is in the view's ms (``us_per_ms``
        hardware µs each); a g_icc target is the τ_icc of the nominal 2.3 pF. A target wins
        over a conductance value the script sets for its circuit."""
        if not self.icc_targets:
            return values
        from ..calib import multicompartment as MC

        n = len(np.asarray(values[CONDUCTANCE]))
        size = n // self.circuits_per_neuron
        tau_us = np.tile(self.icc_targets["tau_ms"] * us_per_ms, size)
        g = np.tile(self.icc_targets["g_ns"], size)
        tau_us = np.where(np.isnan(g), tau_us, MC.nominal_c_pf() / (g * 1e-3))
        full = np.full(C.NEURONS_PER_CHIP, np.nan)
        circuits = np.asarray(circuits, np.int64)
        full[circuits] = tau_us
        try:
            settings = MC.conductance_settings(full, serial, ideal)
        except ConfigError as err:
            raise ConfigError(f"{type(self).__name__}: {err}") from None
        out = dict(values)
        want = ~np.isnan(tau_us)
        for name, v in settings.items():
            old = np.asarray(out.get(name, np.zeros(n)), np.int64)
            out[name] = np.where(want, v[circuits], old)
        return out

    def view_defaults(self, circuits):
        """The chip's values on ``circuits`` under the view's names (the view's
        ``circuit_values``), None when runs start from the cell type's defaults."""
        fn = getattr(super(), "circuit_values", None)
        return None if fn is None else fn(circuits)

    def forced_internal(self, size: int) -> dict[str, np.ndarray]:
        """Switches (and ``single_active_circuit``'s values), bss2emu names, one per circuit."""
        sw = self.structure.switch_values()
        out = {name: np.tile(np.asarray(sw[name], float), size) for name in STRUCTURE_SWITCHES}
        if self.single_active_circuit:
            circuits = self.structure.circuits
            first = {comp[0] for comp in self.structure.compartments}
            rest = np.array([c not in first for c in circuits])
            for name, value in SINGLE_ACTIVE_OFF.items():
                out[name] = np.tile(np.where(rest, value, np.nan), size)
        return out


class _Given:
    """What ``internal_values`` of the view's ``HXNeuron`` reads of a population: the
    parameters given (the chip's initial configuration yields to them)."""

    def __init__(self, names) -> None:
        self.set_by_user = set(names)


def _flat_name(cls, internal: str) -> str:
    """The view's name of a bss2emu neuron parameter: its own where the view's ``HXNeuron``
    takes bss2emu's names (``bss2emu.pynn``), else ``lola.AtomicNeuron``'s flattened field
    (``bss2emu.brainscales2``)."""
    view = getattr(cls, "view", cls)
    if internal in view.default_parameters:
        return internal
    return next((f.flat_name for f in ATOMIC_NEURON_FIELDS if f.internal == internal), internal)


def _names(celltype, internal_values: dict) -> dict:
    """Values keyed by bss2emu's parameter names → keyed by the view's names."""
    return {_flat_name(type(celltype), k): v for k, v in internal_values.items()}


def create_mc_neuron(name: str, compartments, connections=None, single_active_circuit: bool = False, *, base=None):
    """A cell type of multi-compartment neurons (pynn.brainscales2's ``create_mc_neuron``):
    ``compartments`` (``Compartment``s, numbered in this order), ``connections``
    (``SharedLineConnection``s), ``single_active_circuit``: only each compartment's first
    circuit has leak, capacitance and threshold. ``base``: the view's ``HXNeuron`` (default
    ``bss2emu.pynn.HXNeuron``). The structure is checked by ``protocol.morphology``'s rules."""
    if base is None:
        from .standardmodels import HXNeuron as base
    if isinstance(compartments, (str, bytes, Compartment)) or not isinstance(compartments, Iterable):
        raise CompartmentTypeError(f"create_mc_neuron({name!r}): compartments={compartments!r} is not a sequence of "
                                   f"Compartment; give a list, e.g. [Compartment(positions=[0], label='soma')]")
    compartments = list(compartments)
    if not compartments or not all(isinstance(c, Compartment) for c in compartments):
        raise CompartmentTypeError(f"create_mc_neuron({name!r}): compartments must be a non-empty list of Compartment, "
                                   f"got {[type(c).__name__ for c in compartments]}")
    if connections is not None and (isinstance(connections, SharedLineConnection) or not isinstance(
            connections, Iterable) or not all(isinstance(c, SharedLineConnection) for c in connections)):
        raise CompartmentTypeError(f"create_mc_neuron({name!r}): connections={connections!r} is not a list of "
                                   f"SharedLineConnection; give e.g. [SharedLineConnection(start=1, stop=2, row=0)]")
    m = M.Morphology()
    for comp in compartments:
        m.create_compartment([position_circuit(p, comp.label) for p in comp.positions])
        for p in comp.connect_shared_line:
            m.connect_to_soma(position_circuit(p))
        for p, _ in comp.connect_conductance:
            m.connect_resistor_to_soma(position_circuit(p))
    for con in connections or ():
        m.connect_soma_line(con.start, con.stop, con.row)
    structure = m.done()
    cls = type(name, (McNeuronBase, base), {"compartments": dict(enumerate(compartments)), "structure": structure,
                                            "single_active_circuit": bool(single_active_circuit),
                                            "circuits_per_neuron": len(structure.circuits), "view": base})
    switches = {_flat_name(cls, s) for s in STRUCTURE_SWITCHES}
    cls.default_parameters = {k: v for k, v in base.default_parameters.items() if k not in switches}
    cls.circuit_defaults, cls.given_per_circuit, cls.icc_targets = _circuit_defaults(cls, compartments, structure)
    return cls


def _circuit_defaults(cls, compartments, structure) -> tuple[dict, dict]:
    circuits = structure.circuits
    k = len(circuits)
    defaults = {n: np.full(k, float(v)) for n, v in cls.default_parameters.items()}
    given: dict[str, np.ndarray] = {}
    targets = {"g_ns": np.full(k, np.nan), "tau_ms": np.full(k, np.nan)}
    conductance = _flat_name(cls, CONDUCTANCE)
    for comp in compartments:
        cols = [circuits.index(position_circuit(p)) for p in comp.positions]
        params = dict(comp.parameters)
        if comp.connect_conductance:
            g = np.asarray(params.get(conductance, 0), float)
            g = np.array(np.broadcast_to(g, (comp.size,)))
            for p, value in comp.connect_conductance:
                if isinstance(value, pq.Quantity):  # a target: the calibration sets the value per chip
                    kind, v = conductance_target(value, f"Compartment {comp.label!r}, position {p}")
                    targets[kind][circuits.index(position_circuit(p))] = v
                    value = 0
                g[comp.positions.index(p)] = value
            params[conductance] = g
        for pname, value in params.items():
            if pname not in defaults:
                raise ConfigError(f"Compartment {comp.label!r}: {pname!r} is not a parameter of {cls.__name__}; use "
                                  f"one of its parameters (e.g. {next(iter(defaults))})")
            v = np.asarray(value, float)
            if v.ndim and len(v) != comp.size:
                raise ConfigError(f"Compartment {comp.label!r}: {pname} has {len(v)} values for {comp.size} circuits; "
                                  f"give one value, or one per circuit")
            defaults[pname][cols] = v
            given.setdefault(pname, np.zeros(k, bool))[cols] = True
    has_target = ~np.isnan(targets["g_ns"]) | ~np.isnan(targets["tau_ms"])
    return defaults, given, (targets if has_target.any() else {})
