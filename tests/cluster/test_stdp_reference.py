"""The reference network of ``benchmarks/plasticity.py`` with pair STDP on all its synapses
(the compiled sweep, every 10 µs), small and short, gives the same spikes, the same
correlation sensors (raw, before every sweep) and the same weights (after every sweep) as the
code before its plasticity was made faster (main at c7aa23a, with the nearest-neighbour
pairing): the stored digests below were computed there. A change of any bit of the sensors' arithmetic, of their pairing, of the
sweep or of the weight writes changes them — the analytic sensor tests
(``tests/chip_actor/test_correlation_*``) say whether such a change is right; this one that
a speed-up changed nothing."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

import bss2emu

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "plasticity.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("plasticity_benchmark", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class DigestingStdp:
    """The benchmark's rule, with a digest of the chip's raw sensors before it and of the
    weights it leaves (as the next invocation sees them) recorded at every invocation."""

    reads_correlation = True

    def __init__(self, rule) -> None:
        self.rule = rule

    def __call__(self, ctx) -> None:
        snap = ctx._snap
        for name, arr in (("causal", snap._causal), ("acausal", snap._acausal), ("weights", snap.weights)):
            ctx.record(name, float(int.from_bytes(hashlib.sha256(np.ascontiguousarray(arr).tobytes()).digest()[:6],
                                                  "little")))
        self.rule(ctx)


def _digest(res) -> str:
    """sha256 of the spikes and the recorded digests, every value as Python prints it."""
    return hashlib.sha256(repr([res.tables[t].to_pydict() for t in ("spikes", "ppu")]).encode()).hexdigest()


#: (neurons, runtime µs) -> digest of spikes and per-invocation sensor/weight digests at c7aa23a
REFERENCE = {(128, 200.0): "829e35cbc59027e6d0d7283ea454324d05db2fedd6a368bc737f63e4ec77cb41",
             (512, 100.0): "0c61a0b7f6a6630885df46eb5036ac71baae531db297e3b929156b0c5734c23a"}


def test_stdp_on_the_reference_network_is_bit_for_bit_the_unoptimised_code():
    bench = _benchmark()
    for (n, runtime_us), digest in REFERENCE.items():
        exp = bench.experiment(n, runtime_us, 10.0, DigestingStdp(bench.AllSynapseSTDP()))
        res = bss2emu.run(exp)
        assert res.tables["ppu"].num_rows == 3 * (int(runtime_us // 10.0) - 1)  # (at 10, 20, … µs)
        assert _digest(res) == digest, (n, runtime_us)
