"""The inter-chip network in model time: FPGA routing, per-link latency, bandwidth, queues.

A spike that the source FPGA's routing table sends to another chip leaves the FPGA after
``delay - latency`` (the FPGA realises the delay) and crosses the links of its path. Each
directed link is a FIFO server: it takes one event per ``1 / bandwidth``, holds at most
``queue_depth`` waiting events and drops what arrives beyond that — counted per link,
never silently. Each hop adds ``hop_latency``; without queueing an event therefore arrives
exactly ``delay`` after its spike. Loop-back routes (a delay on one chip) do not touch the
network. Events are processed per window in the total order (send time, source chip,
source label, destination chip, destination label), so results do not depend on where
chips run.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from ..protocol.system import SystemSpec
from ..units import NS_PER_TICK

# columns of SystemMapping.routes
R_SRC, R_SRC_LABEL, R_DST, R_DST_LABEL, R_DELAY_NS, R_LATENCY_NS = range(6)
LINK_SCHEMA = pa.schema([("link", pa.string()), ("sent", pa.int64()), ("delivered", pa.int64()),
                         ("dropped", pa.int64()), ("max_queue", pa.int64())])


@njit(cache=True)
def _traverse(t_send, latency, path_links, n_hops, hop_ns, service_ns, depth, free_ns, sent, delivered,
              dropped, maxq):
    n = len(t_send)
    arrive = np.empty(n, np.float64)
    for e in range(n):
        t = t_send[e]
        wait = 0.0
        ok = True
        for k in range(n_hops[e]):
            link = path_links[e, k]
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
        # the route's latency (in whole ticks, as mapping computed it) plus time spent queueing
        arrive[e] = t_send[e] + latency[e] + wait if ok else -1.0
    return arrive


class Interconnect:
    """Routing tables plus the state of every link of a system."""

    def __init__(self, system: SystemSpec, routes: np.ndarray) -> None:
        self.system = system
        self.routes = routes
        self._key = routes[:, R_SRC] * 65536 + routes[:, R_SRC_LABEL] if len(routes) else np.zeros(0, np.int64)
        links: dict[tuple[str, str], int] = {}
        pairs = sorted({(int(a), int(b)) for a, b in routes[:, [R_SRC, R_DST]]} if len(routes) else set())
        self._path: dict[tuple[int, int], list[int]] = {}
        for a, b in pairs:
            if a == b:
                self._path[(a, b)] = []
                continue
            self._path[(a, b)] = [links.setdefault(l, len(links)) for l in system.path(a, b)]
        self.link_names = [f"{u}->{v}" for (u, v), _ in sorted(links.items(), key=lambda kv: kv[1])]
        n_l = len(links)
        self.free_ns = np.zeros(n_l)
        self.sent, self.delivered, self.dropped, self.max_queue = (np.zeros(n_l, np.int64) for _ in range(4))
        self.hop_ns = system.link.hop_latency_us * 1e3
        self.service_ns = 1e3 / system.link.events_per_us
        self.depth = system.link.queue_depth
        self.events_sent = 0  # events that entered the network (one per spike and destination chip)
        self.events_dropped = 0

    def forward(self, spikes: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Spikes per source chip ``(time_ticks, label)`` → arrivals per destination chip
        ``(time_ns, label)`` after the link model (dropped events removed and counted)."""
        if not len(self.routes):
            return {}
        parts = []
        for chip in sorted(spikes):
            ticks, labels = spikes[chip]
            if not len(ticks):
                continue
            key = chip * 65536 + np.asarray(labels, np.int64)
            lo = np.searchsorted(self._key, key, side="left")
            hi = np.searchsorted(self._key, key, side="right")
            cnt = hi - lo
            if not cnt.any():
                continue
            ev = np.repeat(np.arange(len(key)), cnt)
            rows = np.concatenate([np.arange(a, b) for a, b in zip(lo[cnt > 0], hi[cnt > 0])])
            r = self.routes[rows]
            t_send = np.asarray(ticks, np.int64)[ev] * NS_PER_TICK + r[:, R_DELAY_NS] - r[:, R_LATENCY_NS]
            parts.append(np.column_stack([t_send, r]))
        if not parts:
            return {}
        ev = np.concatenate(parts)
        ev = ev[np.lexsort((ev[:, 1 + R_DST_LABEL], ev[:, 1 + R_DST], ev[:, 1 + R_SRC_LABEL], ev[:, 1 + R_SRC], ev[:, 0]))]
        src, dst = ev[:, 1 + R_SRC], ev[:, 1 + R_DST]
        max_h = max((len(p) for p in self._path.values()), default=0)
        path_links = np.zeros((len(ev), max(max_h, 1)), np.int64)
        n_hops = np.zeros(len(ev), np.int64)
        for (a, b), p in self._path.items():
            sel = (src == a) & (dst == b)
            if p and sel.any():
                path_links[sel, :len(p)] = p
                n_hops[sel] = len(p)
        arrive = _traverse(ev[:, 0].astype(np.float64), ev[:, 1 + R_LATENCY_NS].astype(np.float64),
                           path_links, n_hops, self.hop_ns, self.service_ns,
                           self.depth, self.free_ns, self.sent, self.delivered, self.dropped, self.max_queue)
        self.events_sent += int((n_hops > 0).sum())
        self.events_dropped += int(((n_hops > 0) & (arrive < 0)).sum())
        loop = n_hops == 0
        arrive[loop] = ev[loop, 0] + ev[loop, 1 + R_LATENCY_NS]
        ok = arrive >= 0
        t_arr = np.ceil(arrive[ok] - 1e-6).astype(np.int64)
        dst, lab = ev[ok, 1 + R_DST], ev[ok, 1 + R_DST_LABEL]
        return {int(c): (t_arr[dst == c], lab[dst == c]) for c in np.unique(dst)}

    def stats(self) -> pa.Table:
        """Per-link counters: sent = delivered + dropped."""
        return pa.table({"link": self.link_names, "sent": self.sent, "delivered": self.delivered,
                         "dropped": self.dropped, "max_queue": self.max_queue}, schema=LINK_SCHEMA)

    def get_state(self) -> dict:
        st = {k: getattr(self, k).copy() for k in ("free_ns", "sent", "delivered", "dropped", "max_queue")}
        return {**st, "events_sent": self.events_sent, "events_dropped": self.events_dropped}

    def set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v.copy() if isinstance(v, np.ndarray) else v)
