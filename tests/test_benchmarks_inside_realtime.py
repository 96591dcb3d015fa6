"""The inside-realtime benchmark (``benchmarks/inside_realtime.py``) runs, briefly, and its
figures make sense (no timing assertions, DESIGN.md §6)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "inside_realtime.py"


def test_inside_realtime_short(capsys):
    spec = importlib.util.spec_from_file_location("bss2emu_benchmark_inside_realtime", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    spikes = bench.main(["--runtime-ms", "0.5", "--writes", "4", "--repeat", "1"])
    # the same Poisson trains: weight 63 forwards every event, the writes' random weights
    # (from time 0 on) forward those of their non-zero synapses only
    assert 0 < spikes[4] <= spikes[0]
    assert "ratio" in capsys.readouterr().out
