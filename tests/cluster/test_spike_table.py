"""The results' spike table (``cluster.spike_table``) against its numpy twin: the rows of
recorded populations, stably ordered by (time, chip, neuron), annotated."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import bss2emu
from bss2emu.cluster import spike_table as S
from bss2emu.errors import ConfigError
from bss2emu.protocol import coordinates as C
from bss2emu.protocol import schemas
from bss2emu.routing.mapping import map_experiment
from bss2emu.units import ticks_to_us


def annotated_numpy(spikes: pa.Table, exp, mapping) -> tuple[pa.Table, np.ndarray | None]:
    """The twin: Arrow's filter and take over a numpy stable sort of the key."""
    n_chips = len(mapping.system.chips)
    pop_of = np.full(n_chips * C.NEURONS_PER_CHIP, -1, np.int64)
    idx_of = np.full(n_chips * C.NEURONS_PER_CHIP, -1, np.int64)
    names = []
    for pop in exp.populations:
        if pop.record_spikes:
            at = mapping.partition.chip[pop.name] * C.NEURONS_PER_CHIP + mapping.partition.circuit[pop.name]
            pop_of[at], idx_of[at] = len(names), np.arange(pop.size)
            names.append(pop.name)
    neuron = spikes["neuron"].to_numpy()
    at = spikes["chip"].to_numpy().astype(np.int64) * C.NEURONS_PER_CHIP + neuron
    code = np.where(neuron >= 0, pop_of[at], -1)
    keep = code >= 0
    t, at, code = spikes.filter(pa.array(keep)), at[keep], code[keep]
    ticks = t["time_ticks"].to_numpy()
    per_tick = n_chips * C.NEURONS_PER_CHIP
    key = None
    if len(ticks) and ticks.max() < np.iinfo(np.int64).max // per_tick - 1:
        key = ticks * per_tick + at
        order = np.argsort(key, kind="stable")
        key = key[order]
    else:
        order = np.lexsort((at, ticks))
    t, at, code, ticks = t.take(pa.array(order)), at[order], code[order], ticks[order]
    pops = pa.DictionaryArray.from_arrays(pa.array(code, pa.int32()), pa.array(names, pa.string()))
    t = t.append_column("population", pops).append_column("index", pa.array(idx_of[at], pa.int32()))
    return t.append_column("time_us", pa.array(ticks_to_us(ticks))), (key if len(ticks) else np.zeros(0, np.int64))


@pytest.fixture(scope="module")
def two_chips():
    exp = bss2emu.Experiment.model_validate({
        "runtime_us": 20, "chip": {"ideal": True},
        "populations": [{"name": "a", "size": 40, "chip": 0}, {"name": "b", "size": 30, "chip": 1},
                        {"name": "quiet", "size": 10, "chip": 1, "record_spikes": False}]})
    mapping = map_experiment(exp, "cube-4")
    circuits = {p.name: (int(mapping.partition.chip[p.name][0]), mapping.partition.circuit[p.name])
                for p in exp.populations}
    return exp, mapping, circuits


def record(circuits: dict, rng, rows: int, window_ticks: int, max_tick: int | None = None) -> pa.Table:
    """A host's record: windows in turn, chips ascending in each, each chip's spikes in
    time order; some FPGA-bound events (neuron -1) and unrecorded neurons among them."""
    t, chip, neuron = [], [], []
    start = 0
    while len(t) < rows:
        for name in ("a", "b", "quiet"):
            c, circ = circuits[name]
            k = int(rng.integers(0, 6))
            times = np.sort(rng.integers(start, start + window_ticks, k))
            t += times.tolist()
            chip += [c] * k
            neuron += [int(circ[i]) if rng.random() > 0.05 else -1 for i in rng.integers(0, len(circ), k)]
        start += window_ticks - int(rng.integers(0, 2))  # (a window may end inside a tick)
    t = np.asarray(t[:rows], np.int64) if max_tick is None else rng.integers(0, max_tick, rows)
    return pa.table({"time_ticks": t, "chip": np.asarray(chip[:rows], np.int32),
                     "neuron": np.asarray(neuron[:rows], np.int32), "label": np.arange(rows, dtype=np.int32)},
                    schema=schemas.SPIKES)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", ["windows", "shuffled", "huge ticks", "empty"])
