"""The one translation between the ``snn`` modules' units and the chip's.

Voltages: a module's value ``u`` (threshold units: leak 0, threshold 1 by default) is the
membrane at ``V_ZERO_MV + u · MV_PER_UNIT`` mV on the chip, so CADC codes ``c`` read back as
``(c - trace_offset) · trace_scale`` with ``trace_offset = V_ZERO_MV / MV_PER_CODE`` and
``trace_scale = MV_PER_CODE / MV_PER_UNIT`` (per circuit, from the calibration's achieved
leak and threshold, on a chip with mismatch).

Times: seconds of hardware time (1e-6 s = 1 µs); the calibration takes µs.

Weights: a synaptic weight ``w`` (threshold units of current) becomes the signed 6-bit
hardware weight ``round(clamp(w / lsb, -63, 63))`` — ``linear_saturating`` with scale
``1/lsb`` — where ``lsb = slope · τ_mem / MV_PER_UNIT`` is the current in threshold units of
one weight step: ``slope`` is the calibrated initial membrane slope (mV/µs) of one event of
weight 1 on an ideal chip at the population's τ_mem, τ_syn and ``capacitance``, with the PSP
calibrated to ``PSP_HEADROOM`` of the strongest an ideal circuit gives (so every circuit of a
mismatched chip reaches it and the weights mean the same on all of them). Negative
weights go to inhibitory rows. The mock uses the same transform, so both see the same
quantised weights.

Hardware units (hxtorch's): a parameter given as a ``parameter.MixedHXModelParameter`` (or
another parameter object) has its hardware value in CADC codes for voltages (``MV_PER_CODE``
mV each; hxtorch's defaults leak/reset ``HX_LEAK_CODES``, threshold ``HX_THRESHOLD_CODES``)
and in s for times. A model unit is then ``(threshold - leak)`` hardware mV per model unit of
``threshold - leak`` (``HX_THRESHOLD_CODES - HX_LEAK_CODES`` codes per unit for a readout),
and the synapses are calibrated as the real system's nightly calibration has them: one
hardware weight step is ``HX_WEIGHT_STEP_MV`` of steady-state membrane response, so that
``HX_WEIGHT_SCALE`` steps move the membrane from leak 80 to threshold 125 (CADC codes).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ..calib import CalibrationResult, CalibrationTargets, calibrate
from ..calib.bench import ADC_FULL_SCALE_MV
from ..calib.targets import TARGET_FIELDS
from ..errors import ConfigError

V_ZERO_MV = 600.0
MV_PER_UNIT = 100.0
MV_PER_CODE = ADC_FULL_SCALE_MV / 255.0
DEFAULT_CAPACITANCE = 15  # a small capacitance: one full weight reaches the largest PSP target (400 mV) at τ 10 µs
LI_THRESHOLD_MV = 1150.0  # a readout never reaches it
PSP_HEADROOM = 0.75  # calibrated PSP: this fraction of the ideal circuit's strongest, so mismatched ones reach it
_RANGE = {f.name: (f.low, f.high) for f in TARGET_FIELDS}
# hxtorch's hardware-unit defaults (CADC codes) and the real system's weight scale there:
# a software weight of 1 is about 50 hardware weight steps (hxtorch's get_weight_scaling on
# the nightly calibration, leak 80, threshold 125, tau 10 us)
HX_LEAK_CODES = 80.0
HX_THRESHOLD_CODES = 125.0
HX_WEIGHT_SCALE = 50.0
HX_WEIGHT_STEP_MV = (HX_THRESHOLD_CODES - HX_LEAK_CODES) * MV_PER_CODE / HX_WEIGHT_SCALE
VOLTAGE_PARAMETERS = ("leak", "reset", "threshold", "exp_threshold")


class NeuronTargets(NamedTuple):
    """What one neuron module asks of its circuits, in calibration units."""

    v_leak_mv: float
    v_reset_mv: float
    v_threshold_mv: float
    tau_m_us: float
    tau_syn_us: float
    tau_ref_us: float
    capacitance: int
    delta_t_mv: float = 0.0
    v_exp_mv: float = 750.0
    a_ratio: float = 0.0
    b_mv: float = 0.0
    tau_w_us: float = 100.0
    psp_mv: float = 400.0  # one weight-63 event at rest; neuron_targets sets a reachable value
    mv_per_unit: float = MV_PER_UNIT  # chip mV per model (threshold) unit

    def calibration_targets(self) -> dict[str, float]:
        return {"v_leak_mv": self.v_leak_mv, "v_reset_mv": self.v_reset_mv, "v_threshold_mv": self.v_threshold_mv,
                "tau_m_us": self.tau_m_us, "tau_syn_exc_us": self.tau_syn_us, "tau_syn_inh_us": self.tau_syn_us,
                "tau_ref_us": self.tau_ref_us, "psp_exc_mv": self.psp_mv, "psp_inh_mv": self.psp_mv,
                "capacitance": float(self.capacitance), "delta_t_mv": self.delta_t_mv, "v_exp_mv": self.v_exp_mv,
                "a_ratio": self.a_ratio, "b_mv": self.b_mv, "tau_w_us": self.tau_w_us}


def to_mv(value: float) -> float:
    """Threshold units → chip mV."""
    return V_ZERO_MV + float(value) * MV_PER_UNIT


def code_to_mv(code: float) -> float:
    """CADC code (hxtorch's hardware unit of voltage) → chip mV."""
    return float(code) * MV_PER_CODE


def neuron_targets(module_name: str, params, capacitance: int, spiking: bool = True,
                   hardware: dict | None = None) -> NeuronTargets:
    """Calibration targets of a neuron module's parameters; a ``ConfigError`` naming the module,
    the parameter, its value, the chip's range and the fix when one is out of reach.
    ``hardware``: hardware values of the parameters given as parameter objects (voltages in
    CADC codes, times in s); the others' targets follow from their model values."""
    p = params._asdict()
    hw = dict(hardware or {})

    anchor = [V_ZERO_MV, 0.0, MV_PER_UNIT]  # model voltage v is at anchor[0] + (v - anchor[1]) · anchor[2] mV

    def mv(name: str, default: float) -> float:
        if name in hw:
            return code_to_mv(hw[name])
        return anchor[0] + (float(p.get(name, default)) - anchor[1]) * anchor[2]

    def seconds(name: str, default: float) -> float:
        return float(hw.get(name, p.get(name, default)))

    leak = mv("leak", 0.0)
    mv_per_unit = MV_PER_UNIT
    if any(k in hw for k in VOLTAGE_PARAMETERS):
        span = float(p.get("threshold", 1.0)) - float(p.get("leak", 0.0))
        if spiking and span != 0.0 and "threshold" in hw:
            mv_per_unit = (mv("threshold", 1.0) - leak) / span
        else:
            mv_per_unit = code_to_mv(HX_THRESHOLD_CODES - HX_LEAK_CODES)
        anchor[:] = [leak, float(p.get("leak", 0.0)), mv_per_unit]  # other voltages relative to the leak
    reset = mv("reset", 0.0) if ("reset" in p or "reset" in hw) else leak
    t = NeuronTargets(
        v_leak_mv=leak, v_reset_mv=reset,
        v_threshold_mv=mv("threshold", 1.0) if spiking else LI_THRESHOLD_MV,
        tau_m_us=seconds("tau_mem", 10e-6) * 1e6, tau_syn_us=seconds("tau_syn", 10e-6) * 1e6,
        tau_ref_us=seconds("refractory_time", 0.0) * 1e6, capacitance=int(capacitance),
        delta_t_mv=float(p.get("exp_slope", 0.0)) * mv_per_unit,
        v_exp_mv=mv("exp_threshold", 1.5) if ("exp_threshold" in p or "exp_threshold" in hw) else 750.0,
        a_ratio=float(p.get("subthreshold_adaptation", 0.0)),
        b_mv=float(p.get("spike_adaptation", 0.0)) * mv_per_unit, tau_w_us=seconds("tau_adap", 100e-6) * 1e6,
        mv_per_unit=mv_per_unit)
    source = {"v_leak_mv": "leak", "v_reset_mv": "reset", "v_threshold_mv": "threshold", "tau_m_us": "tau_mem",
              "tau_syn_us": "tau_syn", "tau_ref_us": "refractory_time", "delta_t_mv": "exp_slope",
              "v_exp_mv": "exp_threshold", "a_ratio": "subthreshold_adaptation", "b_mv": "spike_adaptation",
              "tau_w_us": "tau_adap"}
    for name, value in t._asdict().items():
        key = "tau_syn_exc_us" if name == "tau_syn_us" else name
        if key not in _RANGE or name not in source or (source[name] not in p and source[name] not in hw):
            continue
        lo, hi = _RANGE[key]
        if not lo <= value <= hi:
            given = hw.get(source[name], p[source[name]])
            if source[name] in hw and name.endswith("_mv") and name not in ("b_mv", "delta_t_mv"):
                limit = f"{lo / MV_PER_CODE:.0f}..{hi / MV_PER_CODE:.0f} CADC codes"
            elif name.endswith("_mv") and name not in ("b_mv", "delta_t_mv"):
                limit = f"{(lo - V_ZERO_MV) / MV_PER_UNIT:g}..{(hi - V_ZERO_MV) / MV_PER_UNIT:g} threshold units"
            elif name.endswith("_us"):
                limit = f"{lo * 1e-6:g}..{hi * 1e-6:g} s"
            else:
                limit = f"{lo / (MV_PER_UNIT if name.endswith('_mv') else 1):g}.."\
                        f"{hi / (MV_PER_UNIT if name.endswith('_mv') else 1):g}"
            raise ConfigError(f"{module_name}: {source[name]}={given!r} is outside what the chip's circuits reach "
                              f"({limit}); choose {source[name]} in that range")
    if not 0 <= t.capacitance <= 63:
        raise ConfigError(f"{module_name}: capacitance={capacitance!r} is not a 6-bit setting (0..63); "
                          f"use 0..63 (smaller: stronger synapses)")
    # synaptic strength is calibrated too: a PSP every circuit reaches despite its mismatch
    strongest = float(_nominal(t._replace(psp_mv=400.0)).achieved["psp_exc_mv"][0])
    psp = PSP_HEADROOM * strongest
    if any(k in hw for k in VOLTAGE_PARAMETERS):  # hardware units: the real system's synaptic strength
        # the PSP (and the weight step's current) is proportional to the calibrated strength
        step_at_strongest = weight_lsb(t._replace(psp_mv=400.0)) * mv_per_unit
        psp = min(psp, strongest * HX_WEIGHT_STEP_MV / step_at_strongest)
    return t._replace(psp_mv=round(psp, 3))


@functools.lru_cache(maxsize=64)
def _nominal(targets: NeuronTargets) -> CalibrationResult:
    return calibrate(CalibrationTargets(**targets.calibration_targets()), serial=0, ideal=True, store=False)


def weight_lsb(targets: NeuronTargets) -> float:
    """Threshold units of synaptic current per hardware weight step onto neurons with these
    targets, on an ideal chip (the transform's scale is its inverse).

    >>> t = NeuronTargets(600, 600, 700, 10.0, 10.0, 1.0, DEFAULT_CAPACITANCE)
    >>> round(weight_lsb(t._replace(psp_mv=400.0)) * 63, 2)  # the largest PSP target
    10.78
    """
    cal = _nominal(targets)
    slope = float(cal.gains["syn_exc_mv_per_us"][0])
    return slope * float(cal.achieved["tau_m_us"][0]) / targets.mv_per_unit


def calibrate_circuits(per_circuit: dict[int, NeuronTargets], serial: int, ideal: bool) -> CalibrationResult:
    """One calibration of a chip with each circuit's own targets (circuits not listed keep
    the first module's targets: calibrating them costs nothing extra)."""
    first = next(iter(per_circuit.values()))
    arrays = {k: np.full(512, v, dtype=np.float64) for k, v in first.calibration_targets().items()}
    for circuit, t in per_circuit.items():
        for k, v in t.calibration_targets().items():
            arrays[k][circuit] = v
    return calibrate(CalibrationTargets(**arrays), serial=serial, ideal=ideal)


def trace_transform(v_leak_mv: np.ndarray, v_threshold_mv: np.ndarray | None, leak: float,
                    threshold: float | None, mv_per_unit: float = MV_PER_UNIT) -> tuple[np.ndarray, np.ndarray]:
    """Per circuit ``(trace_offset, trace_scale)`` with ``units = (code - offset) · scale``:
    each circuit's measured leak reads as the module's ``leak`` and, for a spiking neuron,
    its measured threshold as ``threshold`` (a readout keeps ``mv_per_unit``)."""
    leak_mv = np.asarray(v_leak_mv, dtype=np.float64)
    if threshold is None:
        per_mv = np.full_like(leak_mv, 1.0 / mv_per_unit)
    else:
        per_mv = (float(threshold) - float(leak)) / (np.asarray(v_threshold_mv, dtype=np.float64) - leak_mv)
    scale = per_mv * MV_PER_CODE
    offset = leak_mv / MV_PER_CODE - float(leak) / scale
    return offset, scale
