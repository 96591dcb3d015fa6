"""haldls (``hal``): the real stack's register-level containers that experiments write —
the common neuron backend, the FPGA timer, MADC control, CADC sample rows, spike packets —
with their real names, ranges and defaults. Limits come from ``protocol``.

>>> from bss2emu.stack import haldls as hal
>>> int(hal.Timer.Value(10 * int(hal.Timer.Value.fpga_clock_cycles_per_us))), hal.SynapseWeightQuad.Value.max
(1250, 63)
>>> cfg = hal.CommonNeuronBackendConfig()
>>> cfg.clock_scale_fast = 16
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: CommonNeuronBackendConfig.clock_scale_fast=16 is out of range 0..15
"""

from __future__ import annotations

import enum

import numpy as np

from ..errors import ConfigError
from ..protocol import atomic_neuron as A
from ..protocol import coordinates as C
from ..units import NS_PER_TICK


class _Ranged(int):
    """An int value type with a range (the real stack's ``RantWrapper``)."""

    min, max = 0, 0

    def __new__(cls, value=0):
        iv = int(value)
        if iv != value or not cls.min <= iv <= cls.max:
            raise ConfigError(f"{cls.__qualname__}({value!r}) is out of range {cls.min}..{cls.max}")
        return super().__new__(cls, iv)

    def value(self) -> int:
        return int(self)


class _Container:
    """A container whose fields are declared in ``_FIELDS``: name -> (low, high, default)."""

    _FIELDS: dict[str, tuple[int, int, int | bool]] = {}

    def __init__(self, **values) -> None:
        for name, (_, _, default) in self._FIELDS.items():
            object.__setattr__(self, name, default)
        for name, v in values.items():
            setattr(self, name, v)

    def __setattr__(self, name: str, value) -> None:
        if name not in self._FIELDS:
            raise ConfigError(f"{type(self).__name__} has no field {name!r}; fields are {', '.join(self._FIELDS)}")
        lo, hi, default = self._FIELDS[name]
        iv = int(value)
        if iv != value or not lo <= iv <= hi:
            raise ConfigError(f"{type(self).__name__}.{name}={value!r} is out of range {lo}..{hi}")
        object.__setattr__(self, name, bool(iv) if isinstance(default, bool) else iv)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self._FIELDS)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._FIELDS)})"


class CommonNeuronBackendConfig(_Container):
    """The neuron backend of one hemisphere: among others the two refractory clocks
    (250 MHz / 2**(scale + 1)) that each neuron's ``refractory_period.input_clock`` selects."""

    class ClockScale(_Ranged):
        min, max = 0, A.CLOCK_SCALE_MAX

    _FIELDS = {
        "enable_event_registers": (0, 1, True), "force_reset": (0, 1, False), "enable_clocks": (0, 1, True),
        "clock_scale_slow": (0, A.CLOCK_SCALE_MAX, 0), "clock_scale_fast": (0, A.CLOCK_SCALE_MAX, 0),
        "clock_scale_adaptation_pulse": (0, A.CLOCK_SCALE_MAX, 0),
        "clock_scale_post_pulse": (0, A.CLOCK_SCALE_MAX, 0),
        "wait_global_post_pulse": (0, 255, 1), "wait_spike_counter_reset": (0, 255, 4),
        "wait_spike_counter_read": (0, 255, 112), "wait_fire_neuron": (0, 255, 4),
    }


class Timer(_Container):
    """The FPGA timer: ``builder.write(TimerOnDLS(), Timer())`` restarts it at 0 and
    ``block_until(TimerOnDLS(), Timer.Value(t))`` waits until it reads ``t`` (FPGA cycles)."""

    class Value(_Ranged):
        min, max = 0, 2**32 - 1
        fpga_clock_cycles_per_us = 1000 // NS_PER_TICK

    _FIELDS = {"value": (0, 2**32 - 1, 0)}


class SystimeSync(_Container):
    _FIELDS = {"do_sync": (0, 1, True)}


class EventRecordingConfig(_Container):
    _FIELDS = {"enable_event_recording": (0, 1, False)}


