"""Translation of PyNN's biological parameters and weights into hardware values.

The map (``BioMap``, defaults ``units.V_OFFSET_MV = 1000``, ``units.V_SCALE = 10``)::

    voltage   v_hw [mV]  = 1000 + 10 · v_bio [mV]     (-65 mV → 350 mV, -50 → 500, 0 → 1000;
                                                       -95 … +15 mV bio is the calibrated range)
    time      t_hw [µs]  = t_bio [ms]                 (the 1000× acceleration, units.ACCELERATION)

Everything else is translated through what it does to the membrane, normalised by the
capacitance — so neither PyNN's ``cm`` nor a circuit's (mismatched) capacitance appears in
a hardware target, and the calibration's measured gains absorb both:

=====================  =============================================  ======================
PyNN (units)           membrane effect (biological)                   hardware target
=====================  =============================================  ======================
i_offset (nA)          deflection at rest  i_offset·τ_m/cm  (mV)       i_offset_mv = 10 × that
a (nS)                 ratio  a/g_L = a·τ_m/(1000·cm)                  a_ratio
b (nA)                 jump of w in mV  b·τ_m/cm                        b_mv = 10 × that
delta_T (mV)           slope factor                                     delta_t_mv = 10 × Δ_T
weight, current (nA)   jump of dV/dt = w/cm  (mV/ms)                    10·w/cm mV/µs per event
weight, cond. (µS)     jump of g/C = w/cm  (1/ms)                       w/cm 1/µs per event
=====================  =============================================  ======================

A weight becomes ``round(jump / gain)`` LSBs, with ``gain`` the calibrated slope per
weight LSB of the postsynaptic circuit (``CalibrationResult.gains``); the synaptic gain
itself is calibrated so that the largest weight onto a neuron (``max_weight_E/I``, if
given) is weight 63 — otherwise to the default PSP target.

Cell types: the parameters of ``IF_curr_exp``, ``IF_cond_exp`` and
``EIF_cond_exp_isfa_ista``. With ``e_rev_E``/``e_rev_I`` present the input is
conductance-based; with ``delta_T`` present ``v_thresh`` is the exponential threshold V_T
and ``v_spike`` the spike threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import units

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..units import ACCELERATION
from .calibration import StoreArg, calibrate
from .models import LINEAR, RATE, ideal_characterisation, invert, model_value
from .result import CalibrationResult
from .targets import REFERENCE_WEIGHT, TARGET_FIELDS, CalibrationTargets, psp_shape_us

N = C.NEURONS_PER_CHIP
V_OFFSET_MV = units.V_OFFSET_MV
V_SCALE = units.V_SCALE
# PyNN's parameters this module understands (units) and the PyNN defaults of IF_curr_exp /
# EIF_cond_exp_isfa_ista where a cell type does not have them
BIO_PARAMETERS: dict[str, str] = {
    "v_rest": "mV", "v_reset": "mV", "v_thresh": "mV", "v_spike": "mV", "cm": "nF", "tau_m": "ms",
    "tau_syn_E": "ms", "tau_syn_I": "ms", "tau_refrac": "ms", "i_offset": "nA", "e_rev_E": "mV", "e_rev_I": "mV",
    "delta_T": "mV", "a": "nS", "b": "nA", "tau_w": "ms", "max_weight_E": "nA or uS", "max_weight_I": "nA or uS",
    "max_current": "nA",
}
BIO_DEFAULTS: dict[str, float] = {
    "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0, "cm": 1.0, "tau_m": 20.0, "tau_syn_E": 5.0,
    "tau_syn_I": 5.0, "tau_refrac": 0.1, "i_offset": 0.0, "a": 0.0, "b": 0.0, "tau_w": 144.0, "v_spike": -40.0,
}
_TIME_FACTOR = 1000.0 / ACCELERATION  # hardware µs per biological ms
_FIELD = {f.name: f for f in TARGET_FIELDS}


class TranslationError(ConfigError):
    """A biological value has no calibrated hardware counterpart; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(message)


