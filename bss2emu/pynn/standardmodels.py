"""Cell, synapse and current-source types of the bss2emu backend.

Standard cell types keep PyNN's names and units as their native parameters (the
translation table of each is the identity); the translation of a population's values to
hardware values happens at ``run()``, after placement, by calibrating the circuits the
neurons were placed on (``translation``). ``CalibHXNeuronCuba``/``CalibHXNeuronCoba`` take
calibration targets in hardware units; ``HXNeuron`` takes DAC values directly.

``hardware_recordable`` lists what the emulated chip can record for a type: spikes of every
neuron; the membrane ``v`` (MADC for one neuron, CADC for many); the synaptic conductances
``gsyn_exc``/``gsyn_inh`` and the adaptation current ``w`` of one neuron (MADC; see
``recording``). Hardware-unit types record the synaptic inputs and adaptation under
pynn.brainscales2's names ``exc_synin``, ``inh_synin``, ``adaptation``, in the chip's
physical units (nA or µS per synaptic input, nA).
"""

from __future__ import annotations

from pyNN import errors
from pyNN.models import BaseCellType
from pyNN.standardmodels import (
    StandardCellType, StandardCurrentSource, build_translations, cells, electrodes, synapses,
)

import numpy as np

from ..calib.targets import TARGET_FIELDS
from ..protocol.hardware import NEURON_PARAMETERS
from . import translation as T
from .exceptions import InvalidModelError, NoModelAvailableError
from .plasticity import PlasticityRuleHandle
from .selection import targets_of
from .simulator import state


def _identity(cls) -> dict:
    return build_translations(*((name, name) for name in cls.default_parameters))


