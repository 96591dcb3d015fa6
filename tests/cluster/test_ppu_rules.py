"""Plasticity rules in the core: per-chip views on a multi-chip system, topology and
per-connection writes, background rates, and identical results in every placement and
across a recovery from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.protocol import experiment as E

NEURON = {"v_leak": 700, "v_threshold": 500, "v_reset": 300, "i_bias_leak": 200}  # fires regularly on its own


def hebb_class():
    """The rule's class, made in a function: Ray workers get it pickled by value, as a class from a
    user's script (a module they cannot import would fail)."""

    class Hebb:
        """Per chip: weight += rint(causal/8) − 1 (a leaky Hebbian rule), clipped; counts its runs."""

        def __init__(self):
            self.runs = 0

        def __call__(self, ctx):
            self.runs += 1
            for view in ctx.projections:
                causal, _ = view.correlation(reset=True)
                new = np.clip(view.weights() + np.rint(causal / 8.0).astype(int) - 1, 0, 63)
                view.set_weights(new)
                ctx.record_observable(f"w:{view.name}", new)
                ctx.record_observable(f"conn:{view.name}", view.connection)
            for pop in ctx.populations:
                ctx.record_observable(f"n:{pop.name}", pop.indices)
            ctx.record_observable("runs", self.runs)

    return Hebb


Hebb = hebb_class()


def two_chip_experiment(runtime_us: float = 120.0) -> E.Experiment:
    return E.Experiment(
        name="hebb", seed=3, runtime_us=runtime_us, chip={"ideal": True},
        populations=[{"name": "a", "size": 6, "chip": 0, "params": NEURON},
                     {"name": "b", "size": 5, "chip": 1, "params": NEURON}],
        sources=[{"kind": "poisson", "name": "s", "size": 10, "rate_khz": 100.0}],
        projections=[{"name": "sa", "pre": "s", "post": "a", "weight": 30},
                     {"name": "sb", "pre": "s", "post": "b", "weight": 30,
                      "connector": {"kind": "fixed_probability", "p": 0.5}}],
        plasticity=[{"name": "hebb", "kernel": Hebb(), "period_us": 10.0, "projections": ["sa", "sb"],
                     "populations": ["a", "b"]}])


def observables(res) -> dict:
    t = res.tables["ppu_observables"].to_pydict()
    out: dict = {}
    for ticks, chip, key, values in zip(t["time_ticks"], t["chip"], t["key"], t["values"]):
        out.setdefault((chip, key), []).append((ticks, values))
    return out


def test_one_rule_runs_on_each_chip_with_the_part_placed_there():
    exp = two_chip_experiment()
    res = bss2emu.run(exp, chips=2)
    obs = observables(res)
    n_sa = 60
    # chip 0 holds a and all of sa, chip 1 b and sb: each PPU sees its part only
    assert sorted(obs[(0, "conn:sa")][0][1]) == list(range(n_sa)) and obs[(1, "conn:sa")][0][1] == []
    assert len(obs[(1, "conn:sb")][0][1]) > 0 and obs[(0, "conn:sb")][0][1] == []
    assert obs[(0, "n:a")][0][1] == list(range(6)) and obs[(1, "n:b")][0][1] == list(range(5))
    # every chip's PPU has its own copy of the kernel object, counting its own runs
    runs = [v[0] for _, v in obs[(0, "runs")]]
    assert runs == list(range(1, len(runs) + 1)) and [v[0] for _, v in obs[(1, "runs")]] == runs
    assert exp.plasticity[0].kernel.runs == 0  # the experiment's object never runs
    w = np.array([v for _, v in obs[(0, "w:sa")]])
    assert w.shape == (len(runs), n_sa) and not np.all(w == 30)


