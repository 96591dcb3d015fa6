"""Measurements of the AdEx terms: exponential (Δ_T, V_T) and adaptation (a, b, τ_w).

Exponential term (``characterise_exponential``). Without input, a circuit with the
exponential term has a stable resting point iff ``E_L <= V_T - Δ_T`` (saddle-node); above
it, the membrane runs away and spikes. So

* a bisection over the leak (refined by a small constant current, below one leak step)
  finds the spike onset ``E* = V_T - Δ_T`` through spike events;
* below the onset, the resting point ``V`` lies above ``E_L`` by the exponential term,
  ``V - E_L = Δ_T·exp((V - V_T)/Δ_T)``. With the threshold at known values V below V_T,
  the same bisection finds the leak at which the resting point reaches V; a
  one-parameter fit of these pairs gives Δ_T, then ``V_T = E* + Δ_T``.

Adaptation (``characterise_adaptation``):

* τ_w: after one spike the adaptation current ``w = b`` decays with τ_w; a fast membrane
  shows ``E_L - w/g_L`` — fitted from CADC traces like τ_syn;
* b: without leak, four spikes in a row add ``b`` each; afterwards the membrane, reset to
  V_reset, integrates ``-w`` down by ``w·τ_w/C``;
* a: without leak, a constant current ``I`` settles where the adaptation current takes it
  all, ``V = E_L + I/a``.
"""

from __future__ import annotations

import numpy as np

from ..protocol import coordinates as C
from .bench import BENCH_DT_NS, N, Bench, cadc_mv
from .fit import bisect_dac, fit_decay, fit_lines
from .measure import (CADC_PERIOD_NS, FAST, NO_REFRACTORY, QUIET, clear_synaptic_inputs, leak_dither,
                      nominal_i_const_over_g_fast)
from .models import CAPACITANCE_HW, Characterisation, ideal_characterisation

# (v_exp, i_bias_exp) settings: two thresholds at one slope, and a second slope
EXP_SETTINGS = ((640, 150), (770, 150), (640, 500))
EXP_LEVELS = np.array([0.3, 0.6, 1.0, 1.5, 2.5])  # thresholds below V_T, in units of nominal Δ_T
EXP_WINDOW_US = 20.0
SETTLE_US = 2.0
TAU_W_PROBES = (430, 1000)  # i_bias_adapt_tau: τ_w ≈ 40, 17 µs
B_PROBES = (100, 240)  # b ≈ 2.9, 7 nA (chip_actor.analog.ADAPTATION_B_NA_PER_LSB)
A_PROBES = (8, 25)  # a/C ≈ 0.03, 0.09 /µs: the range of PyNN's AdEx cells (a/g_L ≲ 1)
B_SPIKES = 4
# leak while τ_w is measured: with capacitance 0, τ_m ≈ 0.3 µs and b/g_L ≈ 280 mV at full b
TAU_W_LEAK = 49


def _spiked(bench: Bench, window_us: float) -> np.ndarray:
    """Whether each circuit spikes in a window after a settling time: a membrane caught
    in a run-away by a parameter write spikes once, resets and then finds its rest."""
    bench.run(SETTLE_US)
    return bench.run(window_us).spike_counts() > 0


def _onset(bench: Bench, ch: Characterisation, r_mv: float, window_us: float) -> np.ndarray:
    """The effective leak potential (mV; leak DAC plus a constant current finer than one
    leak step) above which each circuit spikes."""
    def leak_probe(d):
        bench.write(v_leak=d, i_const=0)
        return _spiked(bench, window_us)

    d_on = np.clip(bisect_dac(leak_probe, lo=1), 1, C.DAC_MAX)
    step_mv = float(np.nanmedian(ch.predict("v_leak_mv", d_on) - ch.predict("v_leak_mv", d_on - 1)))  # the local step
    i_max = int(np.ceil(1.3 * step_mv / r_mv))
    bench.write(v_leak=d_on - 1)

    def current_probe(i):
        bench.write(i_const=i)
        return _spiked(bench, window_us)

    i_on = bisect_dac(current_probe, lo=0, hi=i_max)
    bench.write(i_const=0)
    return ch.predict("v_leak_mv", d_on - 1) + (i_on - 0.5) * r_mv


def measure_exponential(bench: Bench, ch: Characterisation, v_exp: int,
                        i_bias_exp: int) -> tuple[np.ndarray, np.ndarray]:
    """(V_T, Δ_T) in mV of every circuit at one setting of v_exp and i_bias_exp."""
    nominal = ideal_characterisation()
    delta_nom = float(nominal.predict("delta_t_mv", i_bias_exp)[0])
    r = nominal_i_const_over_g_fast()
    bench.write(**(QUIET | FAST | NO_REFRACTORY | dict(
        enable_exponential=1, enable_fire=1, v_exp=v_exp, i_bias_exp=i_bias_exp,
        v_reset=ch.dac_for("v_reset_mv", 100.0), v_threshold=ch.dac_for("v_threshold_mv", 1100.0))))
    e_star = _onset(bench, ch, r, EXP_WINDOW_US)  # saddle-node: V_T - Δ_T
    # with the threshold V below V_T, spiking starts once the resting point reaches V:
    # at E_L = V - Δ_T·exp((V - V_T)/Δ_T)
    e_l, v_th = [], []
    for z in EXP_LEVELS:
        d_t = ch.dac_for("v_threshold_mv", e_star + delta_nom * (1.0 - z))
        bench.write(v_threshold=d_t)
        e_l.append(_onset(bench, ch, r, EXP_WINDOW_US / 4))
        v_th.append(ch.predict("v_threshold_mv", d_t))
    delta = fit_delta_t(e_star, np.array(e_l), np.array(v_th))
    return e_star + delta, delta


