"""``Population``, ``PopulationView`` and ``Assembly`` of the bss2emu backend.

A population keeps its parameters as numpy arrays in PyNN's names and units (its native
parameters); ``set`` checks at once that the new values are in the calibrated ranges and
keeps the old ones when not (placement and calibration follow at ``run()``). Nothing
touches the emulator before
``run()``. ``population.annotate(chip=k)`` pins a population to chip ``k`` of a multi-chip
system (otherwise METIS places it).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
from pyNN import common
from pyNN.parameters import ParameterSpace, simplify
from pyNN.random import RandomDistribution
from pyNN.standardmodels import StandardCellType

from ..protocol import coordinates as C
from . import lifecycle, simulator
from . import standardmodels as models
from . import translation
from .exceptions import InvalidModelError, InvalidParameterValueError
from .experiment import current_translations
from .morphology import McCircuitParameters
from .morphology_sites import is_mc
from .recording import PADS, Recorder

from .standardmodels import NEURON_TYPES, model_name

def check_parameters(celltype, params: dict[str, np.ndarray], label: str) -> None:
    """Raise ``InvalidParameterValueError`` if the hardware cannot realise ``params``."""
    name = model_name(celltype)
    where = f"{name} population {label!r}"
    try:
        if isinstance(celltype, NEURON_TYPES):
            translation.check_bio(params)
        elif models.is_hardware(celltype):
            celltype.check_values(params)
        elif isinstance(celltype, models.SpikeSourceArray):
            for times in params["spike_times"]:
                t = np.asarray(times.value if hasattr(times, "value") else times, float)
                if t.size and (t.min() < 0 or not np.all(np.isfinite(t))):
                    raise translation.TranslationError("spike_times", f"spike time {t.min():g} ms is negative or not "
                                                                      f"finite; spike times are ≥ 0 ms")
        elif isinstance(celltype, (models.SpikeSourcePoisson, models.SpikeSourcePoissonOnChip)):
            rate = np.asarray(params["rate"], float)
            if (rate < 0).any() or not np.isfinite(rate).all():
                raise translation.TranslationError("rate", f"rate={rate.min():g} Hz must be ≥ 0")
            if isinstance(celltype, models.SpikeSourcePoissonOnChip):
                check_on_chip_source(params, len(rate), label)
    except translation.TranslationError as err:
        raise InvalidParameterValueError(f"{where}: {err}") from None


def check_on_chip_source(params, size: int, label: str) -> None:
    if size not in (1, 2, 4, 8, 16, 32, 64):
        raise translation.TranslationError(
            "size", f"an on-chip Poisson source drives 1, 2, 4, … 64 neurons (a background generator's label mask), "
                    f"not {size}: use size {min(64, 1 << max(size - 1, 0).bit_length())} or SpikeSourcePoisson")
    for key in ("rate", "start", "duration", "seed"):
        v = np.asarray(params[key], float)
        if v.size > 1 and not np.all(v == v.flat[0]):
            raise translation.TranslationError(key, f"{key} differs between the neurons of one background "
                                                    f"generator; give one value")
    rate = float(np.asarray(params["rate"], float).flat[0])
    if rate > 0:
        period, r8 = translation.background_settings(rate, size, simulator.state.us_per_ms)
        # events per hardware µs per neuron → per second of the view's time (us_per_ms hardware µs per ms)
        realised = r8 / 256.0 / (period * 4e-3) / size * 1e3 * simulator.state.us_per_ms
        if abs(realised - rate) > 0.05 * rate:
            raise translation.TranslationError("rate", f"rate={rate:g} Hz is outside what a background generator "
                                                       f"realises for {size} neurons (closest {realised:.3g} Hz)")
    seed = float(np.asarray(params["seed"], float).flat[0])
    if not (0 <= seed <= 0xFFFFFFFF and seed == int(seed)):
        raise translation.TranslationError("seed", f"seed={seed:g} must be an integer 0 … 2**32-1 (0: from setup)")


class _DeviceRecord:
    """``record(..., device=...)``: pynn.brainscales2's choice of analog readout."""

    def record(self, variables, to_file=None, sampling_interval=None, locations=None, *, device=None):
        """PyNN's ``record``; ``device`` ("madc", "cadc") chooses the analog readout (None: the
        backend's choice, see ``recording``)."""
        if device in PADS:  # an output to external equipment, not a recording
            warnings.warn(f"record({variables!r}, device={device!r}): the emulated chip has no analog pads, so "
                          f"nothing reaches an oscilloscope and nothing is recorded through the pad; record with "
                          f"device='madc' to get the signal", UserWarning, stacklevel=2)
            return None
        if variables is not None:
            self.recorder.set_device(variables, device)
        return super().record(variables, to_file, sampling_interval, locations)

    def set(self, **parameters):
        """PyNN's ``set``; a multi-compartment cell's parameter may also be a
        ``McCircuitParameters`` (a value per compartment and circuit)."""
        per_circuit = {k: v for k, v in parameters.items() if isinstance(v, McCircuitParameters)}
        if per_circuit:
            pop = getattr(self, "grandparent", self)
            if not is_mc(pop):
                raise InvalidParameterValueError(f"population {pop.label!r}: McCircuitParameters are values of "
                                                 f"multi-compartment neurons; give one value per neuron")
            values = self.celltype.per_circuit(per_circuit, self.size)
            if pop is not self:
                index = self.index_in_grandparent(np.arange(self.size))
                values = {k: _replace_rows(pop._parameters[k], index, v) for k, v in values.items()}
            pop._update_parameters(values)
        rest = {k: v for k, v in parameters.items() if k not in per_circuit}
        return super().set(**rest) if rest else None


