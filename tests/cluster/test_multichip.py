"""Multi-chip execution: delay/latency semantics, link overload, partitioning, and the same
spikes in every placement — in-process, Ray actors, two Ray nodes — and after a crash."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.errors import RoutingError
from bss2emu.protocol.system import SystemSpec, named_system
from bss2emu.routing.interconnect import Interconnect
from bss2emu.routing.mapping import map_experiment

CHAIN = {
    "name": "chain over 4 chips", "seed": 3, "runtime_us": 60, "chip": {"ideal": True},
    "populations": [{"name": f"g{k}", "size": 20, "chip": k % 4} for k in range(8)],
    "sources": [{"kind": "spike_array", "name": "kick", "size": 20, "spike_times_us": [[5.0, 5.2]] * 20},
                {"kind": "background", "name": "bg", "size": 8, "period": 250, "rate": 60}],
    "projections": [{"pre": "kick", "post": "g0", "weight": 63},
                    {"pre": "bg", "post": "g5", "weight": 30, "connector": {"kind": "fixed_probability", "p": 0.3}}]
    + [{"pre": f"g{k}", "post": f"g{k + 1}", "weight": 63, "connector": {"kind": "fixed_number_pre", "n": 16},
        "stp": {"mode": "facilitation", "utilisation": 14, "recovery": 4}} for k in range(7)],
    "recordings": {"madc": {"population": "g3", "index": 0, "source": "exc_synin"}, "cadc": {"period_us": 10}},
}


def pair(delay_us=None, b_chip=1, weight=63):
    """One neuron on chip 0 that fires early, projecting onto one neuron on chip b_chip."""
    return {"runtime_us": 30, "chip": {"ideal": True},
            "populations": [{"name": "a", "size": 1, "chip": 0, "params": {"i_const": 1022}},
                            # b rests at 580 mV, 0.06 mV below an MADC code boundary: its first rise shows
                            {"name": "b", "size": 1, "chip": b_chip, "params": {"v_leak": 700}}],
            "projections": [{"pre": "a", "post": "b", "weight": weight, "delay_us": delay_us}],
            "recordings": {"madc": {"population": "b"}}}


def onset_us(res) -> float:
    """First MADC sample where b's membrane has risen (µs)."""
    m = res.madc_mv()
    rise = np.nonzero(m.v_mv.to_numpy() > m.v_mv.iloc[0] + 0.5)[0]
    return float(m.time_us.iloc[rise[0]])


@pytest.mark.parametrize("delay_us,b_chip,system,expected_delay_us", [
    (None, 1, "cube-4", 0.648),  # same aggregator: 2 hops of 0.325 µs, in 8 ns ticks
    (None, 15, "jboa-16", 1.3),    # across the backplane: 4 hops
    (3.0, 1, "cube-4", 3.0),     # an FPGA delay longer than the route
    (2.0, 0, "cube-4", 2.0),     # same chip, looped back through the FPGA
])
def test_events_arrive_exactly_when_the_model_says(delay_us, b_chip, system, expected_delay_us):
    res = bss2emu.run(pair(delay_us, b_chip), system=system)
    t_spike = res.to_pandas().query("population == 'a'").time_us.iloc[0]
    # the event lands in the step containing its arrival time and moves the membrane from
    # the next step on: onset within two 0.1 µs steps (+ one 8 ns tick of time-stamping)
    lag = onset_us(res) - (t_spike + expected_delay_us)
    assert 0.0 <= lag <= 0.2 + 0.008, lag
    if b_chip != 0:
        assert res.metadata["window_us"] <= expected_delay_us


def test_a_delay_below_the_route_latency_names_the_minimum():
    with pytest.raises(RoutingError, match=r"delay 0.5 µs, but its connections need at least 0.648 µs .* "
                                           r"use delay_us >= 0.648"):
        map_experiment(bss2emu.Experiment.model_validate(pair(0.5, 1)), "cube-4")


