"""``hxtorch``'s top level for ``bss2emu exec``: the names scripts call on ``hxtorch``
itself, taken from ``bss2emu.ann`` (``hxtorch.perceptron``) and ``bss2emu.snn``
(``hxtorch.snn``, with hxtorch's hardware-unit defaults: ``stack.hxtorch_snn``), and the set-up names (``init_hardware`` with a ``CalibrationPath`` or
``HWDBPath``, ``logger``). Names only; the modules hold the implementation. Requires the
``torch`` extra.

>>> import bss2emu.stack.hxtorch as hxtorch
>>> hxtorch.init_hardware(hxtorch.CalibrationPath("no-such-file.pbin"))
Traceback (most recent call last):
  ...
bss2emu.errors.ConfigError: hxtorch.init_hardware(CalibrationPath('no-such-file.pbin')): no such file; ...
"""

from __future__ import annotations

from pathlib import Path

from bss2emu import ann as perceptron
from bss2emu.stack import hxtorch_snn as snn
from bss2emu.ann import (
    add, argmax, conv1d, conv2d, converting_relu, matmul, measure_mock_parameter, release_hardware, relu,
)
from bss2emu.ann import nn
from bss2emu.errors import ConfigError
from bss2emu.stack import logger

spiking = snn  # hxtorch's newer name of hxtorch.snn

__all__ = ["snn", "spiking", "perceptron", "nn", "init_hardware", "release_hardware", "matmul", "conv1d", "conv2d", "relu",
           "converting_relu", "argmax", "add", "measure_mock_parameter", "CalibrationPath", "HWDBPath", "logger"]

# a package path, so that ``import hxtorch.snn`` finds the submodules bss2emu exec binds
__path__: list[str] = []


class CalibrationPath:
    """A calibration file for ``init_hardware`` (hxtorch's name)."""

    def __init__(self, value: str) -> None:
        self.value = str(value)

    def __repr__(self) -> str:
        return f"CalibrationPath({self.value!r})"


class HWDBPath:
    """A hardware database for ``init_hardware`` (hxtorch's name; ``path=None``: the default)."""

    def __init__(self, path: str | None = None, version: str = "stable/latest") -> None:
        self.path, self.version = path, version

    def __repr__(self) -> str:
        return f"HWDBPath({self.path!r}, {self.version!r})"


def init_hardware(calibration: CalibrationPath | HWDBPath | None = None, spiking: bool = False,
                  ann: bool = False) -> None:
    """Select the emulated chip, as hxtorch's ``init_hardware`` connects to a real one. A
    ``CalibrationPath`` must name a file (as the real stack loads it), but its content is
    not read: the emulated chip's MAC mode is calibrated by bss2emu (``ann.init_hardware``,
    kept in the calibration store), as the file's calibration was measured on the real chip.
    ``spiking=True`` alone selects nothing: ``hxtorch.snn`` experiments calibrate their
    neurons themselves."""
    if isinstance(calibration, CalibrationPath):
        if not Path(calibration.value).is_file():
            raise ConfigError(f"hxtorch.init_hardware({calibration!r}): no such file; save one first "
                              f"(save_nightly_calibration) or call init_hardware() without a calibration")
    elif calibration is not None and not isinstance(calibration, HWDBPath):
        raise ConfigError(f"hxtorch.init_hardware({calibration!r}): give a hxtorch.CalibrationPath, a "
                          f"hxtorch.HWDBPath or nothing")
    if spiking and not ann and not isinstance(calibration, CalibrationPath):
        return
    perceptron.init_hardware()
