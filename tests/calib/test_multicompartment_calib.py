"""The inter-compartment conductance calibration, measured through the CADC, against the
emulated chip's truth (its mismatch, which the calibration never reads)."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.calib.multicompartment import calibrate_conductance, conductance_settings, nominal_dac
from bss2emu.chip_actor.analog import chip_mismatch, neuron_physics
from bss2emu.errors import ConfigError
from bss2emu.protocol.hardware import G_ICC_US_PER_LSB, ChipConfig

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
    assert (ideal == round(2.3 / (G_ICC_US_PER_LSB * 4.0))).all()
    with pytest.raises(ConfigError, match="give one target"):
        calibrate_conductance(ideal=True)
    with pytest.raises(ConfigError, match="outside the reachable range"):
        calibrate_conductance(tau_icc_us=1000.0, ideal=True)


def test_division_and_multiplication_extend_the_range_as_calix_decides():
    """A target needing a setting below 63 divides the conductance by 8, above 959
    multiplies it: on the mismatched chip each circuit's realised τ_icc (its true C/g)
    is within the calibration's tolerance at both ends and in the middle."""
    tau = np.full(512, np.nan)
    tau[:100], tau[100:200], tau[200:300] = 60.0, 0.25, 4.0
    s = conductance_settings(tau, serial=SERIAL)
    assert s["conductance_division"][:100].all() and not s["conductance_division"][100:].any()
    assert s["conductance_multiplication"][100:200].all() and not s["conductance_multiplication"][200:].any()
    assert (s["i_bias_conductance"][300:] == 0).all()
    cfg = ChipConfig()
    for name, v in s.items():
        cfg.neurons.column(name)[:] = v
    phys = neuron_physics(cfg.neurons, chip_mismatch(SERIAL))
    realised = phys.c_m[:300] / phys.g_icc[:300]
    measurable = np.arange(300) % 256 < 255
    assert np.percentile(np.abs(realised / tau[:300] - 1)[measurable], 95) < 0.08
    with pytest.raises(ConfigError, match=r"τ_icc = 1e\+04 µs .*outside the reachable range"):
        conductance_settings(np.full(512, 1e4), ideal=True)  # 0.23 nS: below 3.3 nS / 8
