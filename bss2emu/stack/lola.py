"""lola: the real stack's logical containers (``pylola_vx_v3``) — ``AtomicNeuron`` with its
nested fields, ``NeuronBlock``, ``Chip``, synapse rows — built from
``protocol.atomic_neuron`` (names, ranges, defaults) and translated to bss2emu's neuron
parameters there; nothing here restates a hardware fact.

>>> from bss2emu.stack import halco, lola
>>> chip = lola.Chip()
>>> neuron = chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(5)]
>>> neuron.leak.v_leak = 700
>>> neuron.threshold.enable = True
>>> neuron.event_routing.analog_output = neuron.EventRouting.AnalogOutputMode.normal
>>> values = chip.neuron_values()
>>> int(values["v_leak"][5]), int(values["enable_fire"][5]), int(values["enable_fire"][4])
(700, 1, 0)
>>> neuron.leak.v_leak = 1023
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: AtomicNeuron.leak: leak_v_leak=1023 is out of range 0..1022 (a 10-bit CapMem value); set a value within it
"""

from __future__ import annotations

import copy
import enum
from typing import Any, Iterator

import numpy as np

from ..errors import ConfigError
from ..protocol import atomic_neuron as A
from ..protocol import coordinates as C
from . import halco
from .haldls import CommonNeuronBackendConfig

# lola's nested struct type of each AtomicNeuron member
_MEMBER_TYPES = {
    "excitatory_input": "SynapticInput", "inhibitory_input": "SynapticInput", "leak": "Leak", "reset": "Reset",
    "threshold": "Threshold", "multicompartment": "Multicompartment", "constant_current": "ConstantCurrent",
    "membrane_capacitance": "MembraneCapacitance", "adaptation": "Adaptation", "exponential": "Exponential",
    "event_routing": "EventRouting", "readout": "Readout", "refractory_period": "RefractoryPeriod",
    "bayesian": "Bayesian",
}
# enum-valued fields: (member type, field) -> (enum name, member names in value order)
_ENUMS = {
    ("EventRouting", "analog_output"): ("AnalogOutputMode", ("off", "normal", "strong")),
    ("ConstantCurrent", "type"): ("Type", ("source", "sink")),
    ("Readout", "source"): ("Source", A.READOUT_SOURCES),
    ("Bayesian", "operation"): ("Operation", ("local", "AND", "XNOR", "MULLER_C")),
}


class _Struct:
    """One nested AtomicNeuron member (``AtomicNeuron.Leak`` …): its fields with range checks."""

    _fields: dict[str, A.FieldSpec] = {}

    def __init__(self, **values) -> None:
        for name, spec in self._fields.items():
            object.__setattr__(self, name, self._coerce(spec, spec.default))
        for name, v in values.items():
            setattr(self, name, v)

    def _coerce(self, spec: A.FieldSpec, value):
        if spec.kind == "bool":
            return bool(value)
        iv = int(value)
        enum_type = _ENUMS.get((type(self).__name__, spec.path[1]))
        return getattr(type(self), enum_type[0])(iv) if enum_type else iv

    def __setattr__(self, name: str, value) -> None:
        spec = self._fields.get(name)
        if spec is None:
            raise ConfigError(f"AtomicNeuron.{type(self).__name__} has no field {name!r}; fields are "
                              f"{', '.join(self._fields)}")
        A.validate_flat({spec.flat_name: int(value) if isinstance(value, enum.Enum) else value},
                        f"AtomicNeuron.{spec.path[0]}")
        object.__setattr__(self, name, self._coerce(spec, value))

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self._fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({inner})"


def _struct_types() -> dict[str, type[_Struct]]:
    types: dict[str, type[_Struct]] = {}
    for spec in A.ATOMIC_NEURON_FIELDS:
        member, field = spec.path
        tname = _MEMBER_TYPES[member]
        if tname not in types:
            types[tname] = type(tname, (_Struct,), {"_fields": {}, "__module__": __name__,
                                                    "__qualname__": f"AtomicNeuron.{tname}"})
        # both synaptic inputs share one type: keep one spec per field (the names differ only by member)
        types[tname]._fields.setdefault(field, spec)
    for (tname, _), (ename, members) in _ENUMS.items():
        setattr(types[tname], ename, enum.IntEnum(ename, {m: i for i, m in enumerate(members)}, module=__name__,
                                                  qualname=f"AtomicNeuron.{tname}.{ename}"))
    return types


_TYPES = _struct_types()
_MEMBERS = tuple(dict.fromkeys(spec.path[0] for spec in A.ATOMIC_NEURON_FIELDS))


