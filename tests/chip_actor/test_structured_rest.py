"""Structured neurons at rest: a long call skips the logical neurons whose compartments are
all at a fixed point of the step (coupling included) and updates one again, whole, when an
event reaches any of its compartments (``kernels.coupling_spans``, ``kernels.close_range``).
The results are those of stepping every circuit every step, bit for bit: calls of one step
never look for rest, so they are the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.hardware import ROW_EXCITATORY, ChipConfig
from bss2emu.protocol.morphology import Morphology, chain_morphology

STEPS = 4000


def two_row_morphology():
    """A compartment of both circuits of column 0, coupled to circuit (1, 1) through the
    conductance and row 1's somatic line: its leads are 257 circuits apart."""
    m = Morphology()
    m.create_compartment([(0, 0), (0, 1)])
    m.create_compartment([(1, 1)])
    m.connect_to_soma((0, 1))
    m.connect_resistor_to_soma((1, 1))
    m.connect_soma_line(0, 1, 1)
    return m.done()


def resting_config() -> ChipConfig:
    """Chains of 4 compartments at columns 0 and 150, the two-row neuron at column 200, and a
    point neuron at circuit 100 that fires all the time; FPGA input 0 reaches a synapse on
    circuit 1 (the first chain; its inputs decay for longer than the test: never at rest)
    and, from 250 µs on, input 1 one on circuit 200 (the two-row neuron's first
    compartment). So the range of circuits to update is [0, 101) until the second input
    wakes the two-row neuron, whole: [0, 458) (its compartments' leads are 200 and 457,
    circuit 456 follows 200)."""
    cfg = ChipConfig()
    col = cfg.neurons.column
    for placed in (chain_morphology(4).place([0, 150]), two_row_morphology().place([200])):
        for name, values in placed.switches.items():
            col(name)[placed.circuits] = values
        col("i_bias_conductance")[placed.circuits] = 300
    col("i_bias_leak")[:] = 167  # 0.36 µS
    col("i_const")[100] = 1000
    cfg.crossbar.enable[8, 0] = 1  # FPGA input 0 → top PADI bus 0 → driver 0
    cfg.crossbar.enable[9, 1] = 1  # FPGA input 1 → top PADI bus 1 → driver 1 (rows 2, 3)
    cfg.crossbar.enable[:8, 8] = 1  # every neuron event output → FPGA
    cfg.synapses.row_modes[0, [0, 2]] = ROW_EXCITATORY
    cfg.synapses.weights[0, 0, 1] = 63
    cfg.synapses.weights[0, 2, 200] = 63
    return cfg


def events():
    """A burst on input 0 at 10 µs and one on input 1 at 250 µs."""
    t = np.concatenate([10_000 + 250 * np.arange(20), 250_000 + 250 * np.arange(20)]).astype(np.int64)
    return t, np.repeat(np.array([8, 9], np.int64), 20), np.zeros(len(t), np.int64)


def run(window_steps: int):
    chip = Chip(resting_config(), ideal=True)
    ev = events()
    spikes, states = [], []
    while chip.step < STEPS:
        steps = min(window_steps, STEPS - chip.step)
        t0, t1 = chip.time_ns, chip.time_ns + steps * chip.dt_ns
        sel = (ev[0] >= t0) & (ev[0] < t1)
        out = chip.run_window(chip.step, steps, *(e[sel] for e in ev))
        spikes.append(out.spikes.to_pandas())
        states.append(chip.nstate.copy())
    return chip, spikes, states


@pytest.fixture(scope="module")
def stepped():
    return run(1)


def test_the_reference_rests(stepped):
    """The second chain and the two-row neuron sit at a fixed point of the step (bit for bit)
    until an input reaches them, while the first chain and the point neuron do not: the long
    calls below skip them (and all circuits past them)."""
    chip, _, states = stepped
    resting = [150, 151, 152, 153, 154, 155, 156, 157, 200, 456, 457]
    assert np.array_equal(states[300][:, resting], states[2400][:, resting])
    for n in (0, 100, 200, 457):  # (the first chain: its input still decays)
        assert not np.array_equal(states[3000][:, n], states[3999][:, n]), n
    assert chip.spike_count[100] > 20
    assert states[2600][K.S_V, 200] - states[2400][K.S_V, 200] > 0.01  # the second input moved the soma


@pytest.mark.parametrize("window_steps", [4000, 700, 64])
def test_skipping_resting_logical_neurons_gives_the_bits_of_stepping(stepped, window_steps):
    want, want_spikes, _ = stepped
    got, got_spikes, _ = run(window_steps)
    assert np.array_equal(got.nstate, want.nstate)
    assert np.array_equal(got.ref_end, want.ref_end)
    assert np.array_equal(got.spike_count, want.spike_count)
    spikes = [pd.concat(x, ignore_index=True) for x in (got_spikes, want_spikes)]
    assert len(spikes[1]) > 20 and spikes[0].equals(spikes[1])


def test_the_range_of_circuits_to_update_holds_whole_logical_neurons():
    chip = Chip(resting_config(), ideal=True)
    st = chip.structure
    span_lo, span_hi = K.coupling_spans(512, st.cp_block, st.cp_offset, st.cp_val, st.follow, st.follow_lead)
    for start, want in (((3, 4), (0, 8)), ((151, 152), (150, 158)), ((457, 458), (200, 458)), ((100, 101), (100, 101)),
                        ((7, 151), (0, 158)), ((0, 101), (0, 101)), ((0, 0), (0, 0))):
        act = np.array(start, np.int64)
        K.close_range(act, span_lo, span_hi)
        assert tuple(act) == want, start
