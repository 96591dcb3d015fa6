"""Errors that are PyNN's and bss2emu's at once: ``except pyNN.errors.X`` and
``except bss2emu.BssError`` both catch them."""

from __future__ import annotations

from pyNN import errors as pynn_errors

from ..errors import BssError, ConfigError, RoutingError


class InvalidParameterValueError(pynn_errors.InvalidParameterValueError, ConfigError):
    """A parameter value the hardware cannot realise (names the parameter, range and fix)."""


class ConnectionError(pynn_errors.ConnectionError, RoutingError):  # noqa: A001 - PyNN's name
    """A connection the hardware cannot make (delay, STP sharing, fan-in, …)."""


class RecordingError(pynn_errors.RecordingError, BssError):
    """A variable the emulated chip has no readout for."""

    def __init__(self, variable, cell_type, reason: str) -> None:
        super().__init__(variable, cell_type)
        self.reason = reason

    def __str__(self) -> str:
        name = getattr(self.variable, "name", self.variable)
        return (f"Cannot record {name} from {self.cell_type.__class__.__name__} on BrainScaleS-2: {self.reason}. "
                f"Recordable here: {', '.join(self.cell_type.hardware_recordable) or 'nothing'}")

    def __reduce__(self):
        return (type(self), (self.variable, self.cell_type, self.reason))


class InvalidModelError(pynn_errors.InvalidModelError, ConfigError):
    """A cell or synapse type that is not one of this backend's."""


class NoModelAvailableError(pynn_errors.NoModelAvailableError, NotImplementedError, BssError):
    """A PyNN model BrainScaleS-2 has no circuit for (names the closest one that exists).

    Also a ``NotImplementedError``, which PyNN's ``ModelNotAvailable`` raises for a model a
    backend lacks (pyNN.neuron's ``IF_curr_delta``; scripts guard with it), while pyNN.nest
    raises ``NoModelAvailableError`` for a model missing from its NEST build."""
