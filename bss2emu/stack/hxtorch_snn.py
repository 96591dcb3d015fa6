"""``hxtorch.snn`` / ``hxtorch.spiking`` for ``bss2emu exec``: ``bss2emu.snn``'s names with
hxtorch's defaults and conventions at the edge:

- neuron modules in hardware units: leak and reset ``HXParameter(HX_LEAK_CODES)``, threshold
  ``HXParameter(HX_THRESHOLD_CODES)`` (CADC codes, for the model too), CADC traces handed
  over as the signed read-out's codes (``trace_offset=0``, ``trace_scale=1``) unless a script
  gives its own;
- ``Synapse``: the software model uses ``weight`` itself; ``transform`` (default
  ``linear_saturating`` with scale 1) only maps it to the chip's hardware weights;
- tensors ``(time, batch, neurons)``; ``membrane_madc`` as ``(2, samples, batch, 1)``;
- a subclass's ``forward_func`` replaces a module's computation (hxtorch's way to plug in
  another gradient, e.g. EventProp: ``functional.EventPropLIFFunction``).

Names and defaults only; ``bss2emu.snn`` holds the implementation.

>>> import bss2emu.stack.hxtorch_snn as hxsnn
>>> exp = hxsnn.Experiment(mock=True)
>>> lif = hxsnn.LIF(2, exp)
>>> lif.params.leak, lif.params.threshold, lif.hardware_params["threshold"], lif.trace_scale
(80.0, 125.0, 125.0, 1.0)
>>> import torch
>>> syn = hxsnn.Synapse(1, 2, exp)
>>> h = lif(syn(hxsnn.LIFObservables(spikes=torch.zeros(30, 4, 1))))  # 30 steps, batch of 4
>>> hxsnn.run(exp, 30)
>>> tuple(h.spikes.shape), tuple(h.membrane_cadc.shape)
((30, 4, 2), (30, 4, 2))
"""

from __future__ import annotations

import torch

from bss2emu import snn as _snn
from bss2emu.snn import *  # noqa: F401,F403 (the names hxtorch.snn has)
from bss2emu.snn import functional, handle, parameter, transforms  # noqa: F401 (hxtorch.snn's submodules)
from bss2emu.errors import ConfigError
from bss2emu.snn.parameter import HXParameter
from bss2emu.stack import hxtorch_morphology as morphology
from bss2emu.snn.transforms import linear_saturating
from bss2emu.snn.units import HX_LEAK_CODES, HX_THRESHOLD_CODES
from bss2emu.units import FPGA_CLOCK_MHZ

__all__ = list(_snn.__all__) + ["functional", "handle", "parameter", "transforms", "morphology"]

# a package path, so that ``import hxtorch.snn.parameter`` finds the submodules bss2emu exec binds
__path__: list[str] = []

# hxtorch's defaults of the neuron modules (factories: a parameter object per module)
HX_DEFAULTS = {
    "leak": lambda: HXParameter(HX_LEAK_CODES),
    "reset": lambda: HXParameter(HX_LEAK_CODES),
    "threshold": lambda: HXParameter(HX_THRESHOLD_CODES),
    "transform": lambda: linear_saturating,
    "trace_offset": lambda: 0.0,
    "trace_scale": lambda: 1.0,
}


# hxtorch's arguments about the real chip's placement and calibration knobs: recorded on the
# module; the emulator places the populations itself (routing) and calibrates the synaptic
# input to the nightly strength (units.HX_WEIGHT_STEP_MV)
HX_SETUP = ("placement_constraint", "i_synin_gm", "synapse_dac_bias", "interpolation_mode")


def _with_hx_defaults(cls: type, names: tuple[str, ...]) -> type:
    def __init__(self, *args, **kwargs):
        for name in names:
            if kwargs.get(name) is None:
                kwargs[name] = HX_DEFAULTS[name]()
        setup = {k: kwargs.pop(k) for k in HX_SETUP if k in kwargs}
        structure = kwargs.pop("neuron_structure", None)
        if structure is not None and getattr(structure, "size", 1) != 1:
            raise ConfigError(f"{cls.__name__}: neuron_structure={structure!r}: the emulated modules run one "
                              f"circuit per neuron; remove neuron_structure (or use SingleCompartmentNeuron(1))")
        cls.__init__(self, *args, **kwargs)
        self.hx_setup = setup

    return type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__,
                                       "__module__": __name__, "__qualname__": cls.__qualname__})


