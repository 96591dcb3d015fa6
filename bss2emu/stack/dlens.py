"""``dlens_vx_v3``: the real stack's bundle of its lower layers, as bss2emu's.

>>> from bss2emu.stack import dlens
>>> dlens.halco.AtomicNeuronOnDLS.size, dlens.hal is dlens.haldls
(512, True)
"""

from __future__ import annotations

from . import halco, haldls, hxcomm, lola, logger, stadls
from . import haldls as hal
from . import stadls as sta

# a package path, so that ``import dlens_vx_v3.halco`` finds the submodules bss2emu exec binds
__path__: list[str] = []

__all__ = ["halco", "haldls", "hal", "lola", "stadls", "sta", "hxcomm", "logger"]
