"""Shared fixtures: chip 1 calibrated once for the session, all 512 circuits.

The calibration itself only measures; these tests may also look at the emulator's true
physics (``calib_truth``) — that is how they check it."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.calib import CalibrationStore, CalibrationTargets, calibrate

SERIAL = 1
# a/g_L = 2: the circuit's a moves in steps of 17 nS (``chip_actor.analog``), 0.074 g_L at
# τ_m = 10 µs, so 2 is ~27 steps (half a step 1.9 %, the figure's 1.5 % std); 0.2 would be 2.7
ADEX_TARGETS = CalibrationTargets(delta_t_mv=16.0, v_exp_mv=760.0, a_ratio=2.0, b_mv=20.0, tau_w_us=60.0,
                                  i_offset_mv=40.0)


@pytest.fixture(scope="session")
def calib_store(tmp_path_factory) -> CalibrationStore:
    return CalibrationStore(tmp_path_factory.mktemp("calib-store"))


@pytest.fixture(scope="session")
def calibrated(calib_store):
    """Chip 1 calibrated to the default targets (characterised and measured: ~3 s)."""
    return calibrate(serial=SERIAL, store=calib_store)


@pytest.fixture(scope="session")
def calibrated_adex(calib_store, calibrated):
    """Chip 1 calibrated with the exponential term, adaptation and a constant current."""
    return calibrate(ADEX_TARGETS, serial=SERIAL, store=calib_store)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
