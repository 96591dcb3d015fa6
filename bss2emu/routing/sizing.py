"""The smallest system a network fits: place-and-route tried on growing chip counts.

A front end that names no system (``bss2emu.pynn``'s ``setup()`` without ``chips=`` or
``system=``) asks ``smallest_mapping`` for one: systems of ``n`` identical chips
(``system_with_chips(n)``, the default JBOA-like network) are mapped for
``n = n0, n0 + 1, …``, where ``n0`` is what the neuron count and the pinned chips need at
least; the first that maps is taken. Only limits that more chips relieve (neuron circuits,
synapse drivers, background generators, a population pinned to a chip beyond the system)
move on to the next count; any other limit (fan-in of one neuron, STP, delays) is the
network's and raised at once. Beyond ``LINEAR_CHIPS`` counts above ``n0`` the count
doubles and the fit is then bisected, so that networks of hundreds of chips size in a few
dozen mappings (there "smallest" assumes that a fit on ``n`` chips implies one on ``n + 1``).

Each mapping is ``map_experiment``'s (cached on topology), and the chosen count is kept per
topology, so a network that runs again, with new stimuli or weights, is not sized again.
"""

from __future__ import annotations

from collections import OrderedDict

from ..errors import RoutingError
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol.system import system_with_chips
from .mapping import SystemMapping, map_experiment, topology_key
from .errors import routing_error

MAX_CHIPS = 120
"""The largest system sized automatically: the largest shipped one (``jboa-120``; BSS-2
systems of about 120 chips exist). A larger one must be asked for by name or chip count."""
LINEAR_CHIPS = 16
"""Chip counts tried one by one above the lower bound before the count doubles."""
MORE_CHIPS_HELP = ("capacity", "drivers", "background_count", "pinned_chip")
"""Routing limits (``RoutingError.reason``) that a larger system can relieve."""

_CHOSEN: OrderedDict[str, int] = OrderedDict()
_CHOSEN_SIZE = 32


def lower_bound_chips(exp: E.Experiment) -> int:
    """Chips the network needs at least: its neurons (512 circuits per chip) and the
    highest chip a population is pinned to."""
    neurons = sum(p.size for p in exp.populations)
    pinned = max((p.chip for p in exp.populations if p.chip is not None), default=-1)
    return max(1, -(-neurons // C.NEURONS_PER_CHIP), pinned + 1)


def smallest_mapping(exp: E.Experiment, partitioner: str = "metis", max_chips: int = MAX_CHIPS) -> SystemMapping:
    """The mapping of ``exp`` onto the smallest system of identical chips it fits
    (``len(mapping.chips)`` chips); a ``RoutingError`` if it fits none up to ``max_chips``
    or hits a limit that more chips do not relieve."""
    key = topology_key(exp, system_with_chips(1)) + partitioner
    if key in _CHOSEN:
        _CHOSEN.move_to_end(key)
        return map_experiment(exp, system_with_chips(_CHOSEN[key]), partitioner)
    n0 = lower_bound_chips(exp)
    if n0 > max_chips:
        raise routing_error(
            f"the populations need {n0} chips ({sum(p.size for p in exp.populations)} neurons, "
            f"{C.NEURONS_PER_CHIP} circuits per chip); the largest system has {max_chips}: use smaller populations",
            "capacity", need=sum(p.size for p in exp.populations), chips=max_chips,
            per_chip=C.NEURONS_PER_CHIP)
    tried: dict[int, SystemMapping | RoutingError] = {}

    def attempt(n: int) -> SystemMapping | RoutingError:
        if n not in tried:
            try:
                tried[n] = map_experiment(exp, system_with_chips(n), partitioner)
            except RoutingError as err:
                if getattr(err, "reason", None) not in MORE_CHIPS_HELP:
                    raise
                tried[n] = err
        return tried[n]

    n, fail = n0, None
    while not isinstance(attempt(n), SystemMapping):
        fail = n
        if n == max_chips:
            err = tried[n]
            raise routing_error(f"{err}; no system of {n0} to {max_chips} chips fits the network", err.reason,
                                **err.details)
        n = n + 1 if n < n0 + LINEAR_CHIPS else min(2 * n, max_chips)
    while fail is not None and n - fail > 1:  # bisect between the last failure and the first fit
        mid = (n + fail) // 2
        if isinstance(attempt(mid), SystemMapping):
            n = mid
        else:
            fail = mid
    _CHOSEN[key] = n
    if len(_CHOSEN) > _CHOSEN_SIZE:
        _CHOSEN.popitem(last=False)
    return tried[n]

