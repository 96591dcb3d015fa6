"""The experiment description: network graph + stimulus + recording + plasticity + runtime.

Pydantic models with ``extra="forbid"`` and the hardware ranges as field bounds; the same
models validate YAML/JSON experiment files (``load_experiment``) and export a JSON Schema
(``Experiment.model_json_schema()``). Every validation failure is a ``ConfigError`` that
names the field, the value, the limit and the fix. Units are hardware units: times in
hardware µs (1 µs ≙ 1 ms biological), neuron parameters as DAC/digital values, weights 0..63.

>>> exp = Experiment(name="demo", runtime_us=50, populations=[{"name": "p", "size": 2}],
...                  sources=[{"kind": "spike_array", "name": "s", "size": 1, "spike_times_us": [[5.0]]}],
...                  projections=[{"pre": "s", "post": "p", "weight": 63}])
>>> exp.projections[0].label
's→p'
>>> Experiment(name="bad", runtime_us=50, populations=[{"name": "p", "size": 2, "params": {"v_leak": 2000}}])
Traceback (most recent call last):
...
bss2emu.protocol.experiment.InvalidExperimentError: invalid experiment: populations[0].params.v_leak = 2000: Input should be less than or equal to 1022; use a smaller value
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ImportString,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    create_model,
    field_serializer,
    field_validator,
    model_validator,
)

from ..errors import ConfigError
from . import coordinates as C
from .frozen import FrozenList
from .hardware import MADC_SOURCES, NEURON_PARAMETERS
from .loader import read_experiment_data
from .sensor_use import reads_correlation

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+( [^\s]+)*$")]
TimeUs = Annotated[float, Field(ge=0.0, le=1e7, allow_inf_nan=False)]


class InvalidExperimentError(ConfigError):
    """Validation failed; ``items`` lists ``(location, message)`` for every problem."""

    def __init__(self, what: str, items: list[tuple[tuple, str]]) -> None:
        self.what, self.items = what, items
        super().__init__(f"invalid {what}: " + "; ".join(f"{_fmt_loc(l)}{m}" for l, m in items))

    def __reduce__(self):
        return (type(self), (self.what, self.items))


def _fmt_loc(loc: tuple) -> str:
    s = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{s} " if s else ""


def _is_union_tag(part) -> bool:
    # pydantic names the branch of a union it tried ("constrained-int", "list[int]", ...)
    return isinstance(part, str) and ("-" in part or "[" in part or part in ("int", "float", "str", "none"))


def _explain(err: ValidationError, what: str) -> InvalidExperimentError:
    items: dict[tuple, str] = {}
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not _is_union_tag(p))
        ctx = e.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, InvalidExperimentError):
            for l2, msg in inner.items:
                items.setdefault(loc + l2, msg)
            continue
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            text = "is missing; add it"
        elif e["type"] == "extra_forbidden":
            text = "is not a known field; remove it or check its spelling (see `bss2emu schema`)"
        elif e["type"] == "finite_number":
            text = f"= {e.get('input')!r}: NaN and infinity are not allowed here; give a finite number"
        else:
            value = e.get("input")
            shown = "" if isinstance(value, (dict, list)) and len(repr(value)) > 60 else f"= {value!r}: "
            if "ge" in ctx and "le" in ctx:
                limit = f" (range {ctx['ge']}..{ctx['le']}); use a value in range"
            elif "le" in ctx or "lt" in ctx:
                limit = "; use a smaller value"
            elif "ge" in ctx or "gt" in ctx:
                limit = "; use a larger value"
            elif e["type"] == "literal_error":
                limit = "; use one of these"
            else:
                limit = ""
            text = f"{shown if e['type'] != 'value_error' else ''}{msg}{limit}"
        # a union reports every branch: keep the most specific message per location
        if loc not in items or ("ge" in ctx or "le" in ctx):
            items[loc] = text
    return InvalidExperimentError(what, list(items.items()))


def _non_string_key(obj: Any, loc: tuple):
    """The location and key of the first non-string mapping key in nested data, or None."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                return loc, k
            found = _non_string_key(v, loc + (k,))
            if found is not None:
                return found
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found = _non_string_key(v, loc + (i,))
            if found is not None:
                return found
    return None


def _holds_bool(value: Any) -> bool:
    """Whether ``value`` is a bool or a list holding one (at any depth)."""
    if isinstance(value, bool):
        return True
    return isinstance(value, list) and any(_holds_bool(v) for v in value)


