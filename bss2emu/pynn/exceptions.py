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


def _projection(name: str) -> str:
    """The PyNN label of an experiment projection (``bss2emu.pynn`` names them ``label#k``)."""
    return name.rsplit("#", 1)[0]


_ROUTING_FIX = {  # reason → the limit in PyNN's terms (format fields: the error's details)
    "fan_in": "population {population!r} neuron {neuron} receives input from {fan_in} presynaptic neurons; a "
              "BrainScaleS-2 neuron has {limit} synapse rows, one per presynaptic neuron (wherever it is placed): "
              "connect at most {limit} neurons onto each, e.g. FixedNumberPreConnector(n<={limit}), or drive it from "
              "fewer, stronger sources",
    "drivers": "neuron {unit} of population {source!r} finds no free synapse driver on chip {chip} for "
               "projection(s) {projections}: the chip's {drivers} drivers are taken by the other presynaptic "
               "neurons; connect fewer presynaptic neurons or use a smaller fan-in (FixedNumberPreConnector with a "
               "smaller n), or spread the postsynaptic population over more chips (setup(chips=...), "
               "population.annotate(chip=k))",
    "delay": "projection {projection!r} asks for delay {delay_ms:g} ms, but its connections need at least "
             "{needed_ms:.3f} ms ({route}): use delay >= {needed_ms:.3f} ms",
    "stp": "projections {projections} leave population {source!r} with different synapse types; all synapses "
           "of a presynaptic neuron share its synapse driver's short-term plasticity: give them the same "
           "TsodyksMarkramSynapse parameters (or all StaticSynapse), or split {source!r} into two populations",
    "background_delay": "projection {projection!r}: SpikeSourcePoissonOnChip {source!r} feeds its chip directly; "
                        "its events cannot be delayed: use delay=min_delay",
    "background_count": "{count} SpikeSourcePoissonOnChip populations ({sources}) reach chip {chip}, which has "
                        "{limit} background generators: merge them (size up to 64) or use SpikeSourcePoisson",
    "capacity": "the populations need {need} neuron circuits; {chips} chip(s) have {have} ({per_chip} each): use "
                "smaller populations or more chips (setup(chips={chips_needed}))",
    "pinned_chip": "population {population!r} is pinned to chip {chip} (annotate(chip=...)), but the system has "
                   "chips 0..{last}: pin it to an existing chip or use more chips (setup(chips=...))",
    "pinned_load": "populations {populations} pinned to chip {chip} need {need} neuron circuits; a chip has "
                   "{per_chip}: annotate some of them with another chip",
}


def connection_error(err: RoutingError) -> ConnectionError:
    """The PyNN ``ConnectionError`` for a network the routing could not map: the limit
    ``err`` hit, worded for PyNN (connectors, delays in ms, ``setup``/``annotate``); a
    ``RoutingError`` without ``reason`` keeps its core message."""
    from ..protocol import coordinates as C

    reason, d = getattr(err, "reason", None), dict(getattr(err, "details", {}))
    if reason not in _ROUTING_FIX:
        return ConnectionError(f"the network does not fit the hardware: {err} (µs hardware = ms biological; "
                               f"delay_us is the PyNN delay, 'delay_us: null' min_delay)")
    if "projection" in d:
        d["projection"] = _projection(d["projection"])
    if "projections" in d:
        d["projections"] = ", ".join(repr(p) for p in dict.fromkeys(map(_projection, d["projections"])))
    if reason == "delay":  # µs hardware = ms biological
        d.update(delay_ms=d["delay_us"], needed_ms=d["needed_us"],
                 route="FPGA route latency " + ("across chips" if d["across_chips"] else "of a loop-back on one chip"))
    d.update(per_chip=C.NEURONS_PER_CHIP, count=len(d.get("sources", ())), sources=", ".join(
        repr(s) for s in d.get("sources", ())) or None)
    if reason == "capacity":
        d.update(have=d["chips"] * C.NEURONS_PER_CHIP, chips_needed=-(-d["need"] // C.NEURONS_PER_CHIP))
    if reason == "pinned_chip":
        d["last"] = d["chips"] - 1
    return ConnectionError(f"the network does not fit the hardware: {_ROUTING_FIX[reason].format(**d)}")
