"""Parameter translation of the PyNN backend: populations on placed circuits → hardware values.

Translation happens after placement, one chip at a time, through calibration
(``bss2emu.calib``), the way BSS-2's software stack does it:

1. every neuron of a standard cell type (biological units) or of a calibrated
   hardware-unit type (``CalibHXNeuronCuba``/``CalibHXNeuronCoba``) becomes calibration
   targets for the circuit it was placed on (``calib.bio_targets``: voltage map
   ``units.bio_mv_to_hw_mv``, 1 ms biological = 1 µs hardware; the largest weight onto a
   neuron sets its synaptic gain so that it becomes weight 63);
2. ``calib.calibrate(targets, serial)`` finds each circuit's DAC values by measuring the
   emulated chip — once per chip serial and set of targets, then from the calibration store
   (``$BSS2EMU_CALIB_DIR``); an ideal chip (``setup(ideal=True)``) is translated through its
   nominal maps;
3. weights become 6-bit codes with the measured gain of each postsynaptic circuit
   (``weight_lsb``), a constant current (``i_offset`` plus current sources) an ``i_const``
   code with the measured current gain.

``HXNeuron`` values are hardware values and pass as they are. Synapse-driver STP and the
on-chip Poisson source are translated by ``stp_to_hw`` and ``background_settings``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..calib import CalibrationTargets, calibrate
from ..calib.translate import (
    BIO_MAP, BIO_PARAMETERS, BioMap, TranslationError, achieved_bio, bio_capacitance, bio_targets,
    explain_unreachable, fit_bio_map, signs, weight_lsb,
)
from ..calib import translate as _calib
from ..chip_actor.analog import capacitance_pf
from ..errors import ConfigError
from ..protocol import coordinates as C
from ..units import ACCELERATION

__all__ = ["TranslationError", "NeuronTranslation", "Placed", "calibrate_chip", "neuron_translation", "check_bio",
           "BIO_PARAMETERS", "bio_capacitance", "stp_to_hw", "stp_from_hw", "background_settings", "US_PER_MS", "DAC",
           "STP_DEVIATION", "fit_bio_map", "BioMap"]

US_PER_MS = 1000.0 / ACCELERATION
"""Hardware µs per biological ms (1.0: the 1000× acceleration)."""
DAC = C.DAC_MAX
CODE_SLACK = 0.03
"""A weight up to 3 % above code 63's value (calibration residual) is realised as 63."""
STP_DEVIATION = 0.05
"""A realised STP parameter farther than this (relative) from the one asked for is warned about."""

# calibrated hardware-unit cell types: PyNN parameter → calibration target (hardware mV, µs)
MAX_WEIGHT = {"excitatory": "max_weight_E", "inhibitory": "max_weight_I"}
"""Receptor → the calibration's parameter for the largest weight onto a neuron."""
HW_TARGETS = {
    "v_rest": "v_leak_mv", "v_reset": "v_reset_mv", "v_thresh": "v_threshold_mv", "tau_m": "tau_m_us",
    "tau_syn_E": "tau_syn_exc_us", "tau_syn_I": "tau_syn_inh_us", "tau_refrac": "tau_ref_us",
    "psp_E": "psp_exc_mv", "psp_I": "psp_inh_mv", "e_rev_E": "e_rev_exc_mv", "e_rev_I": "e_rev_inh_mv",
    "cm": "capacitance",
}


@dataclass
class Placed:
    """The neurons of one population on one chip: what calibrating that chip needs.

    ``index``: the neurons (population indices) and ``circuits`` their circuits;
    ``params``: PyNN parameter → one value per neuron (biological units) for standard
    types, calibration targets for calibrated hardware types (``hardware=True``);
    ``max_weight``: receptor → the largest |weight| onto each neuron (biological units)."""

    index: np.ndarray
    circuits: np.ndarray
    params: dict[str, np.ndarray]
    hardware: bool = False
    max_weight: dict[str, np.ndarray] = field(default_factory=dict)
    label: str = "neurons"
    capacitance: np.ndarray | None = None
    conductance: bool = False
    bio_map: BioMap = BIO_MAP  # the population's voltage map (its offset chosen by fit_bio_map)

    def bio_params(self) -> dict[str, np.ndarray]:
        return with_max_weights(self.params, self.max_weight)


