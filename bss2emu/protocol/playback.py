"""The playback program: what the FPGA does with time — timed spike input and timed writes.

Times are FPGA ticks (8 ns). Spike input is a pair of sorted arrays; writes are small
records applied at the start of the integration step that contains their time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from ..units import NS_PER_TICK
from .frozen import FrozenMemo, freeze, is_frozen


@dataclass(frozen=True)
class NeuronParameterWrite:
    """Set ``parameter`` of ``neurons`` (circuits) to ``value`` at ``time_ticks``."""

    time_ticks: int
    parameter: str
    neurons: np.ndarray
    value: int


@dataclass(frozen=True)
class WeightWrite:
    """Set the weights at ``(hemisphere, row, column)`` to ``values`` at ``time_ticks``."""

    time_ticks: int
    hemisphere: np.ndarray
    row: np.ndarray
    column: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class SynapseEnableWrite:
    """Connect (``enabled`` True) or disconnect the synapses at ``(hemisphere, row, column)``
    at ``time_ticks``: topology. On the chip a disabled synapse no longer matches its
    source's address, so it receives no events (no PSPs, no correlation); its weight is
    kept for when it is enabled again."""

    time_ticks: int
    hemisphere: np.ndarray
    row: np.ndarray
    column: np.ndarray
    enabled: np.ndarray


@dataclass(frozen=True)
class BackgroundRateWrite:
    """Set background generator ``generator``'s 8-bit ``rate`` at ``time_ticks``."""

    time_ticks: int
    generator: int
    rate: int


@dataclass(frozen=True)
class CorrelationResetWrite:
    """Reset the correlation sensors of the synapses at ``(hemisphere, row, column)`` (what a
    PPU does after reading them)."""

    time_ticks: int
    hemisphere: np.ndarray
    row: np.ndarray
    column: np.ndarray


Write = NeuronParameterWrite | WeightWrite | SynapseEnableWrite | BackgroundRateWrite | CorrelationResetWrite


@dataclass
class PlaybackProgram:
    """Spike input (sorted by time, then label) and timed writes for one chip."""

    spike_ticks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    spike_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    writes: list[Write] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = np.asarray(self.spike_ticks, dtype=np.int64)
        lab = np.asarray(self.spike_labels, dtype=np.int64)
        if t.shape != lab.shape:
            raise ConfigError(f"playback program: {len(t)} spike times but {len(lab)} labels; give one label per spike")
        if is_frozen(t) and is_frozen(lab) and _IN_ORDER.get((t, lab), lambda: _in_order(t, lab)):
            # read-only, valid and sorted (a program's input kept for the next run,
            # ``routing.stimulus``): shared as they are, found so once
            self.spike_ticks, self.spike_labels = t, lab
        elif len(t) and t.min() < 0:
            raise ConfigError(f"playback program: spike time {t.min()} ticks is negative; times start at 0")
        elif len(t) and lab.min() >= 0 and lab.max() < 1 << 16 and t.max() < 1 << 46:
            # one int64 key (time, label) sorts in a fraction of lexsort's time (equal keys
            # are equal events, so their order does not matter)
            key = (t << 16) | lab
            key.sort()
            self.spike_ticks, self.spike_labels = key >> 16, key & 0xFFFF
        else:
            order = np.lexsort((lab, t))
            self.spike_ticks, self.spike_labels = t[order], lab[order]
        self.writes = sorted(self.writes, key=lambda w: w.time_ticks)

    def spike_times_ns(self) -> np.ndarray:
        """The spike times in ns, read-only (once for the frozen times of a kept input)."""
        return _TIMES_NS.get((self.spike_ticks,), lambda: _in_ns(self.spike_ticks))


_TIMES_NS = FrozenMemo()
_IN_ORDER = FrozenMemo()


def _in_order(t: np.ndarray, lab: np.ndarray) -> bool:
    """Whether spike times and labels (int64, equally long) are a program's as it keeps them:
    times from 0 and below 2**46 ticks, 16-bit labels, in the order (time, label)."""
    if not len(t):
        return True
    if t.min() < 0 or lab.min() < 0 or lab.max() >= 1 << 16 or t.max() >= 1 << 46:
        return False
    key = (t << 16) | lab
    return not (key[1:] < key[:-1]).any()


def _in_ns(ticks: np.ndarray) -> np.ndarray:
    out = ticks * NS_PER_TICK
    freeze(out)
    return out

