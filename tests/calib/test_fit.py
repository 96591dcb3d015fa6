"""The numerics: vectorised bisection, line fits, model inversion, digital refractory times,
Δ_T fits — against brute force and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from bss2emu.calib import refractory_setting
from bss2emu.calib.fit import LINEAR, RATE, bisect_dac, fit_decay, fit_lines, invert, model_value
from bss2emu.calib.measure_adex import fit_delta_t


def test_bisection_finds_every_transition_in_parallel(rng):
    edge = rng.integers(0, 1024, 512)  # 1023: never true
    calls = []

    def probe(d):
        calls.append(d.copy())
        assert d.min() >= 0 and d.max() <= 1022
        return d >= edge

    got = bisect_dac(probe)
    np.testing.assert_array_equal(got, np.minimum(edge, 1023))
    assert len(calls) <= 11


def test_line_fit_and_decay_fit(rng):
    x = np.linspace(0, 100, 20)[:, None] * np.ones((1, 5))
    a, b = rng.uniform(0.5, 2, 5), rng.uniform(-10, 10, 5)
    fa, fb = fit_lines(x, a * x + b)
    np.testing.assert_allclose(fa, a)
    np.testing.assert_allclose(fb, b, atol=1e-9)
    t = np.linspace(0, 20, 40)
    tau = rng.uniform(2, 10, 5)
    y = 300 * np.exp(-t[:, None] / tau)
    np.testing.assert_allclose(fit_decay(t, y, y > 1), tau, rtol=1e-9)


@pytest.mark.parametrize("kind", [LINEAR, RATE])
def test_inversion_picks_the_nearest_dac(kind, rng):
    a, b = rng.uniform(0.001, 0.01, 100), rng.uniform(0.0, 0.01, 100)
    target = model_value(kind, a, b, rng.uniform(5, 1000, 100))
    d = invert(kind, a, b, target, 1, 1022)
    all_d = np.arange(1, 1023)[:, None]
    best = np.argmin(np.abs(model_value(kind, a, b, all_d) - target), axis=0) + 1
    np.testing.assert_array_equal(d, best)


def test_refractory_settings_are_exact_where_possible():
    count, clock, achieved = refractory_setting([0.0, 0.004, 1.02, 2.0, 32.64, 130.56, 500.0])
    np.testing.assert_allclose(achieved, count * 0.004 * 2.0 ** clock)
    assert achieved[:6].tolist() == [0.0, 0.004, 1.02, 2.0, 32.64, 130.56]
    assert (count.max(), clock.max()) == (255, 7) and achieved[-1] == 130.56  # the longest there is
    assert clock[1] == 0 and clock[2] == 0  # the finest clock when it reaches


def test_delta_t_fit_recovers_the_slope(rng):
    delta = rng.uniform(5, 30, 50)
    v_t = rng.uniform(600, 800, 50)
    e_star = v_t - delta
    v = v_t[None, :] - delta[None, :] * np.array([0.3, 0.6, 1.0, 1.5, 2.5])[:, None]
    e_l = v - delta * np.exp((v - v_t) / delta)
    np.testing.assert_allclose(fit_delta_t(e_star, e_l, v), delta, rtol=3e-3)
