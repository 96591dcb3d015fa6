"""Parameter sweeps: one experiment, a grid of values for some of its fields, run on Ray.

``sweep(base, grid, out_dir)`` makes one *member* per combination of the grid's values
(``itertools.product``, keys in the grid's order). A grid key is a dotted path into the
experiment — ``seed``, ``projections.0.weight``, ``populations.1.params.i_const`` — that must
exist in the base experiment (list entries by index). Every member is validated before any
remote call; an invalid one is recorded and not run. The valid members run in parallel as Ray
tasks (one CPU each; inside the task the member runs with ``placement="local"`` unless another
placement is given), and each member's results are written to ``out_dir/<member-id>/`` by
``Results.write_parquet`` as soon as it finishes. A failing member does not stop the sweep:
its error type and message are recorded and the others are kept.

``out_dir/sweep.json`` (rewritten after every member, so it is current during the sweep) and
``out_dir/sweep.parquet`` (at the end) index the members: id, one column per grid key,
directory, status (``ok``, ``failed``: raised while running, ``invalid``: failed validation),
wall time, spike count and the error.

>>> grid = parse_grid(["seed=1,2,3", "projections.0.weight=20,40"])
>>> grid
{'seed': [1, 2, 3], 'projections.0.weight': [20, 40]}
>>> exp = {"runtime_us": 10, "populations": [{"name": "p", "size": 2}],
...        "sources": [{"kind": "spike_array", "name": "s", "size": 1, "spike_times_us": [[1.0]]}],
...        "projections": [{"pre": "s", "post": "p", "weight": 10}]}
>>> members = expand_grid(Experiment.model_validate(exp), grid)
>>> len(members), members[-1].id, members[-1].experiment.projections[0].weight
(6, 'm005_seed=3_projections.0.weight=40', 40)
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from ..errors import BssError, ConfigError
from ..protocol.experiment import Experiment, InvalidExperimentError
from ..protocol.results import Results
from ..protocol.system import SystemSpec, as_system
from .backends import PLACEMENTS

STATUS_OK, STATUS_FAILED, STATUS_INVALID, STATUS_PENDING = "ok", "failed", "invalid", "pending"
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


# --- the grid ------------------------------------------------------------------------------

def _scalar(value: Any) -> Any:
    # YAML 1.1 reads "1e3" as a string; a grid value that looks like a number is one
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return value


def parse_grid(items: Sequence[str]) -> dict[str, list]:
    """Grid from command-line items: ``KEY=V1,V2,…`` (values read as a YAML flow sequence,
    so ``20,40``, ``a,b`` and ``[1,2],[3,4]`` work) or the path of a YAML/JSON file holding a
    mapping ``KEY: [V1, V2, …]``. Keys must not repeat."""
    grid: dict[str, list] = {}

    def add(key: str, values: Any, where: str) -> None:
        key = key.strip()
        if not key:
            raise ConfigError(f"{where}: the key is empty; write KEY=V1,V2 (e.g. seed=1,2,3)")
        if key in grid:
            raise ConfigError(f"{where}: grid key {key!r} is given twice; give each key once with all its values")
        if not isinstance(values, list):
            values = [values]
        if not values:
            raise ConfigError(f"{where}: grid key {key!r} has no values; give at least one")
        grid[key] = [_scalar(v) for v in values]

    for item in items:
        if "=" in item:
            key, _, text = item.partition("=")
            try:
                values = yaml.safe_load(f"[{text}]")
            except yaml.YAMLError as err:
                raise ConfigError(f"--grid {item!r}: cannot read the values {text!r} ({err.problem}); "
                                  f"write them comma-separated, e.g. {key}=1,2,3") from None
            add(key, values, f"--grid {item!r}")
            continue
        path = Path(item)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"--grid {item!r} is neither KEY=V1,V2 nor a readable grid file: "
                              f"{err.strerror or err}") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"grid file {item!r} is not valid YAML/JSON: {err}") from None
        if not isinstance(data, dict) or not data:
            raise ConfigError(f"grid file {item!r} must hold a mapping of dotted keys to value lists, "
                              f"e.g. 'seed: [1, 2, 3]'")
        for key, values in data.items():
            add(str(key), values, f"grid file {item!r}")
    return grid


def set_field(data: dict, key: str, value: Any) -> None:
    """Set the dotted ``key`` of a dumped experiment to ``value``; the path must exist."""
    node: Any = data
    parts = key.split(".")
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth]) or "the experiment"
        if isinstance(node, list):
            if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                raise ConfigError(f"grid key {key!r}: {here} is a list of {len(node)}; {part!r} is not an index "
                                  f"of it (use 0..{len(node) - 1})")
            part = int(part)
        elif isinstance(node, dict):
            if part not in node:
                raise ConfigError(f"grid key {key!r}: {here} has no field {part!r}; its fields are "
                                  f"{sorted(node)}")
        elif node is None:
            raise ConfigError(f"grid key {key!r}: {here} is not set in the base experiment; set it there "
                              f"first, then sweep its fields")
        else:
            raise ConfigError(f"grid key {key!r}: {here} is a value ({node!r}), not a list or mapping")
        if depth == len(parts) - 1:
            node[part] = value
        else:
            node = node[part]


def _id_text(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str) if not isinstance(value, str) else value
    return re.sub(r"[^A-Za-z0-9.+=-]+", "-", text).strip("-")


@dataclass
class Member:
    """One combination of the grid and what became of it."""

    index: int
    id: str
    params: dict[str, Any]
    experiment: Experiment | None = None
    status: str = STATUS_PENDING
    directory: Path | None = None
    wall_s: float | None = None
    spikes: int | None = None
    error_type: str | None = None
    error: str | None = None
    traceback: str | None = None

    def fail(self, status: str, error_type: str, error: str, tb: str | None = None) -> None:
        self.status, self.error_type, self.error, self.traceback = status, error_type, error, tb

    def record(self) -> dict:
        """The member as plain data, for ``sweep.json``."""
        return {"id": self.id, "params": self.params, "status": self.status,
                "directory": self.directory.name if self.directory else None, "wall_s": self.wall_s,
                "spikes": self.spikes, "error_type": self.error_type, "error": self.error,
                **({"traceback": self.traceback} if self.traceback else {})}


def expand_grid(base: Experiment, grid: Mapping[str, Sequence]) -> list[Member]:
    """One validated member per combination; members that fail validation are marked
    ``invalid``. A key that does not exist in ``base`` raises ``ConfigError``."""
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError(f"grid must be a non-empty mapping of dotted keys to value lists, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(key, str) or isinstance(values, (str, bytes)) or not isinstance(values, Sequence) \
                or not values:
            raise ConfigError(f"grid key {key!r}: give a non-empty list of values, got {values!r}")
    dumped = base.model_dump()
    for key, values in grid.items():  # check every path once, before making members
        set_field(copy.deepcopy(dumped), key, values[0])
    combos = list(itertools.product(*grid.values()))
    width = max(3, len(str(len(combos) - 1)))
    members = []
    for i, combo in enumerate(combos):
        params = dict(zip(grid, combo))
        label = "_".join(f"{k}={_id_text(v)}" for k, v in params.items())
        member = Member(i, f"m{i:0{width}d}_{label}"[:120], params)
        data = copy.deepcopy(dumped)
        for key, value in params.items():
            set_field(data, key, value)
        try:
            member.experiment = Experiment.model_validate(data)
        except InvalidExperimentError as err:
            member.fail(STATUS_INVALID, type(err).__name__, str(err))
        members.append(member)
    return members


# --- running ---------------------------------------------------------------------------------

def run_member(experiment: Experiment, options: dict) -> dict:
    """Run one member (inside a Ray task): ``{"results", "wall_s"}``, or its error as
    ``{"error_type", "error", "traceback"}`` so that one failure does not end the sweep."""
    from . import run

    t0 = time.perf_counter()
    try:
        results = run(experiment, **options)
    except Exception as err:  # noqa: BLE001 — any member failure is recorded, not raised
        return {"error_type": type(err).__name__, "error": str(err),
                "traceback": None if isinstance(err, BssError) else traceback.format_exc()}
    return {"results": results, "wall_s": time.perf_counter() - t0}


@cache
def _member_task():
    import ray

    return ray.remote(run_member)


@dataclass
class SweepReport:
    """What a sweep did: the members in grid order and where their results are."""

    out_dir: Path
    grid: dict[str, list]
    members: list[Member] = field(default_factory=list)

    @property
    def ok(self) -> list[Member]:
        return [m for m in self.members if m.status == STATUS_OK]

    @property
    def failed(self) -> list[Member]:
        return [m for m in self.members if m.status in (STATUS_FAILED, STATUS_INVALID)]

    @property
    def table(self) -> pa.Table:
        """The member index: id, one column per grid key, directory, status, wall_s, spikes, error."""
        cols: dict[str, pa.Array] = {"member": pa.array([m.id for m in self.members], pa.string())}
        for key in self.grid:
            values = [m.params[key] for m in self.members]
            try:
                cols[key] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep them as JSON text
                cols[key] = pa.array([json.dumps(v, default=str) for v in values], pa.string())
        cols["directory"] = pa.array([m.directory.name if m.directory else None for m in self.members], pa.string())
        cols["status"] = pa.array([m.status for m in self.members], pa.string())
        cols["wall_s"] = pa.array([m.wall_s for m in self.members], pa.float64())
        cols["spikes"] = pa.array([m.spikes for m in self.members], pa.int64())
        cols["error_type"] = pa.array([m.error_type for m in self.members], pa.string())
        cols["error"] = pa.array([m.error for m in self.members], pa.string())
        return pa.table(cols)

    def summary(self) -> str:
        n_ok = len(self.ok)
        lines = [f"{n_ok} of {len(self.members)} member{'s' if len(self.members) != 1 else ''} ok"
                 f"{', ' + str(len(self.failed)) + ' failed' if self.failed else ''}; results in {self.out_dir}"]
        lines += [f"  {m.id}: {m.status}: {m.error_type}: {m.error}" for m in self.failed]
        return "\n".join(lines)

    def write_index(self, parquet: bool = False) -> None:
        """``sweep.json`` (and ``sweep.parquet``), each written whole then renamed."""
        doc = {"grid": self.grid, "members": [m.record() for m in self.members],
               "ok": len(self.ok), "failed": len(self.failed),
               "pending": sum(m.status == STATUS_PENDING for m in self.members)}
        _replace(self.out_dir / "sweep.json",
                 lambda p: Path(p).write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8"))
        if parquet:
            import pyarrow.parquet as pq

            _replace(self.out_dir / "sweep.parquet", lambda p: pq.write_table(self.table, p))


def _replace(final: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    finally:
        Path(tmp).unlink(missing_ok=True)


def sweep(base_experiment: Experiment | dict | str | Path, grid: Mapping[str, Sequence], out_dir: str | Path, *,
          system: SystemSpec | str | dict | None = None, chips: int | None = None, placement: str = "local",
          address: str | None = None, max_parallel: int | None = None, progress: bool | None = True,
          num_cpus: float = 1, **run_options: Any) -> SweepReport:
    """Run every combination of ``grid`` over ``base_experiment`` as Ray tasks (see the module
    docstring) and return the ``SweepReport``.

    ``system``, ``chips``, ``placement`` and ``run_options`` (``partitioner``, …) are what
    each member passes to ``bss2emu.run``; ``address`` joins a Ray cluster (default: an
    embedded one). ``max_parallel`` bounds the members in flight (default: all, Ray runs as
    many as there are CPUs, ``num_cpus`` each). ``progress``: a tqdm bar on stderr (None: when
    stderr is a terminal). Invalid arguments raise ``ConfigError`` before anything runs."""
    from . import _OPTIONS, as_experiment

    base = as_experiment(base_experiment)
    if placement not in PLACEMENTS:
        raise ConfigError(f"unknown placement {placement!r}: use one of {', '.join(PLACEMENTS)}")
    unknown = set(run_options) - _OPTIONS
    if unknown:
        raise ConfigError(f"sweep(): unknown option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}")
    if max_parallel is not None and max_parallel < 1:
        raise ConfigError(f"max_parallel={max_parallel}: use at least 1 (or None for all)")
    spec = as_system(system, chips)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out_dir {str(out)!r} is a file; give a directory for the members' results")
    members = expand_grid(base, grid)
    report = SweepReport(out, {k: list(v) for k, v in grid.items()}, members)
    out.mkdir(parents=True, exist_ok=True)
    # members run inside a task, which is already on Ray: they never need the address
    options = {"system": spec, "placement": placement, **run_options}

    todo = [m for m in members if m.status == STATUS_PENDING]
    if not todo:  # every member is invalid: nothing to run
        report.write_index(parquet=True)
        return report
    from .ray_backend import ensure_ray

    ensure_ray(address)
    import ray

    limit = max_parallel or len(todo)
    task = _member_task().options(num_cpus=num_cpus)
    show = progress if progress is not None else sys.stderr.isatty()
    bar = None
    if show:
        from tqdm import tqdm

        bar = tqdm(total=len(members), unit="member", desc="sweep", file=sys.stderr, leave=False,
                   initial=len(members) - len(todo))
    running: dict = {}
    report.write_index()
    try:
        while todo or running:
            while todo and len(running) < limit:
                m = todo.pop(0)
                running[task.remote(m.experiment, options)] = m
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                _finish(running.pop(ref), ref, out)
                if bar is not None:
                    bar.update()
                    bar.set_postfix(ok=len(report.ok), failed=len(report.failed))
            report.write_index()
    finally:
        for ref in running:  # interrupted: stop what still runs, keep what has finished
            ray.cancel(ref)
        if bar is not None:
            bar.close()
        report.write_index(parquet=True)
    return report


def _finish(member: Member, ref, out: Path) -> None:
    """Fetch a finished member's outcome; write its results or record its error."""
    import ray

    from .ray_backend import ray_errors

    try:
        with ray_errors():
            outcome = ray.get(ref)
    except BssError as err:  # the task itself died (worker crash, node lost)
        member.fail(STATUS_FAILED, type(err).__name__, str(err))
        return
    if "error" in outcome:
        member.fail(STATUS_FAILED, outcome["error_type"], outcome["error"], outcome.get("traceback"))
        return
    results: Results = outcome["results"]
    directory = out / member.id
    try:
        results.write_parquet(directory)
    except OSError as err:
        member.fail(STATUS_FAILED, type(err).__name__, f"cannot write results to {str(directory)!r}: "
                                                       f"{err.strerror or err}")
        return
    member.status, member.directory = STATUS_OK, directory
    member.wall_s, member.spikes = outcome["wall_s"], results.spikes.num_rows
