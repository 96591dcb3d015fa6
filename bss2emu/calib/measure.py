"""Measurements on a ``Bench``, each over all 512 circuits at once, each returning what the
readouts showed (never analog state). How each quantity is observed:

voltages (``measure_*_line``)
    The 8-bit CADC (4.7 mV per code) is coarser than a voltage DAC step (1.17 mV). So for
    each of ``LINE_CODES`` a bisection finds, per circuit, the DAC value at which the code
    is first reached; the code boundaries and those DAC values (minus half a step) lie on
    the circuit's transfer line, fitted by least squares. The boundaries fall at varying
    phases of the DAC grid, so the fit resolves the line to about 0.1 mV.

    * leak: fast membrane (capacitance 0, largest leak bias), no input: v = E_L;
    * reset: leak far above threshold, long refractory time: the lowest of a few CADC
      samples is taken during the clamp at V_reset;
    * threshold: the membrane is parked at known levels P (through the leak line); a
      circuit spikes iff V_th <= P — the comparator itself is observed, by spike events;
    * reversal potentials: no leak, conductance-based input far stronger than needed: the
      membrane settles at E_rev.

τ_m (``measure_tau_m``)
    Leak above threshold, no refractory time: the membrane rises from V_reset towards E_L
    and spikes at V_th after ``τ_m·ln((E_L-V_reset)/(E_L-V_th))``. Without refractory
    time the membrane leaves V_reset at the spike itself, so a rise is the time between two
    spikes: the mean over a train is the span from its first to its last time stamp over
    the number of rises (the 8 ns tick truncates both ends alike); the voltages come from
    the lines measured before.

τ_syn (``measure_tau_syn``)
    A fast membrane follows its synaptic current (V - E_L = I/g_L); one strong input event,
    and CADC samples every 560 ns (the CADC's rate limit) are fitted by an exponential.

gains (``measure_slope``)
    No leak: the membrane integrates. One event's charge moves it by
    ``rows·weight·S·τ_syn`` (S the slope per weight LSB, current-based) or towards E_rev by
    ``1 - exp(-rows·weight·S_g·τ_syn)`` (conductance-based); a constant current for T
    moves it by ``S_i·dac·T``. Start and end voltages: the leak line and the CADC (the
    synaptic gains as the mean of 4 events from starts a quarter code apart).
"""

from __future__ import annotations

import numpy as np

from ..protocol import coordinates as C
from .bench import (BENCH_DT_NS, CADC_MIN_PERIOD_NS, LABEL_EXC, LABEL_INH, N, STIM_ROWS, Bench, cadc_boundary_mv,
                    cadc_mv)
from .fit import bisect_dac, fit_decay, fit_lines
from .models import CAPACITANCE_HW, Characterisation, ideal_characterisation, linear_dac, nominal_dac

QUIET = dict(enable_fire=0, enable_exponential=0, enable_adaptation=0, coba_exc=0, coba_inh=0, i_const=0,
             invert_a=0, invert_b=0, i_bias_adapt_a=0, i_bias_adapt_b=0)
FAST = dict(capacitance=0, i_bias_leak=C.DAC_MAX)  # τ_m ≈ 16 ns: the membrane follows its drive
LINE_CODES = 40 + 15 * np.arange(13)  # CADC codes 40..220: 186..1033 mV
THRESHOLD_LEVELS_MV = np.linspace(250.0, 1000.0, 13)
LONG_REFRACTORY = dict(refractory_count=156, refractory_clock=5)  # 156·32·4 ns ≈ 20 µs
LONG_REFRACTORY_US = 156 * 32 * 4 / 1e3
NO_REFRACTORY = dict(refractory_count=0, refractory_clock=0)
CADC_PERIOD_NS = CADC_MIN_PERIOD_NS
# Without leak, a conductance-based input must not share the membrane with a current-based
# one: the kernel's update v_inf + (v - v_inf)·exp(-g·h/C) loses all precision when a decayed
# conductance g (~1e-40 µS) meets a decayed current (v_inf ~ I/g), and throws the membrane
# to 0 mV. With both inputs conductance-based, v_inf is a mix of reversal potentials.
COBA_BOTH = dict(coba_exc=1, coba_inh=1)
TAU_SYN_REPEATS = CADC_PERIOD_NS // BENCH_DT_NS  # 7: one trace per step of the CADC period
SLOPE_REPEATS = 4