def test_interconnect_unloaded_latency_and_overload_drops_are_counted():
    system = SystemSpec(name="tiny", chips=[{"id": 0, "serial": 1}, {"id": 1, "serial": 2}],
                        link={"hop_latency_us": 0.5, "bandwidth_gbit_s": 0.64, "queue_depth": 4})
    # 0.64 Gbit/s at 64 bit per event: 10 events per µs, one per 100 ns
    routes = np.array([[0, 100 + i, 1, 200 + i, 1000, 1000] for i in range(50)], np.int64)
    net = Interconnect(system, routes)
    out = net.forward({0: (np.array([125]), np.array([100]))})  # one event at 1 µs
    assert out[1][0].tolist() == [1000 + 1000] and out[1][1].tolist() == [200]
    # 50 events at once: the first link serves one per 100 ns and holds 4 waiting
    burst = net.forward({0: (np.full(50, 1250), 100 + np.arange(50))})
    stats = net.stats().to_pandas()
    first = stats.iloc[0]
    assert first.dropped == 45 and first.delivered == 6 and first.sent == 51
    assert (stats.sent == stats.delivered + stats.dropped).all()
    t = np.sort(burst[1][0])
    assert len(t) == 5 and np.allclose(np.diff(t), 100)


def test_dropped_events_warn_with_their_count():
    """A synchronous burst of 50 spikes onto a link that holds 4 waiting events: the run
    says how many events were lost (EventLossWarning), as many as its results count."""
    system = SystemSpec(name="tiny", chips=[{"id": 0, "serial": 1}, {"id": 1, "serial": 2}],
                        link={"hop_latency_us": 0.5, "bandwidth_gbit_s": 0.64, "queue_depth": 4})
    exp = {"runtime_us": 10, "chip": {"ideal": True},  # all 50 fire at 7.4 µs
           "populations": [{"name": "a", "size": 50, "chip": 0, "params": {"i_const": 1022}},
                           {"name": "b", "size": 1, "chip": 1}],
           "projections": [{"pre": "a", "post": "b", "weight": 1}]}
    with pytest.warns(bss2emu.EventLossWarning, match=r"(\d+) of (\d+) inter-chip spike events were dropped: "
                                                      r"a link's queue \(4 events\)") as record:
        res = bss2emu.run(exp, system=system)
    dropped = res.metadata["dropped_events"]
    assert dropped > 0 and str(record[0].message).startswith(f"{dropped} of {res.metadata['inter_chip_events']} ")
    assert record[0].filename == __file__


def test_metis_beats_the_naive_split_on_clustered_networks():
    pops = [{"name": f"c{k}", "size": 200} for k in range(4)]
    # two pairs of strongly coupled clusters, declared so that the naive fill splits both pairs
    order = ["c0", "c2", "c1", "c3"]
    pops = [next(p for p in pops if p["name"] == n) for n in order]
    projs = [{"pre": a, "post": b, "weight": 1, "connector": {"kind": "fixed_number_pre", "n": 20}}
             for a, b in (("c0", "c1"), ("c1", "c0"), ("c2", "c3"), ("c3", "c2"))]
    exp = bss2emu.Experiment(runtime_us=1, populations=pops, projections=projs)
    stats = map_experiment(exp, "cube-4").stats
    assert stats["partition"]["inter_chip_synapses"] < stats["naive_partition"]["inter_chip_synapses"]


def test_local_multichip_run_crosses_chips():
    res = bss2emu.run(CHAIN, system="cube-4")
    df = res.to_pandas()
    assert set(df.chip) == {0, 1, 2, 3}
    # g3 lives on chip 3: its MADC trace shows the input from g2 on chip 2
    assert res.metadata["madc"]["unit"] == "nA" and set(res.madc["chip"].to_pylist()) == {3}
    assert res.madc_values().values.max() > 0
    assert res.metadata["inter_chip_events"] > 0 and res.metadata["window_us"] == pytest.approx(0.6)
    first = df.groupby("population", observed=True).time_us.min()
    assert [first[f"g{k}"] for k in range(8)] == sorted(first[f"g{k}"] for k in range(8))


