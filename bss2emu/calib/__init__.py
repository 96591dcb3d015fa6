"""Calibration and parameter translation (DESIGN.md §1, "calib").

Every analog circuit of a chip maps its DAC values to physical parameters a little
differently (fixed-pattern mismatch, keyed to the chip's serial number). Calibration finds,
for each of a chip's 512 circuits, the DAC values that reach given targets — by measuring
the emulated chip through its CADC, MADC and spike outputs, the way BSS-2's calix does on
hardware, never by reading the mismatch back:

>>> from bss2emu.calib import CalibrationTargets, calibrate
>>> result = calibrate(CalibrationTargets(tau_m_us=12.0), serial=0, ideal=True, store=False)
>>> int(result.dac["i_bias_leak"][0]), float(result.achieved["tau_m_us"][0]) > 11.5
(89, True)

Modules: ``bench`` (the chip wired for measurements), ``measure`` / ``measure_adex`` (the
measurements), ``fit`` (vectorised bisection and fits), ``models`` (transfer models and
their characterisation), ``calibration`` (characterise, then choose and verify DAC values),
``targets``, ``result`` (result and on-disk store per serial), ``translate`` (PyNN's
biological units ↔ hardware), ``cli`` (``bss2emu calibrate``).
"""

from .calibration import calibrate, characterise, refractory_setting
from .models import QUANTITIES, Characterisation, ideal_characterisation
from .result import CalibrationResult, CalibrationStore
from .targets import TARGET_FIELDS, CalibrationTargets
from .translate import BIO_MAP, BioMap, bio_targets, bio_to_hw, calibrate_bio, weight_lsb, weights_to_hw

__all__ = [
    "calibrate", "characterise", "refractory_setting", "Characterisation", "ideal_characterisation", "QUANTITIES",
    "CalibrationResult", "CalibrationStore", "CalibrationTargets", "TARGET_FIELDS", "BioMap", "BIO_MAP",
    "bio_targets", "bio_to_hw", "calibrate_bio", "weight_lsb", "weights_to_hw",
]
