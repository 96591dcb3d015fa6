"""Pair-based STDP from the correlation sensors, as a PPU rule in a pynn.brainscales2 script.

Each of ``len(delta_t_us)`` neurons gets a plastic synapse from its own "pre" source and a
strong "teacher" input that makes it fire ``delta_t`` after the pre spike (before it, for
negative ``delta_t``); the pair repeats every ``pair_period_us``. After every pair the rule
reads the synapse's causal (pre before post) and acausal (post before pre) sensors, resets
them and changes the weight by ``rint(eta * (causal - acausal))`` (8-bit codes → 6-bit
weight). The sensors accumulate ``exp(-|Δt|/τ_corr)`` per nearest pre/post pair, read as
``rint(sum / corr_lsb)``, so the weight change follows the exponential STDP window.

Run: ``python examples/plasticity_stdp.py`` (hardware ms, as pynn.brainscales2).
"""

from __future__ import annotations

import numpy as np

import bss2emu.brainscales2 as pynn
from bss2emu.protocol.hardware import ReadoutConfig

TAU_CORR_US = ReadoutConfig().tau_corr_us  # the sensors' time constant (µs hardware)
CORR_LSB = ReadoutConfig().corr_lsb  # sensor units per 8-bit code
TEACHERS = 8  # teacher synapses per neuron: together they make it fire once
LATENCY_US = 1.3  # from the teacher's spike to the post spike, about


class PairSTDP(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
    """Δw = rint(eta · (causal − acausal)), weights clipped to 0…63."""

    def kernel(self, ctx):
        for view in ctx.projections:
            causal, acausal = view.correlation(reset=True)
            dw = np.rint(self.eta * (causal.astype(float) - acausal.astype(float))).astype(int)
            ctx.record_observable("causal", [causal])
            ctx.record_observable("acausal", [acausal])
            new = np.clip(view.weights() + dw, 0, 63)
            view.set_weights(new)  # takes effect as the kernel returns
            ctx.record_observable("weight", [new])


def run(delta_t_us=(-12.0, -8.0, -4.0, -2.0, 2.0, 4.0, 8.0, 12.0), n_pairs: int = 6, pair_period_us: float = 60.0,
        eta: float = 0.25, w0: int = 32, placement: str = "local", chips=None) -> dict:
    """Run the experiment; per neuron: the pre arrival times and post spike times (µs), the
    sensor codes and weights the rule recorded after each pair, the final weight."""
    pynn.setup(placement=placement, chips=chips)
    n = len(delta_t_us)
    first_us = 20.0
    pre_us = [first_us + pair_period_us * k for k in range(n_pairs)]
    # the teacher fires LATENCY_US early: the post neuron needs about that long to reach threshold
    teacher_us = [[t + dt - LATENCY_US for t in pre_us] for dt in delta_t_us]
    pre = pynn.Population(n, pynn.cells.SpikeSourceArray(spike_times=[np.array(pre_us) / 1e3] * n))
    teacher = pynn.Population(n * TEACHERS, pynn.cells.SpikeSourceArray(
        spike_times=[np.array(t) / 1e3 for t in teacher_us for _ in range(TEACHERS)]))
    post = pynn.Population(n, pynn.cells.CalibHXNeuronCuba(v_rest=80, v_reset=70, v_thresh=90, tau_m=10,
                                                           tau_syn_E=3, tau_refrac=4, i_synin_gm_E=136))
    post.record("spikes")
    timer = pynn.Timer(start=(first_us + pair_period_us / 2) / 1e3, period=pair_period_us / 1e3,
                       num_periods=n_pairs)
    observables = {k: pynn.PlasticityRule.ObservablePerSynapse() for k in ("causal", "acausal", "weight")}
    stdp = PairSTDP(timer=timer, observables=observables, eta=eta, weight=w0)
    plastic = pynn.Projection(pre, post, pynn.OneToOneConnector(), synapse_type=stdp)
    pynn.Projection(teacher, post, pynn.FromListConnector([(i, i // TEACHERS) for i in range(n * TEACHERS)]),
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=63))
    pynn.run(first_us / 1e3 + n_pairs * pair_period_us / 1e3)
    delay_us = pynn.get_min_delay() * 1e3  # a source's spikes reach the synapses after the delay
    out = {
        "pre_us": [np.array(pre_us) + delay_us] * n,
        "post_us": [np.asarray(s.magnitude) * 1e3 for s in post.get_data().segments[-1].spiketrains],
        "causal": np.array([s.data for s in plastic.get_data("causal")[0]]),
        "acausal": np.array([s.data for s in plastic.get_data("acausal")[0]]),
        "weight": np.array([s.data for s in plastic.get_data("weight")[0]]),
        "kernel_us": np.array([s.time * 1e3 for s in plastic.get_data("weight")[0]]),
        "w0": w0, "eta": eta, "delta_t_us": np.asarray(delta_t_us),
    }
    pynn.end()
    return out


def sensor_codes(pre_us: np.ndarray, post_us: np.ndarray, reads_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The correlation-sensor model, analytically: each post spike adds exp(-(t_post -
    t_last_pre)/τ) to the causal sensor, each pre arrival exp(-(t_pre - t_last_post)/τ) to the
    acausal one; at each read (``reads_us``) the sums are digitised (rint(sum/lsb), ≤ 255)
    and reset."""
    events = sorted([(t, 0) for t in pre_us] + [(t, 1) for t in post_us])
    causal, acausal = np.zeros(len(reads_us)), np.zeros(len(reads_us))
    last_pre = last_post = None
    for t, kind in events:
        k = int(np.searchsorted(reads_us, t, side="right"))  # read k comes after this event
        if k >= len(reads_us):
            continue
        if kind == 1:
            if last_pre is not None:
                causal[k] += np.exp(-(t - last_pre) / TAU_CORR_US)
            last_post = t
        else:
            if last_post is not None:
                acausal[k] += np.exp(-(t - last_post) / TAU_CORR_US)
            last_pre = t
    code = (lambda x: np.clip(np.rint(x / CORR_LSB), 0, 255))
    return code(causal), code(acausal)


if __name__ == "__main__":
    res = run()
    for i, dt in enumerate(res["delta_t_us"]):
        print(f"Δt = {dt:+5.1f} µs: weight {res['w0']} → {int(res['weight'][-1, i])}")
