"""``interconnect.total_order`` (the network's event order per window) is numpy's stable
lexicographic sort on (send time, secondary key), for windows sorted by insertion (small)
and by the two stable argsorts (large) alike — ties included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.routing.interconnect import _INSERTION_MAX, total_order

# few distinct values, so equal send times and equal keys (and both) are common
_EVENTS = st.lists(st.tuples(st.integers(0, 5), st.integers(-3, 3)), max_size=3 * _INSERTION_MAX)


@settings(max_examples=300, deadline=None)
@given(_EVENTS)
def test_total_order_is_the_stable_lexsort(events):
    t = np.array([e[0] for e in events], np.int64)
    key = np.array([e[1] << 40 for e in events], np.int64)
    assert total_order(t, key).tolist() == np.lexsort((key, t)).tolist()


def test_both_branches_are_exercised():
    rng = np.random.default_rng(3)
    for n in (0, 1, _INSERTION_MAX, _INSERTION_MAX + 1, 500):
        t, key = rng.integers(0, 4, n), rng.integers(0, 4, n)
        assert total_order(t, key).tolist() == np.lexsort((key, t)).tolist()
