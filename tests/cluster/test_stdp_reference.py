"""The reference network of ``benchmarks/plasticity.py`` with pair STDP on all its synapses
(the compiled sweep, every 10 µs), small and short, gives the same spikes, the same
correlation sensors of the projections' synapses (raw, before every sweep) and the same
weights (after every sweep) as the
code before its plasticity was made faster (main at c7aa23a, with the nearest-neighbour
pairing): the stored digests below were computed there. A change of any bit of the sensors' arithmetic, of their pairing, of the
sweep or of the weight writes changes them — the analytic sensor tests
(``tests/chip_actor/test_correlation_*``) say whether such a change is right; this one that
a speed-up changed nothing."""

from __future__ import annotations

import hashlib
import numpy as np

import bss2emu

class DigestingStdp:
    """The benchmark's rule, with a digest of the raw sensors of the projections' synapses
    before it and of their weights it leaves (as the next invocation sees them) recorded at
    every invocation. (Only the projections' synapses: the routing parks the unused ones at
    an address no event carries, ``mapping._park_unused_synapses``, so their sensors stay 0
    where they used to count address-0 events; a rule never sees them.)"""

    reads_correlation = True

    def __init__(self, rule) -> None:
        self.rule = rule

    def __call__(self, ctx) -> None:
        snap = ctx._snap
        used = np.unique(np.concatenate([view.flat for view in ctx.projections]))
        for name, arr in (("causal", snap._causal), ("acausal", snap._acausal), ("weights", snap.weights)):
            values = np.ascontiguousarray(np.asarray(arr).reshape(-1)[used])
            ctx.record(name, float(int.from_bytes(hashlib.sha256(values.tobytes()).digest()[:6], "little")))
        self.rule(ctx)


def _digest(res) -> str:
    """sha256 of the spikes and the recorded digests, every value as Python prints it."""
    return hashlib.sha256(repr([res.tables[t].to_pydict() for t in ("spikes", "ppu")]).encode()).hexdigest()


#: (neurons, runtime µs) -> digest of spikes and per-invocation sensor/weight digests at c7aa23a
#: with branch adex's neuron maps (its merge of c7aa23a, 208c0cf: the AdEx tutorial's fitted
#: leak conductance, currents and reset map moved the network's spikes), computed by running
#: this file's digest on a checkout of 208c0cf
REFERENCE = {(128, 200.0): "af849af8e5583d14eec76762d773ab0b08a8e54e666a5363645933589b0228bd",
             (512, 100.0): "731d14eb2af8e9eb92c1ef9dadafee96e842057180ca89b82489ecf0a1ffd59f"}


def test_stdp_on_the_reference_network_is_bit_for_bit_the_unoptimised_code(plasticity_benchmark):
    bench = plasticity_benchmark
    for (n, runtime_us), digest in REFERENCE.items():
        exp = bench.experiment(n, runtime_us, 10.0, DigestingStdp(bench.AllSynapseSTDP()))
        res = bss2emu.run(exp)
        assert res.tables["ppu"].num_rows == 3 * (int(runtime_us // 10.0) - 1)  # (at 10, 20, … µs)
        assert _digest(res) == digest, (n, runtime_us)
