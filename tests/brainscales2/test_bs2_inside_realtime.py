"""Writes inside the realtime section (pynn.brainscales2's ``InjectedConfiguration.inside_realtime``,
an ``AbsoluteTimePlaybackProgramBuilder``): they act at their time inside the run, as the
inside-realtime-hook tutorial uses them, and what the core cannot change in a run is refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import bss2emu.brainscales2 as pynn
from bss2emu.brainscales2.injected import realtime_writes
from bss2emu.errors import ConfigError
from bss2emu.pynn.timed_writes import SynapseWeightsWrite
from bss2emu.stack import halco, lola
from bss2emu.stack import haldls as hal
from bss2emu.stack import stadls as sta
from bss2emu.units import us_to_ticks

CYCLES_PER_US = int(hal.Timer.Value.fpga_clock_cycles_per_us)
INPUT_MS = np.arange(0.0005, 0.1, 0.001)  # a spike every µs, half a µs off the write times below


@pytest.fixture(autouse=True)
def _end():
    yield
    pynn.end()


def _bypassed_pair(builder, weights=(0, 63), snippets=()):
    """One source into two bypassed neurons (every synaptic event of non-zero weight leaves
    the neuron as its spike), both synapses on one row; ``snippets`` APPENDed first."""
    injected = pynn.InjectedConfiguration()
    injected.inside_realtime = builder
    pynn.setup(enable_neuron_bypass=True, injected_config=injected, ideal=True)
    inp = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=INPUT_MS))
    out = pynn.Population(2, pynn.cells.HXNeuron())
    out.record(["spikes"])
    prj = pynn.Projection(inp, out, pynn.AllToAllConnector(),
                          synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=np.array([weights])))
    pynn.run(None, pynn.RunCommand.PREPARE)
    return out, prj


def _row_write(prj, values_by_connection) -> tuple:
    (a,), (b,) = prj.placed_connections
    assert a.synapse_row == b.synapse_row  # one source: one row
    row = lola.SynapseWeightRow()
    for synapse, value in zip((a, b), values_by_connection):
        row.values[synapse.synapse_on_row] = value
    return a.synapse_row.toSynapseWeightRowOnDLS(), row


def _spikes(out):
    """Each neuron's spikes of the run (pynn.brainscales2 gives a train per neuron and snippet)."""
    trains = out.get_data("spikes").segments[-1].spiketrains
    return [np.concatenate([t.magnitude for t in trains[i::out.size]]) for i in range(out.size)]


def test_a_weight_row_written_inside_the_run_acts_from_its_time_in_both_directions():
    """At 40 µs the row turns the silent synapse on and the driving one off: the first
    neuron forwards exactly the inputs from 40 µs on, the second exactly those before (a
    bypassed neuron's spike follows its input within a step, 0.1 µs)."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    out, prj = _bypassed_pair(builder)
    coord, row = _row_write(prj, (63, 0))
    builder.write(hal.Timer.Value(40 * CYCLES_PER_US), coord, row)
    pynn.run(0.1)
    switched_on, switched_off = _spikes(out)
    after, before = INPUT_MS[INPUT_MS >= 0.04], INPUT_MS[INPUT_MS < 0.04]
    assert len(switched_on) == len(after) == 60 and len(switched_off) == len(before) == 40
    assert np.all((switched_on - after >= 0) & (switched_on - after <= 1e-4 + 1e-9))
    assert np.all((switched_off - before >= 0) & (switched_off - before <= 1e-4 + 1e-9))
    assert not builder.empty()  # the script's builder is left as it was


def test_a_weight_quad_written_inside_the_run_changes_its_four_synapses_only():
    """A quad write sets the 4 synapses of its row that halco's quad interleaving names:
    the silent synapse's quad entry turns it on at 40 µs, the other synapse (not in the
    quad, or in it with its old weight) drives its neuron throughout."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    out, prj = _bypassed_pair(builder, weights=(0, 63))
    (a,), (b,) = prj.placed_connections
    column = halco.SynapseOnSynapseRow(int(a.synapse_on_row))
    coord = halco.SynapseWeightQuadOnDLS(halco.SynapseQuadOnSynram(column.toSynapseQuadColumnOnDLS(),
                                                                   a.synapse_row.toSynapseRowOnSynram()),
                                         a.synapse_row.toSynramOnDLS())
    quad = hal.SynapseWeightQuad()
    for entry, c in enumerate(coord.columns()):
        quad.values[halco.EntryOnQuad(entry)] = 63 if c in (int(a.synapse_on_row), int(b.synapse_on_row)) else 0
    builder.write(hal.Timer.Value(40 * CYCLES_PER_US), coord, quad)
    pynn.run(0.1)
    switched_on, steady = _spikes(out)
    assert len(switched_on) == np.sum(INPUT_MS >= 0.04) and switched_on.min() > 0.04
    assert len(steady) == len(INPUT_MS)


