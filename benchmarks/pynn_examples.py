"""PyNN's own example scripts, unchanged, on ``bss2emu.pynn`` and on ``pyNN.nest``.

Each top-level script of PyNN's ``examples/`` directory (VAbenchmarks twice: CUBA and COBA)
runs in its own process, in a scratch directory, with the simulator named on its command
line as PyNN's examples take it (``python example.py nest``); for bss2emu the name
``bss2emu`` is bound to ``pyNN.bss2emu`` = ``bss2emu.pynn`` (the script is not changed).
Outcomes:

* ``runs`` — the script ran to its end;
* ``limit`` — it stopped on a ``bss2emu`` error (a hardware limit, or a model the hardware
  does not have), whose message is shown;
* ``BUG`` — an exception other than bss2emu's raised inside ``bss2emu``: a defect;
* ``fails`` — another exception (a missing package such as mpi4py or NEURON, a script
  error), where it came from is shown;
* ``timeout``.

The installed PyNN wheel ships no examples: give their directory, e.g. from PyNN's source
at the installed version (``git clone --branch 0.13.0 https://github.com/NeuralEnsemble/PyNN``)::

    python benchmarks/pynn_examples.py --examples PyNN/examples [--timeout 600] [--only brunel ...]

or set ``$PYNN_EXAMPLES``. Prints one row per example and the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIMULATORS = ("bss2emu", "nest")
EXTRA_ARGS = {"VAbenchmarks.py": (["CUBA"], ["COBA"])}
"""Examples that need more command-line arguments than the simulator: one run per list."""

# The child process: bind the simulator name, run the script as __main__, write the outcome.
_CHILD = r'''
import json, os, runpy, sys, traceback, warnings
script, simulator, out, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
warnings.simplefilter("ignore")
import pyNN
if simulator == "bss2emu":
    import bss2emu.pynn
    sys.modules["pyNN.bss2emu"] = bss2emu.pynn
    pyNN.bss2emu = bss2emu.pynn
sys.argv = [script, simulator, *args]
sys.path.insert(0, os.path.dirname(script))
result = {"outcome": "runs"}
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exc:
    if exc.code not in (None, 0):
        result = {"outcome": "fails", "type": "SystemExit", "message": str(exc.code), "where": script}
except BaseException as exc:
    try:
        from bss2emu.errors import BssError
    except ImportError:
        BssError = ()
    frames = traceback.extract_tb(exc.__traceback__)
    inner = frames[-1].filename if frames else ""
    in_bss2emu = "bss2emu" in inner.replace(os.sep, "/").split("/")
    outcome = "limit" if isinstance(exc, BssError) else ("BUG" if in_bss2emu else "fails")
    result = {"outcome": outcome, "type": type(exc).__name__, "message": str(exc).strip().splitlines()[0][:400]
              if str(exc).strip() else "", "where": f"{inner}:{frames[-1].lineno}" if frames else ""}
with open(out, "w") as fh:
    json.dump(result, fh)
'''


def example_runs(directory: Path, only: list[str] | None = None) -> list[tuple[str, Path, list[str]]]:
    """(name, script, extra arguments) of every top-level example script."""
    runs = []
    for script in sorted(directory.glob("*.py")):
        if only and script.stem not in only and script.name not in only:
            continue
        for args in EXTRA_ARGS.get(script.name, ([],)):
            runs.append((" ".join([script.stem, *args]), script, list(args)))
    return runs


def run_example(script: Path, simulator: str, args: list[str], timeout_s: float) -> dict:
    """Run ``script`` for ``simulator`` in a scratch directory; its outcome (``_CHILD``)."""
    with tempfile.TemporaryDirectory(prefix="pynn_example_") as scratch:
        out = Path(scratch) / "outcome.json"
        (Path(scratch) / "Results").mkdir()  # where PyNN's examples write their figures and data
        env = dict(os.environ, MPLBACKEND="Agg")
        started = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-c", _CHILD, str(script.resolve()), simulator, str(out), *args],
                                  cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"outcome": "timeout", "message": f"more than {timeout_s:g} s", "seconds": timeout_s}
        seconds = time.perf_counter() - started
        if not out.exists():  # the process died before writing (a crash, an abort)
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            return {"outcome": "fails", "type": "crash", "message": tail[0][:400], "seconds": seconds}
        return json.loads(out.read_text()) | {"seconds": seconds}


def describe(result: dict) -> str:
    """One cell of the table: the outcome and, unless it ran, why."""
    if result["outcome"] == "runs":
        return f"runs ({result['seconds']:.0f} s)"
    text = f"{result['outcome']}: {result.get('type', '')}: {result.get('message', '')}"
    if result["outcome"] in ("BUG", "fails") and result.get("where"):
        text += f" [at {result['where']}]"
    return text


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", default=os.environ.get("PYNN_EXAMPLES"),
                        help="PyNN's examples/ directory (default: $PYNN_EXAMPLES)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per example and simulator")
    parser.add_argument("--only", nargs="*", help="example names to run (default: all)")
    parser.add_argument("--simulators", nargs="*", default=list(SIMULATORS), choices=SIMULATORS)
    parser.add_argument("--json", help="also write the outcomes to this file")
    opts = parser.parse_args(argv)
    directory = Path(opts.examples) if opts.examples else Path(__import__("pyNN").__file__).parent / "examples"
    if not directory.is_dir():
        parser.error(f"no examples at {directory}: the installed PyNN has none; give --examples PyNN/examples "
                     f"(git clone --branch <installed version> https://github.com/NeuralEnsemble/PyNN)")
    table = {}
    for name, script, args in example_runs(directory, opts.only):
        table[name] = {sim: run_example(script, sim, args, opts.timeout) for sim in opts.simulators}
        print(f"{name:40s} " + " | ".join(f"{sim}: {describe(r)}" for sim, r in table[name].items()), flush=True)
    for sim in opts.simulators:
        counts: dict[str, int] = {}
        for row in table.values():
            counts[row[sim]["outcome"]] = counts.get(row[sim]["outcome"], 0) + 1
        print(f"{sim}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f" of {len(table)}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(table, indent=2))
    return table


if __name__ == "__main__":
    main()
