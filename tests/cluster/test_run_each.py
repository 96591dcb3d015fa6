"""``bss2emu.run_each``: a batch of one network with one stimulus per entry gives, entry by
entry, the results of separate runs — bit for bit, on one chip and across chips, with the
chips' state (membranes, STP, correlation, PPU timers, links) back at time 0 for each."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.errors import ConfigError

from test_local import PPU_EXP
from test_multichip import CHAIN

TABLES = ("spikes", "madc", "cadc", "ppu", "links")


def stimuli(base: dict, name: str, n: int, seed: int = 0) -> list[dict]:
    """``n`` copies of ``base`` whose spike-array source ``name`` plays other random trains."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        sources = []
        for s in base["sources"]:
            if s["name"] == name:
                trains = [sorted(np.round(rng.uniform(1, base["runtime_us"] - 5, rng.integers(0, 6)), 1).tolist())
                          for _ in range(s["size"])]
                s = {**s, "spike_times_us": trains}
            sources.append(s)
        out.append({**base, "sources": sources})
    return out


def assert_same(batch, separate):
    assert len(batch) == len(separate)
    for a, b in zip(batch, separate):
        for name in TABLES:
            assert a.tables[name].equals(b.tables[name]), name


def test_a_batch_on_four_chips_equals_separate_runs():
    exps = stimuli(CHAIN, "kick", 4)
    batch = bss2emu.run_each(exps, system="cube-4")
    assert_same(batch, [bss2emu.run(e, system="cube-4") for e in exps])
    counts = [r.spikes.num_rows for r in batch]
    assert len(set(counts)) > 1 and max(counts) > 20  # the entries differ, and the chain carries spikes


def test_a_batch_with_a_ppu_kernel_restarts_its_timer_and_weights_for_each_entry():
    exps = stimuli(PPU_EXP, "s", 3, seed=1) + [PPU_EXP]
    batch = bss2emu.run_each(exps)
    assert_same(batch, [bss2emu.run(e) for e in exps])
    assert batch[-1].to_pandas("ppu").value.iloc[0] > 0  # the last entry (strong drive) fired: weights were reset


def test_entries_that_differ_in_more_than_their_stimulus_are_refused():
    a, b = stimuli(PPU_EXP, "s", 2)
    with pytest.raises(ConfigError, match=r"experiment 1 .* differs from the first in 'runtime_us'.*bss2emu.run"):
        bss2emu.run_each([a, {**b, "runtime_us": 200}])
    with pytest.raises(ConfigError, match=r"same sources \(kind, name, size\)"):
        bss2emu.run_each([a, {**b, "sources": [{**b["sources"][0], "size": 7, "spike_times_us": [[]] * 7}]}])
    assert bss2emu.run_each([]) == []


def test_a_batch_on_ray_runs_in_parallel_tasks_with_identical_results(ray_cluster):
    exps = stimuli(CHAIN, "kick", 5, seed=2)
    assert_same(bss2emu.run_each(exps, system="cube-4", placement="per-chip"),
                bss2emu.run_each(exps, system="cube-4"))
