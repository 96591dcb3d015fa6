"""Correlation sensors (the STDP observable) and conductance-based synaptic input."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.chip_actor import kernels as K
from bss2emu.chip_actor.analog import voltage_map
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.coordinates import make_label
from bss2emu.protocol.hardware import ROW_EXCITATORY, ChipConfig


def pair_config(post_label_on_fpga: bool = True) -> ChipConfig:
    cfg = ChipConfig()
    cfg.crossbar.enable[8, 0] = 1
    cfg.crossbar.mask[8, 0] = 3 << 11
    cfg.synapses.row_modes[0, 0] = ROW_EXCITATORY
    cfg.synapses.addresses[0, 0, 9] = 4
    cfg.synapses.weights[0, 0, 9] = 0  # the sensor works whatever the weight
    cfg.readout.enable_correlation = True
    cfg.readout.tau_corr_us = 5.0
    cfg.readout.corr_lsb = 0.01
    return cfg


def run_pair(pre_ns: list[int], post_current_on_ns: int):
    """Neuron 9 fires once (driven by a current switched on), pre events arrive at pre_ns."""
    cfg = pair_config()
    chip = Chip(cfg, ideal=True)
    lab = make_label(0, 0, 4)
    ev = np.array(sorted(pre_ns))
    k_on = post_current_on_ns // 100
    chip.run_window(0, k_on, ev[ev < k_on * 100], np.full((ev < k_on * 100).sum(), 8), np.full((ev < k_on * 100).sum(), lab))
    chip.set_neuron_values("i_const", [9], 1022)
    late = ev[ev >= k_on * 100]
    spikes_before = chip.spike_count[9]
    k = k_on
    while chip.spike_count[9] == spikes_before:  # run until the post spike
        chip.run_window(k, 1, *Chip.no_events())
        k += 1
    chip.set_neuron_values("i_const", [9], 0)
    t_post = int(chip.t_post[9])
    chip.run_window(k, 600 - k, late, np.full(len(late), 8), np.full(len(late), lab))
    return chip, t_post


def test_causal_pair_charges_the_causal_sensor():
    chip, t_post = run_pair([2000], post_current_on_ns=3000)
    expected = np.exp(-(t_post - 2000) / 5000.0)
    assert chip.causal[0, 0, 9] == pytest.approx(expected, rel=1e-12)
    assert chip.acausal[0, 0, 9] == 0
    causal, acausal = chip.correlation_codes(reset=True)
    assert causal[0, 0, 9] == round(expected / 0.01) and acausal[0, 0, 9] == 0
    assert chip.causal.sum() == 0  # read with reset clears the sensors


def test_anticausal_pair_charges_the_acausal_sensor():
    chip, t_post = run_pair([50000], post_current_on_ns=1000)
    assert chip.acausal[0, 0, 9] == pytest.approx(np.exp(-(50000 - t_post) / 5000.0), rel=1e-12)
    assert chip.causal[0, 0, 9] == 0


def psp_peak(coba: bool, v_leak: int) -> float:
    cfg = ChipConfig()
    cfg.crossbar.enable[8, 0] = 1
    cfg.crossbar.mask[8, 0] = 3 << 11
    cfg.synapses.row_modes[0, 0] = ROW_EXCITATORY
    cfg.synapses.weights[0, 0, 2] = 63
    cfg.neurons.column("v_leak")[:] = v_leak
    cfg.neurons.column("v_threshold")[:] = 1022
    cfg.neurons.column("e_rev_exc")[:] = 800
    cfg.neurons.column("coba_exc")[:] = int(coba)
    cfg.neurons.column("i_bias_syn_exc_gm")[:] = 1000
    chip = Chip(cfg, ideal=True)
    chip.run_window(0, 10, np.array([500]), np.array([8]), np.array([make_label(0, 0, 0)]))
    v = []
    for k in range(10, 400):
        chip.run_window(k, 1, *Chip.no_events())
        v.append(chip.nstate[K.S_V, 2])
    return max(v) - chip.physics.e_l[2]


def test_conductance_input_scales_with_driving_force_current_input_does_not():
    near, far = psp_peak(True, 834), psp_peak(True, 573)  # leak at 821 and 351 mV
    e_rev = float(voltage_map("e_rev_exc").mv(800))
    drive_near, drive_far = (e_rev - float(voltage_map("v_leak").mv(d)) for d in (834, 573))
    assert near / far == pytest.approx(drive_near / drive_far, rel=0.05)
    assert psp_peak(False, 834) == pytest.approx(psp_peak(False, 573), rel=1e-9)


def test_conductance_input_without_leak_stays_finite_as_it_decays():
    """Regression: v_inf = drive/g lost all precision for a decayed conductance (~1e-40 µS)
    without leak and threw the membrane to 0 mV."""
    cfg = ChipConfig()
    cfg.crossbar.enable[8, 0] = 1
    cfg.crossbar.mask[8, 0] = 3 << 11
    cfg.synapses.row_modes[0, 0] = ROW_EXCITATORY
    cfg.synapses.row_modes[0, 1] = 2
    cfg.synapses.weights[0, 0, 2] = 10
    cfg.synapses.weights[0, 1, 2] = 10
    cfg.neurons.column("i_bias_leak")[:] = 0
    cfg.neurons.column("v_threshold")[:] = 1022
    cfg.neurons.column("coba_exc")[:] = 1
    cfg.neurons.column("i_bias_syn_inh_tau")[:] = 10  # 30 µs: the current outlives the conductance
    chip = Chip(cfg, ideal=True)
    chip.run_window(0, 10, np.array([500]), np.array([8]), np.array([make_label(0, 0, 0)]))
    v = []
    for k in range(10, 6010, 500):
        chip.run_window(k, 500, *Chip.no_events())
        v.append(chip.nstate[K.S_V, 2])
    assert chip.nstate[K.S_IE, 2] < 1e-30  # the conductance has decayed away
    assert np.all(np.abs(np.diff(v)) < 5.0) and 500 < v[-1] < 700  # settles, is not thrown to 0
