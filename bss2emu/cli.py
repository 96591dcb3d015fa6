"""The ``bss2emu`` command line: run, validate and describe experiment files; sweeps and
the scaling study.

    bss2emu run EXPERIMENT.yaml --out DIR [--overwrite] [--progress | --no-progress] [--seed N]
                [--chips N | --system NAME|FILE] [--placement P] [--address ADDR]
    bss2emu validate EXPERIMENT.yaml
    bss2emu schema [--out FILE]
    bss2emu sweep EXPERIMENT.yaml --grid KEY=V1,V2 [--grid KEY=… | --grid GRID.yaml] --out DIR
                [--address ADDR] [--max-parallel N] [--chips N | --system S] [--placement P]
    bss2emu scale --out DIR [--chips 1 2 4 8 16 32] [--placements local per-chip packed]
                  [--strong-neurons N] [--nodes K]
                [--runtime-us 100] [--neurons-per-chip 400] [--address ADDR]
    bss2emu serve | users | submit | jobs | fetch | cancel      (the experiment service, bss2emu.service.cli)
    bss2emu --version

``run`` writes one Parquet file per result table (``spikes.parquet``, ``madc.parquet``,
``cadc.parquet``, ``ppu.parquet``, ``links.parquet``) and ``metadata.json`` into DIR,
atomically, and prints a summary. Rates are in kHz hardware, which is Hz biological (the
chip runs 1000× faster). DIR is created and proven writable before the run; a DIR that holds
results already is refused unless ``--overwrite``; if writing fails after the run, the results
go to a fallback folder whose path is printed. Every file carries the run's id.
``--chips N`` runs on an N-chip system, ``--system`` on a shipped setup or a system file;
``--placement`` puts the chips in Ray actors (``per-chip``, ``packed``, ``per-component``), on
an embedded Ray or the cluster at ``--address``.

``sweep`` runs every combination of the grid as Ray tasks and writes each member's results
to DIR/<member-id>/ and an index to DIR/sweep.json and DIR/sweep.parquet
(``bss2emu.cluster.sweep``). ``scale`` runs the weak-scaling study of the reference network
and writes DIR/scaling.csv, scaling.parquet and scaling.png (``bss2emu.cluster.scaling``).

Exit status: 0 success; 1 every member of a sweep failed; 2 bad input or bad usage (any
``bss2emu.BssError``: a missing, malformed or invalid file, a network that does not fit the
chip, ...), reported on stderr without a traceback; 130 interrupted by Ctrl-C (nothing
partial is written).

The CLI uses the public ``bss2emu`` API, as a user would (DESIGN.md §2).

>>> main(["--version"])
bss2emu 0.1.0
0
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import bss2emu

from .errors import BssError, ConfigError
from .protocol.experiment import Experiment, InvalidExperimentError, _fmt_loc, experiment_schema

EXIT_OK = 0
EXIT_ALL_FAILED = 1  # a sweep in which no member succeeded
EXIT_BAD_INPUT = 2  # argparse's status for bad usage too
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell convention
PROGRESS_MIN_STEPS = 2000  # in auto mode, runs longer than this show a progress bar


# --- helpers -------------------------------------------------------------------------------

def load(path: str | Path, seed: int | None = None) -> Experiment:
    """Load and validate an experiment file, optionally with its seed replaced."""
    exp = bss2emu.load_experiment(path)
    if seed is None:
        return exp
    # model_copy does not validate: re-validate so an out-of-range seed is reported as such
    try:
        return Experiment.model_validate(exp.model_copy(update={"seed": seed}).model_dump())
    except InvalidExperimentError as err:
        raise ConfigError(f"--seed {seed}: {err}") from None


def describe_error(err: BssError) -> str:
    """The message of a bss2emu error; an invalid experiment gets one line per problem."""
    invalid = err if isinstance(err, InvalidExperimentError) else err.__context__
    if not isinstance(invalid, InvalidExperimentError):
        return str(err)
    # load_experiment re-raises as "<path>: invalid experiment: ..." and keeps the original
    # (with its items) only as __context__; show the path prefix, then the items.
    text = str(err)
    head = text[: text.index(str(invalid))] if str(invalid) in text else ""
    n = len(invalid.items)
    lines = [f"{head}invalid {invalid.what} ({n} problem{'s' if n != 1 else ''}):"]
    lines += [f"  {_fmt_loc(loc)}{msg}" for loc, msg in invalid.items]
    return "\n".join(lines)


class ProgressBar:
    """A ``progress(step_done, steps_total)`` callback that draws a tqdm bar on ``stream``.

    ``enabled``: True always draws, False never, None draws when the run is longer than
    ``PROGRESS_MIN_STEPS`` steps and ``stream`` is a terminal. The bar is created on the first
    call, when the total is known."""

    def __init__(self, enabled: bool | None, stream: TextIO) -> None:
        self.enabled, self.stream = enabled, stream
        self.bar = None
        self.decided = False

    def __call__(self, step_done: int, steps_total: int) -> None:
        if not self.decided:
            self.decided = True
            show = self.enabled
            if show is None:
                show = steps_total > PROGRESS_MIN_STEPS and self.stream.isatty()
            if show:
                from tqdm import tqdm

                self.bar = tqdm(total=steps_total, unit="step", desc="emulating", file=self.stream,
                                dynamic_ncols=True, leave=False)
        if self.bar is not None:
            self.bar.update(step_done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def summary(exp: Experiment, res: bss2emu.Results, wall_s: float) -> str:
    """A plain-text summary of a run: spikes and rates per population, rows per table."""
    counts_table = res.spikes.group_by("population").aggregate([("time_ticks", "count")])
    counts = dict(zip(counts_table["population"].to_pylist(), counts_table["time_ticks_count"].to_pylist()))
    runtime_us = exp.runtime_us
    windows = res.metadata.get("windows", "?")
    lines = [
        f"experiment {exp.name!r}: {runtime_us:g} µs hardware ({runtime_us:g} ms biological), "
        f"seed {exp.seed}, {windows} window{'s' if windows != 1 else ''}, wall time {wall_s:.2f} s",
    ]
    if exp.populations:
        rows = [("population", "neurons", "spikes", "rate kHz hw = Hz bio")]
        for pop in exp.populations:
            if pop.record_spikes:
                n = counts.get(pop.name, 0)
                # spikes per neuron per µs hardware, ×1000 → kHz hardware (≙ Hz biological)
                rate = f"{n / (pop.size * runtime_us) * 1e3:.3f}"
                rows.append((pop.name, str(pop.size), str(n), rate))
            else:
                rows.append((pop.name, str(pop.size), "-", "not recorded"))
        lines += ["", *_columns(rows)]
    rows = [("table", "rows")] + [(name, str(t.num_rows)) for name, t in res.tables.items()]
    lines += ["", *_columns(rows)]
    meta = res.metadata
    if "chips_used" in meta:  # where it ran, and what crossed between chips
        hosts = f", {_n(meta['hosts'], 'host')}" if "hosts" in meta else ""
        window_us = min(meta.get("window_us", runtime_us), runtime_us)
        lines += ["", f"chips: {meta['chips_used']} used of {meta.get('chips', '?')} (system {meta.get('system')!r}, "
                      f"placement {meta.get('placement')}{hosts}); {_n(windows, 'window')} of {window_us:g} µs; "
                      f"inter-chip events {meta.get('inter_chip_events', 0)}, dropped {meta.get('dropped_events', 0)}"]
    return "\n".join(lines)


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-align the first column, right-align the others."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


# --- subcommands ---------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    from .protocol.results import discard_created, prepare_results_dir, write_with_fallback

    exp = load(args.experiment, seed=args.seed)
    out = Path(args.out)
    if args.address is not None and args.placement in (None, "local"):
        raise ConfigError(f"--address {args.address} needs a Ray placement: add --placement per-chip, packed or "
                          f"per-component (local runs in this process)")
    created = prepare_results_dir(out, overwrite=args.overwrite)  # before spending the run's time
    progress = ProgressBar(args.progress, sys.stderr)
    t0 = time.perf_counter()
    try:
        res = bss2emu.run(exp, progress=progress, **_system_options(args))
    except BaseException:
        discard_created(created)
        raise
    finally:
        progress.close()
    wall_s = time.perf_counter() - t0
    written, failure = write_with_fallback(res, out)
    print(summary(exp, res, wall_s))
    if failure is not None:
        print(f"bss2emu: error: {failure}; the results of run {res.run_id} were saved to {written[0].parent} "
              f"instead", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"\nwrote {', '.join(p.name for p in written)} to {out} (run {res.run_id})")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .routing.mapping import map_experiment  # mapping is what a run would do first

    exp = load(args.experiment)
    chips = map_experiment(exp, exp.system).stats["chips"]
    stats = {k: sum(c[k] for c in chips) for k in ("synapses_used", "drivers_used")}
    neurons = sum(p.size for p in exp.populations)
    print(f"ok: {exp.name} ({_n(len(exp.populations), 'population')} with {_n(neurons, 'neuron')}, "
          f"{_n(len(exp.sources), 'source')}, {_n(len(exp.projections), 'projection')} on "
          f"{_n(stats.get('synapses_used', 0), 'synapse')} and {_n(stats.get('drivers_used', 0), 'driver')}, "
          f"runtime {exp.runtime_us:g} µs)")
    return EXIT_OK


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(experiment_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(args.out).write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot write the schema to {args.out!r}: {err.strerror or err}") from None
    print(f"wrote the experiment JSON Schema to {args.out}")
    return EXIT_OK


def _system_options(args: argparse.Namespace) -> dict:
    """``bss2emu.run`` options from --chips, --system, --placement, --address, --partitioner."""
    options = {"system": args.system, "chips": args.chips, "placement": args.placement, "address": args.address}
    if args.partitioner is not None:
        options["partitioner"] = args.partitioner
    return {k: v for k, v in options.items() if v is not None}


def cmd_sweep(args: argparse.Namespace) -> int:
    from .cluster.sweep import parse_grid, sweep

    exp = load(args.experiment)
    grid = parse_grid(args.grid)
    options = _system_options(args)
    report = sweep(exp, grid, args.out, max_parallel=args.max_parallel,
                   progress=args.progress, **options)
    rows = [("member", "status", "wall s", "spikes")]
    rows += [(m.id, m.status, f"{m.wall_s:.2f}" if m.wall_s is not None else "-",
              str(m.spikes) if m.spikes is not None else "-") for m in report.members]
    print("\n".join(_columns(rows)))
    print()
    print(report.summary())
    print(f"index: {Path(args.out) / 'sweep.json'}, {Path(args.out) / 'sweep.parquet'}")
    if report.members and not report.ok:
        print(f"bss2emu: error: all {_n(len(report.members), 'member')} of the sweep failed", file=sys.stderr)
        return EXIT_ALL_FAILED
    return EXIT_OK


def cmd_scale(args: argparse.Namespace) -> int:
    from .cluster.scaling import scaling_study

    out = Path(args.out)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    report = scaling_study(args.chips, args.placements, neurons_per_chip=args.neurons_per_chip,
                           runtime_us=args.runtime_us, out_dir=out, seed=args.seed, address=args.address,
                           progress=show, strong_neurons=args.strong_neurons, nodes=args.nodes)
    print(f"scaling of the reference network: weak with {args.neurons_per_chip} neurons per chip"
          + (f", strong with {args.strong_neurons} neurons" if args.strong_neurons else "") + ", "
          f"{args.runtime_us:g} µs hardware ({args.runtime_us / 1e3:g} s biological), seed {args.seed}")
    print(report.format())
    print(f"\nwrote {', '.join(p.name for p in report.files)} to {out}")
    return EXIT_OK


def _add_system_arguments(p: argparse.ArgumentParser) -> None:
    from .cluster.backends import PLACEMENTS
    from .routing.mapping import PARTITIONERS

    p.add_argument("--chips", type=int, metavar="N", help="run on an N-chip system (default: 1 chip)")
    p.add_argument("--system", metavar="NAME|FILE",
                   help="a shipped system setup (cube-4, jboa-16, ring-8, …) or a system YAML file")
    p.add_argument("--placement", choices=PLACEMENTS, metavar="P",
                   help=f"where the chips run: {', '.join(PLACEMENTS)} (default: local)")
    p.add_argument("--partitioner", choices=PARTITIONERS, metavar="NAME",
                   help=f"how populations are split over chips: {', '.join(PARTITIONERS)} (default: metis)")
    p.add_argument("--address", metavar="ADDR", help="join the Ray cluster at ADDR (default: embedded Ray)")


# --- entry point ---------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bss2emu",
        description="Emulate BrainScaleS-2 experiments described in YAML/JSON files.",
        epilog="Exit status: 0 ok, 1 every member of a sweep failed, 2 invalid input, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {bss2emu.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run an experiment and write its results as Parquet",
                       description="Run an experiment file; write <table>.parquet and metadata.json to --out.")
    p.add_argument("experiment", metavar="EXPERIMENT", help="experiment file (.yaml, .yml or .json)")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="directory for the result files")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help=f"show a progress bar on stderr (default: for runs over {PROGRESS_MIN_STEPS} steps "
                        f"when stderr is a terminal)")
    p.add_argument("--seed", type=int, metavar="N", help="override the experiment's seed")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of an earlier run in DIR (default: refuse a non-empty DIR)")
    _add_system_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check an experiment file and that it fits the chip",
                       description="Validate an experiment file and route it onto the chip.")
    p.add_argument("experiment", metavar="EXPERIMENT", help="experiment file (.yaml, .yml or .json)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of experiment files",
                       description="Print (or write) the JSON Schema of experiment files.")
    p.add_argument("--out", "-o", metavar="FILE", help="write the schema to FILE instead of stdout")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("sweep", help="run a grid of parameter values as parallel Ray tasks",
                       description="Run every combination of the grid over an experiment file, in parallel on "
                                   "Ray; write each member's results to DIR/<member-id>/ and an index to "
                                   "DIR/sweep.json and DIR/sweep.parquet. A failing member is recorded, the "
                                   "others are kept.",
                       epilog="Exit status: 0 at least one member ran, 1 all members failed, 2 invalid input.")
    p.add_argument("experiment", metavar="EXPERIMENT", help="experiment file (.yaml, .yml or .json)")
    p.add_argument("--grid", "-g", action="append", required=True, metavar="KEY=V1,V2|FILE",
                   help="a dotted experiment field and its values, e.g. seed=1,2,3 or projections.0.weight=20,40 "
                        "(repeat for more keys), or a YAML file mapping keys to value lists")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="directory for the members' results")
    p.add_argument("--max-parallel", type=int, metavar="N", help="at most N members at once (default: Ray's CPUs)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar on stderr (default: when stderr is a terminal)")
    _add_system_arguments(p)
    p.set_defaults(func=cmd_sweep)

    from .cluster.backends import PLACEMENTS

    p = sub.add_parser("scale", help="weak-scaling study of the reference network over chips and placements",
                       description="Run the clustered reference network (DESIGN.md §6) with --neurons-per-chip "
                                   "neurons per chip on each chip count and placement; print the table and "
                                   "write DIR/scaling.csv, scaling.parquet and scaling.png.")
    p.add_argument("--chips", type=int, nargs="+", default=[1, 2, 4, 8], metavar="N",
                   help="chip counts (default: 1 2 4 8)")
    p.add_argument("--placements", nargs="+", choices=PLACEMENTS, default=["local", "per-chip", "packed"],
                   metavar="P", help=f"placements among {', '.join(PLACEMENTS)} (default: local per-chip packed)")
    p.add_argument("--runtime-us", type=float, default=100.0, metavar="T",
                   help="hardware µs per run (default 100 = 0.1 s biological)")
    p.add_argument("--neurons-per-chip", type=int, default=400, metavar="N", help="default 400 (of 512)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="seed of the network and its input")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="directory for the table and the plot")
    p.add_argument("--address", metavar="ADDR", help="join the Ray cluster at ADDR (default: embedded Ray)")
    p.add_argument("--strong-neurons", type=int, metavar="N",
                   help="also strong scaling: one network of N neurons on every chip count that holds it")
    p.add_argument("--nodes", type=int, default=1, metavar="K",
                   help="run the Ray placements on a simulated cluster of K nodes on this machine (default 1)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar over the runs on stderr (default: when stderr is a terminal)")
    p.set_defaults(func=cmd_scale)
    from .calib.cli import add_parser as add_calibrate_parser

    add_calibrate_parser(sub)  # bss2emu calibrate …
    from .exec import add_parser as add_exec_parser

    add_exec_parser(sub)  # bss2emu exec script.py …
    from .service.cli import add_parsers as add_service_parsers

    add_service_parsers(sub)  # bss2emu serve | users | submit | jobs | fetch | cancel
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed already
        return EXIT_OK if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.func(args)
    except BssError as err:
        print(f"bss2emu: error: {describe_error(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("bss2emu: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
