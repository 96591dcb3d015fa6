"""The in-process backend end to end: determinism, timed writes, PPU kernels, results."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import bss2emu
from bss2emu.chip_actor.analog import SYN_GAIN_NA_PER_LSB, voltage_map
from bss2emu.errors import ConfigError, PlasticityError
from bss2emu.protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS

NET = {
    "name": "small net", "seed": 11, "runtime_us": 300,
    "populations": [{"name": "exc", "size": 40, "params": {"i_const": 300}},
                    {"name": "inh", "size": 10, "params": {"i_const": 300}}],
    "sources": [{"kind": "poisson", "name": "drive", "size": 20, "rate_khz": 40},
                {"kind": "background", "name": "bg", "size": 16, "period": 200, "rate": 100}],
    "projections": [
        {"pre": "drive", "post": "exc", "weight": 40, "connector": {"kind": "fixed_probability", "p": 0.3}},
        {"pre": "bg", "post": "inh", "weight": 30, "connector": {"kind": "fixed_probability", "p": 0.3}},
        {"pre": "exc", "post": "inh", "weight": 20, "connector": {"kind": "fixed_number_pre", "n": 5},
         "stp": {"mode": "depression", "utilisation": 8, "recovery": 6}},
        {"pre": "inh", "post": "exc", "weight": 30, "receptor": "inhibitory",
         "connector": {"kind": "fixed_probability", "p": 0.2}},
    ],
    "recordings": {"madc": {"population": "exc", "index": 3}, "cadc": {"period_us": 50}},
}


def test_same_seed_gives_identical_results_and_other_seed_differs():
    a, b = bss2emu.run(NET), bss2emu.run(NET)
    assert a.spikes.num_rows > 50
    for name in ("spikes", "madc", "cadc"):
        assert a.tables[name].equals(b.tables[name])
    c = bss2emu.run({**NET, "seed": 12})
    assert not a.spikes.equals(c.spikes)


def test_results_carry_population_and_index_and_write_parquet(tmp_path):
    res = bss2emu.run(NET)
    df = res.to_pandas()
    assert set(df.population) <= {"exc", "inh"}
    assert df[df.population == "exc"]["index"].max() < 40
    assert (np.diff(df.time_ticks) >= 0).all()
    assert np.allclose(df.time_us, df.time_ticks / 125)
    files = res.write_parquet(tmp_path / "out")
    assert {f.name for f in files} == {"spikes.parquet", "madc.parquet", "cadc.parquet", "ppu.parquet", "links.parquet", "metadata.json"}
    back = bss2emu.Results.read_parquet(tmp_path / "out")
    assert back.spikes.equals(pq.read_table(tmp_path / "out" / "spikes.parquet"))
    assert back.spikes.num_rows == res.spikes.num_rows
    assert back.metadata["seed"] == 11
    trains = res.spike_times_us("exc")
    assert len(trains) == 40 and sum(map(len, trains)) == (df.population == "exc").sum()


def test_timed_write_switches_a_neuron_on_at_its_time():
    exp = {"runtime_us": 100, "chip": {"ideal": True},
           "populations": [{"name": "n", "size": 2, "params": {"i_const": 0}}],
           "writes": [{"kind": "neuron", "time_us": 40.0, "population": "n", "parameter": "i_const",
                       "value": 900, "indices": [1]}]}
    df = bss2emu.run(exp).to_pandas()
    assert (df["index"] == 1).all() and len(df) > 2
    assert df.time_us.min() > 40.0
    # the same current from t=0 fires its first spike exactly 40 µs earlier
    ref = bss2emu.run({"runtime_us": 100, "chip": {"ideal": True},
                       "populations": [{"name": "n", "size": 2, "params": {"i_const": [0, 900]}}]}).to_pandas()
    assert df.time_us.min() - ref.time_us.min() == pytest.approx(40.0, abs=0.01)


def test_weight_write_silences_a_projection():
    exp = {"runtime_us": 200, "chip": {"ideal": True},
           "populations": [{"name": "n", "size": 1, "params": {"i_const": 235}}],
           "sources": [{"kind": "spike_array", "name": "s", "size": 12,
                        "spike_times_us": [list(np.arange(5.0, 200.0, 5.0))] * 12}],
           "projections": [{"pre": "s", "post": "n", "weight": 63}],
           "writes": [{"kind": "weight", "time_us": 100.0, "projection": "s→n", "weight": 0}]}
    df = bss2emu.run(exp).to_pandas()
    assert (df.time_us < 100).sum() > 3
    assert (df.time_us > 110).sum() == 0


def count_and_depress(ctx):
    """A homeostatic rule: record the spike count, weaken the drive when it fires."""
    circ = ctx.placement["n"]
    n_spikes = int(ctx.spike_counts[circ].sum())
    ctx.record("spikes", n_spikes)
    h, r, c = ctx.synapses["s→n"]
    w = ctx.weights()[h, r, c]
    ctx.set_weights(h, r, c, np.clip(w - 8 * n_spikes, 0, 63).astype(int))


def bad_kernel(ctx):
    ctx.set_weights([0], [0], [0], [70])


PPU_EXP = {
    "runtime_us": 300, "chip": {"ideal": True},
    "populations": [{"name": "n", "size": 1, "params": {"i_const": 265}}],  # 22.5 nA
    "sources": [{"kind": "spike_array", "name": "s", "size": 8,
                 "spike_times_us": [list(np.arange(2.0, 300.0, 2.0))] * 8}],
    "projections": [{"pre": "s", "post": "n", "weight": 63}],
    "plasticity": [{"name": "homeostasis", "kernel": f"{__name__}:count_and_depress", "period_us": 50}],
}


def test_ppu_kernel_reads_observables_and_its_writes_take_effect():
    res = bss2emu.run(PPU_EXP)
    rec = res.to_pandas("ppu")
    assert list(rec.time_ticks) == [50 * 125 * k for k in range(1, 6)]
    assert rec.value.iloc[0] > 0  # it fired while the drive was strong
    assert rec.value.iloc[-1] == 0  # and the rule switched the drive off
    df = res.to_pandas()
    assert rec.value.sum() == (df.time_us < 250).sum()


def test_ppu_kernel_writing_out_of_range_names_kernel_value_and_limit():
    exp = {**PPU_EXP, "plasticity": [{"name": "bad", "kernel": f"{__name__}:bad_kernel", "period_us": 50}]}
    with pytest.raises(PlasticityError, match=r"plasticity rule 'bad' at 50.000 µs \(chip 0\) wrote weight 70: weights are integers 0..63"):
        bss2emu.run(exp)


def test_run_rejects_unknown_things():
    with pytest.raises(ConfigError, match="unknown option"):
        bss2emu.run(NET, placment="local")
    with pytest.raises(ConfigError, match="cannot run 'int'"):
        bss2emu.run(3)
    with pytest.raises(ConfigError, match="cannot read experiment file"):
        bss2emu.run("/nonexistent/exp.yaml")


def test_madc_trace_in_millivolts():
    res = bss2emu.run({"runtime_us": 5, "chip": {"ideal": True},
                       "populations": [{"name": "n", "size": 1, "params": {"v_leak": 900}}],
                       "recordings": {"madc": {"population": "n"}}})
    df = res.madc_mv()
    v_mv = float(voltage_map("v_leak").mv(900))  # 940 mV: the leak cell's map
    assert len(df) == 50 and df.v_mv.iloc[0] == pytest.approx(round(v_mv / 1200 * 1023) * 1200 / 1023)
    assert df.time_us.iloc[1] == pytest.approx(0.096)  # 0.1 µs steps, time-stamped in 8 ns ticks


def test_madc_records_a_synaptic_input_end_to_end_with_its_unit(tmp_path):
    """One input event at 5 µs into a current-based input (gain 85 x 1.77 pA, tau 300 µs / 60):
    the trace is the analytic exponential; a conductance-based inhibitory input reads in uS."""
    exp = {"runtime_us": 30, "chip": {"ideal": True},
           "populations": [{"name": "n", "size": 1, "params": {"i_bias_syn_exc_tau": 60, "coba_inh": 1}}],
           "sources": [{"kind": "spike_array", "name": "s", "size": 1, "spike_times_us": [[5.0]]}],
           "projections": [{"pre": "s", "post": "n", "weight": 40}],
           "recordings": {"madc": {"population": "n", "source": "exc_synin"}}}
    res = bss2emu.run(exp)
    assert res.metadata["madc"] == {"population": "n", "index": 0, "source": "exc_synin", "unit": "nA"}
    trace = res.madc_values()
    t_us = np.arange(300) * 0.1  # one sample per step; the event reaches the input at 5.1 µs
    assert trace.unit == "nA" and np.array_equal(trace.time_us, np.arange(300) * 100 // 8 / 125)
    gain_na = NEURON_PARAMETERS[NEURON_PARAMETER_INDEX["i_bias_syn_exc_gm"]].default * SYN_GAIN_NA_PER_LSB
    want = np.where(t_us > 5.05, 40 * gain_na * np.exp(-(t_us - 5.0) / 5.0), 0.0)
    np.testing.assert_allclose(trace.values, want, rtol=1e-12)
    with pytest.raises(ConfigError, match="the MADC recorded 'exc_synin', not the membrane"):
        res.madc_mv()
    res.write_parquet(tmp_path / "out")
    back = bss2emu.Results.read_parquet(tmp_path / "out")
    assert back.metadata["madc"] == res.metadata["madc"] and back.tables["madc"].equals(res.madc)
    inh = bss2emu.run({**exp, "recordings": {"madc": {"population": "n", "source": "inh_synin"}}})
    assert inh.madc_values().unit == "uS" and (inh.madc_values().values == 0).all()


def test_membrane_recordings_report_mv_in_both_accessors():
    res = bss2emu.run(NET)
    assert res.metadata["madc"]["source"] == "membrane"
    trace, df = res.madc_values(), res.madc_mv()
    assert trace.unit == "mV" and np.array_equal(trace.values, df.v_mv.to_numpy())
    assert np.array_equal(trace.time_us, df.time_us.to_numpy())


@pytest.mark.parametrize("name,cuts_us", [("chain", [17.33, 17.4, 40.0]), ("ppu", [49.95, 120.0, 251.0]),
                                          ("writes", [80.0, 80.2, 150.0])])
def test_a_run_in_segments_continues_where_the_last_ended_and_equals_one_run(name, cuts_us):
    """Coordinator.run(until_us=...) keeps the hosts' state between segments: the results
    after the last segment are those of one run, bit for bit (network events in flight,
    PPU timers, timed writes and readouts across the cuts), and each segment's results
    are those of the run so far."""
    from bss2emu.cluster.coordinator import Coordinator
    from bss2emu.protocol.system import named_system

    sys.path.insert(0, str(Path(__file__).parents[1] / "chip_actor"))
    from test_kernel_equivalence import equivalence_experiment
    from test_multichip import CHAIN

    exp, system = {"chain": (CHAIN, named_system("cube-4")), "ppu": (PPU_EXP, None),
                   "writes": (equivalence_experiment(runtime_us=160.0), None)}[name]
    exp = bss2emu.Experiment.model_validate(exp) if isinstance(exp, dict) else exp
    whole = Coordinator(exp, system).run()
    coord = Coordinator(exp, system)
    for t in cuts_us:
        part = coord.run(until_us=t)
        assert part.metadata["runtime_us"] == pytest.approx(t, abs=0.1)
        n = part.spikes.num_rows  # the spikes so far: those of the whole run before t (cuts on whole ticks)
        assert part.spikes.equals(whole.spikes.slice(0, n))
        assert n == whole.spikes.num_rows or whole.spikes["time_us"][n].as_py() >= t
    last = coord.run()
    for table in ("spikes", "madc", "cadc", "ppu", "links"):
        assert last.tables[table].equals(whole.tables[table]), table
    assert last.metadata["inter_chip_events"] == whole.metadata["inter_chip_events"]
    with pytest.raises(bss2emu.ConfigError, match="finished its run"):
        coord.run()


def test_results_of_a_continued_run_annotate_only_the_new_rows_and_equal_annotating_all():
    """``annotate_more``: the spike table of a record annotated from its first rows' table and
    the later rows' equals the whole record's, for every split — also where a later row
    sorts before earlier ones (the same tick, a lower chip or neuron: a window boundary
    inside an FPGA tick) and with rows of unrecorded populations and FPGA-bound events."""
    import pyarrow as pa

    from bss2emu.cluster.spike_table import annotate_more, annotated
    from bss2emu.protocol import schemas
    from bss2emu.routing.mapping import map_experiment

    exp = _continued(50.0)
    exp.populations[0].record_spikes = False
    exp = bss2emu.Experiment.model_validate(exp.model_dump())
    mapping = map_experiment(exp, "cube-4")
    circ = {p.name: mapping.partition.circuit[p.name].tolist() for p in exp.populations}
    chip = {p.name: int(mapping.partition.chip[p.name][0]) for p in exp.populations}
    # (tick, population, index) in record order: windows in turn, chips ascending in each
    rows = [(3, "b", 2), (3, "b", 0), (7, "a", 1), (9, "b", 1), (9, "b", 0), (9, "b", 2), (12, "b", 1),
            (12, "b", 0), (12, "a", 3), (15, "b", 2), (15, "b", 0)]
    record = pa.table({"time_ticks": [t for t, _, _ in rows] + [16], "chip": [chip[p] for _, p, _ in rows] + [1],
                       "neuron": [circ[p][i] for _, p, i in rows] + [-1],
                       "label": list(range(len(rows) + 1))}, schema=schemas.SPIKES)
    whole = annotated(record, exp, mapping)
    assert whole[0]["time_ticks"].to_pylist() == [3, 3, 9, 9, 9, 12, 12, 15, 15]
    merges = 0
    for split in range(record.num_rows + 1):
        first, rest = annotated(record.slice(0, split), exp, mapping), annotated(record.slice(split), exp, mapping)
        merges += len(first[1]) and len(rest[1]) and rest[1][0] < first[1][-1]
        got = annotate_more(first, rest)
        assert got[0].equals(whole[0]), split
        assert np.array_equal(got[1], whole[1]), split
    assert merges  # some split puts a later row before earlier ones


def _continued(runtime_us: float, extra: list | None = None, late_spike_us: float = 70.0) -> bss2emu.Experiment:
    """Two chips, a spike train, a neuron that fires, a timed write from ``extra``."""
    return bss2emu.Experiment.model_validate({
        "runtime_us": runtime_us, "chip": {"ideal": True},
        "populations": [{"name": "a", "size": 4, "chip": 0, "params": {"i_const": 700}},
                        {"name": "b", "size": 3, "chip": 1}],
        "sources": [{"kind": "spike_array", "name": "s", "size": 2,
                     "spike_times_us": [[10.0, 30.0, late_spike_us], [12.5, 95.0]]}],
        "projections": [{"pre": "s", "post": "b", "weight": 50}, {"pre": "a", "post": "b", "weight": 40}],
        "recordings": {"madc": {"population": "b"}},
        "writes": extra or []})


def test_continue_with_a_longer_experiment_resumes_and_equals_its_one_run():
    """A continued run (PyNN's run(); run()): the first experiment runs to 50 µs, then one of
    120 µs with the same past — and a write at 60 µs, a change made between the runs —
    continues from the state reached, and ends where one run of it ends, bit for bit."""
    from bss2emu.cluster.coordinator import Coordinator

    later = _continued(120.0, [{"kind": "neuron", "time_us": 60.0, "population": "a", "parameter": "i_const",
                               "value": 0}])
    coord = Coordinator(_continued(50.0), "cube-4")
    first = coord.run(keep=True)
    assert coord.continue_with(later)
    res = coord.run()
    whole = bss2emu.run(later, system="cube-4")
    for table in ("spikes", "madc", "links"):
        assert res.tables[table].equals(whole.tables[table]), table
    assert first.spikes.equals(whole.spikes.slice(0, first.spikes.num_rows))
    assert res.metadata["inter_chip_events"] == whole.metadata["inter_chip_events"] > 0


def test_continue_with_plays_the_changed_future_of_the_input_from_the_tick_where_the_run_stands():
    """After 50 µs the input's future changes (a spike moved from 70 to 80 µs, one added at
    exactly 50 µs: the first tick the chips have not played): the continued run equals one run
    of the changed experiment. The chips get only the input from that tick on."""
    from bss2emu.cluster.coordinator import Coordinator

    later = _continued(120.0, late_spike_us=80.0)
    later.sources[0].spike_times_us[1] = [12.5, 50.0, 95.0]
    coord = Coordinator(_continued(50.0), "cube-4")
    coord.run(keep=True)
    assert coord.continue_with(later)
    assert min(int(s.program.spike_ticks.min()) for s in coord._setups if len(s.program.spike_ticks)) == 6250
    res = coord.run()
    whole = bss2emu.run(later, system="cube-4")
    for table in ("spikes", "madc", "links"):
        assert res.tables[table].equals(whole.tables[table]), table


def test_continue_with_a_poisson_source_keeps_its_past_only_with_the_same_runtime():
    """A Poisson source's trains are drawn for the runtime: a longer one has another past, and
    the run starts anew; the same runtime with a later write goes on and equals one run."""
    from bss2emu.cluster.coordinator import Coordinator

    def exp(runtime_us, writes=()):
        return bss2emu.Experiment.model_validate({**NET, "runtime_us": runtime_us, "writes": list(writes)})

    coord = Coordinator(exp(300), "cube-4")
    coord.run(until_us=100, keep=True)
    assert not coord.continue_with(exp(400))
    write = {"kind": "neuron", "time_us": 150.0, "population": "exc", "parameter": "i_const", "value": 0}
    assert coord.continue_with(exp(300, [write]))
    res = coord.run()
    whole = bss2emu.run(exp(300, [write]), system="cube-4")
    assert res.spikes.equals(whole.spikes)


def test_continue_with_refuses_an_experiment_whose_past_differs():
    from bss2emu.cluster.coordinator import Coordinator

    coord = Coordinator(_continued(50.0), "cube-4")
    coord.run(keep=True)
    assert not coord.continue_with(_continued(120.0, late_spike_us=40.0))  # a spike before now moved
    early = [{"kind": "neuron", "time_us": 20.0, "population": "a", "parameter": "i_const", "value": 0}]
    assert not coord.continue_with(_continued(120.0, early))  # a write before now
    assert coord.continue_with(_continued(120.0))  # nothing before now changed
    assert coord.run().metadata["runtime_us"] == 120.0
