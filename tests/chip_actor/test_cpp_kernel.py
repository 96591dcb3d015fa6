"""Compiling and running C++ PPU kernels: errors that name the rule, the line and the time; crashes
and hangs that fail the run instead of the emulator; views, observables and pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bss2emu
from bss2emu.chip_actor.cpp_build import Observable
from bss2emu.chip_actor.cpp_kernel import CORRELATION_RESET_CODE, STATE_LAYOUT, CppKernel
from bss2emu.chip_actor.ppu import ChipSnapshot, PpuContext, PpuKernel
from bss2emu.errors import PlasticityError

HEAD = """#include "grenade/vx/ppu/synapse_array_view_handle.h"
#include "grenade/vx/ppu/neuron_view_handle.h"
#include "grenade/vx/ppu/time.h"
#include "libnux/vx/dls.h"
using namespace grenade::vx::ppu;
using namespace libnux::vx;
extern volatile PPUOnDLS ppu;
"""


def kernel(body: str, name: str = "rule", **kw) -> CppKernel:
    return CppKernel(HEAD + f"""
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&)
{{
{body}
}}
""", name, ["s→n"], [], **kw)


def experiment(k, period_us=20.0, runtime_us=100.0) -> dict:
    return {"runtime_us": runtime_us, "chip": {"ideal": True},
            "populations": [{"name": "n", "size": 4, "params": {"i_const": 0}}],
            "sources": [{"kind": "spike_array", "name": "s", "size": 4, "spike_times_us": [[5.0, 50.0]] * 4}],
            "projections": [{"pre": "s", "post": "n", "weight": 10, "connector": {"kind": "one_to_one"}}],
            "plasticity": [{"name": k.rule_name, "kernel": k, "period_us": period_us}]}


def chip_reads(accumulated: np.ndarray) -> np.ndarray:
    """What libnux reads from sensors with these accumulated codes: the reset code minus them, floored at 0."""
    from bss2emu.chip_actor.cpp_kernel import CORRELATION_RESET_CODE
    return np.maximum(CORRELATION_RESET_CODE - accumulated.astype(np.int64), 0)


def test_state_layout_matches_the_header():
    # bss2emu/ppu_state.h static_asserts the same offsets; its size is 4104 + 4 * 2 * 65536 + 512 + 2048
    # + 8 + 8 * 4096 (the neuron parameter writes)
    assert STATE_LAYOUT.fields["rate_counters"][1] == 4104 + 4 * 131072 + 512
    assert STATE_LAYOUT.fields["neuron_writes"][1] == 4104 + 4 * 131072 + 512 + 2048 + 8
    assert STATE_LAYOUT.itemsize == 4104 + 4 * 131072 + 512 + 2048 + 8 + 8 * 4096


def test_compile_error_names_rule_and_kernel_line():
    k = kernel("    int x = undefined_thing;  // line 11 of the kernel", name="broken")
    with pytest.raises(PlasticityError) as err:
        bss2emu.run(experiment(k))
    text = str(err.value)
    assert "plasticity rule 'broken' does not compile" in text
    assert "broken.cpp:11:" in text and "undefined_thing" in text


def test_missing_compiler_says_how_to_install_one(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-bss2emu")
    k = kernel("    return;", name="nocxx")
    with pytest.raises(PlasticityError, match=r"rule 'nocxx': C\+\+ kernels need a host C\+\+ compiler.*apt-get install g\+\+"):
        bss2emu.run(experiment(k))


@pytest.mark.parametrize("body,why", [
    ("    if (synapses[0].hemisphere != ppu) return;\n    if (now() > 5000) *(volatile int*)nullptr = 1;",
     r"crashed with SIGSEGV"),
    ("    if (synapses[0].hemisphere != ppu) return;\n    if (now() > 5000) abort();", r"crashed with SIGABRT"),
    ("    if (synapses[0].hemisphere != ppu) return;\n    if (now() > 5000) throw 42;", r"crashed with SIGABRT"),
])
def test_a_crash_fails_the_run_with_rule_time_and_signal(body, why):
    k = kernel(body, name="crashy")
    with pytest.raises(PlasticityError, match=rf"PPU kernel 'crashy' \(C\+\+\) {why}.* at 40\.000 µs on chip 0, PPU top"):
        bss2emu.run(experiment(k))  # 5000 cycles = 20 µs: the second invocation crashes


def test_access_from_the_wrong_ppu_stops_the_kernel_with_the_reason():
    k = kernel("    auto w = synapses[0].get_weights(0);\n    (void) w;", name="wrongppu")
    with pytest.raises(PlasticityError, match=r"'wrongppu' \(C\+\+\) stopped at 20\.000 µs on chip 0, PPU bottom: "
                                              r"SynapseArrayViewHandle::get_weights: the view is on the top hemisphere"):
        bss2emu.run(experiment(k))


def test_a_hanging_kernel_is_stopped_after_its_timeout():
    k = kernel("    for (;;) {}", name="hang", timeout_s=1.0)
    with pytest.raises(PlasticityError, match=r"'hang' \(C\+\+\) did not finish within 1 s"):
        bss2emu.run(experiment(k))


def test_kernel_output_is_quoted_when_it_fails():
    k = kernel('    fprintf(stderr, "bad row %d\\n", 17);\n    exit(5);', name="talky")
    with pytest.raises(PlasticityError, match=r"(?s)exited with code 5 at 20\.000 µs.*its output:\nbad row 17"):
        bss2emu.run(experiment(k))


SET_ROW = """
    if (synapses[0].hemisphere != ppu) return;
    static uint8_t calls = 0;  // a global of this PPU: lives from call to call
    ++calls;
    for (size_t j = 0; j < synapses[0].rows.size(); ++j) {
        auto w = synapses[0].get_weights(j);
        for (auto c : synapses[0].columns) w[c] = static_cast<uint8_t>(calls + 64);  // 6 bit kept
        w[255] = 63;  // outside the view: not written
        synapses[0].set_weights(w, j);
    }
