"""Structured neurons in the chip kernel against the exact solution of the compartment ODE.

A passive chain of compartments is linear: ``C dv/dt = -(G_L + G)(v - E_L) + I(t)`` with
the chain's conductance Laplacian ``G``; its response to a current step and to a synaptic
input (an exponentially decaying current, appended to the state) is a matrix exponential
(``scipy.linalg.expm``), computed here from the circuits' physical parameters alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.chip import Chip
from bss2emu.chip_actor.structure import coupling_diagonals
from bss2emu.errors import ConfigError
from bss2emu.protocol.hardware import ROW_EXCITATORY, ChipConfig
from bss2emu.protocol.morphology import chain_morphology as _chain

N_COMP = 4
LEADS = [0, 2, 4, 6]  # compartment i = circuits 2i, 2i+1; lead: its first circuit (none fires)


def chain_morphology(n: int = N_COMP):
    """The BSS-2 tutorial's chain of ``n`` compartments (``protocol.morphology.chain_morphology``)."""
    return _chain(n)


def chain_config(i_bias_conductance: int = 136, leak: int = 84) -> ChipConfig:  # g_icc 0.45 µS, g_L 0.18 µS
    placed = chain_morphology().place([0])
    cfg = ChipConfig()
    for name, values in placed.switches.items():
        cfg.neurons.column(name)[placed.circuits] = values
    cfg.neurons.column("enable_fire")[:] = 0
    cfg.neurons.column("i_bias_leak")[:] = leak
    cfg.neurons.column("i_bias_conductance")[placed.circuits] = i_bias_conductance
    return cfg


def chain_matrices(chip: Chip):
    """(C, G_L + G, E_L) of the chain from the circuits' physics (not from the kernel's structure)."""
    ph = chip.physics
    c = np.array([ph.c_m[2 * i] + ph.c_m[2 * i + 1] for i in range(N_COMP)])
    m = np.diag([ph.g_l[2 * i] + ph.g_l[2 * i + 1] for i in range(N_COMP)])
    for i in range(N_COMP - 1):
        g = ph.g_icc[2 * i + 1]
        m[i, i] += g
        m[i + 1, i + 1] += g
        m[i, i + 1] -= g
        m[i + 1, i] -= g
    return c, m, ph.e_l[0]


