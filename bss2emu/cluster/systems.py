"""A pool of emulated systems that run whole experiments one after the other: what the
experiment service (``bss2emu.service``) time-shares between its users.

``EmulatedSystem`` is a plain class: it runs an experiment in its own process (the
``local`` placement) and keeps the configuration of the work it ran last — the owner and
the mapped topology of the system — so that the next unit of the same owner and topology
starts without restoring it (quiggeldy replays a user's configuration only when the user
changes). ``LocalSystems`` holds such systems in this process; ``RaySystems`` holds each in
a Ray actor (embedded Ray unless ``address`` names a cluster), recreates an actor that
died, and ends an idle one with ``release``, which frees its worker process.

>>> from bss2emu import Experiment
>>> system = EmulatedSystem("s0")
>>> exp = Experiment(runtime_us=10, populations=[{"name": "p", "size": 1}])
>>> a = system.run(exp, None, None, owner="ada").metadata["service_system"]["restored"]
>>> b = system.run(exp, None, None, owner="ada").metadata["service_system"]["restored"]
>>> c = system.run(exp, None, None, owner="bob").metadata["service_system"]["restored"]
>>> a, b, c
(True, False, True)
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ..errors import ChipUnavailableError, ClusterError
from ..protocol.experiment import Experiment
from ..protocol.results import Results
from ..protocol.system import as_system
from ..routing.mapping import map_experiment, topology_key
from .coordinator import Coordinator


class RunCancelled(ClusterError):
    """The run was cancelled while it ran."""


class EmulatedSystem:
    """One emulated system: runs one experiment at a time; remembers the last configuration."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loaded: tuple[str, str] | None = None  # (owner, topology) configured now
        self.runs = 0
        self._progress: tuple[int, int] | None = None
        self._run_id: str | None = None
        self._cancelled: set[str] = set()  # runs asked to stop (also before they started)

    def run(self, exp: Experiment, system: str | None, chips: int | None, owner: str,
            run_id: str | None = None, partitioner: str = "metis") -> Results:
        """Run ``exp`` for ``owner``; ``metadata["service_system"]`` says on which system and
        whether its configuration had to be restored first (and how long that took).
        ``cancel(run_id)`` stops it at its next window."""
        self._progress = None
        self._run_id = run_id
        try:
            return self._run(exp, system, chips, owner, partitioner)
        finally:
            self._cancelled.discard(run_id)
            self._run_id = None

    def _run(self, exp: Experiment, system: str | None, chips: int | None, owner: str, partitioner: str) -> Results:
        spec = as_system(system, chips)
        t0 = time.perf_counter()
        key = (owner, topology_key(exp, spec) + partitioner)
        restored = self.loaded != key
        if restored:  # map the topology (cached per process across units with the same topology)
            self.loaded = None
            map_experiment(exp, spec, partitioner)
            self.loaded = key
        restore_s = time.perf_counter() - t0
        res = Coordinator(exp, spec, "local", partitioner=partitioner).run(self._on_progress)
        self.runs += 1
        res.metadata["service_system"] = {"name": self.name, "restored": restored, "restore_s": restore_s,
                                          "runs": self.runs}
        return res

    def _on_progress(self, step: int, total: int) -> None:
        self._progress = (step, total)
        if self._run_id is not None and self._run_id in self._cancelled:
            raise RunCancelled(f"the run on system {self.name!r} was cancelled at step {step} of {total}")

    def progress(self) -> tuple[int, int] | None:
        """``(step, total)`` of the run under way, or None before its first window."""
        return self._progress

    def cancel(self, run_id: str) -> None:
        self._cancelled.add(run_id)

    def release(self) -> None:
        """Forget the configuration (the next unit restores it)."""
        self.loaded = None

    def ping(self) -> str:
        return self.name


Progress = Callable[[int, int], None]


class LocalSystems:
    """``n`` emulated systems in this process (the service's default for tests and laptops)."""

    kind = "local"

    def __init__(self, n: int) -> None:
        self.systems = [EmulatedSystem(f"local-{i}") for i in range(n)]

    def __len__(self) -> int:
        return len(self.systems)

    def run(self, slot: int, exp: Experiment, system: str | None, chips: int | None, owner: str,
            progress: Progress | None = None, run_id: str | None = None, partitioner: str = "metis") -> Results:
        s = self.systems[slot]
        if progress is None:
            return s.run(exp, system, chips, owner, run_id, partitioner)
        done = threading.Event()

        def watch():  # report progress every 0.2 s while the run goes on in this thread
            while not done.wait(0.2):
                now = s.progress()
                if now is not None:
                    progress(*now)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            return s.run(exp, system, chips, owner, run_id, partitioner)
        finally:
            done.set()
            watcher.join()

    def cancel(self, slot: int, run_id: str) -> None:
        self.systems[slot].cancel(run_id)

    def release(self, slot: int) -> None:
        self.systems[slot].release()

    def shutdown(self) -> None:
        pass


class RaySystems:
    """``n`` emulated systems, each a Ray actor (started on first use, ended by ``release``)."""

    kind = "ray"

    def __init__(self, n: int, address: str | None = None) -> None:
        from .ray_backend import ensure_ray

        ensure_ray(address)
        self.address = address
        self.actors: list = [None] * n
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.actors)

    def _actor(self, slot: int):
        import ray

        with self._lock:
            if self.actors[slot] is None:
                remote = ray.remote(num_cpus=0, max_restarts=0, max_concurrency=2)(EmulatedSystem)
                self.actors[slot] = remote.remote(f"ray-{slot}")
            return self.actors[slot]

    def run(self, slot: int, exp: Experiment, system: str | None, chips: int | None, owner: str,
            progress: Progress | None = None, run_id: str | None = None, partitioner: str = "metis") -> Results:
        import ray

        from .ray_backend import ray_errors

        actor = self._actor(slot)
        try:
            with ray_errors([slot]):
                ref = actor.run.remote(exp, system, chips, owner, run_id, partitioner)
                while True:
                    done, _ = ray.wait([ref], timeout=0.2)
                    if done:
                        return ray.get(ref)
                    if progress is not None:
                        now = ray.get(actor.progress.remote(), timeout=30)
                        if now is not None:
                            progress(*now)
        except ChipUnavailableError as err:  # the actor died: the next run starts a new one
            with self._lock:
                if self.actors[slot] is actor:
                    self.actors[slot] = None
            raise ChipUnavailableError(slot, f"emulated system ray-{slot} died during the run ({err.reason})") \
                from None

    def actor(self, slot: int):
        """The slot's actor handle (None when released); for fault-injection tests."""
        return self.actors[slot]

    def cancel(self, slot: int, run_id: str) -> None:
        actor = self.actors[slot]
        if actor is not None:
            actor.cancel.remote(run_id)

    def release(self, slot: int) -> None:
        import ray

        with self._lock:
            actor, self.actors[slot] = self.actors[slot], None
        if actor is not None:
            ray.kill(actor)

    def shutdown(self) -> None:
        for slot in range(len(self.actors)):
            self.release(slot)


def make_systems(kind: str, n: int, address: str | None = None) -> LocalSystems | RaySystems:
    """``kind`` ``local`` (in this process) or ``ray`` (one actor per system)."""
    if n < 1:
        raise ClusterError(f"a pool needs at least one emulated system, {n} were asked")
    if kind == "local":
        return LocalSystems(n)
    if kind == "ray":
        return RaySystems(n, address)
    raise ClusterError(f"unknown kind of system pool {kind!r}: use 'local' or 'ray'")
