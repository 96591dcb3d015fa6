"""Generators of hostile experiment inputs, shared by the fuzz tests and ``benchmarks/``.

* ``experiment_data()``: a hypothesis strategy built from the experiment JSON Schema
  (``bss2emu schema``): every object, field, enum, union and bound of the schema, with values
  at and just past the bounds, and — at a small rate per value — a wild one (a bool for a
  number, NaN, ±inf, a huge int, a string, a nested list, None), a missing required field or
  an unknown extra one.
* ``mutate_text(rng, text)``: one random mutation of an example file's text — structural
  (a leaf replaced by a wild value, a key deleted or duplicated, an anchor and aliases, a
  list blown up, deep nesting) or textual (bytes flipped, inserted, deleted, a truncation,
  a non-UTF-8 byte, a line repeated).
* ``check_input(raw, name)``: what the fuzz tests require of one input: the loader and the
  validator return an ``Experiment`` or raise ``ConfigError`` — nothing else — and how long it took.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
import time
from pathlib import Path

import yaml
from hypothesis import strategies as st

from bss2emu.errors import ConfigError
from bss2emu.protocol.experiment import Experiment, experiment_schema
from bss2emu.protocol.loader import load_mapping_text

_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NAMES = ["p", "q", "s", "bg", "exc_input", "neuron", "a b", "x"]  # so that references often resolve
# kernels are imported by validation: only harmless module paths, never generated text
KERNELS = ["math.sqrt", "bss2emu.nothing", "nope.nope", "", ".", "math", "json.dumps"]
WILD = [True, False, None, math.nan, math.inf, -math.inf, 2**64, -(2**63) - 1, 1e308, -0.0, "", "1e3", "x" * 70,
        [], [[]], {}, {"kind": "?"}, [1, [2, [3]]], "\x00", "\ud7ff", 0.1 + 0.2]
WILD_RATE = 0.04


def _wild() -> st.SearchStrategy:
    return st.sampled_from(WILD)


def _number(spec: dict, integer: bool) -> st.SearchStrategy:
    lo = spec.get("minimum", spec.get("exclusiveMinimum"))
    hi = spec.get("maximum", spec.get("exclusiveMaximum"))
    edges = [v for b in (lo, hi) if b is not None for v in (b - 1, b, b + 1)]
    if lo is not None and hi is not None:
        edges.append((lo + hi) / 2)
    if integer:
        edges = [int(e) for e in edges]
        inner = st.integers(min_value=int(lo) if lo is not None else -10, max_value=int(hi) if hi is not None else 600)
        return st.one_of(inner, st.sampled_from(edges or [0]), st.integers())
    inner = st.floats(min_value=lo if lo is not None else -10.0, max_value=hi if hi is not None else 1e3,
                      allow_nan=False)
    return st.one_of(inner, st.sampled_from(edges or [0.0]), st.floats())


def strategy_for(spec: dict, defs: dict, key: str = "") -> st.SearchStrategy:
    """A strategy for the values of one JSON-schema node (mostly valid, sometimes wild)."""
    return st.one_of(_valid_for(spec, defs, key), _wild()) if key else _valid_for(spec, defs, key)


def _valid_for(spec: dict, defs: dict, key: str) -> st.SearchStrategy:
    if "$ref" in spec:
        return _object(defs[spec["$ref"].split("/")[-1]], defs)
    for union in ("anyOf", "oneOf"):
        if union in spec:
            return st.one_of([strategy_for(s, defs, key) for s in spec[union]])
    if "const" in spec:
        return st.just(spec["const"])
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    kind = spec.get("type")
    if key == "kernel":
        return st.sampled_from(KERNELS)
    if kind == "string":
        return st.one_of(st.sampled_from(NAMES), st.text(max_size=8))
    if kind == "integer":
        return _number(spec, integer=True)
    if kind == "number":
        return _number(spec, integer=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = spec.get("items", {})
        return st.lists(strategy_for(items, defs, key + "[]"), max_size=3)
    if kind == "object":
        if "properties" in spec:
            return _object(spec, defs)
        return st.dictionaries(st.sampled_from(["a", "lr", "target"]), st.integers(-3, 3), max_size=2)
    return _wild()


def _object(spec: dict, defs: dict) -> st.SearchStrategy:
    props = spec.get("properties", {})
    required = set(spec.get("required", ()))

    @st.composite
    def build(draw):
        out = {}
        for name, sub in props.items():
            wanted = name in required or draw(st.booleans())
            if name in required and draw(st.integers(0, 49)) == 0:
                wanted = False  # a required field missing, now and then
            if wanted:
                if draw(st.integers(0, 999)) < WILD_RATE * 1000:
                    out[name] = draw(_wild())
                else:
                    out[name] = draw(_valid_for(sub, defs, name))
        if draw(st.integers(0, 49)) == 0:
            out[draw(st.sampled_from(["extra", "runtime", "Weight", 1, None]))] = 1
        return out

    return build()


def experiment_data() -> st.SearchStrategy:
    """Dicts shaped by the experiment schema (see the module docstring)."""
    schema = experiment_schema()
    return _object(schema, schema["$defs"])


# --- mutation of the shipped example files ---------------------------------------------------

def example_texts() -> dict[str, str]:
    """The experiment files shipped in examples/, by name."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.yaml"))}


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))
    yield path


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


