"""A playback program's spikes in the order (time, label) — by one int64 key where labels fit
16 bits, by lexsort otherwise: both must give lexsort's order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.errors import ConfigError
from bss2emu.protocol.playback import PlaybackProgram


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2**46 - 1), st.integers(0, 2**17)), max_size=60),
       st.sampled_from([10, 2**16, 2**18]))
def test_spikes_sorted_by_time_then_label(events, label_cap):
    t = np.array([e[0] % (label_cap * 7 + 3) for e in events], np.int64)  # many equal times
    lab = np.array([e[1] % label_cap for e in events], np.int64)
    prog = PlaybackProgram(t, lab)
    order = np.lexsort((lab, t))
    assert prog.spike_ticks.tolist() == t[order].tolist()
    assert prog.spike_labels.tolist() == lab[order].tolist()
    assert prog.spike_ticks.dtype == prog.spike_labels.dtype == np.int64


def test_late_times_take_the_lexsort_path():
    t = np.array([2**50, 3, 2**50, 3], np.int64)
    lab = np.array([7, 9, 1, 2], np.int64)
    prog = PlaybackProgram(t, lab)
    assert prog.spike_ticks.tolist() == [3, 3, 2**50, 2**50]
    assert prog.spike_labels.tolist() == [2, 9, 1, 7]


def test_negative_time_is_refused():
    with pytest.raises(ConfigError, match="negative"):
        PlaybackProgram(np.array([5, -1]), np.array([0, 0]))
