"""Validators and codecs: property-based tests that bad input gives a ConfigError — never a
crash or a hang — and that codecs round-trip."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import bss2emu
from bss2emu.errors import ConfigError
from bss2emu.protocol import coordinates as C
from bss2emu.protocol import schemas
from bss2emu.protocol.experiment import Experiment, load_experiment
from bss2emu.protocol.hardware import NEURON_PARAMETERS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(["name", "seed", "runtime_us", "dt_ns", "chip", "populations", "sources",
                               "projections", "recordings", "plasticity", "writes", "bogus"])


@settings(max_examples=200, deadline=2000)
@given(st.dictionaries(field_names, json_values, max_size=6))
def test_arbitrary_experiment_dicts_validate_or_raise_config_error(data):
    try:
        Experiment.model_validate(data)
    except ConfigError as err:
        assert str(err).startswith("invalid experiment")


population = st.fixed_dictionaries({
    "name": st.sampled_from(["a", "b", "c"]),
    "size": st.integers(-5, 600),
    "params": st.dictionaries(st.sampled_from([p.name for p in NEURON_PARAMETERS] + ["nope"]),
                              st.integers(-10, 1100), max_size=3),
})
projection = st.fixed_dictionaries({
    "pre": st.sampled_from(["a", "b", "s", "x"]), "post": st.sampled_from(["a", "b", "s"]),
    "weight": st.integers(-2, 70),
    "connector": st.sampled_from([{"kind": "all_to_all"}, {"kind": "one_to_one"},
                                  {"kind": "fixed_probability", "p": 0.5}, {"kind": "fixed_number_pre", "n": 3}]),
})


@settings(max_examples=150, deadline=5000)
@given(st.lists(population, max_size=3), st.lists(projection, max_size=3))
def test_near_valid_experiments_validate_route_and_run_or_raise_ours(pops, projs):
    data = {"runtime_us": 5, "populations": pops, "projections": projs,
            "sources": [{"kind": "spike_array", "name": "s", "size": 2, "spike_times_us": [[1.0], [2.0]]}]}
    try:
        res = bss2emu.run(data)
    except bss2emu.BssError:
        return
    assert res.spikes.schema.names[:4] == ["time_ticks", "chip", "neuron", "label"]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_file_text_never_crashes_the_loader(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("f") / "exp.yaml"
    path.write_text(text)
    try:
        load_experiment(path)
    except ConfigError:
        pass


def test_yaml_round_trip_and_schema(tmp_path):
    exp = Experiment(name="rt", runtime_us=12.5, seed=3, populations=[{"name": "p", "size": 3,
                     "params": {"v_leak": [1, 2, 3]}}])
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(exp.model_dump(mode="json")))
    assert load_experiment(path) == exp
    schema = json.loads(json.dumps(Experiment.model_json_schema()))
    assert {"populations", "projections", "runtime_us"} <= set(schema["properties"])
    assert schema["$defs"]["Projection"]["properties"]["weight"]["maximum"] == 63


def test_per_neuron_parameter_lists_must_match_size():
    with pytest.raises(ConfigError, match=r"params.v_leak has 2 values for 3 neurons"):
        Experiment(runtime_us=1, populations=[{"name": "p", "size": 3, "params": {"v_leak": [1, 2]}}])


@given(st.integers(0, 3), st.integers(0, 31), st.integers(0, 63))
def test_label_layout_round_trips(bus, row_select, address):
    label = C.make_label(bus, row_select, address)
    assert 0 <= label <= C.LABEL_MAX and not label & C.LABEL_NO_TARGET_BIT
    assert (label & 63, (label >> 6) & 31, (label >> 11) & 3) == (address, row_select, bus)
    d = C.driver_of(bus, row_select)
    assert C.SynapseDriver(d).padi_bus == bus and C.SynapseDriver(d).row_select == row_select


@given(st.lists(st.tuples(st.integers(0, 2**40), st.integers(-1, 511), st.integers(0, 65535)), max_size=50),
       st.integers(0, 1000))
def test_spike_codec_round_trips(rows, chip):
    t = np.array([r[0] for r in rows], dtype=np.int64)
    n = np.array([r[1] for r in rows], dtype=np.int64)
    lab = np.array([r[2] for r in rows], dtype=np.int64)
    batch = schemas.encode_spikes(t, chip, n, lab)
    assert batch.schema.equals(schemas.SPIKES)
    cols = schemas.decode_spikes(pa.Table.from_batches([batch], schema=schemas.SPIKES))
    assert cols["time_ticks"].tolist() == t.tolist() and cols["neuron"].tolist() == n.tolist()
    assert cols["label"].tolist() == lab.tolist() and set(cols["chip"].tolist()) <= {chip}


@given(st.integers(-3, 600))
def test_coordinates_check_their_range(value):
    if 0 <= value < 512:
        assert C.NeuronOnChip(value).column == value % 256
    else:
        with pytest.raises(ConfigError, match="0..511"):
            C.NeuronOnChip(value)


def test_errors_pickle():
    import pickle

    from bss2emu.errors import ChipUnavailableError
    from bss2emu.protocol.experiment import InvalidExperimentError

    for err in (ChipUnavailableError(3, "actor died"), InvalidExperimentError("experiment", [(("a",), "bad")]),
                bss2emu.RoutingError("x")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)


def test_madc_source_is_validated_with_the_allowed_names_and_in_the_schema():
    base = {"runtime_us": 1, "populations": [{"name": "p", "size": 2}]}
    exp = Experiment.model_validate({**base, "recordings": {"madc": {"population": "p", "source": "adaptation"}}})
    assert exp.recordings.madc.source == "adaptation"
    assert Experiment.model_validate({**base, "recordings": {"madc": {"population": "p"}}}).recordings.madc.source \
        == "membrane"
    with pytest.raises(ConfigError, match=r"recordings.madc.source = 'gsyn_exc': Input should be 'membrane', "
                                          r"'exc_synin', 'inh_synin' or 'adaptation'; use one of these"):
        Experiment.model_validate({**base, "recordings": {"madc": {"population": "p", "source": "gsyn_exc"}}})
    schema = Experiment.model_json_schema()["$defs"]["MadcRecording"]["properties"]["source"]
    assert schema["enum"] == ["membrane", "exc_synin", "inh_synin", "adaptation"] and schema["default"] == "membrane"
