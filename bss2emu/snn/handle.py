"""Handles: what a module's ``forward`` returns at once and ``run`` fills with tensors
``(batch, time, neurons)`` (hxtorch's ``NeuronHandle``, ``SynapseHandle``, …)."""

from __future__ import annotations

from typing import Optional

import torch


class TensorHandle:
    """Base of all handles: named tensor slots, ``None`` until the experiment has run."""

    _fields: tuple[str, ...] = ()

    def __init__(self, **tensors: Optional[torch.Tensor]) -> None:
        unknown = set(tensors) - set(self._fields)
        if unknown:
            from ..errors import ConfigError

            raise ConfigError(f"{type(self).__name__} has no field(s) {sorted(unknown)}; its fields are "
                              f"{list(self._fields)}")
        for name in self._fields:
            setattr(self, name, tensors.get(name))

    def put(self, **tensors: Optional[torch.Tensor]) -> None:
        for name, value in tensors.items():
            setattr(self, name, value)

    @property
    def observable_state(self) -> Optional[torch.Tensor]:
        """The tensor a following module consumes."""
        return getattr(self, self._fields[0])

    def __repr__(self) -> str:
        shown = {n: tuple(getattr(self, n).shape) for n in self._fields if getattr(self, n) is not None}
        return f"{type(self).__name__}({shown})"


class NeuronHandle(TensorHandle):
    """Spikes, CADC membrane (threshold units, on the experiment's time grid) and the MADC
    membrane of the recorded neuron (``(batch, samples, 1)`` at the MADC's rate ``madc_dt``, s)."""

    _fields = ("spikes", "membrane_cadc", "membrane_madc", "current")
    madc_dt: Optional[float] = None
    madc_codes: Optional[torch.Tensor] = None  # the MADC's raw 10-bit codes, laid out as membrane_madc


class ReadoutNeuronHandle(TensorHandle):
    """A leaky integrator's CADC (and MADC) membrane."""

    _fields = ("membrane_cadc", "membrane_madc", "current")
    madc_dt: Optional[float] = None
    madc_codes: Optional[torch.Tensor] = None


class SynapseHandle(TensorHandle):
    """The synaptic input (threshold units per step) a synapse module hands to its neurons."""

    _fields = ("graded_spikes",)


# hxtorch's newer names for the same handles
LIFObservables = NeuronHandle
LIObservables = ReadoutNeuronHandle