def test_the_times_count_from_the_last_snippets_start():
    """grenade places the hook from the start of the run's last snippet: after a snippet of
    50 µs the write at 10 µs acts at 60 µs."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    out, prj = _bypassed_pair(builder)
    pynn.run(0.05, pynn.RunCommand.APPEND)
    coord, row = _row_write(prj, (63, 0))
    builder.write(hal.Timer.Value(10 * CYCLES_PER_US), coord, row)
    pynn.run(0.05)
    switched_on, switched_off = _spikes(out)
    assert len(switched_on) == np.sum(INPUT_MS >= 0.06) and switched_on.min() > 0.06
    assert len(switched_off) == np.sum(INPUT_MS < 0.06) and switched_off.max() < 0.06


def test_a_neuron_written_inside_the_run_fires_from_its_time():
    """A neuron with its leak above threshold but firing off; at 30 µs an AtomicNeuron with
    firing on (and its spikes routed out, as HXNeuron places a neuron) is written to its
    circuit: no spike before, regular spikes after."""
    values = dict(leak_v_leak=1000, leak_i_bias=320, threshold_v_threshold=500, reset_v_reset=400,
                  refractory_period_refractory_time=95)
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    injected = pynn.InjectedConfiguration()
    injected.inside_realtime = builder
    pynn.setup(injected_config=injected, ideal=True, neuronPermutation=[7])
    pop = pynn.Population(1, pynn.cells.HXNeuron(threshold_enable=False, **values))
    pop.record(["spikes"])
    builder.write(hal.Timer.Value(30 * CYCLES_PER_US), halco.AtomicNeuronOnDLS(7),
                  lola.AtomicNeuron.from_flat(dict(values, threshold_enable=True, event_routing_analog_output=1,
                                                   event_routing_enable_digital=True)))
    pynn.run(0.1)
    (spikes,) = _spikes(pop)
    assert len(spikes) > 10 and spikes.min() >= 0.03
    pynn.end()
    pynn.setup(ideal=True, neuronPermutation=[7])  # the same neuron firing from the start
    pop = pynn.Population(1, pynn.cells.HXNeuron(threshold_enable=True, **values))
    pop.record(["spikes"])
    pynn.run(0.1)
    (always,) = _spikes(pop)
    assert len(always) > len(spikes) and always.min() < 0.03


def test_writes_the_run_cannot_take_are_refused_by_name():
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    out, prj = _bypassed_pair(builder)
    coord, row = _row_write(prj, (63, 0))
    builder.write(hal.Timer.Value(100 * CYCLES_PER_US), coord, row)  # the run ends at 100 µs
    with pytest.raises(ConfigError, match=r"at 12500 cycles \(100 µs after the snippet's start\) is at or after the "
                                          r"run's end \(100 µs, 12500 cycles"):
        pynn.run(0.1)
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.simulator.state.injected[0].inside_realtime = builder
    builder.write(0, halco.SynapseDriverOnDLS(0), lola.SynapseWeightRow())
    with pytest.raises(ConfigError, match=r"writing SynapseWeightRow to SynapseDriverOnDLS inside the run is not "
                                          r"emulated.*lola.SynapseLabelRow at halco.SynapseLabelRowOnDLS"):
        pynn.run(0.1)
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.simulator.state.injected[0].inside_realtime = builder
    builder.write(0, halco.CommonNeuronBackendConfigOnDLS(0), hal.CommonNeuronBackendConfig())
    with pytest.raises(ConfigError, match=r"writing CommonNeuronBackendConfig to CommonNeuronBackendConfigOnDLS"):
        pynn.run(0.1)
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.simulator.state.injected[0].inside_realtime = builder
    builder.write(0, halco.SpikePack1ToChipOnDLS(), hal.SpikePack1ToChip([hal.SpikeLabel(5)]))
    with pytest.raises(ConfigError, match=r"spike events written to the chip inside the run are not emulated.*"
                                          r"SpikeSourceArray"):
        pynn.run(0.1)
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.simulator.state.injected[0].inside_realtime = builder
    stray = lola.SynapseWeightRow()
    stray.values[200] = 5
    builder.write(0, coord, stray)
    with pytest.raises(ConfigError, match=r"weight 5 at column 200 of synapse row 0 of hemisphere 0, where no "
                                          r"connection is placed"):
        pynn.run(0.1)
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.simulator.state.injected[0].inside_realtime = builder
    builder.read(0, coord)
    with pytest.raises(ConfigError, match=r"inside_realtime holds reads.*post_realtime"):
        pynn.run(0.1)
    pynn.simulator.state.injected[0].inside_realtime = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.simulator.state.injected[0].inside_realtime_end = {coord: row}
    with pytest.raises(ConfigError, match=r"injected sections inside_realtime_end are not emulated"):
        pynn.run(0.1)
    pynn.simulator.state.injected[0].inside_realtime_end = {}
    pynn.run(0.1)  # nothing left over from the refused runs
    assert pynn.simulator.state.last_experiment.writes == []
    assert [len(s) for s in _spikes(out)] == [0, 100]


def test_a_label_row_written_inside_the_run_disconnects_and_reconnects():
    """Both synapses drive their neurons; at 40 µs the second gets a label no source on the
    row has (disconnected), at 70 µs its own again (connected): the first neuron forwards
    every input, the second those before 40 µs and from 70 µs on."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    out, prj = _bypassed_pair(builder, weights=(63, 63))
    (a,), (b,) = prj.placed_connections
    assert a.synapse_row == b.synapse_row and a.label == b.label  # one source: its label on both
    for t_us, label_b in ((40, (b.label + 1) % 64), (70, b.label)):
        labels = lola.SynapseLabelRow()
        labels.values[a.synapse_on_row], labels.values[b.synapse_on_row] = a.label, label_b
        builder.write(hal.Timer.Value(t_us * CYCLES_PER_US), a.synapse_row.toSynapseLabelRowOnDLS(), labels)
    pynn.run(0.1)
    every, gap = _spikes(out)
    kept = INPUT_MS[(INPUT_MS < 0.04) | (INPUT_MS >= 0.07)]
    assert len(every) == len(INPUT_MS) and len(gap) == len(kept) == 70
    assert np.all((gap - kept >= 0) & (gap - kept <= 1e-4 + 1e-9))