@dataclass(frozen=True)
class BioMap:
    """Biological ↔ hardware voltages: ``v_hw_mv = v_offset_mv + v_scale · v_bio_mv``
    (defaults: ``units.V_OFFSET_MV``, ``units.V_SCALE``).

    >>> BioMap().v_hw(-65.0), BioMap().v_bio(500.0)
    (350.0, -50.0)
    """

    v_offset_mv: float = V_OFFSET_MV
    v_scale: float = V_SCALE

    def v_hw(self, v_bio_mv):
        """Biological membrane voltage (mV) → hardware voltage (mV)."""
        out = self.v_offset_mv + self.v_scale * np.asarray(v_bio_mv, dtype=np.float64)
        return float(out) if out.ndim == 0 else out

    def v_bio(self, v_hw_mv):
        """Hardware voltage (mV) → biological membrane voltage (mV)."""
        out = (np.asarray(v_hw_mv, dtype=np.float64) - self.v_offset_mv) / self.v_scale
        return float(out) if out.ndim == 0 else out


BIO_MAP = BioMap()

VOLTAGE_PARAMETERS = ("v_rest", "v_reset", "v_thresh", "v_spike", "e_rev_E", "e_rev_I")
"""PyNN parameters that are membrane voltages (mapped by a ``BioMap``)."""
_VOLTAGE_TARGETS = ("v_leak_mv", "v_reset_mv", "v_threshold_mv", "v_exp_mv", "e_rev_exc_mv", "e_rev_inh_mv")


def fit_bio_map(params_sets: list[dict], v_scale: float = V_SCALE) -> BioMap:
    """The voltage map of one population (``params_sets``: its PyNN parameters, e.g. one
    set per epoch): the default map where all its voltages are in the calibrated window
    (−95 … 15 mV biological), otherwise the same slope with the offset moved just far
    enough to bring them in — a network at ``v_rest = 0`` is then the default network
    shifted, which leaves every membrane equation unchanged (only differences of voltages
    enter them; recorded voltages are mapped back with the same map).

    >>> fit_bio_map([{"v_rest": -65.0, "v_thresh": -50.0}]).v_offset_mv
    1000.0
    >>> fit_bio_map([{"v_rest": 0.0, "v_reset": 0.0, "v_thresh": 20.0}]).v_offset_mv  # 20 mV → 1150 mV
    950.0
    """
    lo = max(_FIELD[f].low for f in _VOLTAGE_TARGETS)
    hi = min(_FIELD[f].high for f in _VOLTAGE_TARGETS)
    low, high = (np.inf, ""), (-np.inf, "")
    for params in params_sets:
        for name in VOLTAGE_PARAMETERS:
            if name in params:
                v = np.asarray(params[name], dtype=np.float64)
                if v.size and np.isfinite(v).all():
                    low, high = min(low, (float(v.min()), name)), max(high, (float(v.max()), name))
    if low[1] == "":
        return BioMap(V_OFFSET_MV, v_scale)
    first, last = lo - v_scale * low[0], hi - v_scale * high[0]  # offsets that keep the lowest/highest in
    if first > last + 1e-9:
        raise TranslationError(high[1], f"{low[1]}={low[0]:g} mV and {high[1]}={high[0]:g} mV are "
                                        f"{high[0] - low[0]:g} mV apart; the calibrated voltage window is "
                                        f"{(hi - lo) / v_scale:g} mV wide ({lo:g} … {hi:g} mV hardware at "
                                        f"{v_scale:g} mV per mV, offset free): bring the population's voltages "
                                        f"(v_rest, v_reset, v_thresh, v_spike, e_rev_E/I) within "
                                        f"{(hi - lo) / v_scale:g} mV of each other")
    return BioMap(float(np.clip(V_OFFSET_MV, first, last)), v_scale)


def _params(params: dict, n: int | None) -> tuple[dict[str, np.ndarray], int]:
    unknown = sorted(set(params) - set(BIO_PARAMETERS))
    if unknown:
        raise ConfigError(f"unknown neuron parameter(s) {', '.join(map(repr, unknown))} for translation: "
                          f"known are {', '.join(BIO_PARAMETERS)}")
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in params.items()}
    sizes = {len(a) for a in arrays.values() if len(a) != 1}
    if n is None:
        n = sizes.pop() if len(sizes) == 1 else (1 if not sizes else -1)
    if n < 0 or any(s != n for s in sizes):
        raise ConfigError(f"neuron parameters have different lengths {sorted(sizes)}: give one value or one per neuron")
    return {k: np.broadcast_to(a, (n,)).astype(np.float64) for k, a in arrays.items()}, n


class _Linear(NamedTuple):
    """A target as an affine function of one PyNN parameter: ``target = k·value + c``."""

    parameter: str
    value: np.ndarray
    k: np.ndarray
    c: np.ndarray | float = 0.0

    def target(self) -> np.ndarray:
        return self.k * self.value + self.c

    def bio(self, target) -> np.ndarray:
        return (np.asarray(target, dtype=np.float64) - self.c) / self.k


