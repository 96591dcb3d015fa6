"""The chips' playback input (``routing.stimulus``): a source's trains read in one pass equal
the trains read unit by unit."""

from __future__ import annotations

import numpy as np

import bss2emu
from bss2emu.routing.stimulus import _source_ticks, _source_ticks_of, source_trains_us
from bss2emu.units import TICKS_PER_US


def test_spike_array_trains_read_in_one_pass_are_each_units_sorted_times_within_the_runtime():
    """Unsorted units (a unit may also start below the last time of the one before it), empty
    units, repeated times and times at or after the runtime."""
    lists = [[5.0, 1.0, 3.0], [], [2.0, 70.0, 10.0, 60.0], [0.5, 0.5, 4.0], [59.99, 0.0], [7.0]]
    exp = bss2emu.Experiment(runtime_us=60, chip={"ideal": True}, populations=[{"name": "p", "size": 1}],
                             sources=[{"kind": "spike_array", "name": "s", "size": len(lists), "spike_times_us": lists}],
                             projections=[{"pre": "s", "post": "p", "weight": 1}])
    got = _source_ticks_of(exp, exp.sources[0])
    want = [np.rint(np.array(sorted(t for t in u if t < 60.0)) * TICKS_PER_US).astype(np.int64) for u in lists]
    assert got.start.tolist() == np.cumsum([0] + [len(w) for w in want]).tolist()
    for u, w in enumerate(want):
        assert got.ticks[got.start[u]:got.start[u + 1]].tolist() == w.tolist(), u
    unit_by_unit = _source_ticks(source_trains_us(exp, exp.sources[0]))
    assert np.array_equal(got.ticks, unit_by_unit.ticks) and np.array_equal(got.start, unit_by_unit.start)


def test_trains_have_the_same_past_only_unit_by_unit():
    """``same_trains_before``: the events before the tick, per unit — an event moved to another
    unit is another past even where the concatenated trains read the same; events from the
    tick on do not count."""
    from bss2emu.routing.stimulus import _SourceTicks, same_trains_before

    a = _SourceTicks(np.array([1, 3, 4, 9]), np.array([0, 2, 4]))
    assert same_trains_before(a, _SourceTicks(np.array([1, 3, 4, 5, 7]), np.array([0, 2, 5])), 5)
    assert not same_trains_before(a, _SourceTicks(np.array([1, 3, 4, 9]), np.array([0, 1, 4])), 5)  # 3 moved
    assert not same_trains_before(a, _SourceTicks(np.array([1, 2, 4, 9]), np.array([0, 2, 4])), 5)
    assert not same_trains_before(a, _SourceTicks(np.array([1, 3, 4]), np.array([0, 2, 3, 3])), 5)  # a unit more
    assert same_trains_before(a, _SourceTicks(np.array([1, 3]), np.array([0, 2, 2])), 4)
