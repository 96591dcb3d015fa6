"""Execution backends. Only this package imports Ray; ``local`` runs in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..protocol.experiment import Experiment, load_experiment
from ..protocol.results import Results
from .local import Progress, run_local


def as_experiment(experiment: Experiment | dict | str | Path) -> Experiment:
    """Accept an ``Experiment``, a plain dict, or the path of a YAML/JSON file."""
    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, dict):
        return Experiment.model_validate(experiment)
    if isinstance(experiment, (str, Path)):
        return load_experiment(experiment)
    raise ConfigError(f"cannot run {type(experiment).__name__!r}: pass an Experiment, a dict or a file path")


def run(experiment: Experiment | dict | str | Path, *, progress: Progress | None = None, **options: Any) -> Results:
    """Run an experiment and return its ``Results``.

    >>> import bss2emu
    >>> res = bss2emu.run({"runtime_us": 20, "chip": {"ideal": True},
    ...     "populations": [{"name": "n", "size": 1, "params": {"i_const": 800}}]})
    >>> res.spikes.num_rows > 0, res.spikes.column_names[-3:]
    (True, ['population', 'index', 'time_us'])
    """
    exp = as_experiment(experiment)
    unknown = set(options) - {"max_window_steps"}
    if unknown:
        raise ConfigError(f"run(): unknown option(s) {sorted(unknown)}; known: max_window_steps")
    return run_local(exp, progress=progress, **options)