"""


def probe(ctx):
    h, r, c = ctx.synapses["s→n"]
    w = ctx.weights()
    ctx.record("w", float(w[h, r, c].mean()))
    ctx.record("outside", float((w[0, :, 255] != 0).sum()))


def test_weights_written_in_the_view_reach_the_chip_and_globals_persist():
    k = kernel(SET_ROW, name="setrow")
    exp = experiment(k)
    exp["plasticity"].append({"name": "probe", "kernel": f"{__name__}:probe", "period_us": 20.0, "start_us": 30.0})
    rec = bss2emu.run(exp).to_pandas("ppu")
    assert list(rec[rec.key == "w"].value) == [1.0, 2.0, 3.0, 4.0]  # calls 1..4, & 63
    assert (rec[rec.key == "outside"].value == 0).all()
    # running again starts the PPUs afresh (the time went back)
    rec2 = bss2emu.run(exp).to_pandas("ppu")
    assert list(rec2[rec2.key == "w"].value) == [1.0, 2.0, 3.0, 4.0]
    k.close()


def test_pickled_kernel_compiles_and_runs_where_it_lands():
    k = pickle.loads(pickle.dumps(kernel(SET_ROW, name="setrow")))
    exp = experiment(k)
    exp["plasticity"].append({"name": "probe", "kernel": f"{__name__}:probe", "period_us": 20.0, "start_us": 30.0})
    rec = bss2emu.run(exp).to_pandas("ppu")
    assert list(rec[rec.key == "w"].value) == [1.0, 2.0, 3.0, 4.0]


OBSERVED = HEAD + """
#include "hate/tuple.h"
template <size_t N, size_t M>
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, N>& synapses,
                            std::array<NeuronViewHandle, M>& neurons, Recording& recording)
{
    recording.time = now();
    recording.pair[0] = static_cast<uint8_t>(N);
    recording.pair[1] = static_cast<uint8_t>(ppu == PPUOnDLS::top ? 7 : 9);
    hate::for_each([](SynapseArrayViewHandle const& s, auto& rec_w, auto& rec_c) {
        if (s.hemisphere != ppu) return;
        for (size_t j = 0; j < s.rows.size(); ++j) {
            auto w = s.get_weights(j);
            auto corr = s.get_causal_correlation(j);
            for (size_t c = 0; c < s.columns.size(); ++c) rec_w[j][c] = w[s.columns[c]];
            rec_c[j] = corr;
        }
    }, synapses, recording.w, recording.causal);
    hate::for_each([](NeuronViewHandle const& n, auto& rec_n) {
        if (n.hemisphere != ppu) return;
        for (size_t c = 0; c < n.columns.size(); ++c) rec_n[c] = n.get_rate_counter(c, false);
    }, neurons, recording.rate);
}
"""


def test_views_and_observables_follow_the_placement():
    k = CppKernel(OBSERVED, "observed", ["p"], ["pop"], {
        "w": {"kind": "synapse", "type": "uint8", "layout": "packed_active_columns"},
        "causal": {"kind": "synapse", "type": "uint8", "layout": "complete_rows"},
        "rate": {"kind": "neuron", "type": "uint8"},
        "pair": {"kind": "array", "type": "uint8", "size": 2}})
    rng = np.random.default_rng(1)
    weights = rng.integers(0, 64, (2, 256, 256))
    causal = rng.integers(0, 256, (2, 256, 256)).astype(np.uint8)
    snap = ChipSnapshot(np.zeros(512, np.int64), np.zeros(512, np.uint8), causal, causal, weights)
    h = np.array([0, 0, 1, 1, 1]); r = np.array([3, 5, 3, 3, 9]); c = np.array([10, 11, 200, 201, 200])
    counts = np.zeros(512, np.int64); counts[[1, 2, 256 + 7]] = [4, 300, 2]
    ctx = PpuContext(PpuKernel("observed", k, 1000, 1000), snap, 8000, counts, {"p": (h, r, c)},
                     {"pop": np.array([1, 2, 256 + 7])})
    k(ctx)
    got = dict(ctx.observables)
    assert got["pair"].tolist() == [[2, 7], [2, 9]]  # N = 2 views; each PPU wrote its number
    w_top, w_bottom = got["w"]
    assert w_top.tolist() == [[weights[0, 3, 10], weights[0, 3, 11]], [weights[0, 5, 10], weights[0, 5, 11]]]
    assert w_bottom.tolist() == [[weights[1, 3, 200], weights[1, 3, 201]], [weights[1, 9, 200], weights[1, 9, 201]]]
    assert (got["causal"][1] == chip_reads(causal[1, [3, 9], :])).all()
    assert got["rate"][0].tolist() == [4, 255] and got["rate"][1].tolist() == [2]  # counters saturate at 255
    assert ctx.writes == [] and not ctx.reset_correlation
    procs = [p.proc for p in k._runs[0].ppus]
    assert [p.poll() for p in procs] == [None, None]  # both PPUs wait for the next invocation
    k.close()
    assert [p.poll() for p in procs] == [0, 0] and not k._runs


def test_unknown_projection_and_bad_observable_are_named():
    with pytest.raises(PlasticityError, match=r"observable 'w' has type 'float'"):
        CppKernel(OBSERVED, "obs", ["p"], [], {"w": {"kind": "synapse", "type": "float"}})
    with pytest.raises(PlasticityError, match="defines no PLASTICITY_RULE_KERNEL"):
        CppKernel("int main() {}", "empty")
    k = kernel("    return;", name="lost")
    k.projections = ["nope"]
    with pytest.raises(PlasticityError, match=r"projection 'nope', which does not exist; projections: \['s→n'\]"):
        bss2emu.run(experiment(k))


# A reward-modulated rule with the constructs of the Pong demo's kernels (brainscales2-demos
# ts_07-pong): spike counters through halco/haldls/stadls, a correlation baseline computed by a
# global initializer when the PPU program starts (before the experiment: the sensors read the
# reset level then), Mod16 accumulation, convert_contiguous, a
# float reward, the random generator, resets, and an ObservableArray filled with a float's bytes.
REWARD = HEAD + """
#include <algorithm>
#include "libnux/vx/correlation.h"
#include "libnux/vx/vector_row.h"
#include "libnux/vx/vector_if.h"
#include "libnux/vx/parallel_rng.h"
#include "libnux/vx/reset_neurons.h"
#include "stadls/vx/v3/ppu/read.h"
#include "stadls/vx/v3/ppu/write.h"

