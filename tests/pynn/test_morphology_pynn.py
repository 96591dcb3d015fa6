"""Multi-compartment neurons in PyNN (``morphology.create_mc_neuron``) against the core API and
the linear compartment equations.

* a 2-compartment neuron built in PyNN gives the same membrane trace, sample for sample, as
  the same structured neuron built with the core API (``protocol.morphology`` + ``Experiment``);
* a passive chain driven by a constant current into compartment 0 settles where the linear
  cable equation puts it: ``v - E_L = (G_L + G)⁻¹ I``, with G_L, G and I computed from the
  same chip's circuit physics (``Chip.physics``, so a change of the DAC maps changes both);
* the two views are one implementation: the same chain through ``bss2emu.brainscales2`` and
  ``bss2emu.pynn`` gives the same circuits and hardware values.
"""

from __future__ import annotations

import numpy as np
import pytest

import bss2emu
import bss2emu.pynn as sim
from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.hardware import ChipConfig
from bss2emu.protocol.morphology import chain_morphology
from bss2emu.protocol.schemas import madc_code_to_mv
from bss2emu.pynn.morphology import Compartment, McCircuitParameters, SharedLineConnection, create_mc_neuron


def chain_compartments(length: int, conductance: int, **first_params) -> tuple[list, list]:
    """The BSS-2 tutorial's chain: compartment i on positions 2i, 2i+1; the right circuit
    reaches the next compartment's left circuit through the conductance and the line."""
    comps, cons = [], []
    for i in range(length):
        pos = [2 * i, 2 * i + 1]
        comps.append(Compartment(positions=pos, label=f"c{i}", connect_shared_line=[pos[0]] if i else None,
                                 connect_conductance=[(pos[1], conductance)] if i < length - 1 else None,
                                 **(first_params if i == 0 else {})))
        if i < length - 1:
            cons.append(SharedLineConnection(start=2 * i + 1, stop=2 * i + 2, row=0))
    return comps, cons


PARAMS = {"enable_fire": 0, "i_bias_leak": 60}


def test_two_compartments_in_pynn_equal_the_core_api_structured_neuron():
    comps, cons = chain_compartments(2, 410)  # g_icc 1.35 µS
    Two = create_mc_neuron("Two", compartments=comps, connections=cons)
    sim.setup(timestep=0.1)
    pop = sim.Population(1, Two(**PARAMS))
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[10.0]))
    sim.Projection(src, pop, sim.AllToAllConnector(location_selector="c1"), sim.StaticSynapse(weight=50, delay=1.0))
    pop.record(["v"], locations=["c0"])
    sim.run(40.0)
    sig = pop.get_data().segments[-1].analogsignals[0]
    v_pynn = np.asarray(sig).ravel()
    assert sig.name == "c0.v"
    sim.end()

    placed = chain_morphology(2).place([0])
    exp = bss2emu.Experiment(
        name="core", runtime_us=40.1, chip={"ideal": True},
        populations=[placed.population("n", {**PARAMS, "i_bias_conductance": [0, 410, 0, 0]})],
        sources=[{"kind": "spike_array", "name": "in", "size": 4, "spike_times_us": [[10.0]] * 4}],
        projections=[{"pre": "in", "post": "n", "weight": 50, "delay_us": 1.0,
                      "connector": {"kind": "from_list", "connections": [[i, placed.index(0, 1)] for i in range(4)]}}],
        recordings={"madc": {"population": "n", "index": placed.index(0, 0)}})
    trace = bss2emu.run(exp).madc_values()
    v_core = np.asarray(trace.values, float)
    assert v_pynn.max() - v_pynn[:50].mean() > 5.0  # the EPSP reached compartment 0
    np.testing.assert_array_equal(v_pynn, v_core[:len(v_pynn)])


