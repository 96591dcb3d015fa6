"""The PyNN API on bss2emu: data and units, runs and resets, parameters between runs
without re-mapping, connectors, synapses, sources, recording, several chips."""

from __future__ import annotations

import neo
import numpy as np
import pytest
import quantities as pq
from neo.io import PickleIO

import bss2emu
from bss2emu.pynn.simulator import state
from bss2emu.routing import mapping


def _one_neuron(sim, **params):
    pop = sim.Population(1, sim.IF_curr_exp(**params), label="neuron")
    pop.record(["spikes", "v"])
    return pop


def test_get_data_is_neo_with_biological_units(sim):
    pop = _one_neuron(sim, i_offset=1.0)
    sim.run(100.0)
    block = pop.get_data()
    assert isinstance(block, neo.Block) and len(block.segments) == 1
    seg = block.segments[0]
    train = seg.spiketrains[0]
    assert train.units == pq.ms and float(train.t_stop) == 100.0 and len(train) == 3
    v = seg.analogsignals[0]
    assert v.name == "v" and v.units == pq.mV
    assert v.sampling_period == 0.1 * pq.ms and v.shape == (1001, 1)
    assert -65.2 < float(v[0, 0]) < -64.8 and float(v.max()) < -49.5  # resting, and reset below threshold
    assert pop.get_spike_counts() == {int(pop[0]): 3}
    assert pop.mean_spike_count() == 3.0


def test_write_data_with_neo_io(sim, tmp_path):
    pop = _one_neuron(sim, i_offset=1.0)
    sim.run(60.0)
    pop.write_data(PickleIO(str(tmp_path / "data.pkl")))
    block = PickleIO(str(tmp_path / "data.pkl")).read_block()
    assert len(block.segments[0].spiketrains[0]) == 2
    assert block.segments[0].analogsignals[0].units == pq.mV


def test_record_to_file_written_on_end(tmp_path):
    import bss2emu.pynn as sim

    sim.setup(timestep=0.1)
    pop = sim.Population(2, sim.IF_curr_exp(i_offset=1.0), label="n")
    pop.record("spikes", to_file=str(tmp_path / "spikes.pkl"))
    sim.run(50.0)
    sim.end()
    assert len(PickleIO(str(tmp_path / "spikes.pkl")).read_block().segments[0].spiketrains) == 2


def test_continued_runs_equal_one_run(sim):
    def net(splits):
        sim.setup(timestep=0.1, seed=3)
        src = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0), label="src")
        pop = sim.Population(10, sim.IF_cond_exp(), label="pop")
        sim.Projection(src, pop, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)),
                       sim.StaticSynapse(weight=0.01))
        pop.record("spikes")
        pop[0:1].record("v")
        for t in splits:
            sim.run(t)
        seg = pop.get_data().segments[-1]
        return [s.magnitude for s in seg.spiketrains], seg.analogsignals[0].magnitude

    one, three = net([200.0]), net([50.0, 100.0, 50.0])
    assert sum(len(s) for s in one[0]) > 10
    assert all(np.array_equal(a, b) for a, b in zip(one[0], three[0]))
    assert np.array_equal(one[1], three[1])


def test_a_continued_run_resumes_where_the_last_one_ended(sim, monkeypatch):
    """run(); run() emulates each millisecond once: the segment's Coordinator continues with
    the longer experiment (its past checked equal), instead of emulating from t = 0 again;
    a change that reaches into the past (a recording added) runs from t = 0."""
    from bss2emu.cluster.coordinator import Coordinator

    answers = []
    real = Coordinator.continue_with
    monkeypatch.setattr(Coordinator, "continue_with", lambda self, exp: answers.append(real(self, exp)) or answers[-1])
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0), label="src")
    pop = sim.Population(10, sim.IF_cond_exp(), label="pop")
    sim.Projection(src, pop, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)), sim.StaticSynapse(weight=0.01))
    pop.record("spikes")
    for t in (50.0, 100.0, 50.0):
        sim.run(t)
    coord = state.emulation
    assert answers == [True, True]
    assert coord.step == coord.total and coord.exp.runtime_us == pytest.approx(200.1)  # 200 ms (+ one step)
    assert coord.backend.host.windows == coord.windows <= 6  # the chips ran each window once
    pop.record("v")
    sim.run(10.0)
    assert answers[-1] is False and state.emulation is not coord  # the MADC is new: from t = 0
    assert len(pop.get_data().segments[-1].analogsignals[0]) > 0


