"""Clocks, the acceleration factor, and conversions between time bases.

BrainScaleS-2 runs 1000x faster than biology: 1 ms biological = 1 µs hardware.
Hardware time is kept in integer units so that results never depend on float rounding:

* FPGA ticks at 125 MHz (8 ns) time-stamp every event (``t_ticks``);
* the integration step is an integer number of nanoseconds (``dt_ns``).
"""

from __future__ import annotations

import numpy as np

ACCELERATION = 1000.0
"""Hardware time runs this many times faster than biological time."""

FPGA_CLOCK_MHZ = 125.0
"""FPGA playback / timestamp clock."""

NS_PER_TICK = 8
"""Nanoseconds per FPGA tick (125 MHz)."""

TICKS_PER_US = 125
"""FPGA ticks per microsecond of hardware time."""

CHIP_CLOCK_MHZ = 250.0
"""Neuron backend, background generator and PPU clock."""

DEFAULT_DT_NS = 100
"""Default integration step: 0.1 µs hardware = 0.1 ms biological."""


def us_to_ticks(t_us):
    """Hardware µs → FPGA ticks, rounded to the nearest tick (scalar or array)."""
    return np.rint(np.asarray(t_us, dtype=np.float64) * TICKS_PER_US).astype(np.int64)


def ticks_to_us(t_ticks):
    """FPGA ticks → hardware µs (scalar or array)."""
    return np.asarray(t_ticks, dtype=np.float64) / TICKS_PER_US


def bio_ms_to_hw_us(t_ms):
    """Biological milliseconds → hardware microseconds (the 1000x acceleration)."""
    return np.asarray(t_ms, dtype=np.float64) * (1000.0 / ACCELERATION)


def hw_us_to_bio_ms(t_us):
    """Hardware microseconds → biological milliseconds."""
    return np.asarray(t_us, dtype=np.float64) * (ACCELERATION / 1000.0)


# --- the biological ↔ hardware voltage map of the front ends (PyNN, calibration) -------------
V_OFFSET_MV = 1000.0
"""Hardware membrane voltage (mV, on the chip's 0–1200 mV scale) of 0 mV biological."""

V_SCALE = 10.0
"""Hardware mV per biological mV."""


def bio_mv_to_hw_mv(v_bio_mv):
    """Biological membrane voltage (mV) → hardware voltage (mV): ``1000 + 10·v``
    (−65 mV → 350 mV, −50 mV → 500 mV)."""
    return V_OFFSET_MV + V_SCALE * np.asarray(v_bio_mv, dtype=np.float64)


def hw_mv_to_bio_mv(v_hw_mv):
    """Hardware voltage (mV) → biological membrane voltage (mV)."""
    return (np.asarray(v_hw_mv, dtype=np.float64) - V_OFFSET_MV) / V_SCALE