def _takes_bool(annotation: Any) -> bool:
    """Whether a field's type admits a bool anywhere (``bool`` itself, ``Any``)."""
    if annotation is bool or annotation is Any:
        return True
    return any(_takes_bool(a) for a in typing.get_args(annotation) if not isinstance(a, (str, int, float)))


class _Model(BaseModel):
    """Base: forbid unknown fields and NaN/inf, refuse a bool where a number is expected
    (pydantic would take ``true`` as 1), turn pydantic's errors into ``ConfigError``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, data: Any):
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if field is not None and _holds_bool(value) and not _takes_bool(field.annotation):
                    shown = repr(value) if len(repr(value)) <= 60 else "a list with true/false"
                    raise ValueError(f"{name} = {shown}: true/false where a number is expected (it would count "
                                     f"as 1/0); write the number")
        return data

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise _explain(err, type(self).__name__.lower()) from None

    @classmethod
    def model_validate(cls, obj: Any, **kw: Any):  # type: ignore[override]
        bad = _non_string_key(obj, ())
        if bad is not None:
            raise InvalidExperimentError(cls.__name__.lower(), [(bad[0], f"key {bad[1]!r} is not a field name; "
                                                                          f"field names are strings")])
        try:
            return super().model_validate(obj, **kw)
        except ValidationError as err:
            raise _explain(err, cls.__name__.lower()) from None


def _neuron_field(p):
    value = Annotated[int, Field(ge=0, le=p.maximum)]
    return (Union[value, list[value], None], Field(None, description=f"{p.doc} [0..{p.maximum}]"))


NeuronParams = create_model(
    "NeuronParams",
    __base__=_Model,
    **{p.name: _neuron_field(p) for p in NEURON_PARAMETERS},
)
NeuronParams.__doc__ = (
    "Hardware parameters of a population's neuron circuits: one value for all, or a list "
    "with one per neuron. Unset fields keep the hardware defaults."
)


class Population(_Model):
    """A group of AdEx neuron circuits on the chip."""

    name: Name
    size: int = Field(ge=1, le=C.NEURONS_PER_CHIP * 1024)
    params: NeuronParams = Field(default_factory=NeuronParams)  # type: ignore[valid-type]
    record_spikes: bool = True
    chip: int | None = Field(None, ge=0, le=4095, description="pin the population to this chip (multi-chip)")
    circuits: list[Annotated[int, Field(ge=0, lt=C.NEURONS_PER_CHIP)]] | None = Field(
        None, description="pin the neurons to these circuits of their chip, one each (pynn.brainscales2's "
                          "neuronPermutation); on a multi-chip system give chip too")

    @model_validator(mode="after")
    def _lists_match_size(self):
        for key, val in self.params.model_dump(exclude_none=True).items():
            if isinstance(val, list) and len(val) != self.size:
                raise ValueError(
                    f"population {self.name!r}: params.{key} has {len(val)} values for {self.size} "
                    f"neurons; give one value or exactly {self.size}")
        if self.circuits is not None and (len(self.circuits) != self.size
                                          or len(set(self.circuits)) != len(self.circuits)):
            raise ValueError(f"population {self.name!r}: circuits lists {len(self.circuits)} circuits "
                             f"({len(set(self.circuits))} distinct) for {self.size} neurons; give one distinct "
                             f"circuit per neuron")
        return self


class SpikeArraySource(_Model):
    """External spike times played back by the FPGA, one list per source neuron (µs)."""

    kind: Literal["spike_array"] = "spike_array"
    name: Name
    size: int = Field(ge=1, le=8192)
    spike_times_us: list[list[TimeUs]]

    @model_validator(mode="after")
    def _one_list_per_neuron(self):
        if len(self.spike_times_us) != self.size:
            raise ValueError(f"source {self.name!r}: spike_times_us has {len(self.spike_times_us)} "
                             f"lists for size {self.size}; give one list per neuron")
        return self


class PoissonSource(_Model):
    """External Poisson spike trains generated on the host and played back by the FPGA."""

    kind: Literal["poisson"] = "poisson"
    name: Name
    size: int = Field(ge=1, le=8192)
    rate_khz: float = Field(gt=0.0, le=1000.0, description="rate per neuron, kHz hardware (≙ Hz bio)")
    start_us: TimeUs = 0.0
    stop_us: TimeUs | None = None


class BackgroundSource(_Model):
    """One on-chip background generator; ``size`` labels (a power of two ≤ 64) via the
    label randomisation mask. ``period`` in 250 MHz cycles; Poisson emits with p=rate/256."""

    kind: Literal["background"] = "background"
    name: Name
    size: Literal[1, 2, 4, 8, 16, 32, 64] = 1
    mode: Literal["regular", "poisson"] = "poisson"
    period: int = Field(ge=1, le=0xFFFF)
    rate: int = Field(128, ge=0, le=0xFF)
    seed: int | None = Field(None, ge=1, le=0xFFFFFFFF)
    start_us: TimeUs = 0.0
    stop_us: TimeUs | None = None


Source = Annotated[Union[SpikeArraySource, PoissonSource, BackgroundSource], Field(discriminator="kind")]


class AllToAll(_Model):
    kind: Literal["all_to_all"] = "all_to_all"
    allow_self_connections: bool = True


class OneToOne(_Model):
    kind: Literal["one_to_one"] = "one_to_one"


class FixedProbability(_Model):
    kind: Literal["fixed_probability"] = "fixed_probability"
    p: float = Field(ge=0.0, le=1.0)
    allow_self_connections: bool = True


class FixedNumberPre(_Model):
    """Each post neuron gets ``n`` distinct pre neurons, drawn at random."""

    kind: Literal["fixed_number_pre"] = "fixed_number_pre"
    n: int = Field(ge=0)
    allow_self_connections: bool = True


class FromList(_Model):
    """Explicit ``[pre, post]`` or ``[pre, post, weight]`` connections.

    Validation makes them lists that cannot change (``frozen.FrozenList``): what routing
    reads of validated connections (their digest, their weights) is read once for all runs
    (``read_once``). Change them by assigning a new list (``connector.connections = [...]``,
    validated again)."""

    kind: Literal["from_list"] = "from_list"
    connections: list[Annotated[list[Annotated[int, Field(ge=0, le=2**20)]], Field(min_length=2, max_length=3)]]
    _validated: Any = PrivateAttr(default=None)  # the connections as validation made them
    _read: dict = PrivateAttr(default_factory=dict)  # what -> (connections, what was read of them)

    @field_validator("connections", mode="after")
    @classmethod
    def _freeze(cls, rows: list) -> FrozenList:
        return FrozenList(map(FrozenList, rows))

    @model_validator(mode="after")
    def _keep_validated(self) -> "FromList":
        c = self.connections
        # (pydantic also runs this for an instance made without validation that it passes
        # through unchanged: only frozen rows count)
        if type(c) is FrozenList and (not c or set(map(type, c)) == {FrozenList}):
            self._validated = c
        return self

    @property
    def immutable(self) -> bool:
        """Whether the connections are the frozen ones validation made (not set without it)."""
        # (private attributes through ``__pydantic_private__``: ``self._validated`` takes
        # pydantic's ``__getattr__``, several times as long, and routing asks every run)
        return self.connections is self.__pydantic_private__["_validated"]

    def __eq__(self, other: object) -> bool:
        # the connections only (pydantic would compare what was read of them too)
        if not isinstance(other, FromList):
            return NotImplemented
        return self.connections == other.connections

    def read_once(self, what: Hashable, read: Callable[[Sequence], Any]) -> Any:
        """``read(connections)``, kept for the next call with the same ``what`` while the
        connections are the immutable ones validation made; read every time where they were
        set without validation (``model_construct``, ``model_copy(update=...)``: a list may
        be edited in place)."""
        c = self.connections
        if not self.immutable:
            return read(c)
        kept = self.__pydantic_private__["_read"]
        got = kept.get(what)
        if got is None or got[0] is not c:  # (copies of the model share the dict)
            got = kept[what] = (c, read(c))
        return got[1]


Connector = Annotated[
    Union[AllToAll, OneToOne, FixedProbability, FixedNumberPre, FromList], Field(discriminator="kind")
]


class ShortTermPlasticity(_Model):
    """Tsodyks–Markram STP of the synapse drivers this projection's sources use."""

    mode: Literal["depression", "facilitation"] = "depression"
    utilisation: int = Field(7, ge=0, le=C.STP_PARAMETER_MAX, description="U = (value+1)/16")
    recovery: int = Field(8, ge=0, le=C.STP_PARAMETER_MAX, description="tau = 2 µs · 2**(value/2)")
    voltage_set: int = Field(0, ge=0, le=1)


