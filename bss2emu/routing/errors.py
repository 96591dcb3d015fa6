"""``RoutingError`` with the limit that was hit, for front ends to explain in their terms.

The message speaks the core API (experiment files: ``fixed_number_pre``, ``delay_us``);
``reason`` (one of ``REASONS``) and ``details`` (the names and numbers in the message)
let a front end such as ``bss2emu.pynn`` word the same limit for its users. Both travel
with the exception (pickled in its ``__dict__``), also across Ray.
"""

from __future__ import annotations

from ..errors import RoutingError

REASONS = ("capacity", "pinned_chip", "pinned_load", "delay", "stp", "background_delay", "background_count",
           "drivers", "fan_in", "pinned_circuits")


def routing_error(message: str, reason: str, **details) -> RoutingError:
    """A ``RoutingError`` with ``message`` that also carries ``reason`` and ``details``."""
    if reason not in REASONS:
        raise ValueError(f"unknown routing limit {reason!r}")
    err = RoutingError(message)
    err.reason, err.details = reason, details
    return err