def _linear_targets(p: dict[str, np.ndarray], n: int, bio_map: BioMap) -> dict[str, _Linear]:
    """Each target the parameters ``p`` set, as an affine function of its PyNN parameter."""
    def get(name):
        return p[name] if name in p else np.full(n, BIO_DEFAULTS[name])

    cm, tau_m = get("cm"), get("tau_m")
    for name, v in (("cm", cm), ("tau_m", tau_m)):
        if (v <= 0).any() or not np.isfinite(v).all():
            raise TranslationError(name, f"{name}={v[(v <= 0) | ~np.isfinite(v)][0]:g} {BIO_PARAMETERS[name]} must be "
                                         f"positive and finite")
    s, off, t = bio_map.v_scale, bio_map.v_offset_mv, _TIME_FACTOR

    def volt(name):
        return _Linear(name, get(name), np.full(n, s), off)

    tg: dict[str, _Linear] = {
        "v_leak_mv": volt("v_rest"), "v_reset_mv": volt("v_reset"),
        "tau_m_us": _Linear("tau_m", tau_m, np.full(n, t)),
        "tau_syn_exc_us": _Linear("tau_syn_E", get("tau_syn_E"), np.full(n, t)),
        "tau_syn_inh_us": _Linear("tau_syn_I", get("tau_syn_I"), np.full(n, t)),
        "tau_ref_us": _Linear("tau_refrac", get("tau_refrac"), np.full(n, t)),
        "i_offset_mv": _Linear("i_offset", get("i_offset"), s * tau_m / cm),
    }
    if "delta_T" in p:  # exponential integrate-and-fire: v_thresh is V_T, v_spike the comparator
        tg["delta_t_mv"] = _Linear("delta_T", p["delta_T"], np.full(n, s))
        tg["v_exp_mv"] = volt("v_thresh")
        tg["v_threshold_mv"] = volt("v_spike")
    else:
        tg["v_threshold_mv"] = volt("v_thresh")
    if "a" in p or "b" in p:
        # magnitudes: a negative a or b is the circuit's sign switch (``signs``); nS → µS; g_L = cm/τ_m
        sign_a, sign_b = np.where(get("a") < 0, -1.0, 1.0), np.where(get("b") < 0, -1.0, 1.0)
        tg["a_ratio"] = _Linear("a", get("a"), sign_a * 1e-3 * tau_m / cm)
        tg["b_mv"] = _Linear("b", get("b"), sign_b * s * tau_m / cm)
        tg["tau_w_us"] = _Linear("tau_w", get("tau_w"), np.full(n, t))
    for syn, rev in (("exc", "e_rev_E"), ("inh", "e_rev_I")):
        if rev in p:
            tg[f"coba_{syn}"] = _Linear(rev, np.ones(n), np.ones(n))
            tg[f"e_rev_{syn}_mv"] = volt(rev)
    # synaptic gain: the largest weight onto a neuron becomes weight 63
    for syn, key in (("exc", "max_weight_E"), ("inh", "max_weight_I")):
        if key not in p:
            continue
        shape = psp_shape_us(tg["tau_m_us"].target(), tg[f"tau_syn_{syn}_us"].target())
        # per event: w/cm, mV/ms (current) or 1/ms (conductance) biological; at weight 63
        if f"coba_{syn}" in tg:
            k = shape / cm * np.abs(tg[f"e_rev_{syn}_mv"].target() - tg["v_leak_mv"].target())
        else:
            k = s * shape / cm
        tg[f"psp_{syn}_mv"] = _Linear(key, np.abs(p[key]), k)
    return tg


def _significant(x: np.ndarray, digits: int = 4) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (as ``f"{x:.4g}"`` prints it)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 10.0 ** (np.floor(np.log10(np.abs(x))) - (digits - 1))
        out = np.round(x / scale) * scale
    return np.where((x == 0) | ~np.isfinite(out), x, out) + 0.0  # + 0.0: no -0


def _bio_bounds(lin: _Linear, f) -> tuple[np.ndarray, np.ndarray]:
    """Per neuron the calibrated range of ``lin``'s PyNN parameter (``f``: its target's
    field), as the messages state it: to 4 significant digits, both ends inclusive. For
    ``a`` and ``b`` the target is the magnitude (a sign switch inverts it, ``signs``), so
    their range is symmetric."""
    ends = [np.broadcast_to(lin.bio(x), lin.value.shape) for x in (f.low, f.high)]
    lo, hi = np.minimum(*ends), np.maximum(*ends)
    if f.name in _SIGNED:
        hi = np.maximum(np.abs(lo), np.abs(hi))
        lo = -hi
    return _significant(lo), _significant(hi)