def fit_delta_t(e_star: np.ndarray, e_l: np.ndarray, v_rest: np.ndarray) -> np.ndarray:
    """Δ_T per circuit from resting points ``v_rest`` at leak levels ``e_l`` [levels,
    circuits] and the onset ``e_star = V_T - Δ_T``: least squares of
    ``v_rest - e_l = Δ·exp((v_rest - e_star)/Δ - 1)`` over a fine grid of Δ.

    >>> d = np.array([12.0]); es = np.array([500.0]); v = np.array([[480.0], [470.0]])
    >>> el = v - d * np.exp((v - es) / d - 1)
    >>> round(float(fit_delta_t(es, el, v)[0]), 2)
    12.0
    """
    grid = np.exp(np.linspace(np.log(0.2), np.log(80.0), 4000))
    dev = v_rest - e_l  # [levels, circuits]
    u = v_rest - e_star[None, :]
    ok = np.isfinite(dev) & np.isfinite(u)
    best = np.full(e_star.shape, np.nan)
    best_err = np.full(e_star.shape, np.inf)
    for chunk in np.array_split(grid, 20):
        pred = chunk[:, None, None] * np.exp(np.minimum(u[None] / chunk[:, None, None] - 1.0, 50.0))
        err = np.where(ok[None], (pred - dev[None]) ** 2, 0.0).sum(axis=1)  # [grid, circuits]
        i = np.argmin(err, axis=0)
        e = err[i, np.arange(err.shape[1])]
        better = e < best_err
        best = np.where(better, chunk[i], best)
        best_err = np.where(better, e, best_err)
    return best


def characterise_exponential(bench: Bench, ch: Characterisation) -> None:
    """Transfer lines of v_exp (V_T) and i_bias_exp (Δ_T) into ``ch``."""
    res = [measure_exponential(bench, ch, v, e) for v, e in EXP_SETTINGS]
    bench.write(enable_exponential=0, i_const=0)
    (vt0, dt0), (vt1, dt1), (vt2, dt2) = res
    v_dacs = np.array([EXP_SETTINGS[0][0], EXP_SETTINGS[1][0], EXP_SETTINGS[2][0]], dtype=np.float64)
    ch.a["v_exp_mv"], ch.b["v_exp_mv"] = fit_lines(
        np.broadcast_to(v_dacs[:, None], (3, N)), np.array([vt0, vt1, vt2]))
    e_dacs = np.array([EXP_SETTINGS[0][1], EXP_SETTINGS[1][1], EXP_SETTINGS[2][1]], dtype=np.float64)
    ch.a["delta_t_mv"], ch.b["delta_t_mv"] = fit_lines(
        np.broadcast_to(e_dacs[:, None], (3, N)), np.array([dt0, dt1, dt2]))


def measure_tau_w(bench: Bench, ch: Characterisation, tau_bias: int, repeats: int = 4) -> np.ndarray:
    """τ_w (µs) at ``tau_bias``: the decay of the after-hyperpolarisation of a fast membrane."""
    tau_nom = float(1.0 / ideal_characterisation().a["tau_w_us"][0] / tau_bias) * 1.3
    v_leaks = leak_dither(ch, 900.0, repeats)
    low, high = ch.dac_for("v_threshold_mv", 800.0), C.DAC_MAX
    bench.write(**(QUIET | NO_REFRACTORY | dict(
        capacitance=0, i_bias_leak=TAU_W_LEAK, enable_adaptation=1, enable_fire=1, i_bias_adapt_b=C.DAC_MAX,
        i_bias_adapt_tau=tau_bias, v_reset=ch.dac_for("v_reset_mv", 620.0), v_threshold=high)))
    ts, ys = [], []
    step_us = BENCH_DT_NS / 1e3
    for k in range(repeats):
        bench.write(v_leak=v_leaks[k])  # dither the CADC quantisation (see measure_tau_syn)
        bench.run(10.0 * tau_nom + k * step_us)  # w decays; the spike moves against the CADC grid
        bench.write(v_threshold=low)
        bench.run(step_us)  # one spike, at the start of this step
        bench.write(v_threshold=high)
        rec = bench.run(8.0 * tau_nom, cadc_period_ns=CADC_PERIOD_NS)
        ys.append(cadc_mv(rec.cadc) - ch.predict("v_leak_mv", v_leaks[k])[None, :])
        ts.append(rec.cadc_t_us + step_us)  # time since the spike
    t, y = np.concatenate(ts), np.concatenate(ys)
    # after the membrane's own relaxation (τ_m ≈ 1 µs here) from the reset
    valid = (t[:, None] > 6.0) & (y < -8 * 1200.0 / 255)
    return fit_decay(t, y, valid)