def test_set_between_runs_takes_effect_then(sim):
    pop = sim.Population(3, sim.IF_curr_exp(i_offset=0.0), label="p")
    pop.record("spikes")
    sim.run(50.0)
    pop[1:2].set(i_offset=1.5)
    sim.run(100.0)
    trains = pop.get_data().segments[0].spiketrains
    assert [len(t) for t in trains][::2] == [0, 0]
    assert len(trains[1]) > 3 and float(trains[1][0]) > 50.0
    writes = state.last_experiment.writes
    assert [(w.time_us, w.parameter, w.indices) for w in writes] == [(50.0, "i_const", [1])]
    assert pop.get("i_offset").tolist() == [0.0, 1.5, 0.0]


def test_new_stimulus_or_weights_do_not_remap(sim, monkeypatch):
    calls = []
    real_map = mapping._Mapper.map
    monkeypatch.setattr(mapping._Mapper, "map", lambda self: calls.append(1) or real_map(self))
    mapping._CACHE.clear()
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[10.0, 12.0]), label="stim")
    pop = sim.Population(4, sim.IF_curr_exp(), label="n")
    prj = sim.Projection(src, pop, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
    pop.record("spikes")
    sim.run(50.0)
    first = sum(pop.get_spike_counts().values())
    assert calls == [1]
    sim.reset()
    src.set(spike_times=[5.0, 7.0, 9.0, 30.0])
    prj.set(weight=2.5)
    pop.set(tau_m=15.0)
    sim.run(50.0)
    assert calls == [1], "a new stimulus, weight or parameter re-mapped the network"
    assert len(mapping._CACHE) == 1
    segs = pop.get_data().segments
    assert len(segs) == 2 and sum(len(t) for t in segs[1].spiketrains) > first
    sim.reset()
    sim.Projection(pop, pop, sim.AllToAllConnector(allow_self_connections=False), sim.StaticSynapse(weight=0.1))
    sim.run(50.0)
    assert calls == [1, 1], "a new projection is a new topology"


def test_structure_change_mid_segment_asks_for_reset(sim):
    pop = sim.Population(2, sim.IF_curr_exp(), label="n")
    sim.run(10.0)
    sim.Projection(pop, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    with pytest.raises(sim.errors.ConnectionError, match="reset"):
        sim.run(10.0)


def test_views_assemblies_and_connectors(sim):
    a = sim.Population(8, sim.IF_curr_exp(), label="a")
    b = sim.Population(8, sim.IF_curr_exp(tau_m=10.0), label="b")
    target = a + b[2:6]
    made = {}
    for conn in [sim.AllToAllConnector(), sim.FixedNumberPreConnector(2, rng=sim.NumpyRNG(2)),
                 sim.FixedNumberPostConnector(3, rng=sim.NumpyRNG(2)),
                 sim.FromListConnector([(0, 1, 0.5, 1.0), (1, 9, 0.7, 2.0)]),
                 sim.ArrayConnector(np.eye(4, 12, dtype=bool)),
                 sim.DistanceDependentProbabilityConnector("d<3", rng=sim.NumpyRNG(2)),
                 sim.FixedTotalNumberConnector(10, rng=sim.NumpyRNG(3))]:
        src = sim.Population(4, sim.SpikeSourceArray(spike_times=[10.0, 20.0]), label="s")
        prj = sim.Projection(src, target, conn, sim.StaticSynapse(weight=0.3, delay=1.0), receptor_type="excitatory")
        made[type(conn).__name__] = prj
    assert len(made["AllToAllConnector"]) == 48 and len(made["FixedNumberPreConnector"]) == 24
    assert made["FromListConnector"].get(["weight", "delay"], format="list") == [(0, 1, 0.5, 1.0), (1, 9, 0.7, 2.0)]
    w = made["ArrayConnector"].get("weight", format="array")
    assert w.shape == (4, 12) and np.isnan(w).sum() == 44
    a.record("spikes")
    b.record("spikes")
    sim.run(40.0)
    assert sum(b.get_spike_counts().values()) > 0
    # the FromList connection with delay 2 ms and the one with 1 ms are separate projections
    delays = {p.delay_us for p in state.last_experiment.projections if p.pre == "s~3"}
    assert delays == {1.0, 2.0}


def test_tsodyks_markram_maps_to_driver_stp(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(10.0, 60.0, 5.0)), label="train")
    pop = sim.Population(1, sim.IF_curr_exp(tau_syn_E=2.0), label="n")
    pop.record("v")
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   sim.TsodyksMarkramSynapse(U=0.5, tau_rec=100.0, tau_facil=0.0, weight=1.0, delay=1.0))
    sim.run(70.0)
    stp = state.last_experiment.projections[0].stp
    assert (stp.mode, stp.utilisation, stp.recovery) == ("depression", 7, 11)  # U=8/16, τ=2·2**5.5 µs
    v = pop.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    peaks = [v[int((t + 1.0) * 10):int((t + 4.0) * 10)].max() - v[int((t + 0.9) * 10)] for t in (10.0, 55.0)]
    assert peaks[1] < 0.6 * peaks[0], "the tenth PSP is depressed"


