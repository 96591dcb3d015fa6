"""``host_kernel.route_to_queues`` (a Ray host's compiled share of a window's network) queues
exactly what ``Interconnect.route`` followed by ``ChipHost.inject`` queued: the same events in
the same order, the same link state, and nothing for another host's chips."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.cluster import host_kernel as HK
from bss2emu.protocol.system import SystemSpec
from bss2emu.routing.interconnect import Interconnect

SYSTEM = SystemSpec(name="four", chips=[{"id": i, "serial": i + 1} for i in range(4)],
                    link={"hop_latency_us": 0.5, "bandwidth_gbit_s": 0.64, "queue_depth": 4})
# chip c's labels 100..107 reach every other chip (labels 200 + 10 c + j), some twice
ROUTES = np.array([[c, 100 + j, d, 200 + 10 * c + j, 1000 + 100 * k, 1000]
                   for c in range(4) for j in range(8) for d in range(4) if d != c for k in range(1 + (j % 3 == 0))],
                  np.int64)
ROUTES = ROUTES[np.lexsort((ROUTES[:, 1], ROUTES[:, 0]))]


def python_path(net, src, ticks, labels, mine, t_end_ns):
    """What the peer loop did before: route, keep this host's arrivals, queue each chip's in
    the order (time, label) after what was pending."""
    dst, t, lab = net.route(src, ticks, labels, t_end_ns)
    queues = {c: ([], []) for c in mine}
    for d, tt, ll in zip(dst.tolist(), t.tolist(), lab.tolist()):
        if d in queues:
            queues[d][0].append(tt)
            queues[d][1].append(ll)
    out = {}
    for c, (tt, ll) in queues.items():
        order = np.lexsort((np.array(ll, np.int64), np.array(tt, np.int64)))
        out[c] = (np.array(tt, np.int64)[order].tolist(), np.array(ll, np.int64)[order].tolist())
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(100, 109)), max_size=40),
       st.sampled_from([[0], [1, 3], [0, 1, 2, 3]]), st.integers(0, 41 * 8))
def test_queues_and_link_state_match_the_python_path(spikes, mine, t_end_ns):
    spikes = sorted(spikes, key=lambda s: s[0])  # source chips ascending
    src = np.array([s[0] for s in spikes], np.int32)
    ticks = np.array([s[1] for s in spikes], np.int64)
    labels = np.array([s[2] for s in spikes], np.int32)
    net_py, net_hk = Interconnect(SYSTEM, ROUTES), Interconnect(SYSTEM, ROUTES)
    want = python_path(net_py, src.astype(np.int64), ticks, labels.astype(np.int64), mine, t_end_ns)
    row_of = np.full(4, -1, np.int64)
    row_of[mine] = np.arange(len(mine))
    q_t, q_lab, q_n = np.zeros((len(mine), 2), np.int64), np.zeros((len(mine), 2), np.int64), np.zeros(len(mine), np.int64)
    q_t, q_lab, net_hk.hold = HK.route_to_queues(src, ticks, labels, t_end_ns, *net_hk.tables(), net_hk.counts,
                                                  net_hk.hold, net_hk.hold_n, row_of, q_t, q_lab, q_n)
    for r, c in enumerate(mine):
        assert (q_t[r, :q_n[r]].tolist(), q_lab[r, :q_n[r]].tolist()) == want[c]
    assert net_hk.counts.tolist() == net_py.counts.tolist()
    assert copy.deepcopy(net_hk.get_state()).keys() == net_py.get_state().keys()
    for k, v in net_py.get_state().items():
        assert np.array_equal(np.asarray(v), np.asarray(net_hk.get_state()[k])), k
