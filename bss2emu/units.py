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
