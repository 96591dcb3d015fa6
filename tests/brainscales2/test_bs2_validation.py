"""Parameter validation of the view's cell types against the real ranges (hypothesis)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bss2emu.brainscales2 as pynn
from bss2emu.protocol.atomic_neuron import FIELDS_BY_NAME, GATES, HXNEURON_NOT_CONFIGURABLE, REFUSED

SETTABLE = sorted(name for name in FIELDS_BY_NAME if name not in HXNEURON_NOT_CONFIGURABLE and name not in REFUSED
                  and name != "constant_current_type" and name not in GATES.values())


@pytest.fixture(scope="module", autouse=True)
def _view():
    pynn.setup(ideal=True)
    yield
    pynn.end()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(SETTABLE), value=st.one_of(st.integers(-3, 1030), st.floats(-2.0, 1030.0)))
def test_hxneuron_accepts_exactly_the_real_range(name, value):
    """Numbers are written as ``int(value)`` (truncated), as pynn.brainscales2 does; the real
    range applies to what is written."""
    spec = FIELDS_BY_NAME[name]
    ok = spec.low <= int(value) <= spec.high
    if ok:
        pop = pynn.Population(1, pynn.cells.HXNeuron(**{name: value}))
        assert pop.get(name) == value  # as given; int(value) reaches the circuit
    else:
        with pytest.raises(ValueError, match=name):
            pynn.Population(1, pynn.cells.HXNeuron(**{name: value}))


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(n for n in FIELDS_BY_NAME if n in REFUSED)))
def test_refused_features_are_named(name):
    spec = FIELDS_BY_NAME[name]
    other = spec.high if spec.default != spec.high else spec.low
    with pytest.raises(ValueError, match=f"{name}=.* is not emulated"):
        pynn.Population(1, pynn.cells.HXNeuron(**{name: other}))


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(set(pynn.cells.CalibHXNeuronCuba.RANGES) - {"synapse_dac_bias"})),
       value=st.floats(-10.0, 1100.0))
def test_calibrated_neuron_accepts_exactly_the_real_range(name, value):
    low, high = pynn.cells.CalibHXNeuronCuba.RANGES[name]
    if low <= value <= high:
        pynn.Population(1, pynn.cells.CalibHXNeuronCuba(**{name: value}))
    else:
        with pytest.raises(ValueError, match=name):
            pynn.Population(1, pynn.cells.CalibHXNeuronCuba(**{name: value}))


def test_an_unknown_name_suggests_the_real_one():
    with pytest.raises(Exception, match="leak_v_leak"):
        pynn.cells.HXNeuron(leak_vleak=400)
