"""Chip-actor kills at random windows of per-chip runs: every run recovers (back to the last
checkpoint, the dead host restarted, the lost windows replayed) and finishes with results
identical to the fault-free run. 4 runs × 5 kills = 20 kills."""

from __future__ import annotations

import contextlib
import random
import time

import pytest

import bss2emu
from bss2emu.cluster.coordinator import Coordinator
from bss2emu.protocol.system import named_system

from test_multichip import CHAIN

TABLES = ("spikes", "madc", "cadc", "links")
RUNS, KILLS_PER_RUN = 4, 5
EXP = {**CHAIN, "runtime_us": 30}


class Killer:
    """A progress callback that kills a random chip-host actor after chosen windows, each
    kill once (a replay after the rollback passes the same window again without a kill)."""

    def __init__(self, coordinator: Coordinator, windows: list[int], rng: random.Random) -> None:
        self.coordinator, self.pending, self.rng = coordinator, sorted(windows), rng
        self.done: list[tuple[int, int]] = []  # (window, host)

    def __call__(self, step: int, total: int) -> None:
        import ray
        from ray.exceptions import RayError

        c = self.coordinator
        if not self.pending or c.windows < self.pending[0] or step >= total:
            return
        self.pending.pop(0)
        hosts = c.backend.actor_handles()
        i = self.rng.randrange(len(hosts))
        ray.kill(hosts[i])
        self.done.append((c.windows, i))
        deadline = time.monotonic() + 30  # ray.kill returns before the actor is gone
        with contextlib.suppress(RayError):
            while time.monotonic() < deadline:
                ray.get(hosts[i].ping.remote(), timeout=5)
                time.sleep(0.01)


def test_twenty_chip_actor_kills_at_random_windows_leave_the_results_unchanged(ray_cluster):
    exp = bss2emu.Experiment.model_validate(EXP)
    ref = bss2emu.run(exp, system="cube-4")
    windows = ref.metadata["windows"]
    assert windows > 2 * KILLS_PER_RUN
    rng = random.Random(11)
    outcomes = []
    for run in range(RUNS):
        coordinator = Coordinator(exp, named_system("cube-4"), "per-chip", checkpoint_every=4)
        killer = Killer(coordinator, rng.sample(range(1, windows - 1), KILLS_PER_RUN), rng)
        t0 = time.perf_counter()
        res = coordinator.run(killer)
        outcomes.append((run, killer.done, res.metadata["recoveries"], time.perf_counter() - t0))
        assert not killer.pending, killer.pending
        assert res.metadata["recoveries"] == KILLS_PER_RUN, outcomes
        for name in TABLES:
            assert res.tables[name].equals(ref.tables[name]), (name, outcomes[-1])
    print("kills (run, [(window, host)], recoveries, wall s):", outcomes)
    assert sum(len(done) for _, done, _, _ in outcomes) == RUNS * KILLS_PER_RUN == 20