def test_current_sources_are_timed_writes(sim):
    pop = sim.Population(2, sim.IF_curr_exp(), label="n")
    pop.record("spikes")
    sim.StepCurrentSource(times=[20.0, 40.0, 60.0], amplitudes=[0.8, 1.5, 0.0]).inject_into(pop[0:1])
    sim.DCSource(amplitude=1.5, start=30.0, stop=50.0).inject_into(pop[1:2])
    sim.run(100.0)
    trains = pop.get_data().segments[0].spiketrains
    assert all(40.0 < t < 61.0 for t in trains[0].magnitude) and len(trains[0]) >= 2
    assert all(30.0 < t < 51.0 for t in trains[1].magnitude) and len(trains[1]) >= 1
    assert sorted({w.time_us for w in state.last_experiment.writes}) == [20.0, 30.0, 40.0, 50.0, 60.0]


def test_sources_poisson_and_on_chip(sim):
    ext = sim.Population(16, sim.SpikeSourcePoisson(rate=100.0, start=10.0, duration=50.0), label="ext")
    bg = sim.Population(16, sim.SpikeSourcePoissonOnChip(rate=100.0), label="bg")
    pop = sim.Population(4, sim.IF_curr_exp(), label="n")
    sim.Projection(bg, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    sim.Projection(ext, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1, delay=1.0))
    ext.record("spikes")
    pop.record("spikes")
    sim.run(200.0)
    times = np.concatenate([t.magnitude for t in ext.get_data().segments[0].spiketrains])
    assert times.min() >= 10.0 and times.max() < 60.0
    assert 40 < len(times) < 140  # 16 × 100 Hz × 50 ms = 80
    kinds = {s.name: s.kind for s in state.last_experiment.sources}
    assert kinds == {"ext": "spike_array", "bg": "background"}
    bgsrc = next(s for s in state.last_experiment.sources if s.kind == "background")
    assert bgsrc.size == 16 and abs(bgsrc.rate / 256 / (bgsrc.period * 4e-3) - 16 * 0.1) < 0.02
    assert sum(pop.get_spike_counts().values()) > 0


def test_hx_neuron_takes_hardware_values(sim):
    hx = sim.Population(2, sim.HXNeuron(i_const=900, v_threshold=518), label="hx")  # 703 mV
    hx.record("spikes")
    hx[0:1].record("v")
    sim.run(50.0)
    assert all(n >= 3 for n in hx.get_spike_counts().values())
    v = hx.get_data().segments[0].analogsignals[0]
    assert 550.0 < float(v.max()) < 720.0  # hardware mV, up to the threshold
    assert state.last_experiment.populations[0].params.i_const == 900
    assert hx.get("v_threshold").tolist() == 518


def test_many_neurons_record_v_through_the_cadc(sim):
    pop = sim.Population(6, sim.IF_curr_exp(i_offset=1.2), label="n")
    pop.record("v", sampling_interval=1.0)
    sim.run(50.0)
    v = pop.get_data().segments[0].analogsignals[0]
    assert v.shape == (51, 6) and v.sampling_period == 1.0 * pq.ms
    assert np.allclose(v.magnitude[0], -65.0, atol=0.5)  # 8 bit: 0.47 mV biological per code
    assert state.last_experiment.recordings.cadc.period_us == 1.0


def test_several_chips(sim):
    sim.setup(timestep=0.1, chips=4)
    groups = [sim.Population(16, sim.IF_curr_exp(tau_refrac=5.0), label=f"g{k}") for k in range(4)]
    for k, g in enumerate(groups):
        g.annotate(chip=k)
        g.record("spikes")
    stim = sim.Population(16, sim.SpikeSourceArray(spike_times=[5.0]), label="stim")
    sim.Projection(stim, groups[0], sim.AllToAllConnector(), sim.StaticSynapse(weight=0.6, delay=1.0))
    for k in range(3):
        sim.Projection(groups[k], groups[k + 1], sim.AllToAllConnector(), sim.StaticSynapse(weight=0.6, delay=1.0))
    sim.run(30.0)
    first = [min(t.magnitude.min() for t in g.get_data().segments[0].spiketrains if len(t)) for g in groups]
    assert np.all(np.diff(first) > 1.0)  # each hop: delay plus rise time
    assert state.results.metadata["chips_used"] == 4 and state.results.metadata["inter_chip_events"] > 0
    assert [p.chip for p in state.last_experiment.populations] == [0, 1, 2, 3]