VectorRowMod8 row_mean_of_causal()
{
    VectorRowMod16 sum(0);
    for (size_t row = 0; row < 256; ++row) {
        VectorRowMod8 r;
        get_causal_correlation(&r.even.data, &r.odd.data, row);
        sum += static_cast<VectorRowMod16>(r);
    }
    return VectorRowMod8(sum >> 8);
}
VectorRowMod8 baseline = row_mean_of_causal();
struct Seeder { Seeder() { parallel_rng_seed(VectorRowMod8(17)); } } seeder;

void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&,
                            Recording& recording)
{
    if (synapses[0].hemisphere != ppu) {
        return;
    }
    using namespace halco::hicann_dls::vx::v3;
    uint32_t total = 0;
    for (size_t i = 0; i < 8; ++i) {
        auto const neuron = AtomicNeuronOnDLS(NeuronColumnOnDLS(i), NeuronRowOnDLS());
        auto const counter = stadls::vx::v3::ppu::read<haldls::vx::v3::SpikeCounterRead>(neuron.toSpikeCounterReadOnDLS());
        total += counter.get_count();
        stadls::vx::v3::ppu::write(neuron.toSpikeCounterResetOnDLS(), haldls::vx::v3::SpikeCounterReset());
    }
    float const reward = std::min(total / 64.f, 0.99f);
    auto const noise = parallel_rng_rand<VectorRowFracSat8>();
    for (size_t j = 0; j < synapses[0].rows.size(); ++j) {
        VectorRowMod8 corr;
        get_causal_correlation(&corr.even.data, &corr.odd.data, synapses[0].rows[j]);
        VectorRowFracSat8 const delta = (corr >> 1).convert_contiguous() - (baseline >> 1).convert_contiguous();
        VectorRowFracSat8 w = static_cast<VectorRowFracSat8>(synapses[0].get_weights(j))
                              + delta * static_cast<int8_t>(reward * 128);
        w = vector_if(w, VectorIfCondition::lesser, VectorRowFracSat8(0), w);
        w = vector_if(w - 63, VectorIfCondition::greater, VectorRowFracSat8(63), w);
        synapses[0].set_weights(static_cast<VectorRowMod8>(w), j);
    }
    reset_neurons();
    reset_all_correlations();
    recording.time = 0;
    recording.total[0] = static_cast<uint8_t>(total);
    unsigned char bytes[4];
    *reinterpret_cast<float*>(bytes) = reward;
    for (size_t i = 0; i < 4; ++i)
        recording.reward[i] = bytes[i];
    recording.noise[0] = noise[3];
    if (recording.total[0] == 0) {  // the second call: counters by enum, then reset them all
        auto const n9 = halco::hicann_dls::vx::v3::AtomicNeuronOnDLS(halco::common::Enum(9));
        recording.total[0] = 100 + stadls::vx::v3::ppu::read<haldls::vx::v3::SpikeCounterRead>(
            n9.toSpikeCounterReadOnDLS()).get_count();
        for (auto coord : halco::common::iter_all<halco::hicann_dls::vx::v3::SpikeCounterResetOnDLS>())
            stadls::vx::v3::ppu::write(coord, haldls::vx::v3::SpikeCounterReset());
    }
}
"""


def test_a_pong_style_reward_rule_reads_counters_baselines_and_records_bytes():
    k = CppKernel(REWARD, "reward", ["p"], [], {"total": {"kind": "array", "type": "uint8", "size": 1},
                                                "reward": {"kind": "array", "type": "uint8", "size": 4},
                                                "noise": {"kind": "array", "type": "int8", "size": 1}})
    rng = np.random.default_rng(4)
    weights = rng.integers(0, 64, (2, 256, 256))
    causal = rng.integers(0, 256, (2, 256, 256)).astype(np.uint8)
    snap = ChipSnapshot(np.zeros(512, np.int64), np.zeros(512, np.uint8), causal, causal, weights)
    h, r, c = np.zeros(8, int), np.arange(8) + 40, np.arange(8)
    counts = np.zeros(512, np.int64)
    counts[:8] = [3, 0, 5, 1, 7, 2, 2, 4]  # 24 spikes; a neuron beyond column 7 does not count:
    counts[9] = 50
    ctx = PpuContext(PpuKernel("reward", k, 1000, 1000), snap, 8000, counts, {"p": (h, r, c)}, {})
    k(ctx)
    got = dict(ctx.observables)
    reward = 24 / 64
    assert got["total"][0].tolist() == [24]
    assert got["reward"][0].view(np.float32)[0] == np.float32(reward)
    assert ctx.reset_correlation
    # the expected update, in numpy: the baseline, read at program start, is the reset level
    reads = chip_reads(causal[0])
    base = np.full(256, CORRELATION_RESET_CODE)
    delta = np.clip(((reads[r, c] >> 1) - 128) - ((base[c] >> 1) - 128), -128, 127)
    dw = np.clip(np.floor_divide(delta * int(reward * 128), 128), -128, 127)
    expect = np.clip(weights[0, r, c] + dw, 0, 63)
    written = {(int(a), int(b), int(d)): int(v) for w in ctx.writes for a, b, d, v in zip(w.hemisphere, w.row, w.column, w.values)}
    for i in range(8):
        assert written.get((0, int(r[i]), int(c[i])), int(weights[0, r[i], c[i]])) == expect[i]
    # a second call: columns 0..7 were reset, so no spikes there; neuron 9 (enum 9) kept its 50
    ctx2 = PpuContext(PpuKernel("reward", k, 1000, 1000), snap, 9000, np.zeros(512, np.int64), {"p": (h, r, c)}, {},
                      counters=ctx.counters)  # the chip's counters, as the chip's Ppu hands them on
    k(ctx2)
    assert dict(ctx2.observables)["total"][0].tolist() == [150]
    # the third: iter_all reset every counter
    ctx3 = PpuContext(PpuKernel("reward", k, 1000, 1000), snap, 10000, np.zeros(512, np.int64), {"p": (h, r, c)}, {},
                      counters=ctx.counters)
    k(ctx3)
    assert dict(ctx3.observables)["total"][0].tolist() == [100]
    k.close()

_values = st.one_of(st.none(), st.integers(-3, 300), st.text(max_size=12),
                    st.sampled_from(["synapse", "neuron", "array", "uint8", "int16", "float", "complete_rows",
                                     "packed_active_columns", "complete_row"]))


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=10), spec=st.one_of(_values, st.dictionaries(
    st.sampled_from(["kind", "type", "layout", "size", "other"]), _values, max_size=5)))
def test_observable_specs_are_accepted_or_refused_with_the_rule_and_name(name, spec):
    try:
        o = Observable.parse("rule", name, spec)
    except PlasticityError as err:
        assert "plasticity rule 'rule'" in str(err)
    else:
        assert o.kind in ("synapse", "neuron", "array") and o.name == name
        assert o.size >= 1 if o.kind == "array" else o.layout


def test_a_checkpoint_keeps_the_kernels_globals_and_a_copy_goes_on_from_them():
    """The PPU's state in a checkpoint holds the C++ kernel's globals (here its invocation
    counter, written as the weight): restoring it — in this Ppu or, pickled, in a new one —
    goes on from there, as the uninterrupted run does; a run from time 0 starts afresh."""
    from bss2emu.chip_actor.chip import Chip
    from bss2emu.chip_actor.ppu import ChipLayout, Ppu
    from bss2emu.protocol.hardware import ChipConfig

    chip = Chip(ChipConfig(), ideal=True)
    layout = ChipLayout({"s→n": (np.zeros(4, np.int64), np.zeros(4, np.int64), np.arange(4))})
    k = kernel(SET_ROW, name="count")

    def step(ppu, t_us):
        writes, _ = ppu.run_due(int(t_us * 1000), ChipSnapshot.live(chip), layout)
        chip.apply_writes(writes)
        return int(chip.config.synapses.weights[0, 0, 0])

    ppu = Ppu([PpuKernel("count", k, period_ns=20_000, start_ns=20_000)])
    assert [step(ppu, t) for t in (20, 40)] == [1, 2]
    state = ppu.get_state()
    assert [step(ppu, t) for t in (60, 80)] == [3, 4]
    ppu.set_state(state)
    assert [step(ppu, t) for t in (60, 80)] == [3, 4]  # without the globals: 1, 2
    other = Ppu([PpuKernel("count", k, period_ns=20_000, start_ns=20_000)])
    other.set_state(pickle.loads(pickle.dumps(state)))
    assert [step(other, t) for t in (60, 80)] == [3, 4]
    fresh = Ppu([PpuKernel("count", k, period_ns=20_000, start_ns=20_000)])
    assert step(fresh, 20) == 1
    k.close()


WAKE = HEAD + """
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 0>&, std::array<NeuronViewHandle, 1>& neurons)
{
    auto const& n = neurons[0];
    if (n.hemisphere != ppu) return;
    for (size_t i = 0; i < n.columns.size(); ++i)
        n.set_parameter(bss2emu::ppu::NeuronParameter::i_const, i, VALUE);
}
"""


class WakePy:
    def __call__(self, ctx):
        ctx.populations[0].set_parameter("i_const", 900)


def test_neuron_parameters_written_in_cpp_reach_the_chip_as_a_python_rules_do():
    def exp(kernel):
        return {"runtime_us": 100.0, "chip": {"ideal": True},
                "populations": [{"name": "p", "size": 3, "params": {"i_const": 0}}],
                "plasticity": [{"name": "wake", "kernel": kernel, "period_us": 50.0, "num_periods": 1,
                                "populations": ["p"]}]}

    k = CppKernel(WAKE.replace("VALUE", "900"), "wake", [], ["p"])
    cpp, py = bss2emu.run(exp(k)), bss2emu.run(exp(WakePy()))
    k.close()
    spikes = cpp.spike_times_us("p")
    assert all(len(t) >= 3 and t.min() >= 50.0 for t in spikes)  # silent until the rule raised the current
    assert cpp.spikes.equals(py.spikes)
    bad = CppKernel(WAKE.replace("VALUE", "5000"), "wake", [], ["p"])
    with pytest.raises(PlasticityError, match=r"'wake' \(C\+\+\) stopped at 50\.000 µs on chip 0, PPU top: "
                                              r"NeuronViewHandle::set_parameter: i_const = 5000 is out of its range "
                                              r"0\.\.1022"):
        bss2emu.run(exp(bad))
    bad.close()


# Correlation reads as on the chip: a reset leaves a sensor at the reset level (calix's v_reset read
# through the source follower; bss2emu: CADC code 191 of 255 over 0..1200 mV), correlated pairs lower the read (calix's correlation
# measurement takes "baselines - results"); the emulator's accumulation is subtracted, floored at 0.
CORRELATION_READS = HEAD + """
#include "libnux/vx/correlation.h"
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&,
                            Recording& recording)
{
    recording.time = 0;
    if (synapses[0].hemisphere != ppu) return;
    VectorRowMod8 causal, acausal;
    get_correlation(&causal.even.data, &causal.odd.data, &acausal.even.data, &acausal.odd.data, 3);
    auto const view = synapses[0].get_causal_correlation(0);
    for (size_t c = 0; c < 4; ++c) {
        recording.before[c] = causal[c];
        recording.before[4 + c] = acausal[c];
    }
    recording.view[0] = view[10];
    reset_correlation(3);
    get_causal_correlation(&causal.even.data, &causal.odd.data, 3);
    recording.after[0] = causal[0];
}
"""


def test_correlation_reads_fall_from_the_reset_code_as_on_the_chip():
    from bss2emu.chip_actor.cpp_kernel import CORRELATION_RESET_CODE
    assert CORRELATION_RESET_CODE == round(900 / 1200 * 255) == 191
    k = CppKernel(CORRELATION_READS, "reads", ["p"], [], {
        "before": {"kind": "array", "type": "uint8", "size": 8},
        "view": {"kind": "array", "type": "uint8", "size": 1},
        "after": {"kind": "array", "type": "uint8", "size": 1}})
    causal = np.zeros((2, 256, 256), np.uint8)
    acausal = np.zeros((2, 256, 256), np.uint8)
    causal[0, 3, :4] = [0, 1, 100, 250]  # accumulated codes; 250 lies beyond the reset level
    acausal[0, 3, :4] = [5, 0, 191, 7]
    causal[0, 3, 10] = 40
    snap = ChipSnapshot(np.zeros(512, np.int64), np.zeros(512, np.uint8), causal, acausal, np.zeros((2, 256, 256)))
    h, r, c = np.zeros(1, int), np.array([3]), np.array([10])  # the view's row 0 is synapse row 3
    ctx = PpuContext(PpuKernel("reads", k, 1000, 1000), snap, 8000, np.zeros(512, np.int64), {"p": (h, r, c)}, {})
    k(ctx)
    got = dict(ctx.observables)
    assert got["before"][0].tolist() == [191, 190, 91, 0, 186, 191, 0, 184]
    assert got["view"][0].tolist() == [191 - 40]
    assert got["after"][0].tolist() == [191]  # reset: back at the reset level
    assert ctx.reset_correlation
    k.close()


# ts_07-pong's learning rule measures its correlation baseline in a global initializer:
# reset_all_correlations() and a read of every row. The real PPU runs it at program start, before
# the experiment; so here: the sensors and counters it sees are those of the run's start, and its
# reset does not wipe what the sensors accumulated before the first invocation.
GLOBAL_BASELINE = HEAD + """
#include "libnux/vx/correlation.h"
#include "stadls/vx/v3/ppu/read.h"
VectorRowMod8 reset_and_read()
{
    reset_all_correlations();
    VectorRowMod8 r;
    get_causal_correlation(&r.even.data, &r.odd.data, 3);
    return r;
}
VectorRowMod8 baseline = reset_and_read();
uint32_t counter_at_start = stadls::vx::v3::ppu::read<haldls::vx::v3::SpikeCounterRead>(
    halco::hicann_dls::vx::v3::AtomicNeuronOnDLS(halco::common::Enum(0)).toSpikeCounterReadOnDLS()).get_count();
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&,
                            Recording& recording)
{
    recording.time = 0;
    if (synapses[0].hemisphere != ppu) return;
    VectorRowMod8 now;
    get_causal_correlation(&now.even.data, &now.odd.data, 3);
    recording.codes[0] = baseline[0];
    recording.codes[1] = now[0];
    recording.codes[2] = static_cast<uint8_t>(counter_at_start);
}
"""


def test_global_initializers_run_at_program_start_and_leave_the_first_reads_alone():
    k = CppKernel(GLOBAL_BASELINE, "baseline", ["p"], [], {"codes": {"kind": "array", "type": "uint8", "size": 3}})
    causal = np.zeros((2, 256, 256), np.uint8)
    causal[0, 3, 0] = 60  # accumulated before the first invocation
    snap = ChipSnapshot(np.zeros(512, np.int64), np.zeros(512, np.uint8), causal, causal, np.zeros((2, 256, 256)))
    counts = np.zeros(512, np.int64)
    counts[0] = 7
    h, r, c = np.zeros(1, int), np.array([3]), np.array([0])
    ctx = PpuContext(PpuKernel("baseline", k, 1000, 1000), snap, 8000, counts, {"p": (h, r, c)}, {})
    k(ctx)
    assert dict(ctx.observables)["codes"][0].tolist() == [CORRELATION_RESET_CODE, CORRELATION_RESET_CODE - 60, 0]
    assert not ctx.reset_correlation  # the initializer's reset happened before anything accumulated
    k.close()


# The Pong demo resets the spike counters in one rule (at the start of a row) and reads them in
# another (at its end): the counters are the chip's, so the reader sees the spikes since the reset.
COUNTER_RESET = HEAD + """
#include "stadls/vx/v3/ppu/write.h"
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&)
{
    if (synapses[0].hemisphere != ppu) return;
    using namespace halco::hicann_dls::vx::v3;
    for (size_t i = 0; i < 2; ++i)
        stadls::vx::v3::ppu::write(AtomicNeuronOnDLS(NeuronColumnOnDLS(i), NeuronRowOnDLS()).toSpikeCounterResetOnDLS(),
                                   haldls::vx::v3::SpikeCounterReset());
}
"""
COUNTER_READ = HEAD + """
#include "stadls/vx/v3/ppu/read.h"
void PLASTICITY_RULE_KERNEL(std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 0>&,
                            Recording& recording)
{
    recording.time = 0;
    if (synapses[0].hemisphere != ppu) return;
    using namespace halco::hicann_dls::vx::v3;
    for (size_t i = 0; i < 3; ++i)
        recording.count[i] = stadls::vx::v3::ppu::read<haldls::vx::v3::SpikeCounterRead>(
            AtomicNeuronOnDLS(NeuronColumnOnDLS(i), NeuronRowOnDLS()).toSpikeCounterReadOnDLS()).get_count();
}
"""


def test_a_counter_reset_in_one_rule_acts_on_the_counters_another_rule_reads():
    from bss2emu.chip_actor.ppu import Ppu
    resetter = CppKernel(COUNTER_RESET, "reset", ["p"], [])
    reader = CppKernel(COUNTER_READ, "read", ["p"], [], {"count": {"kind": "array", "type": "uint8", "size": 3}})
    # the reset rule runs at the start of each 10 µs period, the reading rule 6 µs later
    ppu = Ppu([PpuKernel("reset", resetter, 10_000, 0, projections=["p"]),
               PpuKernel("read", reader, 10_000, 6_000, projections=["p"])])
    synapses = {"p": (np.zeros(1, int), np.zeros(1, int), np.zeros(1, int))}
    spike_count = np.zeros(512, np.int64)
    seen = []
    for period in range(3):
        for t_ns, spikes in ((period * 10_000, [0, 0, 0]), (period * 10_000 + 6_000, [3 + period, 1, 2])):
            spike_count[:3] += spikes  # spikes since the last PPU time, neurons 0..2 of the top hemisphere
            snap = ChipSnapshot(spike_count.copy(), np.zeros(512, np.uint8), np.zeros((2, 256, 256), np.uint8),
                                np.zeros((2, 256, 256), np.uint8), np.zeros((2, 256, 256)))
            ppu.run_due(t_ns, snap, synapses)
        spike_count[:3] += 5  # spikes between the read and the next reset
        top = [v[0] for t, chip, name, key, v in ppu.records if name == "read" and key == "count"][-1]
        seen.append(np.asarray(top).tolist())  # the top PPU's recording
    # columns 0 and 1 are reset each period: the spikes of this period; column 2 never: all so far
    assert seen == [[3, 1, 2], [4, 1, 9], [5, 1, 16]]
    resetter.close()
    reader.close()
