"""``ppu.CorrelationTableRule`` run inside a host's compiled window loop (``Ppu.fused``,
``host_kernel._run_rule``) does what the same rule does when the PPU runs it in Python, bit
for bit: the same spikes, and at the end the same weights, correlation sensors, pre/post
times and PPU timer — in the local and per-chip placements, with a limited number of
periods, and in a run cut into segments. (The Python run itself is pinned by
``test_stdp_reference.py`` and ``test_ppu_passes.py``.)"""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.chip_actor.ppu import CorrelationTableRule
from bss2emu.cluster.coordinator import Coordinator
from bss2emu.errors import PlasticityError

#: a table whose changes are frequent (the benchmark's rounds most of them to 0)
DW = (np.subtract.outer(np.arange(256), np.arange(256)) + 2) // 4


class InPython:
    """The same rule, as a kernel that the host cannot fuse (it is not the rule's class)."""

    reads_correlation = True

    def __init__(self, rule: CorrelationTableRule) -> None:
        self.rule = rule

    def __call__(self, ctx) -> None:
        self.rule(ctx)


def _experiment(bench, kernel, n: int = 128, runtime_us: float = 200.0, num_periods=None):
    exp = bench.experiment(n, runtime_us, 10.0, kernel)
    if num_periods is not None:
        exp = exp.model_copy(update={"plasticity": [exp.plasticity[0].model_copy(update={"num_periods": num_periods})]})
    return exp


def _final_state(exp, until_us=()):
    """Spikes and, at the end, every chip's weights, sensors, pre/post times and PPU timer."""
    coord = Coordinator(exp)
    for t in until_us:
        coord.run(until_us=t, keep=True)
    res = coord.run(keep=True)
    out = {}
    for cid, (chip, _, ppu) in coord.backend.get_states()[0]["chips"].items():
        out[cid] = {"weights": chip["config"].synapses.weights.copy(), "next_ns": ppu["next_ns"], "runs": ppu["runs"],
                    **{k: chip[k] for k in ("causal", "acausal", "t_pre", "t_post", "synaptic_events")}}
    coord.close()
    return res, out


def _assert_same(a, b):
    (res_a, st_a), (res_b, st_b) = a, b
    assert res_a.tables["spikes"].equals(res_b.tables["spikes"])
    assert st_a.keys() == st_b.keys()
    for cid in st_a:
        for key, value in st_a[cid].items():
            assert np.array_equal(value, st_b[cid][key]), (cid, key)


@pytest.mark.parametrize("num_periods", [None, 7])
def test_the_fused_rule_is_the_rule_run_in_python(plasticity_benchmark, num_periods):
    bench = plasticity_benchmark
    fused = _final_state(_experiment(bench, CorrelationTableRule(DW), num_periods=num_periods))
    python = _final_state(_experiment(bench, InPython(CorrelationTableRule(DW)), num_periods=num_periods))
    _assert_same(fused, python)
    (res, state), = [fused]
    runs = state[0]["runs"][0]
    assert runs == (num_periods or 19)  # (at 10, 20, … 190 µs)
    first = _final_state(_experiment(bench, CorrelationTableRule(DW), num_periods=0))[1][0]["weights"]
    assert (state[0]["weights"] != first).sum() > 100  # the rule changed many weights


def test_the_fused_rule_in_segments_and_per_chip(plasticity_benchmark, ray_cluster):
    bench = plasticity_benchmark
    python = _final_state(_experiment(bench, InPython(CorrelationTableRule(DW))))
    _assert_same(_final_state(_experiment(bench, CorrelationTableRule(DW)), until_us=(45.0, 100.0)), python)
    exp = _experiment(bench, CorrelationTableRule(DW))
    for placement in ("per-chip", "per-component"):  # (per-component: the PPU runs it in Python)
        res = bss2emu.run(exp, placement=placement)
        assert res.tables["spikes"].equals(python[0].tables["spikes"]), placement


def test_a_table_of_the_wrong_shape_or_type_is_refused():
    with pytest.raises(PlasticityError, match=r"shape \(256, 256\); got int64 of shape \(3, 3\)"):
        CorrelationTableRule(np.zeros((3, 3), np.int64))
    with pytest.raises(PlasticityError, match="float64"):
        CorrelationTableRule(np.zeros((256, 256)))


