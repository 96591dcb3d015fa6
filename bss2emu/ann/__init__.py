"""Non-spiking networks on the emulated synapse array in its analog MAC mode, in the manner
of ``hxtorch.perceptron``: ``matmul``, ``conv1d``, ``conv2d``, ``relu``,
``converting_relu``, ``argmax``, ``add`` and the layers in ``ann.nn``. ``mock=True`` is the
ideal chip's quantised arithmetic in torch. Requires the ``torch`` extra.
"""

from . import nn
from .functional import (
    MockParameter, add, argmax, conv1d, conv2d, converting_relu, get_mock_parameter, hardware, init_hardware, matmul,
    measure_mock_parameter, release_hardware, relu, set_mock_parameter,
)

__all__ = ["matmul", "conv1d", "conv2d", "relu", "converting_relu", "argmax", "add", "nn", "init_hardware",
           "release_hardware", "hardware", "measure_mock_parameter", "MockParameter", "set_mock_parameter",
           "get_mock_parameter"]
