"""pynn.brainscales2's cell types as views of bss2emu's PyNN backend.

Each class subclasses the backend's type and says only how its names and units become the
backend's: ``HXNeuron``'s flattened ``lola.AtomicNeuron`` fields through the one table of
them (``bss2emu.protocol.atomic_neuron``); ``CalibHXNeuronCuba``/``Coba``'s calix targets
(voltages in CADC units, times in µs, synaptic-input biases) as ``bss2emu.calib`` targets;
spike sources in hardware ms and Hz (the view's time axis, ``setup``). Ranges and defaults
are pynn.brainscales2's.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...calib.targets import TARGET_FIELDS, psp_mv_of_gm
from ...errors import ConfigError, QuantisationWarning, user_stacklevel
from ...protocol.atomic_neuron import (
    ATOMIC_NEURON_FIELDS, HXNEURON_FIXED, HXNEURON_NOT_CONFIGURABLE, flat_to_internal, validate_flat,
)
from ...protocol.schemas import madc_code_to_mv
from ...pynn import simulator
from ...pynn import standardmodels as backend
from ...pynn.results import CADC_MV_PER_CODE
from ...pynn.translation import TranslationError
from ...stack.calix.spiking.neuron import synapse_dac_scale

class _AdcMembrane:
    """The membrane in ADC codes, as pynn.brainscales2 reports it: MADC 10 bit, CADC 8 bit;
    and every MADC source the MADC reads as a voltage (the adaptation state) in its codes."""

    reads_adc_codes = True

    @staticmethod
    def membrane_from_mv(v_hw_mv: np.ndarray, device: str) -> np.ndarray:
        per_code = float(madc_code_to_mv(1)) if device == "madc" else CADC_MV_PER_CODE
        return np.rint(np.asarray(v_hw_mv, float) / per_code)


_FIELDS = tuple(f for f in ATOMIC_NEURON_FIELDS if f.flat_name not in HXNEURON_NOT_CONFIGURABLE)
_RECORDABLE = ["spikes", "v", "exc_synin", "inh_synin", "adaptation"]


class HXNeuron(_AdcMembrane, backend.HXNeuron):
    """One neuron circuit configured field by field: the parameters are
    ``lola.AtomicNeuron``'s fields flattened to ``<member>_<field>`` (``leak_v_leak``,
    ``threshold_v_threshold``, ``membrane_capacitance_capacitance``, …) with their real
    ranges and defaults (a default neuron is silent). With ``setup(initial_config=chip)`` the
    chip's values of each placed circuit are the defaults; parameters given to the cell type
    or ``set`` later win, as on the real backend."""

    default_parameters = {f.flat_name: float(f.default) for f in _FIELDS}
    units = {**{name: "dimensionless" for name in default_parameters}, "v": "dimensionless",
             "exc_synin": "dimensionless", "inh_synin": "dimensionless", "adaptation": "dimensionless"}
    recordable = _RECORDABLE
    hardware_recordable = tuple(_RECORDABLE)
    conductance_based = False  # as pynn.brainscales2's (weights are signed 6-bit values)

    def __init__(self, **parameters):
        super().__init__(**parameters)
        self.given_parameters = tuple(k for k in parameters if k != "plasticity_rule")

    @classmethod
    def get_default_values(cls) -> dict:
        """The flattened values of a default ``lola.AtomicNeuron`` (ints and bools)."""
        return {f.flat_name: (bool(f.default) if f.kind == "bool" else int(f.default)) for f in _FIELDS}

    @staticmethod
    def _as_set(params: dict) -> dict:
        """The values as pynn.brainscales2 writes them into the AtomicNeuron: ``int(value)``,
        so a non-integral number is truncated (``np.linspace`` sweeps work unchanged)."""
        out = {}
        for key, v in params.items():
            a = np.asarray(v)
            out[key] = np.trunc(a.astype(float)) if a.dtype.kind == "f" and np.all(np.isfinite(a)) else a
        return out

    def check_values(self, params: dict) -> None:
        try:
            validate_flat(self._as_set(params), "HXNeuron")
        except ConfigError as err:
            raise TranslationError("HXNeuron", str(err).removeprefix("HXNeuron: ")) from None

    @staticmethod
    def circuit_values(circuits) -> dict[str, np.ndarray] | None:
        """The flattened values of ``setup(initial_config=chip)``'s AtomicNeurons on
        ``circuits`` (None without an initial configuration)."""
        from ..helper import get_values_of_atomic_neuron

        chip = getattr(simulator.state, "initial_config", None)
        if chip is None:
            return None
        flats = [get_values_of_atomic_neuron(chip.neuron_block.atomic_neurons[int(c)]) for c in circuits]
        return {name: np.array([f[name] for f in flats], float) for name in flats[0]}

    def internal_values(self, params: dict, circuits: np.ndarray, population) -> dict[str, np.ndarray]:
        from ..helper import neuron_internal_values

        params = self._as_set(params)
        state = simulator.state
        chip = getattr(state, "initial_config", None)
        # with initial_config the chip's values are the defaults and the script's win
        given = params if chip is None else {k: params[k] for k in population.set_by_user if k in params}
        return neuron_internal_values(circuits, {**given, **HXNEURON_FIXED}, chip,
                                      getattr(state, "grenade_chip_config", None))


class CalibHXNeuronCuba(_AdcMembrane, backend.CalibHXNeuronCuba):
    """A neuron calibrated to calix's targets, current-based synaptic inputs: ``v_rest``,
    ``v_reset``, ``v_thresh`` in CADC units, ``tau_m``/``tau_syn_E``/``tau_syn_I``/``tau_refrac``
    in µs, ``cm`` 0…63, ``i_synin_gm_E``/``_I`` the synaptic-input bias whose mean strength every
    circuit is calibrated to (bss2emu calibrates the PSP height that bias gives),
    ``synapse_dac_bias`` the synapse DAC's bias, which scales every event's amplitude linearly
    (``calix.spiking.neuron.synapse_dac_scale``: 1000 gives 1000/600 of the default's PSP)."""

    default_parameters = {"v_rest": 80.0, "v_reset": 70.0, "v_thresh": 125.0, "tau_m": 10.0, "tau_syn_E": 10.0,
                          "tau_syn_I": 10.0, "cm": 63.0, "tau_refrac": 2.0, "i_synin_gm_E": 500.0,
                          "i_synin_gm_I": 500.0, "synapse_dac_bias": 600.0}
    RANGES = {"v_rest": (50, 160), "v_reset": (50, 160), "v_thresh": (50, 220), "tau_m": (0.5, 60),
              "tau_syn_E": (0.3, 30), "tau_syn_I": (0.3, 30), "cm": (0, 63), "tau_refrac": (0.04, 32),
              "i_synin_gm_E": (30, 800), "i_synin_gm_I": (30, 800), "synapse_dac_bias": (30, 1022)}
    units = {"v_rest": "dimensionless", "v_reset": "dimensionless", "v_thresh": "dimensionless", "tau_m": "us",
             "tau_syn_E": "us", "tau_syn_I": "us", "cm": "dimensionless", "tau_refrac": "us",
             "i_synin_gm_E": "dimensionless", "i_synin_gm_I": "dimensionless", "synapse_dac_bias": "dimensionless",
             "v": "dimensionless", "exc_synin": "dimensionless", "inh_synin": "dimensionless",
             "adaptation": "dimensionless"}
    recordable = _RECORDABLE
    hardware_recordable = tuple(_RECORDABLE)
    conductance_based = False
    default_initial_values: dict = {}

    def check_values(self, params: dict) -> None:
        for key, val in params.items():
            low, high = self.RANGES[key]
            v = np.atleast_1d(np.asarray(val, float))
            bad = ~((v >= low) & (v <= high))
            if bad.any():
                raise TranslationError(key, f"{key}={v[bad][0]:g} is outside pynn.brainscales2's range "
                                            f"[{low:g}, {high:g}] {self.units[key]}")

    def calibration_targets(self, params: dict) -> dict[str, np.ndarray]:
        p = {k: np.asarray(v, float) for k, v in params.items()}
        out = {"v_leak_mv": p["v_rest"] * CADC_MV_PER_CODE, "v_reset_mv": p["v_reset"] * CADC_MV_PER_CODE,
               "v_threshold_mv": p["v_thresh"] * CADC_MV_PER_CODE, "tau_m_us": p["tau_m"],
               "tau_syn_exc_us": p["tau_syn_E"], "tau_syn_inh_us": p["tau_syn_I"], "tau_ref_us": p["tau_refrac"],
               "capacitance": p["cm"]}
        for syn, receptor in (("exc", "E"), ("inh", "I")):
            drive = self._driving_force_mv(p, receptor)
            out[f"psp_{syn}_mv"] = synapse_dac_scale(p["synapse_dac_bias"]) * psp_mv_of_gm(
                p[f"i_synin_gm_{receptor}"], p["tau_m"], p[f"tau_syn_{receptor}"], p["cm"], drive)
            if drive is not None:
                out[f"coba_{syn}"] = np.ones_like(p["v_rest"])
                out[f"e_rev_{syn}_mv"] = _within_calibrated(f"e_rev_{receptor}", f"e_rev_{syn}_mv",
                                                            p[f"e_rev_{receptor}"] * CADC_MV_PER_CODE)
        return out

    @staticmethod
    def _driving_force_mv(p, receptor):
        return None


def _within_calibrated(name: str, target: str, value_mv: np.ndarray) -> np.ndarray:
    """A reversal potential beyond what the emulated circuit reaches, set to the nearest it
    reaches (``QuantisationWarning``): the PSP at rest is calibrated to the one asked for, only
    its dependence on the membrane voltage is weaker."""
    field = next(f for f in TARGET_FIELDS if f.name == target)
    clipped = np.clip(value_mv, field.low, field.high)
    if np.any(clipped != value_mv):
        i = int(np.argmax(clipped != value_mv))
        warnings.warn(f"CalibHXNeuronCoba: {name}={value_mv.flat[i] / CADC_MV_PER_CODE:g} (CADC units, "
                      f"{value_mv.flat[i]:.0f} mV) is beyond the emulated reversal potentials "
                      f"{field.low:g} … {field.high:g} mV and is realised as {clipped.flat[i]:.0f} mV; the PSP at "
                      f"rest keeps its asked-for strength", QuantisationWarning, stacklevel=user_stacklevel())
    return clipped


class CalibHXNeuronCoba(CalibHXNeuronCuba):
    """``CalibHXNeuronCuba`` with conductance-based synaptic inputs: reversal potentials
    ``e_rev_E``/``e_rev_I`` in CADC units; ``i_synin_gm_*`` sets the conductance per weight."""

    default_parameters = {"v_rest": 110.0, "v_reset": 100.0, "v_thresh": 160.0, "tau_m": 10.0, "tau_syn_E": 10.0,
                          "tau_syn_I": 10.0, "cm": 63.0, "tau_refrac": 2.0, "e_rev_E": 300.0, "e_rev_I": 30.0,
                          "i_synin_gm_E": 180.0, "i_synin_gm_I": 250.0, "synapse_dac_bias": 400.0}
    # calix extrapolates the reversal potentials: they may lie beyond the CADC's range (default 300)
    RANGES = {**CalibHXNeuronCuba.RANGES, "e_rev_E": (0, 400), "e_rev_I": (0, 400)}
    units = {**CalibHXNeuronCuba.units, "e_rev_E": "dimensionless", "e_rev_I": "dimensionless"}
    conductance_based = True

    @staticmethod
    def _driving_force_mv(p, receptor):
        return (p[f"e_rev_{receptor}"] - p["v_rest"]) * CADC_MV_PER_CODE


class SpikeSourceArray(backend.SpikeSourceArray):
    """Spike times in hardware ms (``[0.01, 0.03]``: 10 µs and 30 µs after the start)."""


class SpikeSourcePoisson(backend.SpikeSourcePoisson):
    """Poisson spike trains (rate in hardware Hz, start and duration in hardware ms),
    drawn on the host and played back by the FPGA."""


class SpikeSourcePoissonOnChip(backend.SpikeSourcePoissonOnChip):
    """Poisson spikes from a background generator (rate in hardware Hz; ``seed``)."""

    def __init__(self, rate, seed):
        super().__init__(rate=rate, seed=seed)


__all__ = ["HXNeuron", "CalibHXNeuronCuba", "CalibHXNeuronCoba", "SpikeSourceArray", "SpikeSourcePoisson",
           "SpikeSourcePoissonOnChip"]