def measure_b(bench: Bench, ch: Characterisation, b_bias: int, tau_bias: int, tau_w_us: np.ndarray) -> np.ndarray:
    """b/C (mV/µs) at ``b_bias``: ``B_SPIKES`` spikes without leak, then the membrane
    integrates the adaptation current from V_reset down."""
    v_reset = ch.dac_for("v_reset_mv", 1000.0)
    high = C.DAC_MAX
    clear_synaptic_inputs(bench)
    bench.write(**(QUIET | NO_REFRACTORY | dict(
        capacitance=CAPACITANCE_HW, i_bias_leak=C.DAC_MAX, v_leak=ch.dac_for("v_leak_mv", 1000.0),
        enable_adaptation=1, enable_fire=1, i_bias_adapt_b=b_bias, i_bias_adapt_tau=tau_bias, v_reset=v_reset,
        v_threshold=high)))
    bench.run(6.0 + 10.0 * float(np.nanmax(tau_w_us)))  # settle, and let w decay
    bench.write(i_bias_leak=0, v_threshold=ch.dac_for("v_threshold_mv", 200.0))
    t0 = bench.now_us
    rec = bench.run(B_SPIKES * BENCH_DT_NS / 1e3)
    bench.write(v_threshold=high)
    bench.run(14.0 * float(np.nanmax(tau_w_us)))
    v_end = cadc_mv(bench.codes())
    # w after the last spike, from the spikes' time stamps
    t_sp = rec.spike_t_us + t0
    last = np.full(N, -np.inf)
    np.maximum.at(last, rec.spike_circuit, t_sp)
    w_sum = np.zeros(N)
    np.add.at(w_sum, rec.spike_circuit, np.exp(-(last[rec.spike_circuit] - t_sp) / tau_w_us[rec.spike_circuit]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ch.predict("v_reset_mv", v_reset) - v_end) / (tau_w_us * np.where(w_sum > 0, w_sum, np.nan))


def measure_a(bench: Bench, ch: Characterisation, a_bias: int, repeats: int = 4) -> np.ndarray:
    """a/C (1/µs) at ``a_bias``: without leak, a constant current settles at E_L + I/a."""
    nominal_a = float(ideal_characterisation().predict("a_per_us", a_bias)[0])
    i_over_c = 200.0 * nominal_a  # ~200 mV above E_L (within the constant current's range at A_PROBES)
    d_i = ch.dac_for("i_const_mv_per_us", i_over_c)
    i_c = ch.predict("i_const_mv_per_us", d_i)
    v_leaks = leak_dither(ch, 300.0, repeats)
    # the membrane relaxes with about C/a (no leak): wait 12 of those, then 6 per repeat
    settle = 12.0 / nominal_a
    dev = []
    clear_synaptic_inputs(bench)
    bench.write(**(QUIET | dict(capacitance=CAPACITANCE_HW, i_bias_leak=0, enable_adaptation=1, i_bias_adapt_a=a_bias,
                                i_bias_adapt_tau=C.DAC_MAX, i_const=d_i)))
    for k in range(repeats):
        bench.write(v_leak=v_leaks[k])  # dither the CADC quantisation
        bench.run(settle if k == 0 else settle / 2)
        dev.append(cadc_mv(bench.codes()) - ch.predict("v_leak_mv", v_leaks[k]))
    return i_c / np.mean(dev, axis=0)


def characterise_adaptation(bench: Bench, ch: Characterisation) -> None:
    """Transfer models of i_bias_adapt_tau (τ_w), i_bias_adapt_b (b/C), i_bias_adapt_a (a/C)."""
    taus = [measure_tau_w(bench, ch, d) for d in TAU_W_PROBES]
    x = np.broadcast_to(np.array(TAU_W_PROBES, dtype=np.float64)[:, None], (len(TAU_W_PROBES), N))
    ch.a["tau_w_us"], ch.b["tau_w_us"] = fit_lines(x, 1.0 / np.array(taus))
    bs = [measure_b(bench, ch, d, TAU_W_PROBES[0], taus[0]) for d in B_PROBES]
    x = np.broadcast_to(np.array(B_PROBES, dtype=np.float64)[:, None], (len(B_PROBES), N))
    ch.a["b_mv_per_us"], ch.b["b_mv_per_us"] = fit_lines(x, np.array(bs))
    as_ = [measure_a(bench, ch, d) for d in A_PROBES]
    x = np.broadcast_to(np.array(A_PROBES, dtype=np.float64)[:, None], (len(A_PROBES), N))
    ch.a["a_per_us"], ch.b["a_per_us"] = fit_lines(x, np.array(as_))
    bench.write(enable_adaptation=0, i_const=0)
