"""Plasticity rules from PyNN: ``Timer``, ``PlasticityRule``, observables, ``PlasticSynapse``.

The names are pynn.brainscales2's (``plasticity_rules.py``); both views use this one
implementation, each in its own time axis (bss2emu.pynn: biological ms, bss2emu.brainscales2:
hardware ms). A rule is a Python class with ``kernel(self, ctx)``, run by the PPU of every
chip that holds a part of the rule's projections and populations, every ``timer.period``
from ``timer.start``, ``timer.num_periods`` times. ``ctx`` is the core's
``bss2emu.chip_actor.ppu.PpuContext`` with ``ctx.projections`` (one view per projection of
the rule, in the order they were made: ``weights()``, ``correlation(reset=True)``,
``set_weights``, ``set_enabled``, ``connection`` = the projection's connection indices) and
``ctx.populations`` (one per population whose cell type holds the rule: ``membranes()``,
``spike_counts``, ``rates_hz`` (hardware), ``set_parameter``), ``ctx.time`` in the view's ms and the rule's
parameters as attributes of ``self``. Values are hardware units (weights 0..63, 8-bit
codes, DAC values).

A rule attaches to projections as their synapse type — a class deriving from both
``PlasticityRule`` and ``StaticSynapse``, or ``PlasticSynapse(plasticity_rule=rule)`` —
and to populations through the cell type's ``plasticity_rule=``. Observables declared with
``observables={name: ObservablePerSynapse() | ObservablePerNeuron() | ObservableArray()}``
are recorded by the kernel with ``ctx.record_observable(name, value)``: per synapse one
array per projection (of the view's synapses), per neuron one per population, an array as
it is; after the run ``rule.get_observable_array(name)``, ``projection.get_data(name)`` and
``population.get_plasticity_data(name)`` return them with their times.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..chip_actor.ppu import SynapseView
from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.sensor_use import reads_correlation
from . import simulator
from .exceptions import NoModelAvailableError


class Timer:
    """When a rule runs: first at ``start``, then every ``period`` (ms of the view),
    ``num_periods`` times. Other keyword arguments are kept in ``parameters``."""

    def __init__(self, **parameters):
        missing = [k for k in ("start", "period", "num_periods") if k not in parameters]
        if missing:
            raise ConfigError(f"Timer(): {', '.join(missing)} missing; give start and period (ms) and num_periods")
        self.start, self.period = float(parameters.pop("start")), float(parameters.pop("period"))
        self.num_periods = int(parameters.pop("num_periods"))
        if self.period <= 0 or self.start < 0 or self.num_periods < 0:
            raise ConfigError(f"Timer(start={self.start:g}, period={self.period:g}, num_periods={self.num_periods}): "
                              f"the period must be > 0, start and num_periods >= 0")
        self.parameters = parameters


class _Type(enum.Enum):
    int8 = "int8"
    uint8 = "uint8"
    int16 = "int16"
    uint16 = "uint16"


class ObservablePerSynapse:
    """A value per synapse of each of the rule's projections, recorded at every run."""

    Type = _Type

    class LayoutPerRow(enum.Enum):
        complete_rows = "complete_rows"
        packed_active_columns = "packed_active_columns"

    def __init__(self, type=_Type.uint8, layout_per_row=LayoutPerRow.packed_active_columns):  # noqa: A002
        self.type, self.layout_per_row = type, layout_per_row


class ObservablePerNeuron:
    """A value per neuron of each of the rule's populations, recorded at every run."""

    Type = _Type

    class Layout(enum.Enum):
        complete_row = "complete_row"
        packed_active_columns = "packed_active_columns"

    def __init__(self, type=_Type.uint8, layout=Layout.packed_active_columns):  # noqa: A002
        self.type, self.layout = type, layout


class ObservableArray:
    """An array of ``size`` values the kernel fills as it likes, recorded at every run."""

    Type = _Type

    def __init__(self, type=_Type.uint8, size: int = 0):  # noqa: A002
        self.type, self.size = type, int(size)


class SampleTime(float):
    """A sample's time in ms of the view; ``value()`` gives it in FPGA clock cycles (125 MHz),
    as pynn.brainscales2's recorded times count."""

    def __new__(cls, ms: float, us_per_ms: float = 1.0):
        obj = super().__new__(cls, ms)
        obj.us_per_ms = us_per_ms
        return obj

    def __reduce__(self):
        return SampleTime, (float(self), self.us_per_ms)

    def value(self) -> int:
        return int(round(float(self) * self.us_per_ms * 125))


