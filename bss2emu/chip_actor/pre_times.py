"""The synapses' last presynaptic event times, as the correlation sensors' kernel keeps them.

An event reaches every synapse of its drivers' enabled rows whose 6-bit address matches, so a
synapse's last pre time is its row's last event with its address: the kernel keeps one time
per (hemisphere, address, row) — ``t_row[h, a, r]``, 256 KiB, the two rows of a driver side
by side — and an event stores one time per row it reaches instead of one per synapse (a
per-synapse array by row is written along a row, read along a column: one of the two walks
strided). A post spike's causal walk reads its column's addresses (``addr_col[h, c, r]``, a
copy of the configuration's, by column) and gathers ``t_row[h, addr_col[h, c, r], r]``.

A synapse that an event with its address did not reach while it reached others of its row
(one disabled by ``SynapseEnableWrite``), or one whose time was set from outside (a
checkpoint, a new configuration) to another than its row's, keeps a time of its own in
``t_own[h, r, c]`` (``OWN_NONE``: none, the row's holds) until an event reaches it; then the
row's holds again (the kernel clears ``t_own`` there). ``own_count[0, h, r]`` and
``own_count[1, h, c]`` count those per row and per column, so that rows and columns without
(all of them, in a run without topology writes) are walked without reading ``t_own``.

``pre_times_into`` builds this state from per-synapse times and ``pre_times_of`` gives them
back, bit for bit: a checkpoint holds the per-synapse times (``Chip.t_pre``), and a new
configuration (addresses, row modes) rebuilds the state from them; a synapse that is
disabled gets its own time then (``keep_own_pre_times``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..protocol import coordinates as C

OWN_NONE = np.iinfo(np.int64).min
"""``t_own`` where the synapse's last pre time is its row's (``t_row``)."""
_H, _R, _COL, _A = C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE, C.ADDRESS_MAX + 1
_JIT = dict(cache=True, boundscheck=False, error_model="numpy")


class PreTimes(NamedTuple):
    """The kernel's pre-time state (see the module): arrays filled in place, never replaced
    (compiled hosts hold their addresses)."""

    t_row: np.ndarray  # int64 [hemisphere, address, row]: the row's last event with the address (ns, -1: none)
    t_own: np.ndarray  # int64 [hemisphere, row, column]: a synapse's own last pre time, or OWN_NONE
    own_count: np.ndarray  # int64 [2, hemisphere, 256]: synapses with an own time per row (0) and column (1)
    addr_col: np.ndarray  # uint8 [hemisphere, column, row]: the synapses' addresses by column

    @classmethod
    def empty(cls) -> "PreTimes":
        """Arrays of the right shapes, contents undefined (``pre_times_into`` fills them)."""
        return cls(np.empty((_H, _A, _R), np.int64), np.empty((_H, _R, _COL), np.int64),
                   np.empty((2, _H, _R), np.int64), np.empty((_H, _COL, _R), np.uint8))


@njit(**_JIT)
def pre_times_into(t_pre, addresses, row_modes, enabled, t_row, t_own, own_count, addr_col):
    """Fill ``(t_row, t_own, own_count, addr_col)`` from each synapse's last pre time
    ``t_pre[h, r, c]`` (ns, -1: none) for the synapse table of ``addresses``, ``row_modes``
    and ``enabled`` (``[h, r, c]``; a synapse no event reaches although its row is enabled
    keeps its own time). A row's time per address is the latest of its synapses that events
    reach; synapses whose time differs from it get their own."""
    for h in range(_H):
        for c in range(_COL):
            for r in range(_R):
                addr_col[h, c, r] = addresses[h, r, c]
    t_row[:, :, :] = -1
    own_count[:, :, :] = 0
    if _none_yet(t_pre):  # (a chip's first fill) every time is -1, its row's where events reach it
        for h in range(_H):
            for r in range(_R):
                for c in range(_COL):
                    if row_modes[h, r] != 0 and not enabled[h, r, c]:
                        t_own[h, r, c] = -1
                        own_count[0, h, r] += 1
                        own_count[1, h, c] += 1
                    else:
                        t_own[h, r, c] = OWN_NONE
        return
    for h in range(_H):
        for r in range(_R):
            for c in range(_COL):
                if row_modes[h, r] == 0 or enabled[h, r, c]:
                    a = addresses[h, r, c]
                    t_row[h, a, r] = max(t_row[h, a, r], t_pre[h, r, c])
    for h in range(_H):
        for r in range(_R):
            for c in range(_COL):
                t = t_pre[h, r, c]
                frozen = row_modes[h, r] != 0 and not enabled[h, r, c]
                if frozen or t != t_row[h, addresses[h, r, c], r]:
                    t_own[h, r, c] = t
                    own_count[0, h, r] += 1
                    own_count[1, h, c] += 1
                else:
                    t_own[h, r, c] = OWN_NONE


@njit(**_JIT)
def _none_yet(t_pre):
    """Whether no synapse has a pre time (all ``t_pre`` -1)."""
    for h in range(_H):
        for r in range(_R):
            for c in range(_COL):
                if t_pre[h, r, c] != -1:
                    return False
    return True


@njit(**_JIT)
def keep_own_pre_times(t_row, t_own, own_count, addr_col, hemisphere, row, column):
    """Give the synapses ``(hemisphere[i], row[i], column[i])`` their pre times as their own
    where they have none (before events of their rows stop reaching them: disabled)."""
    for i in range(hemisphere.shape[0]):
        h, r, c = hemisphere[i], row[i], column[i]
        if t_own[h, r, c] == OWN_NONE:
            t_own[h, r, c] = t_row[h, addr_col[h, c, r], r]
            own_count[0, h, r] += 1
            own_count[1, h, c] += 1


@njit(**_JIT)
def pre_times_of(t_row, t_own, addr_col, out):
    """Each synapse's last pre time ``out[h, r, c]`` (ns, -1: none) from the state."""
    for h in range(_H):
        for r in range(_R):
            for c in range(_COL):
                t = t_own[h, r, c]
                out[h, r, c] = t_row[h, addr_col[h, c, r], r] if t == OWN_NONE else t