def test_timed_connection_and_per_connection_weight_writes():
    base = dict(name="w", runtime_us=90.0, chip={"ideal": True},
                populations=[{"name": "p", "size": 2, "params": {"i_const": 235}}],
                sources=[{"kind": "spike_array", "name": "s", "size": 24,
                          "spike_times_us": [list(np.arange(2.0, 90.0, 5.0))] * 24}],
                projections=[{"name": "sp", "pre": "s", "post": "p", "weight": 63,  # 12 inputs per neuron
                              "connector": {"kind": "from_list", "connections": [[i, i // 12] for i in range(24)]}}])
    quiet = bss2emu.run(E.Experiment(**base))
    # spikes per interval, leaving 15 µs after each change for the synaptic input to decay
    counts = (lambda r: [np.histogram(r.spike_times_us("p")[i], [0, 30, 45, 60, 75, 90])[0][::2].tolist()
                         for i in range(2)])
    c0 = counts(quiet)
    assert all(x > 0 for row in c0 for x in row)
    writes = [{"kind": "connection", "time_us": 30.0, "projection": "sp", "enabled": False,
               "indices": list(range(12, 24))},
              {"kind": "connection", "time_us": 60.0, "projection": "sp", "enabled": True},
              {"kind": "weight", "time_us": 60.0, "projection": "sp", "weights": [0] * 12 + [63] * 12}]
    c1 = counts(bss2emu.run(E.Experiment(**base, writes=writes)))
    assert c1[0][:2] == c0[0][:2] and c1[0][2] == 0  # neuron 0: weight 0 from 60 µs
    assert c1[1][0] == c0[1][0] and c1[1][1] == 0 and c1[1][2] == c0[1][2]  # neuron 1: disconnected 30–60 µs
    with pytest.raises(ValueError, match="has 24 connections, the write gives 3 weights"):
        bss2emu.run(E.Experiment(**base, writes=[{"kind": "weight", "time_us": 1.0, "projection": "sp",
                                                  "weights": [1, 2, 3]}]))
    with pytest.raises(ValueError, match="give weight \\(one for all\\) or weights"):
        E.WeightWrite(time_us=1.0, projection="sp")


def test_a_rule_sets_a_background_generator_rate():
    class Silence:
        def __call__(self, ctx):
            ctx.set_background_rate("bg", 0)

    exp = dict(name="bg", runtime_us=100.0, chip={"ideal": True},
               populations=[{"name": "p", "size": 1, "params": {"i_const": 235}}],
               sources=[{"kind": "background", "name": "bg", "size": 16, "period": 25, "rate": 255}],
               projections=[{"pre": "bg", "post": "p", "weight": 63}])
    free = bss2emu.run(E.Experiment(**exp)).spike_times_us("p")[0]
    ruled = bss2emu.run(E.Experiment(**exp, plasticity=[{"name": "off", "kernel": Silence(), "period_us": 50.0,
                                                         "num_periods": 1}])).spike_times_us("p")[0]
    assert np.array_equal(ruled[ruled < 50.0], free[free < 50.0])
    assert len(free[free > 70.0]) > 5 and len(ruled[ruled > 70.0]) == 0  # (the input decays for a few µs)


def test_every_placement_and_a_recovery_give_identical_plasticity(ray_cluster):
    from bss2emu.cluster.ray_job import run_on_ray
    from bss2emu.protocol.system import as_system

    exp = two_chip_experiment()
    ref = bss2emu.run(exp, chips=2)
    runs = {p: bss2emu.run(exp, chips=2, placement=p) for p in ("per-chip", "per-component")}
    runs["recovered"] = run_on_ray(exp, as_system(None, 2), "per-chip", None, kill_host_after=6, checkpoint_every=4)
    assert runs["recovered"].metadata["recoveries"] == 1
    for name, res in runs.items():
        for table in ("spikes", "ppu_observables"):
            assert res.tables[table].equals(ref.tables[table]), (name, table)


def test_a_rule_writes_neuron_parameters_within_their_ranges():
    class Wake:
        def __init__(self, value):
            self.value = value

        def __call__(self, ctx):
            ctx.populations[0].set_parameter("i_const", self.value)

    def exp(value):
        return E.Experiment(name="wake", runtime_us=100.0, chip={"ideal": True},
                            populations=[{"name": "p", "size": 3, "params": {"i_const": 0}}],
                            plasticity=[{"name": "wake", "kernel": Wake(value), "period_us": 50.0, "num_periods": 1,
                                         "populations": ["p"]}])

    spikes = bss2emu.run(exp(900)).spike_times_us("p")
    assert all(len(t) >= 3 and t.min() >= 50.0 for t in spikes)  # silent until the rule raised the current
    with pytest.raises(bss2emu.errors.PlasticityError,
                       match=r"rule 'wake' at 50.000 µs \(chip 0\) wrote i_const 5000: range 0..1022"):
        bss2emu.run(exp(5000))


def test_a_rule_disconnects_and_reconnects_synapses():
    class Prune:
        def __call__(self, ctx):
            (view,) = ctx.projections
            view.set_enabled(ctx.time_us >= 60.0)  # off at 30 µs, on again at 60 µs

    exp = E.Experiment(
        name="prune", runtime_us=90.0, chip={"ideal": True},
        populations=[{"name": "p", "size": 1, "params": {"i_const": 235}}],
        sources=[{"kind": "spike_array", "name": "s", "size": 12,
                  "spike_times_us": [list(np.arange(2.0, 90.0, 5.0))] * 12}],
        projections=[{"name": "sp", "pre": "s", "post": "p", "weight": 63}],
        plasticity=[{"name": "prune", "kernel": Prune(), "period_us": 30.0, "num_periods": 2,
                     "projections": ["sp"]}])
    t = bss2emu.run(exp).spike_times_us("p")[0]
    assert len(t[t < 30.0]) > 3 and len(t[(t >= 45.0) & (t < 60.0)]) == 0 and len(t[t >= 75.0]) > 1


def test_a_rule_failing_on_one_ray_host_stops_the_others_and_names_itself(ray_cluster):
    """Hosts that run their windows together (``peer_exchange``): the one whose rule fails
    raises its own error; the other stops waiting for it instead of hanging."""

    class Overdrive:
        def __call__(self, ctx):
            ctx.populations[0].set_parameter("i_const", 5000)

    exp = E.Experiment(name="overdrive", runtime_us=100.0, chip={"ideal": True},
                       populations=[{"name": "a", "size": 4, "chip": 0, "params": {"i_const": 600}},
                                    {"name": "b", "size": 4, "chip": 1}],
                       projections=[{"name": "ab", "pre": "a", "post": "b", "weight": 40}],
                       plasticity=[{"name": "overdrive", "kernel": Overdrive(), "period_us": 50.0, "num_periods": 1,
                                    "populations": ["b"]}])
    with pytest.raises(bss2emu.errors.PlasticityError, match=r"rule 'overdrive' at 50.000 µs \(chip 1\)"):
        bss2emu.run(exp, chips=2, placement="per-chip")


def table_stdp_class():
    """Pair STDP from a table of weight changes, in one compiled sweep (``fused``) or by the
    documented reads and writes (a class made in a function: Ray workers get it by value)."""

    class TableStdp:
        def __init__(self, fused: bool):
            self.fused = fused

        def __call__(self, ctx):
            dw = (np.subtract.outer(np.arange(256), np.arange(256)) + 2) // 4
            for view in ctx.projections:
                if self.fused:
                    view.update_weights_by_correlation(dw, reset=True)
                else:
                    causal, acausal = view.correlation(reset=True)
                    view.set_weights(np.clip(view.weights() + dw[causal, acausal], 0, 63))
                ctx.record_observable(f"w:{view.name}", view.weights())

    return TableStdp


def test_stdp_in_one_sweep_is_the_documented_calls_in_every_placement(ray_cluster):
    TableStdp = table_stdp_class()

    def exp(fused: bool) -> E.Experiment:
        return E.Experiment(
            name="stdp", seed=5, runtime_us=100.0, chip={"ideal": True},
            populations=[{"name": "a", "size": 8, "params": {**NEURON, "v_leak": 900}}],
            sources=[{"kind": "poisson", "name": "s", "size": 12, "rate_khz": 150.0}],
            projections=[{"name": "sa", "pre": "s", "post": "a", "weight": 20}],
            plasticity=[{"name": "stdp", "kernel": TableStdp(fused), "period_us": 10.0, "projections": ["sa"]}])

    ref = bss2emu.run(exp(False))
    w = [values for _, values in observables(ref)[(0, "w:sa")]]
    assert not np.array_equal(w[0], w[-1]) and ref.spikes.num_rows > 0  # (the rule changes weights)
    # per-component: the PPU reads a copy of its chip and resets the sensors by a write
    for placement in ("local", "per-component"):
        res = bss2emu.run(exp(True), placement=placement)
        for table in ("spikes", "ppu_observables"):
            assert res.tables[table].equals(ref.tables[table]), (placement, table)
