"""The lola.AtomicNeuron table: ranges, validation, and the round trips between the real
stack's flattened fields and bss2emu's neuron parameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor.analog import chip_mismatch, neuron_physics
from bss2emu.errors import ConfigError
from bss2emu.protocol import atomic_neuron as A
from bss2emu.protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETER_NAMES, NEURON_PARAMETERS, NeuronConfig


def test_table_is_consistent_with_lola_and_drives_every_parameter():
    names = [f.flat_name for f in A.ATOMIC_NEURON_FIELDS]
    assert len(names) == len(set(names))
    for f in A.ATOMIC_NEURON_FIELDS:
        assert f.flat_name == "_".join(f.path) and len(f.path) == 2
        assert f.low <= int(f.default) <= f.high
        assert f.kind != "dac" or (f.low, f.high) == (0, 1022)
        assert f.kind != "bool" or (f.low, f.high) == (0, 1)
        assert f.internal is None or f.internal in NEURON_PARAMETER_NAMES
    assert set(A.flat_to_internal({})) == set(NEURON_PARAMETER_NAMES)
    # every field is either emulated, a gate, refused, or documented as having no effect
    gates = set(A.GATES.values())
    for f in A.ATOMIC_NEURON_FIELDS:
        assert f.internal or f.flat_name in gates or f.flat_name in A.REFUSED or "no effect" in f.note \
            or f.flat_name == "constant_current_type", f.flat_name


def test_default_lola_neuron_is_silent_and_uses_the_real_defaults():
    d = A.default_flat()
    assert d["refractory_period_reset_holdoff"] == 15 and d["excitatory_input_enable_small_capacitance"] is True
    assert d["bayesian_to_post_pulse"] is True and d["leak_v_leak"] == 0
    internal = A.flat_to_internal(d)
    assert internal["enable_fire"] == 0  # threshold comparator and analog output off
    assert internal["i_bias_syn_exc_gm"] == 0 and internal["i_const"] == 0
    assert internal["refractory_clock"] == 4  # clock scale 3: 250 MHz / 2**4


def test_gates_switch_their_parameter_exactly():
    base = dict(excitatory_input_i_bias_gm=300, constant_current_i_offset=200, adaptation_i_bias_b=50,
                threshold_enable=True)
    off = A.flat_to_internal(base)
    on = A.flat_to_internal(dict(base, excitatory_input_enable=True, constant_current_enable=True,
                                 adaptation_enable_pulse=True, event_routing_analog_output=2))
    assert (off["i_bias_syn_exc_gm"], off["i_const"], off["i_bias_adapt_b"], off["enable_fire"]) == (0, 0, 0, 0)
    assert (on["i_bias_syn_exc_gm"], on["i_const"], on["i_bias_adapt_b"], on["enable_fire"]) == (300, 200, 50, 1)


def test_leak_division_and_multiplication_scale_the_leak_conductance_by_8():
    cfg = NeuronConfig()
    cfg.values[1, NEURON_PARAMETER_INDEX["leak_division"]] = 1
    cfg.values[2, NEURON_PARAMETER_INDEX["leak_multiplication"]] = 1
    g = neuron_physics(cfg, chip_mismatch(0, ideal=True)).g_l
    assert g[1] == g[0] / 8 and g[2] == g[0] * 8


@st.composite
def internal_values(draw):
    vals = {}
    for p in NEURON_PARAMETERS:
        vals[p.name] = draw(st.integers(0, p.maximum))
    vals["refractory_clock"] = draw(st.integers(1, 7))
    return vals


def _tau_ref_cycles(internal):
    return internal["refractory_count"] << internal["refractory_clock"]


@settings(max_examples=200, deadline=None)
@given(internal_values())
def test_internal_to_flat_to_internal_is_identity(internal):
    flat = A.internal_to_flat(internal)
    A.validate_flat(flat, "round trip")
    back = A.flat_to_internal(flat, clock_scales=A.refractory_clock_scales(internal))
    assert back == internal


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 127), st.integers(1, 7))
def test_the_emulated_250mhz_refractory_clock_moves_exactly_to_the_real_125mhz_one(half_count, other_clock):
    internal = {"refractory_count": 2 * half_count, "refractory_clock": 0}
    flat = A.internal_to_flat(internal)
    back = A.flat_to_internal(flat, clock_scales=A.refractory_clock_scales(internal))
    assert _tau_ref_cycles(back) == _tau_ref_cycles(internal)
    with pytest.raises(ConfigError, match="fastest real refractory clock"):
        A.internal_to_flat({"refractory_count": 2 * half_count + 1, "refractory_clock": 0})


_accepted = [f for f in A.ATOMIC_NEURON_FIELDS if f.flat_name not in A.REFUSED]


@st.composite
def accepted_flat(draw):
    names = draw(st.lists(st.sampled_from([f.flat_name for f in _accepted]), unique=True, max_size=20))
    out = {}
    for n in names:
        f = A.FIELDS_BY_NAME[n]
        v = draw(st.integers(f.low, f.high))
        out[n] = bool(v) if f.kind == "bool" else draw(st.sampled_from([v, float(v), np.int64(v)]))
    if out.get("constant_current_type") == 1:
        out["constant_current_enable"] = False
    return out


@settings(max_examples=200, deadline=None)
@given(accepted_flat(), st.tuples(st.integers(0, 6), st.integers(0, 6)))
def test_flat_to_internal_is_stable_under_a_round_trip(flat, scales):
    internal = A.flat_to_internal(flat, clock_scales=scales)
    again = A.flat_to_internal(A.internal_to_flat(internal, clock_scales=scales), clock_scales=scales)
    assert again == internal


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([f for f in _accepted if f.internal is None and f.flat_name not in A.GATES.values()
                        and f.flat_name != "constant_current_type"]), st.data())
def test_accepted_fields_without_emulation_have_no_effect(field, data):
    value = data.draw(st.integers(field.low, field.high))
    base = dict(leak_v_leak=600, threshold_enable=True, event_routing_analog_output=1)
    assert A.flat_to_internal(dict(base, **{field.flat_name: value})) == A.flat_to_internal(base)


@pytest.mark.parametrize("name", sorted(A.REFUSED))
def test_refused_fields_name_the_feature_and_the_way_out(name):
    f = A.FIELDS_BY_NAME[name]
    A.validate_flat({name: f.default}, "pop 'p'")  # the default is fine
    bad = 1 if f.kind == "bool" else f.high
    with pytest.raises(ConfigError) as err:
        A.validate_flat({name: bad}, "pop 'p'")
    msg = str(err.value)
    assert msg.startswith("pop 'p': ") and name in msg and "not emulated" in msg and A.REFUSED[name] in msg


def test_an_active_sinking_offset_current_is_refused_an_inactive_one_accepted():
    A.validate_flat({"constant_current_type": 1}, "n")
    A.validate_flat({"constant_current_type": 1, "constant_current_enable": True}, "n")  # i_offset 0
    with pytest.raises(ConfigError, match="sinking offset current"):
        A.validate_flat({"constant_current_type": 1, "constant_current_enable": True,
                         "constant_current_i_offset": 10}, "n")


def test_clock_scales_beyond_the_emulated_refractory_clock_are_refused():
    A.flat_to_internal({}, clock_scales=(6, 0))
    with pytest.raises(ConfigError, match="slowest emulated refractory clock is scale 6"):
        A.flat_to_internal({"refractory_period_input_clock": 1}, clock_scales=(3, 9))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(
    st.sampled_from([f.flat_name for f in A.ATOMIC_NEURON_FIELDS] + ["leak_vleak", "bogus", "v_rest"]),
    st.integers(-5, 1100) | st.floats(allow_nan=True, allow_infinity=True) | st.booleans() | st.text(max_size=3)
    | st.none(), max_size=6))
def test_arbitrary_values_validate_or_raise_a_config_error_naming_the_field(values):
    try:
        A.validate_flat(values, "population 'x'")
    except ConfigError as err:
        msg = str(err)
        assert msg.startswith("population 'x': ")
        assert any(name in msg for name in values) or "constant_current_type" in msg
        return
    for name, v in values.items():
        f = A.FIELDS_BY_NAME[name]
        assert f.low <= v <= f.high and float(v) == int(v)


def test_out_of_range_and_non_integral_values_name_value_range_and_fix():
    with pytest.raises(ConfigError, match=r"leak_v_leak=1023 is out of range 0\.\.1022"):
        A.validate_flat({"leak_v_leak": 1023}, "p")
    with pytest.raises(ConfigError, match=r"membrane_capacitance_capacitance=64 is out of range 0\.\.63"):
        A.validate_flat({"membrane_capacitance_capacitance": 64}, "p")
    with pytest.raises(ConfigError, match="not an integer.*round it"):
        A.validate_flat({"leak_i_bias": 100.5}, "p")
    with pytest.raises(ConfigError, match="did you mean leak_v_leak"):
        A.validate_flat({"leak_vleak": 3}, "p")


@settings(max_examples=50, deadline=None)
@given(st.lists(accepted_flat(), min_size=1, max_size=5))
def test_arrays_give_the_same_values_as_one_neuron_at_a_time(flats):
    names = sorted(set().union(*flats)) or ["leak_v_leak"]
    full = [dict(A.default_flat(), **{k: v for k, v in f.items()}) for f in flats]
    arrays = {n: np.array([int(f[n]) for f in full]) for n in names}
    vec = A.flat_to_internal(arrays)
    for i, f in enumerate(full):
        one = A.flat_to_internal({n: f[n] for n in names})
        assert {k: int(v[i]) for k, v in vec.items()} == one
