"""Independent check: a fresh ``Chip`` of the same serial, configured with the calibration,
measured by other means than the calibration used — the 10-bit MADC (1.17 mV per code),
one circuit at a time, and curve fits of its traces.

Tolerances: the calibration's own residual (≤ 1.2 mV, ≤ 1.5 % for τ_m, ≤ 2.5 % for PSPs)
plus the MADC's half code (0.6 mV) or the fit's error (~0.3 %)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit

from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.coordinates import make_label
from bss2emu.protocol.hardware import NEURON_PARAMETER_INDEX, ROW_EXCITATORY, ROW_INHIBITORY, ChipConfig

SERIAL = 1
CIRCUITS = [0, 77, 255, 256, 400, 511]
MADC_MV = 1200.0 / 1023
ROWS = 8  # drivers 0, 4, 8, 12 (bus 0, row selects 0-3) drive rows 0,1, 8,9, 16,17, 24,25
EXC_ADDRESS, INH_ADDRESS = 1, 2


def fresh_chip(result, madc_circuit: int) -> Chip:
    cfg = ChipConfig()
    result.apply(cfg.neurons)
    cfg.neurons.values[:, NEURON_PARAMETER_INDEX["enable_fire"]] = 0
    for o in (0, 4):  # FPGA input 8 to PADI bus 0 of both hemispheres
        cfg.crossbar.enable[8, o] = 1
    for d in (0, 4, 8, 12):
        cfg.drivers.row_select_mask[:, d] = 0b11
        for r in (2 * d, 2 * d + 1):
            cfg.synapses.row_modes[:, r] = ROW_EXCITATORY
            cfg.synapses.addresses[:, r] = EXC_ADDRESS
            cfg.synapses.weights[:, r] = 63
    for d in (16, 20, 24, 28):  # row selects 4-7
        cfg.drivers.row_select_mask[:, d] = 0b11
        for r in (2 * d, 2 * d + 1):
            cfg.synapses.row_modes[:, r] = ROW_INHIBITORY
            cfg.synapses.addresses[:, r] = INH_ADDRESS
            cfg.synapses.weights[:, r] = 63
    cfg.readout.madc_neuron = madc_circuit
    return Chip(cfg, serial=SERIAL)


def madc_run(chip: Chip, steps: int, events_ns=(), label: int = 0) -> tuple[np.ndarray, np.ndarray]:
    ev = np.asarray(events_ns, dtype=np.int64) + chip.time_ns
    out = chip.run_window(chip.step, steps, ev, np.full(len(ev), 8), np.full(len(ev), label))
    t = out.madc.column("time_ticks").to_numpy() * 8 / 1e3
    return t - t[0], out.madc.column("value").to_numpy() * MADC_MV


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_resting_potential_on_the_madc(calibrated, circuit):
    _, v = madc_run(fresh_chip(calibrated, circuit), 50)
    assert abs(v.mean() - calibrated.targets["v_leak_mv"][circuit]) < 1.2 + 0.6


@pytest.mark.parametrize("circuit", CIRCUITS)
def test_tau_m_from_a_relaxation_trace(calibrated, circuit):
    chip = fresh_chip(calibrated, circuit)
    chip.set_neuron_values("v_leak", [circuit], calibrated.dac["v_leak"][circuit] + 170)  # a 200 mV step
    t, v = madc_run(chip, 800)
    (amp, tau, v_inf), _ = curve_fit(lambda t, a, tau, c: c - a * np.exp(-t / tau), t, v, p0=(200.0, 10.0, 800.0))
    assert tau == pytest.approx(calibrated.targets["tau_m_us"][circuit], rel=0.015 + 0.003)


@pytest.mark.parametrize("which", ["exc", "inh"])
@pytest.mark.parametrize("circuit", CIRCUITS[::2])
def test_psp_height_for_the_reference_weight(calibrated, circuit, which):
    chip = fresh_chip(calibrated, circuit)
    label = make_label(0, 0, EXC_ADDRESS) if which == "exc" else make_label(0, 4, INH_ADDRESS)
    # the event arrives at the end of a step, where the emulator delivers it
    t, v = madc_run(chip, 600, [10 * 100 + 99], label)
    height = (v - v[:10].mean()).max() if which == "exc" else (v[:10].mean() - v).max()
    expected = ROWS * calibrated.targets[f"psp_{which}_mv"][circuit]
    assert height == pytest.approx(expected, rel=0.025 + 0.6 / expected)
