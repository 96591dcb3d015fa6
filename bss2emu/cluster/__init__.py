"""Execution: the coordinator and its backends. Only this package imports Ray, and only
when a Ray placement is asked for; ``local`` runs everything in this process."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError, EventLossWarning, user_stacklevel
from ..protocol.experiment import Experiment, load_experiment
from ..protocol.results import Results
from ..protocol.system import SystemSpec, as_system
from .backends import PLACEMENTS
from .coordinator import Coordinator

Progress = Callable[[int, int], None]
_OPTIONS = {"max_window_steps", "checkpoint_every", "partitioner", "chips_per_host", "host_threads"}


def as_experiment(experiment: Experiment | dict | str | Path) -> Experiment:
    """Accept an ``Experiment``, a plain dict, or the path of a YAML/JSON file."""
    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, dict):
        return Experiment.model_validate(experiment)
    if isinstance(experiment, (str, Path)):
        return load_experiment(experiment)
    raise ConfigError(f"cannot run {type(experiment).__name__!r}: pass an Experiment, a dict or a file path")


def run(experiment: Experiment | dict | str | Path, *, system: SystemSpec | str | dict | None = None,
        chips: int | None = None, placement: str = "local", address: str | None = None,
        progress: Progress | None = None, service: str | None = None, token: str | None = None,
        **options: Any) -> Results:
    """Run an experiment and return its ``Results``.

    ``system`` is a shipped setup name (``"cube-4"``, ``"jboa-16"``, …), a YAML file, a
    ``SystemSpec``; or give ``chips=N`` for an N-chip aggregator system. Either overrides
    the experiment's own ``system``; without any, one chip.
    ``placement`` is ``local`` (in-process), ``per-chip``, ``packed`` or ``per-component``
    (Ray; started embedded unless ``address`` names a cluster). Results are identical in
    every placement. ``service=URL`` (with ``token`` or ``$BSS2EMU_TOKEN``) runs it on an
    experiment service instead (``bss2emu.service``) and returns the same ``Results``.
    ``host_threads=N`` sets the threads a host steps its chips with (they integrate a
    window side by side): by default as many as the cores in the ``local`` placement and one
    per Ray actor (the actors fill the cores), or ``$BSS2EMU_HOST_THREADS``; results are
    the same, bit for bit, for any count.

    >>> import bss2emu
    >>> res = bss2emu.run({"runtime_us": 20, "chip": {"ideal": True},
    ...     "populations": [{"name": "n", "size": 1, "params": {"i_const": 800}}]})
    >>> res.spikes.num_rows > 0, res.spikes.column_names[-3:]
    (True, ['population', 'index', 'time_us'])
    """
    if service is not None:
        from ..service.client import run_on_service

        if placement != "local" or address is not None or set(options) - {"partitioner"}:
            raise ConfigError("run(service=…) runs where the service runs: drop placement, address and options "
                              "other than partitioner")
        return run_on_service(experiment, service, token, system=system, chips=chips, progress=progress,
                              partitioner=options.get("partitioner", "metis"))
    exp = as_experiment(experiment)
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ConfigError(f"run(): unknown option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    if placement not in PLACEMENTS:
        raise ConfigError(f"unknown placement {placement!r}: use one of {', '.join(PLACEMENTS)}")
    spec = as_system(exp.system if system is None and chips is None else system, chips)
    if placement == "local":
        res = Coordinator(exp, spec, placement, address, **options).run(progress)
    else:
        from .ray_job import run_on_ray

        res = run_on_ray(exp, spec, placement, address, progress=progress, **options)
    warn_dropped(res, spec)
    return res


def run_each(experiments: list[Experiment | dict], *, system: SystemSpec | str | dict | None = None,
             chips: int | None = None, placement: str = "local", address: str | None = None,
             **options: Any) -> list[Results]:
    """Run a batch: experiments with one network and each its own stimulus (they differ in
    their sources' spike trains only). The result of each is the result ``run`` gives it, bit
    for bit; the chips are mapped and configured once for all. In-process (``local``) the
    entries run one after another on one set of hosts; with a Ray placement the batch is
    split into one chunk per CPU of the cluster, the chunks run in parallel as Ray tasks
    (each chunk in-process in its worker: every placement gives the same results).

    >>> import bss2emu
    >>> base = {"runtime_us": 30, "chip": {"ideal": True}, "populations": [{"name": "n", "size": 1}],
    ...         "projections": [{"pre": "in", "post": "n", "weight": 63}]}
    >>> batch = [{**base, "sources": [{"kind": "spike_array", "name": "in", "size": 1,
    ...                                "spike_times_us": [times]}]} for times in ([], [5.0, 6.0, 7.0])]
    >>> [r.spikes.num_rows for r in bss2emu.run_each(batch)] == [bss2emu.run(e).spikes.num_rows for e in batch]
    True
    """
    exps = [as_experiment(e) for e in experiments]
    if not exps:
        return []
    unknown = set(options) - _OPTIONS
    if unknown:
        raise ConfigError(f"run_each(): unknown option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    if placement not in PLACEMENTS:
        raise ConfigError(f"unknown placement {placement!r}: use one of {', '.join(PLACEMENTS)}")
    spec = as_system(exps[0].system if system is None and chips is None else system, chips)
    if placement == "local":
        out = Coordinator(exps[0], spec, "local", address, **options).run_each(exps)
    else:
        from .ray_job import run_each_on_ray

        out = run_each_on_ray(exps, spec, address, **options)
    for res in out:
        warn_dropped(res, spec)
    return out


def warn_dropped(res: Results, spec: SystemSpec) -> None:
    """An ``EventLossWarning`` when the inter-chip network dropped events."""
    dropped, sent = res.metadata.get("dropped_events", 0), res.metadata.get("inter_chip_events", 0)
    if dropped:
        warnings.warn(f"{dropped} of {sent} inter-chip spike events were dropped: a link's queue "
                      f"({spec.link.queue_depth} events) overflowed — synchronous bursts, or more than a link's "
                      f"{spec.link.events_per_us:g} events/us; results.tables['links'] shows where. Place the "
                      f"populations that exchange most spikes on one chip, desynchronise the bursts, or give the "
                      f"system's link a deeper queue_depth or a higher bandwidth_gbit_s", EventLossWarning,
                      stacklevel=user_stacklevel())