@dataclass
class ObservableSample:
    """One recorded sample: ``time`` (ms of the view) and ``data`` (a numpy array)."""

    time: float
    data: np.ndarray


_RULE_OWN = ("timer", "observables", "same_id", "rule_parameters", "_recording")


class PlasticityRule:
    """Base of plasticity rules: subclass it and define ``kernel(self, ctx)`` (module doc).

    ``PlasticityRule(timer, observables=None, same_id=0, **parameters)``: ``parameters``
    (``target=60``) become attributes the kernel reads; with ``StaticSynapse`` as a second
    base, its parameters (``weight``, ``delay``) go to the synapse type."""

    ObservablePerSynapse = ObservablePerSynapse
    ObservablePerNeuron = ObservablePerNeuron
    ObservableArray = ObservableArray

    def __init__(self, timer: Timer | None = None, observables: dict | None = None, same_id: int = 0, **parameters):
        from pyNN.standardmodels import StandardSynapseType

        if not isinstance(timer, Timer):
            raise ConfigError(f"{type(self).__name__}(timer={timer!r}): give a Timer(start=..., period=..., "
                              f"num_periods=...)")
        synapse = {}
        if isinstance(self, StandardSynapseType):
            synapse = {k: parameters.pop(k) for k in list(parameters) if k in self.default_parameters}
            super().__init__(**synapse)
        self.timer, self.same_id = timer, int(same_id)
        self.observables = dict(observables or {})
        for name, obs in self.observables.items():
            if not isinstance(obs, (ObservablePerSynapse, ObservablePerNeuron, ObservableArray)):
                raise ConfigError(f"{type(self).__name__}: observable {name!r} is {obs!r}; give "
                                  f"PlasticityRule.ObservablePerSynapse(), ObservablePerNeuron() or ObservableArray()")
        self.rule_parameters = {**timer.parameters, **parameters}
        for key, value in self.rule_parameters.items():
            setattr(self, key, value)
        self._recording: dict[str, list] | None = None
        simulator.state.plasticity_rules.append(self)

    def kernel(self, ctx) -> None:
        """The rule: read ``ctx``'s observables, write its controllables (override it)."""
        raise NoModelAvailableError(f"plasticity rule {type(self).__name__} defines no kernel(self, ctx); define it "
                                    f"in Python, or return the rule's PPU C++ from generate_kernel()")

    def generate_kernel(self) -> str:
        """PPU C++ of the rule (pynn.brainscales2's interface); a rule overriding it and not
        ``kernel`` runs as compiled C++ (``kernel_function``)."""
        return ""

    def get_observable_array(self, observable: str) -> list[ObservableSample]:
        """An ``ObservableArray``'s samples: one per run of the kernel, each with ``.time``
        (ms) and ``.data`` (the arrays of every chip the rule ran on, in chip order)."""
        obs = self.observables.get(observable)
        if obs is None:
            raise RuntimeError(f"plasticity rule {type(self).__name__} has no observable {observable!r}; it has "
                               f"{sorted(self.observables)}")
        if not isinstance(obs, ObservableArray):
            raise TypeError(f"observable {observable!r} is not an ObservableArray: use projection.get_data("
                            f"{observable!r}) (per synapse) or population.get_plasticity_data({observable!r}) "
                            f"(per neuron)")
        return self._samples(observable)

    def _samples(self, observable: str) -> list:
        if self._recording is None:
            raise RuntimeError("plasticity rule observables are only available after a run")
        return self._recording.get(observable, [])


class PlasticityRuleHandle:
    """A cell or synapse type that holds a rule (``plasticity_rule=``)."""

    def __init__(self, plasticity_rule: PlasticityRule | None = None, **parameters):
        super().__init__(**parameters)
        self.plasticity_rule = plasticity_rule


def rule_of(obj) -> PlasticityRule | None:
    """The rule a synapse or cell type carries: itself (a rule mixed into a synapse type)
    or its ``plasticity_rule``."""
    if isinstance(obj, PlasticityRule):
        return obj
    rule = getattr(obj, "plasticity_rule", None)
    if rule is not None and not isinstance(rule, PlasticityRule):
        raise ConfigError(f"{type(obj).__name__}(plasticity_rule={rule!r}): give a PlasticityRule instance")
    return rule


