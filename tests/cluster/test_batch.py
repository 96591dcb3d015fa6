"""``cluster.batch.BatchRunner``: a batch run as rows of one compiled call gives every entry
the spikes, CADC and MADC samples of its own ``run_each`` run, bit for bit — sources
replaced per entry and sources played in every entry, STP, MADC, correlation sensors on,
weights changed between batches."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.cluster.batch import BatchRunner, batch_supported
from bss2emu.errors import ConfigError

BASE = {
    "runtime_us": 60, "seed": 3, "chip": {"serial": 4},
    "populations": [{"name": "a", "size": 30, "params": {"i_const": 235}},
                    {"name": "b", "size": 5, "params": {"i_const": 235}}],
    "sources": [{"kind": "spike_array", "name": "x", "size": 6, "spike_times_us": [[]] * 6},
                {"kind": "spike_array", "name": "fixed", "size": 2, "spike_times_us": [[3.0, 9.5], [20.0]]},
                {"kind": "poisson", "name": "noise", "size": 4, "rate_khz": 60}],
    "projections": [
        {"pre": "x", "post": "a", "weight": 40, "connector": {"kind": "fixed_probability", "p": 0.6}},
        {"pre": "fixed", "post": "a", "weight": 20},
        {"pre": "noise", "post": "a", "weight": 10, "receptor": "inhibitory"},
        {"name": "ab", "pre": "a", "post": "b", "weight": 30,
         "stp": {"mode": "depression", "utilisation": 8, "recovery": 6}}],
    "recordings": {"madc": {"population": "b", "index": 2}, "cadc": {"period_us": 2}},
}


def entries(n: int, seed: int = 0) -> tuple[list[dict], dict]:
    """``n`` experiments whose source ``x`` plays random trains, and the same as a stimulus."""
    rng = np.random.default_rng(seed)
    exps, e, u, t = [], [], [], []
    for k in range(n):
        trains = [sorted(np.round(rng.uniform(0, 62, rng.integers(0, 8)), 1).tolist()) for _ in range(6)]
        exps.append({**BASE, "sources": [{**BASE["sources"][0], "spike_times_us": trains}, *BASE["sources"][1:]]})
        for i, tr in enumerate(trains):
            e += [k] * len(tr)
            u += [i] * len(tr)
            t += tr
    return exps, {"x": (np.array(e), np.array(u), np.array(t, float))}


def assert_entries_equal(out, separate):
    spikes = out.spikes.to_pandas()
    for k, res in enumerate(separate):
        mine = spikes[spikes.entry == k].drop(columns="entry").sort_values(["time_ticks", "chip", "neuron"])
        theirs = res.spikes.to_pandas()
        assert mine.reset_index(drop=True).astype(str).equals(theirs.reset_index(drop=True).astype(str)), k
        cadc = res.cadc.to_pandas()
        assert np.array_equal(out.cadc[0][k].ravel(), cadc.value.to_numpy())
        assert np.array_equal(np.repeat(out.cadc_ticks, 512), cadc.time_ticks.to_numpy())
        madc = res.madc.to_pandas()
        assert np.array_equal(out.madc_ticks[k], madc.time_ticks.to_numpy())
        assert np.array_equal(out.madc_value[k], madc.value.to_numpy())
        assert np.array_equal(out.madc_physical[k], madc.physical.to_numpy())


@pytest.mark.parametrize("correlation", [False, True])
def test_a_batch_gives_each_entry_its_separate_run_bit_for_bit(correlation):
    base = {**BASE, "recordings": {**BASE["recordings"], "correlation": correlation}}
    exps, stim = entries(7, seed=int(correlation))
    exps = [{**e, "recordings": base["recordings"]} for e in exps]
    runner = BatchRunner(bss2emu.Experiment.model_validate(base))
    out = runner.run(stim, 7)
    separate = bss2emu.run_each(exps)
    assert_entries_equal(out, separate)
    counts = [r.spikes.num_rows for r in separate]
    assert len(set(counts)) > 1 and min(counts) > 0  # the entries differ and fire
    assert set(out.spikes.column("population").to_pylist()) == {"a", "b"}


def test_weights_set_between_batches_act_as_a_fresh_configuration():
    exps, stim = entries(3, seed=5)
    runner = BatchRunner(bss2emu.Experiment.model_validate(BASE))
    runner.run(stim, 3)
    n = len(runner.mapping.synapse["ab"][0])
    w = np.random.default_rng(1).integers(0, 64, n)
    runner.set_weights("ab", w)
    conns = np.stack([*runner.mapping.conns["ab"][:2], w], axis=1).tolist()
    ab = {"name": "ab", "pre": "a", "post": "b", "weight": 30, "connector": {"kind": "from_list", "connections": conns},
          "stp": BASE["projections"][3]["stp"]}
    # the same topology as an explicit list (the mapping is cached by topology)
    exps = [{**e, "projections": [*BASE["projections"][:3], ab]} for e in exps]
    assert_entries_equal(runner.run(stim, 3), bss2emu.run_each(exps))


def test_networks_that_exchange_spikes_between_chips_are_not_batched():
    assert batch_supported(bss2emu.Experiment.model_validate(BASE))
    big = {**BASE, "populations": [BASE["populations"][0], {"name": "b", "size": 600}]}
    exp = bss2emu.Experiment.model_validate(big)
    assert not batch_supported(exp, "cube-4")
    with pytest.raises(ConfigError, match="inter-chip routes.*run_each"):
        BatchRunner(exp, "cube-4")
    with pytest.raises(ConfigError, match=r"max_window_steps=0 must be >= 1"):
        BatchRunner(bss2emu.Experiment.model_validate(BASE), max_window_steps=0)
    with pytest.raises(ConfigError, match="source 'fixed'.*without spikes of its own"):
        BatchRunner(bss2emu.Experiment.model_validate(BASE)).run({"fixed": (np.zeros(0),) * 3}, 2)
    runner = BatchRunner(bss2emu.Experiment.model_validate(BASE))
    with pytest.raises(ConfigError, match=r"source 'x': unit 6 is outside 0..5"):
        runner.run({"x": (np.array([0]), np.array([6]), np.array([1.0]))}, 1)
    with pytest.raises(ConfigError, match=r"source 'x': spike time -1.0 µs is negative"):
        runner.run({"x": (np.array([0]), np.array([1]), np.array([-1.0]))}, 1)
    with pytest.raises(ConfigError, match=r"stimulus entry 3 is outside the batch of 2"):
        runner.run({"x": (np.array([3]), np.array([1]), np.array([1.0]))}, 2)
