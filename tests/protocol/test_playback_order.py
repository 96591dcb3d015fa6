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


def test_frozen_sorted_spikes_are_shared_the_rest_sorted_into_new_arrays():
    t, lab = np.array([3, 3, 9]), np.array([1, 4, 0])
    for a in (t, lab):
        a.flags.writeable = False
    prog = PlaybackProgram(t, lab)
    assert prog.spike_ticks is t and prog.spike_labels is lab  # (kept input: read-only, sorted)
    unsorted = np.array([9, 3, 3])
    unsorted.flags.writeable = False
    prog = PlaybackProgram(unsorted, lab)
    assert prog.spike_ticks.tolist() == [3, 3, 9] and prog.spike_labels.tolist() == [0, 4, 1]
    writable_t, writable_lab = np.array([3, 3, 9]), np.array([1, 4, 0])
    prog = PlaybackProgram(writable_t, writable_lab)
    writable_t[0] = 7  # the caller's arrays stay the caller's
    assert prog.spike_ticks.tolist() == [3, 3, 9]
    view = t[:]  # read-only, but a view: another array may own and write its data
    assert PlaybackProgram(view, lab).spike_ticks is not view


def test_frozen_spikes_are_judged_once_and_refused_or_sorted_every_time():
    """Frozen input is found sorted once (``_IN_ORDER``), shared on every later program;
    frozen input that is not a program's as it keeps them — a negative time, a late time,
    a label over 16 bit, out of order — is refused or sorted every time."""
    def frozen(*values):
        a = np.array(values, np.int64)
        a.flags.writeable = False
        return a

    t, lab = frozen(1, 2, 2), frozen(5, 0, 3)
    assert all(PlaybackProgram(t, lab).spike_ticks is t for _ in range(2))
    for _ in range(2):
        with pytest.raises(ConfigError, match="negative"):
            PlaybackProgram(frozen(-1, 2), frozen(0, 0))
        late = PlaybackProgram(frozen(2**50, 3), frozen(0, 9))
        assert late.spike_ticks.tolist() == [3, 2**50] and late.spike_labels.tolist() == [9, 0]
        wide = PlaybackProgram(frozen(3, 3), frozen(1 << 16, 2))
        assert wide.spike_labels.tolist() == [2, 1 << 16]
        assert PlaybackProgram(frozen(4, 3), frozen(0, 0)).spike_ticks.tolist() == [3, 4]
    empty = PlaybackProgram(frozen(), frozen())
    assert len(empty.spike_ticks) == 0 and empty.spike_ticks.dtype == np.int64