def test_the_spike_table_is_its_numpy_twins(two_chips, seed, shape):
    exp, mapping, circuits = two_chips
    rng = np.random.default_rng(seed)
    rows = {"empty": 0}.get(shape, 3000)
    rec = record(circuits, rng, rows, 7, max_tick=np.iinfo(np.int64).max // 2 if shape == "huge ticks" else None)
    if shape == "shuffled":  # far from sorted: numpy's sort takes over
        rec = rec.take(pa.array(rng.permutation(rows)))
    got, want = S.annotated(rec, exp, mapping), annotated_numpy(rec, exp, mapping)
    assert got[0].equals(want[0], check_metadata=True) and got[0].schema.equals(want[0].schema, check_metadata=True)
    assert (got[1] is None) == (want[1] is None) == (shape == "huge ticks")
    assert got[1] is None or np.array_equal(got[1], want[1])
    assert shape == "empty" or len(set(got[0]["population"].to_pylist())) == 2  # (quiet: not recorded)


@pytest.mark.parametrize("case", ["nearly sorted", "ties", "reversed", "one", "none"])
def test_sort_by_key_is_a_stable_argsort(case):
    rng = np.random.default_rng(3)
    key = {"nearly sorted": np.arange(5000) + rng.integers(0, 40, 5000), "ties": rng.integers(0, 5, 5000),
           "reversed": np.arange(5000)[::-1].copy(), "one": np.array([4]), "none": np.zeros(0, np.int64)}[case]
    key = key.astype(np.int64)
    order = np.argsort(key, kind="stable")
    got_key, got_rows = S.sort_by_key(key.copy(), np.arange(len(key)))
    assert np.array_equal(got_rows, order) and np.array_equal(got_key, key[order])
    # where insertion gives up half-way (moves beyond the budget), numpy's sort finishes stably
    partial = key.copy()
    rows = np.arange(len(key))
    done = S._sort_by_key(partial, rows, 10)
    assert done == (case in ("one", "none"))
    assert np.array_equal(rows[np.argsort(partial, kind="stable")], order)


@pytest.mark.parametrize("chip, neuron", [(4, 0), (1, 512), (-1, 3)])
def test_a_record_outside_the_system_is_refused(two_chips, chip, neuron):
    """Records annotated with another run's mapping (here: cube-4's 4 chips) name a circuit the
    mapping has no owner for: an error naming the record, not owners read past the end."""
    exp, mapping, circuits = two_chips
    rec = record(circuits, np.random.default_rng(0), 40, 20)
    rows = rec.to_pydict()
    rows["chip"][7], rows["neuron"][7] = chip, neuron
    with pytest.raises(ConfigError, match=rf"spike record 7 \(chip {chip}, neuron {neuron}\) names no circuit of "
                                          r"system 'cube-4': chips 0\.\.3, neurons 0\.\.511"):
        S.annotated(pa.table(rows, schema=schemas.SPIKES), exp, mapping)
    rows["neuron"][7] = -1  # (an FPGA-bound event names no circuit: kept out, not refused)
    S.annotated(pa.table(rows, schema=schemas.SPIKES), exp, mapping)


def test_other_columns_come_along_in_order(two_chips):
    """A batch's record has an ``entry`` column: it is ordered with the others."""
    exp, mapping, circuits = two_chips
    rec = record(circuits, np.random.default_rng(9), 2000, 5)
    rec = rec.append_column("entry", pa.array(np.arange(rec.num_rows) % 3, pa.int64()))
    got, want = S.annotated(rec, exp, mapping), annotated_numpy(rec, exp, mapping)
    assert got[0].column_names[:5] == ["time_ticks", "chip", "neuron", "label", "entry"]
    assert got[0].equals(want[0], check_metadata=True) and np.array_equal(got[1], want[1])
