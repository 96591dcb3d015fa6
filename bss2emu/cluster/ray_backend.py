"""Ray placements: chips in actors, the coordinator in an actor. The only Ray importer.

``ray_errors`` is the boundary: a dead actor becomes ``ChipUnavailableError(chip)``, an
error raised inside an actor comes back as itself (our errors pickle), anything else of
Ray's becomes ``ClusterError``.
"""

from __future__ import annotations

import contextlib
import logging

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from ray.exceptions import ActorDiedError, RayActorError, RayError, RayTaskError

from ..errors import BssError, ChipUnavailableError, ClusterError, ConfigError
from .backends import Backend
from .host import ChipHost, ChipSetup

_HostActor = ray.remote(num_cpus=0, max_restarts=0)(ChipHost)


def ensure_ray(address: str | None = None) -> None:
    """Join ``address``, or start an embedded Ray instance on this machine if none runs."""
    if ray.is_initialized():
        return
    try:
        # "local" starts our own instance even if another process runs one on this machine
        ray.init(address=address or "local", ignore_reinit_error=True, include_dashboard=False,
                 logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise ClusterError(f"cannot {'join Ray at ' + repr(address) if address else 'start Ray'}: {err}; "
                           f"check the address (ray status) or omit it for an embedded instance") from None


@contextlib.contextmanager
def ray_errors(chips: list[int] | None = None):
    """Translate Ray's exceptions into bss2emu's."""
    try:
        yield
    except RayTaskError as err:
        cause = getattr(err, "cause", None)
        if isinstance(cause, BssError):
            raise cause from None
        raise ClusterError(f"a remote task failed: {err}") from None
    except (RayActorError, ActorDiedError) as err:
        raise ChipUnavailableError(chips[0] if chips else -1, f"its actor died ({type(err).__name__})") from None
    except RayError as err:
        raise ClusterError(f"Ray failed: {err}") from None


class RayBackend(Backend):
    """Chip hosts as Ray actors: one per chip, or packed several per actor."""

    def __init__(self, placement: str, address: str | None = None, chips_per_host: int | None = None) -> None:
        self.placement = placement
        self.address = address
        self.chips_per_host = chips_per_host
        self.groups: list[list[ChipSetup]] = []
        self.hosts: list = []

    def start(self, setups: list[ChipSetup]) -> None:
        ensure_ray(self.address)
        if self.placement == "per-component":
            from .components import ComponentHost

            self.groups = [[s] for s in setups]
            self.hosts = [ComponentHost(g) for g in self.groups]
            return
        if self.placement == "per-chip":
            per = 1
        else:
            per = self.chips_per_host or max(1, -(-len(setups) // max(1, int(ray.available_resources().get("CPU", 1)))))
        self.groups = [setups[i:i + per] for i in range(0, len(setups), per)]
        self.nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
        self.hosts = [self._new_host(i) for i in range(len(self.groups))]
        self._owner = {s.chip_id: i for i, g in enumerate(self.groups) for s in g}
        with ray_errors([s.chip_id for s in setups]):
            ray.get([h.ping.remote() for h in self.hosts])

    def _new_host(self, i: int):
        """Host actor i, pinned round-robin to the cluster's nodes (a no-op on one node)."""
        if len(self.nodes) > 1:
            node = self.nodes[i % len(self.nodes)]
            return _HostActor.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)).remote(self.groups[i])
        return _HostActor.remote(self.groups[i])

    def _gather(self, refs: list, what: str) -> list:
        out = []
        for i, ref in enumerate(refs):
            with ray_errors([s.chip_id for s in self.groups[i]]):
                out.append(ray.get(ref))
        return out

    def step(self, k0, n_steps, arrivals):
        by_host: list[dict] = [{} for _ in self.hosts]
        for chip, ev in arrivals.items():
            by_host[self._owner_of(chip)][chip] = ev
        refs = [h.step.remote(k0, n_steps, by_host[i]) for i, h in enumerate(self.hosts)]
        merged = {}
        for part in self._gather(refs, "step"):
            merged.update(part)
        return merged

    def _owner_of(self, chip: int) -> int:
        if self.placement == "per-component":
            return next(i for i, g in enumerate(self.groups) if g[0].chip_id == chip)
        return self._owner[chip]

    def tables(self):
        merged = {}
        for part in self._gather([h.tables.remote() for h in self.hosts], "tables"):
            merged.update(part)
        return merged

    def get_states(self):
        return self._gather([h.get_state.remote() for h in self.hosts], "get_state")

    def set_states(self, states):
        self._gather([h.set_state.remote(s) for h, s in zip(self.hosts, states)], "set_state")

    def restart_failed(self) -> None:
        for i, h in enumerate(self.hosts):
            try:
                ray.get(h.ping.remote(), timeout=30)
            except (RayError, TimeoutError):
                if self.placement == "per-component":
                    h.kill()
                    self.hosts[i] = type(h)(self.groups[i])
                else:
                    self.hosts[i] = self._new_host(i)

    def actor_handles(self) -> list:
        """The actors that hold chips (for tests that kill one)."""
        return [h.chip_actor if self.placement == "per-component" else h for h in self.hosts]

    def host_nodes(self) -> list[str]:
        """The node each host actor runs on."""
        return ray.get([h.__ray_call__.remote(lambda _self: ray.get_runtime_context().get_node_id())
                        for h in self.actor_handles()])

    def shutdown(self) -> None:
        for h in self.hosts:
            if hasattr(h, "kill"):
                h.kill()
            else:
                with contextlib.suppress(Exception):
                    ray.kill(h)
        self.hosts = []

    def info(self) -> dict:
        return {"hosts": len(self.groups), "chips_per_host": [len(g) for g in self.groups]}


class _CoordinatorActor:
    """The coordinator in an actor, so that a job can be submitted and watched."""

    def __init__(self, *args, **kwargs) -> None:
        from .coordinator import Coordinator

        self.coordinator = Coordinator(*args, **kwargs)
        self.fault_at_window: int | None = None

    def run(self):
        return self.coordinator.run(self._inject if self.fault_at_window is not None else None)

    def _inject(self, step, total):  # fault injection for tests: kill a host actor after a window
        if self.coordinator.windows == self.fault_at_window:
            self.fault_at_window = None
            ray.kill(self.coordinator.backend.actor_handles()[-1])

    def kill_host_after(self, window: int) -> None:
        self.fault_at_window = window

    def progress(self):
        return self.coordinator.progress()


_CoordRemote = ray.remote(num_cpus=0, max_concurrency=2)(_CoordinatorActor)


def run_on_ray(exp, system, placement, address, progress=None, kill_host_after: int | None = None, **options):
    """Run with the coordinator as a Ray actor; poll it for progress."""
    if placement == "local":
        raise ConfigError("run_on_ray needs a Ray placement")
    ensure_ray(address)
    with ray_errors():
        coord = _CoordRemote.remote(exp, system, placement, address, **options)
        if kill_host_after is not None:
            ray.get(coord.kill_host_after.remote(kill_host_after))
        ref = coord.run.remote()
        while True:
            done, _ = ray.wait([ref], timeout=0.5)
            if progress is not None:
                progress(*ray.get(coord.progress.remote()))
            if done:
                break
        try:
            return ray.get(ref)
        finally:
            ray.kill(coord)
