"""The safe loader: hostile experiment files are refused quickly with a ConfigError that
names the problem; strict types where pydantic would coerce silently."""

from __future__ import annotations

import time

import pytest

from bss2emu.errors import ConfigError
from bss2emu.protocol import loader
from bss2emu.protocol.experiment import Experiment, load_experiment

BASE = "runtime_us: 10\npopulations: [{name: p, size: 2}]\n"


def _billion_laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text,expected", [
    (_billion_laughs(), r"aliases .* expand this value to [\d,]+ values, more than"),
    ("runtime_us: 10\npopulations: &p [{name: n, size: 1}, *p]\n", "recursive anchor"),
    ("[" * 200_000, "nest more than 64 levels"),  # libyaml's composer would crash the interpreter
    ("a:\n" + "".join(" " * (2 * i) + f"- k{i}:\n" for i in range(100)), "nest more than 64 levels"),
    ("runtime_us: 10\nruntime_us: 20\n", r"line 2: key 'runtime_us' is given twice \(first on line 1\)"),
    ("runtime_us: [1\n", "line 2"),
    ("", "found nothing"),
    ("- 1\n- 2\n", "found list"),
])
def test_hostile_yaml_is_refused_quickly_with_a_config_error(tmp_path, text, expected):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=expected):
        load_experiment(path)
    # generous: the bomb took 110 s before; refusing it costs milliseconds
    assert time.perf_counter() - t0 < 5.0


def test_aliases_within_the_budget_are_expanded(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("runtime_us: 10\nsources:\n  - kind: spike_array\n    name: s\n    size: 3\n"
                    "    spike_times_us: [&t [1.0, 2.0], *t, *t]\n"
                    "populations: [{name: p, size: 1}]\n"
                    "projections: [&pr {pre: s, post: p, weight: 5}, {<<: *pr, name: second}]\n")
    exp = load_experiment(path)
    assert exp.sources[0].spike_times_us == [[1.0, 2.0]] * 3
    assert [p.label for p in exp.projections] == ["s→p", "second"]  # a merge key may override


def test_non_utf8_bytes_are_named_with_their_offset(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"runtime_us: 10\nname: \xff\xfe\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text: byte 0xff at offset 21 \(line 2\)"):
        load_experiment(path)


def test_json_duplicates_and_nesting(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"runtime_us": 1, "runtime_us": 2}')
    with pytest.raises(ConfigError, match="'runtime_us' is given twice"):
        load_experiment(path)
    path.write_text("[" * 100_000)
    with pytest.raises(ConfigError, match="nest"):
        load_experiment(path)
    path.write_text('{"runtime_us": 10, "populations": [{"name": "p", "size": 2}]}')
    assert load_experiment(path).populations[0].size == 2


def test_oversized_file_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 100)
    path = tmp_path / "x.yaml"
    path.write_text(BASE + "#" * 200)
    with pytest.raises(ConfigError, match="larger than"):
        load_experiment(path)


@pytest.mark.parametrize("change,expected", [
    ({"projections": [{"pre": "p", "post": "p", "weight": True}]},
     r"projections\[0\] weight = True: true/false where a number is expected"),
    ({"runtime_us": True}, "runtime_us = True: true/false"),
    ({"populations": [{"name": "p", "size": 2, "params": {"v_leak": [True, 300]}}]}, r"v_leak = \[True, 300\]"),
    ({"runtime_us": 1e-9}, r"runtime_us = 1e-09 is shorter than one integration step \(dt_ns = 100 ns = 0.1 µs\)"),
    ({"runtime_us": 0.05, "dt_ns": 100}, "shorter than one integration step"),
    ({"runtime_us": float("nan")}, "runtime_us = nan: NaN and infinity are not allowed"),
    ({"runtime_us": float("inf")}, "runtime_us = inf: NaN and infinity are not allowed"),
    ({"recordings": {"cadc": {"period_us": float("nan")}}}, "period_us = nan: NaN"),
])
def test_silent_coercions_are_refused(change, expected):
    data = {"runtime_us": 10, "populations": [{"name": "p", "size": 2}]} | change
    with pytest.raises(ConfigError, match=expected):
        Experiment.model_validate(data)


def test_bool_fields_still_take_bools_and_runtime_of_one_step_runs():
    exp = Experiment.model_validate({"runtime_us": 0.1, "chip": {"ideal": True},
                                     "populations": [{"name": "p", "size": 2, "record_spikes": False}]})
    assert exp.chip.ideal is True and exp.populations[0].record_spikes is False