class IF_curr_exp(PlasticityRuleHandle, cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = _identity(cells.IF_curr_exp)
    hardware_recordable = ("spikes", "v")


class IF_cond_exp(PlasticityRuleHandle, cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = _identity(cells.IF_cond_exp)
    hardware_recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh")


class EIF_cond_exp_isfa_ista(PlasticityRuleHandle, cells.EIF_cond_exp_isfa_ista):
    __doc__ = cells.EIF_cond_exp_isfa_ista.__doc__
    translations = _identity(cells.EIF_cond_exp_isfa_ista)
    hardware_recordable = ("spikes", "v", "w", "gsyn_exc", "gsyn_inh")


class SpikeSourceArray(cells.SpikeSourceArray):
    """Spike times played back by the FPGA (one ``Sequence`` of ms per neuron)."""

    translations = _identity(cells.SpikeSourceArray)
    hardware_recordable = ("spikes",)


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    """Poisson spike trains generated on the host and played back by the FPGA."""

    translations = _identity(cells.SpikeSourcePoisson)
    hardware_recordable = ("spikes",)


class SpikeSourcePoissonOnChip(StandardCellType):
    """Poisson spikes from one of the chip's 8 background generators (binned Poisson at the
    250 MHz clock; ``size`` must be a power of two ≤ 64: the generator spreads its events
    over that many labels, so the neurons are not independent Poisson processes — only
    one fires per bin). ``seed`` 0 derives the generator seed from ``setup(seed=...)``.

    Its spikes never leave the chip, so they cannot be recorded."""

    default_parameters = {"rate": 1.0, "start": 0.0, "duration": 1e10, "seed": 0}
    recordable = ["spikes"]
    hardware_recordable = ()
    injectable = False
    receptor_types = ()
    units = {"rate": "Hz", "start": "ms", "duration": "ms", "seed": "dimensionless"}
    translations = build_translations(("rate", "rate"), ("start", "start"), ("duration", "duration"),
                                      ("seed", "seed"))


class HXNeuron(PlasticityRuleHandle, BaseCellType):
    """A BSS-2 neuron circuit in hardware units: every parameter is its 10-bit CapMem or
    digital value (see ``bss2emu.protocol.hardware.NEURON_PARAMETERS``). Weights onto it
    are 6-bit codes 0…63; ``v`` is recorded in hardware mV (0…1200), times in ms
    biological (= µs hardware); ``exc_synin``/``inh_synin`` in nA (current-based) or µS
    (``coba_exc``/``coba_inh`` set), ``adaptation`` in nA."""

    default_parameters = {p.name: p.default for p in NEURON_PARAMETERS}
    units = {"v": "mV", "exc_synin": "nA", "inh_synin": "nA", "adaptation": "nA",
             **{p.name: "dimensionless" for p in NEURON_PARAMETERS}}
    recordable = ["spikes", "v", "exc_synin", "inh_synin", "adaptation"]
    hardware_recordable = ("spikes", "v", "exc_synin", "inh_synin", "adaptation")
    receptor_types = ("excitatory", "inhibitory")
    conductance_based = True  # weights are non-negative codes for both receptors
    default_initial_values = {"v": 0.0}
    _MAXIMUM = {p.name: p.maximum for p in NEURON_PARAMETERS}

    def check_values(self, params: dict) -> None:
        """Raise ``TranslationError`` for a value that is not a hardware value."""
        for key, val in params.items():
            v = np.asarray(val, float)
            bad = (v < 0) | (v > self._MAXIMUM[key]) | (v != np.rint(v))
            if bad.any():
                raise T.TranslationError(key, f"{key}={v[bad][0]:g} is not a hardware value: use an integer "
                                              f"0 … {self._MAXIMUM[key]}")

    def internal_values(self, params: dict, circuits: np.ndarray, population) -> dict[str, np.ndarray]:
        """The neurons' values of ``protocol.hardware.NEURON_PARAMETERS`` (one per neuron of
        ``population``; the neurons sit on ``circuits``)."""
        return {key: np.asarray(v).astype(np.int64) for key, v in params.items()}


class _CalibHXNeuron(PlasticityRuleHandle, BaseCellType):
    hardware_recordable = ("spikes", "v", "exc_synin", "inh_synin")
    recordable = ["spikes", "v", "exc_synin", "inh_synin"]
    receptor_types = ("excitatory", "inhibitory")
    conductance_based = True  # weights are non-negative codes for both receptors
    default_initial_values = {"v": 600.0}
    hardware_units = True
    _TARGET = {f.name: f for f in TARGET_FIELDS}

    def check_values(self, params: dict) -> None:
        """Raise ``TranslationError`` for a target outside the calibrated range."""
        for key, val in params.items():
            f = self._TARGET[T.HW_TARGETS[key]]
            v = np.atleast_1d(np.asarray(val, float))
            bad = ~((v >= f.low) & (v <= f.high))
            if bad.any():
                unit = self.units[key]
                raise T.TranslationError(key, f"{key}={v[bad][0]:g} {unit} is outside the calibrated range "
                                              f"{f.low:g} … {f.high:g} {unit} ({f.doc})")

    def calibration_targets(self, params: dict) -> dict[str, np.ndarray]:
        """The ``calib`` targets (hardware mV, µs) of the neurons' parameters."""
        return T.hardware_targets(params)


class CalibHXNeuronCuba(_CalibHXNeuron):
    """A calibrated BSS-2 neuron with current-based synaptic inputs, in hardware units
    (like pynn.brainscales2's ``CalibHXNeuronCuba``): voltages in mV on the chip's 0–1200 mV
    scale, times in µs hardware (= ms biological), the synaptic strength as the PSP height
    (mV) of one weight-63 event at rest; ``cm`` is the membrane capacitance setting 0…63
    (smaller: stronger inputs reachable, coarser ``tau_m``; ``tau_m`` ≤ 60 µs·(cm+1)/64).
    Every circuit is calibrated to these targets (``bss2emu.calib``) after placement;
    weights onto it are 6-bit codes 0…63, ``v`` is recorded in hardware mV."""

    default_parameters = {"v_rest": 600.0, "v_reset": 500.0, "v_thresh": 700.0, "tau_m": 10.0, "tau_syn_E": 5.0,
                          "tau_syn_I": 5.0, "tau_refrac": 2.0, "psp_E": 10.0, "psp_I": 10.0, "cm": 63.0}
    units = {"v": "mV", "exc_synin": "nA", "inh_synin": "nA", "v_rest": "mV", "v_reset": "mV", "v_thresh": "mV",
             "tau_m": "us", "tau_syn_E": "us",
             "tau_syn_I": "us", "tau_refrac": "us", "psp_E": "mV", "psp_I": "mV", "cm": "dimensionless"}


class CalibHXNeuronCoba(_CalibHXNeuron):
    """``CalibHXNeuronCuba`` with conductance-based synaptic inputs: reversal potentials
    ``e_rev_E``/``e_rev_I`` in hardware mV; ``psp_E``/``psp_I`` are then the PSP heights of
    a weight-63 event at rest (the small-PSP limit)."""

    default_parameters = {**CalibHXNeuronCuba.default_parameters, "e_rev_E": 1000.0, "e_rev_I": 300.0}
    units = {**CalibHXNeuronCuba.units, "exc_synin": "uS", "inh_synin": "uS", "e_rev_E": "mV", "e_rev_I": "mV"}


def _unavailable(name: str, hint: str):
    def __init__(self, *args, **kwargs):
        raise NoModelAvailableError(f"{name} is not available on BrainScaleS-2 (bss2emu): {hint}")

    return type(name, (), {"__init__": __init__, "__doc__": f"Not available on BrainScaleS-2: {hint}"})


# the shortest calibrated synaptic time constant, µs hardware = ms biological
_TAU_SYN_MIN_MS = max(f.low for f in TARGET_FIELDS if f.name in ("tau_syn_exc_us", "tau_syn_inh_us"))
_ALPHA = "the hardware's synaptic inputs decay exponentially; use the _exp variant"
for _name, _hint in {
    "IF_curr_alpha": _ALPHA + " (IF_curr_exp)", "IF_cond_alpha": _ALPHA + " (IF_cond_exp)",
    "EIF_cond_alpha_isfa_ista": _ALPHA + " (EIF_cond_exp_isfa_ista)",
    "IF_curr_delta": f"synaptic inputs have a time constant of at least {_TAU_SYN_MIN_MS:g} ms; use IF_curr_exp with "
                     f"tau_syn_E={_TAU_SYN_MIN_MS:g}",
    "HH_cond_exp": "the circuits are AdEx neurons without sodium/potassium channels; use EIF_cond_exp_isfa_ista",
    "Izhikevich": "the circuits are AdEx neurons; use EIF_cond_exp_isfa_ista",
    "IF_cond_exp_gsfa_grr": "there is no relative-refractory conductance; use EIF_cond_exp_isfa_ista (adaptation)",
    "IF_facets_hardware1": "that is the FACETS wafer model; use IF_cond_exp or HXNeuron",
    "GIF_cond_exp": "there are no spike-triggered currents besides adaptation; use EIF_cond_exp_isfa_ista",
    "SpikeSourceGamma": "use SpikeSourceArray with gamma-distributed times generated in Python",
    "SpikeSourceInhGamma": "use SpikeSourceArray with times generated in Python",
    "SpikeSourcePoissonRefractory": "use SpikeSourceArray with times generated in Python",
    "ACSource": "the constant current changes only at timed writes; use StepCurrentSource with the sine sampled",
    "NoisyCurrentSource": "use StepCurrentSource with the noise sampled at the steps you need",
    "STDPMechanism": "plasticity runs as PPU kernels: subclass sim.PlasticityRule with kernel(self, ctx) (e.g. "
                     "examples/plasticity_stdp.py)",
    "SimpleStochasticSynapse": "synaptic transmission is deterministic on the chip",
    "StochasticTsodyksMarkramSynapse": "synaptic transmission is deterministic; use TsodyksMarkramSynapse",
    "MultiQuantalSynapse": "synaptic transmission is deterministic; use TsodyksMarkramSynapse",
    "ElectricalSynapse": "neuron circuits connect only through spikes (or as multi-compartment neurons)",
    # PyNN's composed cell types: a circuit has one membrane and two synaptic inputs
    # (excitatory, inhibitory), each current- or conductance-based with an exponential decay
    **{_composed: "composed cell types (PointNeuron of LIF/AdExp with named PostSynapticResponses) are not "
                  "translated by bss2emu; a circuit has two synaptic inputs (excitatory, inhibitory) with "
                  "exponential decay: write the equivalent standard type (LIF + two CurrExpPostSynapticResponses "
                  "is IF_curr_exp, AdExp + two CondExp… is EIF_cond_exp_isfa_ista)"
       for _composed in ("PointNeuron", "LIF", "AdExp", "CurrExpPostSynapticResponse", "CondExpPostSynapticResponse",
                         "CondAlphaPostSynapticResponse", "CondBetaPostSynapticResponse")},
}.items():
    globals()[_name] = _unavailable(_name, _hint)
UNAVAILABLE = tuple(_n for _n in globals() if getattr(globals()[_n], "__doc__", "") and
                    str(globals()[_n].__doc__).startswith("Not available on BrainScaleS-2"))


# --- synapses --------------------------------------------------------------------------
class _MinDelay:
    def _get_minimum_delay(self):
        return state.dt if state.min_delay == "auto" else state.min_delay


class StaticSynapse(_MinDelay, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))


class PlasticSynapse(PlasticityRuleHandle, StaticSynapse):
    """A static synapse whose weights the ``plasticity_rule`` (a ``PlasticityRule``) changes
    while the network runs: ``PlasticSynapse(weight=..., plasticity_rule=rule)``."""


class TsodyksMarkramSynapse(_MinDelay, synapses.TsodyksMarkramSynapse):
    """Tsodyks–Markram short-term plasticity, realised by the presynaptic neuron's synapse
    driver: U in steps of 1/16, τ = 2 µs·2**(k/2) (2…362 ms), depression (``tau_facil=0``)
    or facilitation (``tau_rec=0``). All projections from one presynaptic population share
    its drivers and so must ask for the same STP."""

    translations = build_translations(("weight", "weight"), ("delay", "delay"), ("U", "U"),
                                      ("tau_rec", "tau_rec"), ("tau_facil", "tau_facil"))


# --- current sources -------------------------------------------------------------------
class _CurrentSource(StandardCurrentSource):
    """Current into neurons as timed writes of their constant-current DAC (``i_const``)."""

    def __init__(self, **parameters):
        object.__setattr__(self, "_targets", [])
        object.__setattr__(self, "_native", {})
        super().__init__(**parameters)
        self.set_parameters(**parameters)
        state.current_sources.append(self)

    def inject_into(self, cells):
        if hasattr(cells, "celltype") and not cells.celltype.injectable:
            raise TypeError("Can't inject current into a spike source.")
        self._targets.extend(targets_of(cells))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        self._native.update({k: v for k, v in parameters.items()})

    def get_native_parameters(self):
        from pyNN.parameters import ParameterSpace

        return ParameterSpace(dict(self._native), shape=(1,))

    def _get_data(self):
        raise NotImplementedError("recording the injected current is not supported by bss2emu")


class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))

    def steps(self) -> list[tuple[float, float]]:
        """(time ms, amplitude nA) from which the current holds."""
        p = {**self.default_parameters, **self._native}  # PyNN's defaults for what was not given
        return [(float(p["start"]), float(p["amplitude"])), (float(p["stop"]), 0.0)]


