"""The ``snn`` modules (hxtorch.snn's names): ``forward`` registers the module with its
experiment and returns an empty handle; ``run`` fills the handles (deferred execution).

Every module takes ``func``: the callable (or ``torch.autograd.Function``) that computes its
output from its input tensors — replace it to change a module's forward/backward, as hxtorch
allows. Neuron functions get ``(input, params, dt, hw_data)``; synapse functions
``(input, weight)``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import torch

from ..errors import ConfigError
from . import functional as F
from .parameter import HXBaseParameter, ModelParameter, split
from .handle import NeuronHandle, ReadoutNeuronHandle, SynapseHandle, TensorHandle
from .units import DEFAULT_CAPACITANCE, neuron_targets, weight_lsb


def _callable(func) -> Callable:
    if isinstance(func, type) and issubclass(func, torch.autograd.Function):
        return func.apply
    return func


class HXModule(torch.nn.Module):
    """Base: a module of one experiment; ``forward`` registers, ``run`` executes."""

    output_type: type = TensorHandle

    def __init__(self, experiment, func: Callable, execution_instance=None) -> None:
        super().__init__()
        if experiment is None or not hasattr(experiment, "connect"):
            raise ConfigError(f"{type(self).__name__}: experiment={experiment!r} is not an snn.Experiment; "
                              f"pass experiment=snn.Experiment(...)")
        object.__setattr__(self, "experiment", experiment)  # not a submodule: shared by all modules
        # hxtorch's grouping of modules into hardware runs; bss2emu runs the whole network as one
        # experiment and its routing places the populations (on several chips where needed)
        object.__setattr__(self, "execution_instance",
                           execution_instance if execution_instance is not None
                           else getattr(experiment, "default_execution_instance", None))
        self.func = func
        self.label = experiment.register_module(self)

    def forward(self, *inputs: TensorHandle) -> TensorHandle:
        for h in inputs:
            if not isinstance(h, TensorHandle):
                raise ConfigError(f"{self.label}: input of type {type(h).__name__} is not a handle; wrap tensors "
                                  f"as snn.NeuronHandle(spikes=tensor) (batch, time, neurons)")
        out = self.output_type()
        self.experiment.connect(self, inputs, out)
        return out

    def execute(self, inputs: list[TensorHandle], output: TensorHandle, hw: Any) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return self.label


class InputNeuron(HXModule):
    """External spike sources (the FPGA plays them back): passes its input's spikes on."""

    output_type = NeuronHandle

    def __init__(self, size: int, experiment=None, execution_instance=None) -> None:
        super().__init__(experiment, func=None, execution_instance=execution_instance)
        self.size = _positive_size(self, size)

    def execute(self, inputs, output, hw) -> None:
        output.put(spikes=inputs[0].spikes)


class Synapse(HXModule):
    """Dense projection ``in_features → out_features``; ``weight`` ``(out, in)`` in threshold
    units of synaptic current. ``transform(weight) → hardware weights`` defaults to
    ``linear_saturating`` with the post population's scale (``snn.units``); the network
    sees ``hardware weight · lsb``, in mock mode too."""

    output_type = SynapseHandle

    def __init__(self, in_features: int, out_features: int, experiment=None, func: Callable = F.linear,
                 transform: Optional[Callable] = None, device=None, dtype=None, execution_instance=None) -> None:
        super().__init__(experiment, func, execution_instance)
        self.in_features = _positive_size(self, in_features, "in_features")
        self.out_features = _positive_size(self, out_features, "out_features")
        self.transform = transform
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self, mean: float = 0.0, std: Optional[float] = None) -> None:
        """Normal weights (default std 1/sqrt(in_features), threshold units)."""
        with torch.no_grad():
            self.weight.normal_(mean, std if std is not None else 1.0 / math.sqrt(self.in_features))

    def mask(self) -> Optional[torch.Tensor]:
        return None

    def lsb(self) -> float:
        """Threshold units per hardware weight step of this projection (from its post neurons)."""
        return self.experiment.weight_lsb(self)

    def weight_hw(self) -> torch.Tensor:
        """Signed hardware weights −63…63 (float, with the transform's gradient)."""
        w = self.weight if self.mask() is None else self.weight * self.mask()
        if self.transform is not None:
            return self.transform(w)
        return F.linear_saturating(w, 1.0 / self.lsb())

    def effective_weight(self) -> torch.Tensor:
        """The weight the network sees: hardware weight · lsb (threshold units)."""
        return self.weight_hw() * self.lsb()

    def execute(self, inputs, output, hw) -> None:
        spikes = inputs[0].observable_state
        if spikes.shape[-1] != self.in_features:
            raise ConfigError(f"{self.label}: input has {spikes.shape[-1]} neurons, the synapse expects "
                              f"in_features={self.in_features}; match the layer sizes")
        output.put(graded_spikes=_callable(self.func)(spikes, self.effective_weight()))


