"""The correlation sensors and pre times that the kernel keeps per (hemisphere, address, row)
(``chip_actor.pre_times``) are, bit for bit, those of the per-synapse definition — over random
pre trains with several addresses per row, post spikes of many neurons, synapses disabled and
enabled again mid-run, the addresses changed mid-run and a checkpoint restored.

The reference below is the definition written out per synapse (restricted nearest-neighbour
pairing, ``protocol.hardware.ReadoutConfig``): in the kernel's delivery order — time, then
input events (by label) before neuron spikes (by neuron) — a post spike of neuron ``n`` adds
``exp(-(t - t_pre)/τ)`` to the causal sensor of every synapse of its column whose last pre
time ``t_pre`` came after ``n``'s previous spike; an event adds ``exp(-(t - t_post)/τ)`` to
the acausal sensor of every synapse it reaches whose neuron spiked since the synapse's last pre
time, and sets that time. ``math.exp`` is libm's, as the kernel's. The post spike times are
read from ``Chip.t_post`` after windows of one step (a neuron spikes at most once per step).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bss2emu.chip_actor.chip import Chip
from bss2emu.chip_actor.pre_times import OWN_NONE
from bss2emu.protocol.coordinates import make_label
from bss2emu.protocol.hardware import ROW_EXCITATORY, ChipConfig
from bss2emu.protocol.playback import SynapseEnableWrite

TAU_US = 5.0
ROW_SELECTS = (0, 1, 2, 3)  # drivers 0, 4, 8, 12 on bus 0: rows 0, 1, 8, 9, 16, 17, 24, 25
ROWS = [r for j in ROW_SELECTS for r in (8 * j, 8 * j + 1)]
ADDRESSES = 4
STEPS = 1500  # 150 µs in steps of 100 ns


def sensor_chip(seed: int) -> Chip:
    """FPGA input 8 reaches bus 0 of both hemispheres; the rows of ``ROWS`` (but one)
    enabled with random addresses 0..3, weights 0 (the neurons fire from their constant
    currents alone); a third of the neurons fire at random rates."""
    rng = np.random.default_rng(seed)
    cfg = ChipConfig()
    for out in (0, 4):
        cfg.crossbar.enable[8, out] = 1
        cfg.crossbar.mask[8, out] = 3 << 11  # labels of bus 0
    for h in range(2):
        for r in ROWS:
            cfg.synapses.row_modes[h, r] = ROW_EXCITATORY
            cfg.synapses.addresses[h, r] = rng.integers(0, ADDRESSES, 256)
    cfg.synapses.row_modes[1, ROWS[3]] = 0  # a disabled row: its synapses keep their pre times
    cfg.readout.enable_correlation = True
    cfg.readout.tau_corr_us = TAU_US
    chip = Chip(cfg, ideal=True)
    firing = rng.choice(512, 170, replace=False)
    chip.set_neuron_values("i_const", firing, rng.integers(500, 1023, len(firing)))
    return chip


class Reference:
    """The sensors and pre times per synapse, by definition (see the module)."""

    def __init__(self) -> None:
        self.t_pre = np.full((2, 256, 256), -1, np.int64)
        self.t_post = np.full(512, -1, np.int64)
        self.causal = np.zeros((2, 256, 256))
        self.acausal = np.zeros((2, 256, 256))

    def reached(self, chip: Chip, label: int) -> list[tuple[int, int, int]]:
        """The synapses an event with ``label`` on input 8 reaches (this test's crossbar and
        drivers: bus 0, driver 4 × row select, its two rows)."""
        syn, j, a = chip.config.synapses, (label >> 6) & 31, label & 63
        out = []
        for h in range(2):
            for r in (8 * j, 8 * j + 1):
                if syn.row_modes[h, r] != 0:
                    out += [(h, r, c) for c in np.flatnonzero((syn.addresses[h, r] == a) & chip.synapse_enabled[h, r])]
        return out

    def step(self, chip: Chip, pre: list[tuple[int, int]], post: list[tuple[int, int]]) -> None:
        """One step's pre events ``(t, label)`` and post spikes ``(t, neuron)``."""
        tau_ns = TAU_US * 1e3
        for t, kind, x in sorted([(t, 0, lab) for t, lab in pre] + [(t, 1, n) for t, n in post]):
            if kind == 1:
                h, c = divmod(x, 256)
                for r in np.flatnonzero(self.t_pre[h, :, c] > self.t_post[x]):
                    self.causal[h, r, c] += math.exp(-(t - int(self.t_pre[h, r, c])) / tau_ns)
                self.t_post[x] = t
            else:
                for h, r, c in self.reached(chip, x):
                    tq = int(self.t_post[h * 256 + c])
                    if tq > self.t_pre[h, r, c]:
                        self.acausal[h, r, c] += math.exp(-(t - tq) / tau_ns)
                    self.t_pre[h, r, c] = t

    def assert_is(self, chip: Chip) -> None:
        for name in ("t_pre", "t_post", "causal", "acausal"):
            assert np.array_equal(getattr(chip, name), getattr(self, name)), name