def _range_text(lo: np.ndarray, hi: np.ndarray, i: int, unit: str) -> str:
    return f"{lo[i]:.4g} … {hi[i]:.4g} {unit}"


def clipped_targets(tg: dict[str, _Linear]) -> dict[str, np.ndarray]:
    """The hardware targets, each within its field's range: a value at the stated end of
    its calibrated range (rounded to 4 digits, ``_bio_bounds``) may overshoot the exact
    end by up to 0.05 %, far below what a DAC step resolves."""
    return {name: np.clip(lin.target(), _FIELD[name].low, _FIELD[name].high) for name, lin in tg.items()}


_SIGNED = ("a_ratio", "b_mv")  # targets that are magnitudes, the sign a digital switch
_SCALED = ("i_offset_mv", "a_ratio", "b_mv", "psp_exc_mv", "psp_inh_mv")  # ranges that depend on cm, τ


def _check_ranges(tg: dict[str, _Linear]) -> None:
    """Raise ``TranslationError`` naming the PyNN parameter whose value leaves the calibrated
    range; the range is checked as the message states it (``_bio_bounds``, inclusive)."""
    for name, lin in tg.items():
        f = _FIELD[name]
        lo, hi = _bio_bounds(lin, f)
        x = lin.value
        slack = 1e-9 * np.maximum(np.abs(lo), np.abs(hi))  # the rounded ends are not exact binary numbers
        bad = ~((x >= lo - slack) & (x <= hi + slack))
        if not bad.any():
            continue
        i = int(np.flatnonzero(bad)[0])
        depends = " for this neuron's cm and tau_m" if name in _SCALED else ""
        if lin.parameter.startswith("max_weight"):
            syn = "exc" if lin.parameter.endswith("E") else "inh"
            unit = "uS" if f"coba_{syn}" in tg else "nA"
            raise TranslationError("weight", f"the largest {syn}itatory weight onto a neuron, {lin.value[i]:g} {unit}, "
                                             f"is outside the calibrated range {_range_text(lo, hi, i, unit)}{depends} "
                                             f"(a weight-63 PSP of at most {f.high:g} mV hardware): use smaller "
                                             f"weights, or a larger cm".replace("inhitatory", "inhibitory"))
        unit = BIO_PARAMETERS[lin.parameter]
        fix = ("the constant current cannot be negative: raise v_rest instead" if name == "i_offset_mv" and x[i] < 0
               else "use a value in that range")
        raise TranslationError(lin.parameter, f"{lin.parameter}={lin.value[i]:g} {unit} is outside the calibrated "
                                              f"range {_range_text(lo, hi, i, unit)}{depends} (hardware {f.doc}: "
                                              f"{f.low:g} … {f.high:g}): {fix}")


def signs(params: dict, n: int) -> dict[str, np.ndarray]:
    """The digital sign switches of the adaptation terms (``invert_a``, ``invert_b``) for
    neurons with PyNN ``params``: a negative ``a`` or ``b`` is its magnitude, inverted."""
    out = {}
    for name, flag in (("a", "invert_a"), ("b", "invert_b")):
        if name in params:
            out[flag] = np.broadcast_to(np.asarray(params[name], dtype=np.float64) < 0, (n,)).astype(np.int64)
    return out


def check_bio(params: dict, bio_map: BioMap = BIO_MAP) -> None:
    """Raise ``TranslationError`` (naming the PyNN parameter, its value and the calibrated
    range) if any neuron's ``params`` cannot be calibrated.

    >>> check_bio({"v_rest": -120.0})
    Traceback (most recent call last):
    ...
    bss2emu.calib.translate.TranslationError: v_rest=-120 mV is outside the calibrated range -95 … 15 mV \
(hardware leak (resting) potential, mV: 50 … 1150): use a value in that range
    """
    p, n = _params(params, None)
    _check_ranges(_linear_targets(p, n, bio_map))


HEADROOM = (0.6, 0.95)
"""Capacitance choice: a neuron's inputs should need at most the first fraction of the
nominal largest synaptic gain, constant current and adaptation strength (the rest is left
for the circuits' mismatch, ~10 % per gain), and may need up to the second when ``tau_m``
leaves no other choice."""


