"""Plasticity rules from PyNN (both views): kernels on the PPU, their views, observables,
errors, and changes of weights and connections inside one run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import bss2emu.pynn as sim
from bss2emu.errors import PlasticityError
from bss2emu.pynn import exceptions as pynn_exceptions
from bss2emu.pynn.exceptions import NoModelAvailableError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


def test_stdp_weight_changes_follow_the_sensor_model_for_every_time_difference():
    import plasticity_stdp as ex

    res = ex.run(n_pairs=4)
    reads = res["kernel_us"]
    for i, dt in enumerate(res["delta_t_us"]):
        post, pre = res["post_us"][i], res["pre_us"][i]
        assert len(post) == 4, f"Δt={dt}: the teacher should make exactly one post spike per pair"
        causal, acausal = ex.sensor_codes(pre, post, reads)
        # the sensors against the model computed from the spike times (recorded to the 8 ns tick)
        assert np.abs(res["causal"][:, i] - causal).max() <= 1, (dt, res["causal"][:, i], causal)
        assert np.abs(res["acausal"][:, i] - acausal).max() <= 1, (dt, res["acausal"][:, i], acausal)
        # the weights: exact integer arithmetic on the codes the rule read
        w = res["w0"]
        for k in range(len(reads)):
            w = int(np.clip(w + np.rint(res["eta"] * (res["causal"][k, i] - res["acausal"][k, i])), 0, 63))
            assert res["weight"][k, i] == w
        # and the STDP window: potentiation for pre before post, depression after, fading with |Δt|
        measured = post[0] - pre[0]
        expected_step = res["eta"] * np.sign(measured) * np.exp(-abs(measured) / ex.TAU_CORR_US) / ex.CORR_LSB
        assert abs((res["weight"][-1, i] - res["w0"]) / 4 - expected_step) <= 1.0, (dt, measured)
    change = res["weight"][-1] - res["w0"]
    near = np.abs(res["delta_t_us"]) <= 8  # beyond, one pair's code (≤ 1.7) is below the rule's resolution
    assert (change[near & (res["delta_t_us"] > 0)] > 0).all() and (change[near & (res["delta_t_us"] < 0)] < 0).all()
    assert (change[~near] == 0).all()
    assert change[res["delta_t_us"] == 2] > change[res["delta_t_us"] == 8]


class _Counter(sim.PlasticityRule):
    """Adds ``step`` (negative: takes) to every weight of its projections per run; records what it sees."""

    def kernel(self, ctx):
        self.calls = getattr(self, "calls", 0) + 1
        for view in ctx.projections:
            view.set_weights(np.clip(view.weights() + self.step, 0, 63))
        ctx.record_observable("seen", [len(ctx.projections), len(ctx.populations), self.step, self.calls, ctx.time])
        ctx.record_observable("w", [v.weights() for v in ctx.projections])
        ctx.record_observable("spikes", [p.spike_counts for p in ctx.populations])


def _counter_network(sim, chips=None):
    obs = {"seen": sim.ObservableArray(size=5), "w": sim.ObservablePerSynapse(), "spikes": sim.ObservablePerNeuron()}
    rule = _Counter(timer=sim.Timer(start=10.0, period=10.0, num_periods=3), observables=obs, step=-5)
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    a = sim.Population(2, sim.IF_curr_exp(i_offset=1.0, plasticity_rule=rule))
    b = sim.Population(2, sim.IF_curr_exp())
    p1 = sim.Projection(src, a, sim.AllToAllConnector(), synapse_type=sim.PlasticSynapse(weight=0.01,
                                                                                         plasticity_rule=rule))
    p2 = sim.Projection(src, b, sim.OneToOneConnector(), synapse_type=sim.PlasticSynapse(weight=0.01,
                                                                                        plasticity_rule=rule))
    a.record("spikes")
    return rule, a, p1, p2


def test_one_rule_sees_its_projections_and_populations_with_its_parameters(sim):
    rule, a, p1, p2 = _counter_network(sim)
    sim.run(40.0)
    seen = rule.get_observable_array("seen")
    assert [s.time for s in seen] == [10.0, 20.0, 30.0]  # num_periods=3, ms of the view
    assert [s.data[:4].tolist() for s in seen] == [[2, 1, -5, 1], [2, 1, -5, 2], [2, 1, -5, 3]]
    w1, w2 = p1.get_data("w"), p2.get_data("w")
    assert len(w1[0].data) == len(p1) == 6 and len(w2[0].data) == len(p2) == 2
    first = w1[0].data[0]
    assert [s.data.tolist() for s in w1] == [[first] * 6, [first - 5] * 6, [first - 10] * 6]
    spikes = a.get_plasticity_data("spikes")
    counted = [len(t[(t < 10.0)]) for t in (np.asarray(s) for s in a.get_data().segments[-1].spiketrains)]
    assert spikes[0].data.tolist() == counted  # spikes since the rule's last run (none before: since 0)
    with pytest.raises(TypeError, match="not an ObservableArray"):
        rule.get_observable_array("w")
    with pytest.raises(RuntimeError, match="no observable 'x'"):
        rule.get_observable_array("x")


def test_a_kernel_writing_out_of_range_names_rule_time_value_limit_and_keeps_the_results(sim):
    class Runaway(sim.PlasticityRule, sim.StaticSynapse):
        def kernel(self, ctx):
            for view in ctx.projections:
                view.set_weights(view.weights() - 40)  # 63 → 23 → -17

    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    pop = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    pop.record("spikes")
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   synapse_type=Runaway(timer=sim.Timer(start=20.0, period=20.0, num_periods=5), weight=0.5))
    with pytest.raises(PlasticityError, match=r"plasticity rule 'Runaway#0' at 40.000 µs \(chip 0\) wrote weight "
                                              r"-17: weights are integers 0..63") as err:
        sim.run(100.0)
    assert err.value.results is not None and err.value.results.metadata["runtime_us"] == pytest.approx(40.0)
    spikes = np.asarray(pop.get_data().segments[-1].spiketrains[0])
    assert len(spikes) > 0 and spikes.max() < 40.0


def test_a_kernel_that_raises_is_reported_with_the_rule_and_time(sim):
    class Broken(sim.PlasticityRule, sim.StaticSynapse):
        def kernel(self, ctx):
            raise ZeroDivisionError("boom")

    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    pop = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   synapse_type=Broken(timer=sim.Timer(start=5.0, period=5.0, num_periods=1), weight=0.5))
    with pytest.raises(PlasticityError, match=r"rule 'Broken#0' failed at 5.000 µs \(chip 0\): ZeroDivisionError"):
        sim.run(10.0)


SILENCE_CPP = """
#include "grenade/vx/ppu/synapse_array_view_handle.h"
#include "grenade/vx/ppu/neuron_view_handle.h"
using namespace grenade::vx::ppu;
using namespace libnux::vx;
extern volatile PPUOnDLS ppu;
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&)
{
    if (synapses[0].hemisphere != ppu) return;
    for (size_t i = 0; i < synapses[0].rows.size(); ++i)
        synapses[0].set_weights(VectorRowMod8(0), i);
}
"""


def test_rules_need_a_timer_and_a_kernel(sim):
    with pytest.raises(ValueError, match="give a Timer"):
        sim.PlasticityRule(timer=None)

    class Nothing(sim.PlasticityRule, sim.StaticSynapse):
        pass

    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    pop = sim.Population(1, sim.IF_curr_exp())
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   synapse_type=Nothing(timer=sim.Timer(start=5.0, period=5.0, num_periods=1), weight=0.5))
    with pytest.raises(NoModelAvailableError, match="defines no kernel"):
        sim.run(10.0)


def test_a_rule_in_ppu_cpp_runs_compiled_from_pynn(sim):
    """A rule that brings C++ (``generate_kernel()``, as on BSS-2) runs on the PPU: at 50 ms it
    writes weight 0 to its projection, and the driven neuron falls silent soon after."""

    class Silence(sim.PlasticityRule, sim.StaticSynapse):
        def generate_kernel(self):
            return SILENCE_CPP

    src = sim.Population(12, sim.SpikeSourceArray(spike_times=list(np.arange(5.0, 100.0, 5.0))))
    pop = sim.Population(1, sim.IF_curr_exp())
    pop.record("spikes")
    prj = sim.Projection(src, pop, sim.AllToAllConnector(),
                         synapse_type=Silence(timer=sim.Timer(start=50.0, period=100.0, num_periods=1), weight=1.0))
    sim.run(100.0)
    spikes = np.asarray(pop.get_data().segments[-1].spiketrains[0])
    # (the synaptic currents of the inputs before 50 ms, τ_syn 5 ms, may still carry it over
    # the threshold once or twice: silent from three τ_syn after the write)
    assert (spikes < 50.0).sum() > 3 and (spikes > 65.0).sum() == 0
    assert prj.hardware_weights()[0].max() > 0  # the rule acts inside the run: the script's weights stay


@pytest.mark.filterwarnings("ignore::bss2emu.errors.QuantisationWarning")
def test_weights_and_connections_change_inside_one_run(sim):
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=list(np.arange(5.0, 300.0, 10.0))))
    nrn = sim.Population(2, sim.IF_curr_exp(tau_refrac=1.0))
    prj = sim.Projection(src, nrn, sim.OneToOneConnector(), synapse_type=sim.StaticSynapse(weight=2.0))
    nrn.record("spikes")
    sim.run(100.0)
    prj.set_enabled(False, indices=[0])  # disconnect neuron 0's input (topology, at t = 100 ms)
    sim.run(100.0)
    prj.set_enabled(True)
    prj.set(weight=np.array([[2.0, 0.0], [0.0, 0.6]]))  # different weights per connection, at t = 200 ms
    sim.run(100.0)
    counts = [[int(((t >= a) & (t < a + 100)).sum()) for a in (0, 100, 200)]
              for t in (np.asarray(s) for s in nrn.get_data().segments[-1].spiketrains)]
    assert counts[0][1] == 0 and counts[0][0] == counts[0][2] > 0
    assert counts[1][0] == counts[1][1] > 0 and counts[1][2] == 0
    exp = sim.simulator.state.last_experiment
    assert len(exp.projections) == 1  # nothing was mapped again: one projection, changed by timed writes
    assert [w.kind for w in exp.writes].count("connection") == 2  # (the weight: a new gain, a neuron write)


def test_the_brainscales2_view_takes_the_same_rules_in_hardware_ms():
    import bss2emu.brainscales2 as pynn

    class Recorder(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
        def kernel(self, ctx):
            ctx.record_observable("t", [ctx.time, ctx.time_us, self.target])

    pynn.setup()
    try:
        rule = Recorder(timer=pynn.Timer(start=0.01, period=0.02, num_periods=2),
                        observables={"t": pynn.PlasticityRule.ObservableArray(size=3)}, target=60, weight=10)
        src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
        nrn = pynn.Population(2, pynn.cells.HXNeuron(plasticity_rule=None))
        pynn.Projection(src, nrn, pynn.AllToAllConnector(), synapse_type=rule)
        pynn.run(0.05)
        assert [s.data.tolist() for s in rule.get_observable_array("t")[0]] == [[0.01, 10.0, 60], [0.03, 30.0, 60]]
        assert pynn.synapses.PlasticSynapse(weight=-5, plasticity_rule=rule).plasticity_rule is rule
    finally:
        pynn.end()


def test_a_rule_runs_through_appended_snippets_that_change_weights_without_mapping_again():
    import bss2emu.brainscales2 as pynn

    class Watch(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
        def kernel(self, ctx):
            ctx.record_observable("w", [ctx.projections[0].weights()])

    pynn.setup()
    try:
        rule = Watch(timer=pynn.Timer(start=0.01, period=0.02, num_periods=4),
                     observables={"w": pynn.PlasticityRule.ObservablePerSynapse()}, weight=10)
        src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
        nrn = pynn.Population(1, pynn.cells.HXNeuron())
        prj = pynn.Projection(src, nrn, pynn.AllToAllConnector(), synapse_type=rule)
        pynn.run(0.04, pynn.RunCommand.APPEND)
        prj.set(weight=np.array([[20.0], [30.0]]))  # a new value per connection for the second snippet
        pynn.run(0.04, pynn.RunCommand.APPEND)
        pynn.run(None, pynn.RunCommand.EXECUTE)
        samples, = prj.get_data("w")  # pynn.brainscales2's shape: per snippet (both snippets ran as one)
        assert [s.time for s in samples] == [0.01, 0.03, 0.05, 0.07]
        assert [s.time.value() for s in samples] == [1250, 3750, 6250, 8750]  # FPGA cycles, 125 MHz
        assert [s.data.tolist() for s in samples] == [[10, 10], [10, 10], [20, 30], [20, 30]]
        exp = pynn.simulator.state.last_experiment
        assert [w.weights for w in exp.writes if w.kind == "weight"] == [[20, 30]]
        assert len(exp.projections) == 1  # one mapping for both snippets: the change is a timed write
    finally:
        pynn.end()


RECORD_WEIGHTS_CPP = """
#include "grenade/vx/ppu/synapse_array_view_handle.h"
#include "grenade/vx/ppu/neuron_view_handle.h"
#include "grenade/vx/ppu/time.h"
#include "hate/tuple.h"
using namespace grenade::vx::ppu;
using namespace libnux::vx;
extern volatile PPUOnDLS ppu;
template <size_t N, size_t M>
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, N>& synapses, std::array<NeuronViewHandle, M>&,
                            Recording& recording)
{
    recording.time = now();
    hate::for_each([](SynapseArrayViewHandle const& s, auto& packed, auto& rows) {
        if (s.hemisphere != ppu) return;
        for (size_t i = 0; i < s.rows.size(); ++i) {
            auto const w = s.get_weights(i);
            rows[i] = w;
            for (size_t k = 0; k < s.columns.size(); ++k) packed[i][k] = w[s.columns[k]];
        }
    }, synapses, recording.packed, recording.rows);
}
"""


def test_a_cpp_rules_per_synapse_observables_come_per_connection_as_a_python_rules():
    """The C++ kernel records its views' weights in both of grenade's layouts; PyNN gives them
    per connection (``Projection.get_data``), as it gives a Python rule's records."""
    import bss2emu.brainscales2 as pynn

    Syn = pynn.PlasticityRule.ObservablePerSynapse

    class CppWatch(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
        def generate_kernel(self):
            return RECORD_WEIGHTS_CPP

    class PyWatch(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
        def kernel(self, ctx):
            ctx.record_observable("packed", [ctx.projections[0].weights()])

    weights = np.arange(1, 13).reshape(3, 4) * 5  # a distinct hardware weight per connection
    pynn.setup()
    try:
        timer = pynn.Timer(start=0.01, period=0.02, num_periods=2)
        cpp = CppWatch(timer=timer, weight=weights,
                       observables={"packed": Syn(type=Syn.Type.uint8),
                                    "rows": Syn(type=Syn.Type.uint8, layout_per_row=Syn.LayoutPerRow.complete_rows)})
        py = PyWatch(timer=timer, weight=weights, observables={"packed": Syn()})
        src = pynn.Population(3, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
        nrn = pynn.Population(4, pynn.cells.HXNeuron())
        p_cpp = pynn.Projection(src, nrn, pynn.AllToAllConnector(), synapse_type=cpp)
        p_py = pynn.Projection(src, nrn, pynn.AllToAllConnector(), synapse_type=py)
        pynn.run(0.05)
        expected = np.array([w for _, _, w in p_cpp.get("weight", format="list")])
        assert sorted(expected.tolist()) == sorted(weights.ravel().tolist())
        reference = [s.data.tolist() for s in p_py.get_data("packed")[0]]
        assert reference == [expected.tolist()] * 2
        for name in ("packed", "rows"):
            samples = p_cpp.get_data(name)[0]
            assert [s.time.value() for s in samples] == [1250, 3750]
            assert [s.data.tolist() for s in samples] == reference, name
    finally:
        pynn.end()


def test_a_rule_replaced_between_snippets_goes_on_with_the_same_same_id_only():
    """pynn.brainscales2's ``same_id``: rules with equal id and kernel share their state across
    snippets. The second snippet's rule continues the first one's count; one of another
    ``same_id`` is refused (a segment runs one kernel per rule from its start)."""
    import bss2emu.brainscales2 as pynn

    class Count(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
        def kernel(self, ctx):
            self.calls = getattr(self, "calls", 0) + 1
            ctx.record_observable("n", [self.calls])

    def network():
        timer = pynn.Timer(start=0.01, period=0.02, num_periods=4)
        src = pynn.Population(2, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
        nrn = pynn.Population(1, pynn.cells.HXNeuron())
        obs = {"n": pynn.PlasticityRule.ObservableArray(size=1)}
        prj = pynn.Projection(src, nrn, pynn.AllToAllConnector(),
                              synapse_type=Count(timer=timer, observables=obs, same_id=7, weight=10))
        return prj, timer, obs

    pynn.setup()
    try:
        prj, timer, obs = network()
        pynn.run(0.04, pynn.RunCommand.APPEND)
        prj.synapse_type = second = Count(timer=timer, observables=obs, same_id=7, weight=10)
        pynn.run(0.04, pynn.RunCommand.APPEND)
        pynn.run(None, pynn.RunCommand.EXECUTE)
        assert [s.data.tolist() for s in second.get_observable_array("n")[0]] == [[1], [2], [3], [4]]  # one state
    finally:
        pynn.end()
    pynn.setup()
    try:
        prj, timer, obs = network()
        pynn.run(0.04, pynn.RunCommand.APPEND)
        prj.synapse_type = Count(timer=timer, observables=obs, same_id=8, weight=10)
        with pytest.raises(pynn_exceptions.ConnectionError, match="plasticity rules"):
            pynn.run(0.04, pynn.RunCommand.APPEND)
    finally:
        pynn.end()


BYTES_CPP = """
#include "grenade/vx/ppu/synapse_array_view_handle.h"
#include "grenade/vx/ppu/neuron_view_handle.h"
using namespace grenade::vx::ppu;
using namespace libnux::vx;
extern volatile PPUOnDLS ppu;
float calls = 0;
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&,
                            Recording& recording)
{
    if (synapses[0].hemisphere != ppu) return;
    calls += 1;
    unsigned char bytes[4];
    *reinterpret_cast<float*>(bytes) = calls / 3.f;
    for (size_t i = 0; i < 4; ++i)
        recording.value[i] = bytes[i];
    recording.sign[0] = -calls;
}
"""


def test_a_cpp_rules_observable_array_comes_back_in_its_type():
    """ts_07 (Pong) records a float as four bytes of a uint8 ObservableArray and unpacks them with
    ``struct.pack("4B", ...)``: the samples are the kernel's bytes in the declared type."""
    import struct

    import bss2emu.brainscales2 as pynn

    class Bytes(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
        def generate_kernel(self):
            return BYTES_CPP

    Type = pynn.PlasticityRule.ObservableArray.Type
    observables = {"value": pynn.PlasticityRule.ObservableArray(), "sign": pynn.PlasticityRule.ObservableArray()}
    observables["value"].type, observables["value"].size = Type.uint8, 4
    observables["sign"].type, observables["sign"].size = Type.int8, 1
    pynn.setup()
    try:
        rule = Bytes(timer=pynn.Timer(start=0.01, period=0.01, num_periods=3), observables=observables, weight=10)
        src = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.005]))
        nrn = pynn.Population(1, pynn.cells.HXNeuron())
        pynn.Projection(src, nrn, pynn.AllToAllConnector(), synapse_type=rule)
        pynn.run(0.05)
        samples = rule.get_observable_array("value")[0]
        assert [s.data.dtype for s in samples] == [np.uint8] * 3
        got = [struct.unpack("f", struct.pack("4B", *s.data[:4]))[0] for s in samples]
        assert got == [np.float32(k / 3) for k in (1, 2, 3)]
        signs = rule.get_observable_array("sign")[0]
        assert [int(s.data[0]) for s in signs] == [-1, -2, -3] and signs[0].data.dtype == np.int8
    finally:
        pynn.end()
