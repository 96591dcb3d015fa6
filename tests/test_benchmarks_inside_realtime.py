"""The inside-realtime benchmark (``benchmarks/inside_realtime.py``) runs, briefly, and its
figures make sense (no timing assertions, DESIGN.md §6)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")


def test_inside_realtime_short(capsys, benchmark_script):
    bench = benchmark_script("inside_realtime")
    spikes = bench.main(["--runtime-ms", "0.5", "--writes", "4", "--repeat", "1"])
    # the same Poisson trains: weight 63 forwards every event, the writes' random weights
    # (from time 0 on) forward those of their non-zero synapses only
    assert 0 < spikes[4] <= spikes[0]
    assert "ratio" in capsys.readouterr().out
