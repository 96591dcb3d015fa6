"""A PyTorch front end in the manner of ``hxtorch.snn``: spiking networks as torch modules
that run on the emulated chip (or, with ``Experiment(mock=True)``, in software with the same
API) and train with surrogate gradients — the forward pass from the chip, the backward pass
through the modules' equations evaluated at the chip's values (hardware in the loop).

Requires the ``torch`` extra (``pip install 'bss2emu[torch]'``).
"""

from .experiment import ExecutionInstance, Experiment, run
from .functional import AELIFParams, HardwareInTheLoop, LIFParams, LIParams, SuperSpike
from .handle import LIFObservables, LIObservables, NeuronHandle, ReadoutNeuronHandle, SynapseHandle, TensorHandle
from .modules import AELIF, LI, LIF, HXModule, InputNeuron, SparseSynapse, Synapse
from .parameter import HXParameter, HXTransformedModelParameter, MixedHXModelParameter, ModelParameter

# hxtorch's older names for the same modules
Instance = Experiment
Neuron = LIF
ReadoutNeuron = LI

__all__ = [
    "Experiment", "ExecutionInstance", "run", "HXParameter", "MixedHXModelParameter", "HXTransformedModelParameter",
    "ModelParameter", "InputNeuron", "Synapse", "SparseSynapse", "LIF", "AELIF", "LI", "HXModule",
    "NeuronHandle", "ReadoutNeuronHandle", "SynapseHandle", "TensorHandle", "LIFParams", "AELIFParams", "LIParams",
    "SuperSpike", "HardwareInTheLoop", "Instance", "Neuron", "ReadoutNeuron", "LIFObservables", "LIObservables",
]

from .nir_io import from_nir, to_nir  # noqa: E402 (needs the modules above)

__all__ += ["to_nir", "from_nir"]
