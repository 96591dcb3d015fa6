"""The Morphology API: the real stack's calls, their switches, and every rule's error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bss2emu.errors import BssError, ConfigError
from bss2emu.protocol.morphology import Morphology
from bss2emu.stack import halco, lola

SEED = '''
coord = halco.AtomicNeuronOnLogicalNeuron   # relative coordinate
row = halco.NeuronRowOnLogicalNeuron        # 0, 1
column = halco.NeuronColumnOnLogicalNeuron  # 0, 1, ..., 127
morphology = lola.Morphology()
morphology.create_compartment([coord(0, 0), coord(1, 0)])
morphology.create_compartment([coord(2, 0), coord(3, 0), coord(3, 1)])
for row_coord in [0, 1]:
    for column_coord in [4, 6]:
        morphology.create_compartment([coord(column_coord, row_coord), coord(column_coord + 1, row_coord)])
morphology.connect_resistor_to_soma(coord(1, 0))
for row_coord in [0, 1]:
    for column_coord in [3, 5]:
        morphology.connect_resistor_to_soma(coord(column_coord, row_coord))
morphology.connect_to_soma(coord(2, 0))
for row_coord in [0, 1]:
    for column_coord in [4, 6]:
        morphology.connect_to_soma(coord(column_coord, row_coord))
morphology.connect_soma_line(start=column(1), end=column(2), row=row(0))
for row_coord in [row(0), row(1)]:
    morphology.connect_soma_line(column(3), column(4), row_coord)
    morphology.connect_soma_line(column(5), column(6), row_coord)
neuron_coordinate, logical_neuron = morphology.done()
'''


def test_the_issue_seed_runs_with_bss2emus_stack_modules():
    ns = {"halco": halco, "lola": lola}
    exec(SEED, ns)
    comps = ns["neuron_coordinate"].get_compartments()
    coord = halco.AtomicNeuronOnLogicalNeuron
    assert len(comps) == 6
    assert comps[halco.CompartmentOnLogicalNeuron(1)] == [coord(2, 0), coord(3, 0), coord(3, 1)]
    neuron = ns["logical_neuron"]
    mc = neuron.at(halco.CompartmentOnLogicalNeuron(1), 1).multicompartment
    assert mc.connect_vertical and mc.enable_conductance and not mc.connect_soma
    # placed on the chip, through a playback program
    placed = halco.LogicalNeuronOnDLS(ns["neuron_coordinate"], halco.AtomicNeuronOnDLS(100))
    assert placed.get_placed_compartments()[halco.CompartmentOnLogicalNeuron(1)] == [
        halco.AtomicNeuronOnDLS(102), halco.AtomicNeuronOnDLS(103), halco.AtomicNeuronOnDLS(359)]


def test_the_switches_are_those_of_lolas_chain_example():
    """``lola``'s own test (Morphology.Chain): ▀▀█▄█▀."""
    chain = [(0, 0), (1, 0), (2, 0), (2, 1), (3, 1), (4, 1), (4, 0), (5, 0)]
    m = Morphology()
    m.create_compartment(chain)
    sw = m.done().switches
    right = [c for c in chain if "connect_right" in sw[c]]
    vertical = [c for c in chain if "connect_vertical" in sw[c]]
    assert right == [(0, 0), (1, 0), (2, 1), (3, 1), (4, 0)]
    assert vertical == [(2, 0), (2, 1), (4, 1), (4, 0)]


def test_a_line_only_circuit_and_an_unnamed_resistor_circuit_become_what_lola_makes():
    m = Morphology()
    m.create_compartment([(0, 0)])
    m.connect_to_soma((0, 0))
    m.connect_soma_line(0, 3, 0)  # passes columns 1, 2
    m.connect_resistor_to_soma((3, 0))  # in no created compartment: one of its own
    n = m.done()
    assert n.compartments == (((0, 0),), ((3, 0),))
    assert set(n.circuits) == {(0, 0), (3, 0), (1, 0), (2, 0)}