@pytest.mark.parametrize("placement, step_path", [("per-chip", "peers"), ("packed", "actor-calls"),
                                                  ("per-component", "actor-calls")])
def test_every_placement_gives_identical_results(ray_cluster, monkeypatch, placement, step_path):
    """The session's two nodes share this machine: hosts exchange through shared memory
    (``peers``) unless told not to; then the coordinator steps them window by window."""
    if placement == "packed":
        monkeypatch.setenv("BSS2EMU_RAY_PEERS", "0")
    ref = bss2emu.run(CHAIN, system="cube-4")
    res = bss2emu.run(CHAIN, system="cube-4", placement=placement)
    for name in ("spikes", "madc", "cadc", "links"):
        assert res.tables[name].equals(ref.tables[name]), name
    assert res.metadata["placement"] == placement and res.metadata["madc"] == ref.metadata["madc"]
    assert res.metadata["step_path"] == step_path


@pytest.mark.parametrize("placement, peers", [("per-chip", "1"), ("packed", "0")])
def test_ray_placements_hold_a_ticks_events_across_windows_that_end_inside_it(ray_cluster, monkeypatch, benchmark_script,
                                                                              placement, peers):
    """Windows of 5 steps (every other one ends inside an FPGA tick) on Ray, through the peer
    exchange and through the coordinator's routing: the spikes and link counters of the local
    run in windows of 6 (``interconnect.route_window`` holds a tick's events for the next end)."""
    monkeypatch.setenv("BSS2EMU_RAY_PEERS", peers)
    exp = bss2emu.Experiment.model_validate(benchmark_script("multi_chip").reference_network(4, 150.0, 1))
    ref = bss2emu.run(exp, system="cube-4")
    res = bss2emu.run(exp, system="cube-4", placement=placement, max_window_steps=5)
    assert ref.spikes.num_rows > 3000
    for name in ("spikes", "links"):
        assert res.tables[name].equals(ref.tables[name]), name
    assert res.metadata["step_path"] == ("peers" if peers == "1" else "actor-calls")


def test_hosts_run_on_both_nodes_with_identical_results(ray_cluster):
    import ray

    from bss2emu.cluster.coordinator import Coordinator, chip_setups

    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    exp = bss2emu.Experiment.model_validate(CHAIN)
    coord = Coordinator(exp, named_system("cube-4"), "per-chip")
    coord.backend.start(chip_setups(exp, coord.mapping), Interconnect(coord.mapping.system, coord.mapping.routes))
    nodes = coord.backend.host_nodes()
    coord.backend.shutdown()
    assert len(set(nodes)) == 2


def test_a_killed_chip_actor_is_recovered_from_a_checkpoint(ray_cluster):
    from bss2emu.cluster.ray_job import run_on_ray

    ref = bss2emu.run(CHAIN, system="cube-4")
    exp = bss2emu.Experiment.model_validate(CHAIN)
    res = run_on_ray(exp, named_system("cube-4"), "per-chip", None, kill_host_after=37, checkpoint_every=10)
    assert res.metadata["recoveries"] == 1 and res.metadata["step_path"] == "peers"
    for name in ("spikes", "madc", "cadc", "links"):
        assert res.tables[name].equals(ref.tables[name]), name


def test_compiled_graph_step_path_on_one_node_is_identical_and_recovers():
    """On one node the Ray placements step through a Compiled Graph; the session's two-node
    cluster uses plain actor calls, so this runs in a process with its own embedded Ray."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("compiled_graph_check.py")
    env = {**os.environ, "BSS2EMU_RAY_PEERS": "0"}  # else the hosts exchange through shared memory
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    for placement in ("per-chip", "packed"):
        assert found[placement] == {"step_path": "compiled-graph", "same": True}, found
    assert found["recovery"]["recoveries"] == 1 and found["recovery"]["same"], found
