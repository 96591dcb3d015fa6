"""What pynn.brainscales2 scripts inject around the experiment, and where the routing placed
their connections (the Pong tutorial reads its learned weights so)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import bss2emu.brainscales2 as pynn
from bss2emu.errors import ConfigError
from bss2emu.pynn import simulator
from bss2emu.stack import halco, lola
from bss2emu.stack import stadls as sta


@pytest.fixture(autouse=True)
def _end():
    yield
    pynn.end()


def _builder_with_leak(value: int, neuron: int = 3):
    atomic = lola.AtomicNeuron()
    atomic.leak.v_leak = value
    builder = sta.PlaybackProgramBuilder()
    builder.write(halco.AtomicNeuronOnDLS(neuron), atomic)
    return builder


@pytest.mark.parametrize("section", ["pre_non_realtime", "pre_static_config"])
def test_writes_before_the_static_configuration_make_the_start_chip(section):
    """Without initial_config the writes before the static configuration make the chip the
    neurons start from; with it, the static configuration (written after them, as grenade
    orders it) wins. The user's builder is left as it was."""
    builder = _builder_with_leak(777)
    injected = pynn.InjectedConfiguration()
    setattr(injected, section, builder)
    pynn.setup(injected_config=injected, ideal=True)
    assert simulator.state.grenade_chip_config.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(3)].leak.v_leak == 777
    assert not builder.empty()
    pynn.end()
    initial = lola.Chip()
    initial.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(3)].leak.v_leak = 123
    pynn.setup(injected_config=injected, initial_config=initial, ideal=True)
    assert simulator.state.grenade_chip_config.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(3)].leak.v_leak == 123


def test_a_dict_section_and_refused_contents():
    atomic = lola.AtomicNeuron()
    atomic.leak.v_leak = 555
    pynn.setup(injected_config=pynn.InjectedConfiguration(pre_non_realtime={halco.AtomicNeuronOnDLS(9): atomic}))
    assert simulator.state.grenade_chip_config.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(9)].leak.v_leak == 555
    pynn.end()
    reading = sta.PlaybackProgramBuilder()
    reading.read(halco.CADCSampleRowOnDLS(0))
    with pytest.raises(ConfigError, match=r"section pre_static_config holds read instructions"):
        pynn.setup(injected_config=pynn.InjectedConfiguration(pre_static_config=reading))
    with pytest.raises(ConfigError, match=r"writes to TimerOnDLS before the static configuration are not emulated"):
        pynn.setup(injected_config=pynn.InjectedConfiguration(pre_non_realtime={halco.TimerOnDLS(): object()}))


def test_placed_connections_and_the_synapse_arrays_read_after_the_run():
    """Every connection's placed synapses hold its weight (above 63 spread over two rows, 63
    first), and the synapse array read after the run (post_realtime) shows the same codes at
    those coordinates; connection indices are those of the whole populations."""
    pynn.setup(ideal=True, injected_readout=pynn.InjectedReadout(post_realtime={halco.SynramOnDLS()}))
    stim = pynn.Population(3, pynn.cells.SpikeSourceArray(spike_times=[0.01]))
    pop = pynn.Population(5, pynn.cells.HXNeuron())
    weights = np.arange(12).reshape(3, 4) * 11
    prj = pynn.Projection(stim, pop[1:], pynn.AllToAllConnector(),
                          synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=weights))
    pynn.run(None, pynn.RunCommand.PREPARE)  # placed as the network is now, before a run
    before = [[(s.weight, int(s.synapse_row), int(s.synapse_on_row)) for s in c] for c in prj.placed_connections]
    pynn.run(0.02)
    assert before == [[(s.weight, int(s.synapse_row), int(s.synapse_on_row)) for s in c]
                      for c in prj.placed_connections]
    array = pynn.get_post_realtime_read()[halco.SynramOnDLS()]
    assert isinstance(array, lola.SynapseMatrix)
    read = array.weights.to_numpy()
    for connection, synapses in zip(prj.connections, prj.placed_connections):
        assert connection.pop_post_index == connection.postsynaptic_index + 1  # pop[1:]
        codes = [s.weight for s in synapses]
        assert sum(codes) == weights[connection.presynaptic_index, connection.postsynaptic_index]
        assert codes[0] == min(63, sum(codes))
        for s in synapses:
            assert read[int(s.synapse_row), int(s.synapse_on_row)] == s.weight
            assert array.labels.to_numpy()[int(s.synapse_row), int(s.synapse_on_row)] == s.label
    pynn.reset()
    with pytest.raises(RuntimeError, match="after pynn.run"):
        pynn.get_post_realtime_read()


def test_cadc_readout_chains_as_lola_has_them():
    chip = lola.Chip()
    assert len(chip.cadc_readout_chains) == halco.CADCOnDLS.size == 2
    chain = chip.cadc_readout_chains[halco.CADCOnDLS(1)]
    assert len(chain.channels_causal) == len(chain.channels_acausal) == 256
    assert not chain.channels_causal[halco.CADCChannelColumnOnSynram(5)].enable_connect_neuron
    chain.channels_acausal[halco.CADCChannelColumnOnSynram(5)].enable_connect_neuron = True
    assert not chip.cadc_readout_chains[halco.CADCOnDLS(0)].channels_acausal[halco.CADCChannelColumnOnSynram(5)] \
        .enable_connect_neuron


def test_observable_arrays_come_per_snippet_as_pynn_brainscales2_gives_them():
    """``get_observable_array(name)[0][i].data`` (the Pong tutorial reads them so): one list
    per snippet, a sample per kernel run, in hardware ms."""

    class Ticker(pynn.PlasticityRule):
        def kernel(self, ctx):
            self.count = getattr(self, "count", 0) + 1
            ctx.record_observable("n", np.array([self.count], np.uint8))

    pynn.setup(ideal=True)
    rule = Ticker(timer=pynn.Timer(start=0.01, period=0.01, num_periods=3),
                  observables={"n": pynn.PlasticityRule.ObservableArray(size=1)})
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
    pop = pynn.Population(1, pynn.cells.HXNeuron())
    pynn.Projection(stim, pop, pynn.AllToAllConnector(),
                    synapse_type=pynn.standardmodels.synapses.PlasticSynapse(weight=10, plasticity_rule=rule))
    pynn.run(0.05)
    snippets = rule.get_observable_array("n")
    assert len(snippets) == 1
    assert [int(s.data[0]) for s in snippets[0]] == [1, 2, 3]
    assert [round(float(s.time), 6) for s in snippets[0]] == [0.01, 0.02, 0.03]


def test_a_section_filled_after_setup_is_refused_at_the_run():
    """A script may inject an empty builder and fill it later (the inside-realtime tutorial
    does): a section bss2emu does not emulate is refused at the run rather than ignored."""
    builder = sta.PlaybackProgramBuilder()
    injected = pynn.InjectedConfiguration()
    injected.inside_realtime_end = builder
    pynn.setup(injected_config=injected)
    pynn.Population(1, pynn.cells.HXNeuron())
    pynn.run(0.01)  # empty: fine
    builder.write(halco.SynapseWeightRowOnDLS(0), lola.SynapseWeightRow())
    with pytest.raises(ConfigError, match=r"run\(\): injected_config's injected sections inside_realtime_end are not "
                                          r"emulated"):
        pynn.run(0.01)
