"""Fuzz the experiment loader and validator; print inputs/s, the slowest input and any input
that raised something other than ``ConfigError``.

Three fuzzers, all in-process:

* ``schema``: hypothesis strategies built from the experiment JSON Schema (random seed);
* ``mutate``: random mutations of the shipped example files;
* ``atheris``: coverage-guided (libFuzzer through atheris, ``pip install atheris``) on
  ``load_mapping_text`` + ``Experiment.model_validate``, seeded with the example files.

    python benchmarks/fuzz_loader.py                       # schema + mutate, ~1 min
    python benchmarks/fuzz_loader.py --atheris --runs 20000
    python benchmarks/fuzz_loader.py --atheris --seconds 120

Exit status 1 if any input raised another exception or took longer than 5 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "protocol"))

LIMIT_S = 5.0


def run_schema(n: int, seed: int):
    from hypothesis import HealthCheck, given, seed as hseed, settings

    from fuzzing import Outcome, check_data, experiment_data

    outcome = Outcome()

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(experiment_data())
    def fuzz(data):
        check_data(data, outcome)

    fuzz()
    return outcome


def run_mutate(n: int, seed: int):
    from fuzzing import Outcome, check_bytes, example_texts, mutate

    rng = random.Random(seed)
    texts = list(example_texts().values())
    outcome = Outcome()
    for _ in range(n):
        raw, is_json = mutate(rng, rng.choice(texts))
        check_bytes(raw, is_json, outcome)
    return outcome


def run_atheris(runs: int | None, seconds: int | None):
    try:
        import atheris
    except ImportError:
        print("atheris: not installed (pip install atheris); skipped")
        return None
    import tempfile

    # coverage of the loader, the validator and PyYAML's Python half (instrumenting every
    # module bss2emu imports would take minutes)
    with atheris.instrument_imports(include=["bss2emu.protocol", "yaml"]):
        import yaml  # noqa: F401

        import bss2emu.protocol.experiment  # noqa: F401
        import bss2emu.protocol.loader  # noqa: F401
    from fuzzing import Outcome, check_bytes, example_texts

    outcome = Outcome()

    def one_input(data: bytes) -> None:
        check_bytes(data, data[:1] == b"{", outcome)
        if outcome.inputs % 1000 == 0:  # libFuzzer ends the process itself: report as we go
            print(f"atheris: {outcome}", flush=True)
        if outcome.slowest_s >= LIMIT_S:
            raise RuntimeError(f"an input took {outcome.slowest_s:.1f} s")
        if outcome.unexpected:
            kind, detail = outcome.unexpected[-1]
            raise RuntimeError(f"{kind}: {detail}")  # libFuzzer saves the crashing input

    corpus = Path(tempfile.mkdtemp(prefix="bss2emu-fuzz-corpus-"))
    for name, text in example_texts().items():
        (corpus / name).write_text(text)
    args = [sys.argv[0], str(corpus), "-max_len=16384", "-rss_limit_mb=4096", f"-timeout={int(LIMIT_S)}"]
    if runs:
        args.append(f"-runs={runs}")
    if seconds:
        args.append(f"-max_total_time={seconds}")
    atheris.Setup(args, one_input)
    try:
        atheris.Fuzz()
    except SystemExit:  # libFuzzer exits when -runs or -max_total_time is reached
        pass
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", type=int, default=1500, metavar="N", help="hypothesis inputs (default 1500)")
    parser.add_argument("--mutate", type=int, default=8500, metavar="N", help="mutated example files (default 8500)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="random seed (default: the time)")
    parser.add_argument("--atheris", action="store_true", help="run the coverage-guided fuzzer instead")
    parser.add_argument("--runs", type=int, help="atheris: inputs to run")
    parser.add_argument("--seconds", type=int, help="atheris: seconds to run")
    args = parser.parse_args()
    results = {}
    if args.atheris:
        t0 = time.perf_counter()
        out = run_atheris(args.runs, args.seconds)
        if out is not None:
            results["atheris"] = (out, time.perf_counter() - t0)
    else:
        for name, fn, n in (("schema", run_schema, args.schema), ("mutate", run_mutate, args.mutate)):
            t0 = time.perf_counter()
            results[name] = (fn(n, args.seed), time.perf_counter() - t0)
    bad = False
    print(f"seed {args.seed}")
    for name, (out, wall) in results.items():
        print(f"{name:8s} {out}; wall {wall:.1f} s ({out.inputs / wall:.0f} inputs/s with generation)")
        for kind, detail in out.unexpected[:5]:
            print(f"  {kind}: {detail}")
        bad |= bool(out.unexpected) or out.slowest_s >= LIMIT_S
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