class Projection(_Model):
    """Synaptic connections from a source or population onto a population."""

    name: Name | None = None
    pre: Name
    post: Name
    connector: Connector = Field(default_factory=AllToAll)
    weight: int = Field(ge=0, le=C.WEIGHT_MAX, description="6-bit hardware weight")
    receptor: Literal["excitatory", "inhibitory"] = "excitatory"
    stp: ShortTermPlasticity | None = None
    delay_us: float | None = Field(
        None, ge=0.0, le=1000.0,
        description="axonal delay, µs hardware; realised by the FPGA, so at least one route latency "
                    "(None: direct on-chip, the network's latency across chips)")

    @property
    def label(self) -> str:
        return self.name or f"{self.pre}→{self.post}"


class MadcRecording(_Model):
    """Record one neuron with the MADC at every ``every_steps`` step: its membrane (10-bit
    codes), excitatory or inhibitory synaptic input, or adaptation (units in
    ``ChipConfig.madc_unit``). ``Recordings.madc`` may hold two: the MADC then alternates
    between them sample by sample (``hardware.ReadoutConfig``)."""

    population: Name
    index: int = Field(0, ge=0)
    every_steps: int = Field(1, ge=1, le=1000)
    source: Literal[MADC_SOURCES] = Field(  # type: ignore[valid-type]
        "membrane", description="what the MADC reads: " + ", ".join(MADC_SOURCES))