class SparseSynapse(Synapse):
    """A projection with only the connections of ``connections`` (a bool or sparse tensor
    ``(out, in)``); the others do not exist on the chip."""

    def __init__(self, connections: torch.Tensor, experiment=None, func: Callable = F.linear,
                 transform: Optional[Callable] = None, device=None, dtype=None, execution_instance=None) -> None:
        dense = connections.to_dense() if connections.is_sparse else connections
        if dense.dim() != 2:
            raise ConfigError(f"SparseSynapse: connections has shape {tuple(dense.shape)}; give a 2-d (out, in) "
                              f"mask")
        out_f, in_f = dense.shape
        super().__init__(in_f, out_f, experiment, func, transform, device, dtype, execution_instance)
        self.register_buffer("connections", dense != 0)

    def mask(self) -> torch.Tensor:
        return self.connections.to(self.weight.dtype)


class _NeuronModule(HXModule):
    params_type: type = F.LIFParams
    spiking = True

    def __init__(self, size: int, experiment, func, params: dict, enable_spike_recording: bool,
                 enable_cadc_recording: bool, enable_madc_recording: bool, record_neuron_id: Optional[int],
                 trace_offset, trace_scale, capacitance: int, execution_instance=None) -> None:
        super().__init__(experiment, func, execution_instance)
        self.size = _positive_size(self, size)
        model, hardware = {}, {}
        for name, value in params.items():  # numbers, or parameter objects (model and hardware value)
            model[name], hw_value, in_hw_units = split(value)
            if in_hw_units:
                hardware[name] = hw_value
        self.params = self.params_type(**model)
        self.hardware_params = hardware  # hardware values (CADC codes, s) of the parameter objects
        for name, value in params.items():  # hxtorch's attributes: module.leak.model_value, …
            setattr(self, name, value if isinstance(value, HXBaseParameter) else ModelParameter(value))
        self.enable_spike_recording = enable_spike_recording
        self.enable_cadc_recording = enable_cadc_recording
        self.enable_madc_recording = enable_madc_recording
        if record_neuron_id is not None and not 0 <= record_neuron_id < size:
            raise ConfigError(f"{self.label}: record_neuron_id={record_neuron_id} is not a neuron of this "
                              f"population of {size}; use 0..{size - 1}")
        self.record_neuron_id = record_neuron_id or 0
        self.trace_offset, self.trace_scale = trace_offset, trace_scale
        self.capacitance = capacitance
        self.targets = neuron_targets(self.label, self.params, capacitance, self.spiking, hardware)

    def weight_lsb(self) -> float:
        return weight_lsb(self.targets)

    def _current(self, inputs) -> torch.Tensor:
        currents = [h.graded_spikes for h in inputs]
        for h in inputs:
            if not isinstance(h, SynapseHandle):
                raise ConfigError(f"{self.label}: input is a {type(h).__name__}; a neuron module takes the output "
                                  f"of a Synapse module")
        total = currents[0]
        for c in currents[1:]:
            total = total + c
        if total.shape[-1] != self.size:
            raise ConfigError(f"{self.label}: synaptic input has {total.shape[-1]} neurons, the population has "
                              f"{self.size}; match the synapse's out_features")
        return total


class LIF(_NeuronModule):
    """Leaky integrate-and-fire neurons (``functional.lif_integration``): times in s, voltages
    in threshold units; ``capacitance`` (0…63) sets the chip's synaptic strength range."""

    output_type = NeuronHandle

    def __init__(self, size: int, experiment=None, tau_mem: float = 10e-6, tau_syn: float = 10e-6,
                 refractory_time: float = 1e-6, leak: float = 0.0, reset: float = 0.0, threshold: float = 1.0,
                 alpha: float = 50.0, func: Callable = F.lif_integration, enable_spike_recording: bool = True,
                 enable_cadc_recording: bool = True, enable_madc_recording: bool = False,
                 record_neuron_id: Optional[int] = None, trace_offset=None, trace_scale=None,
                 capacitance: int = DEFAULT_CAPACITANCE, cadc_time_shift: int = 0, shift_cadc_to_first: bool = False,
                 **extra) -> None:
        instance = extra.pop("execution_instance", None)
        params = dict(tau_mem=tau_mem, tau_syn=tau_syn, refractory_time=refractory_time, leak=leak, reset=reset,
                      threshold=threshold, alpha=alpha, **_model_params(type(self).__name__, extra))
        super().__init__(size, experiment, func, params, enable_spike_recording, enable_cadc_recording,
                         enable_madc_recording, record_neuron_id, trace_offset, trace_scale, capacitance, instance)
        self.cadc_time_shift, self.shift_cadc_to_first = int(cadc_time_shift), bool(shift_cadc_to_first)

    def execute(self, inputs, output, hw) -> None:
        current = self._current(inputs)
        hw_data = None if hw is None else (hw.spikes, hw.membrane_cadc)
        z, v = _callable(self.func)(current, self.params, self.experiment.dt, hw_data)
        output.put(spikes=z, membrane_cadc=v, current=current,
                   membrane_madc=None if hw is None else hw.membrane_madc)
        output.madc_dt = None if hw is None else hw.madc_dt
        output.madc_codes = None if hw is None else hw.madc_codes