class AtomicNeuron:
    """``lola.AtomicNeuron``: one neuron circuit's configuration, nested as in the real stack
    (``neuron.leak.v_leak``, ``neuron.threshold.enable``, …); defaults are a silent neuron."""

    coordinate_type = halco.AtomicNeuronOnDLS

    def __init__(self) -> None:
        for member in _MEMBERS:
            setattr(self, member, _TYPES[_MEMBER_TYPES[member]]())

    def __setattr__(self, name: str, value) -> None:
        if name not in _MEMBERS:
            raise ConfigError(f"AtomicNeuron has no member {name!r}; members are {', '.join(_MEMBERS)}")
        want = _TYPES[_MEMBER_TYPES[name]]
        if not isinstance(value, want):
            raise ConfigError(f"AtomicNeuron.{name} must be an AtomicNeuron.{want.__name__}, got {type(value).__name__}")
        object.__setattr__(self, name, copy.copy(value))

    def to_flat(self) -> dict[str, int | bool]:
        """The flattened values (HXNeuron's parameter names), enums as ints."""
        out = {}
        for spec in A.ATOMIC_NEURON_FIELDS:
            v = getattr(getattr(self, spec.path[0]), spec.path[1])
            out[spec.flat_name] = bool(v) if spec.kind == "bool" else int(v)
        return out

    @classmethod
    def from_flat(cls, values) -> "AtomicNeuron":
        """An AtomicNeuron with the given flattened values (others default)."""
        A.validate_flat(values, "AtomicNeuron")
        neuron = cls()
        for name, v in values.items():
            spec = A.FIELDS_BY_NAME[name]
            setattr(getattr(neuron, spec.path[0]), spec.path[1], v)
        return neuron

    def __eq__(self, other) -> bool:
        return isinstance(other, AtomicNeuron) and self.to_flat() == other.to_flat()

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_flat().items() if v != A.FIELDS_BY_NAME[k].default}
        return f"AtomicNeuron({', '.join(f'{k}={v!r}' for k, v in changed.items())})"


for _tname, _type in _TYPES.items():
    setattr(AtomicNeuron, _tname, _type)
AtomicNeuron.AnalogValue = int