class MADCControl(_Container):
    """MADC control: recording runs from a write with ``start_recording`` until one with
    ``stop_recording``; it samples the neuron whose ``readout.enable_buffered_access`` is on."""

    _FIELDS = {"enable_power_down_after_sampling": (0, 1, False), "start_recording": (0, 1, False),
               "wake_up": (0, 1, False), "enable_pre_amplifier": (0, 1, False),
               "enable_continuous_sampling": (0, 1, False), "stop_recording": (0, 1, False)}


class MADCConfig(_Container):
    _FIELDS = {"number_of_samples": (0, 2**16 - 1, 0)}


class _WeightValue(_Ranged):
    min, max = 0, C.WEIGHT_MAX


class SynapseLabelValue(_Ranged):
    min, max = 0, C.ADDRESS_MAX


class _QuadValues:
    """The 4 values of a synapse quad, by ``halco.EntryOnQuad`` (or 0..3), range-checked."""

    def __init__(self, value_type: type[_Ranged]) -> None:
        self._type = value_type
        self._values = [value_type(0)] * 4

    def __getitem__(self, entry):
        return self._values[int(entry)]

    def __setitem__(self, entry, value) -> None:
        self._values[int(entry)] = self._type(value)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr([int(v) for v in self._values])


class SynapseWeightQuad:
    """The 6-bit weights of a synapse quad (``halco.SynapseWeightQuadOnDLS``):
    ``values[halco.EntryOnQuad(e)]``."""

    Value = _WeightValue

    def __init__(self) -> None:
        self.values = _QuadValues(self.Value)


class SynapseLabelQuad:
    """The 6-bit labels (addresses) of a synapse quad (``halco.SynapseLabelQuadOnDLS``)."""

    Value = SynapseLabelValue

    def __init__(self) -> None:
        self.values = _QuadValues(self.Value)


class SynapseQuad:
    Weight = _WeightValue
    Label = SynapseLabelValue


class CapMemCell:
    class Value(_Ranged):
        min, max = 0, C.DAC_MAX


class SpikeLabel(_Ranged):
    """A 16-bit event label."""

    min, max = 0, C.LABEL_MAX


class SpikePack1ToChip:
    """One spike event sent to the chip now (``builder.write(SpikePack1ToChipOnDLS(), …)``)."""

    def __init__(self, labels=(SpikeLabel(0),)) -> None:
        self.labels = [SpikeLabel(x) for x in labels]


class CADCSampleRow:
    """What one CADC read returns: 8-bit codes per column, ``causal`` and ``acausal``
    channels. In bss2emu both channels read the membranes of the row's 256 neurons."""

    def __init__(self, codes=None) -> None:
        codes = np.zeros(C.COLUMNS_PER_HEMISPHERE, dtype=np.int64) if codes is None else np.asarray(codes)
        self.causal = codes.copy()
        self.acausal = codes.copy()


class NeuronResetQuad(_Container):
    _FIELDS = {}


BOARD_DAC_MAX_V = 2.5  # the board DACs' reference; the ADCs read 0..1.2 V and clip above


class ShiftRegister:
    """The adapter board's shift register: which signals its analog readout muxes select."""

    class AnalogReadoutMux1Input(enum.IntEnum):
        off = 0
        readout_chain_0 = 1
        readout_chain_1 = 2
        mux_rfu_0 = 3

    class AnalogReadoutMux2Input(enum.IntEnum):
        off = 0
        v_reset = 1
        vdd_res_meas = 2
        mux_dac_25 = 3

    def __init__(self) -> None:
        self.select_analog_readout_mux_1_input = self.AnalogReadoutMux1Input.off
        self.select_analog_readout_mux_2_input = self.AnalogReadoutMux2Input.off


class Backend(enum.IntEnum):
    """Write backends of the real stack; bss2emu has one, any is accepted."""

    Omnibus = 0
    OmnibusChip = 1
    OmnibusChipOverJTAG = 2


__all__ = ["CommonNeuronBackendConfig", "Timer", "SystimeSync", "EventRecordingConfig", "MADCControl", "MADCConfig",
           "SynapseWeightQuad", "SynapseLabelQuad", "SynapseQuad", "SynapseLabelValue", "CapMemCell", "SpikeLabel",
           "SpikePack1ToChip",
           "CADCSampleRow", "NeuronResetQuad", "Backend", "ShiftRegister", "BOARD_DAC_MAX_V"]


def __getattr__(name: str):
    from . import missing_attribute

    raise missing_attribute("hal", name, __all__)
