"""The MADC of one chip: what each of its channels reads, and its samples as table columns.

The kernel (``kernels.integrate_steps``) samples a state row of one or two circuits, the two
alternately (``protocol.hardware.ReadoutConfig``), as floats; here the channels become the
kernel's arguments, and the samples the columns of ``schemas.MADC``: the membrane digitised
to 10 bit, the adaptation state digitised as the voltage the chip holds it in
(``analog.adaptation_mv``), a synaptic input unquantised (no codes).
"""

from __future__ import annotations

import numpy as np

from ..protocol import coordinates as C
from ..protocol import schemas
from ..protocol.hardware import ChipConfig
from ..units import NS_PER_TICK
from . import kernels as K
from .analog import NeuronPhysics, adaptation_mv

# the state row the MADC reads, by source code (``hardware.MADC_SOURCES``)
MADC_STATE_ROWS = (K.S_V, K.S_IE, K.S_II, K.S_W)


def kernel_channels(config: ChipConfig, lead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's ``madc_neuron`` and ``madc_row`` (2 entries each, -1: channel off): the
    circuit each channel reads and the state row of its source. The MADC of a circuit joined
    to another's membrane (``lead``: ``structure.Structure.lead``) reads that membrane (and
    its inputs)."""
    neuron, row = np.full(2, -1, np.int64), np.full(2, -1, np.int64)
    for c, (n, source) in enumerate(config.madc_channels()):
        neuron[c], row[c] = lead[n], MADC_STATE_ROWS[source]
    return neuron, row


def madc_columns(config: ChipConfig, physics: NeuronPhysics, dt_ns: int, madc_t: np.ndarray, madc_x: np.ndarray):
    """The kernel's samples (times in ns, the sampled state) → the columns of
    ``schemas.MADC``: ``(time_ticks, neuron, value, physical)``. With two channels the
    channel of a sample follows from its step. ``value``: 10-bit codes of the membrane or
    of the adaptation capacitor's voltage (masked where a channel reads a synaptic input),
    None when no channel has codes."""
    channels = config.madc_channels()
    every = max(1, int(config.readout.madc_every_steps))
    ch = (madc_t // dt_ns // every) % 2 if len(channels) == 2 else np.zeros(len(madc_t), np.int64)
    neuron = np.asarray([n for n, _ in channels], np.int64)[ch]
    # the kernel records every source as a float; it is digitised here because a second
    # (code) buffer in the kernel slowed its step loop by ~4 % (benchmarks/single_chip.py)
    volts = np.full(len(madc_t), np.nan)
    for c, (n, source) in enumerate(channels):
        sel = ch == c
        if MADC_STATE_ROWS[source] == K.S_V:
            volts[sel] = madc_x[sel]
        elif MADC_STATE_ROWS[source] == K.S_W:
            volts[sel] = adaptation_mv(physics, n, madc_x[sel])
    has_code = ~np.isnan(volts)
    if not has_code.any():
        return madc_t // NS_PER_TICK, neuron, None, madc_x
    codes = K.adc_codes(np.where(has_code, volts, 0.0), C.MADC_BITS)
    membrane = np.isin(ch, [c for c, (_, s) in enumerate(channels) if MADC_STATE_ROWS[s] == K.S_V])
    physical = np.where(membrane, schemas.madc_code_to_mv(codes), madc_x)
    value = codes if has_code.all() else np.ma.masked_array(codes, mask=~has_code)
    return madc_t // NS_PER_TICK, neuron, value, physical