class CadcRecording(_Model):
    """Sample all membranes with the 8-bit CADC every ``period_us``."""

    period_us: float = Field(gt=0.0, le=1e6)


class Recordings(_Model):
    madc: MadcRecording | None = None
    madc_second: MadcRecording | None = Field(
        None, description="the MADC's second channel: another neuron, sampled alternately with madc's")
    cadc: CadcRecording | None = None
    correlation: bool = Field(False, description="run the causal/acausal correlation sensors")
    tau_corr_us: float = Field(5.0, gt=0.0, le=1000.0, description="the sensors' time constant (µs)")
    corr_amplitude_codes: float = Field(
        20.0, gt=0.0, le=255.0,
        description="the sensors' amplitude: CADC codes one pre/post pair at Δt = 0 adds (a calix correlation "
                    "calibration sets it and tau_corr_us, e.g. 1.5 codes and 30 µs)")


    def madc_channels(self) -> list[MadcRecording]:
        """The MADC's channels in sampling order (none, one or two)."""
        return [r for r in (self.madc, self.madc_second) if r is not None]

    @model_validator(mode="after")
    def _madc_fits(self):
        a, b = self.madc, self.madc_second
        if b is not None and a is None:
            raise ValueError("recordings.madc_second is given without recordings.madc: the MADC's first channel "
                             "comes first; move the recording to recordings.madc")
        if b is not None:
            if (a.population, a.index) == (b.population, b.index):
                raise ValueError(f"recordings.madc and madc_second both record neuron {a.index} of {a.population!r} "
                                 f"({a.source} and {b.source}): the MADC reads one source per neuron; record the "
                                 f"second source on another neuron")
            if a.every_steps != b.every_steps:
                raise ValueError(f"recordings.madc and madc_second sample every {a.every_steps} and {b.every_steps} "
                                 f"steps: the MADC has one sample clock for both channels; give both the same "
                                 f"every_steps")
        return self


_IMPORT = TypeAdapter(ImportString)