def _needs(values: dict[str, np.ndarray], max_current_mv: np.ndarray | None) -> list[tuple[str, str, np.ndarray]]:
    """What a neuron's inputs ask of the circuits: (characterised quantity, target it
    realises, slope it needs at full capacitance ÷ r), each slope proportional to its target."""
    tau = values["tau_m_us"]
    need = []
    for w in ("exc", "inh"):
        if f"psp_{w}_mv" not in values:
            continue
        shape = REFERENCE_WEIGHT * psp_shape_us(tau, values[f"tau_syn_{w}_us"])
        if f"coba_{w}" in values:
            drive = np.maximum(np.abs(values[f"e_rev_{w}_mv"] - values["v_leak_mv"]), 1e-9)
            need.append((f"coba_{w}_per_us", f"psp_{w}_mv", values[f"psp_{w}_mv"] / (shape * drive)))
        else:
            need.append((f"syn_{w}_mv_per_us", f"psp_{w}_mv", values[f"psp_{w}_mv"] / shape))
    current = values["i_offset_mv"] if max_current_mv is None else np.maximum(values["i_offset_mv"], max_current_mv)
    need.append(("i_const_mv_per_us", "i_offset_mv", current / tau))
    if "b_mv" in values:
        need += [("b_mv_per_us", "b_mv", values["b_mv"] / tau), ("a_per_us", "a_ratio", values["a_ratio"] / tau)]
    return need


def _room(quantity: str, slope: np.ndarray, headroom: float) -> np.ndarray:
    """The largest capacitance fraction r (setting + 1)/64 at which ``slope`` stays within
    ``headroom`` of what the circuit reaches (1 where it needs nothing)."""
    top = headroom * float(np.min(ideal_characterisation().predict(quantity, C.DAC_MAX)))
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, np.where(slope > 0, top / slope, 1.0))


def _smallest_capacitance(tau_m_us: np.ndarray) -> np.ndarray:
    """The smallest capacitance setting at which tau_m stays calibrated (τ_m/r ≤ 60 µs)."""
    return np.ceil(tau_m_us / _FIELD["tau_m_us"].high * 64.0 - 1.0 - 1e-9)


def choose_capacitance(values: dict[str, np.ndarray], max_current_mv: np.ndarray | None = None) -> np.ndarray:
    """Per neuron the largest capacitance setting (0…63) at which its targets ``values``
    (target name → per neuron) leave ``HEADROOM`` of every gain, and ``tau_m`` stays
    calibrated (-1 where none does); ``max_current_mv``: the largest constant current as
    a deflection I/g_L."""
    ch = ideal_characterisation()
    tau = values["tau_m_us"]
    need = _needs(values, max_current_mv)

    def largest(headroom: float) -> np.ndarray:
        r = np.ones(len(tau))
        for quantity, _, slope in need:
            r = np.minimum(r, _room(quantity, slope, headroom))
        return np.clip(np.floor(r * 64.0 - 1.0 + 1e-9), -1, C.CAPACITANCE_MAX)

    smallest = _smallest_capacitance(tau)
    top = np.maximum(largest(HEADROOM[0]), smallest)
    # among the settings that qualify, the one whose leak setting realises tau_m best (nominally)
    # — and a: its DAC step (``chip_actor.analog.ADAPTATION_A_US_PER_LSB``) is a/g_L ≈ 0.03 at
    # full capacitance, so a of a few nS lands on 1–4 steps; the capacitance sets how many
    # steps a/g_L takes (a/C at the full-capacitance τ_m), and the worse of the two relative
    # errors decides
    caps = np.arange(C.CAPACITANCE_MAX + 1)[:, None]
    full = tau[None, :] * (C.CAPACITANCE_MAX + 1.0) / (caps + 1.0)
    a, b = (np.full(full.shape, part["tau_m_us"][0]) for part in (ch.a, ch.b))
    realised = model_value(RATE, a, b, invert(RATE, a, b, full, 1, C.DAC_MAX))
    err = np.abs(realised - full) / full
    if "a_ratio" in values:
        want = np.abs(values["a_ratio"])[None, :] / full
        a, b = (np.full(full.shape, part["a_per_us"][0]) for part in (ch.a, ch.b))
        got = model_value(LINEAR, a, b, invert(LINEAR, a, b, want, 0, C.DAC_MAX))
        with np.errstate(invalid="ignore", divide="ignore"):
            err = np.maximum(err, np.where(want > 0, np.abs(got - want) / np.where(want > 0, want, 1.0), 0.0))
    err = err - 1e-6 * caps  # ties: the larger capacitance
    err = np.where((caps >= smallest[None, :]) & (caps <= top[None, :]), err, np.inf)
    cap = np.argmin(err, axis=0)
    return np.where(largest(HEADROOM[1]) < smallest, -1, cap).astype(np.int64)


