"""Ray placements: chips in host actors (``ray_job`` runs the coordinator in an actor).

``ray_errors`` is the boundary: a dead actor becomes ``ChipUnavailableError(chip)``, an
error raised inside an actor comes back as itself (our errors pickle), anything else of
Ray's becomes ``ClusterError``.

Hosts on one machine run every window up to the next checkpoint themselves, exchanging
spikes through shared memory (``peer_exchange``: no Ray call per window; the default,
``BSS2EMU_RAY_PEERS=0`` turns it off). Otherwise:

The per-window step of ``per-chip`` and ``packed`` hosts runs as a Ray Compiled Graph (one
``ChipHost.step_exchange`` per host, fed from one input node): the graph is compiled once when
the hosts start, and each window then costs a write and a read of shared-memory channels
instead of a task submission per host (2-3x less Ray overhead per window on a 2-core
machine). Arrivals and spikes cross as one Arrow record batch per host and window
(``host.encode_exchange``: flat (chip, time, label) columns in Arrow's IPC message format),
routed by the coordinator on those columns; ``BSS2EMU_RAY_WIRE=bytes`` selects the former
``pack_spikes`` buffers (per-chip dicts) to measure against.
Plain actor calls are used instead when the hosts span several nodes, when compiling
fails, or when ``BSS2EMU_RAY_COMPILED_GRAPH=0`` is set in the calling process; both paths
give identical results. After a host dies the graph is torn down and compiled again for
the new hosts.

Up to ``HOSTS_KEPT`` idle host actors are kept between runs of one Ray session (their
chips freed), which the next run loads with its chips instead of starting processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

import numpy as np
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from ray.exceptions import ActorDiedError, RayActorError, RayError, RayTaskError

from ..errors import BssError, ChipUnavailableError, ClusterError, ConfigError
from ..routing.interconnect import Interconnect
from .backends import Backend
from .host import ChipSetup, decode_exchange, encode_exchange, pack_spikes, unpack_spikes
from .peer_exchange import ExchangeBoard, PeerAborted, PeerHost, board_supported, slot_bytes
from .ray_runtime import init_ray

_HostActor = ray.remote(num_cpus=0, max_restarts=0)(PeerHost)
_log = logging.getLogger(__name__)


class _DeadHostTeardown(logging.Filter):
    """Ray logs, with a traceback, that it could not cancel a compiled graph's loop on an
    actor that died; the backend reports that death itself (ChipUnavailableError)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (record.getMessage().startswith("Error cancelling worker task") and isinstance(exc, RayActorError))


def compiled_graph_wanted() -> bool:
    """Whether Ray placements step through a Compiled Graph (``BSS2EMU_RAY_COMPILED_GRAPH``,
    default on; ``0`` selects plain actor calls)."""
    return os.environ.get("BSS2EMU_RAY_COMPILED_GRAPH", "1").strip().lower() not in ("0", "false", "no", "off")


def peers_wanted() -> bool:
    """Whether Ray hosts on one machine run the window loop themselves and exchange spikes
    through shared memory (``BSS2EMU_RAY_PEERS``, default on; ``0`` selects the coordinator's
    per-window step: a Compiled Graph or actor calls)."""
    return os.environ.get("BSS2EMU_RAY_PEERS", "1").strip().lower() not in ("0", "false", "no", "off")


def wire_format() -> str:
    """How spikes cross between the coordinator and Ray hosts (``BSS2EMU_RAY_WIRE``):
    ``arrow`` (default: ``host.encode_exchange``, a record batch in Arrow's IPC message
    format) or ``bytes`` (``host.pack_spikes``, kept to measure against:
    ``benchmarks/spike_exchange.py``, ``benchmarks/multi_chip.py --wires``)."""
    wire = os.environ.get("BSS2EMU_RAY_WIRE", "arrow").strip().lower()
    if wire not in ("arrow", "bytes"):
        raise ConfigError(f"BSS2EMU_RAY_WIRE={wire!r}: use 'arrow' or 'bytes'")
    return wire


STEP_TIMEOUT_S = 600.0  # one window of one host, at most


