"""Weight imprinting by rate coding: an image written into the synapse array by the PPU.

A grey-scale image of ``rows × columns`` pixels is presented column by column: while column
``j`` is shown, input ``i`` fires as a Poisson train with a rate proportional to pixel
``(i, j)`` and a teacher makes output neuron ``j`` fire regularly. Every period the rule
reads the causal correlation sensors (pre before post, with reset) and adds
``rint(eta · causal)`` to the weights — a Hebbian rule whose increments grow with the input
rate, so after all columns the plastic weights ``w[i, j]`` are the image.

Run: ``python examples/plasticity_imprinting.py`` (pynn.brainscales2's hardware ms).
"""

from __future__ import annotations

import numpy as np

import bss2emu.brainscales2 as pynn

IMAGE = np.array([  # a 6 × 6 grey-scale ring, values 0..1
    [0.0, 0.2, 0.6, 0.6, 0.2, 0.0],
    [0.2, 1.0, 0.6, 0.6, 1.0, 0.2],
    [0.6, 0.6, 0.0, 0.0, 0.6, 0.6],
    [0.6, 0.6, 0.0, 0.0, 0.6, 0.6],
    [0.2, 1.0, 0.6, 0.6, 1.0, 0.2],
    [0.0, 0.2, 0.6, 0.6, 0.2, 0.0],
])
TEACHERS = 8  # teacher synapses per output neuron


class Imprint(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
    """w += rint(eta · causal), clipped to 0..63."""

    def kernel(self, ctx):
        for view in ctx.projections:
            causal, _ = view.correlation(reset=True)
            view.set_weights(np.clip(view.weights() + np.rint(self.eta * causal).astype(int), 0, 63))
            ctx.record_observable("weight", [np.clip(view.weights() + np.rint(self.eta * causal), 0, 63)])


def run(image: np.ndarray = IMAGE, column_us: float = 150.0, max_rate_per_us: float = 0.15, eta: float = 0.06,
        period_us: float = 10.0, seed: int = 2, placement: str = "local", chips=None) -> dict:
    """The final weights ``[row, column]`` of the plastic synapses and the image."""
    rows, cols = image.shape
    rng = np.random.default_rng(seed)
    pynn.setup(placement=placement, chips=chips, seed=seed)
    trains = []
    for i in range(rows):  # rate-coded input: in column j's slot, rate ∝ pixel (i, j)
        t = []
        for j in range(cols):
            n = rng.poisson(image[i, j] * max_rate_per_us * column_us)
            t.append(np.sort(j * column_us + rng.uniform(0, column_us, n)))
        trains.append(np.concatenate(t) / 1e3 + 1e-3)
    teach = [np.arange(j * column_us + 2.0, (j + 1) * column_us, 4.0) / 1e3 + 1e-3 for j in range(cols)]
    pre = pynn.Population(rows, pynn.cells.SpikeSourceArray(spike_times=trains))
    teacher = pynn.Population(cols * TEACHERS, pynn.cells.SpikeSourceArray(
        spike_times=[teach[k // TEACHERS] for k in range(cols * TEACHERS)]))
    post = pynn.Population(cols, pynn.cells.CalibHXNeuronCuba(v_rest=80, v_reset=70, v_thresh=90, tau_m=10,
                                                              tau_syn_E=3, tau_refrac=2, i_synin_gm_E=136))
    total = cols * column_us
    rule = Imprint(timer=pynn.Timer(start=period_us / 1e3, period=period_us / 1e3,
                                    num_periods=int(total // period_us)),
                   observables={"weight": pynn.PlasticityRule.ObservablePerSynapse()}, eta=eta, weight=0)
    plastic = pynn.Projection(pre, post, pynn.AllToAllConnector(), synapse_type=rule)
    pynn.Projection(teacher, post, pynn.FromListConnector([(k, k // TEACHERS) for k in range(cols * TEACHERS)]),
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=63))
    pynn.run(total / 1e3 + 2e-3)
    final = plastic.get_data("weight")[0][-1].data
    pre_ix, post_ix = np.array(plastic.get(["weight"], format="list", with_address=True))[:, :2].T.astype(int)
    weights = np.zeros((rows, cols))
    weights[pre_ix, post_ix] = final
    pynn.end()
    return {"weights": weights, "image": image}


if __name__ == "__main__":
    res = run()
    print("imprinted weights:\n", res["weights"].astype(int))
    print("correlation with the image:", round(float(np.corrcoef(res["weights"].ravel(), res["image"].ravel())[0, 1]), 3))
