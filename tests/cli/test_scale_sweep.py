"""Cluster jobs from the command line and Python: ``run --chips``, ``sweep`` and ``scale``.

Tests on Ray use the session's one Ray instance, the ``ray_cluster`` fixture of
``tests/conftest.py`` (two nodes), and never shut it down."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import yaml

import bss2emu
from bss2emu.cli import EXIT_ALL_FAILED, build_parser, main
from bss2emu.cluster.scaling import COLUMNS, IN_DEGREE, reference_network, scaling_study
from bss2emu.cluster.sweep import expand_grid, parse_grid, sweep
from bss2emu.errors import ConfigError

TINY = {
    "name": "sweep tiny",
    "runtime_us": 20,
    "chip": {"ideal": True},
    "populations": [
        {"name": "driven", "size": 2, "params": {"i_const": 900}},
        {"name": "target", "size": 3},
    ],
    "sources": [{"kind": "spike_array", "name": "stim", "size": 1, "spike_times_us": [[5.0, 12.0]]}],
    "projections": [{"pre": "stim", "post": "target", "weight": 40}],
}


@pytest.fixture
def tiny_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, allow_unicode=True), encoding="utf-8")
    return path


def member_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir())


# --- the grid ------------------------------------------------------------------------------

def test_cli_parses_repeated_grid_options_into_one_grid(tmp_path):
    args = build_parser().parse_args(["sweep", "e.yaml", "--grid", "seed=1,2,3", "-g", "projections.0.weight=20,40",
                                      "--out", str(tmp_path), "--address", "ray://head:10001"])
    assert args.address == "ray://head:10001" and args.placement is None
    assert parse_grid(args.grid) == {"seed": [1, 2, 3], "projections.0.weight": [20, 40]}


def test_grid_values_are_yaml_and_a_grid_file_works(tmp_path):
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("runtime_us: [1e3, 50]\npopulations.0.params.i_const: [[1, 2], 300]\n")
    assert parse_grid(["name=a b,c", str(grid_file)]) == {
        "name": ["a b", "c"], "runtime_us": [1000.0, 50], "populations.0.params.i_const": [[1, 2], 300]}


@pytest.mark.parametrize("items, words", [
    (["seed=1", "seed=2"], "twice"),
    (["=1,2"], "key is empty"),
    (["seed="], "no values"),
    (["no/such/file.yaml"], "neither KEY=V1,V2"),
])
def test_bad_grid_items_are_config_errors(items, words):
    with pytest.raises(ConfigError, match=words):
        parse_grid(items)


@pytest.mark.parametrize("key, words", [
    ("sed", "has no field 'sed'"),
    ("projections.3.weight", "list of 1"),
    ("recordings.madc.index", "not set in the base experiment"),
    ("seed.x", "is a value"),
])
def test_grid_keys_must_exist_in_the_base_experiment(key, words):
    with pytest.raises(ConfigError, match=words):
        expand_grid(bss2emu.Experiment.model_validate(TINY), {key: [1]})


# --- sweep ---------------------------------------------------------------------------------

def test_sweep_cli_keeps_the_other_members_when_one_fails(ray_cluster, tiny_yaml, tmp_path, capsys):
    # only 300 + 300 neurons do not fit one chip: that member fails in its Ray task (routing)
    out = tmp_path / "sweep"
    rc = main(["sweep", str(tiny_yaml), "--grid", "populations.0.size=2,100,300",
               "--grid", "populations.1.size=3,300", "--out", str(out), "--no-progress"])
    assert rc == 0
    dirs = member_dirs(out)
    assert len(dirs) == 5
    assert all((d / "spikes.parquet").is_file() and (d / "metadata.json").is_file() for d in dirs)

    index = json.loads((out / "sweep.json").read_text())
    failed = [m for m in index["members"] if m["status"] != "ok"]
    assert (index["ok"], index["failed"]) == (5, 1) and len(failed) == 1
    assert failed[0]["params"] == {"populations.0.size": 300, "populations.1.size": 300}
    assert failed[0]["error_type"] == "RoutingError" and "600 neuron circuits" in failed[0]["error"]
    assert failed[0]["directory"] is None

    table = pq.read_table(out / "sweep.parquet").to_pandas()
    assert list(table["populations.0.size"]) == [2, 2, 100, 100, 300, 300]
    assert (table.status == "ok").sum() == 5 and (table.spikes[table.status == "ok"] > 0).all()
    ok = table[table.status == "ok"].iloc[-1]
    meta = json.loads((out / ok.directory / "metadata.json").read_text())
    assert meta["populations"] == {"driven": ok["populations.0.size"], "target": ok["populations.1.size"]}

    stdout = capsys.readouterr().out
    assert "5 of 6 members ok, 1 failed" in stdout and failed[0]["id"] in stdout and "RoutingError" in stdout


def test_sweep_over_seeds_and_weights_records_invalid_members(ray_cluster, tmp_path):
    report = sweep(TINY, {"seed": [1, 2, 3], "projections.0.weight": [20, 64]}, tmp_path, progress=False)
    assert [m.status for m in report.members] == ["ok", "invalid"] * 3
    assert all("projections[0].weight = 64" in m.error for m in report.failed)
    assert len(member_dirs(tmp_path)) == 3
    for m in report.ok:
        res = bss2emu.Results.read_parquet(m.directory)
        assert res.metadata["seed"] == m.params["seed"] and res.spikes.num_rows == m.spikes


def test_sweep_in_which_every_member_fails_exits_1_and_names_them(tiny_yaml, tmp_path, capsys):
    rc = main(["sweep", str(tiny_yaml), "--grid", "projections.0.weight=64,70", "--out", str(tmp_path / "s")])
    assert rc == EXIT_ALL_FAILED
    captured = capsys.readouterr()
    assert "all 2 members of the sweep failed" in captured.err
    assert "m000_projections.0.weight=64: invalid" in captured.out and "m001" in captured.out


def test_sweep_with_an_unknown_grid_key_exits_2(tiny_yaml, tmp_path, capsys):
    assert main(["sweep", str(tiny_yaml), "--grid", "seeed=1,2", "--out", str(tmp_path / "s")]) == 2
    assert "has no field 'seeed'" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


# --- run on several chips ------------------------------------------------------------------

def test_run_on_two_chips_prints_chips_windows_and_inter_chip_traffic(tmp_path, capsys):
    exp = {**TINY, "populations": [{"name": "a", "size": 300, "params": {"i_const": 900}}, {"name": "b", "size": 300}],
           "sources": [], "projections": [{"pre": "a", "post": "b", "weight": 30,
                                           "connector": {"kind": "one_to_one"}}]}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(exp))
    out = tmp_path / "out"
    assert main(["run", str(path), "--chips", "2", "--partitioner", "naive", "--out", str(out)]) == 0
    meta = json.loads((out / "metadata.json").read_text())
    # naive fill: a and 212 of b on chip 0, the rest of b on chip 1
    assert meta["chips"] == 2 and meta["inter_chip_events"] > 0
    stdout = capsys.readouterr().out
    assert (f"chips: {meta['chips_used']} used of 2 (system 'jboa-2', placement local); {meta['windows']} windows"
            in stdout)
    assert f"inter-chip events {meta['inter_chip_events']}, dropped 0" in stdout


def test_run_with_an_address_but_no_ray_placement_exits_2(tiny_yaml, tmp_path, capsys):
    assert main(["run", str(tiny_yaml), "--address", "10.0.0.1:6379", "--out", str(tmp_path / "o")]) == 2
    assert "--placement per-chip" in capsys.readouterr().err


# --- scale ---------------------------------------------------------------------------------

def test_reference_network_keeps_in_degree_and_fits_the_hardware_limit():
    exp = bss2emu.Experiment.model_validate(reference_network(chips=2, neurons_per_chip=400, runtime_us=10))
    pre_per_post: dict[tuple[str, int], set] = {}
    for pr in exp.projections:
        for pre, post in pr.connector.connections:
            pre_per_post.setdefault((pr.post, post), set()).add((pr.pre, pre))
    assert len(pre_per_post) == 800
    recurrent = [sum(p[0] != "drive" for p in s) for s in pre_per_post.values()]
    assert min(recurrent) == max(recurrent) == IN_DEGREE == 100
    exp2 = reference_network(chips=2, neurons_per_chip=400, runtime_us=10)
    assert exp2 == reference_network(chips=2, neurons_per_chip=400, runtime_us=10)  # keyed to the seed


def test_scale_cli_writes_the_table_and_the_plot(tmp_path, capsys):
    out = tmp_path / "scale"
    assert main(["scale", "--chips", "1", "2", "--placements", "local", "--runtime-us", "10",
                 "--neurons-per-chip", "200", "--out", str(out), "--no-progress"]) == 0
    table = pcsv.read_csv(out / "scaling.csv")
    assert table.column_names == list(COLUMNS)
    assert table["chips"].to_pylist() == [1, 2] and table["chips_used"].to_pylist() == [1, 2]
    assert table["placement"].to_pylist() == ["local", "local"]
    assert table["inter_chip_events"].to_pylist()[0] == 0 and table["windows"].to_pylist()[0] > 1
    assert pq.read_table(out / "scaling.parquet").num_rows == 2
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stdout = capsys.readouterr().out
    assert "wall/bio s" in stdout and "overhead ms/win" in stdout and "scaling.png" in stdout
    assert table["same_as_local"].to_pylist() == [True, True]


def test_scale_rejects_bad_chip_counts_before_running(tmp_path, capsys):
    assert main(["scale", "--chips", "0", "--out", str(tmp_path / "s")]) == 2
    assert "chips=[0]" in capsys.readouterr().err


def test_scaling_study_on_ray_matches_the_local_run(ray_cluster):
    report = scaling_study([2], ["per-chip"], neurons_per_chip=100, runtime_us=30)
    (row,) = report.rows  # the local reference run is made but not listed
    assert (row["placement"], row["hosts"], row["chips_used"]) == ("per-chip", 2, 2)
    assert row["same_as_local"] and row["inter_chip_events"] > 0 and row["windows"] > 1
    assert row["integration_s"] > 0 and report.files == []


def test_efficiency_is_ideal_over_measured_time_for_weak_and_strong_scaling():
    from bss2emu.cluster.scaling import add_efficiency

    def row(mode, placement, chips, hosts, t):
        return {"scaling": mode, "placement": placement, "chips": chips, "hosts": hosts, "wall_per_bio_s": t}

    rows = [row("weak", "local", 1, 1, 1.0), row("weak", "local", 4, 1, 5.0),  # 4x the work on one core
            row("weak", "packed", 1, 1, 1.0), row("weak", "packed", 2, 2, 1.0), row("weak", "packed", 8, 8, 8.0),
            row("strong", "packed", 1, 1, 3.0), row("strong", "packed", 2, 2, 2.0)]
    add_efficiency(rows, cpus=2)
    assert [r["efficiency"] for r in rows] == pytest.approx([1.0, 0.8, 1.0, 1.0, 0.5, 1.0, 0.75])


def test_scale_cli_adds_strong_scaling_rows(tmp_path, capsys):
    out = tmp_path / "scale"
    assert main(["scale", "--chips", "1", "2", "--placements", "local", "--runtime-us", "5", "--neurons-per-chip",
                 "100", "--strong-neurons", "200", "--out", str(out), "--no-progress"]) == 0
    table = pcsv.read_csv(out / "scaling.csv")
    assert list(zip(table["scaling"].to_pylist(), table["chips"].to_pylist(), table["neurons"].to_pylist())) == [
        ("weak", 1, 100), ("weak", 2, 200), ("strong", 1, 200), ("strong", 2, 200)]
    assert table["efficiency"].to_pylist()[0] == table["efficiency"].to_pylist()[2] == 1.0
    assert "strong with 200 neurons" in capsys.readouterr().out