class PlasticityRule(_Model):
    """A user kernel run by the PPU every ``period_us``: ``kernel(ctx)`` where ``ctx`` is a
    ``bss2emu.chip_actor.ppu.PpuContext``; ``params`` are passed as ``ctx.params``.

    ``kernel`` is a dotted path (``'my_rules.stdp'``, what experiment files hold) or, for
    experiments built in Python, the callable itself — a function or an object with
    ``__call__`` (it is copied to every chip's PPU, and pickled by value to Ray workers, so
    one defined in a script works there too). ``projections``/``populations`` name what the
    kernel sees as ``ctx.projections``/``ctx.populations`` (the parts placed on its chip);
    ``num_periods`` limits how often it runs (None: until the end)."""

    name: Name
    kernel: Annotated[Any, Field(description="dotted path of a function kernel(ctx), or the callable")]
    period_us: float = Field(gt=0.0, le=1e7)
    start_us: TimeUs | None = None
    num_periods: int | None = Field(None, ge=0)
    params: dict[str, Any] = Field(default_factory=dict)
    projections: list[Name] = Field(default_factory=list)
    populations: list[Name] = Field(default_factory=list)

    @field_validator("kernel", mode="before")
    @classmethod
    def _dotted_path(cls, value: Any):
        if isinstance(value, str):
            # pydantic's import raises TypeError (not a validation error) on "." or "..x"
            if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*)?", value):
                raise ValueError(f"{value!r} is not a Python path; give one like 'my_rules.stdp' "
                                 f"(a module and a function in it)")
            if cls.model_fields["kernel"].annotation is str:  # a model that only names kernels (the service's)
                return value
            value = _IMPORT.validate_python(value)
        if not callable(value):
            raise ValueError(f"kernel {value!r} is not callable; give a function kernel(ctx) or its dotted path")
        return value

    @property
    def reads_correlation(self) -> bool:
        """Whether the kernel reads the correlation sensors (``sensor_use.reads_correlation``):
        the chips run them only then, or when the experiment records them."""
        return reads_correlation(self.kernel)

    @field_serializer("kernel", when_used="json")
    def _kernel_path(self, kernel: Any) -> str:
        """A file or the experiment service names the kernel by its dotted path."""
        if isinstance(kernel, str):
            return kernel
        module, name = getattr(kernel, "__module__", None), getattr(kernel, "__qualname__", "")
        if not module or not name or "<" in name or module == "__main__":
            raise ConfigError(f"plasticity rule {self.name!r}: kernel {kernel!r} exists only in this process, so it "
                              f"cannot be written to a file or sent to a service; define it as a function in an "
                              f"importable module and give its dotted path ('my_rules.stdp')")
        return f"{module}.{name}"


class NeuronWrite(_Model):
    """At ``time_us`` set a neuron parameter of (some of) a population's circuits."""

    kind: Literal["neuron"] = "neuron"
    time_us: TimeUs
    population: Name
    parameter: str
    value: int = Field(ge=0, le=C.DAC_MAX)
    indices: list[Annotated[int, Field(ge=0)]] | None = None