@pytest.mark.parametrize("build, message", [
    (lambda m: m.create_compartment([(0, 0), (2, 0)]),
     r"circuit \(column 2, row 0\) is not a neighbour .*add the circuits between them"),
    (lambda m: (m.create_compartment([(0, 0)]), m.create_compartment([(0, 0), (1, 0)])),
     r"circuit \(column 0, row 0\) is already in compartment 0"),
    (lambda m: m.create_compartment([(0, 2)]), r"outside a logical neuron's grid"),
    (lambda m: m.create_compartment([(256, 0)]), r"outside a logical neuron's grid"),
    (lambda m: m.create_compartment([]), r"needs at least one circuit"),
    (lambda m: (m.connect_to_soma((1, 0)), m.connect_resistor_to_soma((1, 0))),
     r"circuit \(column 1, row 0\) is already connected directly"),
    (lambda m: (m.connect_resistor_to_soma((1, 0)), m.connect_to_soma((1, 0))),
     r"circuit \(column 1, row 0\) is already connected to the somatic line through"),
    (lambda m: m.connect_soma_line(3, 1, 0), r"runs along one row from a column to a larger one"),
    (lambda m: m.done(), r"no circuits"),
    (lambda m: (m.create_compartment([(0, 0), (0, 1)]), m.connect_resistor_to_soma((2, 0)), m.done()),
     r"circuit \(column 2, row 0\) is not connected to compartment 0's circuits: a logical neuron is one contiguous"),
    (lambda m: (m.create_compartment([(0, 0)]), m.connect_to_soma((0, 0)), m.connect_resistor_to_soma((5, 0)),
                m.connect_soma_line(0, 1, 0), m.done()),
     r"circuit \(column 5, row 0\) is not connected"),
    (lambda m: (m.create_compartment([(0, 0)]), m.create_compartment([(1, 0)]), m.connect_resistor_to_soma((0, 0)),
                m.connect_resistor_to_soma((1, 0)), m.connect_soma_line(0, 1, 0), m.connect_resistor_to_soma((5, 1)),
                m.done()),
     r"circuit \(column 5, row 1\)"),
    (lambda m: (m.create_compartment([(0, 0), (1, 0)]), m.create_compartment([(2, 0)]), m.connect_to_soma((1, 0)),
                m.connect_to_soma((2, 0)), m.connect_soma_line(1, 2, 0), m.connect_resistor_to_soma((0, 0)), m.done()),
     r"circuit \(column 0, row 0\) connects through the conductance to a piece of somatic line no other compartment"),
])
def test_every_rule_names_the_circuit_and_the_fix(build, message):
    with pytest.raises(ConfigError, match=message):
        build(Morphology())


def test_at_most_255_compartments():
    m = Morphology()
    for col in range(128):
        for row in range(2):
            if len(m._compartments) < 255:
                m.create_compartment([(col, row)])
    with pytest.raises(ConfigError, match="at most 255 compartments; join circuits into fewer"):
        m.create_compartment([(127, 1)])


def test_the_lead_is_the_placed_neurons_population_index_and_switches_go_with_the_circuits():
    m = Morphology()
    m.create_compartment([(0, 0), (1, 0)])
    m.create_compartment([(2, 0)])
    m.connect_resistor_to_soma((1, 0))
    m.connect_to_soma((2, 0))
    m.connect_soma_line(1, 2, 0)
    placed = m.done().place([0, 3, 100])
    assert placed.circuits == [0, 1, 2, 3, 4, 5, 100, 101, 102]
    assert placed.index(2, 1) == 8 and placed.index(1, 0, 1) == 4
    pop = placed.population("p", {"i_bias_conductance": 100})
    assert pop["params"]["enable_conductance"] == [0, 1, 0] * 3
    assert pop["params"]["connect_soma_right"] == [0, 1, 0] * 3
    with pytest.raises(ConfigError, match="the morphology sets them"):
        placed.population("p", {"connect_right": 1})
    with pytest.raises(ConfigError, match="compartment 2 does not exist"):
        placed.index(0, 2)


coords = st.tuples(st.integers(-2, 9), st.integers(-1, 2))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["compartment", "soma", "resistor", "line"]), st.lists(coords, max_size=4)),
                max_size=8))
def test_any_sequence_of_calls_is_accepted_or_refused_with_a_config_error(calls):
    m = Morphology()
    try:
        for kind, cs in calls:
            if kind == "compartment":
                m.create_compartment(cs)
            elif cs and kind == "soma":
                m.connect_to_soma(cs[0])
            elif cs and kind == "resistor":
                m.connect_resistor_to_soma(cs[0])
            elif len(cs) >= 2 and kind == "line":
                m.connect_soma_line(cs[0][0], cs[1][0], cs[0][1])
        n = m.done()
        placed = n.place([0])
    except BssError as err:
        assert isinstance(err, ConfigError)
        return
    assert len(placed.circuits) == len(set(placed.circuits))
    assert sum(len(c) for c in n.compartments) <= len(placed.circuits)


def test_a_logical_neuron_written_through_a_playback_program_sets_its_circuits_switches():
    from bss2emu.stack import stadls

    ns = {"halco": halco, "lola": lola}
    exec(SEED, ns)
    neuron = ns["logical_neuron"]
    neuron.at(halco.CompartmentOnLogicalNeuron(0), 1).multicompartment.i_bias_nmda = 300
    where = halco.LogicalNeuronOnDLS(ns["neuron_coordinate"], halco.AtomicNeuronOnDLS(20))
    dumper = stadls.PlaybackProgramBuilderDumper()
    dumper.write(where, neuron)
    values = stadls.convert_to_chip(dumper.done()).neuron_values()
    assert values["enable_conductance"][21] == 1 and values["i_bias_conductance"][21] == 300
    assert values["connect_vertical"][23] == values["connect_vertical"][256 + 23] == 1
    assert values["connect_soma_right"][[21, 23, 25, 256 + 23, 256 + 25]].all()
    assert values["connect_right"].sum() == 1 + 1 + 4  # (0,1), (2,3), four 2-circuit compartments
