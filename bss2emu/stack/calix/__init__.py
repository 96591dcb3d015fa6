"""calix: the real stack's calibration entry point over ``bss2emu.calib``.

``calibrate(SpikingCalibTarget(...))`` calibrates the connection's emulated chip (serial and
mismatch from ``hxcomm``) with bss2emu's calibration — measured through the emulated
CADC/MADC and spikes, stored per serial — and returns a result with ``to_chip()`` and
``apply(builder)``. ``nightly_calibration()`` is the "nightly" calibration the real
systems deploy: the default spiking calibration of the chip, offline from the store
(measured once per chip serial).

>>> from bss2emu.stack import calix, halco, hxcomm
>>> with hxcomm.ManagedConnection(ideal=True) as connection:
...     result = calix.calibrate(calix.spiking.SpikingCalibTarget(), connection=connection)
>>> neuron = result.to_chip().neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(0)]
>>> neuron.threshold.enable, neuron.leak.v_leak == int(result.calibration.dac["v_leak"][0])
(True, True)
"""

from __future__ import annotations

from pathlib import Path

from ...calib import calibrate as _calibrate
from ...calib.result import CalibrationStore
from ...errors import ConfigError
from .. import hxcomm, lola
from . import spiking
from .spiking import SpikingCalibOptions, SpikingCalibResult, SpikingCalibTarget


def calibrate(target: SpikingCalibTarget, options: SpikingCalibOptions | None = None, cache_paths=None,
              cache_read_only: bool = False, connection=None) -> SpikingCalibResult:
    """Calibrate the emulated chip of ``connection`` (default: ``hxcomm``'s chip) to
    ``target``. ``cache_paths``: directories of the calibration store (the first is used;
    default ``$BSS2EMU_CALIB_DIR`` or ``~/.cache/bss2emu/calib``)."""
    if not isinstance(target, SpikingCalibTarget):
        raise ConfigError(f"calix.calibrate({type(target).__name__}): bss2emu calibrates spiking neurons only; "
                          f"give a calix.spiking.SpikingCalibTarget (the hagen/MAC-mode calibration is not "
                          f"emulated)")
    options = options if options is not None else SpikingCalibOptions()
    if connection is not None and hasattr(connection, "serial"):
        serial, ideal = connection.serial, connection.ideal
    else:
        serial, ideal = hxcomm.chip_identity()
    store = True
    if cache_paths:
        paths = list(cache_paths) if isinstance(cache_paths, (list, tuple)) else [cache_paths]
        store = CalibrationStore(Path(paths[0]))
    result = _calibrate(target.to_calibration_targets(), serial=serial, ideal=ideal, store=store)
    return SpikingCalibResult(target, options, result)


def nightly_calibration(serial: int | None = None, ideal: bool | None = None) -> SpikingCalibResult:
    """The default spiking calibration of the chip (``hxcomm.chip_identity()`` unless
    given), from the store — measured on first use for a chip serial."""
    with hxcomm.ManagedConnection(serial, ideal) as connection:
        return calibrate(SpikingCalibTarget(), connection=connection)


def nightly_chip(serial: int | None = None, ideal: bool | None = None) -> lola.Chip:
    """``nightly_calibration(...).to_chip()``: what ``chip_from_nightly`` returns on hardware."""
    return nightly_calibration(serial, ideal).to_chip()


__all__ = ["calibrate", "nightly_calibration", "nightly_chip", "spiking", "SpikingCalibTarget",
           "SpikingCalibOptions", "SpikingCalibResult"]