def bio_capacitance(params: dict, bio_map: BioMap = BIO_MAP) -> np.ndarray:
    """The capacitance setting ``bio_targets`` chooses for neurons with PyNN ``params``
    (take the smallest over several parameter sets to keep one for all of them)."""
    p, n = _params(params, None)
    tg = _linear_targets(p, n, bio_map)
    _check_ranges(tg)
    return _capacitance(tg, p, n)


def _capacitance(tg: dict[str, _Linear], p: dict[str, np.ndarray], n: int) -> np.ndarray:
    values = clipped_targets(tg)
    max_current = None if "max_current" not in p else tg["i_offset_mv"].k * p["max_current"]
    cap = choose_capacitance(values, max_current)
    if (cap < 0).any():
        i = int(np.flatnonzero(cap < 0)[0])
        raise _too_strong(tg, p, i, values, max_current)
    return cap


_STRENGTH = {  # target → (what the message calls it, PyNN parameter, what it is, as a noun)
    "psp_exc_mv": ("the largest excitatory weight onto a neuron", "max_weight_E", "synaptic input's gain"),
    "psp_inh_mv": ("the largest inhibitory weight onto a neuron", "max_weight_I", "synaptic input's gain"),
    "i_offset_mv": ("i_offset", "i_offset", "constant-current DAC"),
    "a_ratio": ("a", "a", "subthreshold adaptation circuit"), "b_mv": ("b", "b", "spike-triggered adaptation circuit"),
}


def _too_strong(tg: dict[str, _Linear], p: dict[str, np.ndarray], i: int, values: dict[str, np.ndarray],
                max_current: np.ndarray | None) -> TranslationError:
    """Why neuron ``i`` has no capacitance setting: the input furthest beyond what the
    circuits reach at the smallest setting its tau_m allows, with its limit there."""
    tau, cm = tg["tau_m_us"].value[i], p["cm"][i] if "cm" in p else BIO_DEFAULTS["cm"]
    r_min = (_smallest_capacitance(values["tau_m_us"])[i] + 1.0) / 64.0
    worst = min(_needs(values, max_current), key=lambda q: float(_room(q[0], q[2], HEADROOM[1])[i]))
    quantity, target, slope = worst
    what, parameter, circuit = _STRENGTH[target]
    value = abs(float(p[parameter][i])) if parameter in p else 0.0
    if target == "i_offset_mv" and max_current is not None and max_current[i] > values["i_offset_mv"][i]:
        what = "i_offset plus the injected current (DCSource, StepCurrentSource, …)"
        value = float(p["max_current"][i])
    unit = BIO_PARAMETERS[parameter] if not parameter.startswith("max_weight") else (
        "uS" if f"coba_{target[4:7]}" in tg else "nA")
    limit = value * float(_room(quantity, slope, HEADROOM[1])[i]) / r_min
    if limit > 0:  # stated to 3 digits, rounded down: the value stated is accepted
        scale = 10.0 ** (np.floor(np.log10(limit)) - 2)
        limit = np.floor(limit / scale * (1 + 1e-12)) * scale
    name = "weight" if parameter.startswith("max_weight") else parameter
    what = f"{what}={value:g} {unit}" if what == parameter else f"{what}, {value:g} {unit},"
    return TranslationError(name, f"no membrane capacitance realises tau_m={tau:g} ms with inputs this strong: "
                                  f"{what} is more than the {circuit} reaches at this tau_m and cm={cm:g} nF, at "
                                  f"most {limit:.3g} {unit} (at capacitance setting {int(round(r_min * 64)) - 1} of "
                                  f"63, the smallest that keeps tau_m calibrated); use at most {limit:.3g} {unit}, "
                                  f"a larger cm at this tau_m (a smaller input resistance; the limit grows with "
                                  f"it), or a shorter tau_m")


