"""Ideal-chip translation: PyNN's biological parameters → BSS-2 hardware values.

The exact inverse of the DAC → physical maps of ``chip_actor.analog`` without mismatch (an
``ideal`` chip). It stands in for ``bss2emu.calib``'s calibrated translation: the backend
calls only ``bio_to_hw`` (and reads ``NeuronTranslation``), so a calibrated function with the
same signature replaces it (``translation.bio_to_hw = calib_bio_to_hw``).

Maps, biological → hardware (``K_V``, ``V_OFFSET_MV`` and the 1000× acceleration)::

    time          t_hw [µs] = t_bio [ms] · 1000 / ACCELERATION          (1 ms ≙ 1 µs)
    voltage       v_hw [mV] = 1000 + 10 · v_bio [mV]     (−100 … +20.4 mV ≙ 0 … 1200 mV)
    capacitance   C_hw [pF] = 2.3 · (cap + 1) / 64, chosen per neuron;  k_c = C_hw [pF] / C_bio [nF]
    conductance   g_hw [µS] = k_c · g_bio [µS]                 (leak, a, COBA weights)
    current       I_hw [nA] = k_c · K_V · I_bio [nA]           (i_offset, b, CUBA weights)

so that ``C dV/dt = I`` holds in both domains (``k_c`` cancels in every time constant, ``K_V``
in the exponential term's argument). Each neuron gets the capacitance that realises its
leak, constant current, adaptation and synaptic gains with the smallest relative
quantisation error while every DAC value stays in 0…1022. Synaptic weights become 6-bit
codes: per population and receptor the largest |weight| gets code ``W`` (chosen with the
per-neuron gains, ``i_bias_syn_*_gm``, to minimise the error) and every other weight
``round(W · w / w_max)``.

Hardware constants (``chip_actor.analog``, ideal): 1200/1022 mV per voltage LSB, leak
4.5 nS/LSB, Δ_T 0.05 mV/LSB, a 0.1 nS/LSB, b 10 pA/LSB, τ_w = 2000 µs/value,
τ_syn = 300 µs/value, synaptic gain 0.3 pA (CUBA) or 6 pS (COBA) per weight LSB per value,
I_const 50 pA/LSB, refractory (count << clock) · 4 ns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETERS
from ..units import ACCELERATION

# --- the documented bio → hardware maps ---------------------------------------------------
K_V = 10.0
"""Hardware mV per biological mV."""
V_OFFSET_MV = 1000.0
"""Hardware membrane voltage (mV) of 0 mV biological."""
US_PER_MS = 1000.0 / ACCELERATION
"""Hardware µs per biological ms (1.0: the 1000× acceleration)."""

# --- ideal DAC → physical constants of chip_actor.analog (checked by tests/pynn) ----------
MV_PER_DAC = 1200.0 / C.DAC_MAX
LEAK_US_PER_LSB = 0.0045
EXP_MV_PER_LSB = 0.05
ADAPT_A_US_PER_LSB = 1e-4
ADAPT_B_NA_PER_LSB = 0.01
TAU_W_SCALE_US = 2000.0
TAU_SYN_SCALE_US = 300.0
CUBA_NA_PER_LSB = 3e-4  # per weight LSB and gain LSB
COBA_US_PER_LSB = 6e-6
I_CONST_NA_PER_LSB = 0.05
C_MAX_PF = 2.3
REFRACTORY_NS_PER_CYCLE = 4
DAC = C.DAC_MAX
PRODUCT_MAX = C.WEIGHT_MAX * C.DAC_MAX  # largest weight code × gain

_CAPS = np.arange(C.CAPACITANCE_MAX + 1)
_C_HW_PF = C_MAX_PF * (_CAPS + 1) / 64.0
HW_DEFAULTS = {p.name: p.default for p in NEURON_PARAMETERS}


class TranslationError(ValueError):
    """A biological value has no hardware counterpart; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(message)


