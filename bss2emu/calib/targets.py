"""Calibration targets: what every circuit should do, in hardware units (mV, µs).

Each target is one value for all 512 circuits or one per circuit. Voltages are on the
chip's 0–1200 mV scale; times are hardware µs (1 µs hardware ≙ 1 ms biological).

The membrane capacitance setting (``capacitance``, default 63, the largest) is a choice,
not a target: the other targets hold at it. A smaller capacitance makes the same bias
currents move the membrane faster — more synaptic gain and constant current — at the cost
of a coarser leak (``tau_m``) setting.

Currents are given by the membrane deflection they cause at rest, which does not depend
on a circuit's capacitance: ``i_offset_mv = I/g_L``, ``b_mv = b/g_L`` (the jump of the
adaptation current in mV), ``a_ratio = a/g_L``. Synaptic strength is the PSP height of one
event at full weight (63) at rest, with the targets' τ_m and τ_syn; for a conductance-based
input the current is ``g·(E_rev - E_L)`` (the small-PSP limit).

>>> t = CalibrationTargets(v_leak_mv=650.0, tau_m_us=np.full(512, 12.0))
>>> float(t["v_leak_mv"][3]), float(t["tau_m_us"][511]), t.key() == CalibrationTargets(v_leak_mv=650).key()
(650.0, 12.0, False)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C

N = C.NEURONS_PER_CHIP
REFERENCE_WEIGHT = C.WEIGHT_MAX  # the PSP targets are for one event at full weight


class TargetField(NamedTuple):
    """One calibration target: default, allowed range and meaning (with unit)."""

    name: str
    default: float
    low: float
    high: float
    doc: str


TARGET_FIELDS: tuple[TargetField, ...] = (
    TargetField("v_leak_mv", 600.0, 50.0, 1150.0, "leak (resting) potential, mV"),
    TargetField("v_reset_mv", 500.0, 50.0, 1150.0, "reset potential, mV"),
    TargetField("v_threshold_mv", 700.0, 50.0, 1150.0, "spike threshold, mV"),
    TargetField("tau_m_us", 10.0, 0.5, 60.0, "membrane time constant, µs"),
    TargetField("tau_syn_exc_us", 5.0, 0.5, 30.0, "excitatory synaptic time constant, µs"),
    TargetField("tau_syn_inh_us", 5.0, 0.5, 30.0, "inhibitory synaptic time constant, µs"),
    TargetField("tau_ref_us", 2.0, 0.0, 130.0, "refractory time, µs (digital: exact to 4 ns·2**clock)"),
    TargetField("psp_exc_mv", 10.0, 0.0, 400.0, "excitatory PSP height of one weight-63 event at rest, mV"),
    TargetField("psp_inh_mv", 10.0, 0.0, 400.0, "inhibitory PSP height (magnitude) of one weight-63 event, mV"),
    TargetField("coba_exc", 0.0, 0.0, 1.0, "1: conductance-based excitatory input"),
    TargetField("coba_inh", 0.0, 0.0, 1.0, "1: conductance-based inhibitory input"),
    TargetField("e_rev_exc_mv", 1000.0, 50.0, 1150.0, "excitatory reversal potential, mV (conductance-based)"),
    TargetField("e_rev_inh_mv", 300.0, 50.0, 1150.0, "inhibitory reversal potential, mV (conductance-based)"),
    TargetField("i_offset_mv", 0.0, 0.0, 1000.0, "constant current as its deflection at rest I/g_L, mV"),
    TargetField("delta_t_mv", 0.0, 0.0, 45.0, "exponential slope factor Delta_T, mV (0: exponential term off)"),
    TargetField("v_exp_mv", 750.0, 50.0, 1150.0, "exponential threshold V_T, mV"),
    TargetField("a_ratio", 0.0, 0.0, 10.0, "subthreshold adaptation a/g_L"),
    TargetField("b_mv", 0.0, 0.0, 500.0, "spike-triggered adaptation b/g_L, mV"),
    TargetField("tau_w_us", 100.0, 2.0, 1000.0, "adaptation time constant, µs"),
    TargetField("capacitance", 63.0, 0.0, 63.0, "membrane capacitance setting 0…63 at which the targets hold "
                                                "(smaller: stronger synaptic and current inputs, coarser tau_m)"),
)
TARGET_NAMES = tuple(f.name for f in TARGET_FIELDS)
_FIELD = {f.name: f for f in TARGET_FIELDS}


class CalibrationTargets:
    """Targets for all 512 circuits of a chip: ``targets[name]`` is a read-only array of 512.

    Give any target of ``TARGET_FIELDS`` as a scalar (all circuits) or 512 values; the
    others keep their defaults."""

    def __init__(self, **values) -> None:
        unknown = sorted(set(values) - set(_FIELD))
        if unknown:
            raise ConfigError(f"unknown calibration target(s) {', '.join(map(repr, unknown))}: "
                              f"known are {', '.join(TARGET_NAMES)}")
        self._values: dict[str, np.ndarray] = {}
        for f in TARGET_FIELDS:
            raw = values.get(f.name, f.default)
            try:
                arr = np.array(np.broadcast_to(np.asarray(raw, dtype=np.float64), (N,)))
            except ValueError:
                raise ConfigError(f"calibration target {f.name} has shape {np.shape(raw)}: give one value "
                                  f"or one per circuit ({N})") from None
            bad = ~((arr >= f.low) & (arr <= f.high))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ConfigError(f"calibration target {f.name}={arr[i]:g} (circuit {i}) is outside "
                                  f"{f.low:g}..{f.high:g} ({f.doc}); choose a value in that range")
            arr.flags.writeable = False
            self._values[f.name] = arr

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> "CalibrationTargets":
        """From a dict (e.g. a YAML file's content): name → scalar or list of 512."""
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"calibration targets must be a mapping of name to value, got {type(mapping).__name__}")
        return cls(**{str(k): np.asarray(v, dtype=np.float64) for k, v in mapping.items()})

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._values[name]
        except KeyError:
            raise ConfigError(f"unknown calibration target {name!r}: known are {', '.join(TARGET_NAMES)}") from None

    def as_dict(self) -> dict[str, np.ndarray]:
        return dict(self._values)

    def replace(self, **values) -> "CalibrationTargets":
        """A copy with some targets changed."""
        return CalibrationTargets(**(self.as_dict() | values))

    def updated(self, circuits, values: Mapping) -> "CalibrationTargets":
        """A copy with ``values`` (name → one value per circuit in ``circuits``) set on
        ``circuits``; the other circuits keep theirs."""
        circ = np.atleast_1d(np.asarray(circuits, dtype=np.int64))
        if len(circ) > N or (len(circ) and (circ.min() < 0 or circ.max() >= N)) or len(np.unique(circ)) != len(circ):
            raise ConfigError(f"circuits must be distinct values 0..{N - 1}, one per neuron ({len(circ)} given)")
        full = self.as_dict()
        for name, v in values.items():
            arr = self[name].copy()
            arr[circ] = v
            full[name] = arr
        return CalibrationTargets(**full)

    def key(self) -> str:
        """A digest of all targets: equal targets, equal key (the store's file name)."""
        h = hashlib.sha256()
        for name in TARGET_NAMES:
            h.update(name.encode())
            h.update(np.ascontiguousarray(self._values[name], dtype="<f8").tobytes())
        return h.hexdigest()[:20]

    def __eq__(self, other) -> bool:
        return isinstance(other, CalibrationTargets) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        parts = []
        for f in TARGET_FIELDS:
            v = self._values[f.name]
            if (v == v[0]).all():
                if v[0] != f.default:
                    parts.append(f"{f.name}={v[0]:g}")
            else:
                parts.append(f"{f.name}=[{v.min():g}..{v.max():g}]")
        return f"CalibrationTargets({', '.join(parts)})"


