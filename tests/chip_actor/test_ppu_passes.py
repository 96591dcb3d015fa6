"""``SynapseView.update_weights_by_correlation`` (one compiled sweep) writes what the
documented calls write — ``correlation(reset)``, ``weights()``, ``set_weights(clip(w +
dw[c, a], 0, 63))`` — bit for bit: the same weight writes, the same sensors after the reset,
the same reset writes from a copied snapshot, and the same "written before" bookkeeping for a
second kernel of the same instant."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.chip_actor.chip import Chip
from bss2emu.chip_actor.ppu import ChipLayout, ChipSnapshot, PpuContext, PpuKernel, SynapseView
from bss2emu.errors import PlasticityError
from bss2emu.protocol.hardware import ChipConfig

SHAPE = (2, 256, 256)
CODES = np.arange(256)


def _chip(seed: int, config: ChipConfig | None = None) -> Chip:
    rng = np.random.default_rng(seed)
    config = config or ChipConfig()
    config.readout.enable_correlation = True
    chip = Chip(config, ideal=True)
    chip.set_weights(*np.indices(SHAPE).reshape(3, -1), rng.integers(0, 64, chip.config.synapses.weights.size))
    lsb = chip.config.readout.corr_lsb
    # most read 0 (up to half an LSB), as in a run; the rest on and between the codes' rounding
    # edges (ties to even), below 0 and above 255 codes
    for sensor in (chip.causal, chip.acausal):
        sensor[...] = np.where(rng.random(SHAPE) < 0.6, rng.uniform(0, 0.6, SHAPE),
                               np.where(rng.random(SHAPE) < 0.5, rng.uniform(-1, 300, SHAPE),
                                        rng.integers(-2, 260, SHAPE) + 0.5)) * lsb
    return chip


def _view(ctx, flat):
    h, r, c = np.unravel_index(flat, SHAPE)
    return SynapseView(ctx, "v", h, r, c, np.arange(len(flat)))


def _ctx(snap):
    return PpuContext(PpuKernel("k", print, 1, 0), snap, 5000, np.zeros(512, np.int64), ChipLayout())


def _by_calls(view, dw, reset):
    causal, acausal = view.correlation(reset=reset)
    view.set_weights(np.clip(view.weights() + dw[causal, acausal], 0, 63))


TABLES = {
    "pair STDP, rounded": (np.subtract.outer(CODES, CODES) + 8) // 16,
    "asymmetric, int8": np.rint(0.3 * CODES[:, None] - 0.1 * CODES[None, :]).astype(np.int8),
    "large, beyond the range": np.full((256, 256), 100) * np.sign(np.subtract.outer(CODES, CODES) - 3),
}


@pytest.mark.parametrize("live", [True, False], ids=["live", "copied"])
@pytest.mark.parametrize("reset", [True, False])
@pytest.mark.parametrize("table", list(TABLES), ids=list(TABLES))
def test_one_sweep_writes_what_the_documented_calls_write(table, reset, live):
    dw = TABLES[table]
    rng = np.random.default_rng(3)
    flat = np.sort(rng.choice(np.prod(SHAPE), 20_000, replace=False))
    out = []
    for fused in (False, True):
        chip = _chip(7)
        snap = (ChipSnapshot.live if live else ChipSnapshot.of)(chip)
        ctxs = [_ctx(snap), _ctx(snap)]  # two kernels of one instant: the second sees the first's writes as written
        for ctx, sub in zip(ctxs, (flat, flat[::3])):
            view = _view(ctx, sub)
            view.update_weights_by_correlation(dw, reset) if fused else _by_calls(view, dw, reset)
        writes = [w for ctx in ctxs for w in ctx.writes]
        chip.apply_writes(writes)
        out.append((writes, chip.config.synapses.weights.copy(), chip.causal.copy(), chip.acausal.copy()))
    (w_calls, weights_calls, *sensors_calls), (w_fused, weights_fused, *sensors_fused) = out
    assert [type(w) for w in w_calls] == [type(w) for w in w_fused]
    for a, b in zip(w_calls, w_fused):
        for name in ("time_ticks", "hemisphere", "row", "column", "values"):
            if hasattr(a, name):
                assert np.array_equal(np.broadcast_to(getattr(a, name), np.shape(a.hemisphere)),
                                      np.broadcast_to(getattr(b, name), np.shape(b.hemisphere))), name
    assert np.array_equal(weights_calls, weights_fused)
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(sensors_calls, sensors_fused))
    assert (weights_calls != _chip(7).config.synapses.weights).any()  # (the rule did change weights)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(-70, 70), st.integers(1, 40))
def test_any_table_and_view_give_the_same_weights(seed, offset, divisor):
    rng = np.random.default_rng(seed)
    dw = (np.subtract.outer(CODES, CODES) + offset) // divisor
    flat = np.unique(rng.integers(0, np.prod(SHAPE), rng.integers(0, 3000)))
    weights = []
    for fused in (False, True):
        chip = _chip(seed)
        ctx = _ctx(ChipSnapshot.live(chip))
        view = _view(ctx, flat)
        view.update_weights_by_correlation(dw) if fused else _by_calls(view, dw, True)
        chip.apply_writes(ctx.writes)
        weights.append(chip.config.synapses.weights.copy())
    assert np.array_equal(*weights)


@pytest.mark.parametrize("dw", [np.zeros((256, 255), int), np.zeros((256, 256)), np.zeros(256 * 256, int)],
                         ids=["shape", "float", "flat"])
def test_a_table_of_another_shape_or_type_is_an_error_naming_the_fix(dw):
    ctx = _ctx(ChipSnapshot.live(_chip(0)))
    with pytest.raises(PlasticityError, match=r"'k'.*\(256, 256\).*dw\[c, a\]"):
        _view(ctx, np.arange(10)).update_weights_by_correlation(dw)


def _sweep_args(chip):
    ptr, entry, n_weighted, position = chip.synapse_table
    chip.config.synapses.weights.flags.writeable = True  # (the host's compiled rule writes them by address)
    return (chip.causal.reshape(-1), chip.acausal.reshape(-1), chip.config.synapses.weights.reshape(-1),
            ptr, entry, n_weighted, position.reshape(-1))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_sweep_of_the_listed_synapses_is_the_sweep_of_the_view(seed):
    """``stdp_sweep_listed`` (the host's compiled rule, over the synapses the kernel listed)
    leaves what ``stdp_sweep`` over the whole view leaves — weights, synapse table, sensors —
    when the bitmap marks every synapse of the view whose sensors are not 0, some whose sensors
    are 0, and synapses outside the view (those keep their sensors)."""
    from bss2emu.chip_actor.ppu_passes import stdp_sweep, stdp_sweep_listed, view_bits

    rng = np.random.default_rng(seed)
    dw = TABLES["pair STDP, rounded"]
    flat = np.unique(rng.integers(0, np.prod(SHAPE), 5000))
    zero = rng.random((2, np.prod(SHAPE))) < 0.7  # most synapses read 0, as in a run
    out = []
    for listed in (False, True):
        chip = _chip(seed)
        for sensor, z in zip((chip.causal, chip.acausal), zero):
            sensor.reshape(-1)[z] = 0.0
        causal, acausal, weights, ptr, entry, n_weighted, position = _sweep_args(chip)
        if listed:
            in_view = view_bits(flat, causal.size)
            also = rng.integers(0, causal.size, 2000)  # (marked, though their sensors may read 0)
            sensed = view_bits(np.concatenate([np.flatnonzero((causal != 0) | (acausal != 0)), also]), causal.size)
            stdp_sweep_listed(causal, acausal, weights, in_view, sensed, 20.0, dw, ptr, entry, n_weighted, position)
            assert not sensed.any()
        else:
            stdp_sweep(causal, acausal, weights, flat, 20.0, True, dw, ptr, entry, n_weighted, position)
        out.append([a.copy() for a in (causal, acausal, weights, entry, n_weighted)])
    for a, b in zip(*out):
        assert np.array_equal(a, b)
    assert not np.array_equal(out[0][2], _sweep_args(_chip(seed))[2])  # (weights changed)


def test_the_kernel_marks_a_synapse_in_the_bitmap_the_sweep_reads():
    from bss2emu.chip_actor.kernels import mark_sensed
    from bss2emu.chip_actor.ppu_passes import view_bits

    sensed = np.zeros(4, np.uint64)
    for at in (7, 200, 7, 64, 255):
        mark_sensed(sensed, at)
    assert np.array_equal(sensed, view_bits(np.array([7, 64, 200, 255]), 256))
    assert sensed.tolist() == [1 << 7, 1, 0, 1 << 8 | 1 << 63]


def test_a_restored_chip_marks_the_synapses_whose_sensors_are_not_0():
    from bss2emu.chip_actor.ppu_passes import view_bits

    chip = _chip(2)
    chip.causal[0, :100] = 0.0  # (some synapses with both sensors at 0, some with one)
    chip.acausal[0, 50:150] = 0.0
    state = chip.get_state()
    chip.sensed_bits[:] = 0
    chip.set_state(state)
    nonzero = np.flatnonzero((chip.causal != 0) | (chip.acausal != 0))
    assert 0 < len(nonzero) < chip.causal.size
    assert np.array_equal(chip.sensed_bits, view_bits(nonzero, chip.causal.size))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_the_sweeps_keep_the_synapse_table_as_a_fresh_build_makes_it(seed, listed):
    """The compiled sweeps write the new weights into the synapse table too
    (``kernels.set_entry_weights_at``): afterwards it equals the table built afresh from the
    chip's weights — also where weights went to or from 0 (the count of weighted synapses per
    list changes) and at disabled synapses (no entry: their weight is the configuration's only)."""
    from bss2emu.chip_actor.chip import _without_disabled
    from bss2emu.chip_actor.kernels import synapse_table
    from bss2emu.chip_actor.ppu_passes import stdp_sweep, stdp_sweep_listed, view_bits

    rng = np.random.default_rng(seed)
    config = ChipConfig()
    config.synapses.row_modes = rng.integers(0, 3, config.synapses.row_modes.shape)  # in use: 1, 2 (0: off)
    config.synapses.addresses = rng.integers(0, 64, SHAPE)
    chip = _chip(seed, config)
    syn = chip.config.synapses
    weights = np.where(rng.random(SHAPE) < 0.3, 0, syn.weights)  # many at 0
    chip.set_weights(*np.indices(SHAPE).reshape(3, -1), weights.reshape(-1))
    off = np.unravel_index(rng.choice(np.prod(SHAPE), 2000, replace=False), SHAPE)
    chip.set_synapses_enabled(*off, False)
    dw = TABLES["large, beyond the range"] * rng.choice([-1, 1], (256, 256))  # to 0 and 63, and from there
    dw[0, 0] = 0
    flat = np.unique(rng.integers(0, np.prod(SHAPE), 20_000))
    causal, acausal, w, ptr, entry, n_weighted, position = _sweep_args(chip)
    if listed:
        sensed = view_bits(np.flatnonzero((causal != 0) | (acausal != 0)), causal.size)
        changed = stdp_sweep_listed(causal, acausal, w, view_bits(flat, causal.size), sensed, 20.0, dw, ptr,
                                    entry, n_weighted, position)
    else:
        changed = stdp_sweep(causal, acausal, w, flat, 20.0, True, dw, ptr, entry, n_weighted, position)
    assert changed == (syn.weights != weights).sum() > 100
    assert ((syn.weights == 0) != (weights == 0)).sum() > 10  # (some went to or from 0)
    assert len(chip.synapse_table[1]) > 50_000
    fresh = _without_disabled(synapse_table(syn.weights, syn.addresses, syn.row_modes), chip.synapse_enabled)
    for got, want in zip(chip.synapse_table, fresh):
        assert np.array_equal(got, want)
