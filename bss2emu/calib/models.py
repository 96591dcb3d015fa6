"""What calibration characterises: per circuit, how each DAC value maps to a physical
quantity, as measured on one chip (``Characterisation``).

Quantities (hardware units; the DAC parameter each is set by; its transfer model)::

    v_leak_mv, v_reset_mv, v_threshold_mv,      mV     v_*             linear
    e_rev_exc_mv, e_rev_inh_mv, v_exp_mv        mV     e_rev_*, v_exp  linear
    tau_m_us                                    µs     i_bias_leak     rate (capacitance 63)
    tau_syn_exc_us, tau_syn_inh_us              µs     i_bias_syn_*_tau  rate
    tau_w_us                                    µs     i_bias_adapt_tau  rate
    syn_exc_mv_per_us, syn_inh_mv_per_us        mV/µs  i_bias_syn_*_gm  linear
        current-based input: slope of the membrane right after one event, per weight LSB (I/C)
    coba_exc_per_us, coba_inh_per_us            1/µs   i_bias_syn_*_gm  linear
        conductance-based input: g/C per weight LSB
    i_const_mv_per_us                           mV/µs  i_const          linear   (I/C)
    delta_t_mv                                  mV     i_bias_exp       linear
    a_per_us                                    1/µs   i_bias_adapt_a   linear   (a/C)
    b_mv_per_us                                 mV/µs  i_bias_adapt_b   linear   (b/C)

Currents and conductances are characterised relative to the circuit's own membrane
capacitance (what a membrane trace shows), which is what translating biological
parameters needs: ``dV/dt`` in mV/µs hardware is the biological mV/ms times the voltage
scale (``translate.BioMap``). All membrane-related quantities assume capacitance 63, the
setting calibration uses.

An ideal chip's characterisation (``ideal_characterisation``) comes from the nominal maps of
``chip_actor.analog``, evaluated without mismatch: the exact inverse a chip without
fixed-pattern noise would have.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..chip_actor import analog
from ..chip_actor.analog import chip_mismatch, neuron_physics
from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NeuronConfig
from .fit import LINEAR, RATE, invert, model_value

N = C.NEURONS_PER_CHIP
CAPACITANCE_HW = C.CAPACITANCE_MAX  # every calibrated circuit runs at the largest capacitance


class Quantity(NamedTuple):
    """A physical quantity set by one DAC parameter through a transfer model."""

    name: str
    parameter: str
    kind: str
    unit: str
    doc: str


QUANTITIES: tuple[Quantity, ...] = (
    Quantity("v_leak_mv", "v_leak", LINEAR, "mV", "leak (resting) potential"),
    Quantity("v_reset_mv", "v_reset", LINEAR, "mV", "reset potential"),
    Quantity("v_threshold_mv", "v_threshold", LINEAR, "mV", "spike threshold"),
    Quantity("e_rev_exc_mv", "e_rev_exc", LINEAR, "mV", "excitatory reversal potential"),
    Quantity("e_rev_inh_mv", "e_rev_inh", LINEAR, "mV", "inhibitory reversal potential"),
    Quantity("v_exp_mv", "v_exp", LINEAR, "mV", "exponential-term threshold V_T"),
    Quantity("tau_m_us", "i_bias_leak", RATE, "us", "membrane time constant"),
    Quantity("tau_syn_exc_us", "i_bias_syn_exc_tau", RATE, "us", "excitatory synaptic time constant"),
    Quantity("tau_syn_inh_us", "i_bias_syn_inh_tau", RATE, "us", "inhibitory synaptic time constant"),
    Quantity("tau_w_us", "i_bias_adapt_tau", RATE, "us", "adaptation time constant"),
    Quantity("syn_exc_mv_per_us", "i_bias_syn_exc_gm", LINEAR, "mV/us",
             "current-based excitatory input: membrane slope per weight LSB (I/C)"),
    Quantity("syn_inh_mv_per_us", "i_bias_syn_inh_gm", LINEAR, "mV/us",
             "current-based inhibitory input: membrane slope per weight LSB (I/C)"),
    Quantity("coba_exc_per_us", "i_bias_syn_exc_gm", LINEAR, "1/us",
             "conductance-based excitatory input: g/C per weight LSB"),
    Quantity("coba_inh_per_us", "i_bias_syn_inh_gm", LINEAR, "1/us",
             "conductance-based inhibitory input: g/C per weight LSB"),
    Quantity("i_const_mv_per_us", "i_const", LINEAR, "mV/us", "constant current over capacitance"),
    Quantity("delta_t_mv", "i_bias_exp", LINEAR, "mV", "exponential slope factor Delta_T"),
    Quantity("a_per_us", "i_bias_adapt_a", LINEAR, "1/us", "subthreshold adaptation a/C"),
    Quantity("b_mv_per_us", "i_bias_adapt_b", LINEAR, "mV/us", "spike-triggered adaptation b/C"),
)
QUANTITY = {q.name: q for q in QUANTITIES}


def _check_quantity(name: str) -> Quantity:
    try:
        return QUANTITY[name]
    except KeyError:
        raise ConfigError(f"unknown calibrated quantity {name!r}: known are {', '.join(QUANTITY)}") from None


def linear_dac(name: str, dac) -> np.ndarray:
    """DAC values of quantity ``name`` on the scale its transfer model is linear in: the DAC
    value itself, or for a voltage cell with a knee (``analog.VoltageMap``) its straight scale."""
    return analog.voltage_map(_check_quantity(name).parameter).linear_dac(dac)


def _invert(q: Quantity, a: np.ndarray, b: np.ndarray, target: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``fit.invert`` on the quantity's straight DAC scale (``linear_dac``): the DAC value in
    ``lo..hi`` whose predicted quantity is nearest ``target``."""
    m = analog.voltage_map(q.parameter)
    if not np.isfinite(m.knee_dac):
        return invert(q.kind, a, b, target, lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = m.dac_of_linear((np.asarray(target, dtype=np.float64) - b) / a)  # voltages: LINEAR
    exact = np.where(np.isfinite(exact), exact, lo)
    d0 = np.clip(np.floor(exact), lo, hi).astype(np.int64)
    d1 = np.clip(d0 + 1, lo, hi)
    e0, e1 = (np.abs(model_value(q.kind, a, b, m.linear_dac(d)) - target) for d in (d0, d1))
    return np.where(e1 < e0, d1, d0)


@dataclass
class Characterisation:
    """Per-circuit transfer models ``(a, b)`` of the quantities measured on one chip.

    ``a[name]``, ``b[name]`` are arrays of 512 (NaN where a circuit could not be measured).
    """

    serial: int
    ideal: bool
    a: dict[str, np.ndarray] = field(default_factory=dict)
    b: dict[str, np.ndarray] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.a

    def _model(self, name: str):
        q = _check_quantity(name)
        if name not in self.a:
            raise ConfigError(f"chip {self.serial} has no characterisation of {name}: characterise it first")
        return q, self.a[name], self.b[name]

    def predict(self, name: str, dac, circuits=slice(None)) -> np.ndarray:
        """The quantity the model predicts for DAC values ``dac`` on ``circuits``."""
        q, a, b = self._model(name)
        return model_value(q.kind, a[circuits], b[circuits], linear_dac(name, dac))

    def dac_for(self, name: str, target, circuits=slice(None)) -> np.ndarray:
        """The DAC values (nearest by the model) that set ``name`` to ``target``."""
        q, a, b = self._model(name)
        lo = 1 if q.kind == RATE else 0
        a, b = a[circuits], b[circuits]
        bad = ~(np.isfinite(a) & np.isfinite(b))
        if bad.any():
            raise ConfigError(f"{name}: circuits {np.flatnonzero(bad)[:8].tolist()} of chip {self.serial} "
                              f"could not be characterised; leave them out or recalibrate")
        return _invert(q, a, b, np.broadcast_to(target, a.shape), lo, C.DAC_MAX)

    def reachable(self, name: str, circuits=slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) value of ``name`` each circuit can reach."""
        q, a, b = self._model(name)
        lo = 1 if q.kind == RATE else 0
        ends = np.stack([model_value(q.kind, a[circuits], b[circuits], linear_dac(name, lo)),
                         model_value(q.kind, a[circuits], b[circuits], linear_dac(name, C.DAC_MAX))])
        return ends.min(0), ends.max(0)


def _nominal_physics(**values):
    cfg = NeuronConfig()
    cfg.values[:, NEURON_PARAMETER_INDEX["capacitance"]] = CAPACITANCE_HW
    for name, v in values.items():
        cfg.values[:, NEURON_PARAMETER_INDEX[name]] = v
    return neuron_physics(cfg, chip_mismatch(0, ideal=True))


@functools.cache
def _nominal_ab() -> dict[str, tuple[float, float]]:
    """The ideal chip's transfer models, evaluated from the nominal maps at two DAC values."""
    def quantities(d):
        p = _nominal_physics(v_leak=d, v_reset=d, v_threshold=d, e_rev_exc=d, e_rev_inh=d, v_exp=d,
                             i_bias_leak=d, i_bias_syn_exc_tau=d, i_bias_syn_inh_tau=d, i_bias_adapt_tau=d,
                             i_bias_syn_exc_gm=d, i_bias_syn_inh_gm=d, i_const=d, i_bias_exp=d,
                             i_bias_adapt_a=d, i_bias_adapt_b=d, enable_exponential=1, enable_adaptation=1)
        pc = _nominal_physics(i_bias_syn_exc_gm=d, i_bias_syn_inh_gm=d, coba_exc=1, coba_inh=1)
        c = p.c_m[0]
        with np.errstate(divide="ignore"):
            return {
                "v_leak_mv": p.e_l[0], "v_reset_mv": p.v_reset[0], "v_threshold_mv": p.v_th[0],
                "e_rev_exc_mv": p.e_exc[0], "e_rev_inh_mv": p.e_inh[0], "v_exp_mv": p.v_t[0],
                # rate models: the reciprocal is linear in the DAC value
                "tau_m_us": p.g_l[0] / c, "tau_syn_exc_us": 1.0 / p.tau_exc[0],
                "tau_syn_inh_us": 1.0 / p.tau_inh[0], "tau_w_us": 1.0 / p.tau_w[0],
                "syn_exc_mv_per_us": p.gain_exc[0] / c, "syn_inh_mv_per_us": p.gain_inh[0] / c,
                "coba_exc_per_us": pc.gain_exc[0] / c, "coba_inh_per_us": pc.gain_inh[0] / c,
                "i_const_mv_per_us": p.i_const[0] / c, "delta_t_mv": p.delta_t[0],
                "a_per_us": p.a[0] / c, "b_mv_per_us": p.b[0] / c,
            }
    # two settings where every map is linear on its straight scale (``linear_dac``; the voltage
    # cells are floored at 0 mV below)
    lo, hi = 600, 1000
    q0, q1 = quantities(lo), quantities(hi)
    out = {}
    for k in q0:
        u0, u1 = float(linear_dac(k, lo)), float(linear_dac(k, hi))
        a = (q1[k] - q0[k]) / (u1 - u0)
        out[k] = (a, float(q0[k] - u0 * a))
    return out


def ideal_characterisation(serial: int = 0) -> Characterisation:
    """The exact transfer models of a chip without mismatch (no measurement needed).

    >>> ch = ideal_characterisation()
    >>> int(ch.dac_for("tau_m_us", 10.0)[0]), int(ch.dac_for("v_leak_mv", 600.0)[0])
    (107, 790)
    """
    ab = _nominal_ab()
    return Characterisation(serial, True, {k: np.full(N, v[0]) for k, v in ab.items()},
                            {k: np.full(N, v[1]) for k, v in ab.items()})


def nominal_dac(name: str, target) -> np.ndarray:
    """The DAC value an uncalibrated setup would use for ``target``: the ideal chip's inverse
    (the same value on every circuit)."""
    ab = _nominal_ab()[_check_quantity(name).name]
    q = QUANTITY[name]
    t = np.atleast_1d(np.asarray(target, dtype=np.float64))
    return _invert(q, np.full(t.shape, ab[0]), np.full(t.shape, ab[1]), t, 1 if q.kind == RATE else 0, C.DAC_MAX)


@functools.cache
def model_fingerprint() -> str:
    """A digest of the emulated chip model as calibration sees it from outside: the nominal
    maps and the declared mismatch spreads. A stored calibration for another model is stale."""
    desc = {"maps": _nominal_ab(), "spreads": [analog.GAIN_SPREAD, analog.CAPACITANCE_SPREAD,
                                                analog.VOLTAGE_OFFSET_SPREAD_MV]}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]
