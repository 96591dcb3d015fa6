"""A timed weight write of some of a projection's connections (``WeightWrite.indices``): only
their synapses change, the others keep their weights (a plasticity rule's among them)."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.protocol import experiment as E
from bss2emu.routing.mapping import map_experiment
from bss2emu.routing.stimulus import build_playback

BASE = dict(name="w", runtime_us=90.0, chip={"ideal": True},
            populations=[{"name": "p", "size": 2, "params": {"i_const": 235}}],
            sources=[{"kind": "spike_array", "name": "s", "size": 24,
                      "spike_times_us": [list(np.arange(2.0, 90.0, 5.0))] * 24}],
            projections=[{"name": "sp", "pre": "s", "post": "p", "weight": 63,  # 12 inputs per neuron
                          "connector": {"kind": "from_list", "connections": [[i, i // 12] for i in range(24)]}}])


def test_the_playback_writes_exactly_the_synapses_named():
    write = {"kind": "weight", "time_us": 30.0, "projection": "sp", "weights": [5, 7], "indices": [3, 20]}
    exp = E.Experiment(**BASE, writes=[write])
    mapping = map_experiment(exp)
    (pw,) = build_playback(exp, mapping, 0).writes
    _, h, r, c = mapping.synapse["sp"]
    assert pw.time_ticks == 30 * 125 and pw.values.tolist() == [5, 7]
    assert (pw.hemisphere.tolist(), pw.row.tolist(), pw.column.tolist()) == (
        h[[3, 20]].tolist(), r[[3, 20]].tolist(), c[[3, 20]].tolist())


def test_only_the_connections_written_change():
    """At 30 µs the inputs of neuron 1 (connections 12..23) get weight 0: it falls silent
    (15 µs left for its input to decay), neuron 0 spikes as without the write."""
    counts = (lambda r: [np.histogram(r.spike_times_us("p")[i], [0, 30, 45, 90])[0][::2].tolist() for i in range(2)])
    before = counts(bss2emu.run(E.Experiment(**BASE)))
    assert all(x > 0 for row in before for x in row)
    write = {"kind": "weight", "time_us": 30.0, "projection": "sp", "weight": 0, "indices": list(range(12, 24))}
    after = counts(bss2emu.run(E.Experiment(**BASE, writes=[write])))
    assert after[0] == before[0] and after[1][0] == before[1][0] and after[1][1] == 0


def test_bad_indices_are_refused():
    with pytest.raises(ValueError, match="2 weights for 1 indices; give one weight per index"):
        E.WeightWrite(time_us=1.0, projection="sp", weights=[1, 2], indices=[0])
    with pytest.raises(ValueError, match="connection index 24 is out of range for projection 'sp' with 24"):
        bss2emu.run(E.Experiment(**BASE, writes=[{"kind": "weight", "time_us": 1.0, "projection": "sp",
                                                  "weight": 1, "indices": [24]}]))
