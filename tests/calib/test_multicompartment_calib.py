"""The inter-compartment conductance calibration, measured through the CADC, against the
emulated chip's truth (its mismatch, which the calibration never reads)."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.calib.multicompartment import calibrate_conductance, nominal_dac
from bss2emu.chip_actor.analog import chip_mismatch, neuron_physics
from bss2emu.errors import ConfigError
from bss2emu.protocol.hardware import ChipConfig

SERIAL, TARGET_US = 3, 4.0


def tau_icc_us(dac) -> np.ndarray:
    cfg = ChipConfig()
    cfg.neurons.column("i_bias_conductance")[:] = dac
    phys = neuron_physics(cfg.neurons, chip_mismatch(SERIAL))
    return phys.c_m / phys.g_icc


def test_calibration_brings_every_measurable_circuit_close_to_the_target():
    dac = calibrate_conductance(tau_icc_us=TARGET_US, serial=SERIAL)
    col = np.arange(512) % 256
    measurable = col < 255  # the last column has no right neighbour to measure against
    calibrated = np.abs(tau_icc_us(dac)[measurable] / TARGET_US - 1)
    uncalibrated = np.abs(tau_icc_us(int(round(float(nominal_dac(TARGET_US)))))[measurable] / TARGET_US - 1)
    assert np.percentile(calibrated, 95) < 0.08 < np.percentile(uncalibrated, 95)
    assert np.median(calibrated) < 0.5 * np.median(uncalibrated)
    assert (dac[~measurable] == round(float(nominal_dac(TARGET_US)))).all()


def test_targets_and_their_errors():
    ideal = calibrate_conductance(g_ns=2.3 / 4.0 * 1e3, ideal=True)  # 575 nS ≙ 4 µs
    assert (ideal == 128).all()
    with pytest.raises(ConfigError, match="give one target"):
        calibrate_conductance(ideal=True)
    with pytest.raises(ConfigError, match="outside the reachable range"):
        calibrate_conductance(tau_icc_us=1000.0, ideal=True)