def steady_state_expected(exp, length: int) -> np.ndarray:
    """``(G_L + G)⁻¹ I`` (mV above E_L) for the chain of the experiment's first population, from
    the circuits' physics on the same (ideal) chip."""
    cfg = ChipConfig()
    pop = exp.populations[0]
    for name, value in pop.params.model_dump(exclude_none=True).items():
        cfg.neurons.column(name)[pop.circuits] = value
    ph = Chip(cfg, ideal=True).physics
    c = pop.circuits
    m = np.diag([ph.g_l[c[2 * i]] + ph.g_l[c[2 * i + 1]] for i in range(length)])
    for i in range(length - 1):
        g = ph.g_icc[c[2 * i + 1]]
        m[i, i] += g
        m[i + 1, i + 1] += g
        m[i, i + 1] -= g
        m[i + 1, i] -= g
    current = np.zeros(length)
    current[0] = ph.i_const[c[0]] + ph.i_const[c[1]]
    return np.linalg.solve(m, current)


@pytest.mark.parametrize("conductance", [60, 400])
def test_a_chain_settles_where_the_linear_cable_equation_puts_it(conductance):
    length = 4
    comps, cons = chain_compartments(length, conductance, i_const=[1000, 0])  # 50 nA into compartment 0
    Chain = create_mc_neuron("Chain", compartments=comps, connections=cons, single_active_circuit=True)
    deflection = []
    for k in range(length):
        sim.setup(timestep=0.1)
        pop = sim.Population(1, Chain(enable_fire=0, i_bias_leak=80))
        pop.record("v", locations=[f"c{k}"])
        sim.run(300.0)  # τ ≈ C/g ≲ 10 µs: settled long before
        v = np.asarray(pop.get_data().segments[-1].analogsignals[0]).ravel()
        exp = sim.state.last_experiment
        deflection.append(v[-500:].mean())
        sim.end()
    # E_L from a run without current (the same chip)
    comps0, _ = chain_compartments(length, conductance)
    Rest = create_mc_neuron("Rest", compartments=comps0, connections=cons, single_active_circuit=True)
    sim.setup(timestep=0.1)
    pop = sim.Population(1, Rest(enable_fire=0, i_bias_leak=80))
    pop.record("v", locations=["c0"])
    sim.run(50.0)
    rest = np.asarray(pop.get_data().segments[-1].analogsignals[0]).ravel()[-200:].mean()
    sim.end()
    got = np.array(deflection) - rest
    want = steady_state_expected(exp, length)
    assert np.all(np.diff(got) < 0) and np.all(np.diff(want) < 0)  # attenuates along the chain
    assert want[0] > 40.0  # a deflection the 10-bit MADC resolves to ~3 %
    # the MADC rounds to codes of 1.17 mV: within one code of the cable equation's steady state
    np.testing.assert_allclose(got, want, atol=float(madc_code_to_mv(1)) + 1e-9)


def test_both_views_build_the_same_neuron():
    import bss2emu.brainscales2 as pynn
    from bss2emu.brainscales2.morphology import create_mc_neuron as create_bs2

    comps, cons = chain_compartments(3, 250)
    exps = []
    for view, create, params in ((sim, create_mc_neuron, {"enable_fire": 0, "i_bias_leak": 70}),
                                 (pynn, create_bs2, {"threshold_enable": False, "leak_i_bias": 70})):
        Chain = create("Chain", compartments=comps, connections=cons, single_active_circuit=True)
        view.setup()
        view.Population(2, Chain(**params))
        view.run(0.05 if view is pynn else 50.0)
        exps.append(view.state.last_experiment if view is sim else pynn.simulator.state.last_experiment)
        view.end()
    a, b = exps[0].populations[0], exps[1].populations[0]
    assert a.circuits == b.circuits == list(range(6)) + list(range(6, 12))
    for name in ("connect_soma", "connect_soma_right", "enable_conductance", "connect_right", "i_bias_conductance",
                 "i_bias_leak", "enable_fire"):  # (other defaults are each view's own)
        assert np.array_equal(np.broadcast_to(getattr(a.params, name), (12,)), np.broadcast_to(getattr(b.params, name), (12,))), name
    # single_active_circuit: the second circuit of each compartment has no leak and no threshold
    assert np.broadcast_to(a.params.i_bias_leak, (12,)).tolist() == [70, 0] * 6