def test_hardware_weights_and_realised_parameters(sim):
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]), label="s")
    pop = sim.Population(2, sim.IF_curr_exp(), label="n")
    prj = sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    inh = sim.Projection(src, pop, sim.OneToOneConnector(), sim.StaticSynapse(weight=-0.25),
                         receptor_type="inhibitory")
    codes, realised = prj.hardware_weights()
    assert np.all(codes == codes[0]) and 0 < codes[0] <= 63
    assert np.allclose(realised, 0.5, rtol=0.01)
    assert np.allclose(inh.hardware_weights()[1], -0.25, rtol=0.01)
    real = pop.realised_parameters()
    for name, want in (("tau_m", 20.0), ("v_thresh", -50.0), ("v_rest", -65.0), ("tau_syn_E", 5.0)):
        assert np.allclose(real[name], want, rtol=0.005, atol=0.06), (name, real[name])


def test_spike_source_array_of_one_neuron_as_nested_list(sim):
    """``spike_times=[[...]]`` for one source (as NEST scripts write it) plays its spikes."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[[20.0, 30.0]]), label="one")
    two = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0], [7.0, 9.0]]), label="two")
    src.record("spikes")
    two.record("spikes")
    sim.run(40.0)
    trains = [st.magnitude.tolist() for p in (src, two) for st in p.get_data().segments[0].spiketrains]
    assert trains == [[20.0, 30.0], [5.0], [7.0, 9.0]]


def test_a_current_source_changed_between_runs_acts_from_then_on(sim):
    """As on NEST: ``dc.amplitude = …`` between two ``run`` calls changes the current from
    the second run on; the first run keeps what it had (no spikes without current)."""
    pop = sim.Population(1, sim.IF_curr_exp(), label="n")
    pop.record("spikes")
    dc = sim.DCSource(amplitude=0.0, start=0.0, stop=1e9)
    dc.inject_into(pop)
    sim.run(100.0)
    dc.amplitude = 1.2
    sim.run(100.0)
    spikes = pop.get_data().segments[0].spiketrains[0].magnitude
    assert len(spikes) >= 4 and spikes.min() > 100.0
    # 1.2 nA onto 1 nF, tau_m 20 ms, -65 → -50 mV: 20 ln(24/9) = 19.62 ms from rest at 100 ms,
    # then + tau_refrac 0.1 ms per interval (released on the 0.1 ms grid: ≤ 0.1 ms more) —
    # with the realised leak, threshold and tau_m (their DAC steps: 0.18 mV, 0.2 % here)
    r = pop.realised_parameters()
    tau, gap = float(r["tau_m"][0]), float(r["v_thresh"][0] - r["v_rest"][0])
    t1 = tau * np.log(1.2 * tau / (1.2 * tau - gap))
    assert abs(t1 - 19.616) < 0.5  # the realised values are the asked ones to a step
    assert spikes[0] == pytest.approx(100.0 + t1, abs=0.1)
    assert np.all(np.abs(np.diff(spikes) - (t1 + 0.1)) <= 0.15)


def _psp_latency(sim, delay, min_delay):
    sim.setup(timestep=0.1, min_delay=min_delay)
    pre = sim.Population(1, sim.IF_curr_exp(i_offset=1.0), label="pre")
    post = sim.Population(1, sim.IF_curr_exp(tau_syn_E=1.0), label="post")
    pre.record("spikes")
    post.record("v")
    sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=delay))
    sim.run(40.0)
    seg = post.get_data().segments[0]
    spike = pre.get_data().segments[0].spiketrains[0].magnitude[0]
    v = seg.analogsignals[0]
    rise = v.times.magnitude[np.argmax(v.magnitude[:, 0] > v.magnitude[0, 0] + 0.05)]
    sim.end()
    return rise - spike


def test_delays_between_neurons_are_realised_also_at_min_delay(sim):
    """A delay of min_delay = 1 ms between neurons is 1 ms (it was taken for 'direct', ~0):
    the PSP starts as much later as for the same delay with min_delay 0.1, and 1 ms later
    than with the direct minimum (0.1 ms)."""
    sim.end()
    at_min = _psp_latency(sim, 1.0, 1.0)
    assert at_min == pytest.approx(_psp_latency(sim, 1.0, 0.1), abs=1e-9)
    assert at_min - _psp_latency(sim, 0.1, 0.1) == pytest.approx(1.0, abs=0.1)
    sim.setup(timestep=0.1)


def test_a_delay_between_direct_and_one_hop_warns(sim):
    pre = sim.Population(1, sim.IF_curr_exp(), label="pre")
    post = sim.Population(1, sim.IF_curr_exp(), label="post")
    with pytest.warns(bss2emu.QuantisationWarning, match=r"delay of 0\.25 ms between neurons is realised as 0\.325 ms"):
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=0.25))