@dataclass
class NeuronTranslation:
    """Hardware values of a population's circuits and the scales of its inputs.

    ``dac``: hardware parameter → int array (one per neuron). ``current_na_per_lsb``: bio nA
    per ``i_const`` LSB, per neuron. ``weight_lsb``: receptor → bio weight (nA or µS) per
    weight-code LSB; ``weight_code_max``: receptor → the code of the largest weight;
    ``weight_error``: receptor → largest relative error of a realised weight."""

    dac: dict[str, np.ndarray]
    current_na_per_lsb: np.ndarray
    weight_lsb: dict[str, float] = field(default_factory=dict)
    weight_code_max: dict[str, int] = field(default_factory=dict)
    weight_error: dict[str, float] = field(default_factory=dict)

    def i_const(self, current_na) -> np.ndarray:
        """DAC values of a biological constant current (nA, ≥ 0) per neuron."""
        return np.rint(np.asarray(current_na, float) / self.current_na_per_lsb).astype(np.int64)


# --- the declarative tables: PyNN parameter → (hardware parameter, kind) ------------------
_COMMON = {
    "v_rest": ("v_leak", "voltage"),
    "v_reset": ("v_reset", "voltage"),
    "tau_syn_E": ("i_bias_syn_exc_tau", "syn_tau"),
    "tau_syn_I": ("i_bias_syn_inh_tau", "syn_tau"),
    "tau_refrac": ("refractory", "refractory"),
    "cm": ("capacitance", "membrane"),
    "tau_m": ("i_bias_leak", "membrane"),
    "i_offset": ("i_const", "current"),
}
TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "IF_curr_exp": {**_COMMON, "v_thresh": ("v_threshold", "voltage")},
    "IF_cond_exp": {**_COMMON, "v_thresh": ("v_threshold", "voltage"),
                    "e_rev_E": ("e_rev_exc", "voltage"), "e_rev_I": ("e_rev_inh", "voltage")},
    "EIF_cond_exp_isfa_ista": {
        **_COMMON, "v_spike": ("v_threshold", "voltage"), "v_thresh": ("v_exp", "voltage"),
        "e_rev_E": ("e_rev_exc", "voltage"), "e_rev_I": ("e_rev_inh", "voltage"),
        "delta_T": ("i_bias_exp", "exp_slope"), "tau_w": ("i_bias_adapt_tau", "adapt_tau"),
        "a": ("i_bias_adapt_a", "conductance_ns"), "b": ("i_bias_adapt_b", "current")},
}
"""How each standard cell type's parameters reach the hardware (kinds are the maps above)."""
SWITCHES: dict[str, dict[str, int]] = {
    "IF_curr_exp": {"coba_exc": 0, "coba_inh": 0, "enable_exponential": 0, "enable_adaptation": 0},
    "IF_cond_exp": {"coba_exc": 1, "coba_inh": 1, "enable_exponential": 0, "enable_adaptation": 0},
    "EIF_cond_exp_isfa_ista": {"coba_exc": 1, "coba_inh": 1},
}
CONDUCTANCE_BASED = {"IF_curr_exp": False, "IF_cond_exp": True, "EIF_cond_exp_isfa_ista": True}
RECEPTOR_GAIN = {"excitatory": "i_bias_syn_exc_gm", "inhibitory": "i_bias_syn_inh_gm"}

V_MIN_BIO_MV = -V_OFFSET_MV / K_V
V_MAX_BIO_MV = (DAC * MV_PER_DAC - V_OFFSET_MV) / K_V


def voltage_to_bio(v_hw_mv):
    """Hardware membrane mV → biological mV (the inverse voltage map)."""
    return (np.asarray(v_hw_mv, float) - V_OFFSET_MV) / K_V


def _dac_in_range(name: str, x: np.ndarray, what: str, limits: str, lo: int = 0) -> np.ndarray:
    code = np.rint(x)
    bad = (code < lo) | (code > DAC) | ~np.isfinite(x)
    if bad.any():
        raise TranslationError(name, f"{name}={what(int(np.argmax(bad)))} is outside the hardware range {limits}")
    return code.astype(np.int64)


def _voltage(name, v):
    x = (V_OFFSET_MV + K_V * v) / MV_PER_DAC
    return _dac_in_range(name, x, lambda i: f"{v[i]:g} mV",
                         f"{V_MIN_BIO_MV:g} … {V_MAX_BIO_MV:.1f} mV "
                         f"(hardware {V_OFFSET_MV:g} + {K_V:g}·v mV on 0 … 1200 mV)")


