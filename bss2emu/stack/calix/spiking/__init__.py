"""``calix.spiking``: the spiking calibration's target, options and result.

``SpikingCalibResult`` holds bss2emu's ``CalibrationResult`` (``.calibration``) and gives
it as the real stack does: ``to_chip()`` → a ``lola.Chip`` whose AtomicNeurons carry the
calibrated values, ``apply(builder)`` → their writes into a playback program. With a
``correlation_target`` the correlation sensors are calibrated too (``correlation``): their
CapMem currents go into the chip's CADC readout chains.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ....calib.result import CalibrationResult
from ....errors import ConfigError
from ... import halco, lola
from . import correlation as _correlation
from .correlation import CorrelationCalibOptions, CorrelationCalibResult, CorrelationCalibTarget
from .neuron import NeuronCalibOptions, NeuronCalibTarget


@dataclass
class SpikingCalibTarget:
    """calix's target of a spiking calibration: the neuron targets and, if given, the
    correlation sensors' (CADC and STP targets are accepted; bss2emu's CADC and synapse drivers
    need no calibration)."""

    cadc_target: Any = None
    neuron_target: NeuronCalibTarget = field(default_factory=NeuronCalibTarget)
    stp_target: Any = None
    correlation_target: CorrelationCalibTarget | None = None

    def to_calibration_targets(self):
        if not isinstance(self.neuron_target, NeuronCalibTarget):
            raise ConfigError(f"SpikingCalibTarget.neuron_target must be a calix.spiking.neuron.NeuronCalibTarget, "
                              f"got {type(self.neuron_target).__name__}")
        return self.neuron_target.to_calibration_targets()


@dataclass
class SpikingCalibOptions:
    """calix's options of a spiking calibration; accepted, none changes bss2emu's calibration."""

    cadc_options: Any = None
    neuron_options: NeuronCalibOptions = field(default_factory=NeuronCalibOptions)
    stp_options: Any = None
    correlation_options: CorrelationCalibOptions = field(default_factory=CorrelationCalibOptions)
    refine_potentials: bool = False


class SpikingCalibResult:
    """A spiking calibration of one emulated chip."""

    def __init__(self, target: SpikingCalibTarget, options: SpikingCalibOptions,
                 calibration: CalibrationResult) -> None:
        self.target, self.options, self.calibration = target, options, calibration
        correlation_target = getattr(target, "correlation_target", None)
        #: the correlation sensors' calibration, or None (no ``correlation_target``)
        self.correlation: CorrelationCalibResult | None = None if correlation_target is None else \
            _correlation.calibrate(correlation_target, getattr(options, "correlation_options", None))

    def to_chip(self, initial_config: lola.Chip | None = None, chip: lola.Chip | None = None) -> lola.Chip:
        """A ``lola.Chip`` (a copy of ``initial_config``/``chip`` if given) whose neuron block
        holds the calibrated AtomicNeurons and backends (per ``AtomicNeuonOnDLS`` enum)."""
        base = initial_config if initial_config is not None else chip
        out = lola.Chip() if base is None else copy.deepcopy(base)
        calibrated = lola.Chip.from_neuron_values(self.calibration.neuron_values())
        out.neuron_block = calibrated.neuron_block
        if getattr(self, "correlation", None) is not None:  # (results pickled before it existed have none)
            self.correlation.write_to(out)
        return out

    def apply(self, builder) -> None:
        """Write the calibrated neuron block (and the calibrated CADC readout chains, with the
        correlation currents) into a playback program builder."""
        chip = self.to_chip()
        block = chip.neuron_block
        for coord in halco.iter_all(halco.CommonNeuronBackendConfigOnDLS):
            builder.write(coord, block.backends[coord])
        for coord in halco.iter_all(halco.AtomicNeuronOnDLS):
            builder.write(coord, block.atomic_neurons[coord])
        if getattr(self, "correlation", None) is not None:
            for coord in halco.iter_all(halco.CADCOnDLS):
                builder.write(coord, chip.cadc_readout_chains[coord])


__all__ = ["SpikingCalibTarget", "SpikingCalibOptions", "SpikingCalibResult", "NeuronCalibTarget",
           "NeuronCalibOptions", "CorrelationCalibTarget", "CorrelationCalibOptions", "CorrelationCalibResult"]
