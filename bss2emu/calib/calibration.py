"""Calibrating a chip, like BSS-2's calix but on the emulated chip: measure, never read back.

Two stages:

1. ``characterise`` measures every circuit's transfer model (``models.QUANTITIES``) at a
   few probe settings, all 512 circuits at once (``measure``). The order matters, each
   stage uses the ones before as its reference::

       leak line (against the CADC) → reset line → threshold line (comparator against the
       parked leak) → reversal potentials → τ_m (spike timing, needs leak/reset/threshold)
       → τ_syn (decay on the membrane, needs leak) → synaptic gains (integrated charge,
       needs leak, τ_syn) → constant current → exponential term → adaptation

   The result depends only on the chip, so it is stored once per serial.

2. ``calibrate`` inverts the models for the targets (nearest DAC value per circuit), then
   measures τ_m, τ_syn and the synaptic gains again at the chosen values and steps towards
   the target while that brings a circuit closer: what a circuit achieves is what was
   measured at its final setting. Voltages are reported from their measured transfer
   lines (the CADC cannot resolve them better than the lines do), the other quantities
   from their measured models; refractory times are digital and exact.

An ideal chip (``ideal=True``) has no mismatch: its transfer models are the nominal maps
(``models.ideal_characterisation``) and nothing needs measuring.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETERS
from . import measure as M
from . import measure_adex as MA
from .bench import Bench
from .fit import fit_lines
from .models import CAPACITANCE_HW, QUANTITY, Characterisation, ideal_characterisation
from .result import CalibrationResult, CalibrationStore
from .targets import REFERENCE_WEIGHT, CalibrationTargets, psp_shape_us

N = C.NEURONS_PER_CHIP
TAU_M_PROBES = (52, 209, 836)  # i_bias_leak: τ_m ≈ 20, 5, 1.3 µs
TAU_SYN_PROBES = (20, 60, 150)  # i_bias_syn_*_tau: τ_syn ≈ 15, 5, 2 µs
GAIN_TAU_BIAS = 60  # the synaptic time constant bias while gains are characterised
GM_PROBES = (200, 800)
I_CONST_PROBES = (200, 800)
REFRACTORY_TICK_US = 0.004  # the 250 MHz neuron clock
REFINE_STEPS = 4  # DAC steps the final measurements may move a circuit from the models' choice

Log = Callable[[str], None]
StoreArg = CalibrationStore | bool | None


def _no_log(msg: str) -> None:
    pass


def _resolve_store(store: StoreArg) -> CalibrationStore | None:
    if store is True:
        return CalibrationStore()
    return store or None


def _fit_model(kind_rate: bool, dacs, values) -> tuple[np.ndarray, np.ndarray]:
    """Transfer model (a, b) through measurements ``values`` [probes, circuits] at ``dacs``."""
    y = np.asarray(values, dtype=np.float64)
    x = np.broadcast_to(np.asarray(dacs, dtype=np.float64)[:, None], y.shape)
    if kind_rate:
        y = 1.0 / y
    ok = np.isfinite(y)
    return fit_lines(x, np.where(ok, y, 0.0), ok.astype(np.float64))


def characterise(serial: int, ideal: bool = False, store: StoreArg = True, force: bool = False,
                 log: Log | None = None) -> Characterisation:
    """The transfer models of every circuit of chip ``serial``, measured (or from the store)."""
    if ideal:
        return ideal_characterisation(serial)
    log = log or _no_log
    store = _resolve_store(store)
    if store is not None and not force:
        cached = store.load_characterisation(serial, ideal)
        if cached is not None and all(cached.has(q) for q in QUANTITY):
            log(f"chip {serial}: characterisation from {store.characterisation_path(serial, ideal)}")
            return cached
    t0 = time.perf_counter()
    bench = Bench(serial, ideal=False)
    ch = Characterisation(int(serial), False)

    def stage(name: str, fn) -> None:
        t = time.perf_counter()
        fn()
        log(f"chip {serial}: {name} ({time.perf_counter() - t:.2f} s)")

    def set_model(q, ab):
        ch.a[q], ch.b[q] = ab

    stage("leak line", lambda: set_model("v_leak_mv", M.measure_leak_line(bench)))
    stage("reset line", lambda: set_model("v_reset_mv", M.measure_reset_line(bench)))
    stage("threshold line", lambda: set_model("v_threshold_mv", M.measure_threshold_line(bench, ch)))
    for w in ("exc", "inh"):
        stage(f"e_rev_{w} line", lambda w=w: set_model(f"e_rev_{w}_mv", M.measure_reversal_line(bench, w)))

    def tau_m():
        taus = [M.measure_tau_m(bench, ch, d) for d in TAU_M_PROBES]
        set_model("tau_m_us", _fit_model(True, TAU_M_PROBES, taus))

    stage("tau_m", tau_m)
    tau_at_gain_bias = {}

    def tau_syn(w):
        nominal = [float(ideal_characterisation().predict(f"tau_syn_{w}_us", d)[0]) for d in TAU_SYN_PROBES]
        taus = [M.measure_tau_syn(bench, ch, w, d, 10.0 * 1.3 * t) for d, t in zip(TAU_SYN_PROBES, nominal)]
        set_model(f"tau_syn_{w}_us", _fit_model(True, TAU_SYN_PROBES, taus))
        tau_at_gain_bias[w] = taus[TAU_SYN_PROBES.index(GAIN_TAU_BIAS)]

    def gains(w):
        tau = tau_at_gain_bias[w]
        for q, coba in ((f"syn_{w}_mv_per_us", False), (f"coba_{w}_per_us", True)):
            s = [M.measure_slope(bench, ch, w, g, GAIN_TAU_BIAS, tau, coba=coba) for g in GM_PROBES]
            set_model(q, _fit_model(False, GM_PROBES, s))

    for w in ("exc", "inh"):
        stage(f"tau_syn_{w}", lambda w=w: tau_syn(w))
        stage(f"gain_{w}", lambda w=w: gains(w))
    stage("i_const", lambda: set_model("i_const_mv_per_us", _fit_model(
        False, I_CONST_PROBES, [M.measure_i_const_slope(bench, ch, d) for d in I_CONST_PROBES])))
    stage("exponential term", lambda: MA.characterise_exponential(bench, ch))
    stage("adaptation", lambda: MA.characterise_adaptation(bench, ch))
    nominal = ideal_characterisation(serial)
    for q in list(ch.a):
        bad = ~(np.isfinite(ch.a[q]) & np.isfinite(ch.b[q]))
        if bad.any():  # a circuit whose measurement failed keeps the nominal map (and says so)
            ch.a[q], ch.b[q] = np.where(bad, nominal.a[q], ch.a[q]), np.where(bad, nominal.b[q], ch.b[q])
            log(f"chip {serial}: {q} could not be measured on circuits {np.flatnonzero(bad)[:8].tolist()}"
                f"{' …' if bad.sum() > 8 else ''}: they keep the nominal map")
    log(f"chip {serial}: characterised in {time.perf_counter() - t0:.1f} s")
    if store is not None:
        path = store.save_characterisation(ch)
        log(f"chip {serial}: characterisation stored in {path}")
    return ch


def refractory_setting(tau_ref_us) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digital refractory setting nearest to ``tau_ref_us``: (count, clock, achieved µs),
    with τ_ref = count · 2**clock · 4 ns; among equally close settings the finest clock.

    >>> count, clock, t = refractory_setting([2.0, 0.1, 100.0])
    >>> count.tolist(), clock.tolist(), t.tolist()
    ([250, 25, 195], [1, 0, 7], [2.0, 0.1, 99.84])
    """
    tau = np.atleast_1d(np.asarray(tau_ref_us, dtype=np.float64))
    clocks = np.arange(C.REFRACTORY_CLOCK_MAX + 1)
    unit = REFRACTORY_TICK_US * 2.0 ** clocks[:, None]
    counts = np.clip(np.rint(tau[None, :] / unit), 0, C.REFRACTORY_COUNT_MAX)
    err = np.abs(counts * unit - tau[None, :])
    best = np.argmin(np.round(err, 9), axis=0)  # first (finest) clock among the best
    count = counts[best, np.arange(len(tau))].astype(np.int64)
    clock = clocks[best].astype(np.int64)
    return count, clock, np.round(count * REFRACTORY_TICK_US * 2.0 ** clock, 9)


