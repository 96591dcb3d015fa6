"""``calix.spiking.neuron``: the spiking neuron calibration's targets, with calix's names,
defaults and units — potentials as CADC reads (8 bit over 0..1200 mV), times as
``quantities`` — translated to ``bss2emu.calib.CalibrationTargets`` (mV, µs).

>>> import quantities as pq
>>> t = NeuronCalibTarget(leak=100, tau_mem=20 * pq.us).to_calibration_targets()
>>> round(float(t["v_leak_mv"][0]), 1), float(t["tau_m_us"][0]), float(t["tau_ref_us"][0])
(470.6, 20.0, 2.0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import quantities as pq

from ....calib.bench import cadc_mv
from ....calib.targets import CalibrationTargets, psp_mv_of_gm
from ....errors import ConfigError
from ....protocol import coordinates as C


def _us(name: str, value) -> np.ndarray:
    if not isinstance(value, pq.Quantity):
        raise ConfigError(f"calix target {name}={value!r} has no unit: give a quantities.Quantity, "
                          f"e.g. {name}=10 * pq.us")
    try:
        return np.asarray(value.rescale(pq.us).magnitude, dtype=np.float64)
    except ValueError:
        raise ConfigError(f"calix target {name}={value!r} is not a time; give it in us, ms or s") from None


def _per_input(name: str, value) -> tuple[np.ndarray, np.ndarray]:
    """(excitatory, inhibitory) values of a target given once, per input (2,), per neuron
    (512,) or per input and neuron (2, 512)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape in ((), (C.NEURONS_PER_CHIP,)):
        return arr, arr
    if arr.shape in ((2,), (2, C.NEURONS_PER_CHIP)):
        return arr[0], arr[1]
    raise ConfigError(f"calix target {name} has shape {arr.shape}: give one value, (2,), (512,) or (2, 512)")


SYNAPSE_DAC_BIAS_DEFAULT = 600
"""calix's default ``synapse_dac_bias`` (CapMem LSB): the bias the emulated synapses' strength
(``psp_mv_of_gm``) refers to."""


def synapse_dac_scale(synapse_dac_bias) -> float:
    """The factor by which ``synapse_dac_bias`` scales every synaptic event's amplitude against
    calix's default bias: the synapse's 6-bit current DAC takes its reference current from the
    CapMem cell ``syn_i_bias_dac``, so an event's current is weight/63 of that reference
    (calix: "can be lowered in order to reduce the amplitude of a spike at the input of the
    synaptic input OTA") — linear in the bias, to first order (calix then calibrates the
    quadrants to a common DAC strength, which the emulated ideal DACs have).

    >>> synapse_dac_scale(1000)  # the "spiking2" and "correlation" calibrations' bias
    1.6666666666666667
    """
    bias = np.asarray(synapse_dac_bias, dtype=np.float64)
    if bias.size == 0 or not np.all((bias >= 1) & (bias <= 1022)):
        raise ConfigError(f"calix target synapse_dac_bias={synapse_dac_bias!r}: give one CapMem value in 1..1022 "
                          f"(calix's default {SYNAPSE_DAC_BIAS_DEFAULT})")
    scale = bias / SYNAPSE_DAC_BIAS_DEFAULT
    return float(scale) if scale.shape == () else scale


@dataclass
class NeuronCalibTarget:
    """calix's spiking neuron targets. ``leak``/``reset``/``threshold`` and the COBA
    potentials are CADC reads; ``i_synin_gm`` is the synaptic input bias whose ideal PSP
    height every circuit is calibrated to; ``synapse_dac_bias`` scales all synaptic amplitudes
    linearly (``synapse_dac_scale``); ``holdoff_time`` must be 0 (the
    emulated reset lasts the whole refractory time)."""

    leak: Any = 80
    reset: Any = 70
    threshold: Any = 125
    tau_mem: pq.Quantity = field(default_factory=lambda: 10.0 * pq.us)
    tau_syn: pq.Quantity = field(default_factory=lambda: 10.0 * pq.us)
    i_synin_gm: Any = 500
    e_coba_reversal: Optional[np.ndarray] = None
    e_coba_reference: Optional[np.ndarray] = None
    membrane_capacitance: Any = 63
    refractory_time: pq.Quantity = field(default_factory=lambda: 2.0 * pq.us)
    synapse_dac_bias: int = 600
    holdoff_time: pq.Quantity = field(default_factory=lambda: 0.0 * pq.us)

    def to_calibration_targets(self) -> CalibrationTargets:
        """The same targets as bss2emu's ``CalibrationTargets`` (mV, µs)."""
        tau_m = _us("tau_mem", self.tau_mem)
        tau_e, tau_i = _per_input("tau_syn", _us("tau_syn", self.tau_syn))
        gm_e, gm_i = _per_input("i_synin_gm", self.i_synin_gm)
        dac_scale = synapse_dac_scale(self.synapse_dac_bias)
        if np.any(_us("holdoff_time", self.holdoff_time) != 0):
            raise ConfigError("calix target holdoff_time > 0 is not emulated: the emulated reset lasts the whole "
                              "refractory time; leave holdoff_time at 0 us and shorten refractory_time instead")
        values = dict(
            v_leak_mv=cadc_mv(self.leak), v_reset_mv=cadc_mv(self.reset), v_threshold_mv=cadc_mv(self.threshold),
            tau_m_us=tau_m, tau_syn_exc_us=tau_e, tau_syn_inh_us=tau_i,
            tau_ref_us=_us("refractory_time", self.refractory_time), capacitance=self.membrane_capacitance,
            psp_exc_mv=dac_scale * psp_mv_of_gm(gm_e, tau_m, tau_e, self.membrane_capacitance),
            psp_inh_mv=dac_scale * psp_mv_of_gm(gm_i, tau_m, tau_i, self.membrane_capacitance))
        if self.e_coba_reversal is not None:
            leak_mv = cadc_mv(self.leak)
            rev_e, rev_i = _per_input("e_coba_reversal", self.e_coba_reversal)
            for syn, rev, gm, tau_s, default_mv in (("exc", rev_e, gm_e, tau_e, 1000.0),
                                                    ("inh", rev_i, gm_i, tau_i, 300.0)):
                coba = np.isfinite(rev)  # calix: +-inf keeps that input current-based
                rev_mv = np.where(coba, cadc_mv(np.where(coba, rev, 0)), default_mv)
                values[f"coba_{syn}"] = coba.astype(float)
                values[f"e_rev_{syn}_mv"] = rev_mv
                # conductance-based: the bias sets the conductance, its PSP at rest has the driving force
                values[f"psp_{syn}_mv"] = np.where(
                    coba, dac_scale * psp_mv_of_gm(gm, tau_m, tau_s, self.membrane_capacitance, rev_mv - leak_mv),
                    values[f"psp_{syn}_mv"])
        return CalibrationTargets(**values)

    def replace(self, **changes) -> "NeuronCalibTarget":
        return dataclasses.replace(self, **changes)


@dataclass
class NeuronCalibOptions:
    """calix's neuron calibration options; bss2emu's calibration needs none of them
    (``readout_neuron`` is accepted: the MADC follows what is recorded)."""

    readout_neuron: Any = None


__all__ = ["NeuronCalibTarget", "NeuronCalibOptions"]