@functools.lru_cache(maxsize=16)
def _parsed(text: str):
    return yaml.load(text, Loader=_CLoader)


def _structural(rng: random.Random, text: str) -> str:
    data = copy.deepcopy(_parsed(text))
    paths = [p for p in _leaves(data) if p]
    path = rng.choice(paths)
    how = rng.randrange(6)
    if how == 0:
        _set(data, path, rng.choice(WILD))
    elif how == 1:  # delete a key or an item
        parent = data
        for p in path[:-1]:
            parent = parent[p]
        del parent[path[-1]]
    elif how == 2:  # a number nudged past its bound
        parent = data
        for p in path[:-1]:
            parent = parent[p]
        v = parent[path[-1]]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parent[path[-1]] = rng.choice([v * 1000, -v, v + 1e-9, v - 1, v + 1, 0, 1e-9, v * 1.5])
    elif how == 3:  # an unknown key
        target = data
        for p in path[:-1]:
            target = target[p]
        if isinstance(target, dict):
            target[rng.choice(["extra", "weigth", "size ", "kind"])] = rng.choice(WILD)
    elif how == 4:  # a list blown up
        parent = data
        for p in path[:-1]:
            parent = parent[p]
        if isinstance(parent, list):
            parent.extend(parent * rng.randrange(1, 20))
    else:  # a sub-tree swapped into another place
        _set(data, path, copy.deepcopy(data.get(rng.choice(list(data)))) if isinstance(data, dict) else None)
    if rng.random() < 0.5:
        return yaml.dump(data, Dumper=_CDumper, allow_unicode=True)
    return json.dumps(data, allow_nan=True)


