"""Reward-modulated STDP in a closed loop: a two-armed bandit learned on the PPU.

Two output neurons ("arms") receive the same Poisson input through plastic synapses. Each
trial (one period of the rule) the PPU reads the spikes of the trial: the arm that fired
more is chosen (a tie: a coin flip), the environment — inside the rule, as a closed-loop
task runs on the PPU — pays reward 1 with the chosen arm's probability (``p_reward``), and
the chosen arm's synapses change by the reward-modulated STDP rule

    Δw = rint(eta · (r − r̄) · (causal − a_minus · acausal)),   r̄ ← r̄ + (r − r̄)/8

with the eligibility (an STDP window with depression ``a_minus`` = 0.5 of potentiation:
at these rates the acausal sensor collects about as much as the causal one, and a balanced
window would make the eligibility noise) read from the correlation sensors (and reset),
and r̄ a running mean of the reward. An arm that pays more than the mean is strengthened, one
that pays less weakened: the network learns to choose the better arm.

Run: ``python examples/plasticity_reward_bandit.py`` (pynn.brainscales2's hardware ms).
"""

from __future__ import annotations

import numpy as np

import bss2emu.brainscales2 as pynn


class RewardSTDP(pynn.PlasticityRule, pynn.standardmodels.synapses.StaticSynapse):
    """R-STDP with the bandit's environment; records the choice and reward of every trial."""

    def kernel(self, ctx):
        if not hasattr(self, "rng"):  # state kept by this chip's copy of the rule
            self.rng, self.mean_reward = np.random.default_rng(self.seed), 0.5
        (view,), (arms,) = ctx.projections, ctx.populations
        per_arm = np.zeros(2, int)
        per_arm[arms.indices] = arms.spike_counts  # spikes of each arm in the trial
        arm_of = np.zeros(512, int)
        arm_of[arms.circuits] = arms.indices
        arm_of = arm_of[view.post_circuit]  # the arm of each synapse
        choice = int(self.rng.integers(2)) if per_arm[0] == per_arm[1] else int(np.argmax(per_arm))
        reward = float(self.rng.random() < self.p_reward[choice])
        causal, acausal = view.correlation(reset=True)
        elig = causal.astype(float) - self.a_minus * acausal.astype(float)
        dw = np.rint(self.eta * (reward - self.mean_reward) * elig).astype(int) * (arm_of == choice)
        view.set_weights(np.clip(view.weights() + dw, 0, 63))
        self.mean_reward += (reward - self.mean_reward) / 8
        ctx.record_observable("trial", [choice, reward, *per_arm])


def run(trials: int = 80, trial_us: float = 20.0, p_reward=(0.2, 0.8), eta: float = 0.5, seed: int = 5,
        placement: str = "local", chips=None) -> dict:
    """Per trial: the chosen arm, the reward and both arms' spike counts."""
    pynn.setup(placement=placement, chips=chips, seed=seed)
    rule = RewardSTDP(timer=pynn.Timer(start=trial_us / 1e3, period=trial_us / 1e3, num_periods=trials),
                      observables={"trial": pynn.PlasticityRule.ObservableArray(size=4)},
                      p_reward=tuple(p_reward), eta=eta, a_minus=0.5, seed=seed, weight=32)
    src = pynn.Population(16, pynn.cells.SpikeSourcePoisson(rate=1e5))
    arms = pynn.Population(2, pynn.cells.CalibHXNeuronCuba(v_rest=80, v_reset=70, v_thresh=100, tau_m=10,
                                                           tau_syn_E=5, tau_refrac=2, plasticity_rule=rule))
    pynn.Projection(src, arms, pynn.AllToAllConnector(), synapse_type=rule)
    pynn.run(trials * trial_us / 1e3 + 1e-3)
    log = np.array([s.data for s in rule.get_observable_array("trial")[0]])  # the snippet's samples
    pynn.end()
    return {"choice": log[:, 0].astype(int), "reward": log[:, 1], "counts": log[:, 2:].astype(int),
            "better": int(np.argmax(p_reward))}


if __name__ == "__main__":
    res = run()
    half = len(res["choice"]) // 2
    print(f"better arm chosen in the first half: {np.mean(res['choice'][:half] == res['better']):.2f}, "
          f"in the second: {np.mean(res['choice'][half:] == res['better']):.2f}; mean reward "
          f"{res['reward'][:half].mean():.2f} → {res['reward'][half:].mean():.2f}")