def _refine(measure: Callable[[np.ndarray], np.ndarray], rising: np.ndarray, dac: np.ndarray,
            target: np.ndarray, lo: int, max_steps: int = REFINE_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Measure at ``dac``, then step towards ``target`` (``rising``: the quantity grows with
    the DAC value) while the measurement gets closer, at most ``max_steps`` steps; every
    step measures all circuits at once. Returns (best DAC value, its measured value)."""
    best_d, best_m = dac, measure(dac)
    step = np.where((target > best_m) == rising, 1, -1)
    active = np.ones(len(dac), dtype=bool)
    for _ in range(max_steps):
        d1 = np.where(active, np.clip(best_d + step, lo, C.DAC_MAX), best_d)
        active &= d1 != best_d
        if not active.any():
            break
        m1 = measure(d1)
        better = active & (np.abs(m1 - target) < np.abs(best_m - target))
        best_d, best_m = np.where(better, d1, best_d), np.where(better, m1, best_m)
        active = better
    return best_d, best_m


def _rising(ch: Characterisation, quantity: str, dac: np.ndarray) -> np.ndarray:
    return ch.predict(quantity, np.minimum(dac + 1, C.DAC_MAX)) >= ch.predict(quantity, np.maximum(dac - 1, 0))


def calibrate(targets: CalibrationTargets | None = None, serial: int = 0, ideal: bool = False,
              store: StoreArg = True, force: bool = False, refine: bool = True,
              log: Log | None = None) -> CalibrationResult:
    """Calibrate every circuit of chip ``serial`` to ``targets`` (default targets if None).

    A stored result for the same chip and targets is returned without measuring, unless
    ``force``; ``store=False`` neither reads nor writes the store. ``refine=False`` skips
    the final measurements (the models alone choose the DAC values)."""
    targets = targets if targets is not None else CalibrationTargets()
    log = log or _no_log
    st = _resolve_store(store)
    if st is not None and not force:
        hit = st.load(serial, ideal, targets)
        if hit is not None:
            log(f"chip {'ideal' if ideal else serial}: calibration from {st.result_path(serial, ideal, targets)}")
            return hit
    t0 = time.perf_counter()
    full = at_full_capacitance(targets)  # validated before anything is measured
    ch = characterise(serial, ideal, st, force, log)
    bench = None if ideal or not refine else Bench(serial, ideal=False)
    result = _at_capacitance(_choose(ch, full, bench, log), targets)
    result.meta = {"wall_s": time.perf_counter() - t0, "refined": bench is not None,
                   "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if st is not None:
        path = st.save(result)
        log(f"chip {'ideal' if ideal else serial}: calibration stored in {path}")
    return result


def _capacitance_ratio(targets: CalibrationTargets) -> np.ndarray:
    """Each circuit's capacitance relative to the largest, (setting + 1)/64 (exact: the
    mismatch of a circuit's capacitance is one factor for all settings)."""
    return (np.rint(targets["capacitance"]) + 1.0) / (CAPACITANCE_HW + 1.0)


def at_full_capacitance(targets: CalibrationTargets) -> CalibrationTargets:
    """The targets at capacitance 63 that reach ``targets`` at their capacitance: τ_m
    becomes τ_m/r and the synaptic slopes r times smaller (r = (setting+1)/64); voltages,
    τ_syn, τ_w and the deflections i_offset, a/g_L, b/g_L do not depend on it."""
    r = _capacitance_ratio(targets)
    if (r == 1.0).all():
        return targets
    tau = targets["tau_m_us"] / r
    if (tau > 60.0).any():
        i = int(np.flatnonzero(tau > 60.0)[0])
        raise ConfigError(f"calibration target tau_m_us={targets['tau_m_us'][i]:g} at capacitance "
                          f"{targets['capacitance'][i]:g} (circuit {i}) needs a leak conductance below the calibrated "
                          f"range (tau_m at most {60.0 * r[i]:.3g} us at this capacitance): use a larger capacitance")
    psp = {}
    for w in ("exc", "inh"):
        tau_syn = targets[f"tau_syn_{w}_us"]
        psp[f"psp_{w}_mv"] = (targets[f"psp_{w}_mv"] * r * psp_shape_us(tau, tau_syn)
                              / psp_shape_us(targets["tau_m_us"], tau_syn))
    return targets.replace(tau_m_us=tau, capacitance=CAPACITANCE_HW, **psp)


def _at_capacitance(result: CalibrationResult, targets: CalibrationTargets) -> CalibrationResult:
    """A result for the full-capacitance targets, told at the targets' capacitance."""
    r = _capacitance_ratio(targets)
    if (r == 1.0).all():
        return result
    result.dac["capacitance"] = np.rint(targets["capacitance"]).astype(np.int64)
    result.achieved["tau_m_us"] = result.achieved["tau_m_us"] * r
    for name in ("syn_exc_mv_per_us", "syn_inh_mv_per_us", "coba_exc_per_us", "coba_inh_per_us",
                 "i_const_mv_per_us", "i_const_offset_mv_per_us"):
        result.gains[name] = result.gains[name] / r
    for w in ("exc", "inh"):
        coba = result.dac[f"coba_{w}"] == 1
        slope = np.where(coba, result.gains[f"coba_{w}_per_us"], result.gains[f"syn_{w}_mv_per_us"])
        result.achieved[f"psp_{w}_mv"] = _psp_height(result.achieved, w, slope, coba)
    result.targets = targets
    return result


def _psp_height(achieved: dict[str, np.ndarray], w: str, slope, coba) -> np.ndarray:
    """PSP height (mV) of one weight-63 event on input ``w`` at rest, for the achieved time
    constants and a slope per weight LSB (mV/µs, or 1/µs times the drive if ``coba``)."""
    drive = np.abs(achieved[f"e_rev_{w}_mv"] - achieved["v_leak_mv"])
    shape = psp_shape_us(achieved["tau_m_us"], achieved[f"tau_syn_{w}_us"])
    return REFERENCE_WEIGHT * shape * slope * np.where(coba, drive, 1.0)


def _choose(ch: Characterisation, t: CalibrationTargets, bench: Bench | None, log: Log) -> CalibrationResult:
    """DAC values for the targets from the models, refined by measurement on ``bench``."""
    dac = {p.name: np.full(N, p.default, dtype=np.int64) for p in NEURON_PARAMETERS}
    achieved: dict[str, np.ndarray] = {}
    gains: dict[str, np.ndarray] = {}
    measured: list[str] = []
    dac["capacitance"][:] = CAPACITANCE_HW
    dac["enable_fire"][:] = 1
    for w in ("exc", "inh"):
        dac[f"coba_{w}"][:] = t[f"coba_{w}"] > 0.5

    unreachable: dict[str, list[int]] = {}

    def check_reach(name: str, quantity: str, target, use=True):
        """Note the circuits (in use) whose range does not include the target."""
        lo, hi = ch.reachable(quantity)
        tol = 1e-6 * np.maximum(np.abs(lo), np.abs(hi))
        bad = np.broadcast_to(use, (N,)) & ((target < lo - tol) | (target > hi + tol))
        if bad.any():
            unreachable[name] = sorted(set(unreachable.get(name, [])) | set(np.flatnonzero(bad).tolist()))

    def set_model(name: str, quantity: str, target, use=True):
        param = QUANTITY[quantity].parameter
        dac[param] = ch.dac_for(quantity, target)
        achieved[name] = ch.predict(quantity, dac[param])
        check_reach(name, quantity, target, use)

    for q in ("v_leak_mv", "v_reset_mv", "v_threshold_mv"):
        set_model(q, q, t[q])
    for w in ("exc", "inh"):
        set_model(f"e_rev_{w}_mv", f"e_rev_{w}_mv", t[f"e_rev_{w}_mv"], dac[f"coba_{w}"] == 1)
    for q in ("tau_m_us", "tau_syn_exc_us", "tau_syn_inh_us"):
        set_model(q, q, t[q])
    if bench is not None:
        dac["i_bias_leak"], achieved["tau_m_us"] = _refine(
            lambda d: M.measure_tau_m(bench, ch, d), _rising(ch, "tau_m_us", dac["i_bias_leak"]),
            dac["i_bias_leak"], t["tau_m_us"], 1)
        for w in ("exc", "inh"):
            q, param = f"tau_syn_{w}_us", f"i_bias_syn_{w}_tau"
            duration = 10.0 * float(t[q].max()) * 1.2
            dac[param], achieved[q] = _refine(lambda d, w=w: M.measure_tau_syn(bench, ch, w, d, duration),
                                              _rising(ch, q, dac[param]), dac[param], t[q], 1)
            measured.append(q)
        measured.append("tau_m_us")
        log("refined tau_m, tau_syn")
    count, clock, achieved["tau_ref_us"] = refractory_setting(t["tau_ref_us"])
    dac["refractory_count"], dac["refractory_clock"] = count, clock

    # synaptic gain: the PSP target at the targets' time constants → slope per weight LSB
    for w in ("exc", "inh"):
        coba = dac[f"coba_{w}"] == 1
        shape_t = REFERENCE_WEIGHT * psp_shape_us(t["tau_m_us"], t[f"tau_syn_{w}_us"])
        drive_t = np.abs(t[f"e_rev_{w}_mv"] - t["v_leak_mv"])
        cuba_q, coba_q = f"syn_{w}_mv_per_us", f"coba_{w}_per_us"
        slope_t = np.where(coba, t[f"psp_{w}_mv"] / (shape_t * np.maximum(drive_t, 1e-9)), t[f"psp_{w}_mv"] / shape_t)
        gm = np.where(coba, ch.dac_for(coba_q, slope_t), ch.dac_for(cuba_q, slope_t))
        check_reach(f"psp_{w}_mv", coba_q, slope_t, coba)
        check_reach(f"psp_{w}_mv", cuba_q, slope_t, ~coba)
        param = f"i_bias_syn_{w}_gm"
        if bench is not None:
            tau_bias, tau_syn = dac[f"i_bias_syn_{w}_tau"], achieved[f"tau_syn_{w}_us"]

            def measure(d, w=w, coba=coba, tau_bias=tau_bias, tau_syn=tau_syn):
                out = np.full(N, np.nan)
                for mode in (False, True):
                    sel = coba == mode
                    if sel.any():
                        out[sel] = M.measure_slope(bench, ch, w, d, tau_bias, tau_syn, coba=mode)[sel]
                return out

            rising = np.where(coba, _rising(ch, coba_q, gm), _rising(ch, cuba_q, gm))
            gm, slope = _refine(measure, rising, gm, slope_t, 0)
            measured.append(f"psp_{w}_mv")
        else:
            slope = np.where(coba, ch.predict(coba_q, gm), ch.predict(cuba_q, gm))
        dac[param] = gm
        gains[cuba_q] = np.where(coba, ch.predict(cuba_q, gm), slope)
        gains[coba_q] = np.where(coba, slope, ch.predict(coba_q, gm))
        achieved[f"psp_{w}_mv"] = _psp_height(achieved, w, slope, coba)
    if bench is not None:
        log("refined synaptic gains")

    # constant current, exponential term and adaptation: through the measured models
    tau_m_t = t["tau_m_us"]
    dac["i_const"] = ch.dac_for("i_const_mv_per_us", t["i_offset_mv"] / tau_m_t)
    check_reach("i_offset_mv", "i_const_mv_per_us", t["i_offset_mv"] / tau_m_t, t["i_offset_mv"] > 0)
    gains["i_const_mv_per_us"] = ch.predict("i_const_mv_per_us", 1) - ch.predict("i_const_mv_per_us", 0)
    gains["i_const_offset_mv_per_us"] = ch.predict("i_const_mv_per_us", 0)
    achieved["i_offset_mv"] = ch.predict("i_const_mv_per_us", dac["i_const"]) * achieved["tau_m_us"]
    exp_on = t["delta_t_mv"] > 0
    if exp_on.any():
        dac["enable_exponential"] = exp_on.astype(np.int64)
        set_model("delta_t_mv", "delta_t_mv", t["delta_t_mv"], exp_on)
        set_model("v_exp_mv", "v_exp_mv", t["v_exp_mv"], exp_on)
        achieved["delta_t_mv"] = np.where(exp_on, achieved["delta_t_mv"], 0.0)
    adapt_on = (t["a_ratio"] > 0) | (t["b_mv"] > 0)
    if adapt_on.any():
        dac["enable_adaptation"] = adapt_on.astype(np.int64)
        dac["i_bias_adapt_a"] = ch.dac_for("a_per_us", t["a_ratio"] / tau_m_t)
        dac["i_bias_adapt_b"] = ch.dac_for("b_mv_per_us", t["b_mv"] / tau_m_t)
        check_reach("a_ratio", "a_per_us", t["a_ratio"] / tau_m_t, adapt_on)
        check_reach("b_mv", "b_mv_per_us", t["b_mv"] / tau_m_t, adapt_on)
        achieved["a_ratio"] = ch.predict("a_per_us", dac["i_bias_adapt_a"]) * achieved["tau_m_us"]
        achieved["b_mv"] = ch.predict("b_mv_per_us", dac["i_bias_adapt_b"]) * achieved["tau_m_us"]
        set_model("tau_w_us", "tau_w_us", t["tau_w_us"], adapt_on)
    if unreachable:
        log("targets out of reach: " + ", ".join(f"{k} ({len(v)} circuits)" for k, v in unreachable.items()))
    return CalibrationResult(ch.serial, ch.ideal, t, {k: np.asarray(v, dtype=np.int64) for k, v in dac.items()},
                             achieved, gains, tuple(measured), unreachable=unreachable)