def trace(chip: Chip, steps: int, every: int, events=None) -> tuple[np.ndarray, np.ndarray]:
    """Times (µs) and the leads' membranes every ``every`` steps."""
    ts, vs = [], []
    ev = events or Chip.no_events()
    for _ in range(steps // every):
        t0, t1 = chip.time_ns, chip.time_ns + every * chip.dt_ns
        sel = (ev[0] >= t0) & (ev[0] < t1)
        chip.run_window(chip.step, every, *(e[sel] for e in ev))
        ts.append(chip.time_ns / 1e3)
        vs.append(chip.nstate[K.S_V, LEADS].copy())
    return np.array(ts), np.array(vs)


def test_passive_chain_step_response_is_the_matrix_exponential():
    cfg = chain_config()
    cfg.neurons.column("i_const")[0] = 100  # 5 nA into compartment 0
    chip = Chip(cfg, ideal=True)
    c, m, e_l = chain_matrices(chip)
    i_in = np.zeros(N_COMP)
    i_in[0] = chip.physics.i_const[0]
    v_inf = e_l + np.linalg.solve(m, i_in)
    ts, vs = trace(chip, 1500, 5)
    ref = np.array([v_inf + sl.expm(-m / c[:, None] * t) @ (e_l - v_inf) for t in ts])
    amp = v_inf - e_l
    assert np.all(np.diff(amp) < 0)  # attenuates along the chain
    np.testing.assert_array_less(np.abs(vs - ref).max(axis=0), 0.01 * amp)
    np.testing.assert_allclose(vs[-1] - e_l, amp, rtol=0.01)  # steady state reached within 1 %


@pytest.mark.parametrize("target", [0, 3])
def test_epsp_along_the_chain_is_the_matrix_exponential(target):
    cfg = chain_config()
    column = 2 * target  # the synapse sits on the compartment's first circuit
    cfg.crossbar.enable[8, 0] = 1  # FPGA input 0 → PADI bus 0 → driver 0 (row select 0)
    cfg.synapses.row_modes[0, 0] = ROW_EXCITATORY
    cfg.synapses.weights[0, 0, column] = 63
    chip = Chip(cfg, ideal=True)
    c, m, e_l = chain_matrices(chip)
    t_ev_ns = 1000
    ev = (np.array([t_ev_ns]), np.array([8]), np.array([0]))
    ts, vs = trace(chip, 800, 4, ev)
    i0 = 63 * chip.physics.gain_exc[column]
    tau_s = chip.physics.tau_exc[column]
    aug = np.zeros((N_COMP + 1, N_COMP + 1))
    aug[:N_COMP, :N_COMP] = -m / c[:, None]
    aug[target, N_COMP] = 1.0 / c[target]
    aug[N_COMP, N_COMP] = -1.0 / tau_s
    x0 = np.zeros(N_COMP + 1)
    x0[N_COMP] = i0
    ref = np.array([(sl.expm(aug * max(t - t_ev_ns / 1e3, 0.0)) @ x0)[:N_COMP] if t > t_ev_ns / 1e3 else
                    np.zeros(N_COMP) for t in ts])
    peaks = ref.max(axis=0)
    order = np.argsort(np.abs(np.arange(N_COMP) - target))
    assert np.all(np.diff(peaks[order]) < 0)  # attenuated with distance from the input
    np.testing.assert_array_less(np.abs(vs - e_l - ref).max(axis=0), 0.01 * peaks)
    np.testing.assert_allclose((vs - e_l).max(axis=0), peaks, rtol=0.01)


def test_one_compartment_of_three_circuits_is_one_neuron_with_summed_capacitance_and_leak():
    """3 circuits of capacitance 20 (2.3 pF · 21/64 each) and leak 20 joined = one circuit of
    capacitance 62 (2.3 pF · 63/64) and leak 60; the current enters at a circuit that is not
    the lead, the threshold is the lead's."""
    joined = ChipConfig()
    col = joined.neurons.column
    col("capacitance")[:3] = 20
    col("i_bias_leak")[:3] = 20
    col("connect_right")[:2] = 1
    col("enable_fire")[[0, 2]] = 0  # circuit 1 fires: the lead
    col("i_const")[2] = 1000
    single = ChipConfig()
    single.neurons.column("capacitance")[0] = 62
    single.neurons.column("i_bias_leak")[0] = 60
    single.neurons.column("i_const")[0] = 1000
    for cfg in (joined, single):
        cfg.neurons.column("enable_fire")[3:] = 0
        cfg.crossbar.enable[0, 8] = 1  # event output of circuits 0..63 → FPGA
    a, b = Chip(joined, ideal=True), Chip(single, ideal=True)
    out_a = a.run_window(0, 3000, *Chip.no_events()).spikes
    out_b = b.run_window(0, 3000, *Chip.no_events()).spikes
    assert out_b.num_rows > 5
    assert set(out_a.column("neuron").to_pylist()) == {1}
    np.testing.assert_allclose(out_a.column("time_ticks").to_numpy(), out_b.column("time_ticks").to_numpy(), atol=1)
    np.testing.assert_allclose(a.nstate[K.S_V, :3], b.nstate[K.S_V, 0], atol=1e-6)  # all three show it


def test_the_conductance_has_mismatch_and_a_non_ideal_chip_still_matches_its_own_exact_solution():
    cfg = chain_config()
    cfg.neurons.column("i_const")[0] = 100
    chip = Chip(cfg, serial=11)
    g = chip.physics.g_icc[[1, 3, 5]]
    assert np.ptp(g) > 0.01 * g.mean()  # per-circuit deviations
    c, m, e_l = chain_matrices(chip)
    ph = chip.physics
    i_in = np.zeros(N_COMP)
    i_in[0] = ph.i_const[0] + ph.i_const[1]
    # leak potentials mismatch too: E_L per compartment is the conductance-weighted mean
    gl = np.array([ph.g_l[2 * i] + ph.g_l[2 * i + 1] for i in range(N_COMP)])
    el = np.array([(ph.g_l[2 * i] * ph.e_l[2 * i] + ph.g_l[2 * i + 1] * ph.e_l[2 * i + 1]) for i in range(N_COMP)]) / gl
    v_inf = np.linalg.solve(m, gl * el + i_in)
    ts, vs = trace(chip, 1500, 50)
    np.testing.assert_allclose(vs[-1], v_inf, atol=0.01 * np.abs(v_inf - el).max())


def test_a_dendritic_spike_with_a_high_reset_holds_a_plateau_that_drives_the_soma():
    """Compartment 3 (distal) fires; its reset above rest and its long refractory time hold
    it there (a plateau), and the soma (compartment 0) depolarises for that long."""
    cfg = chain_config()
    col = cfg.neurons.column
    col("enable_fire")[6] = 1
    col("v_threshold")[6] = 480  # 612 mV
    col("v_reset")[6] = 817  # 821 mV, above rest (588 mV): the plateau
    col("refractory_count")[6] = 250
    col("refractory_clock")[6] = 6  # 250 · 64 · 4 ns = 64 µs
    col("i_const")[6] = 176  # 15 nA
    chip = Chip(cfg, ideal=True)
    ts, vs = trace(chip, 1200, 10)
    spikes = chip.spike_count[6]
    assert spikes >= 1
    e_l = chip.physics.e_l[0]
    first = ts[np.argmax(vs[:, 3] >= chip.physics.v_reset[6] - 1e-9)]
    held = (ts > first + 5) & (ts < first + 60)
    np.testing.assert_allclose(vs[held, 3], chip.physics.v_reset[6])
    # the other compartments relax as the passive chain with compartment 3 clamped at the plateau
    c, m, _ = chain_matrices(chip)
    v3 = chip.physics.v_reset[6]
    free = slice(0, 3)
    v_inf = e_l - np.linalg.solve(m[free, free], m[free, 3] * (v3 - e_l))
    k0 = int(np.argmax(held)) - 1
    ref = np.array([v_inf + sl.expm(-m[free, free] / c[free, None] * (t - ts[k0])) @ (vs[k0, free] - v_inf)
                    for t in ts[held]])
    amp = v_inf - e_l
    assert amp[0] > 20.0  # the soma is held up by the plateau
    np.testing.assert_array_less(np.abs(vs[held, free] - ref).max(axis=0), 0.01 * amp)


def test_a_switch_in_the_last_column_is_refused():
    cfg = ChipConfig()
    cfg.neurons.column("connect_right")[255] = 1
    with pytest.raises(ConfigError, match="circuit 255: connect_right=1 in the last column"):
        Chip(cfg)


def test_point_chips_are_unchanged_by_structure_switches_of_unjoined_circuits():
    """A lone connect_vertical (needs both circuits of a column) joins nothing."""
    a, b = ChipConfig(), ChipConfig()
    b.neurons.column("connect_vertical")[5] = 1
    for cfg in (a, b):
        cfg.neurons.column("i_const")[:] = 1000
        cfg.crossbar.enable[:8, 8] = 1  # every neuron event output → FPGA
    ca, cb = Chip(a, ideal=True), Chip(b, ideal=True)
    sa = ca.run_window(0, 500, *Chip.no_events()).spikes
    sb = cb.run_window(0, 500, *Chip.no_events()).spikes
    assert sa.num_rows > 0 and sa.equals(sb)
    assert np.array_equal(ca.nstate, cb.nstate)


def _coupling(props, lo=0, hi=512, seed=0):
    """``couple_half_step`` on random membranes, and ``P v`` per logical neuron inside [lo, hi)."""
    rows, block, offset, vals = coupling_diagonals(props)
    v = np.random.default_rng(seed).normal(600.0, 50.0, 512)
    want = v.copy()
    for leads, prop in props:
        if lo <= leads.min() and leads.max() < hi:
            want[leads] = prop @ v[leads]
    K.couple_half_step(v, block, offset, vals, np.empty(512), lo, hi)
    return v, want, len(block) - 1


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_the_coupling_step_is_the_propagator_times_the_membranes_for_every_size(k):
    """``couple_half_step`` over ``coupling_diagonals`` = P v per logical neuron, for leads
    anywhere on the chip; every other circuit keeps its membrane bit for bit."""
    rng = np.random.default_rng(k)
    leads = rng.permutation(512)[:k * 7].reshape(7, k)
    props = [(ld, rng.normal(size=(k, k))) for ld in leads]
    v, want, _ = _coupling(props)
    others = np.setdiff1d(np.arange(512), leads)
    assert np.array_equal(v[others], want[others])
    np.testing.assert_allclose(v, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("lo, hi", [(0, 512), (8, 100), (0, 0)])
def test_the_banded_coupling_of_side_by_side_compartments(lo, hi):
    """Logical neurons of 4 compartments side by side (the band of diagonals -3..3, its own
    path) and of 2 (3 diagonals): P v on the rows of [lo, hi), nothing outside."""
    rng = np.random.default_rng(1)
    for props in ([(4 * b + np.arange(4), rng.normal(size=(4, 4))) for b in range(128)],
                  [(4 * b + np.array([1, 2]), rng.normal(size=(2, 2))) for b in range(100)]):
        v, want, n_diag = _coupling(props, lo, hi)
        assert n_diag == 2 * len(props[0][0]) - 1
        np.testing.assert_allclose(v, want, rtol=1e-13, atol=1e-13)
        outside = np.r_[0:lo, hi:512]
        assert np.array_equal(v[outside], want[outside])


def test_the_banded_path_gives_the_bits_of_the_diagonal_by_diagonal_path():
    """Rows where all 7 diagonals are present take the band path; the same rows with one
    diagonal stored twice as long (the generic path) give the same bits."""
    rng = np.random.default_rng(2)
    props = [(4 * b + np.arange(4), rng.normal(size=(4, 4))) for b in range(128)]
    rows, block, offset, vals = coupling_diagonals(props)
    v0 = rng.normal(600.0, 50.0, 512)
    band = v0.copy()
    K.couple_half_step(band, block, offset, vals, np.empty(512), 0, 512)
    # the same P with an 8th, all-zero diagonal (offset 4): no band path
    block8 = np.r_[block[:-1], (4 << K.CP_ROW_BITS) | 0, 0]
    offset8 = np.r_[offset, offset[-1] + 508]
    generic = v0.copy()
    K.couple_half_step(generic, block8, offset8, np.r_[vals, np.zeros(508)], np.empty(512), 0, 512)
    assert np.array_equal(band, generic)
