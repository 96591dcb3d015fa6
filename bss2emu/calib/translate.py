"""Translation of PyNN's biological parameters and weights into hardware values.

The map (``BioMap``, defaults ``V_OFFSET_MV = 1000``, ``V_SCALE = 10``; the same as
``bss2emu.pynn.translation``'s ideal-chip map)::

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

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..units import ACCELERATION
from .calibration import StoreArg, calibrate
from .result import CalibrationResult
from .targets import REFERENCE_WEIGHT, TARGET_FIELDS, CalibrationTargets, psp_shape_us

N = C.NEURONS_PER_CHIP
V_OFFSET_MV = 1000.0
V_SCALE = 10.0
# PyNN's parameters this module understands (units) and the PyNN defaults of IF_curr_exp /
# EIF_cond_exp_isfa_ista where a cell type does not have them
BIO_PARAMETERS: dict[str, str] = {
    "v_rest": "mV", "v_reset": "mV", "v_thresh": "mV", "v_spike": "mV", "cm": "nF", "tau_m": "ms",
    "tau_syn_E": "ms", "tau_syn_I": "ms", "tau_refrac": "ms", "i_offset": "nA", "e_rev_E": "mV", "e_rev_I": "mV",
    "delta_T": "mV", "a": "nS", "b": "nA", "tau_w": "ms", "max_weight_E": "nA or uS", "max_weight_I": "nA or uS",
}
BIO_DEFAULTS: dict[str, float] = {
    "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -50.0, "cm": 1.0, "tau_m": 20.0, "tau_syn_E": 5.0,
    "tau_syn_I": 5.0, "tau_refrac": 0.1, "i_offset": 0.0, "a": 0.0, "b": 0.0, "tau_w": 144.0, "v_spike": -40.0,
}
_TIME_FACTOR = 1000.0 / ACCELERATION  # hardware µs per biological ms


@dataclass(frozen=True)
class BioMap:
    """Biological ↔ hardware voltages: ``v_hw_mv = v_offset_mv + v_scale · v_bio_mv``.

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


def bio_targets(params: dict, circuits=None, bio_map: BioMap = BIO_MAP,
                base: CalibrationTargets | None = None) -> CalibrationTargets:
    """Calibration targets (all 512 circuits) for neurons with PyNN ``params`` placed on
    ``circuits`` (default 0..n-1); other circuits keep ``base`` (default targets)."""
    circ = None if circuits is None else np.atleast_1d(np.asarray(circuits, dtype=np.int64))
    p, n = _params(params, None if circ is None else len(circ))
    circ = np.arange(n) if circ is None else circ
    if len(circ) > N or (len(circ) and (circ.min() < 0 or circ.max() >= N)) or len(np.unique(circ)) != len(circ):
        raise ConfigError(f"circuits must be distinct values 0..{N - 1}, one per neuron ({n} neurons)")

    def get(name):
        return p[name] if name in p else np.full(n, BIO_DEFAULTS[name])

    cm, tau_m = get("cm"), get("tau_m")
    if (cm <= 0).any() or (tau_m <= 0).any():
        raise ConfigError("cm and tau_m must be positive")
    s = bio_map.v_scale
    tg: dict[str, np.ndarray] = {
        "v_leak_mv": bio_map.v_hw(get("v_rest")), "v_reset_mv": bio_map.v_hw(get("v_reset")),
        "tau_m_us": tau_m * _TIME_FACTOR, "tau_syn_exc_us": get("tau_syn_E") * _TIME_FACTOR,
        "tau_syn_inh_us": get("tau_syn_I") * _TIME_FACTOR, "tau_ref_us": get("tau_refrac") * _TIME_FACTOR,
        "i_offset_mv": s * get("i_offset") * tau_m / cm,
    }
    if "delta_T" in p:  # exponential integrate-and-fire: v_thresh is V_T, v_spike the comparator
        tg["delta_t_mv"] = s * p["delta_T"]
        tg["v_exp_mv"] = bio_map.v_hw(get("v_thresh"))
        tg["v_threshold_mv"] = bio_map.v_hw(get("v_spike"))
    else:
        tg["v_threshold_mv"] = bio_map.v_hw(get("v_thresh"))
    if "a" in p or "b" in p:
        tg["a_ratio"] = get("a") * 1e-3 * tau_m / cm  # nS → µS; g_L = cm/τ_m (µS)
        tg["b_mv"] = s * get("b") * tau_m / cm
        tg["tau_w_us"] = get("tau_w") * _TIME_FACTOR
    for syn, rev in (("exc", "e_rev_E"), ("inh", "e_rev_I")):
        if rev in p:
            tg[f"coba_{syn}"] = np.ones(n)
            tg[f"e_rev_{syn}_mv"] = bio_map.v_hw(p[rev])
    # synaptic gain: the largest weight onto a neuron becomes weight 63
    for syn, key in (("exc", "max_weight_E"), ("inh", "max_weight_I")):
        if key not in p:
            continue
        w = np.abs(p[key])
        per_event = w / cm  # mV/ms (current) or 1/ms (conductance) in biological units
        shape = REFERENCE_WEIGHT * psp_shape_us(tg["tau_m_us"], tg[f"tau_syn_{syn}_us"])
        if f"coba_{syn}" in tg:
            drive = np.abs(tg[f"e_rev_{syn}_mv"] - tg["v_leak_mv"])
            psp = per_event / REFERENCE_WEIGHT * shape * drive
        else:
            psp = s * per_event / REFERENCE_WEIGHT * shape
        tg[f"psp_{syn}_mv"] = psp
    base = base or CalibrationTargets()
    full = base.as_dict()
    for name, values in tg.items():
        arr = full[name].copy()
        arr[circ] = values
        full[name] = arr
    try:
        return CalibrationTargets(**full)
    except ConfigError as err:
        raise ConfigError(f"{err} — from the biological parameters (voltage map v_hw = "
                          f"{bio_map.v_offset_mv:g} mV + {bio_map.v_scale:g}·v_bio, 1 ms → 1 µs)") from None


