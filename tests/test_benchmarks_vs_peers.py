"""The peers benchmark's bss2emu rows (``benchmarks/vs_peers.py``) run, briefly, and their
figures make sense. Figures only, no timing assertions (DESIGN.md §6)."""

from __future__ import annotations

import statistics

import numpy as np

import bss2emu


def test_the_continued_row_times_one_segment_per_call_of_one_run(benchmark_script):
    """``local-cont``: after an untimed first segment, each timed call runs one segment more
    of the same run — its rate is the median of the segments' own spikes, those one run of
    the longer experiment has in them."""
    bench = benchmark_script("vs_peers")
    seg_us, repeat = 20.0, 3
    exp, system = bench.experiment_for(512, seg_us * (1 + repeat))
    m = bench.run_bss2emu_continued(exp, system, repeat, seg_us)
    assert len(m["times"]) == len(m["loops"]) == repeat and min(m["times"]) > 0
    assert all(0 < loop <= t for loop, t in zip(m["loops"], m["times"]))
    t_us = bss2emu.run(exp, system=system).spikes["time_us"].to_numpy()
    per_segment = [int(((t_us >= k * seg_us) & (t_us < (k + 1) * seg_us)).sum()) for k in range(1, 1 + repeat)]
    assert min(per_segment) > 0
    assert np.isclose(m["rate_hz"], statistics.median(per_segment) / 512 / (seg_us / 1e3))
