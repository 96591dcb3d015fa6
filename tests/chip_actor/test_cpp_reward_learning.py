"""A reward-modulated STDP rule in PPU C++ (the Pong tutorial's rule, ts_07-pong, on a 2×2 task)
learns the diagonal on the emulated chip.

Two inputs take turns (trial t presents input t % 2); two output neurons get independent Poisson
noise (the exploration). After each trial the kernel reads the spike counters, scores the trial
(spikes of the output matching the input +1 each, of the other -1), compares the score with the
input's running mean and moves every weight by (score - mean) × its causal correlation — with the
tutorial's lane arithmetic (correlation as ``baseline - read`` halved into FracSat8 lanes, the rate
as an int8 factor, products floored and then truncated towards zero). Only the sensors can tell the
kernel which synapse took part: the input's own row is the only one correlated with the outputs'
spikes. So the synapses input i → output i must grow and the others must shrink; with the reward's sign
flipped, the other diagonal grows instead."""

from __future__ import annotations

import textwrap

import numpy as np

import bss2emu
from bss2emu.chip_actor.analog import I_CONST_NA_PER_LSB
from bss2emu.chip_actor.cpp_kernel import CppKernel

R_STDP = textwrap.dedent("""
    #include "grenade/vx/ppu/synapse_array_view_handle.h"
    #include "grenade/vx/ppu/neuron_view_handle.h"
    #include "libnux/vx/correlation.h"
    #include "libnux/vx/vector_if.h"
    using namespace grenade::vx::ppu;
    using namespace libnux::vx;
    extern volatile PPUOnDLS ppu;

    float mean_score[2] = {{0., 0.}};
    size_t trial = 0;
    VectorRowMod8 baseline;  // the sensors' read right after a reset

    void PLASTICITY_RULE_KERNEL(
        std::array<SynapseArrayViewHandle, 1>& synapses, std::array<NeuronViewHandle, 1>& neurons)
    {{
        auto const& s = synapses[0];
        auto& out = neurons[0];
        if (s.hemisphere != ppu) {{
            return;
        }}
        size_t const input = trial % 2;
        auto const counts = out.get_rate_counters(true);
        int score = 0;
        for (size_t k = 0; k < out.columns.size(); ++k) {{
            score += (k == input ? ({hit}) : -({hit})) * static_cast<int>(counts[out.columns[k]]);
        }}
        float const rate = (score - mean_score[input]) * {learning_rate};
        mean_score[input] = 0.5 * mean_score[input] + 0.5 * score;
        if (trial == 0) {{
            reset_all_correlations();
            baseline = s.get_causal_correlation(0);
        }}
        if (trial >= 2) {{  // the first trial of each input only sets its mean
            VectorRowFracSat8 const base = (baseline >> 1).convert_contiguous();
            for (size_t j = 0; j < s.rows.size(); ++j) {{
                VectorRowFracSat8 const read = (s.get_causal_correlation(j) >> 1).convert_contiguous();
                VectorRowFracSat8 dw = (base - read) * static_cast<int8_t>(rate * 128);
                dw = vector_if(dw, VectorIfCondition::lesser, dw + 1, dw);  // towards zero, as the tutorial
                VectorRowFracSat8 w = static_cast<VectorRowFracSat8>(s.get_weights(j)) + dw;
                w = vector_if(w, VectorIfCondition::lesser, VectorRowFracSat8(0), w);
                w = vector_if(w - 63, VectorIfCondition::greater, VectorRowFracSat8(63), w);
                s.set_weights(static_cast<VectorRowMod8>(w), j);
            }}
        }}
        for (size_t j = 0; j < s.rows.size(); ++j) {{
            s.reset_correlation(j);
        }}
        ++trial;
    }}
    """)

TRIAL_US = 60.0
TRIALS = 160
W0 = 20
I_CONST = round(20.0 / I_CONST_NA_PER_LSB)  # 20 nA


def final_weights(ctx):
    h, r, c = ctx.synapses["in→out"]
    for i, w in enumerate(ctx.weights()[h, r, c]):
        ctx.record(f"w{i}", float(w))


def run_task(trials: int, learning_rate: float, seed: int = 2, hit: int = 1):
    # The outputs sit 27 mV below threshold (leak 588, threshold 703 mV, g_L 0.226 µS, a
    # constant 20 nA: ``I_CONST`` LSB) and fire on the noise; the weights' drift is the
    # average of a noisy score over the trials. 80 trials left the outcome to the noise
    # draw near the margin of ``assert_wins`` (2 of seeds 1–8 passed both tests); at
    # ``TRIALS`` = 160 seeds 1–16 pass both with 31 of 32 runs (winners beat losers by
    # 15–33, ``assert_wins`` asks for 6; seed 13's control leaves one weight within 2 of
    # W0), and with learning rate 0 both fail.
    # input i fires every 2 µs for 30 µs in its trials
    times = [[float(t) for k in range(i, trials, 2) for t in np.arange(k * TRIAL_US + 5.0, k * TRIAL_US + 35.0, 2.0)]
             for i in range(2)]
    exp = {"runtime_us": trials * TRIAL_US, "chip": {"ideal": True}, "seed": seed,
           "recordings": {"correlation": True},
           "populations": [{"name": "out", "size": 2, "params": {"i_const": I_CONST}}],
           "sources": [{"kind": "spike_array", "name": "in", "size": 2, "spike_times_us": times},
                       {"kind": "poisson", "name": "noise", "size": 2, "rate_khz": 150}],
           "projections": [{"pre": "in", "post": "out", "weight": W0, "connector": {"kind": "all_to_all"}},
                           {"pre": "noise", "post": "out", "weight": 40, "connector": {"kind": "one_to_one"}}]}
    kernel = CppKernel(R_STDP.format(learning_rate=learning_rate, hit=hit), "r_stdp", ["in→out"], ["out"])
    exp["plasticity"] = [
        {"name": "r_stdp", "kernel": kernel, "period_us": TRIAL_US, "start_us": TRIAL_US - 1.0},
        {"name": "probe", "kernel": f"{__name__}:final_weights", "period_us": trials * TRIAL_US,
         "start_us": trials * TRIAL_US - 0.5}]
    try:
        res = bss2emu.run(exp)
    finally:
        kernel.close()
    rec = res.to_pandas("ppu").set_index("key")["value"]
    # all_to_all connections are pre-major: (in0→out0, in0→out1, in1→out0, in1→out1)
    return np.array([rec[f"w{i}"] for i in range(4)]).reshape(2, 2), res


def assert_wins(winners, losers, w):
    """The winners grew, the losers shrank, and the least winner clearly beats the greatest loser."""
    assert (winners >= W0 + 2).all() and (losers <= W0 - 2).all(), w
    assert winners.min() - losers.max() >= 6, w


def test_reward_modulated_stdp_learns_the_diagonal():
    w, res = run_task(trials=TRIALS, learning_rate=0.2)
    assert res.spikes.num_rows > 2.5 * TRIALS  # the noise explores
    assert_wins(np.diag(w), w[[0, 1], [1, 0]], w)


def test_the_same_rule_rewarding_the_wrong_output_learns_the_other_diagonal():
    """The control: what the weights learn follows the reward, through the sensors' rows."""
    w, _ = run_task(trials=TRIALS, learning_rate=0.2, hit=-1)
    assert_wins(w[[0, 1], [1, 0]], np.diag(w), w)
