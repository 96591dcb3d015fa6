"""The inter-chip network in model time: FPGA routing, per-link latency, bandwidth, queues.

A spike that the source FPGA's routing table sends to another chip leaves the FPGA after
``delay - latency`` (the FPGA realises the delay) and crosses the links of its path. Each
directed link is a FIFO server: it takes one event per ``1 / bandwidth``, holds at most
``queue_depth`` waiting events and drops what arrives beyond that — counted per link,
never silently. Each hop adds ``hop_latency``; without queueing an event therefore arrives
exactly ``delay`` after its spike. Loop-back routes (a delay on one chip) do not touch the
network. Events go through the links in the total order (send time, source chip, source
label, destination chip, destination label), so results do not depend on where chips run,
nor on where windows were cut: at a window's end the network takes only the events that no
later spike can precede — those sent before the earliest send time a spike of a later FPGA
tick can have (the tick the window ended in, or the next, plus the shortest ``delay -
latency``) — and holds the rest for the next window's end (``route_window``: a window
that ends inside a tick, at dt = 100 ns every odd step, holds that tick's events; routes of
unequal ``delay - latency`` hold those sent later than the next spike's could be). A window
therefore lasts at most the shortest ``delay - latency`` plus the shortest latency, less the
part of a tick before its start (``Interconnect.safe_ns``; ``coordinator.hold_safe_bounds``),
so that a held event still arrives after the window it was held through.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numba import njit

from ..errors import ConfigError
from ..protocol.system import SystemSpec
from ..units import NS_PER_TICK

if TYPE_CHECKING:
    from .mapping import SystemMapping

# columns of SystemMapping.routes
R_SRC, R_SRC_LABEL, R_DST, R_DST_LABEL, R_DELAY_NS, R_LATENCY_NS = range(6)
LINK_SCHEMA = pa.schema([("link", pa.string()), ("sent", pa.int64()), ("delivered", pa.int64()),
                         ("dropped", pa.int64()), ("max_queue", pa.int64())])


# a route's secondary sort key: (source chip, source label, destination chip, destination
# label) in one int64 (labels 16 bit, chips below 2**12: 56 bits)
_CHIP_BITS, _LABEL_BITS = 12, 16
_INSERTION_MAX = 64  # windows with at most this many events sort by insertion (identical order)
ALL_TICKS_NS = 1 << 62  # a window end after every event: ``route_window`` holds none


@njit(cache=True, boundscheck=False)
def total_order(t_send, key2):
    """The indices that sort events by ``(t_send, key2)``, ties in their order (a stable sort,
    as ``np.lexsort((key2, t_send))``); small windows by insertion, allocating only the result."""
    n = t_send.shape[0]
    if n > _INSERTION_MAX:  # two stable sorts: by the secondary key, then by send time
        by_key = np.argsort(key2, kind="mergesort")
        return by_key[np.argsort(t_send[by_key], kind="mergesort")]
    order = np.empty(n, np.int64)
    for q in range(n):
        ts, k2 = t_send[q], key2[q]
        j = q
        while j > 0:
            o = order[j - 1]
            if t_send[o] < ts or (t_send[o] == ts and key2[o] <= k2):
                break
            order[j] = o
            j -= 1
        order[j] = q
    return order


@njit(cache=True, boundscheck=False, error_model="numpy")
def route_window(src_chip, ticks, label, t_end_ns, route_key, routes, pair_path, path_links, path_len, hop_ns,
                 service_ns, depth, free_ns, sent, delivered, dropped, maxq, min_hold_ns, counts, hold, hold_n):
    """One window's spikes through the network: the compiled ``Interconnect.forward``.

    ``src_chip``, ``ticks``, ``label``: the neuron spikes of the window, which ends at
    ``t_end_ns``; source chips ascending, each chip's in its own order. ``route_key``
    (``src * 65536 + src_label``, ascending) and ``routes`` are the routing table;
    ``pair_path[src, dst]`` indexes the links ``path_links[p, :path_len[p]]`` between two
    chips; ``min_hold_ns`` is the shortest ``delay - latency`` of a route over links. Link
    state (``free_ns``, counters) is updated in place; ``counts[0]`` and ``counts[1]`` add the
    events that entered the network and those dropped. ``hold[:, :hold_n[0]]``: the events held
    at earlier window ends (rows send time, route), in the total order; the events a later
    spike could precede — over links, sent at or after ``t_end_ns``'s tick start plus
    ``min_hold_ns`` — are held again (``hold`` reallocated when full). Returns the delivered
    events ``(dst_chip, t_ns, dst_label)`` in the network's total order (send time, source
    chip, source label, destination chip, destination label; ties in the order of the
    spikes and routes, held events first) and ``hold``."""
    n_spk = src_chip.shape[0]
    n_keys = route_key.shape[0]
    n_held = hold_n[0]
    n_ev = n_held
    span = np.empty((2, n_spk), np.int64)  # each spike's routes: route_key[span[0, i]:span[1, i]]
    for i in range(n_spk):
        key = src_chip[i] * 65536 + label[i]
        lo = np.searchsorted(route_key, key)
        hi = lo
        while hi < n_keys and route_key[hi] == key:  # (a spike has a few routes: no second search)
            hi += 1
        span[0, i], span[1, i] = lo, hi
        n_ev += hi - lo
    t_send = np.empty(n_ev, np.int64)
    row = np.empty(n_ev, np.int64)
    key2 = np.empty(n_ev, np.int64)
    for e in range(n_held):
        t_send[e] = hold[0, e]
        row[e] = hold[1, e]
    e = n_held
    for i in range(n_spk):
        for r in range(span[0, i], span[1, i]):
            t_send[e] = ticks[i] * NS_PER_TICK + routes[r, R_DELAY_NS] - routes[r, R_LATENCY_NS]
            row[e] = r
            e += 1
    for e in range(n_ev):
        r = row[e]
        key2[e] = ((((routes[r, R_SRC] << _LABEL_BITS) | routes[r, R_SRC_LABEL]) << _CHIP_BITS
                    | routes[r, R_DST]) << _LABEL_BITS) | routes[r, R_DST_LABEL]
    order = total_order(t_send, key2)
    # a spike of a later tick than the window's last (partly) sent one is sent at or after this
    horizon = t_end_ns // NS_PER_TICK * NS_PER_TICK + min_hold_ns
    n_keep = 0
    for e in range(n_ev):
        r = row[e]
        n_keep += (t_send[e] >= horizon) & (path_len[pair_path[routes[r, R_SRC], routes[r, R_DST]]] > 0)
    if n_keep > hold.shape[1]:
        hold = np.empty((2, 2 * n_keep), np.int64)
    hold_n[0] = 0
    dst_out = np.empty(n_ev, np.int64)
    t_out = np.empty(n_ev, np.int64)
    lab_out = np.empty(n_ev, np.int64)
    n_out = 0
    for q in range(n_ev):
        e = order[q]
        r = row[e]
        p = pair_path[routes[r, R_SRC], routes[r, R_DST]]
        n_hops = path_len[p]
        if n_hops > 0 and t_send[e] >= horizon:  # a later spike could come first: at a later window's end
            hold[0, hold_n[0]] = t_send[e]
            hold[1, hold_n[0]] = r
            hold_n[0] += 1
            continue
        if n_hops == 0:  # looped back on the chip's own FPGA: no link
            arrive = float(t_send[e] + routes[r, R_LATENCY_NS])
        else:
            counts[0] += 1
            t0 = float(t_send[e])
            t = t0
            wait = 0.0
            ok = True
            for k in range(n_hops):
                link = path_links[p, k]
                sent[link] += 1
                start = t if t > free_ns[link] else free_ns[link]
                ahead = int((start - t) / service_ns + 1e-9)  # one in service, the rest waiting
                if ahead > depth:
                    dropped[link] += 1
                    ok = False
                    break
                if ahead > maxq[link]:
                    maxq[link] = ahead
                free_ns[link] = start + service_ns
                delivered[link] += 1
                wait += start - t
                t = start + hop_ns
            if not ok:
                counts[1] += 1
                continue
            # the route's latency (in whole ticks, as mapping computed it) plus time spent queueing
            arrive = t0 + float(routes[r, R_LATENCY_NS]) + wait
        dst_out[n_out] = routes[r, R_DST]
        t_out[n_out] = int(np.ceil(arrive - 1e-6))
        lab_out[n_out] = routes[r, R_DST_LABEL]
        n_out += 1
    return dst_out[:n_out], t_out[:n_out], lab_out[:n_out], hold


class Interconnect:
    """Routing tables plus the state of every link of a system."""

    def __init__(self, system: SystemSpec, routes: np.ndarray) -> None:
        self.system = system
        self.routes = routes
        self._key = routes[:, R_SRC] * 65536 + routes[:, R_SRC_LABEL] if len(routes) else np.zeros(0, np.int64)
        links: dict[tuple[str, str], int] = {}
        # the (source, destination) chip pairs that routes use, ascending (chips are small non-negative ints)
        pair_key = np.unique(routes[:, R_SRC].astype(np.int64) << 32 | routes[:, R_DST]) if len(routes) else []
        pairs = [(int(k) >> 32, int(k) & 0xFFFFFFFF) for k in pair_key]
        paths = [[] if a == b else [links.setdefault(l, len(links)) for l in system.path(a, b)] for a, b in pairs]
        n_chips = max([len(system.chips)] + [max(a, b) + 1 for a, b in pairs])
        if n_chips > 1 << _CHIP_BITS:
            raise ConfigError(f"system {system.name!r} has {n_chips} chips; the interconnect model takes at most "
                              f"{1 << _CHIP_BITS}: split the experiment over several systems")
        # pair_path[src, dst]: the row of path_links/path_len of a pair that routes use
        self.pair_path = np.full((n_chips, n_chips), -1, np.int64)
        self.path_len = np.array([len(p) for p in paths], np.int64)
        self.path_links = np.zeros((len(paths), max([1] + [len(p) for p in paths])), np.int64)
        for i, ((a, b), p) in enumerate(zip(pairs, paths)):
            self.pair_path[a, b] = i
            self.path_links[i, :len(p)] = p
        self.link_names = [f"{u}->{v}" for (u, v), _ in sorted(links.items(), key=lambda kv: kv[1])]
        n_l = len(links)
        self.free_ns = np.zeros(n_l)
        self.sent, self.delivered, self.dropped, self.max_queue = (np.zeros(n_l, np.int64) for _ in range(4))
        self.hop_ns = float(system.link.hop_latency_us * 1e3)
        self.service_ns = float(1e3 / system.link.events_per_us)
        self.depth = int(system.link.queue_depth)
        self.counts = np.zeros(2, np.int64)  # events that entered the network, events it dropped
        # routes over links: the shortest delay - latency (what a spike's send time adds to its
        # tick's start) and the window a held event stays safe through (module docstring)
        over = self.path_len[self.pair_path[routes[:, R_SRC], routes[:, R_DST]]] > 0 if len(routes) else []
        hold_ns = routes[over, R_DELAY_NS] - routes[over, R_LATENCY_NS] if len(routes) else []
        self.min_hold_ns = int(min(hold_ns)) if len(hold_ns) else 0
        self.safe_ns = self.min_hold_ns + int(routes[over, R_LATENCY_NS].min()) if len(hold_ns) else None
        # events held at a window's end for a later one (``route_window``): rows send time,
        # route; ``hold_n[0]`` of them
        self.hold = np.zeros((2, 64), np.int64)
        self.hold_n = np.zeros(1, np.int64)

    def forward(self, spikes: dict[int, tuple[np.ndarray, np.ndarray]],
                t_end_ns: int | None = None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """A window's spikes per source chip ``(time_ticks, label)``, the window ending at
        ``t_end_ns`` (None: after all of them, on a tick) → arrivals per destination chip
        ``(time_ns, label)`` after the link model (dropped events removed and counted)."""
        if not len(self.routes):
            return {}
        chips = sorted(c for c in spikes if len(spikes[c][0]))
        z = np.zeros(0, np.int64)
        src = np.concatenate([z] + [np.full(len(spikes[c][0]), c, np.int64) for c in chips])
        ticks = np.concatenate([z] + [np.asarray(spikes[c][0], np.int64) for c in chips])
        labels = np.concatenate([z] + [np.asarray(spikes[c][1], np.int64) for c in chips])
        dst, t_arr, lab = self.route(src, ticks, labels, t_end_ns)
        return {int(c): (t_arr[dst == c], lab[dst == c]) for c in np.unique(dst)}

    def route(self, src: np.ndarray, ticks: np.ndarray, labels: np.ndarray,
              t_end_ns: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``forward`` on flat columns: a window's spikes ``(source chip, time_ticks, label)``,
        source chips ascending, the window ending at ``t_end_ns`` → delivered events
        ``(destination chip, t_ns, label)``."""
        z = np.zeros(0, np.int64)
        if not len(self.routes):
            return z, z, z
        dst, t, lab, self.hold = route_window(
            np.asarray(src, np.int64), np.asarray(ticks, np.int64), np.asarray(labels, np.int64),
            ALL_TICKS_NS if t_end_ns is None else int(t_end_ns), *self.tables(), self.counts, self.hold, self.hold_n)
        return dst, t, lab

    def tables(self) -> tuple:
        """The arguments of ``route_window`` after the window's end and before ``counts``: the
        routing table, the paths, the links' state (updated in place) and the shortest
        ``delay - latency`` over links."""
        return (self._key, self.routes, self.pair_path, self.path_links, self.path_len, self.hop_ns,
                self.service_ns, self.depth, self.free_ns, self.sent, self.delivered, self.dropped, self.max_queue,
                self.min_hold_ns)

    @staticmethod
    def empty_tables() -> tuple:
        """``tables()`` of a network without routes (for a compiled caller that routes nothing)."""
        z = np.zeros(0, np.int64)
        return (z, np.zeros((0, 6), np.int64), np.zeros((1, 1), np.int64), np.zeros((1, 1), np.int64), z, 0.0,
                1.0, 0, np.zeros(0), z, z, z, z, 0)

    @staticmethod
    def empty_hold() -> tuple:
        """``(hold, hold_n)`` for a compiled caller that routes nothing."""
        return np.zeros((2, 0), np.int64), np.zeros(1, np.int64)

    def fresh(self) -> "Interconnect":
        """This network in its initial state — links idle, counters 0, nothing held — sharing
        its routing tables, which nothing writes (``network_of``)."""
        new = copy.copy(self)
        n_l = len(self.link_names)
        new.free_ns = np.zeros(n_l)
        new.sent, new.delivered, new.dropped, new.max_queue = (np.zeros(n_l, np.int64) for _ in range(4))
        new.counts = np.zeros(2, np.int64)
        new.hold = np.zeros((2, 64), np.int64)
        new.hold_n = np.zeros(1, np.int64)
        return new

    @property
    def events_sent(self) -> int:
        """Events that entered the network (one per spike and destination chip)."""
        return int(self.counts[0])

    @property
    def events_dropped(self) -> int:
        return int(self.counts[1])

    def stats(self) -> pa.Table:
        """Per-link counters: sent = delivered + dropped."""
        return pa.table({"link": self.link_names, "sent": self.sent.copy(), "delivered": self.delivered.copy(),
                         "dropped": self.dropped.copy(), "max_queue": self.max_queue.copy()},
                        schema=LINK_SCHEMA)  # copies: the counters go on in place (a table must not change)

    _STATE = ("free_ns", "sent", "delivered", "dropped", "max_queue", "counts")

    def get_state(self) -> dict:
        return {**{k: getattr(self, k).copy() for k in self._STATE}, "hold": self.hold[:, :self.hold_n[0]].copy()}

    def set_state(self, state: dict) -> None:
        for k in self._STATE:  # in place: compiled hosts hold these arrays
            getattr(self, k)[:] = state[k]
        hold = state["hold"]
        if hold.shape[1] > self.hold.shape[1]:
            self.hold = np.zeros((2, 2 * hold.shape[1]), np.int64)
        self.hold[:, :hold.shape[1]] = hold
        self.hold_n[0] = hold.shape[1]


def network_of(mapping: SystemMapping) -> Interconnect:
    """A new ``Interconnect`` of a mapped system (``Interconnect.fresh`` of one made on the
    first call and kept with ``mapping``: its tables depend on the system and routes alone)."""
    kept = mapping.derived.get(("network",))
    if kept is None or kept.system is not mapping.system or kept.routes is not mapping.routes:
        kept = mapping.derived[("network",)] = Interconnect(mapping.system, mapping.routes)
    return kept.fresh()