def _overrides(rule, name: str) -> bool:
    return getattr(type(rule), name) is not getattr(PlasticityRule, name)


def kernel_function(rule: PlasticityRule):
    """The callable ``f(self, ctx)`` that runs ``rule``: its Python ``kernel`` or, for a rule
    that overrides ``generate_kernel()`` and not ``kernel``, its PPU C++ compiled for the host
    (``run_cpp``)."""
    if _overrides(rule, "kernel"):
        return type(rule).kernel
    if _overrides(rule, "generate_kernel"):
        return run_cpp
    raise NoModelAvailableError(f"plasticity rule {type(rule).__name__} defines no kernel(self, ctx) and no "
                                f"generate_kernel(): define the rule in Python (kernel) or return its PPU C++ "
                                f"(generate_kernel)")


def _cpp_observables(rule: PlasticityRule) -> dict:
    """The rule's observables as ``CppKernel`` takes them (grenade's types and layouts)."""
    out = {}
    for name, obs in rule.observables.items():
        if isinstance(obs, ObservablePerSynapse):
            out[name] = {"kind": "synapse", "type": obs.type.value, "layout": obs.layout_per_row.value}
        elif isinstance(obs, ObservablePerNeuron):
            out[name] = {"kind": "neuron", "type": obs.type.value, "layout": obs.layout.value}
        else:
            out[name] = {"kind": "array", "type": obs.type.value, "size": obs.size}
    return out


def run_cpp(rule: PlasticityRule, ctx) -> None:
    """Run ``rule.generate_kernel()``'s C++ on this PPU (``chip_actor.cpp_kernel.CppKernel``,
    compiled once per source, one per chip as every PPU runs its own copy of the rule): its
    synapse handles are the rule's projections in order, its neuron handles its populations.
    Per-synapse and per-neuron observables come back in the kernel's own layout."""
    from ..chip_actor.cpp_kernel import CppKernel

    views = (tuple(ctx.projections), tuple(ctx.populations))
    state = rule.__dict__.get("_cpp")
    if state is None:
        kernel = CppKernel(rule.generate_kernel(), type(rule).__name__, [v.name for v in views[0]],
                           [v.name for v in views[1]], _cpp_observables(rule))
        state = rule._cpp = {"kernel": kernel, "key": None, "maps": None}
    key = tuple(id(v.row) for v in views[0]) + tuple(id(v.circuits) for v in views[1])
    if state["key"] != key:  # the merged views of this chip (the same arrays every run): map them once
        state["key"] = key
        state["maps"] = ({v.name: (v.hemisphere, v.row, v.column) for v in views[0]},
                         {v.name: v.circuits for v in views[1]})
    ctx.synapses, ctx.placement = state["maps"]
    state["kernel"](ctx)


