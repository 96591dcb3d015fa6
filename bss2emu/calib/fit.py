"""Vectorised numerics of calibration: bisection over DAC values, per-circuit fits and the
two transfer models every analog parameter follows.

Every array here has one entry per circuit (last axis 512); all circuits are searched and
fitted at once.

Transfer models (``q`` the physical quantity, ``d`` the DAC value):

* ``LINEAR``: ``q = a·d + b`` — voltages (offset mismatch), currents and gains;
* ``RATE``:   ``q = 1 / (a·d + b)`` — time constants set by a bias current (τ = C/g with
  g linear in the bias).

>>> a, b = fit_lines(np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0], [5.0]]))
>>> float(a[0]), float(b[0])
(2.0, 1.0)
>>> int(invert(LINEAR, np.array([2.0]), np.array([1.0]), np.array([6.2]), 0, 1022)[0])
3
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..protocol import coordinates as C

LINEAR, RATE = "linear", "rate"


def bisect_dac(probe: Callable[[np.ndarray], np.ndarray], n: int = C.NEURONS_PER_CHIP,
               lo: int = 0, hi: int = C.DAC_MAX) -> np.ndarray:
    """Per circuit, the smallest DAC value in ``lo..hi`` for which ``probe`` is true.

    ``probe(dac)`` gets one DAC value per circuit and returns one bool per circuit; it must be
    monotone (false below the transition, true from it on). Circuits whose probe is never
    true get ``hi + 1``. All circuits are searched in parallel: ``ceil(log2(hi - lo + 2))``
    probes."""
    low = np.full(n, lo, dtype=np.int64)
    high = np.full(n, hi + 1, dtype=np.int64)  # hi + 1 stands for "never true"
    while (low < high).any():
        open_ = low < high
        mid = (low + high) // 2
        ok = np.asarray(probe(np.minimum(mid, hi)), dtype=bool)
        high = np.where(open_ & ok, mid, high)
        low = np.where(open_ & ~ok, mid + 1, low)
    return low


def fit_lines(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines ``y = a·x + b`` per column of ``x``, ``y`` (shape [points, circuits]);
    ``weight`` 0 drops a point. Circuits with fewer than two points get NaN."""
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    x = np.where(w > 0, x, 0.0)
    y = np.where(w > 0, y, 0.0)
    sw = w.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (w * x).sum(0) / sw
        my = (w * y).sum(0) / sw
        sxx = (w * (x - mx) ** 2).sum(0)
        sxy = (w * (x - mx) * (y - my)).sum(0)
        a = np.where((sw > 0) & (sxx > 0), sxy / sxx, np.nan)
    return a, my - a * mx


def fit_decay(t_us: np.ndarray, y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Time constant (µs) of ``y = A·exp(-t/τ)`` per circuit, from samples ``y`` [samples,
    circuits] at times ``t_us`` [samples]; ``valid`` marks the samples to use.

    A log-linear fit weighted by ``y²`` (a quantised sample's log has an error ∝ 1/y)."""
    yy = np.where(valid, np.abs(y), 1.0)
    tt = np.broadcast_to(np.asarray(t_us, dtype=np.float64)[:, None], yy.shape)
    slope, _ = fit_lines(tt, np.log(yy), np.where(valid, yy ** 2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(slope < 0, -1.0 / slope, np.nan)


def model_value(kind: str, a: np.ndarray, b: np.ndarray, dac) -> np.ndarray:
    """The quantity a transfer model predicts at ``dac``."""
    x = a * np.asarray(dac, dtype=np.float64) + b
    if kind == LINEAR:
        return x
    with np.errstate(divide="ignore"):
        return np.where(x > 0, 1.0 / np.where(x > 0, x, 1.0), np.inf)


def invert(kind: str, a: np.ndarray, b: np.ndarray, target: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The DAC value in ``lo..hi`` whose predicted quantity is nearest ``target`` (per circuit)."""
    target = np.asarray(target, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = target if kind == LINEAR else 1.0 / target
        exact = (x - b) / a
    exact = np.where(np.isfinite(exact), exact, lo)
    d0 = np.clip(np.floor(exact), lo, hi).astype(np.int64)
    d1 = np.clip(d0 + 1, lo, hi)
    e0 = np.abs(model_value(kind, a, b, d0) - target)
    e1 = np.abs(model_value(kind, a, b, d1) - target)
    return np.where(e1 < e0, d1, d0)