def test_a_label_that_would_connect_another_source_is_refused():
    """Two sources share a row with their own labels: giving the first synapse the second
    source's label would make a connection the network does not have."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    pynn.setup(enable_neuron_bypass=True, injected_config=pynn.InjectedConfiguration(inside_realtime=builder),
               ideal=True)
    inp = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=INPUT_MS))
    prj = pynn.Projection(inp, pynn.Population(2, pynn.cells.HXNeuron()), pynn.OneToOneConnector(),
                          synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=63))
    pynn.run(None, pynn.RunCommand.PREPARE)
    (a,), (b,) = prj.placed_connections
    assert a.synapse_row == b.synapse_row and a.label != b.label
    labels = lola.SynapseLabelRow()
    labels.values[a.synapse_on_row], labels.values[b.synapse_on_row] = b.label, b.label
    builder.write(0, a.synapse_row.toSynapseLabelRowOnDLS(), labels)
    with pytest.raises(ConfigError, match=rf"label {b.label} at column {int(a.synapse_on_row)} of synapse row "
                                          rf"{int(a.synapse_row)} of hemisphere 0 is the label of another source"):
        pynn.run(0.1)


@pytest.mark.parametrize("section", ["pre_realtime", "inside_realtime_begin"])
def test_sections_before_the_events_write_at_the_runs_start(section):
    builder = sta.PlaybackProgramBuilder()
    out, prj = _bypassed_pair(sta.AbsoluteTimePlaybackProgramBuilder())
    coord, row = _row_write(prj, (63, 63))
    builder.write(coord, row)
    setattr(pynn.simulator.state.injected[0], section, builder)
    pynn.run(0.1)
    assert [len(s) for s in _spikes(out)] == [100, 100]
    setattr(pynn.simulator.state.injected[0], section, {halco.CommonNeuronBackendConfigOnDLS(0):
                                                        hal.CommonNeuronBackendConfig()})
    with pytest.raises(ConfigError, match=rf"injected_config.{section}: writing CommonNeuronBackendConfig"):
        pynn.run(0.1)


@settings(max_examples=60, deadline=None)
@given(cycles=st.integers(0, 2**32 - 2), snippet_start_us=st.integers(0, 10**6))
def test_a_write_lands_on_the_fpga_cycle_it_names(cycles, snippet_start_us):
    """FPGA cycles (125 MHz) from the last snippet's start, exactly: the write's time in
    ticks is the snippet's start in ticks plus its cycles, for any 32-bit timer value."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    builder.write(hal.Timer.Value(cycles), halco.SynapseWeightRowOnDLS(3), lola.SynapseWeightRow())
    injected = pynn.InjectedConfiguration(inside_realtime=builder)
    start_ms = snippet_start_us / 1000.0
    end_ms = start_ms + (cycles + 1) / CYCLES_PER_US / 1000.0
    (write,) = realtime_writes(injected, 0.0, start_ms, end_ms, 1000.0, None)
    assert isinstance(write, SynapseWeightsWrite) and (write.hemisphere, write.row, len(write.columns)) == (0, 3, 256)
    assert int(us_to_ticks(write.time_us)) == snippet_start_us * CYCLES_PER_US + cycles
    with pytest.raises(ConfigError, match="at or after the run's end"):
        realtime_writes(injected, 0.0, start_ms, start_ms + cycles / CYCLES_PER_US / 1000.0, 1000.0, None)