def psp_shape_us(tau_m_us, tau_syn_us) -> np.ndarray:
    """Peak of the membrane's response to a unit step of current over capacitance that
    decays with τ_syn, for a membrane with τ_m (µs; PSP height = I0/C · this)::

        h(t) = τ_m τ_s / (τ_m - τ_s) · (exp(-t/τ_m) - exp(-t/τ_s)),  at its maximum

    >>> round(float(psp_shape_us(10.0, 5.0)), 6), round(float(psp_shape_us(4.0, 4.0)), 6)
    (2.5, 1.471518)
    """
    tm = np.asarray(tau_m_us, dtype=np.float64)
    ts = np.asarray(tau_syn_us, dtype=np.float64)
    near = np.abs(tm - ts) < 1e-9 * np.maximum(tm, ts)
    ts_ = np.where(near, ts * (1 + 1e-6), ts)
    k = tm * ts_ / (tm - ts_)
    t_peak = k * np.log(tm / ts_)
    peak = k * (np.exp(-t_peak / tm) - np.exp(-t_peak / ts_))
    return np.where(near, tm / np.e, peak)


def psp_mv_of_gm(gm, tau_m_us, tau_syn_us, capacitance, e_rev_minus_rest_mv=None) -> np.ndarray:
    """PSP height (mV, hardware) of one weight-63 event onto an ideal circuit whose synaptic
    input bias (``i_bias_syn_*_gm``, pynn.brainscales2's ``i_synin_gm``) is ``gm``: the
    calibration target that realises that bias on every circuit, as calix calibrates all
    circuits to the mean strength of the bias asked for. Current-based unless
    ``e_rev_minus_rest_mv`` (E_rev − V_rest, conductance-based: the driving force at rest)
    is given. The gain per weight LSB is the emulated chip's (``chip_actor.analog``).

    >>> round(float(psp_mv_of_gm(500, 10.0, 5.0, 63)), 3)  # 63 · 0.885 nA · 2.5 µs / 2.3 pF
    60.603
    """
    from ..chip_actor.analog import capacitance_pf, chip_mismatch, neuron_physics
    from ..protocol.hardware import NeuronConfig

    cfg = NeuronConfig()
    coba = e_rev_minus_rest_mv is not None
    cfg.column("i_bias_syn_exc_gm")[:] = 1
    cfg.column("coba_exc")[:] = int(coba)
    per_gm = float(neuron_physics(cfg, chip_mismatch(0, ideal=True)).gain_exc[0])  # nA or µS per LSB
    drive = np.abs(np.asarray(e_rev_minus_rest_mv, float)) if coba else 1.0  # mV (COBA: µS·mV = nA)
    return (C.WEIGHT_MAX * per_gm * np.asarray(gm, float) * drive / capacitance_pf(capacitance)
            * psp_shape_us(tau_m_us, tau_syn_us))