def _replace_rows(full: np.ndarray, index: np.ndarray, rows: np.ndarray) -> np.ndarray:
    out = full.copy()
    out[index] = rows
    return out


class Assembly(common.Assembly):
    _simulator = simulator


class PopulationView(_DeviceRecord, common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    def _get_parameters(self, *names):
        ps = self.parent._get_native_parameters(*_native_names(self.celltype, names))
        ps.evaluate(simplify=False)
        ps = ParameterSpace({k: simplify(np.asarray(v)[self.mask]) for k, v in ps.items()}, shape=(self.size,))
        return self.celltype.reverse_translate(ps) if isinstance(self.celltype, StandardCellType) else ps

    def _get_native_parameters(self, *names):
        ps = self.parent._get_native_parameters(*names)
        ps.evaluate(simplify=False)
        return ParameterSpace({k: simplify(np.asarray(v)[self.mask]) for k, v in ps.items()}, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        values = {}
        for name, value in parameter_space.items():
            full = self.grandparent._parameters[name].copy()
            if is_mc(self.grandparent):  # a value per circuit
                value = self.celltype.per_circuit({name: value}, self.size)[name]
            full[self.index_in_grandparent(np.arange(self.size))] = value
            values[name] = full
        self.grandparent._update_parameters(values)

    def _set_initial_value_array(self, variable, initial_values):
        parent = self.grandparent
        values = parent._initial_values.get(variable)
        values = np.full(parent.size, np.nan) if values is None else values.copy()
        values[self.index_in_grandparent(np.arange(self.size))] = evaluate_initial_values(initial_values, self.size)
        parent._initial_values[variable] = values

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


def _native_names(celltype, names):
    if isinstance(celltype, StandardCellType):
        return celltype.get_native_names(*names) if names else celltype.get_native_names()
    return names or celltype.get_parameter_names()


def evaluate_initial_values(value, size: int) -> np.ndarray:
    """An initial value (PyNN's ``LazyArray``) as one float per neuron, drawn exactly as
    pyNN.nest draws it (a parallel-safe ``RandomDistribution`` over the whole population,
    anything else over the local cells, all of them here) so that a shared RNG stays in step
    with NEST's. The values are kept though unused: the hardware membrane starts at its
    leak potential (``run()`` warns when they differ from ``v_rest``)."""
    if isinstance(value.base_value, RandomDistribution) and value.base_value.rng.parallel_safe:
        values = value.evaluate()
    else:
        values = value._partially_evaluate(np.ones(size, bool), simplify=True)
    return np.broadcast_to(np.asarray(values, float), (size,)).copy()


def _per_neuron(value, size: int) -> np.ndarray:
    """A parameter as one value per neuron (PyNN's evaluated arrays are 0-d for one neuron
    whose value is a sequence, e.g. ``spike_times``)."""
    a = np.array(value)
    if a.ndim == 0 and size == 1:
        out = np.empty(1, a.dtype)
        out[0] = a[()]
        return out
    return a


class Population(_DeviceRecord, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={}, label=None):
        lifecycle.require_setup("Population()")
        lifecycle.require_size(size, label)
        super().__init__(size, cellclass, cellparams, structure, initial_values, label)

    def _create_cells(self):
        model_name(self.celltype)  # only this backend's types
        state = simulator.state
        self.all_cells = np.array([simulator.ID(i) for i in range(state.id_counter, state.id_counter + self.size)],
                                  dtype=simulator.ID)
        self._mask_local = np.ones(self.size, bool)
        ps = self.celltype.native_parameters if isinstance(self.celltype, StandardCellType) \
            else copy.deepcopy(self.celltype.parameter_space)  # a cell type may serve several populations
        ps.shape = (self.size,)
        ps.evaluate(simplify=False)
        self._parameters = {k: _per_neuron(v, self.size) for k, v in ps.items()}
        if is_mc(self):  # a multi-compartment cell: a value per circuit (morphology)
            self._parameters = self.celltype.initial_circuit_values(self._parameters, self.size)
        check_parameters(self.celltype, self._parameters, self.label)
        self._initial_values = {}
        self.set_by_user = set(getattr(self.celltype, "given_parameters", ()))  # (initial_config yields to them)
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        state.populations.append(self)
        if self.size > C.NEURONS_PER_CHIP * 1024:
            raise InvalidParameterValueError(f"population {self.label!r} has {self.size} neurons; at most "
                                             f"{C.NEURONS_PER_CHIP * 1024} are supported")

    def _update_parameters(self, values: dict[str, np.ndarray]) -> None:
        """Set native parameter arrays, keeping the old ones if the hardware can't realise them."""
        if is_mc(self):
            values = self.celltype.per_circuit(values, self.size)
        new = {**self._parameters, **{k: _per_neuron(v, self.size) for k, v in values.items()}}
        check_parameters(self.celltype, new, self.label)
        self._parameters = new
        self.set_by_user = self.set_by_user | set(values)

    def _set_initial_value_array(self, variable, initial_values):
        self._initial_values[variable] = evaluate_initial_values(initial_values, self.size)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        ps = self._get_native_parameters(*_native_names(self.celltype, names))
        return self.celltype.reverse_translate(ps) if isinstance(self.celltype, StandardCellType) else ps

    def _get_native_parameters(self, *names):
        if is_mc(self):
            return ParameterSpace({n: self.celltype.from_circuits(self._parameters[n]) for n in names},
                                  shape=(self.size,))
        return ParameterSpace({n: simplify(self._parameters[n]) for n in names}, shape=(self.size,))

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        self._update_parameters({k: v for k, v in parameter_space.items()})

    def find_units(self, variable):
        """PyNN's units, or the chip's for a hardware-unit type's synaptic input (nA or uS,
        by its input mode) as the last run recorded it."""
        recorded = getattr(self, "_data", None) or {}
        name = getattr(variable, "name", variable)
        return recorded.get("units", {}).get(name) or super().find_units(variable)

    def realised_parameters(self) -> dict[str, np.ndarray]:
        """The parameters (PyNN names and units, one value per neuron) that the calibrated
        circuits realise for this population's current values: what the calibration reached
        (measured or from its measured transfer models), with DAC quantisation and residual
        mismatch. Places and calibrates the network as it is now (cached). Its ``scales``
        say how: the voltage map's scale and offset, each neuron's capacitance and current
        scale, and the negative current folded into the leak (``NeuronTranslation.scales``)."""
        if not isinstance(self.celltype, NEURON_TYPES):
            raise InvalidModelError(f"{model_name(self.celltype)} has no biological translation; its values are "
                                    f"hardware values")
        tr = current_translations(simulator.state)[id(self)]
        return translation.RealisedParameters(tr.achieved, tr.scales())

    def get_plasticity_data(self, observable: str):
        """Samples of a per-neuron observable of the plasticity rule this population's cell
        type holds: one per run of the kernel, each with ``.time`` (ms) and ``.data``."""
        from .rules import observable_part

        return observable_part(self, observable, per_synapse=False)

    @property
    def chip(self) -> int | None:
        """The chip this population is pinned to (``annotate(chip=k)``), or None."""
        c = self.annotations.get("chip")
        return None if c is None else int(c)