def ensure_ray(address: str | None = None) -> None:
    """Join ``address``, or start an embedded Ray instance on this machine if none runs."""
    if ray.is_initialized():
        return
    try:
        init_ray(address, ignore_reinit_error=True, logging_level=logging.WARNING, log_to_driver=False)
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

    def __init__(self, placement: str, address: str | None = None, chips_per_host: int | None = None,
                 compiled_graph: bool | None = None, peers: bool | None = None,
                 host_threads: int | None = None) -> None:
        self.placement = placement
        self.address = address
        self.chips_per_host = chips_per_host
        self.host_threads = host_threads  # None: one per actor (``host_threads.host_threads``)
        self.groups: list[list[ChipSetup]] = []
        self.hosts: list = []
        self.compiled_graph = compiled_graph_wanted() if compiled_graph is None else bool(compiled_graph)
        self.set_wire(wire_format())
        self._cdag = None  # the compiled per-window graph, when in use
        self._compile_error: str | None = None
        self._host_stats: list[dict] = []
        self._timing = {"start_s": 0.0, "compile_s": 0.0, "step_s": 0.0, "tables_s": 0.0}
        self.peers = peers_wanted() if peers is None else bool(peers)
        self._peer_error: str | None = None  # why the hosts do not exchange through a board
        self._board: ExchangeBoard | None = None
        self._board_joined = False
        self._peers_on = False  # decided at start (_peers_possible), off after a failed join
        self._peer_times: list[dict] = []

    def set_wire(self, wire: str) -> None:
        """How spikes cross processes (``wire_format``), before ``start``."""
        self.wire = wire
        self._step_method = "step_packed" if wire == "bytes" else "step_exchange"

    @property
    def windows_per_call(self) -> int:
        """Hosts that exchange through a board run every window up to the next checkpoint in
        one call; otherwise the coordinator steps them one window at a time (the loop in
        ``run_windows`` is the same either way)."""
        return 1 << 30 if self._peers_on else 1

    def start(self, setups: list[ChipSetup], net: Interconnect) -> None:
        t0 = time.perf_counter()
        self.net = net
        self._dt_ns = setups[0].dt_ns if setups else 1  # (a window's end in ns for the network)
        self._arrivals = {} if self.wire == "bytes" or self.placement == "per-component" else ()
        # network events for the next window: {chip: (t_ns, label)} or flat (chip, t_ns, label)
        ensure_ray(self.address)
        if self.placement == "per-component":
            from .components import ComponentHost

            self.groups = [[s] for s in setups]
            self.hosts = [ComponentHost(g) for g in self.groups]
            self._owner = {g[0].chip_id: i for i, g in enumerate(self.groups)}
            self._timing["start_s"] = time.perf_counter() - t0
            return
        if self.placement == "per-chip":
            per = 1
        else:
            per = self.chips_per_host or max(1, -(-len(setups) // max(1, int(ray.available_resources().get("CPU", 1)))))
        self.groups = [setups[i:i + per] for i in range(0, len(setups), per)]
        self.nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
        self._owner = {s.chip_id: i for i, g in enumerate(self.groups) for s in g}
        self._host_of = np.full(max(len(self.net.pair_path), max(self._owner, default=0) + 1), -1, np.int64)
        self._host_of[list(self._owner)] = list(self._owner.values())
        # kept hosts of earlier runs load the new chips; the others start as new actors
        self.hosts, ready, kept = [], [], []
        for i in range(len(self.groups)):
            h = _take_host(self._node_of(i))
            kept.append(h is not None)
            self.hosts.append(h if h is not None else self._new_host(i))
            ready.append(h.load.remote(self.groups[i], self.host_threads) if h is not None
                         else self.hosts[i].ping.remote())
        for i, ref in enumerate(ready):
            try:
                with ray_errors([s.chip_id for s in self.groups[i]]):
                    ray.get(ref)
            except ChipUnavailableError:
                if not kept[i]:
                    raise
                kept[i] = False  # a kept host that died meanwhile: start a new one
                self.hosts[i] = self._new_host(i)
                with ray_errors([s.chip_id for s in self.groups[i]]):
                    ray.get(self.hosts[i].ping.remote())
        self._kept_used = sum(kept)
        self._timing["start_s"] = time.perf_counter() - t0
        self._board_joined, self._peer_times = False, []
        self._peers_on = self._peers_possible()
        if not self._peers_on:
            self._compile()

    def _node_of(self, i: int) -> str | None:
        """The node host i is pinned to (round-robin; None on a one-node cluster)."""
        return self.nodes[i % len(self.nodes)] if len(self.nodes) > 1 else None

    def _new_host(self, i: int):
        """Host actor i, pinned to its node."""
        node = self._node_of(i)
        if node is not None:
            return _HostActor.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False)).remote(
                    self.groups[i], self.host_threads)
        return _HostActor.remote(self.groups[i], self.host_threads)

    def _compile(self) -> None:
        """Compile the per-window step of every host into one graph (inputs: ``k0``,
        ``n_steps``, then each host's arrivals); on failure keep plain actor calls."""
        if not self.compiled_graph or self.placement == "per-component" or not self.hosts:
            return
        if len(self.nodes) > 1:
            # across nodes the graph's channels hung and then crashed a raylet ("Check failed:
            # WriteAcquire ... Channel closed", Ray 2.60, two nodes on one machine): not worth it
            self._compile_error = f"hosts on {len(self.nodes)} nodes (compiled graphs are used on one node)"
            return
        from ray.dag import InputNode, MultiOutputNode

        cdag_log = logging.getLogger("ray.dag.compiled_dag_node")
        if not any(isinstance(f, _DeadHostTeardown) for f in cdag_log.filters):
            cdag_log.addFilter(_DeadHostTeardown())
        t0 = time.perf_counter()
        try:
            with InputNode() as inp:
                dag = MultiOutputNode([getattr(h, self._step_method).bind(inp[0], inp[1], inp[2 + i])
                                       for i, h in enumerate(self.hosts)])
            # windows run one after another: one execution in flight is all we need, and each
            # extra one costs channel buffers in the object store that teardown does not
            # free (Ray 2.60: ~10 MB per compile at 1, ~95 MB at the default 10)
            self._cdag = dag.experimental_compile(_max_inflight_executions=1)
        except Exception as err:  # an experimental Ray feature: any failure means "use plain calls"
            self._cdag = None
            self._compile_error = f"{type(err).__name__}: {err}"
            _log.warning("Ray Compiled Graph unavailable (%s); stepping with actor calls", self._compile_error)
        self._timing["compile_s"] += time.perf_counter() - t0

    def _teardown(self) -> None:
        if self._cdag is not None:
            cdag, self._cdag = self._cdag, None
            with contextlib.suppress(Exception):
                cdag.teardown()

    def _gather(self, refs: list, what: str) -> list:
        out = []
        for i, ref in enumerate(refs):
            with ray_errors([s.chip_id for s in self.groups[i]]):
                out.append(ray.get(ref))
        return out

    def _peers_possible(self) -> bool:
        """Whether the hosts exchange through an ``ExchangeBoard`` (all on one machine)."""
        if not self.peers or self.placement == "per-component" or not self.hosts or self._peer_error:
            return False
        if not board_supported():
            self._peer_error = f"{os.uname().machine} does not keep the order of plain stores (x86-64 does)"
            return False
        machines = {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]}
        if len(machines) > 1:
            self._peer_error = f"hosts on {len(machines)} machines"
            return False
        return True

    def _join_board(self, bounds: np.ndarray) -> bool:
        """Make sure every host has mapped a board whose slots hold these windows' spikes;
        False (and the per-window step from now on) when a host cannot map it."""
        steps = int(np.diff(bounds).max())
        per_host = max(len(g) for g in self.groups)
        if self._board is not None and self._board.slot_bytes < slot_bytes(per_host, steps):
            self._board.remove()
            self._board, self._board_joined = None, False
        if self._board is None:
            self._board = ExchangeBoard.create(len(self.hosts), slot_bytes(per_host, max(steps, 1)))
        if not self._board_joined:
            tokens = self._gather([h.join_peers.remote(self._board.spec(), i, self.net, self._host_of, self.wire)
                                   for i, h in enumerate(self.hosts)], "join_peers")
            if any(t != self._board.token for t in tokens):
                self._peer_error = "a host does not see the coordinator's shared memory (another machine)"
                self._peers_on = False
                self._drop_board()
                return False
            self._board_joined = True
        return True

    def _drop_board(self) -> None:
        if self._board is not None:
            self._board.remove()
            self._board, self._board_joined = None, False

    def _run_with_peers(self, bounds: np.ndarray) -> None:
        """Every host runs all windows of ``bounds`` (``PeerHost.run_with_peers``); the
        network here takes the state host 0's replica ends with. The first real failure is
        raised after every host has stopped (the others abort at their next wait)."""
        t0 = time.perf_counter()
        board = self._board
        board.reset()
        state = self.net.get_state()
        refs = [h.run_with_peers.remote(bounds, state) for h in self.hosts]
        host_of_ref = {ref: i for i, ref in enumerate(refs)}
        outs: list = [None] * len(refs)
        failure = None
        pending = refs
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    outs[host_of_ref[ref]] = ray.get(ref)
                except RayError as err:
                    board.abort()
                    if not isinstance(getattr(err, "cause", None), PeerAborted) and failure is None:
                        failure = (host_of_ref[ref], err)
        self._timing["step_s"] += time.perf_counter() - t0
        if failure is not None:
            i, err = failure
            with ray_errors([s.chip_id for s in self.groups[i]]):
                raise err
        self.net.set_state(outs[0]["net"])
        self._peer_times = [o["times"] for o in outs]
        self.exchange_s = max(t["route_s"] for t in self._peer_times)  # every host routes every spike

    def run_windows(self, bounds) -> None:
        """Hosts on one machine run all windows themselves, exchanging spikes through a
        board (``peer_exchange``). Otherwise one window at a time: every host steps, then the
        coordinator routes the spikes of all hosts through the network (its links are
        shared) for the next window."""
        if self._peers_on and len(bounds) > 1 and self._join_board(bounds):
            self._run_with_peers(bounds)
            return
        for k0, k1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            spikes = self.step(k0, k1 - k0, self._arrivals)
            t_x = time.perf_counter()
            t_end = k1 * self._dt_ns
            self._arrivals = (self.net.forward(spikes, t_end) if isinstance(spikes, dict)
                              else self.net.route(*spikes, t_end))
            self.exchange_s += time.perf_counter() - t_x

    def _messages(self, arrivals) -> list:
        """Each host's arrivals in the wire format."""
        if self.wire == "bytes":
            by_host: list[dict] = [{} for _ in self.hosts]
            for chip, ev in arrivals.items():
                by_host[self._owner[chip]][chip] = ev
            return [pack_spikes(a) for a in by_host]
        dst, t, lab = arrivals if len(arrivals) else (np.zeros(0, np.int64),) * 3
        host = self._host_of[dst]
        return [encode_exchange(dst[sel], t[sel], lab[sel]) for sel in (host == i for i in range(len(self.hosts)))]

    def _spikes(self, parts: list):
        """The hosts' replies as the network's input: flat (chip, ticks, label) columns,
        chips ascending (hosts hold ascending runs of chips), or ``{chip: spikes}``."""
        if self.wire == "bytes":
            merged = {}
            for part in parts:
                merged.update(unpack_spikes(part))
            return merged
        cols = [decode_exchange(p) for p in parts]
        return tuple(np.concatenate([c[i] for c in cols]) for i in range(3))

    def step(self, k0, n_steps, arrivals):
        t0 = time.perf_counter()
        if self.placement == "per-component":
            by_host: list[dict] = [{} for _ in self.hosts]
            for chip, ev in arrivals.items():
                by_host[self._owner[chip]][chip] = ev
            parts = self._gather([h.step.remote(k0, n_steps, by_host[i]) for i, h in enumerate(self.hosts)], "step")
            self._timing["step_s"] += time.perf_counter() - t0
            return {c: sp for part in parts for c, sp in part.items()}
        messages = self._messages(arrivals)
        if self._cdag is None and self.compiled_graph and self._compile_error is None and not self._peers_on:
            self._compile()  # after a restart: new hosts, new graph
        if self._cdag is not None:
            try:
                # Ray's default 10 s is too short for a first window on a cold numba cache or
                # a loaded machine; a real hang still surfaces, after STEP_TIMEOUT_S
                parts = [ray.get(ref, timeout=STEP_TIMEOUT_S) for ref in self._cdag.execute(k0, n_steps, *messages)]
            except RayTaskError as err:  # raised by a host's step: the graph stays usable
                with ray_errors([s.chip_id for s in self.groups[0]]):
                    raise err
            except RayError as err:  # a closed channel or a dead actor: find which host is gone
                self._teardown()
                dead = self._dead_host()
                if dead is not None:
                    raise ChipUnavailableError(self.groups[dead][0].chip_id,
                                               f"its actor died ({type(err).__name__})") from None
                with ray_errors():
                    raise err
        else:
            parts = self._gather([getattr(h, self._step_method).remote(k0, n_steps, messages[i])
                                  for i, h in enumerate(self.hosts)], "step")
        spikes = self._spikes(parts)
        self._timing["step_s"] += time.perf_counter() - t0
        return spikes

    def _dead_host(self) -> int | None:
        """The first host actor that does not answer, or None."""
        for i, h in enumerate(self.hosts):
            try:
                ray.get(h.ping.remote(), timeout=30)
            except (RayError, TimeoutError):
                return i
        return None

    def tables(self):
        t0 = time.perf_counter()
        merged = self._gather([h.tables.remote() for h in self.hosts], "tables")
        if self.placement != "per-component":
            self._host_stats = self._gather([h.stats.remote() for h in self.hosts], "stats")
        self._timing["tables_s"] += time.perf_counter() - t0
        return merged

    def get_states(self):
        return [self._arrivals, self._gather([h.get_state.remote() for h in self.hosts], "get_state")]

    def set_states(self, states):
        self._arrivals, hosts = states
        self._gather([h.set_state.remote(s) for h, s in zip(self.hosts, hosts)], "set_state")

    def restart_failed(self) -> None:
        self._teardown()  # the graph names the dead actor: compiled again at the next step
        for i, h in enumerate(self.hosts):
            try:
                ray.get(h.ping.remote(), timeout=30)
            except (RayError, TimeoutError):
                if self.placement == "per-component":
                    h.kill()
                    self.hosts[i] = type(h)(self.groups[i])
                else:
                    self.hosts[i] = self._new_host(i)
                    self._board_joined = False  # the new host maps the board at the next call

    def actor_handles(self) -> list:
        """The actors that hold chips (for tests that kill one)."""
        return [h.chip_actor if self.placement == "per-component" else h for h in self.hosts]

    def host_nodes(self) -> list[str]:
        """The node each host actor runs on."""
        return ray.get([h.__ray_call__.remote(lambda _self: ray.get_runtime_context().get_node_id())
                        for h in self.actor_handles()])

    def shutdown(self) -> None:
        self._teardown()
        self._drop_board()
        for i, h in enumerate(self.hosts):
            if hasattr(h, "kill"):
                h.kill()
            elif not _keep_host(self._node_of(i), h):
                with contextlib.suppress(Exception):
                    ray.kill(h)
        self.hosts = []

    def info(self) -> dict:
        """Placement and timing figures for the run's metadata. ``host_busy_s``/``host_cpu_s``:
        wall/CPU seconds each host spent inside its ``step`` (its own work); ``backend_step_s``:
        seconds the coordinator waited for the steps (that work plus reaching the hosts);
        ``step_path``: ``peers`` (hosts exchange through shared memory, ``peer_exchange``;
        ``peer_step_s``/``peer_codec_s``/``peer_wait_s``/``peer_route_s``: each host's wall
        seconds integrating, encoding and decoding messages, waiting for the other hosts,
        routing), ``compiled-graph`` or ``actor-calls``."""
        out = {"hosts": len(self.groups), "chips_per_host": [len(g) for g in self.groups],
               "hosts_reused": getattr(self, "_kept_used", 0),
               "step_path": "peers" if self._peer_times else "actor-calls" if self._compile_error
               or not self.compiled_graph or self.placement == "per-component" else "compiled-graph",
               **{f"backend_{k}": v for k, v in self._timing.items()}}
        if self._compile_error:
            out["compiled_graph_error"] = self._compile_error
        if self._peer_error and self.peers:
            out["peers_error"] = self._peer_error
        if self._peer_times:  # per host: wall seconds per part of its windows (peer_exchange)
            for part in ("step_s", "codec_s", "wait_s", "route_s"):
                out[f"peer_{part}"] = [t[part] for t in self._peer_times]
        if self._host_stats:
            out["host_busy_s"] = [st["busy_s"] for st in self._host_stats]
            out["host_cpu_s"] = [st["cpu_s"] for st in self._host_stats]
            out["host_memory_mb"] = [st["memory_mb"] for st in self._host_stats]
        return out


# Host actors kept between runs in this process (the coordinator's), per node: a run that
# finds one skips starting a process, importing and loading the kernels (~1 s per actor here).
HOSTS_KEPT = 8
_kept_hosts: dict[tuple[str, str | None], list] = {}
_kept_lock = threading.Lock()


def _session() -> str:
    """This Ray session (job ids restart with each cluster, node ids do not)."""
    ctx = ray.get_runtime_context()
    return f"{ctx.get_job_id()}@{ctx.get_node_id()}"


def _take_host(node: str | None):
    with _kept_lock:
        kept = _kept_hosts.get((_session(), node))
        return kept.pop() if kept else None


def _keep_host(node: str | None, host) -> bool:
    """Keep an idle host (its chips freed) for the next run; False when enough are kept."""
    with _kept_lock:
        for key in [k for k in _kept_hosts if k[0] != _session()]:
            del _kept_hosts[key]  # an earlier ray.init's actors are gone with it
        kept = _kept_hosts.setdefault((_session(), node), [])
        if sum(len(v) for v in _kept_hosts.values()) >= HOSTS_KEPT:
            return False
        host.load.remote([])
        kept.append(host)
        return True