def _explain(result: CalibrationResult, circ: np.ndarray) -> None:
    """Raise if a neuron's target is out of its circuit's reach."""
    for name, bad in result.unreachable.items():
        hit = np.intersect1d(np.asarray(bad, dtype=np.int64), circ)
        if len(hit):
            f = next(f for f in TARGET_FIELDS if f.name == name)
            raise ConfigError(
                f"{f.doc}: target {result.targets[name][hit[0]]:g} cannot be reached on circuit {hit[0]} of chip "
                f"{'ideal' if result.ideal else result.serial} ({len(hit)} circuits affected); move the parameter "
                f"towards the defaults (see bss2emu.calib.translate for the ranges), or for synaptic gains use "
                f"smaller weights or a longer tau_syn/tau_m")


def calibrate_bio(params: dict, serial: int = 0, ideal: bool = False, circuits=None, bio_map: BioMap = BIO_MAP,
                  store: StoreArg = True, strict: bool = True) -> CalibrationResult:
    """Calibrate chip ``serial`` for neurons with PyNN ``params`` on ``circuits``.

    An ideal chip is translated through its exact nominal maps (no measurement, no store).
    ``strict``: raise ``ConfigError`` when a neuron's target is out of its circuit's reach."""
    targets = bio_targets(params, circuits, bio_map)
    result = calibrate(targets, serial=serial, ideal=ideal, store=False if ideal else store)
    if strict:
        n = _params(params, None if circuits is None else len(np.atleast_1d(circuits)))[1]
        _explain(result, np.arange(n) if circuits is None else np.atleast_1d(np.asarray(circuits, dtype=np.int64)))
    return result


def bio_to_hw(params: dict, serial: int = 0, ideal: bool = False, circuits=None, bio_map: BioMap = BIO_MAP,
              store: StoreArg = True) -> dict[str, np.ndarray]:
    """Hardware values of every neuron parameter for neurons with PyNN ``params``.

    ``params``: PyNN names (``BIO_PARAMETERS``) → one value or one per neuron; ``circuits``:
    the circuit of each neuron (default 0..n-1). Give all neurons of a chip in one call:
    each distinct set of targets is one calibration (cached in the store).

    >>> hw = bio_to_hw({"v_rest": -65.0, "tau_m": 10.0, "tau_syn_E": 5.0}, ideal=True)
    >>> int(hw["v_leak"][0]), int(hw["i_bias_leak"][0]), int(hw["i_bias_syn_exc_tau"][0])
    (298, 51, 60)
    """
    result = calibrate_bio(params, serial, ideal, circuits, bio_map, store)
    n = _params(params, None if circuits is None else len(np.atleast_1d(circuits)))[1]
    circ = np.arange(n) if circuits is None else np.atleast_1d(np.asarray(circuits, dtype=np.int64))
    return result.neuron_values(circ)


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
