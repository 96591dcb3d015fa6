"""A run on Ray: where its coordinator runs.

By default the coordinator runs in this process (the driver) and only the hosts are Ray
actors: the experiment is neither pickled to an actor nor its results back (about 0.5 s per
run for the 2048-neuron reference network here), and the mapping cache and kept host actors
(``ray_backend``) are this process's. ``BSS2EMU_RAY_COORDINATOR=actor`` — and a Ray client
connection (``ray://``), whose driver is far from the cluster — runs it in an actor instead,
polled for progress; that actor is kept between runs of one Ray session, so a second run of
the same topology finds the mapping in its cache and skips the actor's start-up.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import ray
from ray.exceptions import RayError

from ..errors import ConfigError
from .coordinator import Coordinator
from .host import process_memory_mb
from .ray_backend import _session, compiled_graph_wanted, ensure_ray, peers_wanted, ray_errors, wire_format


class _CoordinatorActor:
    """The coordinator in an actor, so that a job can be submitted and watched. One actor
    serves one run at a time and stays up for the next (keeping the mapping cache and the
    loaded kernels of its process)."""

    def __init__(self) -> None:
        self.coordinator = None
        self.fault_at_window: int | None = None
        self.runs = 0

    def run(self, args: tuple, kwargs: dict, compiled_graph: bool, kill_host_after: int | None = None,
            wire: str = "arrow", peers: bool = True, progress=None):
        self.fault_at_window = kill_host_after
        self.coordinator = None
        self.runs += 1
        coordinator = Coordinator(*args, **kwargs)
        # the caller's settings (an actor's environment is not the driver's)
        coordinator.backend.compiled_graph, coordinator.backend.peers = compiled_graph, peers
        coordinator.backend.set_wire(wire)
        self.coordinator = coordinator

        def watch(step, total):
            if self.fault_at_window is not None:
                self._inject(step, total)
            if progress is not None:
                progress(step, total)

        res = coordinator.run(watch if self.fault_at_window is not None or progress is not None else None)
        res.metadata["coordinator_memory_mb"] = process_memory_mb()
        res.metadata["coordinator_runs"] = self.runs
        return res

    def _inject(self, step, total):  # fault injection for tests: kill a host actor after a window
        if self.coordinator.windows == self.fault_at_window:
            self.fault_at_window = None
            victim = self.coordinator.backend.actor_handles()[-1]
            ray.kill(victim)
            # ray.kill returns before the actor is gone: wait, so that the very next window
            # meets the dead host (not a checkpoint a few windows later)
            deadline = time.monotonic() + 30
            with contextlib.suppress(RayError):
                while time.monotonic() < deadline:
                    ray.get(victim.ping.remote(), timeout=5)
                    time.sleep(0.01)

    def progress(self):
        """``(step, total)`` of the current run, or None while it is being mapped."""
        c = self.coordinator
        return None if c is None else c.progress()


_CoordRemote = ray.remote(num_cpus=0, max_concurrency=2)(_CoordinatorActor)
# A coordinator actor retires after this many runs: the object-store buffers that each
# compiled graph leaves behind are freed when their owner (the actor) ends.
COORDINATOR_RUNS = 20
_idle_coordinators: list[tuple[str, object]] = []  # (Ray session, actor) free for the next run
_idle_lock = threading.Lock()


def _take_coordinator():
    """An idle coordinator actor of this Ray session, or a new one."""
    session = _session()
    with _idle_lock:
        while _idle_coordinators:
            owner, actor = _idle_coordinators.pop()
            if owner == session:  # actors of an earlier ray.init are gone with it
                return session, actor
    return session, _CoordRemote.remote()


def coordinator_in_actor() -> bool:
    """Whether a Ray run's coordinator runs in an actor (``BSS2EMU_RAY_COORDINATOR=actor``, or
    a Ray client connection) rather than in this process (``driver``, the default)."""
    where = os.environ.get("BSS2EMU_RAY_COORDINATOR", "driver").strip().lower()
    if where not in ("driver", "actor"):
        raise ConfigError(f"BSS2EMU_RAY_COORDINATOR={where!r}: use 'driver' or 'actor'")
    return where == "actor" or ray.util.client.ray.is_connected()


def run_on_ray(exp, system, placement, address, progress=None, kill_host_after: int | None = None, **options):
    """Run on Ray: the coordinator in this process, or in an actor polled for progress
    (``coordinator_in_actor``). ``kill_host_after=N`` (for tests) kills a host actor after
    window N; the run recovers from its last checkpoint."""
    if placement == "local":
        raise ConfigError("run_on_ray needs a Ray placement")
    ensure_ray(address)
    if not coordinator_in_actor():
        runner = _CoordinatorActor()
        with ray_errors():
            res = runner.run((exp, system, placement, address), options, compiled_graph_wanted(), kill_host_after,
                             wire_format(), peers_wanted(), progress=progress)
        res.metadata.pop("coordinator_memory_mb", None)  # this process's: the caller's own
        res.metadata["coordinator"] = "driver"
        return res
    with ray_errors():
        job, coord = _take_coordinator()
        ref = coord.run.remote((exp, system, placement, address), options, compiled_graph_wanted(), kill_host_after,
                              wire_format(), peers_wanted())
        healthy = False
        try:
            while True:
                done, _ = ray.wait([ref], timeout=0.5)
                if progress is not None:
                    now = ray.get(coord.progress.remote())
                    if now is not None:
                        progress(*now)
                if done:
                    break
            res = ray.get(ref)
            res.metadata["coordinator"] = "actor"
            healthy = res.metadata.get("coordinator_runs", COORDINATOR_RUNS) < COORDINATOR_RUNS
            return res
        finally:
            if healthy:
                with _idle_lock:
                    _idle_coordinators.append((job, coord))
            else:  # retired, or an error may have left it mid-run
                with contextlib.suppress(Exception):
                    ray.kill(coord)


@ray.remote(num_cpus=1)
def _run_chunk(exps, system, options):
    return Coordinator(exps[0], system, "local", None, **options).run_each(exps)


def run_each_on_ray(exps, system, address, **options):
    """``bss2emu.run_each`` on Ray: one chunk of the batch per CPU of the cluster, each run
    in-process by a task; results in the order of ``exps``."""
    ensure_ray(address)
    with ray_errors():
        n = max(1, min(len(exps), int(ray.cluster_resources().get("CPU", 1))))
        bounds = [len(exps) * i // n for i in range(n + 1)]
        refs = [_run_chunk.remote(exps[a:b], system, options) for a, b in zip(bounds, bounds[1:]) if b > a]
        return [res for chunk in ray.get(refs) for res in chunk]
