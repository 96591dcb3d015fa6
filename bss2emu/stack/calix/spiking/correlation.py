"""``calix.spiking.correlation``: the correlation sensors' calibration, with calix's names.

calix calibrates the sensors' amplitude (CADC codes one pre/post pair adds at Δt = 0) and time
constant through the CapMem currents ``syn_i_bias_store`` and ``syn_i_bias_ramp`` of each
quadrant (``CorrelationCalibTarget``: 0.5 codes and 5 µs by default; the weekly "correlation"
calibration the plasticity demos load: 1.5 codes and 30 µs). bss2emu's ideal sensors follow
``chip_actor.analog.correlation_sensor``, so the calibration is that map's inverse
(``analog.correlation_currents``); the result goes into a ``lola.Chip``'s
``cadc_readout_chains[...].correlation`` (``i_bias_ramp``/``i_bias_store`` per quadrant of the
hemisphere), where ``setup(initial_config=...)`` of the PyNN drop-in reads it back
(``sensor_of_chip``).

>>> import quantities as pq
>>> result = calibrate(CorrelationCalibTarget(amplitude=1.5, time_constant=30 * pq.us))
>>> (result.i_bias_ramp.tolist(), result.i_bias_store.tolist())
([13, 13, 13, 13], [23, 23, 23, 23])
>>> from bss2emu.stack import lola
>>> chip = lola.Chip()
>>> result.write_to(chip)
>>> [round(x, 3) for x in sensor_of_chip(chip)]
[30.769, 1.522]
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import quantities as pq

from ....chip_actor.analog import correlation_currents, correlation_sensor
from ....errors import ConfigError
from ... import halco

QUADRANTS = 4
AMPLITUDE_RANGE = (0.2, 2.0)  # calix's check_values for the amplitude (codes per pair)
TIME_CONSTANT_RANGE_US = (2.0, 30.0)  # and for the time constant


@dataclass
class CorrelationCalibTarget:
    """calix's (``pyccalix``) correlation targets: ``amplitude`` in CADC codes per correlated
    pair at Δt = 0, ``time_constant`` a time (``quantities``)."""

    amplitude: float = 0.5
    time_constant: Any = field(default_factory=lambda: 5.0 * pq.us)

    def tau_us(self) -> float:
        if not isinstance(self.time_constant, pq.Quantity):
            raise ConfigError(f"CorrelationCalibTarget.time_constant={self.time_constant!r} has no unit: give a "
                              f"quantities.Quantity, e.g. 30 * pq.us")
        return float(self.time_constant.rescale(pq.us).magnitude)


class _Branches(enum.Enum):
    """calix's ``CorrelationCalibOptions.Branches``: the correlation traces a calibration considers."""

    CAUSAL = 0
    ACAUSAL = 1
    BOTH = 2


@dataclass
class CorrelationCalibOptions:
    """calix's correlation options. ``branches`` (``CorrelationCalibOptions.Branches``, calix's
    default ``BOTH``), ``calibrate_synapses``, ``default_amp_calib``, ``default_time_calib`` and
    ``time_constant_priority`` are accepted (bss2emu's sensors have no per-synapse mismatch to
    trim, and causal and acausal branches share the currents); ``v_res_meas`` (V) and
    ``v_reset`` (V) are kept with the result (the emulated sensors read their reset level from
    ``cpp_kernel.CORRELATION_RESET_MV``).

    >>> options = CorrelationCalibOptions()
    >>> options.branches = CorrelationCalibOptions.Branches.CAUSAL  # as calix's weekly calibration
    >>> options.branches.name
    'CAUSAL'
    """

    Branches: ClassVar[type[_Branches]] = _Branches
    branches: Any = _Branches.BOTH
    calibrate_synapses: bool = False
    default_amp_calib: int = 0
    default_time_calib: int = 0
    time_constant_priority: float = 0.3
    v_res_meas: Any = 0.9
    v_reset: Any = 1.85


@dataclass
class CorrelationCalibResult:
    """The calibrated CapMem currents per quadrant (``CapMemBlockOnDLS``), as calix's."""

    target: CorrelationCalibTarget
    options: CorrelationCalibOptions
    i_bias_ramp: np.ndarray
    i_bias_store: np.ndarray

    def write_to(self, chip) -> None:
        """Put the currents into ``chip``'s CADC readout chains (per hemisphere its two quadrants)."""
        for cadc in halco.iter_all(halco.CADCOnDLS):
            h = int(cadc)
            corr = chip.cadc_readout_chains[cadc].correlation
            corr.i_bias_ramp = np.asarray(self.i_bias_ramp[2 * h:2 * h + 2], np.int64).copy()
            corr.i_bias_store = np.asarray(self.i_bias_store[2 * h:2 * h + 2], np.int64).copy()


def calibrate(target: CorrelationCalibTarget | None = None,
              options: CorrelationCalibOptions | None = None) -> CorrelationCalibResult:
    """The currents that give ``target`` on bss2emu's sensors, after calix's range checks."""
    target = CorrelationCalibTarget() if target is None else target
    options = CorrelationCalibOptions() if options is None else options
    amplitude, tau_us = float(target.amplitude), target.tau_us()
    for name, value, (lo, hi), unit in (("amplitude", amplitude, AMPLITUDE_RANGE, ""),
                                        ("time_constant", tau_us, TIME_CONSTANT_RANGE_US, " us")):
        if not lo <= value <= hi:
            raise ConfigError(f"CorrelationCalibTarget.{name}={value:g}{unit} is outside calix's feasible range "
                              f"{lo:g}..{hi:g}{unit}; choose a target inside it")
    ramp, store = correlation_currents(tau_us, amplitude)
    return CorrelationCalibResult(target, options, np.full(QUADRANTS, ramp, np.int64),
                                  np.full(QUADRANTS, store, np.int64))


def sensor_of_chip(chip) -> tuple[float, float] | None:
    """(τ in µs, amplitude in codes per pair) of the sensors a ``lola.Chip`` configures, or None
    when its correlation currents are not set (0: lola's default, no calibration — the
    emulator's default sensors then). bss2emu's sensors share one τ and amplitude per chip:
    quadrants set differently are refused."""
    chains = list(chip.cadc_readout_chains)
    ramp = np.concatenate([np.asarray(c.correlation.i_bias_ramp).reshape(-1) for c in chains])
    store = np.concatenate([np.asarray(c.correlation.i_bias_store).reshape(-1) for c in chains])
    if not ramp.any() and not store.any():
        return None
    for name, values in (("i_bias_ramp", ramp), ("i_bias_store", store)):
        if values.min() != values.max() or values.min() < 1:
            raise ConfigError(f"the chip's correlation {name} per quadrant is {values.tolist()}: bss2emu's sensors "
                              f"share one time constant and amplitude per chip; set all quadrants to one value "
                              f"in 1..1022 (a calix correlation calibration does)")
    return correlation_sensor(int(ramp[0]), int(store[0]))


__all__ = ["CorrelationCalibTarget", "CorrelationCalibOptions", "CorrelationCalibResult", "calibrate",
           "sensor_of_chip"]