DITHER_MV = 2.4  # the leak steps by which repeated measurements dither the CADC's quantisation (~1/2 code)


def leak_dither(ch: Characterisation, base_mv: float, repeats: int) -> list[np.ndarray]:
    """Leak DAC values for ``repeats`` repeats, from ``base_mv`` up by ``DITHER_MV`` each
    (whatever the leak cell's step there): the CADC's quantisation error dithers and averages."""
    return [ch.dac_for("v_leak_mv", base_mv + k * DITHER_MV) for k in range(repeats)]


def event_time_us(step: int) -> float:
    """An input time 1 ns before the end of bench step ``step`` (counted from now): the
    PSP's onset then lies on the step grid of the readouts' sample times (to 1 ns)."""
    return ((step + 1) * BENCH_DT_NS - 1) / 1e3


def clear_synaptic_inputs(bench: Bench) -> None:
    """Let the synaptic inputs left by earlier measurements decay: with the fastest time
    constant (0.3 µs) for 5 µs, to e^-16 of what they were. Integrating measurements need
    it, and a current-based residue would become a conductance when the input switches."""
    bench.write(i_bias_syn_exc_tau=C.DAC_MAX, i_bias_syn_inh_tau=C.DAC_MAX)
    bench.run(5.0)


def _line(bench: Bench, probe_at_code, levels_mv, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    """Fit a transfer line of ``quantity`` from per-level bisections (on its straight DAC
    scale, ``models.linear_dac``); ``probe_at_code(level_index)`` returns the probe for that
    level; ``levels_mv`` [levels, circuits] the level voltages."""
    xs = []
    for k in range(len(levels_mv)):
        xs.append(bisect_dac(probe_at_code(k)))
    d = np.array(xs, dtype=np.float64)
    valid = (d > 0) & (d <= C.DAC_MAX)  # the transition lies inside the DAC range
    return fit_lines(linear_dac(quantity, d - 0.5), np.asarray(levels_mv, dtype=np.float64), valid.astype(np.float64))


def measure_leak_line(bench: Bench) -> tuple[np.ndarray, np.ndarray]:
    """Transfer line of v_leak: E_L = a·dac + b (mV)."""
    bench.write(**(QUIET | FAST))

    def probe_for(k):
        def probe(dac):
            bench.write(v_leak=dac)
            bench.run(0.4)
            return bench.codes() >= LINE_CODES[k]
        return probe

    levels = np.broadcast_to(cadc_boundary_mv(LINE_CODES)[:, None], (len(LINE_CODES), N))
    return _line(bench, probe_for, levels, "v_leak_mv")


def measure_reset_line(bench: Bench) -> tuple[np.ndarray, np.ndarray]:
    """Transfer line of v_reset, read during a 20 µs refractory clamp. Leak (the largest,
    ~1160 mV) far above threshold (~940 mV), beyond any offset mismatch: the circuit
    fires again as soon as it is released (at the start of the step after its release), so
    every step but that one starts at V_reset; the lowest sample skips it."""
    threshold = int(nominal_dac("v_threshold_mv", 940.0)[0])
    bench.write(**(QUIET | FAST | LONG_REFRACTORY | dict(v_leak=C.DAC_MAX, v_threshold=threshold, enable_fire=1)))

    def probe_for(k):
        def probe(dac):
            bench.write(v_reset=dac)
            rec = bench.run(2.0, cadc_period_ns=CADC_PERIOD_NS)
            # the first sample still shows the membrane from before the write
            return rec.cadc[rec.cadc_t_us > 0].min(axis=0) >= LINE_CODES[k]
        return probe

    levels = np.broadcast_to(cadc_boundary_mv(LINE_CODES)[:, None], (len(LINE_CODES), N))
    return _line(bench, probe_for, levels, "v_reset_mv")


def measure_threshold_line(bench: Bench, ch: Characterisation) -> tuple[np.ndarray, np.ndarray]:
    """Transfer line of v_threshold: the membrane parked at known levels (through the leak
    line) spikes iff the threshold lies at or below it."""
    park = [ch.dac_for("v_leak_mv", p) for p in THRESHOLD_LEVELS_MV]
    # start at rest on the first level: a membrane left above the threshold by an earlier
    # measurement (the reset line's, released inside its last step, at ~1170 mV) would fire
    # once at the first probe's start, and a refractory time left over (the reset line's: up
    # to 20 µs) would hold it at reset through the first probes; with firing off, wait both out
    bench.write(**(QUIET | FAST | NO_REFRACTORY | dict(v_reset=0, v_leak=park[0])))
    bench.run(LONG_REFRACTORY_US + 1.0)
    bench.write(enable_fire=1)
    # Parked on the leak DAC grid alone, every level would sit at the same phase of the
    # threshold's DAC grid (same step): a small constant current shifts level k by about
    # k/levels of a step, so the transitions dither and the fit averages them.
    n_levels = len(THRESHOLD_LEVELS_MV)
    # (the leak's step at each level: finer below its knee, ``analog.VoltageMap``)
    step_mv = np.array([np.nanmedian(ch.predict("v_leak_mv", d + 1) - ch.predict("v_leak_mv", d)) for d in park])
    # (in a scrambled order: a shift growing with the level would tilt the fitted line)
    shift_mv = step_mv * ((5 * np.arange(n_levels)) % n_levels) / n_levels
    i_const = np.rint(shift_mv / nominal_i_const_over_g_fast()).astype(np.int64)
    levels = np.array([ch.predict("v_leak_mv", d) for d in park]) + (i_const * nominal_i_const_over_g_fast())[:, None]

    def probe_for(k):
        bench.write(v_leak=park[k], i_const=i_const[k])

        def probe(dac):
            bench.write(v_threshold=dac)
            return bench.run(0.4).spike_counts() == 0
        return probe

    return _line(bench, probe_for, levels, "v_threshold_mv")


def nominal_i_const_over_g_fast() -> float:
    """Nominal deflection (mV) per i_const LSB of a circuit with the ``FAST`` leak."""
    ch = ideal_characterisation()
    return float(ch.a["i_const_mv_per_us"][0] / (ch.a["tau_m_us"][0] * C.DAC_MAX))


def measure_reversal_line(bench: Bench, which: str) -> tuple[np.ndarray, np.ndarray]:
    """Transfer line of e_rev_exc / e_rev_inh: without leak, a strong conductance-based
    input pulls the membrane onto the reversal potential."""
    exc = which == "exc"
    param, label = ("e_rev_exc", LABEL_EXC) if exc else ("e_rev_inh", LABEL_INH)
    bench.set_stim_weight(63)
    clear_synaptic_inputs(bench)
    bench.write(**(QUIET | COBA_BOTH | {"capacitance": 0, "i_bias_leak": 0, f"i_bias_syn_{which}_gm": C.DAC_MAX,
                                        f"i_bias_syn_{which}_tau": C.DAC_MAX}))

    def probe_for(k):
        def probe(dac):
            bench.write(**{param: dac})
            bench.run(3.0, [event_time_us(0)], [label])
            return bench.codes() >= LINE_CODES[k]
        return probe

    levels = np.broadcast_to(cadc_boundary_mv(LINE_CODES)[:, None], (len(LINE_CODES), N))
    return _line(bench, probe_for, levels, f"e_rev_{which}_mv")


def measure_tau_m(bench: Bench, ch: Characterisation, leak_bias, min_rises: int = 4,
                  max_us: float = 2000.0) -> np.ndarray:
    """τ_m (µs) of every circuit at ``leak_bias`` (i_bias_leak), capacitance 63, from the
    rise times between spikes (leak 900 mV, reset 400 mV, threshold 700 mV)."""
    dacs = {"v_leak": ch.dac_for("v_leak_mv", 900.0), "v_reset": ch.dac_for("v_reset_mv", 400.0),
            "v_threshold": ch.dac_for("v_threshold_mv", 700.0)}
    e_l = ch.predict("v_leak_mv", dacs["v_leak"])
    v_r = ch.predict("v_reset_mv", dacs["v_reset"])
    v_t = ch.predict("v_threshold_mv", dacs["v_threshold"])
    log_ratio = np.log((e_l - v_r) / (e_l - v_t))
    bench.write(**(QUIET | NO_REFRACTORY | dacs
                   | dict(capacitance=CAPACITANCE_HW, i_bias_leak=leak_bias, enable_fire=1)))
    rises = _rise_times(bench, min_rises, max_us)
    return rises / log_ratio


def _rise_times(bench: Bench, min_rises: int, max_us: float) -> np.ndarray:
    """Mean time (µs) from a spike to the next, per circuit."""
    t, circ = [], []
    elapsed, chunk = 0.0, 20.0
    while True:
        t0 = bench.now_us
        rec = bench.run(chunk)
        t.append(rec.spike_t_us + t0)
        circ.append(rec.spike_circuit)
        elapsed += chunk
        counts = np.bincount(np.concatenate(circ), minlength=N)
        if counts.min() > min_rises or elapsed >= max_us:
            break
        chunk = min(2 * chunk, max_us - elapsed)
    t, circ = np.concatenate(t), np.concatenate(circ)
    first = np.full(N, np.inf)
    last = np.full(N, -np.inf)
    np.minimum.at(first, circ, t)
    np.maximum.at(last, circ, t)
    n = np.bincount(circ, minlength=N) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (last - first) / n, np.nan)