def test_every_run_applies_the_hook_from_its_own_start():
    """pynn.brainscales2 hands the injected builder to every run: a run continued after the
    first (from 50 µs) applies it again from its start — on 10..30 µs and on 60..80 µs."""
    builder = sta.AbsoluteTimePlaybackProgramBuilder()
    out, prj = _bypassed_pair(builder, weights=(0, 0))
    for t_us, value in ((10, 63), (30, 0)):
        coord, row = _row_write(prj, (value, 0))
        builder.write(hal.Timer.Value(t_us * CYCLES_PER_US), coord, row)
    pynn.run(0.05)
    pynn.run(0.05)
    on, off = _spikes(out)
    expected = INPUT_MS[((INPUT_MS >= 0.01) & (INPUT_MS < 0.03)) | ((INPUT_MS >= 0.06) & (INPUT_MS < 0.08))]
    assert len(off) == 0 and len(on) == len(expected) == 40
    assert np.all((on - expected >= 0) & (on - expected <= 1e-4 + 1e-9))


def test_a_row_write_sets_exactly_the_placed_connections():
    """For any weights on the placed columns (0 elsewhere), the experiment's writes give
    each connection its column's weight, and only the connections on that row."""
    from bss2emu.pynn.experiment import place
    from bss2emu.pynn.timed_writes import experiment_writes

    pynn.setup(ideal=True)
    inp = pynn.Population(8, pynn.cells.SpikeSourceArray(spike_times=[0.0005]))
    prj = pynn.Projection(inp, pynn.Population(8, pynn.cells.HXNeuron()), pynn.OneToOneConnector(),
                          synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=5))
    pynn.run(0.001)
    state = pynn.simulator.state
    exp, mapping = state.last_experiment, place(state, state.last_experiment)
    synapses = [s for (s,) in prj.placed_connections]
    (row,) = {int(s.synapse_row) for s in synapses}
    columns = [int(s.synapse_on_row) for s in synapses]

    @settings(max_examples=40, deadline=None)
    @given(values=st.lists(st.integers(0, 63), min_size=8, max_size=8), other_row=st.integers(0, 511))
    def check(values, other_row):
        weights = np.zeros(256, np.int64)
        weights[columns] = values
        write = SynapseWeightsWrite(7.0, row // 256, row % 256, tuple(range(256)), tuple(weights.tolist()))
        (w,) = experiment_writes([write], exp, mapping)
        assert w.time_us == 7.0 and dict(zip(w.indices, w.weights)) == dict(enumerate(values))
        if other_row != row:  # a row without connections: zeros write nothing, a weight is refused
            empty = SynapseWeightsWrite(7.0, other_row // 256, other_row % 256, (3,), (0,))
            assert experiment_writes([empty], exp, mapping) == []
            with pytest.raises(ConfigError, match="where no connection is placed"):
                experiment_writes([SynapseWeightsWrite(7.0, other_row // 256, other_row % 256, (3,), (1,))], exp,
                                  mapping)

    check()


def test_writes_inside_the_run_give_the_same_spikes_in_every_placement(ray_cluster):
    """The writes are the experiment's timed writes: on Ray (one actor per chip) the same
    spikes as in-process."""
    spikes = {}
    for placement in ("local", "per-chip"):
        builder = sta.AbsoluteTimePlaybackProgramBuilder()
        injected = pynn.InjectedConfiguration(inside_realtime=builder)
        pynn.setup(enable_neuron_bypass=True, injected_config=injected, ideal=True, placement=placement)
        inp = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=INPUT_MS))
        out = pynn.Population(2, pynn.cells.HXNeuron())
        out.record(["spikes"])
        prj = pynn.Projection(inp, out, pynn.AllToAllConnector(),
                              synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=np.array([[0, 63]])))
        pynn.run(None, pynn.RunCommand.PREPARE)
        coord, row = _row_write(prj, (63, 0))
        builder.write(hal.Timer.Value(40 * CYCLES_PER_US), coord, row)
        pynn.run(0.1)
        spikes[placement] = [s.tolist() for s in _spikes(out)]
        pynn.end()
    assert spikes["local"] == spikes["per-chip"] and [len(s) for s in spikes["local"]] == [60, 40]
