"""A window that ends inside an FPGA tick (dt = 100 ns: every odd step) routes only the spikes
of the ticks it completed and carries the rest to the next window's end
(``interconnect.complete_ticks``), so that multi-chip results do not depend on where windows
were cut: the window length, a run in segments at odd steps, a timed write."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bss2emu
from bss2emu.cluster.coordinator import Coordinator, tick_safe_bounds
from bss2emu.errors import ConfigError
from bss2emu.protocol.system import SystemSpec
from bss2emu.routing.interconnect import ALL_TICKS_NS, Interconnect, complete_ticks
from bss2emu.units import NS_PER_TICK

SYSTEM = SystemSpec(name="four", chips=[{"id": i, "serial": i + 1} for i in range(4)],
                    link={"hop_latency_us": 0.05, "bandwidth_gbit_s": 0.64, "queue_depth": 4})
ROUTES = np.array([[c, 100 + j, d, 200 + 10 * c + j, 700, 50]
                   for c in range(4) for j in range(8) for d in range(4) if d != c], np.int64)
ROUTES = ROUTES[np.lexsort((ROUTES[:, 1], ROUTES[:, 0]))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2000), st.integers(100, 107)), max_size=60),
       st.lists(st.integers(1, 2000), max_size=8))
def test_each_spike_is_routed_once_when_its_tick_is_complete(spikes, ends):
    """Windows end at ``ends`` (ns, any, sorted); each window hands over the spikes of its
    time span. Every spike comes out exactly once, at the first window end that completed its
    tick, in the order ``route_window`` takes: source chips ascending, each chip's in time
    order."""
    ends = sorted(set(ends)) + [2048 * NS_PER_TICK]  # the last on a tick, after every spike
    spikes = sorted(spikes, key=lambda s: (s[1], s[0]))  # (chip, time ns, label) in time order
    carry, carry_n = np.zeros((3, 1), np.int64), np.zeros(1, np.int64)  # small: it must grow
    start, pending, n_out = 0, [], 0
    for end in ends:
        mine = sorted((s for s in spikes if start <= s[1] < end), key=lambda s: s[0])  # chips ascending
        pending += mine
        src = np.array([s[0] for s in mine], np.int64)
        ticks = np.array([s[1] // NS_PER_TICK for s in mine], np.int64)
        labels = np.array([s[2] for s in mine], np.int64)
        g_src, g_t, g_l, carry = complete_ticks(src, ticks, labels, end, carry, carry_n)
        due = sorted((s for s in pending if s[1] // NS_PER_TICK < end // NS_PER_TICK), key=lambda s: (s[0], s[1]))
        pending = [s for s in pending if s[1] // NS_PER_TICK >= end // NS_PER_TICK]
        assert list(zip(g_src.tolist(), g_t.tolist(), g_l.tolist())) == [(c, t // NS_PER_TICK, lab)
                                                                          for c, t, lab in due]
        assert carry_n[0] == len(pending)
        n_out += len(due)
        start = end
    assert n_out == len(spikes)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3000), st.integers(100, 107)), max_size=80),
       st.sampled_from([100, 300, 600]), st.integers(0, 7))
def test_the_network_gives_the_same_arrivals_and_link_state_for_any_window_cuts(spikes, window_ns, offset_ns):
    """The same spikes through the network in windows of ``window_ns`` starting at
    ``offset_ns`` (ends inside ticks) and in one window: the same arrivals (each window's,
    together) and the same link state."""
    spikes = sorted(set(spikes), key=lambda s: (s[1], s[0]))
    one = Interconnect(SYSTEM, ROUTES)

    def columns(part):
        part = sorted(part, key=lambda s: s[0])
        return (np.array([s[0] for s in part], np.int64), np.array([s[1] // NS_PER_TICK for s in part], np.int64),
                np.array([s[2] for s in part], np.int64))

    want = one.route(*columns(spikes), ALL_TICKS_NS)
    cut = Interconnect(SYSTEM, ROUTES)
    got = []
    ends = list(range(offset_ns, 3200, window_ns)) + [ALL_TICKS_NS]
    start = 0
    for end in ends:
        got.append(cut.route(*columns([s for s in spikes if start <= s[1] < end]), end))
        start = end
    cat = [np.concatenate([g[i] for g in got]) for i in range(3)]
    key = np.lexsort((cat[2], cat[1], cat[0]))
    want_key = np.lexsort((want[2], want[1], want[0]))
    for i in range(3):
        assert cat[i][key].tolist() == want[i][want_key].tolist()
    for k, v in one.get_state().items():
        assert np.array_equal(v, cut.get_state()[k]), k


def test_the_carry_is_part_of_the_network_state():
    net = Interconnect(SYSTEM, ROUTES)
    net.route(np.array([0, 1]), np.array([10, 12]), np.array([100, 101]), 12 * NS_PER_TICK + 4)
    state = net.get_state()
    assert state["carry"].tolist() == [[1], [12], [101]]
    fresh = Interconnect(SYSTEM, ROUTES)
    fresh.set_state(state)
    a = net.route(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), 14 * NS_PER_TICK)
    b = fresh.route(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), 14 * NS_PER_TICK)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and len(a[0]) == 3  # chip 1 label 101: 3 routes


def test_a_window_after_a_cut_inside_a_tick_ends_before_that_ticks_arrivals():
    # dt 100 ns, shortest delay 600 ns: from 700 ns (4 ns into tick 87) at most 5 steps
    assert tick_safe_bounds(np.array([0, 6, 7, 13]), 100, 600).tolist() == [0, 6, 7, 12, 13]
    assert tick_safe_bounds(np.array([0, 6, 7, 13]), 100, 648).tolist() == [0, 6, 7, 13]
    assert tick_safe_bounds(np.array([0, 3, 9]), 80, 400).tolist() == [0, 3, 9]  # dt on ticks: as they are
    with pytest.raises(ConfigError, match=r"shortest FPGA route delay, 103 ns.*multiple of 8 ns"):
        tick_safe_bounds(np.array([0, 1, 2]), 100, 103)


@pytest.fixture(scope="module")
def reference_2048():
    path = Path(__file__).parents[2] / "benchmarks" / "multi_chip.py"
    spec = importlib.util.spec_from_file_location("bss2emu_benchmark_multi_chip", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return bss2emu.Experiment.model_validate(module.reference_network(4, 150.0, 1)), "cube-4"


def test_multichip_results_do_not_depend_on_window_cuts_inside_ticks(reference_2048):
    """The 2048-neuron reference network on cube-4, 150 µs: windows of 5 and 3 steps (every
    other one ends inside a tick) and a run in segments of 2.1 µs (21 steps) give the spikes
    and link counters of the run in windows of 6 steps. (Before the carry: 4245, 4243 and 4243
    spikes against 4244.)"""
    exp, system = reference_2048
    whole = Coordinator(exp, system).run()
    assert whole.spikes.num_rows > 3000
    for steps in (5, 3):
        other = Coordinator(exp, system, max_window_steps=steps).run()
        assert other.spikes.equals(whole.spikes), steps
        assert other.tables["links"].equals(whole.tables["links"]), steps
    coord = Coordinator(exp, system)
    for t in np.arange(2.1, 150.0, 2.1):
        coord.run(until_us=float(t), keep=True)
    last = coord.run()
    assert last.spikes.equals(whole.spikes) and last.tables["links"].equals(whole.tables["links"])
