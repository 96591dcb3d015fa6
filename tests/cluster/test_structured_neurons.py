"""Logical neurons through the core API: placed as a pinned population, stimulated and
recorded per compartment, identical in every placement; coincidence detection."""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
from bss2emu.protocol.morphology import Morphology

# coincidence detector: two branches (A, B) coupled to a soma (S) through the conductance
_M = Morphology()
A = _M.create_compartment([(0, 0), (1, 0)])
S = _M.create_compartment([(2, 0), (3, 0)])
B = _M.create_compartment([(4, 0), (5, 0)])
_M.connect_resistor_to_soma((1, 0))
_M.connect_to_soma((2, 0))
_M.connect_soma_line(1, 2, 0)
_M.connect_resistor_to_soma((4, 0))
_M.connect_to_soma((3, 0))
_M.connect_soma_line(3, 4, 0)
PLACED = _M.done().place([10])
SOMA = PLACED.index(0, S)
THRESHOLD = 474  # 597.6 mV (the threshold cell's map): between the soma's peak for one input (~595 mV) and for two (~600 mV)


def detector(t_a_us, t_b_us, fire: bool = True) -> bss2emu.Experiment:
    params = {"i_bias_conductance": 600, "i_bias_syn_exc_gm": 170, "i_bias_syn_exc_tau": 30, "i_bias_leak": 63,
              "v_threshold": THRESHOLD, "enable_fire": [int(fire and i == SOMA) for i in range(PLACED.size)]}
    sources, projections = [], []
    for name, comp, t in (("a", A, t_a_us), ("b", B, t_b_us)):
        if t is None:
            continue
        sources.append({"kind": "spike_array", "name": name, "size": 1, "spike_times_us": [[t]]})
        projections.append({"pre": name, "post": "cell", "weight": 63,
                            "connector": {"kind": "from_list", "connections": [[0, PLACED.index(0, comp)]]}})
    return bss2emu.Experiment(runtime_us=80, chip={"ideal": True}, populations=[PLACED.population("cell", params)],
                              sources=sources, projections=projections,
                              recordings={"madc": {"population": "cell", "index": SOMA}})


def soma_spikes(res) -> int:
    return len(res.spike_times_us("cell")[SOMA])


def test_coincident_inputs_on_two_branches_fire_the_soma_and_the_interval_dependence_is_monotone():
    assert soma_spikes(bss2emu.run(detector(10.0, None))) == 0
    assert soma_spikes(bss2emu.run(detector(None, 10.0))) == 0
    intervals = [0.0, 2.0, 5.0, 10.0, 20.0, 30.0, 50.0]
    counts = [soma_spikes(bss2emu.run(detector(10.0, 10.0 + d))) for d in intervals]
    peaks = [bss2emu.run(detector(10.0, 10.0 + d, fire=False)).madc_mv()["v_mv"].max() for d in intervals]
    assert counts[0] >= 1 and counts[-1] == 0
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert all(a >= b for a, b in zip(peaks, peaks[1:])) and peaks[0] > peaks[-1]


def test_only_the_compartment_with_its_threshold_on_spikes_and_under_its_lead_circuit():
    res = bss2emu.run(detector(10.0, 10.0))
    per_circuit = res.spike_times_us("cell")
    assert [i for i, s in enumerate(per_circuit) if len(s)] == [SOMA]


def test_a_logical_neuron_gives_identical_results_on_ray(ray_cluster):
    exp = detector(10.0, 12.0)
    ref = bss2emu.run(exp)
    res = bss2emu.run(exp, placement="per-chip")
    assert soma_spikes(ref) >= 1
    assert res.spikes.select(["time_ticks", "index"]).equals(ref.spikes.select(["time_ticks", "index"]))
    assert res.madc.column("value").equals(ref.madc.column("value"))


def test_logical_neurons_that_overlap_or_leave_the_chip_are_refused():
    from bss2emu.errors import ConfigError

    with pytest.raises(ConfigError, match="circuit 13 is also logical neuron 0's; logical neurons do not overlap"):
        _M.done().place([10, 13])
    with pytest.raises(ConfigError, match="spans columns 252..257.*anchor it at 0..250"):
        _M.done().place([252])


def test_a_logical_neuron_on_the_second_chip_of_a_multi_chip_system_behaves_as_on_one_chip():
    exp = detector(10.0, 12.0)
    ref = bss2emu.run(exp)
    moved = exp.model_dump()
    moved["populations"][0]["chip"] = 1
    res = bss2emu.run(moved, chips=2)
    assert soma_spikes(ref) >= 1
    np.testing.assert_array_equal(res.spike_times_us("cell")[SOMA], ref.spike_times_us("cell")[SOMA])
    assert res.madc.column("value").equals(ref.madc.column("value"))
