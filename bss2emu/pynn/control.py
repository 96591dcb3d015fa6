"""``setup``, ``run``, ``reset``, ``end`` and the state queries of the bss2emu backend."""

from __future__ import annotations

import warnings

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from ..cluster import PLACEMENTS
from ..errors import ConfigError
from ..protocol.system import as_system
from ..routing.mapping import PARTITIONERS
from . import lifecycle, simulator
from .segments import run_segment
from .exceptions import InvalidParameterValueError

MAX_DELAY_US = 1000.0
"""The FPGA delays events by up to 1000 µs hardware (``Projection.delay_us``)."""
MAX_DELAY_MS = MAX_DELAY_US
"""The same in bss2emu.pynn's (biological) ms."""


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, *, chips=None, system=None, placement="local",
          address=None, seed=0, ideal=True, serial=0, partitioner="metis", service=None, token=None,
          **extra_params):
    """Start a new network on emulated BrainScaleS-2 chips.

    ``timestep`` (ms biological = µs hardware) is the integration step; ``min_delay``
    ('auto': one step) the smallest delay a projection may ask for. Between neurons a delay
    from one network hop (0.325 ms) on is realised exactly by the FPGA; a shorter one is a
    direct connection (within the step on one chip, the route latency between chips).
    ``chips``/``system`` choose the emulated system (``system`` a shipped name like ``"cube-4"``, a YAML file
    or a SystemSpec); without either, the network runs on the smallest system of identical
    chips it fits (place-and-route tried on growing chip counts, ``bss2emu.routing.sizing``;
    logged on ``bss2emu.pynn`` and kept in ``sim.state.system``). ``placement`` and
    ``address`` choose where it runs (see ``bss2emu.run``).
    Parameters are translated by calibrating each chip for the neurons placed on it, at
    ``run()``. ``ideal=True`` (the default) emulates chips without fixed-pattern mismatch,
    translated through their nominal maps; ``ideal=False`` gives every chip its own
    mismatch (its serial number: ``serial`` for a single chip, the system's serials
    otherwise), which the calibration measures — once per chip and set of targets, then
    it is read from the calibration store (``$BSS2EMU_CALIB_DIR``), as on BSS-2.
    ``service=URL`` (with ``token`` or ``$BSS2EMU_TOKEN``) runs every ``run()`` on an
    experiment service (``bss2emu serve``) instead of in this process; translation and
    calibration stay here, results read back alike.

    Other keyword arguments are other simulators' (``threads``, ``rng_seed``,
    ``spike_precision``, ``debug``, …): as with every PyNN backend they are ignored, with a
    ``UserWarning`` naming them; PyNN's own checks (``dt``, ``mindelay``, …) still apply."""
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    common.setup(timestep, min_delay, **extra_params)
    _warn_ignored(extra_params)
    return start(timestep, min_delay, max_delay, chips=chips, system=system, placement=placement, address=address,
                 seed=seed, ideal=ideal, serial=serial, partitioner=partitioner, service=service, token=token,
                 size_system=chips is None and system is None)


def start(timestep, min_delay, max_delay, *, us_per_ms: float = 1.0, record_sample_times: bool = False, chips=None,
          system=None, placement="local", address=None, seed=0, ideal=True, serial=0, partitioner="metis",
          service=None, token=None, size_system=False):
    """What both views' ``setup`` do after PyNN's own: check the run configuration and
    start a new network. Times are in ms of the view's time axis, ``us_per_ms`` hardware µs
    each (bss2emu.pynn: 1, biological ms; bss2emu.brainscales2: 1000, hardware ms);
    ``record_sample_times``: analog recordings as neo ``IrregularlySampledSignal``s;
    ``size_system``: run on the smallest system the network fits (``chips``/``system`` unset)."""
    dt_ns = timestep * 1e3 * us_per_ms
    if abs(dt_ns - round(dt_ns)) > 1e-6 or not 1 <= round(dt_ns) <= 10_000:
        raise InvalidParameterValueError(f"timestep={timestep} ms must be a whole number of ns hardware "
                                         f"({0.001 / us_per_ms:g} … {10 / us_per_ms:g} ms)")
    if partitioner not in PARTITIONERS:
        raise ConfigError(f"setup(): unknown partitioner {partitioner!r}: use one of {', '.join(PARTITIONERS)}")
    if placement not in PLACEMENTS:
        raise ConfigError(f"setup(): unknown placement {placement!r}: use one of {', '.join(PLACEMENTS)}")
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise ConfigError(f"setup(): seed={seed!r} must be an integer") from None
    if service is not None and (placement != "local" or address is not None):
        raise ConfigError(f"setup(service={service!r}) runs where the service runs: drop placement={placement!r}"
                          f"{'' if address is None else f' and address={address!r}'}")
    if service is not None and system is not None and not isinstance(system, str):
        raise ConfigError("setup(service=...): name the system by one of the shipped names (system='cube-4') or "
                          "give chips=N; a system description object stays on this machine")
    spec = as_system(system, chips)
    lifecycle.started()
    state = simulator.state
    state.clear()
    state.execute = run_segment
    state.us_per_ms = float(us_per_ms)
    state.record_sample_times = bool(record_sample_times)
    state.dt = float(timestep)
    limit_ms = MAX_DELAY_US / us_per_ms
    state.min_delay = float(timestep) if min_delay == "auto" else float(min_delay)
    state.max_delay = limit_ms if max_delay == "auto" else float(max_delay)
    if state.max_delay > limit_ms * (1 + 1e-9):
        raise InvalidParameterValueError(f"max_delay={max_delay} ms: the FPGA delays events by at most "
                                         f"{limit_ms:g} ms")
    state.hop_latency_us = spec.link.hop_latency_us
    state.config = simulator.RunConfig(chips=chips, system=system, placement=placement, address=address,
                                       seed=seed, ideal=bool(ideal), serial=int(serial),
                                       partitioner=partitioner, service=service, token=token,
                                       size_system=bool(size_system))
    return 0


_SILENT = ("max_delay", "rank", "num_processes")  # PyNN's own; one process, rank 0
_HINTS = {"rng_seed": "bss2emu's seed is setup(seed=...)", "grng_seed": "bss2emu's seed is setup(seed=...)",
          "threads": "parallelism is per chip: setup(chips=..., placement=...)"}


def _warn_ignored(extra_params: dict) -> None:
    """Warn about other simulators' setup arguments (PyNN: backends ignore what they don't use)."""
    ignored = [name for name in extra_params if name not in _SILENT]
    if ignored:
        hints = "".join(f"; {_HINTS[n]}" for n in ignored if n in _HINTS)
        warnings.warn(f"setup(): {', '.join(f'{n}={extra_params[n]!r}' for n in ignored)} ignored by bss2emu.pynn "
                      f"(other simulators' arguments{hints})", UserWarning, stacklevel=3)


def end(compatible_output=True):
    """Write the files asked for with ``record(..., to_file=...)`` and forget the network."""
    state = simulator.state
    for population, variables, filename in state.write_on_end:
        population.write_data(get_io(filename), variables)
    state.write_on_end = []
    lifecycle.ended()


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, get_min_delay, get_max_delay, num_processes, rank = \
    common.build_state_queries(simulator)
