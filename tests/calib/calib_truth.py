"""The emulator's true neuron physics for a calibration result — for checking calibration
in tests only (calibration itself never reads the mismatch or the physics)."""

from __future__ import annotations

from bss2emu.calib import calibrate
from bss2emu.chip_actor.analog import NeuronPhysics, chip_mismatch, neuron_physics
from bss2emu.protocol.hardware import NeuronConfig

SERIAL = 1


def true_physics(result, serial: int = SERIAL) -> NeuronPhysics:
    """What the emulator integrates for a calibration result's configuration."""
    cfg = NeuronConfig()
    result.apply(cfg)
    return neuron_physics(cfg, chip_mismatch(serial, ideal=result.ideal))


def uniform_physics(result, serial: int = SERIAL) -> NeuronPhysics:
    """Before calibration: every circuit at the nominal DAC values for the same targets
    (the exact inverse of an ideal chip), on the real chip's mismatch."""
    nominal = calibrate(result.targets, serial=serial, ideal=True, store=False)
    cfg = NeuronConfig()
    nominal.apply(cfg)
    return neuron_physics(cfg, chip_mismatch(serial))