def test_parameters_per_compartment_and_circuit():
    comps, cons = chain_compartments(2, 200)
    Two = create_mc_neuron("Two", compartments=comps, connections=cons)
    sim.setup()
    pop = sim.Population(2, Two(v_leak=McCircuitParameters([[500, 510], [520, 530]])))
    assert all(v == McCircuitParameters([[500, 510], [520, 530]]) for v in pop.get("v_leak"))
    assert all(v == McCircuitParameters([[0, 200], [0, 0]]) for v in pop.get("i_bias_conductance"))
    pop.set(v_leak=600)
    assert pop.get("v_leak") == 600
    pop[1:2].set(v_leak=McCircuitParameters([[1, 2], [3, 4]]))
    got = pop.get("v_leak")
    assert got[0] == McCircuitParameters([[600] * 2] * 2) and got[1] == McCircuitParameters([[1, 2], [3, 4]])
    sim.end()


def test_structured_pynn_example_shows_attenuation_along_the_chain(example, tmp_path, png_written):
    mod = example("structured_pynn")
    r = mod.main(length=3, conductance=300, out_dir=tmp_path)
    png_written(r, tmp_path, "structured_pynn.png")
    psp = r["psp_mv"]
    assert r["signal_name"] == "c2.v"
    for inj, row in enumerate(psp):
        assert np.argmax(row) == inj and row[inj] > 10.0  # largest where the input arrives
        assert np.all(np.diff(row[inj:]) < 0) and np.all(np.diff(row[:inj + 1]) > 0)  # smaller with distance


def test_membranes_of_several_compartments_come_from_the_cadc_each_its_own():
    """v at three compartments in one run (the CADC) equals, within the CADC's 8-bit step, each
    compartment's MADC trace of its own run; ``get_data(locations=...)`` picks one."""
    comps, cons = chain_compartments(3, 300)
    Chain = create_mc_neuron("Chain", compartments=comps, connections=cons, single_active_circuit=True)

    def run(locations):
        sim.setup(timestep=0.1)
        pop = sim.Population(1, Chain(enable_fire=0, i_bias_leak=80))
        src = sim.Population(8, sim.SpikeSourceArray(spike_times=[5.0]))
        sim.Projection(src, pop, sim.AllToAllConnector(location_selector="c0"), sim.StaticSynapse(weight=63))
        pop.record("v", locations=locations, sampling_interval=0.6 if len(locations) > 1 else None)
        sim.run(30.0)
        block = pop.get_data("v")
        one = pop.get_data("v", locations=["c1"]).segments[-1].analogsignals
        sim.end()
        return block.segments[-1].analogsignals, one

    cadc, one = run(["c0", "c1", "c2"])
    assert sorted(s.name for s in cadc) == ["c0.v", "c1.v", "c2.v"]
    assert [s.name for s in one] == ["c1.v"]
    by_name = {s.name: s for s in cadc}
    peaks = []
    for k in range(3):
        madc = run([f"c{k}"])[0][0]
        t_m, v_m = np.asarray(madc.times, float), np.asarray(madc, float).ravel()
        sig = by_name[f"c{k}.v"]
        t_c, v_c = np.asarray(sig.times, float), np.asarray(sig, float).ravel()
        ok = ~np.isnan(v_c)
        v_at = np.interp(t_c[ok], t_m, v_m)
        assert np.abs(v_c[ok] - v_at).max() < 1200 / 255 + 1.2  # one CADC step plus one MADC step
        peaks.append(v_m.max() - v_m[0])
    assert peaks[0] > peaks[1] + 5 > peaks[2] + 5  # three different membranes