def tau_syn_gm(deflection_mv: float = 270.0) -> int:
    """The synaptic gain bias at which one event of ``STIM_ROWS`` × weight 63 deflects a
    ``FAST`` membrane by about ``deflection_mv`` (nominal maps): V - E_L = I/g_L."""
    ch = ideal_characterisation()
    per_gm = float(ch.a["syn_exc_mv_per_us"][0] / (ch.a["tau_m_us"][0] * C.DAC_MAX))  # mV per gm LSB
    # FAST: capacitance 0 and the largest leak bias, so I/g_L scales by the capacitance ratio
    return int(np.clip(np.rint(deflection_mv / (per_gm * STIM_ROWS * 63)), 1, C.DAC_MAX))


def measure_tau_syn(bench: Bench, ch: Characterisation, which: str, tau_bias, duration_us: float,
                    repeats: int = TAU_SYN_REPEATS) -> np.ndarray:
    """τ_syn (µs) of the ``which`` ("exc"/"inh") input at ``tau_bias`` from the decay of the
    membrane of a fast circuit after one strong event (CADC, 560 ns per sample).

    The event is repeated ``repeats`` times, each one step later against the CADC's sample
    grid, so the fit sees the decay at ``repeats`` times the CADC's rate."""
    exc = which == "exc"
    base = 300.0 if exc else 900.0  # room for a ~270 mV deflection up or down
    v_leaks = leak_dither(ch, base, repeats)
    bench.set_stim_weight(63)
    bench.write(**(QUIET | FAST | {f"i_bias_syn_{which}_gm": tau_syn_gm(), f"i_bias_syn_{which}_tau": tau_bias}))
    label = LABEL_EXC if exc else LABEL_INH
    ts, ys = [], []
    for k in range(repeats):
        # each repeat ``DITHER_MV`` higher: the CADC's quantisation error, which drifts slowly
        # along a trace that moves ~1 code per sample, dithers
        bench.write(v_leak=v_leaks[k])
        bench.run(1.0)
        rec = bench.run(duration_us + 1.0, [event_time_us(k)], [label], cadc_period_ns=CADC_PERIOD_NS)
        ys.append(cadc_mv(rec.cadc) - ch.predict("v_leak_mv", v_leaks[k])[None, :])
        ts.append(rec.cadc_t_us - event_time_us(k))
    t, y = np.concatenate(ts), np.concatenate(ys)
    # samples well above the quantisation (8 codes), after the membrane's own transient
    valid = (t[:, None] > 0.2) & (np.abs(y) > 8 * 1200.0 / 255)
    return fit_decay(t, y, valid)


