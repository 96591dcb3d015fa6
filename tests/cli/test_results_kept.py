"""Results are never lost and never mixed: ``--out`` is checked before the run, a failed
write after the run falls back to a printed folder, no silent overwrite, a run id in every file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

import bss2emu
from bss2emu.cli import main
from bss2emu.protocol import results as results_module

SMALL = {"name": "kept", "runtime_us": 20, "chip": {"ideal": True},
         "populations": [{"name": "n", "size": 2, "params": {"i_const": 900}}]}


@pytest.fixture
def small_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


@pytest.fixture
def no_run(monkeypatch):
    """bss2emu.run that fails the test if called: the check must come first."""
    def run(*args, **kwargs):
        raise AssertionError("the run started although --out is unusable")

    monkeypatch.setattr(bss2emu, "run", run)


def test_unwritable_out_is_refused_before_the_run(small_yaml, tmp_path, capsys, no_run):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert main(["run", str(small_yaml), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "cannot write results to" in err and "nothing was run" in err and "Traceback" not in err


def test_existing_results_are_not_overwritten_without_asking(small_yaml, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(small_yaml), "--out", str(out)]) == 0
    first = json.loads((out / "metadata.json").read_text())["run_id"]
    assert main(["run", str(small_yaml), "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert json.loads((out / "metadata.json").read_text())["run_id"] == first  # untouched

    (out / "old_table.parquet").write_bytes((out / "spikes.parquet").read_bytes())  # a table only run 1 had
    assert main(["run", str(small_yaml), "--out", str(out), "--overwrite"]) == 0
    second = json.loads((out / "metadata.json").read_text())["run_id"]
    assert second != first
    assert not (out / "old_table.parquet").exists()
    for f in out.glob("*.parquet"):  # every file says which run wrote it
        assert pq.read_schema(f).metadata[b"bss2emu.run_id"].decode() == second, f.name
    assert bss2emu.Results.read_parquet(out).metadata["run_id"] == second


def test_overwrite_refuses_a_folder_with_other_files(small_yaml, tmp_path, capsys, no_run):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["run", str(small_yaml), "--out", str(out), "--overwrite"]) == 2
    assert "not bss2emu results (notes.txt)" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"


def test_failed_write_after_the_run_goes_to_a_printed_fallback(small_yaml, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real = bss2emu.Results.write_parquet

    def disk_full_in_out(self, directory):
        if Path(directory) == out:
            raise OSError(28, "No space left on device")
        return real(self, directory)

    monkeypatch.setattr(bss2emu.Results, "write_parquet", disk_full_in_out)
    monkeypatch.setattr(results_module.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    assert main(["run", str(small_yaml), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "No space left on device" in captured.err
    fallback = Path(captured.err.split("were saved to ")[1].split(" instead")[0])
    assert fallback.parent == tmp_path / "tmp"
    back = bss2emu.Results.read_parquet(fallback)
    assert back.spikes.num_rows > 0 and back.metadata["run_id"] in fallback.name
    assert "spikes" in captured.out  # the summary was printed too


def test_a_failed_run_leaves_no_folder_it_created(tmp_path, capsys):
    bad = tmp_path / "big.yaml"
    bad.write_text(yaml.safe_dump({**SMALL, "populations": [{"name": "huge", "size": 600}]}))
    out = tmp_path / "a" / "b"
    assert main(["run", str(bad), "--out", str(out)]) == 2
    assert not (tmp_path / "a").exists()


def test_mixed_runs_are_refused_on_reading(tmp_path):
    a = bss2emu.run(SMALL)
    b = bss2emu.run(SMALL)
    a.write_parquet(tmp_path / "a")
    b.write_parquet(tmp_path / "b")
    (tmp_path / "a" / "spikes.parquet").write_bytes((tmp_path / "b" / "spikes.parquet").read_bytes())
    with pytest.raises(bss2emu.ConfigError, match="mix runs"):
        bss2emu.Results.read_parquet(tmp_path / "a")


def test_write_parquet_keeps_parquet_files_that_are_not_results(tmp_path):
    import pyarrow as pa

    pq.write_table(pa.table({"x": [1]}), tmp_path / "mine.parquet")
    bss2emu.run(SMALL).write_parquet(tmp_path)
    assert (tmp_path / "mine.parquet").exists()