def with_max_weights(params: dict[str, np.ndarray], max_weight: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """PyNN parameters plus the largest weight onto each neuron per receptor, as ``calib``
    takes them (``max_weight_E``/``max_weight_I``)."""
    return params | {MAX_WEIGHT[rec]: w for rec, w in max_weight.items()}


def fold_negative_current(params: dict[str, np.ndarray], schedule, size: int):
    """A negative constant current as a lower leak potential: with ``I_min`` the lowest
    current a neuron gets in the segment (``i_offset`` plus current sources, when < 0),
    ``C dV/dt = −g_L (V − E_L) + I`` is ``−g_L (V − (E_L + I_min/g_L)) + (I − I_min)``
    exactly, so the leak potential moves by ``I_min·tau_m/cm`` and the current DAC adds
    ``I − I_min ≥ 0`` (the chip's constant current only adds charge). Exact only without
    subthreshold adaptation (``a·(V − v_rest)`` would see the moved leak): neurons with
    ``a ≠ 0`` keep their current. Returns the parameters to calibrate and ``I_min`` (nA, ≤ 0)."""
    if not {"i_offset", "v_rest", "tau_m", "cm"} <= set(params):
        return params, np.zeros(size)
    lowest = params["i_offset"] + (np.min([c for _, c in schedule], axis=0) if schedule else 0.0)
    folded = np.minimum(lowest, 0.0)
    if "a" in params:
        folded = np.where(params["a"] != 0.0, 0.0, folded)
    if not folded.any():
        return params, np.zeros(size)
    out = dict(params)
    out["v_rest"] = params["v_rest"] + folded * params["tau_m"] / params["cm"]
    out["i_offset"] = params["i_offset"] - folded
    if "max_current" in params:
        out["max_current"] = params["max_current"] - folded
    return out, folded


def check_bio(params: dict) -> None:
    """Raise ``TranslationError`` if neurons with PyNN ``params`` (and, as ``max_weight_E/I``,
    their largest weights) cannot be calibrated, translated as the backend translates
    them: a negative ``i_offset`` folded into the leak potential, the voltages through the
    population's own voltage map (``fit_bio_map``)."""
    n = max((np.size(v) for v in params.values()), default=1)
    arrays = {k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in params.items()}
    folded, _ = fold_negative_current(arrays, [], n)
    population_map([folded], lambda bio_map: _calib.check_bio(folded, bio_map))


V_SCALES = (10.0, 9.0, 8.0, 7.0, 6.0, 5.0)
"""Voltage scales (hardware mV per biological mV) a population may get, tried in this
order: the default (``units.V_SCALE``) first. A smaller scale maps the same dynamics onto
smaller hardware swings — everything a neuron does is linear in it: voltage differences,
``delta_T``, the adaptation jump ``b/g_L`` and ``I/g_L``, current-based PSPs — at the
cost of resolution: at 5 a voltage-DAC step or an MADC code (≈ 1.2 mV) is 0.23 mV
biological, and the chip's noise counts twice as much."""


def population_map(params_sets: list[dict], check) -> BioMap:
    """The voltage map of one population: the largest scale of ``V_SCALES`` at which its
    voltages fit the calibrated window (offset free, ``fit_bio_map``) and ``check(bio_map)``
    (raising ``TranslationError``) passes. Otherwise the smallest scale's error: every
    scale-dependent limit is widest there, so the range it states is what no scale,
    capacitance or offset gets beyond."""
    for scale in V_SCALES:
        try:
            bio_map = fit_bio_map(params_sets, scale)
            check(bio_map)
            return bio_map
        except TranslationError as err:
            last = err
    raise TranslationError(last.parameter, f"{last} (stated at the smallest voltage scale, {V_SCALES[-1]:g} hardware "
                                           f"mV per mV, with capacitance and voltage offset free: no scale reaches "
                                           f"further)")


def hardware_targets(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Calibration targets of a calibrated hardware-unit type's parameters."""
    out = {HW_TARGETS[k]: np.asarray(v, float) for k, v in params.items() if k in HW_TARGETS}
    for syn, rev in (("exc", "e_rev_E"), ("inh", "e_rev_I")):
        if rev in params:
            out[f"coba_{syn}"] = np.ones(len(np.atleast_1d(params[rev])))
    return out


def calibrate_chip(placed: list[Placed], serial: int, ideal: bool):
    """The calibration of one chip for the neurons ``placed`` on it (one result per chip
    and set of targets: measured once, then read from the store). Raises
    ``TranslationError`` naming the parameter a circuit cannot reach."""
    targets = CalibrationTargets()
    for pl in placed:
        with _named(pl):
            if pl.hardware:
                targets = targets.updated(pl.circuits, pl.params)
            else:
                targets = bio_targets(pl.bio_params(), pl.circuits, bio_map=pl.bio_map, base=targets,
                                      capacitance=pl.capacitance)
    result = calibrate(targets, serial=serial, ideal=ideal, store=not ideal)
    for _ in range(GAIN_RETRIES):  # a coarse gain DAC may land below the largest weight's need
        short = _short_gains(result, placed)
        if not short:
            break
        try:
            for circuits, name, factor in short:
                targets = targets.updated(circuits, {name: targets[name][circuits] * factor})
            result = calibrate(targets, serial=serial, ideal=ideal, store=not ideal)
        except ConfigError:  # beyond the gain's range: the weight check names it
            break
    for pl in placed:
        with _named(pl):
            explain_unreachable(result, pl.circuits, None if pl.hardware else pl.bio_params(), pl.bio_map)
    return result


GAIN_RETRIES = 4
"""Times ``calibrate_chip`` raises the synaptic-gain target of circuits whose largest weight
would need a code above 63: at small weights the gain DAC is a few LSB, and its nearest
setting can realise up to a third less than asked."""
_PSP_TARGET = {"excitatory": "psp_exc_mv", "inhibitory": "psp_inh_mv"}


def _short_gains(result, placed: list[Placed]) -> list[tuple[np.ndarray, str, np.ndarray]]:
    """(circuits, PSP target, factor) where the calibrated weight LSB makes the largest
    weight onto a neuron need a code above 63 (+ ``CODE_SLACK``): raise those targets by
    the missing factor and one more DAC step's worth (a step of the DAC setting found)."""
    out = []
    for pl in placed:
        if pl.hardware:
            continue
        cm = np.broadcast_to(np.asarray(pl.params.get("cm", 1.0), float), (len(pl.index),))
        conductance = pl.conductance
        for receptor, wmax in pl.max_weight.items():
            lsb = weight_lsb(result, pl.circuits, cm, receptor, conductance, pl.bio_map)
            with np.errstate(divide="ignore", invalid="ignore"):
                need = np.where(lsb > 0, wmax / lsb / C.WEIGHT_MAX, 0.0)
            bad = need > 1.0 + CODE_SLACK
            if bad.any():
                dac = result.dac[f"i_bias_syn_{'exc' if receptor == 'excitatory' else 'inh'}_gm"][pl.circuits[bad]]
                out.append((pl.circuits[bad], _PSP_TARGET[receptor], need[bad] * (1.0 + 0.5 / np.maximum(dac, 1))))
    return out


@contextmanager
def _named(pl: Placed):
    """Prefix a translation error with the neurons it concerns."""
    try:
        yield
    except TranslationError as err:
        raise TranslationError(err.parameter, f"{pl.label}: {err}") from None
    except ConfigError as err:  # a hardware-unit target out of its range
        raise TranslationError("target", f"{pl.label}: {err}") from None


@dataclass
class NeuronTranslation:
    """Hardware values of a population's neurons (aligned with the population).

    ``dac``: hardware parameter → int array; ``weight_lsb``: receptor → the weight (PyNN
    units) of one weight-code LSB onto each neuron (1.0: weights are hardware codes);
    ``achieved``: what the calibrated chip realises, in the population's parameter names
    and units; ``current_gain``/``current_offset``: per neuron, the membrane slope
    (hardware mV/µs) per ``i_const`` LSB and at 0; ``cm``: the neurons' biological
    capacitance (nF), which turns a current into a slope; ``bio_map``: the population's
    voltage map; ``folded_current_na``: per neuron the (negative) constant current realised
    as a lower leak potential (``v_rest + I·tau_m/cm``) rather than by the current DAC."""

    dac: dict[str, np.ndarray]
    weight_lsb: dict[str, np.ndarray]
    achieved: dict[str, np.ndarray] = field(default_factory=dict)
    current_gain: np.ndarray | None = None
    current_offset: np.ndarray | None = None
    cm: np.ndarray | None = None
    bio_map: BioMap = BIO_MAP
    folded_current_na: np.ndarray | None = None

    def i_const(self, current_na) -> np.ndarray:
        """``i_const`` codes of a biological constant current (nA) per neuron, less the part
        folded into the leak potential (what remains is ≥ 0)."""
        current = np.asarray(current_na, float) - (0.0 if self.folded_current_na is None else self.folded_current_na)
        slope = self.bio_map.v_scale * current / self.cm  # mV/ms bio → mV/µs hardware
        code = np.rint((slope - self.current_offset) / self.current_gain)
        return np.clip(code, 0, None).astype(np.int64)

    def scales(self) -> dict[str, np.ndarray | float]:
        """How the population was translated (what ``realised_parameters().scales`` shows):
        ``v_scale`` (hardware mV per mV) and ``v_offset_mv`` (hardware mV at 0 mV) of its
        voltage map; per neuron the ``capacitance`` setting (0…63), its nominal
        ``capacitance_pf``, ``current_scale`` (hardware current per biological current,
        C_hw/cm · v_scale: every current, conductance, weight, ``a`` and ``b`` is scaled by
        it, so the biological dynamics are unchanged) and ``folded_current_na`` (the
        negative constant current realised as a lower leak potential)."""
        if self.cm is None or "capacitance" not in self.dac:  # hardware values: no translation
            return {}
        c_pf = capacitance_pf(self.dac["capacitance"])
        size = len(c_pf)
        return {"v_scale": self.bio_map.v_scale, "v_offset_mv": self.bio_map.v_offset_mv,
                "capacitance": np.asarray(self.dac["capacitance"]), "capacitance_pf": c_pf,
                "current_scale": c_pf / self.cm * self.bio_map.v_scale,
                "folded_current_na": np.zeros(size) if self.folded_current_na is None else self.folded_current_na}

    def weight_codes(self, weights, post_ix, receptor: str) -> np.ndarray:
        """6-bit codes of |weights| onto the neurons ``post_ix``. The largest weight onto a
        neuron was calibrated to code 63; the calibration's residual (PSP ≤ 1.5 %) may ask
        for a little more, which stays 63. Codes > 63 remain: they are out of range."""
        if self.cm is None:  # a hardware cell type: the weights are the codes, rounded as pynn.brainscales2 does
            return np.rint(np.abs(np.asarray(weights, float))).astype(np.int64)
        exact = np.abs(weights) / self.weight_lsb[receptor][post_ix]
        return np.where(exact <= C.WEIGHT_MAX * (1 + CODE_SLACK), np.minimum(np.rint(exact), C.WEIGHT_MAX),
                        np.rint(exact)).astype(np.int64)


def neuron_translation(result, pl: Placed, size: int, conductance: bool, cm=None) -> NeuronTranslation:
    """The hardware values of one population's neurons on one chip, from its chip's calibration
    (neurons of the population elsewhere stay zero: merge with ``merge``)."""
    vals = result.neuron_values(pl.circuits) | ({} if pl.hardware else signs(pl.params, len(pl.index)))
    dac = {k: _scatter(size, pl.index, v, np.int64) for k, v in vals.items()}
    if pl.hardware:
        lsb = {r: np.ones(size) for r in ("excitatory", "inhibitory")}
        return NeuronTranslation(dac, lsb)
    cm_nf = np.broadcast_to(np.asarray(cm, float), (len(pl.index),))
    lsb = {r: _scatter(size, pl.index, weight_lsb(result, pl.circuits, cm_nf, r, conductance, pl.bio_map),
                            float)
           for r in ("excitatory", "inhibitory")}
    achieved = {k: _scatter(size, pl.index, v, float)
                for k, v in achieved_bio(result, pl.bio_params(), pl.circuits, pl.bio_map).items()}
    g = result.gains
    return NeuronTranslation(dac, lsb, achieved, _scatter(size, pl.index, g["i_const_mv_per_us"][pl.circuits], float),
                             _scatter(size, pl.index, g["i_const_offset_mv_per_us"][pl.circuits], float),
                             _scatter(size, pl.index, cm_nf, float), pl.bio_map)


class RealisedParameters(dict):
    """PyNN parameter → realised value per neuron (a dict, as NEST takes parameters), and
    ``scales``: how they were translated (``NeuronTranslation.scales``)."""

    def __init__(self, values: dict, scales: dict) -> None:
        super().__init__(values)
        self.scales = scales


def merge(parts: list[NeuronTranslation], index: list[np.ndarray]) -> NeuronTranslation:
    """One population's translation from its parts on several chips (``index``: the neurons of each)."""
    out = parts[0]
    for part, ix in zip(parts[1:], index[1:]):
        for name in ("dac", "weight_lsb", "achieved"):
            for k, v in getattr(part, name).items():
                getattr(out, name)[k][ix] = v[ix]
        for name in ("current_gain", "current_offset", "cm", "folded_current_na"):
            if getattr(part, name) is not None:
                getattr(out, name)[ix] = getattr(part, name)[ix]
    return out


def _scatter(size: int, index: np.ndarray, values, dtype) -> np.ndarray:
    out = np.zeros(size, dtype)
    out[index] = values
    return out


def stp_to_hw(U: float, tau_rec: float, tau_facil: float) -> dict:
    """Tsodyks–Markram parameters (ms) → the synapse driver's 4-bit STP settings (each
    rounded to the nearest grid point; ``stp_from_hw`` gives what they realise).

    U = (utilisation + 1)/16; τ = 2 µs · 2**(recovery/2). Depression when ``tau_facil`` is
    0, facilitation when ``tau_rec`` is 0: a driver does one of the two. (The PyNN
    ``Projection`` passes a time constant up to the time step as 0.)"""
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


def stp_from_hw(settings: dict) -> tuple[float, float, float]:
    """(U, tau_rec, tau_facil) (ms) that a synapse driver's STP settings (``stp_to_hw``)
    realise; the time constant of the mode not used is 0.

    >>> stp_from_hw(stp_to_hw(0.3, 100.0, 0.0))  # U on 1/16 steps, τ on steps of √2
    (0.3125, 90.50966799187809, 0.0)
    """
    U = (settings["utilisation"] + 1) / 16.0
    tau = 2.0 * 2.0 ** (settings["recovery"] / 2.0) / US_PER_MS
    return (U, 0.0, tau) if settings["mode"] == "facilitation" else (U, tau, 0.0)


def stp_text(stp) -> str:
    """(U, tau_rec, tau_facil) as PyNN arguments; "static" for None."""
    return "static" if stp is None else "U={:g}, tau_rec={:g} ms, tau_facil={:g} ms".format(*stp)


def background_settings(rate_hz: float, size: int, us_per_ms: float = US_PER_MS) -> tuple[int, int]:
    """(period in 250 MHz cycles, 8-bit rate) of a background generator whose ``size``
    labels each fire at ``rate_hz`` (per second of the view's time: ``us_per_ms`` hardware µs per ms): the smallest emission probability —
    the closest to a Poisson process — whose period realises the rate within 1 %."""
    per_us = size * rate_hz * 1e-3 / us_per_ms  # events per hardware µs
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