def measure_slope(bench: Bench, ch: Characterisation, which: str, gm_bias, tau_bias, tau_syn_us,
                  coba: bool = False, repeats: int = SLOPE_REPEATS) -> np.ndarray:
    """Synaptic gain per weight LSB at ``gm_bias``: mV/µs (current-based, I/C) or 1/µs
    (conductance-based, g/C), from the charge one event puts on a membrane without leak.

    ``tau_syn_us`` is the measured τ_syn at ``tau_bias`` of every circuit. The mean of
    ``repeats`` events, each from a start ``DITHER_MV`` (about 1/2 code) higher: the
    end voltage's CADC quantisation (±2.4 mV, 0.5 % of a conductance-based measurement)
    dithers and averages."""
    exc = which == "exc"
    start = 200.0 if exc else 1000.0
    gm = np.broadcast_to(np.asarray(gm_bias, dtype=np.float64), (N,))
    # stimulus size from the nominal gain (only to stay inside the CADC's range)
    quantity = f"coba_{which}_per_us" if coba else f"syn_{which}_mv_per_us"
    per_weight = ideal_characterisation().predict(quantity, gm) * STIM_ROWS * tau_syn_us
    with np.errstate(divide="ignore", invalid="ignore"):
        # current-based: a ~500 mV step; conductance-based: exp(-1) of the way to E_rev
        want = 1.0 / per_weight if coba else 500.0 / per_weight
    weight = np.clip(np.rint(np.nan_to_num(want, nan=63.0, posinf=63.0)), 1, 63).astype(np.int64)
    if coba:
        e_rev = ch.dac_for(f"e_rev_{which}_mv", 1000.0 if exc else 200.0)
        e = ch.predict(f"e_rev_{which}_mv", e_rev)
    v_leaks = leak_dither(ch, start, repeats)
    bench.set_stim_weight(weight)
    clear_synaptic_inputs(bench)
    extra = {**COBA_BOTH, f"e_rev_{which}": e_rev} if coba else {}
    bench.write(**(QUIET | extra | {"capacitance": CAPACITANCE_HW, f"i_bias_syn_{which}_gm": gm_bias,
                                    f"i_bias_syn_{which}_tau": tau_bias}))
    charge = STIM_ROWS * weight * tau_syn_us
    slopes = []
    for k in range(repeats):
        # (the last event's input has decayed for 14 τ_syn: to 1e-6)
        bench.write(i_bias_leak=C.DAC_MAX, v_leak=v_leaks[k])
        bench.run(6.0)  # settle on the leak (τ_m ≈ 0.5 µs)
        bench.write(i_bias_leak=0)
        bench.run(14.0 * float(np.nanmax(tau_syn_us)) + 1.0, [event_time_us(0)], [LABEL_EXC if exc else LABEL_INH])
        v0 = ch.predict("v_leak_mv", v_leaks[k])
        v1 = cadc_mv(bench.codes())
        with np.errstate(invalid="ignore", divide="ignore"):
            slopes.append(-np.log((e - v1) / (e - v0)) / charge if coba else np.abs(v1 - v0) / charge)
    return np.mean(slopes, axis=0)


def measure_i_const_slope(bench: Bench, ch: Characterisation, dac) -> np.ndarray:
    """Constant current over capacitance (mV/µs) at i_const ``dac``: the ramp of a membrane
    without leak."""
    nominal = float(ideal_characterisation().predict("i_const_mv_per_us", dac)[0])  # mV/µs
    duration = float(np.clip(600.0 / max(nominal, 1e-9), 1.0, 500.0))
    steps = int(round(duration * 1e3 / BENCH_DT_NS))
    duration = steps * BENCH_DT_NS / 1e3
    v_leak = ch.dac_for("v_leak_mv", 200.0)
    v0 = ch.predict("v_leak_mv", v_leak)
    clear_synaptic_inputs(bench)
    bench.write(**(QUIET | dict(capacitance=CAPACITANCE_HW, i_bias_leak=C.DAC_MAX, v_leak=v_leak)))
    bench.run(6.0)
    bench.write(i_bias_leak=0, i_const=dac)
    bench.run(duration)
    bench.write(i_const=0)
    v1 = cadc_mv(bench.codes())
    return (v1 - v0) / duration
