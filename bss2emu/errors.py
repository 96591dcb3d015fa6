"""The bss2emu error hierarchy: one root, flat, each class also a builtin where it fits.

Every message names the object, the value given, the limit, and the fix
(DESIGN.md §5). All errors pickle, so they cross process and Ray boundaries intact.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path


class BssError(Exception):
    """Root of every error raised by bss2emu."""


class ConfigError(BssError, ValueError):
    """An experiment, parameter or file is invalid (out of range, unknown name, malformed)."""


class RoutingError(BssError, ValueError):
    """A network does not fit the hardware: too many neurons, rows, drivers or labels."""


class ChipError(BssError, RuntimeError):
    """The emulated chip was asked to do something its hardware cannot."""


class PlasticityError(BssError, RuntimeError):
    """A user plasticity kernel failed or wrote outside the hardware ranges; ``results``
    (when set) holds what the run produced up to then."""

    results = None
    time_us: float | None = None  #: when the rule failed (hardware µs)


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


class EventLossWarning(UserWarning):
    """Spike events were dropped on the inter-chip network (a link's queue overflowed);
    the results count them (``metadata["dropped_events"]``, the ``links`` table)."""


class CorruptCacheWarning(UserWarning):
    """A cached file (a calibration) was truncated or damaged: it was moved aside to
    ``<name>.corrupt`` and its content is recomputed."""


def user_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the user's line: the first
    frame outside bss2emu and pyNN (whose ``run`` calls the PyNN backend)."""
    spec = importlib.util.find_spec("pyNN")
    inside = (str(Path(__file__).parent),) + ((str(Path(spec.origin).parent),) if spec and spec.origin else ())
    level = 1
    for frame in inspect.stack(context=0)[1:]:
        level += 1
        if not frame.filename.startswith(inside):
            return level - 1
    return level