def test_runs_of_one_topology_share_the_rule_s_synapses_and_a_rule_on_fewer_projections_gets_its_own(
        plasticity_benchmark):
    """The PPU's layout (``coordinator.ppu_layout``) and the fused rule's synapses
    (``Ppu.fused_view``) are made once per mapped topology and kept, read-only; a rule over
    other projections of the same topology sees its own synapses, not the kept ones."""
    from bss2emu.cluster.coordinator import chip_setups
    from bss2emu.cluster.host import _Unit
    from bss2emu.routing.mapping import map_experiment

    bench = plasticity_benchmark
    exp = _experiment(bench, CorrelationTableRule(DW), runtime_us=60.0)
    first, again = _final_state(exp), _final_state(exp)
    _assert_same(first, again)
    mapping = map_experiment(exp)
    (a,), (b,) = chip_setups(exp, mapping), chip_setups(exp, mapping)
    assert a.layout is b.layout
    flat, bits = _Unit(a).rule_flat, _Unit(a).rule_in_view
    assert flat is _Unit(b).rule_flat and not flat.flags.writeable and not bits.flags.writeable
    assert len(flat) == sum(len(f) for f in a.layout.flats.values()) > 1000
    assert int(np.unpackbits(bits.view(np.uint8)).sum()) == len(flat)

    some = exp.model_copy(update={"plasticity": [exp.plasticity[0].model_copy(
        update={"projections": exp.plasticity[0].projections[:2]})]})
    (c,), = [chip_setups(some, mapping)]
    assert c.layout is a.layout and 0 < len(_Unit(c).rule_flat) < len(flat)
    python = some.model_copy(update={"plasticity": [some.plasticity[0].model_copy(
        update={"kernel": InPython(CorrelationTableRule(DW))})]})
    _assert_same(_final_state(some), _final_state(python))


@pytest.mark.parametrize("period_us, start_us, num_periods", [
    (0.05, None, 300),  # shorter than a step (0.1 µs): it falls behind its times, its windows stay cut
    (0.15, 0.25, None),  # not a whole number of steps: due at the first step at or after each time
    (0.35, 3.3, 40),
    (2.0, 0.0, None),
    (7.0, 1.05, 3),
])
def test_the_fused_rule_inside_windows_runs_when_the_python_rule_runs(plasticity_benchmark, period_us, start_us,
                                                                        num_periods):
    """Windows are not cut at the compiled rule's times (``coordinator.cut_steps``); the host
    runs it at the steps inside a window where it is due (``host_kernel._advance_chip``) —
    where the Python rule runs, on its windows cut there: the same spikes, weights, sensors
    and timer, for periods that are not whole steps, shorter than a step, with a start and a
    limited number of runs, in a run cut into segments."""
    from bss2emu.cluster.coordinator import cut_steps

    bench = plasticity_benchmark
    runtime_us = 60.0

    def exp(kernel):
        e = _experiment(bench, kernel, n=128, runtime_us=runtime_us)
        return e.model_copy(update={"plasticity": [e.plasticity[0].model_copy(
            update={"period_us": period_us, "start_us": start_us, "num_periods": num_periods})]})

    fused, python = exp(CorrelationTableRule(DW)), exp(InPython(CorrelationTableRule(DW)))
    total = int(runtime_us * 1e3 / fused.dt_ns)
    assert len(cut_steps(fused, total, compiled=True)) == (len(cut_steps(fused, total)) if period_us < 0.1 else 0)
    # (segments: a window starts at their ends, where a rule that fell behind its times runs, in Python too)
    state = _final_state(fused, until_us=(25.05,))
    _assert_same(state, _final_state(python, until_us=(25.05,)))
    (res, chips), = [state]
    start_ns = round((start_us if start_us is not None else period_us) * 1e3)
    times = np.arange(start_ns, runtime_us * 1e3, round(period_us * 1e3))
    due = int((-(-times // fused.dt_ns) < total).sum())  # its times whose step is before the end
    if period_us >= 0.1:
        assert chips[0]["runs"][0] == min(num_periods or due, due)
    else:  # (once per window start: behind)
        assert 100 < chips[0]["runs"][0] < num_periods
    assert res.spikes.num_rows > 50
    first = _final_state(exp(CorrelationTableRule(DW)).model_copy(update={"plasticity": []}))[1][0]["weights"]
    assert (chips[0]["weights"] != first).any()  # the rule changed weights