def bio_targets(params: dict, circuits=None, bio_map: BioMap = BIO_MAP,
                base: CalibrationTargets | None = None, capacitance=None) -> CalibrationTargets:
    """Calibration targets (all 512 circuits) for neurons with PyNN ``params`` placed on
    ``circuits`` (default 0..n-1); other circuits keep ``base`` (default targets). Each
    neuron gets the largest capacitance setting that leaves its inputs room
    (``choose_capacitance``; ``max_current``, nA: a larger current than ``i_offset`` to
    allow for, e.g. from current sources); ``capacitance`` (one or per neuron) overrides it."""
    circ = None if circuits is None else np.atleast_1d(np.asarray(circuits, dtype=np.int64))
    p, n = _params(params, None if circ is None else len(circ))
    circ = np.arange(n) if circ is None else circ
    tg = _linear_targets(p, n, bio_map)
    _check_ranges(tg)
    values = clipped_targets(tg)
    cap = _capacitance(tg, p, n) if capacitance is None else np.broadcast_to(capacitance, (n,))
    values["capacitance"] = np.asarray(cap, dtype=np.float64)
    return (base or CalibrationTargets()).updated(circ, values)


def achieved_bio(result: CalibrationResult, params: dict, circuits=None,
                 bio_map: BioMap = BIO_MAP) -> dict[str, np.ndarray]:
    """The PyNN parameters the calibrated chip realises (what ``result.achieved`` reports,
    in PyNN's names and units) for neurons with ``params`` on ``circuits``."""
    circ = None if circuits is None else np.atleast_1d(np.asarray(circuits, dtype=np.int64))
    p, n = _params(params, None if circ is None else len(circ))
    circ = np.arange(n) if circ is None else circ
    out = {}
    for name, lin in _linear_targets(p, n, bio_map).items():
        if name in result.achieved and not name.startswith("coba"):
            out[lin.parameter] = lin.bio(result.achieved[name][circ])
    return out


def explain_unreachable(result: CalibrationResult, circuits, params: dict | None = None,
                        bio_map: BioMap = BIO_MAP) -> None:
    """Raise ``TranslationError`` if a target of a neuron on ``circuits`` is out of its
    circuit's reach. With ``params`` (the neurons' PyNN parameters) only the targets they
    set count, and the error names the parameter at fault."""
    circ = np.atleast_1d(np.asarray(circuits, dtype=np.int64))
    lin = {}
    if params is not None:
        p, n = _params(params, len(circ))
        lin = _linear_targets(p, n, bio_map)
    for name, bad in result.unreachable.items():
        hit = np.intersect1d(np.asarray(bad, dtype=np.int64), circ)
        if not len(hit) or (params is not None and name not in lin):
            continue
        f = _FIELD[name]
        chip = "ideal" if result.ideal else result.serial
        what = f"{f.doc}: target {result.targets[name][hit[0]]:g}"
        if name in lin:
            i = int(np.flatnonzero(circ == hit[0])[0])
            what = f"{lin[name].parameter}={lin[name].value[i]:g} {BIO_PARAMETERS[lin[name].parameter]} ({what})"
        raise TranslationError(
            lin[name].parameter if name in lin else name,
            f"{what} cannot be reached on circuit {hit[0]} of chip {chip} (circuits affected: {len(hit)}): move the "
            f"parameter towards the defaults (see bss2emu.calib.translate for the ranges), or for synaptic gains "
            f"use smaller weights or a longer tau_syn/tau_m")


def calibrate_bio(params: dict, serial: int = 0, ideal: bool = False, circuits=None, bio_map: BioMap = BIO_MAP,
                  store: StoreArg = True, strict: bool = True) -> CalibrationResult:
    """Calibrate chip ``serial`` for neurons with PyNN ``params`` on ``circuits``.

    An ideal chip is translated through its exact nominal maps (no measurement, no store).
    ``strict``: raise ``TranslationError`` when a neuron's target is out of its circuit's reach."""
    targets = bio_targets(params, circuits, bio_map)
    result = calibrate(targets, serial=serial, ideal=ideal, store=False if ideal else store)
    if strict:
        n = _params(params, None if circuits is None else len(np.atleast_1d(circuits)))[1]
        explain_unreachable(result, np.arange(n) if circuits is None else circuits, params, bio_map)
    return result


