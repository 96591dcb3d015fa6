"""The PPU's Python views: correlation codes, weight writes that keep only what changes
something, rates since the kernel's last run."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor.chip import Chip
from bss2emu.chip_actor.ppu import ChipLayout, ChipSnapshot, PpuContext, PpuKernel, flat_index
from bss2emu.protocol.hardware import ChipConfig

SHAPE = (2, 256, 256)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.floats(-10, 300, allow_nan=False), st.integers(-2, 260).map(lambda k: k + 0.5)),
                min_size=1, max_size=40), st.sampled_from([1.0, 0.5, 2.0]))
def test_correlation_codes_round_like_the_cadc_rint_ties_to_even(values, lsb):
    causal = np.zeros(SHAPE)
    flat = np.arange(len(values), dtype=np.int64) * 7
    causal.reshape(-1)[flat] = values
    snap = ChipSnapshot(np.zeros(512, np.int64), None, causal, causal * 0.5, np.zeros(SHAPE, np.int64), lsb)
    codes_c, codes_a = snap.correlation_codes(flat)
    whole_c, whole_a = snap.correlation_codes()  # the numpy twin
    assert np.array_equal(codes_c, whole_c.reshape(-1)[flat]) and np.array_equal(codes_a, whole_a.reshape(-1)[flat])
    out_c, out_a = np.empty(SHAPE, np.uint8), np.empty(SHAPE, np.uint8)
    ctx = PpuContext(PpuKernel("k", print, 1, 0), snap, 0, np.zeros(512, np.int64), ChipLayout())
    ctx.correlation_codes_into(out_c, out_a)
    assert np.array_equal(out_c, whole_c) and np.array_equal(out_a, whole_a)


def _ctx(snap, counts=None, time_ns=1000, since_ns=None):
    return PpuContext(PpuKernel("k", print, 1, 0), snap, time_ns, np.zeros(512, np.int64) if counts is None else counts,
                      ChipLayout(), since_ns=since_ns)


def test_weight_writes_keep_what_changes_and_every_write_after_an_earlier_one():
    chip = Chip(ChipConfig(), ideal=True)
    chip.set_weights(0, 0, np.arange(4), [3, 3, 3, 3])
    snap = ChipSnapshot.live(chip)
    h, r, c = np.zeros(4, np.int64), np.zeros(4, np.int64), np.arange(4)
    first = _ctx(snap)
    first.set_weights(h, r, c, np.array([3, 5, 3, 3]))  # only synapse 1 changes
    assert [w.column.tolist() for w in first.writes] == [[1]]
    second = _ctx(snap)  # a second kernel of the same instant (the chip has not changed yet)
    second.set_weights(h, r, c, np.array([3, 3, 3, 4]))  # 1 back to 3: kept, as 1 was written; 3 changes
    assert [w.column.tolist() for w in second.writes] == [[1, 3]]
    chip.apply_writes(first.writes + second.writes)
    assert chip.config.synapses.weights[0, 0, :4].tolist() == [3, 3, 3, 4]  # as if every value were written
    third = _ctx(ChipSnapshot.live(chip))
    third.set_weights(h, r, c, np.array([3, 3, 3, 4]))
    assert third.writes == []  # nothing to do
    assert np.array_equal(flat_index(h, r, c), c)


def test_rates_are_counts_over_the_time_since_the_last_run():
    snap = ChipSnapshot(np.zeros(512, np.int64), None, np.zeros(SHAPE), np.zeros(SHAPE), np.zeros(SHAPE, np.int64))
    counts = np.arange(512)
    ctx = _ctx(snap, counts, time_ns=30_000, since_ns=20_000)  # 10 µs
    assert np.array_equal(ctx.spike_rates_hz, counts * 1e5)
    assert np.array_equal(_ctx(snap, counts, time_ns=40_000).spike_rates_hz, counts * 25_000.0)  # since 0
    assert np.array_equal(_ctx(snap, counts, time_ns=0).spike_rates_hz, np.zeros(512))


def test_the_ppu_gives_each_kernel_the_time_since_its_own_last_run_also_after_a_restore():
    from bss2emu.chip_actor.ppu import Ppu

    def probe(ctx):
        ctx.record("elapsed_ns", ctx.elapsed_ns)

    chip = Chip(ChipConfig(), ideal=True)
    ppu = Ppu([PpuKernel("a", probe, period_ns=20_000, start_ns=10_000), PpuKernel("b", probe, 30_000, 30_000)])

    def run(t_ns):
        ppu.run_due(t_ns, ChipSnapshot.live(chip), ChipLayout())

    run(10_000)
    state = ppu.get_state()
    for t in (30_000, 50_000):
        run(t)
    ppu.set_state(state)
    run(30_000)
    seen = [(name, t, value) for t, _, name, _, value in ppu.records]
    # a: 10 µs since the start, then 20 µs since its last run (restored: the run at 30 µs once);
    # b: its first run, 30 µs since the start
    assert seen == [("a", 1250, 10_000.0), ("a", 3750, 20_000.0), ("b", 3750, 30_000.0)]


def test_a_live_snapshot_of_a_chip_without_sensors_fills_them_only_when_they_are_read():
    """A chip fills its sensors (and pre times) when first asked for them; a kernel that
    does not read them, run on every window, must not make it (``ChipSnapshot.live``). Read
    from outside the kernel's views, they read 0."""
    chip = Chip(ChipConfig(), ideal=True)  # (the sensors off: no rule reads them)
    snap = ChipSnapshot.live(chip)
    ctx = PpuContext(PpuKernel("k", print, 1, 0), snap, 0, np.zeros(512, np.int64), ChipLayout())
    ctx.weights()
    assert not chip._sensors_filled
    causal, acausal = snap.correlation_codes(flat_index([1], [2], [3]))
    assert chip._sensors_filled and causal.tolist() == acausal.tolist() == [0]
