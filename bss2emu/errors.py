"""The bss2emu error hierarchy: one root, flat, each class also a builtin where it fits.

Every message names the object, the value given, the limit, and the fix
(DESIGN.md §5). All errors pickle, so they cross process and Ray boundaries intact.
"""

from __future__ import annotations


class BssError(Exception):
    """Root of every error raised by bss2emu."""


class ConfigError(BssError, ValueError):
    """An experiment, parameter or file is invalid (out of range, unknown name, malformed)."""


class RoutingError(BssError, ValueError):
    """A network does not fit the hardware: too many neurons, rows, drivers or labels."""


class ChipError(BssError, RuntimeError):
    """The emulated chip was asked to do something its hardware cannot."""


class PlasticityError(BssError, RuntimeError):
    """A user plasticity kernel failed or wrote outside the hardware ranges."""


class ClusterError(BssError, RuntimeError):
    """Running the emulation on a backend failed."""


class ChipUnavailableError(ClusterError):
    """The actor that holds a chip died or cannot be reached."""

    def __init__(self, chip: int, reason: str = "") -> None:
        self.chip = chip
        self.reason = reason
        super().__init__(f"chip {chip} is unavailable{': ' + reason if reason else ''}")

    def __reduce__(self):  # keep pickling faithful to the constructor's arguments
        return (type(self), (self.chip, self.reason))


class QuantisationWarning(UserWarning):
    """A value the hardware realises only approximately, beyond the documented tolerance
    (a DAC or 4-bit step): the message names the object, the value asked for and the one
    realised, and how to come closer."""