class StepCurrentSource(_CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def steps(self) -> list[tuple[float, float]]:
        t = [float(x) for x in self._native["times"].value]
        a = [float(x) for x in self._native["amplitudes"].value]
        if len(t) != len(a):
            raise errors.InvalidParameterValueError(
                f"StepCurrentSource has {len(t)} times and {len(a)} amplitudes: give one amplitude per time")
        return list(zip(t, a))


# --- what a cell type is to the backend ---------------------------------------------------
NEURON_TYPES = (IF_curr_exp, IF_cond_exp, EIF_cond_exp_isfa_ista)
SOURCE_TYPES = (SpikeSourceArray, SpikeSourcePoisson, SpikeSourcePoissonOnChip)
HARDWARE_TYPES = (HXNeuron, CalibHXNeuronCuba, CalibHXNeuronCoba)
CELL_TYPES = NEURON_TYPES + SOURCE_TYPES + HARDWARE_TYPES


def is_hardware(celltype) -> bool:
    """True for cell types in hardware units (weights are 6-bit codes, ``v`` hardware mV)."""
    return isinstance(celltype, HARDWARE_TYPES)


def is_source(pop) -> bool:
    """True for a population of spike sources (played back by the FPGA or generated on chip)."""
    return isinstance(pop.celltype, SOURCE_TYPES)


def model_name(celltype) -> str:
    """The standard model a cell type implements (``IF_curr_exp``, …)."""
    for cls in CELL_TYPES:
        if isinstance(celltype, cls):
            return cls.__name__
    raise InvalidModelError(f"{type(celltype).__module__}.{type(celltype).__name__} is not a bss2emu cell type: use "
                            f"one of bss2emu.pynn's ({', '.join(c.__name__ for c in CELL_TYPES)})")


__all__ = ["IF_curr_exp", "IF_cond_exp", "EIF_cond_exp_isfa_ista", "SpikeSourceArray", "SpikeSourcePoisson",
           "SpikeSourcePoissonOnChip", "HXNeuron", "CalibHXNeuronCuba", "CalibHXNeuronCoba", "StaticSynapse",
           "PlasticSynapse", "TsodyksMarkramSynapse", "DCSource",
           "StepCurrentSource", *UNAVAILABLE]
