"""The ``bss2emu`` command line: run / validate / schema, exit statuses and error reporting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bss2emu
from bss2emu.cli import PROGRESS_MIN_STEPS, ProgressBar, main

REPO = Path(__file__).resolve().parents[2]

SMALL = {
    "name": "cli small",
    "runtime_us": 200,
    "chip": {"ideal": True},
    "populations": [
        {"name": "driven", "size": 2, "params": {"i_const": 900}},
        {"name": "target", "size": 3},
    ],
    "sources": [{"kind": "spike_array", "name": "stim", "size": 1, "spike_times_us": [[10.0, 50.0]]}],
    "projections": [{"pre": "stim", "post": "target", "weight": 40}],
    "recordings": {"madc": {"population": "driven"}},
}


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def small_yaml(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "small.yaml", SMALL)


# --- run -----------------------------------------------------------------------------------

def test_run_writes_one_parquet_file_per_table(small_yaml, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_yaml), "--out", str(out), "--no-progress"]) == 0
    for name in ("spikes", "madc", "cadc", "ppu"):
        assert (out / f"{name}.parquet").is_file()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["experiment"] == "cli small"

    expected = bss2emu.run(bss2emu.load_experiment(small_yaml))
    spikes = pq.read_table(out / "spikes.parquet")
    assert spikes.num_rows == expected.spikes.num_rows > 0
    assert pq.read_table(out / "madc.parquet").num_rows == expected.madc.num_rows == 2000
    assert bss2emu.Results.read_parquet(out).spikes.equals(spikes)

    stdout, stderr = capsys.readouterr()
    assert stderr == ""  # --no-progress: no bar
    assert "driven" in stdout and "target" in stdout and "Hz bio" in stdout
    driven = next(line for line in stdout.splitlines() if line.startswith("driven"))
    n_driven = sum(p == "driven" for p in spikes["population"].to_pylist())
    rate_khz = n_driven / (2 * 200) * 1e3
    assert driven.split() == ["driven", "2", str(n_driven), f"{rate_khz:.3f}"]
    assert "spikes.parquet" in stdout


def test_run_seed_overrides_the_experiment_seed(small_yaml, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_yaml), "--out", str(out), "--seed", "17", "--no-progress"]) == 0
    assert json.loads((out / "metadata.json").read_text())["seed"] == 17
    assert "seed 17" in capsys.readouterr().out


def test_run_rejects_an_out_of_range_seed_before_running(small_yaml, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_yaml), "--out", str(out), "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--seed -1" in err and "seed" in err and "Traceback" not in err
    assert not out.exists()


def test_run_progress_bar_is_shown_when_asked(small_yaml, tmp_path, capsys):
    assert main(["run", str(small_yaml), "--out", str(tmp_path / "out"), "--progress"]) == 0
    assert "step" in capsys.readouterr().err


def test_progress_bar_auto_mode_needs_a_long_run_and_a_terminal():
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty, self.text = tty, ""

        def isatty(self) -> bool:
            return self.tty

        def write(self, s: str) -> None:
            self.text += s

        def flush(self) -> None:
            pass

    long_run = PROGRESS_MIN_STEPS + 1
    for enabled, tty, total, shown in [(None, True, long_run, True), (None, False, long_run, False),
                                       (None, True, PROGRESS_MIN_STEPS, False), (False, True, long_run, False),
                                       (True, False, 10, True)]:
        stream = Stream(tty)
        bar = ProgressBar(enabled, stream)
        bar(total // 2, total)
        bar(total, total)
        bar.close()
        assert bool(stream.text) is shown, (enabled, tty, total)


def test_run_that_does_not_fit_the_chip_exits_2(tmp_path, capsys):
    big = {**SMALL, "populations": [{"name": "huge", "size": 600}], "sources": [], "projections": [],
           "recordings": {}}
    out = tmp_path / "out"
    assert main(["run", str(write_yaml(tmp_path / "big.yaml", big)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "600" in err and "512" in err and "Traceback" not in err
    assert not out.exists()


def test_run_into_a_file_exits_2(small_yaml, tmp_path, capsys):
    not_a_dir = tmp_path / "results"
    not_a_dir.write_text("")
    assert main(["run", str(small_yaml), "--out", str(not_a_dir)]) == 2
    assert "directory" in capsys.readouterr().err


def test_ctrl_c_exits_130_and_writes_nothing(small_yaml, tmp_path, monkeypatch, capsys):
    def interrupted(exp, progress=None, **options):
        progress(1000, 2000)
        raise KeyboardInterrupt

    monkeypatch.setattr(bss2emu, "run", interrupted)
    out = tmp_path / "out"
    assert main(["run", str(small_yaml), "--out", str(out), "--progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


# --- validate ------------------------------------------------------------------------------

def test_validate_good_file(small_yaml, capsys):
    assert main(["validate", str(small_yaml)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: cli small (2 populations")
    assert "1 projection" in out


def test_validate_names_field_value_and_limit(tmp_path, capsys):
    bad = {**SMALL, "projections": [{"pre": "stim", "post": "target", "weight": 64}]}
    assert main(["validate", str(write_yaml(tmp_path / "bad.yaml", bad))]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    problem = next(line for line in captured.err.splitlines() if "weight" in line)
    assert "64" in problem and "63" in problem
    assert "bad.yaml" in captured.err and "Traceback" not in captured.err


def test_validate_reports_each_problem_on_its_own_line(tmp_path, capsys):
    bad = {**SMALL, "runtime_us": -5, "projections": [{"pre": "stim", "post": "target", "weight": 64}]}
    assert main(["validate", str(write_yaml(tmp_path / "bad.yaml", bad))]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert "2 problems" in lines[0]
    assert any(line.strip().startswith("runtime_us") for line in lines[1:])
    assert any(line.strip().startswith("projections[0].weight") for line in lines[1:])


def test_validate_routes_the_network(tmp_path, capsys):
    many = {**SMALL, "sources": [{"kind": "background", "name": f"bg{i}", "period": 100} for i in range(9)],
            "projections": [{"pre": f"bg{i}", "post": "target", "weight": 1} for i in range(9)]}
    assert main(["validate", str(write_yaml(tmp_path / "bg.yaml", many))]) == 2
    assert "background generators" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["populations: [\n", "name: [unclosed", "- a list\n- not a mapping\n",
                                  "{runtime_us: 10, populations: {name: p}}"])
def test_validate_malformed_file_exits_2(tmp_path, capsys, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bss2emu: error:") and "Traceback" not in err


def test_validate_missing_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "nowhere.yaml"
    assert main(["validate", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "nowhere.yaml" in err and "No such file" in err


# --- schema, version, usage ----------------------------------------------------------------

def test_schema_is_json_schema(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "properties" in schema and "runtime_us" in schema["properties"]


def test_schema_to_file(tmp_path, capsys):
    target = tmp_path / "experiment.schema.json"
    assert main(["schema", "--out", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == bss2emu.protocol.experiment.experiment_schema()


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bss2emu {bss2emu.__version__}"


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["run", "x.yaml"]) == 2  # --out is required
    assert main(["frobnicate"]) == 2
    assert "usage" in capsys.readouterr().err


# --- the installed entry point -------------------------------------------------------------

def test_console_script_is_wired(small_yaml, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    ok = subprocess.run([sys.executable, "-m", "bss2emu", "validate", str(small_yaml)],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok: cli small")

    bad = write_yaml(tmp_path / "bad.yaml", {**SMALL, "runtime_us": 0})
    failed = subprocess.run([sys.executable, "-m", "bss2emu", "validate", str(bad)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 2
    assert "runtime_us" in failed.stderr and "Traceback" not in failed.stderr


# --- property: any file content is either valid or a clean error -----------------------------

_keys = st.sampled_from(["name", "seed", "runtime_us", "dt_ns", "chip", "populations", "sources",
                         "projections", "recordings", "writes", "size", "weight", "kind", "pre", "post"])
_leaf = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8)
_values = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(_keys | st.text(max_size=5), inner, max_size=4), max_leaves=12)
_documents = st.text() | st.dictionaries(_keys, _values, max_size=6).map(
    lambda d: yaml.safe_dump(d, allow_unicode=True))


# the file is rewritten for every example, so one tmp_path for all of them is intended
@settings(max_examples=150, deadline=timedelta(seconds=5),
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_documents)
def test_validate_never_raises_on_any_text(tmp_path, text):
    path = tmp_path / "arbitrary.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) in (0, 2)


# --- the experiment names its system ----------------------------------------------------------

PINNED = {"name": "pinned", "runtime_us": 20, "chip": {"ideal": True}, "system": "cube-4",
          "populations": [{"name": "far", "size": 1, "chip": 3, "params": {"i_const": 900}}]}


def test_run_takes_the_system_the_file_names_and_the_command_line_overrides_it(tmp_path, capsys):
    path = write_yaml(tmp_path / "pinned.yaml", PINNED)
    assert main(["run", str(path), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    meta = json.loads((tmp_path / "a" / "metadata.json").read_text())
    assert (meta["system"], meta["chips"]) == ("cube-4", 4)
    assert pq.read_table(tmp_path / "a" / "spikes.parquet")["chip"].to_pylist()[0] == 3
    assert main(["run", str(path), "--out", str(tmp_path / "b"), "--chips", "8", "--no-progress"]) == 0
    assert json.loads((tmp_path / "b" / "metadata.json").read_text())["chips"] == 8
    # a system too small for the pinned chip: the command line's choice is what runs
    assert main(["run", str(path), "--out", str(tmp_path / "c"), "--chips", "2", "--no-progress"]) == 2
    assert "chip" in capsys.readouterr().err


def test_an_inline_system_description_runs_and_a_bad_one_names_itself():
    duo = {"name": "duo", "chips": [{"id": 0, "serial": 1}, {"id": 1, "serial": 2}]}
    res = bss2emu.run({**PINNED, "system": duo, "populations": [dict(PINNED["populations"][0], chip=1)]})
    assert (res.metadata["system"], res.metadata["chips"]) == ("duo", 2)
    with pytest.raises(bss2emu.ConfigError, match="jboa-99"):
        bss2emu.run({**PINNED, "system": "jboa-99"})