def _events(rng, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Step ``k``'s pre events: times (ns, sorted) and labels of random rows and addresses."""
    n = rng.poisson(1.5)
    t = np.sort(k * 100 + rng.integers(0, 100, n))
    lab = np.array([make_label(0, int(rng.choice(ROW_SELECTS)), int(rng.integers(0, ADDRESSES))) for _ in range(n)],
                   np.int64)
    return t, lab


def _run(chip: Chip, ref: Reference, rng, k0: int, k1: int) -> None:
    for k in range(k0, k1):
        t, lab = _events(rng, k)
        before = chip.t_post.copy()
        chip.run_window(k, 1, t, np.full(len(t), 8), lab)
        post = [(int(chip.t_post[n]), int(n)) for n in np.flatnonzero(chip.t_post != before)]
        ref.step(chip, list(zip(t.tolist(), lab.tolist())), post)


@pytest.mark.parametrize("seed", [3, 4])
def test_sensors_are_the_per_synapse_definition_through_topology_changes(seed):
    rng = np.random.default_rng(seed + 100)
    chip, ref = sensor_chip(seed), Reference()
    _run(chip, ref, rng, 0, 300)
    ref.assert_is(chip)
    assert (ref.causal > 0).sum() > 200 and (ref.acausal > 0).sum() > 200  # (the sensors did pair)
    # synapses disconnected: events with their address reach their rows but not them
    h, r, c = np.nonzero(rng.random((2, 256, 256)) < 0.3)
    chip.apply_writes([SynapseEnableWrite(0, h, r, c, False)])
    _run(chip, ref, rng, 300, 600)
    ref.assert_is(chip)
    t_row, t_own, own_count, _ = chip.sensor_arrays()[0]
    assert own_count[0].sum() > 0 and own_count[0].sum() == own_count[1].sum() == (t_own != OWN_NONE).sum()
    chip.apply_writes([SynapseEnableWrite(0, h, r, c, True)])  # ... and back: each keeps its time until reached
    _run(chip, ref, rng, 600, 900)
    ref.assert_is(chip)
    # new addresses (a configuration restored with another synapse table): the times stay the synapses'
    state = chip.get_state()
    addresses = np.array(state["config"].synapses.addresses)
    addresses[:, ROWS[:4]] = rng.integers(0, ADDRESSES, (2, 4, 256))
    state["config"].synapses.addresses = addresses
    state["config_token"] = None
    chip.set_state(state)
    _run(chip, ref, rng, 900, 1200)
    ref.assert_is(chip)
    # a checkpoint and a return to it: the same run again
    state, ref_at, rng_at = chip.get_state(), _copy(ref), np.random.default_rng(seed + 200)
    _run(chip, ref, np.random.default_rng(seed + 200), 1200, STEPS)
    ref.assert_is(chip)
    after = {k: np.copy(getattr(chip, k)) for k in ("t_pre", "causal", "acausal")}
    chip.set_state(state)
    ref_at.assert_is(chip)
    _run(chip, ref_at, rng_at, 1200, STEPS)
    for k, v in after.items():
        assert np.array_equal(getattr(chip, k), v), k


def _copy(ref: Reference) -> Reference:
    out = Reference()
    for k, v in vars(ref).items():
        setattr(out, k, v.copy())
    return out


def test_pre_times_are_written_as_a_whole_and_read_per_synapse():
    chip = sensor_chip(0)
    t_pre = np.random.default_rng(1).integers(-1, 10**6, (2, 256, 256))
    chip.t_pre = t_pre
    assert np.array_equal(chip.t_pre, t_pre)
    with pytest.raises(ValueError):
        chip.t_pre[0, 0, 0] = 5  # (a copy: writing into it would change nothing)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_state_without_pre_times_is_the_module_s_definition(seed):
    """``pre_times_into`` of all -1 (a chip's first fill: a path of its own): every row's
    time -1, a time of its own (-1) exactly where events do not reach a synapse although its
    row is on (counted per row and column), the addresses by column; every synapse reads -1."""
    from bss2emu.chip_actor.pre_times import PreTimes, pre_times_into, pre_times_of

    rng = np.random.default_rng(seed)
    addresses = rng.integers(0, 64, (2, 256, 256))
    row_modes = rng.integers(0, 3, (2, 256))
    enabled = rng.random((2, 256, 256)) > 0.05
    state = PreTimes.empty()
    for a in state:
        a.fill(7)  # (whatever was there)
    pre_times_into(np.full((2, 256, 256), -1, np.int64), addresses, row_modes, enabled, *state)
    frozen = (row_modes[:, :, None] != 0) & ~enabled
    assert (state.t_row == -1).all()
    assert np.array_equal(state.t_own, np.where(frozen, -1, OWN_NONE)) and frozen.sum() > 1000
    assert np.array_equal(state.own_count, np.stack([frozen.sum(axis=2), frozen.sum(axis=1)]))
    assert np.array_equal(state.addr_col, addresses.transpose(0, 2, 1))
    out = np.empty((2, 256, 256), np.int64)
    pre_times_of(state.t_row, state.t_own, state.addr_col, out)
    assert (out == -1).all()