class AELIF(LIF):
    """Adaptive exponential LIF: ``exp_slope`` Δ_T, ``exp_threshold`` V_T (threshold units),
    ``subthreshold_adaptation`` a/g_L, ``spike_adaptation`` b (threshold units), ``tau_adap`` (s)."""

    params_type = F.AELIFParams

    def __init__(self, size: int, experiment=None, exp_slope: float = 0.0, exp_threshold: float = 1.5,
                 subthreshold_adaptation: float = 0.0, spike_adaptation: float = 0.0, tau_adap: float = 100e-6,
                 **kwargs) -> None:
        super().__init__(size, experiment, exp_slope=exp_slope, exp_threshold=exp_threshold,
                         subthreshold_adaptation=subthreshold_adaptation, spike_adaptation=spike_adaptation,
                         tau_adap=tau_adap, **kwargs)


class LI(_NeuronModule):
    """Leaky integrator readout (no spikes): its CADC membrane is the network's output."""

    output_type = ReadoutNeuronHandle
    params_type = F.LIParams
    spiking = False

    def __init__(self, size: int, experiment=None, tau_mem: float = 10e-6, tau_syn: float = 10e-6,
                 leak: float = 0.0, func: Callable = F.li_integration, enable_cadc_recording: bool = True,
                 enable_madc_recording: bool = False, record_neuron_id: Optional[int] = None, trace_offset=None,
                 trace_scale=None, capacitance: int = DEFAULT_CAPACITANCE, cadc_time_shift: int = 0,
                 shift_cadc_to_first: bool = False, **extra) -> None:
        instance = extra.pop("execution_instance", None)
        _model_params("LI", extra)
        super().__init__(size, experiment, func, dict(tau_mem=tau_mem, tau_syn=tau_syn, leak=leak), False,
                         enable_cadc_recording, enable_madc_recording, record_neuron_id, trace_offset, trace_scale,
                         capacitance, instance)
        self.cadc_time_shift, self.shift_cadc_to_first = int(cadc_time_shift), bool(shift_cadc_to_first)

    def execute(self, inputs, output, hw) -> None:
        current = self._current(inputs)
        v = _callable(self.func)(current, self.params, self.experiment.dt, None if hw is None else hw.membrane_cadc)
        output.put(membrane_cadc=v, current=current, membrane_madc=None if hw is None else hw.membrane_madc)
        output.madc_dt = None if hw is None else hw.madc_dt
        output.madc_codes = None if hw is None else hw.madc_codes


_MODEL_KEYS = {"exp_slope", "exp_threshold", "subthreshold_adaptation", "spike_adaptation", "tau_adap"}
# hxtorch arguments about the real system's placement and set-up, which the emulator does itself
_HXTORCH_ONLY = {"placement_constraint", "neuron_structure", "interpolation_mode",
                 "i_synin_gm", "synapse_dac_bias", "method"}


def _model_params(kind: str, extra: dict) -> dict:
    """The model parameters among ``extra``; hxtorch's placement/set-up arguments are refused
    with the reason, anything else as unknown."""
    for key in extra:
        if key in _HXTORCH_ONLY:
            raise ConfigError(f"{kind}: {key}={extra[key]!r} concerns the real system's placement or set-up; the "
                              f"emulator places and calibrates itself: remove the argument")
        if key not in _MODEL_KEYS or kind not in ("AELIF",):
            raise ConfigError(f"{kind}: unknown argument {key!r}; see help(snn.{kind}) for the parameters")
    return extra


def _positive_size(module, size, what: str = "size") -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"{type(module).__name__}: {what}={size!r} must be a positive integer")
    return size