class RuleKernel:
    """What a chip's PPU runs for one rule (picklable: a copy of the rule without its
    projections and populations, and the maps from the experiment's parts to them).

    ``parts[i]``: the experiment projections of the rule's i-th projection, each with its
    connections' indices in the PyNN projection; ``sizes``: connections per projection and
    neurons per population (for observables, recorded full length, NaN off this chip)."""

    def __init__(self, rule: PlasticityRule, function, parts: list[list[tuple[str, np.ndarray]]],
                 populations: list[str], sizes: tuple[list[int], list[int]], us_per_ms: float) -> None:
        bare = object.__new__(type(rule))
        bare.__dict__.update({k: v for k, v in rule.__dict__.items()
                              if k in _RULE_OWN or k in rule.rule_parameters or not _is_pynn(v)})
        bare._recording = None
        self.rule, self.function, self.parts, self.populations = bare, function, parts, populations
        self.sizes, self.us_per_ms = sizes, us_per_ms
        self._merged = None  # per chip (each PPU runs its own copy): the merged views' index arrays

    @property
    def reads_correlation(self) -> bool:
        """Whether the rule reads the correlation sensors (``protocol.sensor_use``): a C++
        kernel if its source names them, a Python one by its ``reads_correlation`` attribute
        or its code."""
        if self.function is run_cpp:
            return "correlation" in self.rule.generate_kernel()
        return reads_correlation(self.rule)  # (its class's methods: the kernel and its helpers)

    def __call__(self, ctx) -> None:
        if self._merged is None:  # the layout of this chip stays for the run: merge once
            views = {v.name: v for v in ctx.projections}
            self._merged = []
            for i, part in enumerate(self.parts):
                if not part:  # a projection without connections
                    empty = np.zeros(0, np.int64)
                    self._merged.append((empty, empty, empty, empty, empty))
                    continue
                first, *rest = [views[name] for name, _ in part]
                m = first.merged(rest, [conn for _, conn in part], name=str(i))
                self._merged.append((m.hemisphere, m.row, m.column, m.connection, m.flat))
        ctx.projections = [SynapseView(ctx, str(i), *m) for i, m in enumerate(self._merged)]
        ctx.time = ctx.time_us / self.us_per_ms
        record = ctx.record_observable
        full = self._full_cpp if self.function is run_cpp else self._full
        ctx.record_observable = lambda name, value: record(name, full(name, value, ctx))
        self.function(self.rule, ctx)

    def _full_cpp(self, name: str, value, ctx):
        """A C++ kernel's per-synapse or per-neuron observable — one array per view handle, in
        grenade's layout (``cpp_kernel.decode_recordings``: the handles are the rule's
        projections/populations in order, each split by hemisphere, top first; rows and
        columns sorted) — as ``_full`` gives a Python kernel's: a value per connection or
        neuron, NaN off this chip."""
        obs = self.rule.observables.get(name)
        if obs is None or isinstance(obs, ObservableArray):
            return value
        per_synapse = isinstance(obs, ObservablePerSynapse)
        parts = iter(value)
        out = []
        for view, size in zip(ctx.projections if per_synapse else ctx.populations,
                              self.sizes[0] if per_synapse else self.sizes[1]):
            full = np.full(size, np.nan)
            if per_synapse:
                packed = obs.layout_per_row is ObservablePerSynapse.LayoutPerRow.packed_active_columns
                hemisphere, where = view.hemisphere, view.connection
            else:
                packed = obs.layout is ObservablePerNeuron.Layout.packed_active_columns
                hemisphere, where = view.circuits // C.COLUMNS_PER_HEMISPHERE, view.indices
            column = view.column if per_synapse else view.circuits % C.COLUMNS_PER_HEMISPHERE
            for h in (0, 1):
                on = hemisphere == h
                if not on.any():
                    continue
                part = np.asarray(next(parts))
                c = np.searchsorted(np.unique(column[on]), column[on]) if packed else column[on]
                if per_synapse:
                    r = np.searchsorted(np.unique(view.row[on]), view.row[on])
                    full[where[on]] = part[r, c]
                else:
                    full[where[on]] = part[c]
            out.append(full)
        return np.concatenate(out) if out else np.zeros(0)

    def _full(self, name: str, value, ctx):
        """A per-synapse or per-neuron observable as full-length arrays (NaN where the
        connection or neuron is on another chip), concatenated over projections/populations."""
        obs = self.rule.observables.get(name)
        if obs is None:
            raise ConfigError(f"plasticity rule {type(self.rule).__name__}: record_observable({name!r}) names no "
                              f"declared observable; declare it in observables= (known: "
                              f"{sorted(self.rule.observables)})")
        if isinstance(obs, ObservableArray):
            return value
        per_synapse = isinstance(obs, ObservablePerSynapse)
        views = ctx.projections if per_synapse else ctx.populations
        sizes = self.sizes[0] if per_synapse else self.sizes[1]
        parts = [value] if len(views) == 1 and np.ndim(value) == 1 and not isinstance(value, list) else list(value)
        if len(parts) != len(views):
            raise ConfigError(f"plasticity rule {type(self.rule).__name__}: observable {name!r} needs one array per "
                              f"{'projection' if per_synapse else 'population'} ({len(views)}), got {len(parts)}")
        out = []
        for view, size, part in zip(views, sizes, parts):
            full = np.full(size, np.nan)
            where = view.connection if per_synapse else view.indices
            full[where] = np.broadcast_to(np.asarray(part, float), (len(where),))
            out.append(full)
        return np.concatenate(out) if out else np.zeros(0)


def _is_pynn(value) -> bool:
    """PyNN objects (parameter spaces, projections) stay out of the rule's copy on the PPU."""
    module = type(value).__module__ or ""
    return module.startswith(("pyNN", "lazyarray", "bss2emu.pynn", "bss2emu.brainscales2"))
