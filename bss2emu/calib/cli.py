"""``bss2emu calibrate``: calibrate a chip (or load its calibration) and print the result.

    bss2emu calibrate [--serial N | --ideal] [--targets FILE] [--set NAME=VALUE ...]
                      [--dir DIR] [--force] [--no-store] [--list-targets] [--quiet]

Targets come from the defaults, then a YAML/JSON file of ``name: value`` (one value or a
list of 512), then ``--set``. The result is stored per chip serial in DIR (default
``$BSS2EMU_CALIB_DIR`` or ``~/.cache/bss2emu/calib``); calibrating the same chip to the same
targets again loads it (``--force`` measures anew). The table shows, per quantity, the
target and the spread of what the circuits achieve around it.

The top-level command line adds this command with ``add_parser(subparsers)``; the parsed
arguments carry ``func=run_cli``. ``main`` runs it on its own:

>>> import io, contextlib
>>> out = io.StringIO()
>>> with contextlib.redirect_stdout(out):
...     status = main(["--ideal", "--no-store", "--set", "tau_m_us=12", "--quiet"])
>>> status, "tau_m_us" in out.getvalue()
(0, True)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ..errors import ConfigError
from ..protocol.loader import read_mapping_file
from .calibration import calibrate
from .result import ENV_DIR, CalibrationStore
from .targets import TARGET_FIELDS, CalibrationTargets

EXIT_OK = 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``calibrate`` command to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "calibrate", help="calibrate an emulated chip's 512 neuron circuits to targets",
        description="Measure an emulated chip (by its serial number's mismatch) and find every circuit's DAC "
                    "values for the targets; store the result per serial and print the residual spread.",
        epilog=f"Store: --dir, else ${ENV_DIR}, else ~/.cache/bss2emu/calib. Exit status: 0 ok, 2 invalid input.")
    chip = p.add_mutually_exclusive_group()
    chip.add_argument("--serial", type=int, default=0, metavar="N", help="chip serial number (default 0)")
    chip.add_argument("--ideal", action="store_true", help="a chip without mismatch (exact nominal maps)")
    p.add_argument("--targets", metavar="FILE", help="YAML/JSON file: target name → value (or 512 values)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set one target for all circuits, e.g. tau_m_us=12 (repeatable)")
    p.add_argument("--dir", metavar="DIR", help="calibration store directory")
    p.add_argument("--force", action="store_true", help="measure again even if the store has this calibration")
    p.add_argument("--no-store", action="store_true", help="neither read nor write the store")
    p.add_argument("--list-targets", action="store_true", help="list the targets, their defaults and ranges, and exit")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress messages on stderr")
    p.set_defaults(func=run_cli)
    return p


def _targets(args: argparse.Namespace) -> CalibrationTargets:
    values: dict = {}
    if args.targets:
        values |= read_mapping_file(args.targets, "targets file")
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: write NAME=VALUE, e.g. --set tau_m_us=12")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--set {item!r}: {value!r} is not a number") from None
    return CalibrationTargets.from_mapping(values)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``bss2emu calibrate`` with parsed arguments; bss2emu errors propagate."""
    if args.list_targets:
        for f in TARGET_FIELDS:
            print(f"{f.name:16s} default {f.default:<8g} range {f.low:g}..{f.high:g}  {f.doc}")
        return EXIT_OK
    targets = _targets(args)
    store = False if args.no_store else CalibrationStore(args.dir)

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    t0 = time.perf_counter()
    result = calibrate(targets, serial=args.serial, ideal=args.ideal, store=store, force=args.force, log=log)
    wall = time.perf_counter() - t0
    chip = "ideal chip" if args.ideal else f"chip {args.serial}"
    print(f"{chip}: calibration of {len(result.dac['v_leak'])} circuits ({wall:.2f} s)")
    print(result.format())
    if result.unreachable:
        print("out of reach (those circuits got their nearest value): " + ", ".join(
            f"{k}: {len(v)} circuits, e.g. {v[:4]}" for k, v in result.unreachable.items()))
    if store:
        print(f"stored in {store.result_path(args.serial, args.ideal, targets)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``bss2emu calibrate`` on its own (for tests and ``python -m``): the command line's
    ``main`` with the subcommand given (bss2emu errors: exit status 2, message on stderr)."""
    from ..cli import main as cli_main

    return cli_main(["calibrate", *(argv if argv is not None else sys.argv[1:])])


__all__ = ["add_parser", "run_cli", "main"]
