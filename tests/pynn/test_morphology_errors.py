"""Multi-compartment neurons in PyNN: every wrong argument raises an error that names the
compartment or population, the value and the fix; spikes are recorded per compartment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyNN.errors import NonExistentParameterError

import bss2emu.pynn as sim
from bss2emu.errors import ConfigError
from bss2emu.pynn.exceptions import ConnectionError
from bss2emu.pynn.morphology import Compartment, CompartmentTypeError, SharedLineConnection, create_mc_neuron

POSITIONS = st.lists(st.integers(0, 511), min_size=1, max_size=6, unique=True)


def two_compartments(**dend_params):
    return create_mc_neuron("Two", compartments=[
        Compartment(positions=[0, 1], label="soma", connect_shared_line=[1]),
        Compartment(positions=[2, 3], label="dend", connect_conductance=[(2, 100)], **dend_params)],
        connections=[SharedLineConnection(start=1, stop=2, row=0)])


@given(POSITIONS, st.data())
def test_a_compartment_keeps_its_positions_and_connections(positions, data):
    on_line = data.draw(st.lists(st.sampled_from(positions), unique=True))
    rest = [p for p in positions if p not in on_line]
    through = data.draw(st.lists(st.sampled_from(rest), unique=True)) if rest else []
    c = Compartment(positions=positions, label="x", connect_shared_line=on_line,
                    connect_conductance=[(p, 500) for p in through])
    assert c.positions == positions and c.connect_shared_line == on_line and c.size == len(positions)
    assert c.connect_conductance == [(p, 500) for p in through]


@given(POSITIONS, st.integers(0, 511))
def test_a_connection_outside_the_compartment_names_the_position(positions, other):
    if other in positions:
        return
    for kw in ({"connect_shared_line": [other]}, {"connect_conductance": [(other, 10)]}):
        with pytest.raises(CompartmentTypeError, match=rf"Compartment 'x': .* position {other}, which is not among"):
            Compartment(positions=positions, label="x", **kw)


@given(POSITIONS)
def test_a_position_listed_twice_is_refused(positions):
    with pytest.raises(CompartmentTypeError, match=rf"position {positions[0]} twice; list it once"):
        Compartment(positions=positions + positions[:1], label="x")


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=1023), st.floats(1022.5, 1e9)))
def test_a_conductance_outside_the_dac_names_value_and_range(g):
    with pytest.raises(ConfigError, match=r"conductance .* of position 1 is not a DAC value; give 0 … 1022"):
        Compartment(positions=[0, 1], label="x", connect_conductance=[(1, g)])


@settings(max_examples=25)
@given(st.integers(-5, 1100))
def test_a_position_outside_the_logical_neuron_is_refused(position):
    if 0 <= position < 512:
        Compartment(positions=[position], label="x")
        return
    with pytest.raises(ConfigError, match=rf"position {position} is outside a logical neuron's 512 circuits"):
        Compartment(positions=[position], label="x")


def test_wrong_shapes_raise_type_errors_as_pynn_brainscales2_does():
    with pytest.raises(TypeError, match="not a sequence of circuit positions"):
        Compartment(positions=0, label="x")
    with pytest.raises(TypeError, match=r"entry \[1, 100\] is not a \(position, conductance\) tuple"):
        Compartment(positions=[0, 1], label="x", connect_conductance=[[1, 100]])
    with pytest.raises(TypeError, match="in connect_shared_line and connect_conductance"):
        Compartment(positions=[0, 1], label="x", connect_shared_line=[1], connect_conductance=[(1, 100)])
    comp = Compartment(positions=[0], label="x")
    with pytest.raises(TypeError, match="not a sequence of Compartment"):
        create_mc_neuron("N", compartments=comp)
    with pytest.raises(TypeError, match="not a list of SharedLineConnection"):
        create_mc_neuron("N", compartments=[comp], connections=[(0, 1, 0)])


def test_a_structure_the_chip_cannot_build_is_refused_with_the_morphology_rule():
    a = Compartment(positions=[0], label="a", connect_shared_line=[0])
    b = Compartment(positions=[1], label="b", connect_conductance=[(1, 200)])
    with pytest.raises(ConfigError, match=r"circuit \(column 1, row 0\) is not connected to compartment 0"):
        create_mc_neuron("N", compartments=[a, b])  # no SharedLineConnection between them
    with pytest.raises(ConfigError, match="already in compartment 0"):
        create_mc_neuron("N", compartments=[a, Compartment(positions=[0, 1], label="c")])
    with pytest.raises(ConfigError, match=r"Compartment 'x': 'tau_m' is not a parameter of N"):
        create_mc_neuron("N", compartments=[Compartment(positions=[0], label="x", tau_m=10.0)])


def test_projections_and_recordings_name_a_compartment():
    Two = two_compartments()
    sim.setup()
    pop = sim.Population(1, Two(), label="cell")
    point = sim.Population(1, sim.HXNeuron(), label="point")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(ConfigError, match=r"onto Two population 'cell'.*location_selector=<label>, one of "
                                          r"\['soma', 'dend'\]"):
        sim.Projection(src, pop, sim.AllToAllConnector())
    with pytest.raises(ConfigError, match=r"no compartment is labelled 'axon'; its labels are \['soma', 'dend'\]"):
        sim.Projection(src, pop, sim.AllToAllConnector(location_selector="axon"))
    with pytest.raises(ConnectionError, match="population 'point' has one compartment; leave location_selector out"):
        sim.Projection(src, point, sim.AllToAllConnector(location_selector="soma"))
    with pytest.raises(ConfigError, match="population 'point': record.*one compartment; leave locations out"):
        point.record("v", locations=["soma"])
    with pytest.raises(ConfigError, match="no compartment is labelled 'axon'"):
        pop.record("v", locations=["axon"])
    with pytest.raises(NonExistentParameterError, match="connect_soma"):  # the morphology sets the switches
        pop.set(connect_soma=1)
    sim.end()


def test_spikes_are_recorded_per_compartment():
    """A dendrite driven above its threshold fires (a dendritic spike) while the soma, weakly
    coupled and without threshold, does not: its spikes are the dendrite's, not the soma's."""
    Two = two_compartments(enable_fire=1, i_const=300, v_threshold=434)  # 622 mV on the threshold cell's map
    sim.setup()
    pop = sim.Population(1, Two(enable_fire=0), label="cell")  # the cell type's value, for every circuit ...
    pop.set(i_bias_leak=60)
    from bss2emu.pynn.morphology import McCircuitParameters

    pop.set(enable_fire=McCircuitParameters([[0, 0], [1, 1]]))  # ... then the dendrite's threshold on
    pop.record("spikes", locations=["soma", "dend"])
    sim.run(100.0)
    trains = {t.annotations["location"]: np.asarray(t) for t in pop.get_data().segments[-1].spiketrains}
    sim.end()
    assert set(trains) == {"soma", "dend"}
    assert len(trains["dend"]) >= 3 and len(trains["soma"]) == 0


def test_logical_neurons_fill_row_0_then_row_1_and_a_full_chip_says_so():
    comps = [Compartment(positions=[2 * k, 2 * k + 1], label=f"c{k}", connect_shared_line=[2 * k] if k else None,
                         connect_conductance=[(2 * k + 1, 100)] if k < 3 else None) for k in range(4)]
    Chain = create_mc_neuron("Chain", compartments=comps,
                             connections=[SharedLineConnection(2 * k + 1, 2 * k + 2, 0) for k in range(3)])
    sim.setup()
    sim.Population(40, Chain(), label="chains")  # 8 columns each: 32 in row 0, 8 in row 1
    sim.run(1.0)
    circuits = sim.state.last_experiment.populations[0].circuits
    sim.end()
    assert circuits[:256] == list(range(256)) and circuits[256:] == list(range(256, 320))
    sim.setup()
    sim.Population(65, Chain(), label="too many")
    with pytest.raises(ConfigError, match=r"population 'too many': 65 Chain neurons of 8 columns each, and a chip "
                                          r"holds 64 of them.*annotate\(chip=k\)"):
        sim.run(1.0)
    sim.end()