def test_a_population_of_logical_neurons_keeps_them_apart():
    """Input to neuron 1's dendrite reaches neuron 1's soma and not neuron 0's (each logical
    neuron has its own circuits, side by side)."""
    comps, cons = chain_compartments(2, 300)
    Two = create_mc_neuron("Two", compartments=comps, connections=cons)
    rise = []
    for neuron in (0, 1):
        sim.setup(timestep=0.1)
        pop = sim.Population(2, Two(**PARAMS))
        src = sim.Population(8, sim.SpikeSourceArray(spike_times=[5.0]))
        sim.Projection(src, pop[1:2], sim.AllToAllConnector(location_selector="c1"), sim.StaticSynapse(weight=63))
        pop[neuron:neuron + 1].record("v", locations=["c0"])
        sim.run(30.0)
        v = np.asarray(pop.get_data().segments[-1].analogsignals[0]).ravel()
        rise.append(v.max() - v[:40].mean())
        assert sim.state.last_experiment.populations[0].circuits == list(range(8))
        sim.end()
    assert rise[0] < 1.5 and rise[1] > 5.0


def test_pynn_brainscales2s_hardware_test_on_the_nightly_calibration():
    """pynn.brainscales2's own test of multi-compartment neurons (a chain with one single-circuit
    and two two-circuit compartments; input into one compartment after another; each
    compartment recorded in turn): the EPSP is largest where it was injected. The circuits
    take the nightly calibration's values except where the morphology sets them: the
    switches, the conductances, and single_active_circuit's silenced circuits."""
    import bss2emu.brainscales2 as pynn
    from bss2emu.brainscales2.morphology import create_mc_neuron as create_bs2
    from bss2emu.protocol.atomic_neuron import flat_to_internal

    calib = pynn.helper.chip_from_nightly()
    pynn.setup(initial_config=calib)
    G = 1000  # as the real test: 3.3 µS, 14× the leak, still leaves the injected compartment highest
    labels = ["comp_0", "comp_1", "comp_2"]
    comps = [Compartment(positions=[0], label=labels[0], connect_shared_line=[0]),
             Compartment(positions=[1, 2], label=labels[1], connect_conductance=[(1, G)], connect_shared_line=[2]),
             Compartment(positions=[3, 4], label=labels[2], connect_conductance=[(3, G)])]
    McNeuron = create_bs2("McNeuron", compartments=comps, single_active_circuit=True,
                          connections=[SharedLineConnection(0, 1, 0), SharedLineConnection(2, 3, 0)])
    pop = pynn.Population(1, McNeuron(threshold_enable=False))
    isi = 0.5  # hardware ms
    for label, spike in zip(labels, (np.arange(3) + 0.5) * isi):
        source = pynn.Population(5, pynn.cells.SpikeSourceArray(spike_times=[spike]))
        pynn.Projection(source, pop, pynn.AllToAllConnector(location_selector=label),
                        synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=63))
    heights = []
    for label in labels:
        pop.record(None)
        pop.record(["v"], locations=[label])
        pynn.run(isi * 3)
        v = np.asarray(pop.get_data(clear=True).segments[-1].irregularlysampledsignals[-1]).ravel()
        parts = np.array_split(v, 3)
        heights.append([p.max() - p[:20].mean() for p in parts])
        pynn.reset()
    params = pynn.simulator.state.last_experiment.populations[0].params
    pynn.end()
    assert np.argmax(heights, axis=1).tolist() == [0, 1, 2]
    nightly = flat_to_internal({k: np.array([calib.neuron_block.atomic_neurons[c].leak.i_bias for c in range(5)])
                                for k in ["leak_i_bias"]})["i_bias_leak"]
    leak = np.broadcast_to(params.i_bias_leak, (5,))
    assert leak[[0, 1, 3]].tolist() == nightly[[0, 1, 3]].tolist() and leak[[2, 4]].tolist() == [0, 0]
    assert np.broadcast_to(params.i_bias_conductance, (5,))[[1, 3]].tolist() == [G, G]
    assert np.broadcast_to(params.enable_fire, (5,)).tolist() == [0] * 5
