"""The real stack's neuron configuration, ``lola.AtomicNeuron``, as one table.

pynn.brainscales2's ``HXNeuron`` flattens ``lola.vx.v3.AtomicNeuron``'s nested fields into
``<member>_<field>`` names (``leak.v_leak`` → ``leak_v_leak``); the halco/lola layer
(``bss2emu.stack``) nests them again. Both read this table, the one place that says how each
field drives bss2emu's neuron parameters (``hardware.NEURON_PARAMETERS``):

* ``internal`` names the emulated parameter the field's value is written to;
* a few boolean/enum fields switch a parameter on or off (``GATES``): the emulated value is
  the gated field's value when the gate is on, else 0 — ``excitatory_input_enable=False``
  gives no excitatory input, as on the chip;
* the remaining fields are not emulated. Each is either *accepted* — any value, no effect on
  the model, and its ``note`` says why that is faithful enough (the emulated reset is ideal,
  the readout path is chosen by the recording, …) — or *refused* at a non-default value with
  an error that names the feature and the closest supported way (bypass mode, high-resistance synaptic input, a sinking offset current, …).

Ranges and defaults are the real ones (haldls ``CapMemCell::Value`` 0–1022,
``MembraneCapacitorSize`` 0–63, ``RefractoryTime`` 0–255, ``ResetHoldoff`` 0–15 default 15, …);
``lola.AtomicNeuron()`` is silent (threshold comparator off, inputs disabled, analog output
off). The refractory clock is chosen per neuron between the two clocks of the common neuron
backend (``clock_scale_slow``/``clock_scale_fast``: 250 MHz / 2**(scale+1));
``flat_to_internal`` takes them (default 3 and 3, what pynn.brainscales2 writes).

>>> from bss2emu.protocol.atomic_neuron import default_flat, flat_to_internal, validate_flat
>>> flat = dict(default_flat(), leak_v_leak=700, threshold_enable=True, event_routing_analog_output=1)
>>> internal = flat_to_internal(flat)
>>> internal["v_leak"], internal["enable_fire"], internal["refractory_clock"]
(700, 1, 4)
>>> validate_flat({"bayesian_enable_slave": True}, where="population 'p'")
Traceback (most recent call last):
...
bss2emu.errors.ConfigError: population 'p': bayesian_enable_slave=True is not emulated: the Bayesian extension (coupled fire signals between neurons) is not emulated; connect the neurons with synapses instead
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

from ..errors import ConfigError
from . import coordinates as C
from .hardware import NEURON_PARAMETER_NAMES

# real ranges of the digital fields (haldls NeuronConfig / NeuronBackendConfig)
REFRACTORY_TIME_MAX = 255
RESET_HOLDOFF_MAX = 15
CLOCK_SCALE_MAX = 15  # CommonNeuronBackendConfig::ClockScale
ADDRESS_OUT_MAX = 255  # NeuronBackendAddressOut, lower 8 bit of the event label
# pynn.brainscales2 writes clock_scale_slow = clock_scale_fast = 3 into the common neuron backend
DEFAULT_CLOCK_SCALES = (3, 3)  # (slow, fast): input_clock 0 selects slow, 1 fast

ANALOG_OUTPUT_OFF, ANALOG_OUTPUT_NORMAL, ANALOG_OUTPUT_STRONG = 0, 1, 2
CONSTANT_CURRENT_SOURCE, CONSTANT_CURRENT_SINK = 0, 1
READOUT_SOURCES = ("membrane", "exc_synin", "inh_synin", "adaptation")


@dataclass(frozen=True)
class FieldSpec:
    """One ``lola.AtomicNeuron`` field: its flattened HXNeuron name, its nested lola path,
    kind and real range/default, and the bss2emu neuron parameter it drives (None: not
    emulated, or a gate listed in ``GATES``). ``note`` says what the field does here."""

    flat_name: str
    path: tuple[str, ...]
    kind: Literal["dac", "int", "bool"]
    low: int
    high: int
    default: int | bool
    internal: str | None
    note: str = ""


def _dac(member, name, internal, note="", default=0):
    return FieldSpec(f"{member}_{name}", (member, name), "dac", 0, C.DAC_MAX, default, internal, note)


def _bool(member, name, internal, note="", default=False):
    return FieldSpec(f"{member}_{name}", (member, name), "bool", 0, 1, default, internal, note)


def _int(member, name, high, internal, note="", default=0):
    return FieldSpec(f"{member}_{name}", (member, name), "int", 0, high, default, internal, note)


_NO_EFFECT = "accepted, no effect: "
_IDEAL_RESET = _NO_EFFECT + "the emulated reset is ideal (the membrane is held at v_reset while refractory)"
_READOUT = _NO_EFFECT + "the readout path is set by what is recorded (MADC/CADC source)"


def _synaptic_input(member: str, kind: str) -> tuple[FieldSpec, ...]:
    k = "exc" if kind == "excitatory" else "inh"
    return (
        _bool(member, "enable", None, f"gate: no {kind} input while False"),
        _dac(member, "i_bias_tau", f"i_bias_syn_{k}_tau", "synaptic time constant, tau = 300 us / value"),
        _dac(member, "i_bias_coba", None, _NO_EFFECT + "the conductance per weight LSB is set by i_bias_gm "
             "(6 pS per value) in conductance-based mode"),
        _dac(member, "i_shift_reference", None, _NO_EFFECT + "OTA reference follower bias, not modelled"),
        _dac(member, "i_bias_gm", f"i_bias_syn_{k}_gm", f"{kind} input gain (gated by {member}_enable)"),
        _dac(member, "v_rev_coba", f"e_rev_{k}", f"{kind} reversal potential (conductance-based mode)"),
        _bool(member, "enable_small_capacitance", None, _NO_EFFECT + "the line capacitance is folded into "
              "the emulated time constant and gain", default=True),
        _bool(member, "enable_high_resistance", None, "refused when True"),
        _bool(member, "enable_coba_mode", f"coba_{k}", "conductance-based instead of current-based input"),
    )


ATOMIC_NEURON_FIELDS: tuple[FieldSpec, ...] = (
    *_synaptic_input("excitatory_input", "excitatory"),
    *_synaptic_input("inhibitory_input", "inhibitory"),
    _dac("leak", "v_leak", "v_leak", "leak potential E_L"),
    _dac("leak", "i_bias", "i_bias_leak", "leak conductance g_L (2.15 nS per value)"),
    _bool("leak", "enable_degeneration", None, _NO_EFFECT + "linearises the real leak OTA; the emulated leak is linear"),
    _bool("leak", "enable_division", "leak_division", "leak conductance / 8"),
    _bool("leak", "enable_multiplication", "leak_multiplication", "leak conductance * 8"),
    _dac("reset", "v_reset", "v_reset", "reset potential"),
    _dac("reset", "i_bias", None, _IDEAL_RESET),
    _bool("reset", "enable_degeneration", None, _IDEAL_RESET),
    _bool("reset", "enable_division", None, _IDEAL_RESET),
    _bool("reset", "enable_multiplication", None, _IDEAL_RESET),
    _bool("threshold", "enable", "enable_fire", "spike threshold comparator (spikes also need "
          "event_routing_analog_output != 0)"),
    _dac("threshold", "v_threshold", "v_threshold", "spike threshold"),
    _bool("multicompartment", "connect_soma", "connect_soma", "membrane directly to the somatic line"),
    _bool("multicompartment", "connect_soma_right", "connect_soma_right", "somatic line to the right neighbour's"),
    _bool("multicompartment", "connect_right", "connect_right", "membrane to the right neighbour's"),
    _bool("multicompartment", "connect_vertical", "connect_vertical", "membrane to the other row's (set on both)"),
    _bool("multicompartment", "enable_conductance", "enable_conductance",
          "membrane to the somatic line through the inter-compartment conductance"),
    _bool("multicompartment", "enable_conductance_division", "conductance_division",
          "inter-compartment conductance / 8"),
    _bool("multicompartment", "enable_conductance_multiplication", "conductance_multiplication",
          "inter-compartment conductance * 8"),
    _dac("multicompartment", "i_bias_nmda", "i_bias_conductance", "inter-compartment conductance (3.3 nS per value)"),
    _bool("constant_current", "enable", None, "gate: no offset current while False"),
    _dac("constant_current", "i_offset", "i_const", "constant offset current (85 pA per value)"),
    _int("constant_current", "type", CONSTANT_CURRENT_SINK, None,
         "0 source, 1 sink; an active sink is refused"),
    _int("membrane_capacitance", "capacitance", C.CAPACITANCE_MAX, "capacitance", "2.3 pF * (value + 1) / 64"),
    _bool("adaptation", "enable", "enable_adaptation", "adaptation (a, b, tau_w)"),
    _bool("adaptation", "enable_pulse", None, "gate: no spike-triggered adaptation b while False"),
    _bool("adaptation", "invert_a", "invert_a", "use -a"),
    _bool("adaptation", "invert_b", "invert_b", "use -b"),
    _dac("adaptation", "v_ref", "v_adapt_ref", "the adaptation capacitor's baseline (w = 0), seen by the MADC's "
         "adaptation readout; the emulated dynamics relax towards w = 0"),
    _dac("adaptation", "i_bias_tau", "i_bias_adapt_tau", "tau_w = 17300 us / value"),
    _dac("adaptation", "i_bias_a", "i_bias_adapt_a", "subthreshold adaptation a (8.1 nS per value)"),
    _dac("adaptation", "i_bias_b", "i_bias_adapt_b", "spike-triggered adaptation b (29 pA per value, gated "
         "by adaptation_enable_pulse)"),
    _dac("adaptation", "v_leak", None, _NO_EFFECT + "the emulated a-term acts on v - E_L (leak_v_leak)"),
    _bool("exponential", "enable", "enable_exponential", "exponential (AdEx) term"),
    _dac("exponential", "v_exp", "v_exp", "exponential threshold V_T"),
    _dac("exponential", "i_bias", "i_bias_exp", "exponential slope Delta_T (0.05 mV per value)"),
    _int("event_routing", "analog_output", ANALOG_OUTPUT_STRONG, None,
         "gate: 0 off (no spikes leave the neuron), 1 normal, 2 strong (as normal here)"),
    _bool("event_routing", "enable_digital", None, _NO_EFFECT + "recording of spikes is chosen by record()"),
    _bool("event_routing", "enable_bypass_excitatory", "bypass_exc",
          "every excitatory synaptic event (a synapse of non-zero weight) leaves the neuron as a spike"),
    _bool("event_routing", "enable_bypass_inhibitory", "bypass_inh",
          "every inhibitory synaptic event (a synapse of non-zero weight) leaves the neuron as a spike"),
    _int("event_routing", "address", ADDRESS_OUT_MAX, None, _NO_EFFECT + "event labels are assigned by routing"),
    _bool("event_routing", "enable_post_overwrite", None, "refused when True"),
    _bool("readout", "enable_buffered_access", None, _READOUT),
    _bool("readout", "enable_amplifier", None, _READOUT),
    _bool("readout", "enable_unbuffered_access", None, _READOUT),
    _int("readout", "source", len(READOUT_SOURCES) - 1, None, _READOUT),
    _int("refractory_period", "input_clock", 1, "refractory_clock",
         "0: slow, 1: fast clock of the common neuron backend (250 MHz / 2**(scale + 1))"),
    _int("refractory_period", "reset_holdoff", RESET_HOLDOFF_MAX, None, _IDEAL_RESET + "; the reset lasts "
         "the whole refractory time", default=RESET_HOLDOFF_MAX),
    _int("refractory_period", "refractory_time", REFRACTORY_TIME_MAX, "refractory_count",
         "refractory time in cycles of the selected clock"),
    _bool("refractory_period", "enable_pause", None, _IDEAL_RESET),
    _bool("bayesian", "to_post_pulse", None, _NO_EFFECT + "with operation 'local' the neuron's own spikes "
          "are its post pulses", default=True),
    _int("bayesian", "operation", 3, None, "0 local; AND/XNOR/MULLER_C are refused"),
    _bool("bayesian", "connect_fire_vertical", None, "refused when True"),
    _bool("bayesian", "connect_fire_to_right", None, "refused when True"),
    _bool("bayesian", "connect_fire_from_right", None, "refused when True"),
    _bool("bayesian", "enable_master", None, _NO_EFFECT + "drives only the shared fire line"),
    _bool("bayesian", "enable_slave", None, "refused when True"),
)

FIELDS_BY_NAME: dict[str, FieldSpec] = {f.flat_name: f for f in ATOMIC_NEURON_FIELDS}

# internal parameter -> (flat gate field): the parameter acts only while the gate is non-zero
GATES: dict[str, str] = {
    "i_bias_syn_exc_gm": "excitatory_input_enable",
    "i_bias_syn_inh_gm": "inhibitory_input_enable",
    "i_const": "constant_current_enable",
    "i_bias_adapt_b": "adaptation_enable_pulse",
    "enable_fire": "event_routing_analog_output",
}

# what pynn.brainscales2's HXNeuron does not expose, and the values it writes for them when
# it places a neuron (``HXNeuron._not_configurable``, ``add_to_chip``)
HXNEURON_NOT_CONFIGURABLE: tuple[str, ...] = (
    "event_routing_analog_output", "event_routing_enable_digital", "readout_enable_amplifier",
    "readout_source", "readout_enable_buffered_access",
)
HXNEURON_FIXED: dict[str, int | bool] = {"event_routing_analog_output": ANALOG_OUTPUT_NORMAL}

_BAYES = ("the Bayesian extension (coupled fire signals between neurons) is not emulated; "
          "connect the neurons with synapses instead")
# flat field -> why a non-default value is refused (checked by validate_flat)
REFUSED: dict[str, str] = {
    "excitatory_input_enable_high_resistance": "the high-resistance synaptic input mode is not emulated; "
    "lower excitatory_input_i_bias_tau for a longer time constant (tau = 300 us / value)",
    "inhibitory_input_enable_high_resistance": "the high-resistance synaptic input mode is not emulated; "
    "lower inhibitory_input_i_bias_tau for a longer time constant (tau = 300 us / value)",
    "event_routing_enable_post_overwrite": "external post pulses are not emulated; the neuron's own "
    "spikes are its post pulses (leave it False)",
    "bayesian_operation": _BAYES,
    "bayesian_connect_fire_vertical": _BAYES,
    "bayesian_connect_fire_to_right": _BAYES,
    "bayesian_connect_fire_from_right": _BAYES,
    "bayesian_enable_slave": _BAYES,
}
_SINK = ("a sinking offset current (constant_current_type=1) is not emulated; use a source "
         "(type 0) and lower leak_v_leak, or inhibitory input, to pull the membrane down")


def default_flat() -> dict[str, int | bool]:
    """The flattened values of a default ``lola.AtomicNeuron()`` (a silent neuron)."""
    return {f.flat_name: f.default for f in ATOMIC_NEURON_FIELDS}


def _integral(spec: FieldSpec, value, where: str) -> np.ndarray:
    """``value`` (scalar or array) as int64 after checking type, integrality and range."""
    try:
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError
        as_float = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {spec.flat_name}={value!r} is not a number; give an integer "
                          f"{spec.low}..{spec.high}" + (" or a bool" if spec.kind == "bool" else "")) from None
    if not np.all(np.isfinite(as_float)) or not np.all(as_float == np.round(as_float)):
        bad = as_float.flat[int(np.argmax(~np.isfinite(as_float) | (as_float != np.round(as_float))))]
        raise ConfigError(f"{where}: {spec.flat_name}={bad!r} is not an integer; hardware values are "
                          f"integers {spec.low}..{spec.high}: round it")
    bad = (as_float < spec.low) | (as_float > spec.high)
    if np.any(bad):
        v = as_float.flat[int(np.argmax(bad))]
        v = int(v) if abs(v) < 2**63 else v
        what = {"dac": "a 10-bit CapMem value", "bool": "a switch", "int": "a digital setting"}[spec.kind]
        raise ConfigError(f"{where}: {spec.flat_name}={v} is out of range {spec.low}..{spec.high} "
                          f"({what}); set a value within it")
    return as_float.astype(np.int64)


def validate_flat(values: Mapping, where: str) -> None:
    """Raise ``ConfigError`` (prefixed by ``where``) for an unknown field, a value of the wrong
    type or out of its real range, or a non-default value of a feature bss2emu does not
    emulate. Values may be scalars or arrays (one entry per neuron); floats must be integral
    (PyNN stores parameters as floats). Missing fields keep their defaults."""
    checked = {}
    for name, value in values.items():
        spec = FIELDS_BY_NAME.get(name)
        if spec is None:
            close = difflib.get_close_matches(str(name), FIELDS_BY_NAME, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else (
                "the fields are lola.AtomicNeuron's, flattened as <member>_<field> (e.g. leak_v_leak)")
            raise ConfigError(f"{where}: unknown neuron parameter {name!r}; {hint}")
        checked[name] = _integral(spec, value, where)
    for name, reason in REFUSED.items():
        if name in checked and np.any(checked[name] != int(FIELDS_BY_NAME[name].default)):
            shown = _shown(FIELDS_BY_NAME[name], checked[name])
            raise ConfigError(f"{where}: {name}={shown} is not emulated: {reason}")
    if "constant_current_type" in checked:
        get = lambda n: checked.get(n, np.int64(int(FIELDS_BY_NAME[n].default)))  # noqa: E731
        active_sink = ((checked["constant_current_type"] == CONSTANT_CURRENT_SINK)
                       & (get("constant_current_enable") != 0) & (get("constant_current_i_offset") > 0))
        if np.any(active_sink):
            raise ConfigError(f"{where}: constant_current_type=1 with an enabled offset current is not "
                              f"emulated: {_SINK}")


def _shown(spec: FieldSpec, arr: np.ndarray):
    v = arr.flat[int(np.argmax(arr != int(spec.default)))]
    return bool(v) if spec.kind == "bool" else int(v)


def _clock_scales(clock_scales) -> tuple[int, int]:
    try:
        slow, fast = (int(s) for s in clock_scales)
    except (TypeError, ValueError):
        raise ConfigError(f"clock scales {clock_scales!r} are invalid: give (slow, fast), integers "
                          f"0..{CLOCK_SCALE_MAX}") from None
    for what, s in (("clock_scale_slow", slow), ("clock_scale_fast", fast)):
        if not 0 <= s <= CLOCK_SCALE_MAX:
            raise ConfigError(f"{what}={s} is out of range 0..{CLOCK_SCALE_MAX}")
    return slow, fast


def flat_to_internal(values: Mapping, clock_scales=DEFAULT_CLOCK_SCALES, where: str = "AtomicNeuron") -> dict:
    """bss2emu's neuron parameters (``hardware.NEURON_PARAMETER_NAMES``, all of them) from
    flattened AtomicNeuron values; missing fields take their defaults. Scalars give ints,
    arrays give int64 arrays. ``clock_scales``: (slow, fast) of the common neuron backend."""
    validate_flat(values, where)
    slow, fast = _clock_scales(clock_scales)
    flat = {f.flat_name: np.asarray(values.get(f.flat_name, f.default)).astype(np.float64).astype(np.int64)
            for f in ATOMIC_NEURON_FIELDS}
    shape = np.broadcast_shapes(*(v.shape for v in flat.values()))
    out = {}
    for f in ATOMIC_NEURON_FIELDS:
        if f.internal is not None and f.internal != "refractory_clock":
            out[f.internal] = flat[f.flat_name]
    for param, gate in GATES.items():
        out[param] = np.where(flat[gate] != 0, out[param], 0)
    # refractory clock: 250 MHz / 2**(scale + 1), the emulated counter runs at 250 MHz / 2**clock
    clock = np.where(flat["refractory_period_input_clock"] == 1, fast, slow) + 1
    top = C.REFRACTORY_CLOCK_MAX
    if np.any(clock > top):
        scale = int(clock.flat[int(np.argmax(clock > top))]) - 1
        raise ConfigError(f"{where}: a refractory clock scale of {scale} (250 MHz / 2**{scale + 1}) is "
                          f"not emulated: the slowest emulated refractory clock is scale {top - 1}; "
                          f"use clock_scale_slow/fast <= {top - 1} and a larger refractory_period_refractory_time")
    out["refractory_clock"] = clock
    missing = set(NEURON_PARAMETER_NAMES) - set(out)
    if missing:  # a parameter added to hardware.py must be driven by a field here
        raise ConfigError(f"the AtomicNeuron table drives no field for {sorted(missing)}; add it to "
                          f"bss2emu.protocol.atomic_neuron.ATOMIC_NEURON_FIELDS")
    if shape == ():
        return {k: int(np.broadcast_to(v, ()).item()) for k, v in out.items()}
    return {k: np.broadcast_to(v, shape).astype(np.int64) for k, v in out.items()}


def _refractory_on_real_clocks(count: np.ndarray, clock: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The emulated (count, clock) on the real clocks (scale = clock - 1 >= 0): the emulated
    clock 0 (250 MHz) has no real counterpart; an even count moves exactly to clock 1."""
    zero = clock == 0
    if np.any(zero & (count % 2 == 1)):
        c = int(count.flat[int(np.argmax(zero & (count % 2 == 1)))])
        raise ConfigError(f"refractory_count={c} at refractory_clock=0 (4 ns cycles) has no real "
                          f"counterpart: the fastest real refractory clock is 125 MHz (8 ns); use an even "
                          f"count or refractory_clock >= 1")
    return np.where(zero, count // 2, count), np.where(zero, 1, clock)


def refractory_clock_scales(internal: Mapping) -> tuple[int, int]:
    """(slow, fast) clock scales of the common neuron backend that realise the refractory
    clocks in ``internal`` (at most two distinct ones; fast the finer)."""
    from .hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS

    default = lambda n: NEURON_PARAMETERS[NEURON_PARAMETER_INDEX[n]].default  # noqa: E731
    count = np.asarray(internal.get("refractory_count", default("refractory_count"))).astype(np.int64)
    clock = np.asarray(internal.get("refractory_clock", default("refractory_clock"))).astype(np.int64)
    _, clock = _refractory_on_real_clocks(*np.broadcast_arrays(count, clock))
    distinct = sorted(set(int(c) for c in np.unique(clock)))
    if len(distinct) > 2:
        raise ConfigError(f"refractory clocks {distinct} are in use: the common neuron backend offers two "
                          f"(slow and fast); use at most two distinct refractory_clock values")
    return distinct[-1] - 1, distinct[0] - 1


def internal_to_flat(internal: Mapping, clock_scales=None) -> dict:
    """Flattened AtomicNeuron values that drive bss2emu's neuron parameters ``internal``
    (as ``flat_to_internal`` reads them; missing parameters take their defaults from
    ``hardware.NEURON_PARAMETERS``). Gates are on exactly where the gated value is non-zero;
    fields that are not emulated keep their defaults. ``clock_scales`` (slow, fast) default
    to ``refractory_clock_scales(internal)``; a refractory clock that is neither raises
    ``ConfigError``."""
    from .hardware import NEURON_PARAMETERS

    slow, fast = _clock_scales(refractory_clock_scales(internal) if clock_scales is None else clock_scales)
    vals = {p.name: np.asarray(internal.get(p.name, p.default)).astype(np.int64) for p in NEURON_PARAMETERS}
    unknown = set(internal) - set(vals)
    if unknown:
        raise ConfigError(f"unknown neuron parameters {sorted(unknown)}: known are {', '.join(vals)}")
    shape = np.broadcast_shapes(*(v.shape for v in vals.values()))
    vals["refractory_count"], vals["refractory_clock"] = _refractory_on_real_clocks(
        *np.broadcast_arrays(vals["refractory_count"], vals["refractory_clock"]))
    flat: dict[str, np.ndarray] = {}
    for f in ATOMIC_NEURON_FIELDS:
        if f.internal is not None and f.internal != "refractory_clock":
            flat[f.flat_name] = vals[f.internal]
        else:
            flat[f.flat_name] = np.asarray(int(f.default), dtype=np.int64)
    for param, gate in GATES.items():
        on = vals[param] != 0
        flat[gate] = np.where(on, ANALOG_OUTPUT_NORMAL if gate == "event_routing_analog_output" else 1, 0)
    clock = vals["refractory_clock"]
    ok = (clock == slow + 1) | (clock == fast + 1)
    if not np.all(ok):
        c = int(clock.flat[int(np.argmax(~ok))])
        raise ConfigError(f"refractory_clock={c} (250 MHz / 2**{c}) is neither clock of the common neuron "
                          f"backend (scales slow={slow}, fast={fast} give {slow + 1}, {fast + 1}); choose "
                          f"clock_scales with {c - 1} as one of them")
    flat["refractory_period_input_clock"] = np.where(clock == slow + 1, 0, 1)
    out = {}
    for f in ATOMIC_NEURON_FIELDS:
        v = np.broadcast_to(flat[f.flat_name], shape)
        if shape == ():
            out[f.flat_name] = bool(v.item()) if f.kind == "bool" else int(v.item())
        else:
            out[f.flat_name] = v.astype(bool) if f.kind == "bool" else v.astype(np.int64)
    return out


__all__ = [
    "FieldSpec", "ATOMIC_NEURON_FIELDS", "FIELDS_BY_NAME", "GATES", "REFUSED", "HXNEURON_NOT_CONFIGURABLE",
    "HXNEURON_FIXED", "DEFAULT_CLOCK_SCALES", "default_flat", "validate_flat", "flat_to_internal",
    "internal_to_flat", "refractory_clock_scales",
]