class _CoordinateArray:
    """A fixed array of containers indexed by one coordinate type (or its enum value)."""

    def __init__(self, coordinate_type: type, factory) -> None:
        self._type = coordinate_type
        self._items = [factory() for _ in range(coordinate_type.size)]
        self._factory_type = type(self._items[0])

    def _index(self, coord) -> int:
        if isinstance(coord, halco._Coordinate) and not isinstance(coord, self._type):
            raise ConfigError(f"index {coord!r}: this array is indexed by {self._type.__name__}")
        return int(self._type(coord))

    def __getitem__(self, coord):
        return self._items[self._index(coord)]

    def __setitem__(self, coord, value) -> None:
        if not isinstance(value, self._factory_type):
            raise ConfigError(f"{self._type.__name__}-indexed entry must be a {self._factory_type.__name__}, "
                              f"got {type(value).__name__}")
        self._items[self._index(coord)] = copy.deepcopy(value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class CADCReadoutChain:
    """``lola.CADCReadoutChain`` of one CADC (``CADCOnDLS``): its ramp, its channels' settings
    (``channels_causal``/``channels_acausal``, each a ``Channel`` with ``offset``,
    ``enable_connect_correlation``, ``enable_connect_debug``, ``enable_connect_neuron``) and the
    correlation sensors' settings, with lola's defaults. bss2emu keeps them as written: the
    emulated CADC reads membranes and correlation sensors on separate paths, so connecting a
    channel to the neuron readout does not disturb correlation reads, nor disconnecting it
    membrane reads. Of the settings the sensors' CapMem currents ``correlation.i_bias_ramp``
    and ``i_bias_store`` (per quadrant of the hemisphere; 0: not set) are emulated: they give
    the sensors' time constant and amplitude (``chip_actor.analog.correlation_sensor``), as a
    calix correlation calibration sets them."""

    class Channel:
        def __init__(self) -> None:
            self.offset = 0
            self.enable_connect_correlation = False
            self.enable_connect_debug = False
            self.enable_connect_neuron = False

    class Ramp:
        def __init__(self) -> None:
            self.enable = False
            self.reset_wait = self.dead_time = 0
            self.v_offset, self.i_slope, self.i_bias_comparator, self.i_bias_vreset_buffer, self.v_bias_buffer = (
                np.zeros(2, np.int64) for _ in range(5))

    class Correlation:
        def __init__(self) -> None:
            self.sense_delay = self.reset_duration = self.reset_fall_time = 0
            self.i_bias_ramp, self.i_bias_store, self.i_bias_corout = (np.zeros(2, np.int64) for _ in range(3))

    def __init__(self) -> None:
        self.ramp = self.Ramp()
        self.channels_causal = _CoordinateArray(halco.CADCChannelColumnOnSynram, self.Channel)
        self.channels_acausal = _CoordinateArray(halco.CADCChannelColumnOnSynram, self.Channel)
        self.correlation = self.Correlation()


class NeuronBlock:
    """``lola.NeuronBlock``: all 512 AtomicNeurons and the two common neuron backends."""

    def __init__(self) -> None:
        self.atomic_neurons = _CoordinateArray(halco.AtomicNeuronOnDLS, AtomicNeuron)
        self.backends = _CoordinateArray(halco.CommonNeuronBackendConfigOnDLS, CommonNeuronBackendConfig)


class SynapseWeightRow:
    """``lola.SynapseWeightRow``: the 6-bit weights of one synapse row (256 columns)."""

    def __init__(self) -> None:
        self.values = np.zeros(C.COLUMNS_PER_HEMISPHERE, dtype=np.int64)


class SynapseLabelRow:
    """``lola.SynapseLabelRow``: the 6-bit address labels of one synapse row."""

    def __init__(self) -> None:
        self.values = np.zeros(C.COLUMNS_PER_HEMISPHERE, dtype=np.int64)


class _Values(np.ndarray):
    """A container's value array; ``to_numpy()`` as lola's typed arrays have it."""

    def to_numpy(self) -> np.ndarray:
        return np.asarray(self)


class SynapseMatrix:
    """``lola.SynapseMatrix``: weights and labels ``[row][column]`` of one synram."""

    def __init__(self) -> None:
        self.weights = np.zeros((C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), dtype=np.int64).view(_Values)
        self.labels = np.zeros((C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), dtype=np.int64).view(_Values)


class SynapseBlock:
    def __init__(self) -> None:
        self.matrix = SynapseMatrix()


class _Switches:
    """Boolean switches of a readout multiplexer (all off by default)."""

    _NAMES: tuple[str, ...] = ()

    def __init__(self) -> None:
        for n in self._NAMES:
            object.__setattr__(self, n, False)

    def __setattr__(self, name: str, value) -> None:
        if name not in self._NAMES:
            raise ConfigError(f"{type(self).__name__} has no switch {name!r}; switches are {', '.join(self._NAMES)}")
        object.__setattr__(self, name, bool(value))


class PadMultiplexerConfig(_Switches):
    _NAMES = ("debug_to_pad", "cadc_debug_acausal_to_synapse_intermediate_mux", "synin_debug_excitatory_to_pad",
              "synin_debug_inhibitory_to_pad", "neuron_i_stim_mux_to_pad", "buffer_to_pad")


class SourceMultiplexer(_Switches):
    _NAMES = ("debug_plus", "debug_minus", "current_dac", "synin_debug_excitatory", "synin_debug_inhibitory",
              "cadc_debug_causal", "cadc_debug_acausal", "synapse_intermediate", "neuron_odd", "neuron_even")


class _MADCSettings:
    def __init__(self) -> None:
        self.number_of_samples = 0


class DynamicMux:
    """``readout_chain.dynamic_mux``: the MADC's switching between its two input multiplexers.
    ``input_select_length`` 0 reads ``input_mux[initially_selected_input]`` only; 1 alternates
    between the two sample by sample (grenade's two-source ``MADCReadoutView``); longer
    periods are not emulated."""

    def __init__(self) -> None:
        self.input_select_length = 0
        self.initially_selected_input = 0


class ReadoutChain:
    """``lola.ReadoutChain``: the pads' and the MADC's input multiplexers and MADC settings.
    With ``input_mux[...].debug_plus`` on, the MADC reads the debug line, which the board DAC
    ``mux_dac_25`` drives (``sta.SystemInit``); otherwise it reads the neuron that has
    ``readout.enable_buffered_access`` on — or two such neurons, one in an even and one in an
    odd column, alternately, with ``dynamic_mux.input_select_length`` 1: channel c reads the
    one whose parity ``input_mux[c]`` selects (``neuron_even``/``neuron_odd``), the first
    sample ``dynamic_mux.initially_selected_input``'s. ``madc.number_of_samples`` (> 0) ends a
    recording after that many samples."""

    def __init__(self) -> None:
        self.pad_mux = _CoordinateArray(halco.PadMultiplexerConfigOnDLS, PadMultiplexerConfig)
        self.input_mux = _CoordinateArray(halco.SourceMultiplexerOnReadoutSourceSelection, SourceMultiplexer)
        self.madc = _MADCSettings()
        self.dynamic_mux = DynamicMux()

    def reads_debug_line(self) -> bool:
        return any(m.debug_plus for m in self.input_mux)


class _DefaultNeuronBypass:
    """``lola.Chip.default_neuron_bypass``: a chip whose neurons forward every synaptic event
    as their spike (threshold off, both bypasses on); a fresh copy at every access."""

    def __get__(self, obj, owner):
        chip = owner()
        for neuron in chip.neuron_block.atomic_neurons:
            neuron.threshold.enable = False
            neuron.event_routing.enable_bypass_excitatory = True
            neuron.event_routing.enable_bypass_inhibitory = True
        return chip


class Chip:
    """``lola.Chip``: the parts of a chip's configuration that bss2emu's stack layer holds —
    the neuron block (512 AtomicNeurons, 2 common backends), both synapse blocks and both
    CADC readout chains (kept; of them the correlation sensors' currents are emulated: see
    ``CADCReadoutChain``)."""

    def __init__(self) -> None:
        self.neuron_block = NeuronBlock()
        self.synapse_blocks = _CoordinateArray(halco.SynapseBlockOnDLS, SynapseBlock)
        self.cadc_readout_chains = _CoordinateArray(halco.CADCOnDLS, CADCReadoutChain)

    default_neuron_bypass = _DefaultNeuronBypass()

    def neuron_values(self) -> dict[str, np.ndarray]:
        """bss2emu's neuron parameters (name → 512 values, by AtomicNeuronOnDLS enum), each
        hemisphere with the refractory clocks of its common neuron backend."""
        per_hemisphere = []
        for h in halco.iter_all(halco.HemisphereOnDLS):
            backend = self.neuron_block.backends[h.toCommonNeuronBackendConfigOnDLS()]
            lo, hi = int(h) * C.COLUMNS_PER_HEMISPHERE, (int(h) + 1) * C.COLUMNS_PER_HEMISPHERE
            flats = [self.neuron_block.atomic_neurons[i].to_flat() for i in range(lo, hi)]
            arrays = {name: np.array([f[name] for f in flats], dtype=np.int64) for name in flats[0]}
            per_hemisphere.append(A.flat_to_internal(
                arrays, clock_scales=(backend.clock_scale_slow, backend.clock_scale_fast),
                where=f"lola.Chip hemisphere {int(h)}"))
        return {k: np.concatenate([p[k] for p in per_hemisphere]) for k in per_hemisphere[0]}

    @classmethod
    def from_neuron_values(cls, values: dict) -> "Chip":
        """A Chip whose AtomicNeurons drive bss2emu's neuron parameters ``values`` (name →
        512 values); the backends get the refractory clocks that realise them."""
        chip = cls()
        for h in halco.iter_all(halco.HemisphereOnDLS):
            sl = slice(int(h) * C.COLUMNS_PER_HEMISPHERE, (int(h) + 1) * C.COLUMNS_PER_HEMISPHERE)
            part = {k: np.asarray(v)[sl] for k, v in values.items()}
            slow, fast = A.refractory_clock_scales(part)
            backend = chip.neuron_block.backends[h.toCommonNeuronBackendConfigOnDLS()]
            backend.clock_scale_slow, backend.clock_scale_fast = slow, fast
            backend.enable_clocks = True
            flat = A.internal_to_flat(part, clock_scales=(slow, fast))
            for j in range(C.COLUMNS_PER_HEMISPHERE):
                neuron = chip.neuron_block.atomic_neurons[sl.start + j]
                for name, arr in flat.items():
                    spec = A.FIELDS_BY_NAME[name]
                    object.__setattr__(getattr(neuron, spec.path[0]), spec.path[1],
                                       getattr(neuron, spec.path[0])._coerce(spec, arr[j]))
        return chip


from .morphology import LogicalNeuron, Morphology  # noqa: E402 (they build AtomicNeurons)

__all__ = ["AtomicNeuron", "NeuronBlock", "Chip", "SynapseWeightRow", "SynapseLabelRow", "SynapseMatrix",
           "SynapseBlock", "ReadoutChain", "CADCReadoutChain", "PadMultiplexerConfig", "SourceMultiplexer", "DynamicMux", "Morphology", "LogicalNeuron"]


def __getattr__(name: str):
    from . import missing_attribute

    raise missing_attribute("lola", name, __all__)