def _inverse_tau(name, tau_ms, scale_us):
    with np.errstate(divide="ignore"):
        x = scale_us / (tau_ms * US_PER_MS)
    lo, hi = scale_us / DAC / US_PER_MS, scale_us / US_PER_MS
    return _dac_in_range(name, x, lambda i: f"{tau_ms[i]:g} ms", f"{lo:.3g} … {hi:g} ms", lo=1)


def refractory_counter(name: str, tau_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(refractory_count, refractory_clock) of refractory times in ms: the smallest clock
    divider whose 8-bit count reaches the time, to the nearest 4 ns · 2**clock."""
    cycles = np.asarray(tau_ms, float) * US_PER_MS * 1e3 / REFRACTORY_NS_PER_CYCLE
    top = C.REFRACTORY_COUNT_MAX << C.REFRACTORY_CLOCK_MAX
    bad = (cycles < 0) | (np.rint(cycles / 2 ** C.REFRACTORY_CLOCK_MAX) > C.REFRACTORY_COUNT_MAX)
    if bad.any():
        i = int(np.argmax(bad))
        raise TranslationError(name, f"{name}={tau_ms[i]:g} ms is outside the hardware range 0 … "
                                     f"{top * REFRACTORY_NS_PER_CYCLE / 1e3 / US_PER_MS:g} ms")
    clock = np.zeros(len(cycles), np.int64)
    while True:
        over = np.rint(cycles / (1 << clock)) > C.REFRACTORY_COUNT_MAX
        if not over.any():
            break
        clock[over] += 1
    return np.rint(cycles / (1 << clock)).astype(np.int64), clock


def _rel_error(x: np.ndarray) -> np.ndarray:
    """Relative error of rounding ``x`` to an integer 1 … 1022 (inf if impossible, 0 where x = 0)."""
    code = np.rint(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(code - x) / x
    err = np.where((code < 1) | (code > DAC), np.inf, err)
    return np.where(x == 0, 0.0, err)


def _weight_products(k_c: np.ndarray, w_max: float, conductance: bool) -> np.ndarray:
    """Code × gain needed for the largest weight, per capacitance choice and neuron."""
    return k_c * w_max / COBA_US_PER_LSB if conductance else k_c * K_V * w_max / CUBA_NA_PER_LSB


def _choose_capacitance(p: dict[str, np.ndarray], max_current: np.ndarray, weights: dict[str, np.ndarray],
                        conductance: bool) -> np.ndarray:
    """The capacitance value (0…63) per neuron with the smallest worst relative error."""
    cm = p["cm"]
    k_c = _C_HW_PF[:, None] / cm[None, :]
    errs = [_rel_error(k_c * (cm / p["tau_m"])[None, :] / LEAK_US_PER_LSB),
            _rel_error(k_c * K_V * max_current[None, :] / I_CONST_NA_PER_LSB)]
    if "a" in p:
        errs.append(_rel_error(k_c * np.abs(p["a"] * 1e-3)[None, :] / ADAPT_A_US_PER_LSB))
        errs.append(_rel_error(k_c * K_V * np.abs(p["b"])[None, :] / ADAPT_B_NA_PER_LSB))
    for w in weights.values():
        if len(w) and w.max() > 0:
            prod = _weight_products(k_c, float(w.max()), conductance)
            code = np.ceil(prod / DAC)
            errs.append(np.where((prod > PRODUCT_MAX) | (prod < 0.5), np.inf, code / (2 * np.maximum(prod, 1e-300))))
    worst = np.max(errs, axis=0)  # (64, N)
    # smallest error; among equal ones the largest capacitance (finer current steps)
    best = C.CAPACITANCE_MAX - np.argmin(worst[::-1], axis=0)
    bad = ~np.isfinite(worst[best, np.arange(len(cm))])
    if bad.any():
        i = int(np.argmax(bad))
        _explain_infeasible(i, p, max_current, weights, conductance)
    return best


def _explain_infeasible(i, p, max_current, weights, conductance):
    """Raise the error that names the quantity no capacitance can realise for neuron i."""
    cm = p["cm"][i]
    k_lo, k_hi = _C_HW_PF[0] / cm, _C_HW_PF[-1] / cm
    g = cm / p["tau_m"][i]
    if not (0.5 <= k_hi * g / LEAK_US_PER_LSB and k_lo * g / LEAK_US_PER_LSB <= DAC + 0.5):
        lo = cm / (DAC * LEAK_US_PER_LSB / k_lo)
        hi = cm / (0.5 * LEAK_US_PER_LSB / k_hi)
        raise TranslationError("tau_m", f"tau_m={p['tau_m'][i]:g} ms is outside the hardware range "
                                        f"{lo:.3g} … {hi:.4g} ms")
    if k_lo * K_V * max_current[i] / I_CONST_NA_PER_LSB > DAC + 0.5:
        top = DAC * I_CONST_NA_PER_LSB / (k_lo * K_V)
        raise TranslationError("i_offset", f"a constant current of {max_current[i]:g} nA (i_offset plus injected "
                                           f"current) into cm={cm:g} nF exceeds the hardware maximum of {top:.3g} nA "
                                           f"for this capacitance: use a smaller current or a larger cm")
    for rec, w in weights.items():
        if len(w) and _weight_products(k_lo, float(w.max()), conductance) > PRODUCT_MAX:
            top = PRODUCT_MAX * (COBA_US_PER_LSB / k_lo if conductance else CUBA_NA_PER_LSB / (k_lo * K_V))
            unit = "µS" if conductance else "nA"
            raise TranslationError("weight", f"{rec} weight {w.max():g} {unit} onto a neuron with cm={cm:g} nF "
                                             f"exceeds the hardware maximum of {top:.3g} {unit} (6-bit weight × "
                                             f"synaptic gain): use smaller weights or a larger cm")
    for name, per_lsb, scale in (("a", ADAPT_A_US_PER_LSB, 1e-3), ("b", ADAPT_B_NA_PER_LSB, K_V)):
        if name in p and k_lo * scale * abs(p[name][i]) / per_lsb > DAC + 0.5:
            top = DAC * per_lsb / (k_lo * scale) / (1e-3 if name == "a" else 1.0)
            raise TranslationError(name, f"{name}={p[name][i]:g} is larger than the hardware maximum {top:.3g} "
                                         f"for cm={cm:g} nF")
    raise TranslationError("cm", f"no hardware capacitance realises cm={cm:g} nF with tau_m={p['tau_m'][i]:g} ms "
                                 f"and these currents and weights; make them less extreme")


def _weight_codes(k_c: np.ndarray, w: np.ndarray, conductance: bool) -> tuple[np.ndarray, int, float, float]:
    """Gains per neuron, the code of the largest weight, the weight LSB and the worst error."""
    w = np.unique(np.abs(w[w != 0]))
    w_max = float(w.max())
    if len(w) > 64:
        w = np.quantile(w, np.linspace(0, 1, 64))
    prod = _weight_products(k_c, w_max, conductance)  # per neuron
    best = (np.inf, 63, None)
    for top in range(C.WEIGHT_MAX, 0, -1):
        gain = np.clip(np.rint(prod / top), 1, DAC)
        codes = np.clip(np.rint(top * w / w_max), 0, C.WEIGHT_MAX)
        realised = codes[None, :] * gain[:, None] / prod[:, None] * w_max  # bio units
        err = float(np.max(np.abs(realised - w[None, :]) / w[None, :]))
        if err < best[0] - 1e-12:
            best = (err, top, gain)
    err, top, gain = best
    return gain.astype(np.int64), top, w_max / top, err


def bio_to_hw(model: str, params: dict[str, np.ndarray], *, max_current_na: np.ndarray | None = None,
              weights: dict[str, np.ndarray] | None = None) -> NeuronTranslation:
    """Hardware values for the neurons of a standard cell type.

    ``params``: PyNN parameter → float array (one value per neuron), in PyNN's units.
    ``max_current_na``: per neuron the largest constant current it will see (``i_offset``
    plus injected current, ≥ 0; default ``i_offset``). ``weights``: receptor → the
    biological weights (nA or µS, any sign) of all connections onto the population.
    Raises ``TranslationError`` naming the parameter without a hardware counterpart."""
    table = TABLES[model]
    conductance = CONDUCTANCE_BASED[model]
    p = {k: np.atleast_1d(np.asarray(v, float)) for k, v in params.items()}
    n = len(p["cm"])
    weights = {r: np.asarray(w, float) for r, w in (weights or {}).items() if np.size(w) and np.any(np.asarray(w) != 0)}
    for name in ("cm", "tau_m"):
        if (p[name] <= 0).any():
            raise TranslationError(name, f"{name}={p[name][np.argmax(p[name] <= 0)]:g} must be positive")
    if (p["i_offset"] < 0).any():
        raise TranslationError("i_offset", f"i_offset={p['i_offset'].min():g} nA is negative: the hardware's constant "
                                           f"current is a non-negative DAC; raise v_rest instead")
    cur = p["i_offset"] if max_current_na is None else np.asarray(max_current_na, float)
    if (cur < 0).any():
        raise TranslationError("i_offset", f"a total injected current of {cur.min():g} nA is negative: the hardware's "
                                           f"constant current cannot be negative; raise v_rest instead")
    cap = _choose_capacitance(p, cur, weights, conductance)
    k_c = _C_HW_PF[cap] / p["cm"]
    dac: dict[str, np.ndarray] = {"capacitance": cap.astype(np.int64)}
    for pynn_name, (hw, kind) in table.items():
        v = p[pynn_name]
        if kind == "voltage":
            dac[hw] = _voltage(pynn_name, v)
        elif kind == "syn_tau":
            dac[hw] = _inverse_tau(pynn_name, v, TAU_SYN_SCALE_US)
        elif kind == "adapt_tau":
            dac[hw] = _inverse_tau(pynn_name, v, TAU_W_SCALE_US)
        elif kind == "refractory":
            dac["refractory_count"], dac["refractory_clock"] = refractory_counter(pynn_name, v)
        elif kind == "exp_slope":
            dac[hw] = _dac_in_range(pynn_name, K_V * v / EXP_MV_PER_LSB, lambda i: f"{v[i]:g} mV",
                                    f"0 … {DAC * EXP_MV_PER_LSB / K_V:g} mV")
        elif kind == "conductance_ns":  # adaptation a, nS
            dac[hw] = np.rint(k_c * np.abs(v) * 1e-3 / ADAPT_A_US_PER_LSB).astype(np.int64)
            dac["invert_a"] = (v < 0).astype(np.int64)
        elif hw == "i_bias_adapt_b":
            dac[hw] = np.rint(k_c * K_V * np.abs(v) / ADAPT_B_NA_PER_LSB).astype(np.int64)
            dac["invert_b"] = (v < 0).astype(np.int64)
    dac["i_bias_leak"] = np.rint(k_c * (p["cm"] / p["tau_m"]) / LEAK_US_PER_LSB).astype(np.int64)
    current_per_lsb = I_CONST_NA_PER_LSB / (k_c * K_V)
    dac["i_const"] = np.rint(p["i_offset"] / current_per_lsb).astype(np.int64)
    for flag, value in SWITCHES[model].items():
        dac[flag] = np.full(n, value, np.int64)
    if model == "EIF_cond_exp_isfa_ista":
        dac["enable_exponential"] = (dac["i_bias_exp"] > 0).astype(np.int64)
        dac["enable_adaptation"] = ((p["a"] != 0) | (p["b"] != 0)).astype(np.int64)
    out = NeuronTranslation(dac, current_per_lsb)
    for rec, w in weights.items():
        gain, top, lsb, err = _weight_codes(k_c, w, conductance)
        dac[RECEPTOR_GAIN[rec]] = gain
        out.weight_lsb[rec], out.weight_code_max[rec], out.weight_error[rec] = lsb, top, err
    return out


def hw_to_bio(model: str, tr: NeuronTranslation, cm: np.ndarray) -> dict[str, np.ndarray]:
    """The biological parameters an ideal chip realises with ``tr`` (the forward maps of
    ``chip_actor.analog``, read back through this module's bio ↔ hardware maps); ``cm``
    is the requested capacitance, which fixes the scale ``k_c``."""
    d = {k: np.asarray(v, float) for k, v in tr.dac.items()}
    c_hw = C_MAX_PF * (d["capacitance"] + 1) / 64.0
    k_c = c_hw / np.asarray(cm, float)
    volt = lambda x: (x * MV_PER_DAC - V_OFFSET_MV) / K_V  # noqa: E731
    out = {"cm": np.asarray(cm, float), "tau_m": c_hw / (d["i_bias_leak"] * LEAK_US_PER_LSB) / US_PER_MS,
           "i_offset": d["i_const"] * I_CONST_NA_PER_LSB / (k_c * K_V),
           "tau_refrac": (d["refractory_count"] * 2 ** d["refractory_clock"]) * REFRACTORY_NS_PER_CYCLE
           / 1e3 / US_PER_MS,
           "tau_syn_E": TAU_SYN_SCALE_US / d["i_bias_syn_exc_tau"] / US_PER_MS,
           "tau_syn_I": TAU_SYN_SCALE_US / d["i_bias_syn_inh_tau"] / US_PER_MS}
    for pynn_name, (hw, kind) in TABLES[model].items():
        if kind == "voltage":
            out[pynn_name] = volt(d[hw])
    if model == "EIF_cond_exp_isfa_ista":
        out["delta_T"] = d["i_bias_exp"] * EXP_MV_PER_LSB / K_V
        out["tau_w"] = TAU_W_SCALE_US / d["i_bias_adapt_tau"] / US_PER_MS
        out["a"] = np.where(d["invert_a"] > 0, -1, 1) * d["i_bias_adapt_a"] * ADAPT_A_US_PER_LSB / k_c * 1e3
        out["b"] = np.where(d["invert_b"] > 0, -1, 1) * d["i_bias_adapt_b"] * ADAPT_B_NA_PER_LSB / (k_c * K_V)
    return out


def stp_to_hw(U: float, tau_rec: float, tau_facil: float) -> dict:
    """Tsodyks–Markram parameters (ms) → the synapse driver's 4-bit STP settings.

    U = (utilisation + 1)/16; τ = 2 µs · 2**(recovery/2). Depression when ``tau_facil`` is
    0, facilitation when ``tau_rec`` is 0: a driver does one of the two."""
    if not 0.0 < U <= 1.0:
        raise TranslationError("U", f"U={U:g} is outside the hardware range 1/16 … 1 (4 bit: U = (value+1)/16)")
    if tau_facil > 0 and tau_rec > 0:
        raise TranslationError("tau_facil", f"tau_rec={tau_rec:g} ms and tau_facil={tau_facil:g} ms are both set: a "
                                            f"synapse driver does either depression (tau_facil=0) or facilitation "
                                            f"(tau_rec=0)")
    mode, tau = ("facilitation", tau_facil) if tau_facil > 0 else ("depression", tau_rec)
    lo, hi = 2.0 / US_PER_MS, 2.0 * 2 ** 7.5 / US_PER_MS
    name = "tau_facil" if mode == "facilitation" else "tau_rec"
    if not lo * 0.8 <= tau <= hi * 1.2:
        raise TranslationError(name, f"{name}={tau:g} ms is outside the hardware range {lo:g} … {hi:.0f} ms "
                                     f"(τ = 2 µs · 2**(value/2), 4 bit)")
    recovery = int(np.clip(np.rint(2 * np.log2(tau * US_PER_MS / 2.0)), 0, C.STP_PARAMETER_MAX))
    utilisation = int(np.clip(np.rint(16 * U - 1), 0, C.STP_PARAMETER_MAX))
    return {"mode": mode, "utilisation": utilisation, "recovery": recovery}


def background_settings(rate_hz: float, size: int) -> tuple[int, int]:
    """(period in 250 MHz cycles, 8-bit rate) of a background generator whose ``size``
    labels each fire at ``rate_hz`` (biological): the smallest emission probability —
    the closest to a Poisson process — whose period realises the rate within 1 %."""
    per_us = size * rate_hz * 1e-3 / US_PER_MS  # events per hardware µs
    cycle_us = 1.0 / 250.0
    best = None
    for rate in range(1, 256):
        period = int(np.clip(np.rint(rate / 256.0 / (per_us * cycle_us)), 1, 0xFFFF))
        err = abs(rate / 256.0 / (period * cycle_us) - per_us) / per_us
        if best is None or err < best[0] - 1e-12:
            best = (err, period, rate)
        if err < 0.01:
            return period, rate
    return best[1], best[2]
