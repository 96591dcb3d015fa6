"""``hxtorch``'s top level for ``bss2emu exec``: the names scripts call on ``hxtorch``
itself, taken from ``bss2emu.ann`` (``hxtorch.perceptron``) and ``bss2emu.snn``
(``hxtorch.snn``). Names only; the modules hold the implementation. Requires the ``torch``
extra.
"""

from bss2emu import ann as perceptron
from bss2emu import snn
from bss2emu.ann import (
    add, argmax, conv1d, conv2d, converting_relu, init_hardware, matmul, measure_mock_parameter, release_hardware,
    relu,
)
from bss2emu.ann import nn

__all__ = ["snn", "perceptron", "nn", "init_hardware", "release_hardware", "matmul", "conv1d", "conv2d", "relu",
           "converting_relu", "argmax", "add", "measure_mock_parameter"]

# a package path, so that ``import hxtorch.snn`` finds the submodules bss2emu exec binds
__path__: list[str] = []