class WeightWrite(_Model):
    """At ``time_us`` set every weight of a projection to ``weight``, or with ``weights`` one
    per connection (in the order of the projection's connections). With ``indices``
    (positions in the projection's connection list) only those connections: ``weight`` for
    all of them or ``weights`` one per index; the others keep theirs."""

    kind: Literal["weight"] = "weight"
    time_us: TimeUs
    projection: Name
    weight: int | None = Field(None, ge=0, le=C.WEIGHT_MAX)
    weights: list[Annotated[int, Field(ge=0, le=C.WEIGHT_MAX)]] | None = None
    indices: list[Annotated[int, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.weight is None) == (self.weights is None):
            raise ValueError(f"weight write at {self.time_us} µs: give weight (one for all) or weights (one per "
                             f"connection), not {'both' if self.weight is not None else 'neither'}")
        if self.indices is not None and self.weights is not None and len(self.weights) != len(self.indices):
            raise ValueError(f"weight write at {self.time_us} µs: {len(self.weights)} weights for "
                             f"{len(self.indices)} indices; give one weight per index")
        return self


class ConnectionWrite(_Model):
    """At ``time_us`` connect (``enabled``) or disconnect a projection's connections — all,
    or those at ``indices`` (positions in the projection's connection list): topology
    changed inside the run. A disconnected synapse keeps its weight."""

    kind: Literal["connection"] = "connection"
    time_us: TimeUs
    projection: Name
    enabled: bool
    indices: list[Annotated[int, Field(ge=0)]] | None = None


TimedWrite = Annotated[Union[NeuronWrite, WeightWrite, ConnectionWrite], Field(discriminator="kind")]


class ChipSpec(_Model):
    """Which emulated chip: its serial number seeds its fixed-pattern mismatch (on a multi-chip
    system the system description's serials apply; ``ideal`` applies to every chip)."""

    serial: int = Field(0, ge=0, le=2**31 - 1)
    ideal: bool = Field(False, description="no fixed-pattern mismatch")


class Experiment(_Model):
    """A complete single-chip experiment."""

    name: Name = "experiment"
    seed: int = Field(0, ge=0, le=2**63 - 1)
    runtime_us: float = Field(gt=0.0, le=1e7)
    dt_ns: int = Field(100, ge=1, le=10_000, description="integration step, ns hardware")
    chip: ChipSpec = Field(default_factory=ChipSpec)
    populations: list[Population] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    projections: list[Projection] = Field(default_factory=list)
    recordings: Recordings = Field(default_factory=Recordings)
    plasticity: list[PlasticityRule] = Field(default_factory=list)
    writes: list[TimedWrite] = Field(default_factory=list)
    system: str | dict[str, Any] | None = Field(
        None, description="the system it needs: a shipped setup (cube-4, jboa-16, …), a system file, or an "
                          "inline system description; a system given to run() (--system/--chips) overrides it")

    @model_validator(mode="after")
    def _runtime_covers_a_step(self):
        if self.runtime_us * 1e3 < self.dt_ns:
            raise ValueError(f"runtime_us = {self.runtime_us!r} is shorter than one integration step "
                             f"(dt_ns = {self.dt_ns} ns = {self.dt_ns / 1e3:g} µs); give runtime_us >= "
                             f"{self.dt_ns / 1e3:g} or a smaller dt_ns")
        return self

    @field_validator("populations", "sources", "plasticity")
    @classmethod
    def _unique_names(cls, items):
        seen = set()
        for it in items:
            if it.name in seen:
                raise ValueError(f"name {it.name!r} is used twice; give every entry its own name")
            seen.add(it.name)
        return items

    @model_validator(mode="after")
    def _references_exist(self):
        pops = {p.name: p for p in self.populations}
        srcs = {s.name: s for s in self.sources}
        clash = set(pops) & set(srcs)
        if clash:
            raise ValueError(f"{sorted(clash)} name both a population and a source; rename one")
        labels = set()
        for pr in self.projections:
            if pr.pre not in pops and pr.pre not in srcs:
                raise ValueError(f"projection {pr.label!r}: unknown pre {pr.pre!r}; known are "
                                 f"{sorted(pops) + sorted(srcs)}")
            if pr.post not in pops:
                raise ValueError(f"projection {pr.label!r}: unknown post population {pr.post!r}; "
                                 f"known are {sorted(pops)}")
            if pr.label in labels:
                raise ValueError(f"projection name {pr.label!r} is used twice; give each a name")
            labels.add(pr.label)
        for madc in self.recordings.madc_channels():
            if madc.population not in pops:
                raise ValueError(f"recordings.madc: unknown population {madc.population!r}; known are {sorted(pops)}")
            if madc.index >= pops[madc.population].size:
                raise ValueError(f"recordings.madc: index {madc.index} is out of range for population "
                                 f"{madc.population!r} of size {pops[madc.population].size}")
        names = {p.name for p in NEURON_PARAMETERS}
        for w in self.writes:
            if isinstance(w, NeuronWrite):
                if w.population not in pops:
                    raise ValueError(f"write at {w.time_us} µs: unknown population {w.population!r}")
                if w.parameter not in names:
                    raise ValueError(f"write at {w.time_us} µs: unknown neuron parameter {w.parameter!r}; "
                                     f"known are {sorted(names)}")
            elif w.projection not in labels:
                raise ValueError(f"write at {w.time_us} µs: unknown projection {w.projection!r}; "
                                 f"known are {sorted(labels)}")
        for rule in self.plasticity:
            for name in rule.projections:
                if name not in labels:
                    raise ValueError(f"plasticity rule {rule.name!r}: unknown projection {name!r}; known are "
                                     f"{sorted(labels)}")
            for name in rule.populations:
                if name not in pops:
                    raise ValueError(f"plasticity rule {rule.name!r}: unknown population {name!r}; known are "
                                     f"{sorted(pops)}")
        return self

    def population(self, name: str) -> Population:
        for p in self.populations:
            if p.name == name:
                return p
        raise ConfigError(f"unknown population {name!r}; known are {[p.name for p in self.populations]}")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate a YAML or JSON experiment file (safely: ``protocol.loader``)."""
    data = read_experiment_data(path)
    try:
        return Experiment.model_validate(data)
    except InvalidExperimentError as err:
        raise InvalidExperimentError(f"experiment file {str(path)!r}", err.items) from None


def experiment_schema() -> dict:
    """JSON Schema of experiment files."""
    return Experiment.model_json_schema()
