"""The shipped plasticity rules (``examples/plasticity_*.py``) do what they claim.

(The STDP rule is checked against the correlation-sensor model in ``test_plasticity.py``.)"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))


def test_homeostasis_brings_every_neuron_to_the_target_count():
    import plasticity_homeostasis as ex

    res = ex.run(periods=30)
    counts, target = res["counts"], res["target"]
    # the neurons start far from the target: weights 63 fire ≥ 2 spikes too many, weights 0 none
    assert (counts[0][res["w0"] == 63] >= target + 2).all() and (counts[0][res["w0"] == 0] == 0).all()
    # at the end the mean over 10 periods is within 1 spike of the target: the weights dither by one
    # rule step around the fixed point and the input is Poisson (≈ sqrt(3/10) ≈ 0.55 spikes standard
    # error of a 10-period mean of a count of 3), so 1 spike is about 2 standard errors
    late = counts[-10:].mean(axis=0)
    assert np.abs(late - target).max() <= 1.0, late


def test_reward_modulated_stdp_learns_the_better_arm_of_a_bandit():
    import plasticity_reward_bandit as ex

    res = ex.run(trials=80)
    late = res["choice"][40:] == res["better"]
    # chance is 0.5; a chooser at chance exceeds 0.75 in 40 trials with probability ≈ 0.1 %
    assert late.mean() >= 0.75, late.mean()
    assert res["reward"][40:].mean() > res["reward"][:40].mean() - 0.05


def test_rate_coded_imprinting_writes_the_image_into_the_weights():
    import plasticity_imprinting as ex

    res = ex.run()
    w, img = res["weights"], res["image"]
    # Poisson input: each pixel's increments are a sum of ≈ 10–20 random terms, so the weights
    # follow the image up to a noise of about 20 %: a Pearson correlation ≥ 0.8
    assert np.corrcoef(w.ravel(), img.ravel())[0, 1] >= 0.8
    assert w[img == 0].mean() < 0.25 * w[img == 1.0].mean()
    assert (w < 63).all(), "no weight saturated: the image's contrast survives"