def bio_to_hw(params: dict, serial: int = 0, ideal: bool = False, circuits=None, bio_map: BioMap = BIO_MAP,
              store: StoreArg = True) -> dict[str, np.ndarray]:
    """Hardware values of every neuron parameter for neurons with PyNN ``params``.

    ``params``: PyNN names (``BIO_PARAMETERS``) → one value or one per neuron; ``circuits``:
    the circuit of each neuron (default 0..n-1). Give all neurons of a chip in one call:
    each distinct set of targets is one calibration (cached in the store).

    >>> hw = bio_to_hw({"v_rest": -65.0, "tau_m": 10.0, "tau_syn_E": 5.0}, ideal=True)
    >>> int(hw["v_leak"][0]), int(hw["capacitance"][0]), int(hw["i_bias_leak"][0]), int(hw["i_bias_syn_exc_tau"][0])
    (638, 63, 107, 60)
    """
    result = calibrate_bio(params, serial, ideal, circuits, bio_map, store)
    n = _params(params, None if circuits is None else len(np.atleast_1d(circuits)))[1]
    circ = np.arange(n) if circuits is None else np.atleast_1d(np.asarray(circuits, dtype=np.int64))
    return result.neuron_values(circ) | signs(params, n)


def weight_lsb(calibration: CalibrationResult, post_circuits, cm_nf=1.0, receptor: str = "excitatory",
               conductance: bool = False, bio_map: BioMap = BIO_MAP) -> np.ndarray:
    """The biological weight (nA, or µS if ``conductance``) of one weight LSB onto each of
    ``post_circuits`` whose neuron has capacitance ``cm_nf``."""
    syn = _receptor(receptor)
    post = np.asarray(post_circuits, dtype=np.int64)
    gains = calibration.gains
    if conductance:
        return gains[f"coba_{syn}_per_us"][post] * np.asarray(cm_nf, dtype=np.float64)
    return gains[f"syn_{syn}_mv_per_us"][post] * np.asarray(cm_nf, dtype=np.float64) / bio_map.v_scale


def weights_to_hw(weights, post_circuits, calibration: CalibrationResult, cm_nf=1.0, receptor: str = "excitatory",
                  conductance: bool = False, bio_map: BioMap = BIO_MAP) -> tuple[np.ndarray, np.ndarray]:
    """PyNN weights (nA current-based, µS conductance-based) onto ``post_circuits`` → 6-bit
    hardware weights and the quantisation error (hardware weight's value minus the weight,
    in the weights' unit; at most half an LSB).

    Inhibitory current-based weights may be negative (PyNN's convention); the hardware
    weight is the magnitude on an inhibitory row.

    >>> from bss2emu.calib import calibrate
    >>> cal = calibrate(serial=0, ideal=True, store=False)
    >>> lsb = weight_lsb(cal, [0])[0]
    >>> w, err = weights_to_hw([10.2 * lsb], [0], cal)
    >>> int(w[0]), bool(abs(err[0]) <= lsb / 2)
    (10, True)
    """
    syn = _receptor(receptor)
    w = np.asarray(weights, dtype=np.float64)
    if syn == "exc" and (w < 0).any():
        raise ConfigError(f"excitatory weight {w[w < 0].flat[0]:g} is negative: excitatory weights are >= 0")
    if syn == "inh" and conductance and (w < 0).any():
        raise ConfigError(f"conductance-based weight {w[w < 0].flat[0]:g} is negative: conductances are >= 0")
    lsb = weight_lsb(calibration, post_circuits, cm_nf, receptor, conductance, bio_map)
    lsb = np.broadcast_to(lsb, w.shape) if np.ndim(lsb) else np.full(w.shape, lsb)
    exact = np.abs(w) / lsb
    too_big = exact > C.WEIGHT_MAX + 0.5
    if too_big.any():
        i = np.flatnonzero(too_big.ravel())[0]
        unit = "uS" if conductance else "nA"
        raise ConfigError(
            f"{receptor} weight {np.abs(w).ravel()[i]:g} {unit} needs {exact.ravel()[i]:.1f} weight LSBs; the hardware "
            f"has 0..{C.WEIGHT_MAX} (at most {C.WEIGHT_MAX * lsb.ravel()[i]:.4g} {unit} onto this neuron): "
            f"calibrate the neuron for larger weights (max_weight_{'E' if syn == 'exc' else 'I'}) "
            f"or use smaller weights")
    hw = np.rint(exact).astype(np.int64)
    return hw, (hw - exact) * lsb


def _receptor(receptor: str) -> str:
    if receptor in ("excitatory", "exc", "E"):
        return "exc"
    if receptor in ("inhibitory", "inh", "I"):
        return "inh"
    raise ConfigError(f"receptor type {receptor!r} is unknown: use 'excitatory' or 'inhibitory'")
