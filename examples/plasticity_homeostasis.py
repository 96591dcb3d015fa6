"""Homeostatic plasticity (a Python port of the BrainScaleS-2 homeostasis tutorial's rule).

Neurons driven by Poisson input through plastic synapses; every ``period`` the PPU counts
each neuron's spikes since its last run and moves the weights onto it towards the target
count: ``Δw = clip(rint(eta · (target − count)), ±max_step)``. The rule is attached to the
projection (its synapse type) and to the population (``plasticity_rule=``: it records
every neuron's count as an observable). Rates start far apart (weights 0 and 63) and
converge to the target.

Run: ``python examples/plasticity_homeostasis.py`` (pynn.brainscales2's hardware ms).
"""

from __future__ import annotations

import numpy as np

import bss2emu.brainscales2 as pynn


class HomeostaticSynapse(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
    """Δw = clip(rint(eta · (target − spikes since the last run)), ±max_step) on every synapse."""

    def kernel(self, ctx):
        for view in ctx.projections:
            counts = ctx.spike_counts[view.post_circuit]
            dw = np.clip(np.rint(self.eta * (self.target - counts)), -self.max_step, self.max_step).astype(int)
            view.set_weights(np.clip(view.weights() + dw, 0, 63))
        ctx.record_observable("counts", [pop.spike_counts for pop in ctx.populations])


def run(n_neurons: int = 8, periods: int = 40, period_us: float = 20.0, target: int = 3, placement: str = "local",
        chips=None, seed: int = 1) -> dict:
    """Per neuron and period: the spikes the rule counted (``counts[period, neuron]``)."""
    pynn.setup(placement=placement, chips=chips, seed=seed)
    rule = HomeostaticSynapse(timer=pynn.Timer(start=period_us / 1e3, period=period_us / 1e3, num_periods=periods),
                              observables={"counts": pynn.PlasticityRule.ObservablePerNeuron()},
                              target=target, eta=1.0, max_step=4, weight=63)
    nrn = pynn.Population(n_neurons, pynn.cells.CalibHXNeuronCuba(
        v_rest=80, v_reset=70, v_thresh=100, tau_m=10, tau_syn_E=5, tau_refrac=2, plasticity_rule=rule))
    src = pynn.Population(32, pynn.cells.SpikeSourcePoisson(rate=2e5))  # 0.2 spikes/µs each
    # half the neurons start with every weight 63 (firing far too much), half with 0 (silent)
    w0 = np.where(np.arange(n_neurons) < n_neurons // 2, 63, 0)
    prj = pynn.Projection(src, nrn, pynn.AllToAllConnector(), synapse_type=rule)
    prj.set(weight=np.tile(w0, (32, 1)))
    pynn.run(periods * period_us / 1e3 + 1e-3)
    counts = np.array([s.data for s in nrn.get_plasticity_data("counts")])
    pynn.end()
    return {"counts": counts, "target": target, "w0": w0}


if __name__ == "__main__":
    res = run()
    c = res["counts"]
    print("spikes per period, first 3 periods:\n", c[:3].astype(int))
    print("mean of the last 10 periods per neuron:", np.round(c[-10:].mean(axis=0), 2), "target", res["target"])