class Experiment(_snn.Experiment):
    """``snn.Experiment`` with hxtorch's layout: tensors ``(time, batch, neurons)``, the CADC
    read signed (code - 128), and ``membrane_madc`` as hxtorch hands it over:
    ``(2, samples, batch, 1)`` — sample times in FPGA clock cycles, then raw 10-bit MADC codes."""

    time_first = True
    cadc_code_offset = 128

    def _deliver(self, handle) -> None:
        super()._deliver(handle)
        codes = getattr(handle, "madc_codes", None)
        if codes is not None and handle.membrane_madc is not None:
            codes = codes.transpose(0, 1)  # (samples, batch, 1)
            cycles = torch.arange(codes.shape[0], dtype=codes.dtype) * (handle.madc_dt * FPGA_CLOCK_MHZ * 1e6)
            handle.membrane_madc = torch.stack([cycles[:, None, None].expand_as(codes), codes])


Instance = Experiment


def _user_layout(t):
    # (batch, time, neurons) inside, (time, batch, neurons) for the script; other shapes as they are
    return t.transpose(0, 1) if isinstance(t, torch.Tensor) and t.dim() == 3 else t


class _HXForwardFunc:
    """hxtorch's ``forward_func``: a subclass that defines ``forward_func(input_handle)``
    (synapses) or ``forward_func(input_handle, hw_data=None)`` (neurons; ``hw_data`` the chip's
    ``(spikes, membrane_cadc, membrane_madc)``) computes the module's output handle itself, in
    hxtorch's layout."""

    def execute(self, inputs, output, hw) -> None:
        if getattr(type(self), "forward_func", None) is None:
            return super().execute(inputs, output, hw)
        args = [type(h)(**{n: _user_layout(getattr(h, n)) for n in h._fields}) for h in inputs]
        if isinstance(self, _snn.Synapse):
            result = self.forward_func(*args)
        else:
            hw_data = None if hw is None else (_user_layout(hw.spikes), _user_layout(hw.membrane_cadc), None)
            result = self.forward_func(*args, hw_data=hw_data)
        output.put(**{n: _user_layout(getattr(result, n, None)) for n in output._fields
                      if getattr(result, n, None) is not None})
        if hw is not None and hasattr(output, "membrane_madc"):
            output.put(membrane_madc=hw.membrane_madc)
            output.madc_dt, output.madc_codes = hw.madc_dt, hw.madc_codes


class _HXWeight(_HXForwardFunc):
    def effective_weight(self) -> torch.Tensor:
        """hxtorch's: the model sees the software weight (masked); the transform is for the chip."""
        return self.weight if self.mask() is None else self.weight * self.mask()


Synapse = type("Synapse", (_HXWeight, _with_hx_defaults(_snn.Synapse, ("transform",))),
               {"__module__": __name__, "__doc__": _snn.Synapse.__doc__})
SparseSynapse = type("SparseSynapse", (_HXWeight, _with_hx_defaults(_snn.SparseSynapse, ("transform",))),
                     {"__module__": __name__, "__doc__": _snn.SparseSynapse.__doc__})


def _neuron(cls: type, names: tuple[str, ...]) -> type:
    return type(cls.__name__, (_HXForwardFunc, _with_hx_defaults(cls, names)),
                {"__module__": __name__, "__doc__": cls.__doc__})


LIF = _neuron(_snn.LIF, ("leak", "reset", "threshold", "trace_offset", "trace_scale"))
AELIF = _neuron(_snn.AELIF, ("leak", "reset", "threshold", "trace_offset", "trace_scale"))
LI = _neuron(_snn.LI, ("leak", "trace_offset", "trace_scale"))
Neuron, ReadoutNeuron = LIF, LI