def _yaml_tricks(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    how = rng.randrange(5)
    i = rng.randrange(len(lines))
    if how == 0:  # a key given twice
        lines.insert(i, lines[i])
    elif how == 1:  # an anchor and a pile of aliases
        n = rng.choice([2, 10, 1000, 12_000])  # 12,000 × 10 values: past the alias budget
        lines.append("x: &x [" + ", ".join(["1"] * 9) + "]")
        lines.append("y: [" + ", ".join(["*x"] * n) + "]")
    elif how == 2:  # a recursive anchor
        lines.append("populations: &p [{name: n, size: 1}, *p]")
    elif how == 3:  # deep nesting
        d = rng.choice([10, 70, 5000, 100_000])  # 100,000: where libyaml's composer crashed
        lines.insert(i, "deep: " + "[" * d + "]" * d)
    else:  # YAML's other scalars
        lines.insert(i, rng.choice(["runtime_us: .nan", "runtime_us: .inf", "runtime_us: 2001-12-14",
                                    "seed: 0x7fffffffffffffffff", "name: !!binary aGVsbG8=",
                                    "chip: !!set {a, b}", "runtime_us: 1e-9", "weight: yes", "? [a, b]\n: 1",
                                    "<<: {runtime_us: 1}", "runtime_us: ~", "dt_ns: 1_000"]))
    return "\n".join(lines) + "\n"


def _textual(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    how = rng.randrange(6)
    for _ in range(rng.randrange(1, 8)):
        if not b:
            break
        i = rng.randrange(len(b))
        if how == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif how == 1:
            b.insert(i, rng.randrange(256))
        elif how == 2:
            del b[i]
        elif how == 3:
            b.insert(i, rng.choice(b"[]{}:,-&*!|>'\"#%@`\t\n "))
    if how == 4:
        b = b[: rng.randrange(len(b) + 1)]
    elif how == 5:
        b[rng.randrange(len(b) + 1):rng.randrange(len(b) + 1)] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\0"])
    return bytes(b)


def mutate(rng: random.Random, text: str) -> tuple[bytes, bool]:
    """One mutated input from an example file's text: its bytes and whether it is JSON."""
    kind = rng.randrange(3)
    if kind == 0:
        out = _structural(rng, text)
        return out.encode(), out.startswith("{")
    if kind == 1:
        return _yaml_tricks(rng, text).encode(), False
    return _textual(rng, text.encode()), False


# --- the property ----------------------------------------------------------------------------

class Outcome:
    """Counts of a fuzz run: inputs, valid ones, refused ones, the slowest input's CPU time
    (``slowest_s``: what an input costs, whatever else runs on the machine) and wall time,
    and unexpected errors."""

    def __init__(self) -> None:
        self.inputs = self.valid = self.refused = 0
        self.slowest_s = self.slowest_wall_s = 0.0
        self.total_s = 0.0
        self.unexpected: list[tuple[str, str]] = []

    def add(self, outcome: str, seconds: float, detail: str = "", wall_s: float = 0.0) -> None:
        self.inputs += 1
        self.total_s += seconds
        self.slowest_s = max(self.slowest_s, seconds)
        self.slowest_wall_s = max(self.slowest_wall_s, wall_s)
        if outcome == "valid":
            self.valid += 1
        elif outcome == "refused":
            self.refused += 1
        else:
            self.unexpected.append((outcome, detail))

    def __repr__(self) -> str:
        rate = self.inputs / self.total_s if self.total_s else float("inf")
        return (f"{self.inputs} inputs ({self.valid} valid, {self.refused} refused with ConfigError, "
                f"{len(self.unexpected)} other exceptions) at {rate:.0f} inputs/s of CPU time; slowest "
                f"{self.slowest_s * 1e3:.1f} ms CPU ({self.slowest_wall_s * 1e3:.1f} ms wall)")


def check_data(data, outcome: Outcome) -> None:
    """Validate one generated dict; record the outcome."""
    t0, w0 = time.thread_time(), time.perf_counter()
    try:
        Experiment.model_validate(data)
        result, detail = "valid", ""
    except ConfigError as err:
        result, detail = "refused", str(err)
        if not str(err).strip():
            result = "empty message"
    except Exception as err:  # noqa: BLE001 - this is what the fuzzer looks for
        result, detail = type(err).__name__, f"{err!r}"[:300] + f" on {data!r}"[:300]
    outcome.add(result, time.thread_time() - t0, detail, time.perf_counter() - w0)


def check_bytes(raw: bytes, json_syntax: bool, outcome: Outcome) -> None:
    """Load and validate one file's bytes in-process; record the outcome."""
    t0, w0 = time.thread_time(), time.perf_counter()
    try:
        Experiment.model_validate(load_mapping_text(raw, "fuzz.json" if json_syntax else "fuzz.yaml", json_syntax))
        result, detail = "valid", ""
    except ConfigError as err:
        result, detail = ("refused", "") if str(err).strip() else ("empty message", "")
    except Exception as err:  # noqa: BLE001
        result, detail = type(err).__name__, f"{err!r}"[:300] + f" on {raw[:200]!r}"
    outcome.add(result, time.thread_time() - t0, detail, time.perf_counter() - w0)
