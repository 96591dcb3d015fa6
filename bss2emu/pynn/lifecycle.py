"""Where a PyNN script is in its life — before ``setup()``, set up, after ``end()`` — and
the one check that ``run``, ``Population`` and ``Projection`` make of it.

pyNN.nest raises NEST's errors when a script builds or runs outside this life cycle (or, for
``run`` before ``setup``, runs an empty kernel); bss2emu used to return silently. Here the
calls raise ``SimulatorStateError`` (a ``RuntimeError``; PyNN defines no error for this) that
names the call and the fix; an empty population is PyNN's ``InvalidDimensionsError``.

>>> import bss2emu.pynn as sim
>>> _ = sim.setup()
>>> sim.end()
>>> sim.run(10.0)
Traceback (most recent call last):
...
bss2emu.pynn.lifecycle.SimulatorStateError: run() after end(): the network was forgotten; call setup() to start a new one
"""

from __future__ import annotations

from numbers import Integral

from pyNN import errors as pynn_errors

from ..errors import BssError, ConfigError

NEW, SET_UP, ENDED = "before setup()", "set up", "after end()"
_phase = NEW


class SimulatorStateError(BssError, RuntimeError):
    """A PyNN call made before ``setup()`` or after ``end()``."""


class InvalidDimensionsError(pynn_errors.InvalidDimensionsError, ConfigError):
    """PyNN's error for a population or view of impossible size."""


def started() -> None:
    """``setup()`` was called: a new network."""
    global _phase
    _phase = SET_UP


def ended() -> None:
    """``end()`` was called: the network is forgotten."""
    global _phase
    _phase = ENDED


def require_setup(call: str) -> None:
    """Raise ``SimulatorStateError`` unless ``setup()`` was called and ``end()`` was not since."""
    if _phase == NEW:
        raise SimulatorStateError(f"{call} before setup(): call sim.setup(timestep=...) first")
    if _phase == ENDED:
        raise SimulatorStateError(f"{call} after end(): the network was forgotten; call setup() to start a new one")


def require_size(size, label: str | None) -> None:
    """An empty population is refused (PyNN would fail with an IndexError inside)."""
    total = int(size) if isinstance(size, Integral) else None
    if isinstance(size, tuple):
        total = 1
        for n in size:
            total *= int(n) if isinstance(n, Integral) else 1
    if total is not None and total < 1:
        raise InvalidDimensionsError(f"Population{' ' + repr(label) if label else ''}: size={size!r} has no neurons; "
                                     f"a population needs at least one (leave it out instead)")
