"""Compiled passes of the PPU's views that fuse several of a kernel's calls into one sweep.

``stdp_pass`` is ``SynapseView.update_weights_by_correlation``: for every synapse of a view
it reads both correlation sensors as 8-bit codes (and resets them), reads the weight, looks
the weight change up in a table indexed by the two codes and keeps what changes — what
``correlation(reset)``, ``weights()`` and ``set_weights(clip(w + dw[causal, acausal], 0,
63))`` do in four passes and a few temporaries, in one::

    c = clip(rint(causal · 1/lsb), 0, 255),  a = clip(rint(acausal · 1/lsb), 0, 255)
    w' = clip(w + dw[c, a], 0, 63)

Any rule whose weight change depends only on the two codes is such a table (pair STDP with
any amplitudes, rounding or asymmetry); its results are those of the four calls, bit for bit
(``tests/chip_actor/test_ppu_passes.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..protocol import coordinates as C
from .kernels import set_entry_weight_at

_WEIGHT_MAX = C.WEIGHT_MAX
CODES = 256
"""Values of an 8-bit sensor code: a table ``dw`` is ``[CODES, CODES]`` (causal, acausal)."""


@njit(inline="always")
def _code8(x):
    """``clip(rint(x), 0, 255)`` (``ppu._code8``: the CADC's code of a sensor)."""
    return np.int64(min(max(np.rint(x), 0.0), 255.0))


@njit(inline="always")
def _table_weight(w, dw, x_c, x_a):
    """``clip(w + dw[code(causal), code(acausal)], 0, 63)``: the table rule's new weight."""
    return min(max(w + np.int64(dw[_code8(x_c), _code8(x_a)]), 0), _WEIGHT_MAX)


@njit(inline="always")
def _bit_index(bit):
    """The index of the one set bit of the uint64 ``bit`` (a count of the bits below it)."""
    x = bit - np.uint64(1)
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(inline="always")
def _gather_codes(causal, acausal, flat, lo, hi, per_lsb, reset, every, cand, x_c, x_a):
    """Pass 1 of ``stdp_pass`` over ``flat[lo:hi]``: each synapse's index and both sensors
    in LSB units into ``cand``, ``x_c``, ``x_a`` — kept (the count grows) when ``every`` or
    when either reads a non-zero code — the sensors zeroed if ``reset``. Branch-free: most
    sensors read 0, and which do not is unpredictable."""
    m = 0
    for i in range(lo, hi):
        j = flat[i]
        xc = causal[j] * per_lsb
        xa = acausal[j] * per_lsb
        if reset:
            causal[j] = 0.0
            acausal[j] = 0.0
        cand[m] = j
        x_c[m] = xc
        x_a[m] = xa
        if every:
            m += 1
        else:
            m += not ((xc <= 0.5) & (xa <= 0.5))  # (rint(0.5) is 0: ties to even; NaN: kept)
    return m


@njit(inline="always")
def _gather_block(causal, acausal, flat, lo, hi, per_lsb, reset, every, cand, x_c, x_a):
    """``_gather_codes`` with ``reset`` and ``every`` as constants: its four specialisations
    keep the branches on them out of the per-synapse loop."""
    if reset:
        if every:
            return _gather_codes(causal, acausal, flat, lo, hi, per_lsb, True, True, cand, x_c, x_a)
        return _gather_codes(causal, acausal, flat, lo, hi, per_lsb, True, False, cand, x_c, x_a)
    if every:
        return _gather_codes(causal, acausal, flat, lo, hi, per_lsb, False, True, cand, x_c, x_a)
    return _gather_codes(causal, acausal, flat, lo, hi, per_lsb, False, False, cand, x_c, x_a)


SWEEP_BLOCK = 1024
"""Synapses per block of ``stdp_pass``: pass 1 of a block keeps its candidates in buffers this
long (in L1: the sweep allocates nothing per synapse), pass 2 takes them."""


@njit(cache=True, boundscheck=False)
def stdp_pass(causal, acausal, weights, written, any_written, flat, per_lsb, reset, dw):
    """Over the synapses ``flat`` (indices into the 1-d ``causal``, ``acausal``, ``weights``
    and ``written`` views of the chip's ``[hemisphere, row, column]`` arrays): the codes
    ``c``, ``a`` of both sensors (zeroed if ``reset``) and ``w' = clip(w + dw[c, a], 0,
    63)``. Returns ``(at, values)``: the flat indices and new weights of the synapses where
    ``w'`` changes the weight or an earlier write of this PPU run went (``written``, updated;
    ``any_written``: whether it holds any; ``ChipSnapshot.weight_changes``), in the order of
    ``flat``.

    Block by block, two passes: the sensors of all synapses (``_gather_codes``), then the
    table and the weights of those that may change — most sensors read 0, and then, with
    ``dw[0, 0] == 0`` and nothing written before, the weight stays (one pass with a branch
    per synapse cost 1.3-2 times as much: which ones read 0 is unpredictable)."""
    n = flat.shape[0]
    at = np.empty(n, np.int64)
    values = np.empty(n, np.int64)
    k = 0
    every = not (dw[0, 0] == 0 and not any_written)
    cand = np.empty(SWEEP_BLOCK, np.int64)
    x_c = np.empty(SWEEP_BLOCK)
    x_a = np.empty(SWEEP_BLOCK)
    for lo in range(0, n, SWEEP_BLOCK):
        hi = min(n, lo + SWEEP_BLOCK)
        m = _gather_block(causal, acausal, flat, lo, hi, per_lsb, reset, every, cand, x_c, x_a)
        for q in range(m):
            j = cand[q]
            w = weights[j]
            v = _table_weight(w, dw, x_c[q], x_a[q])
            if v != w or written[j]:
                written[j] = True
                at[k] = j
                values[k] = v
                k += 1
    return at[:k], values[:k]


@njit(cache=True, boundscheck=False)
def stdp_sweep(causal, acausal, weights, flat, per_lsb, reset, dw, ptr, entry, n_weighted, position):
    """``stdp_pass`` with its writes applied (the PPU's run of a ``CorrelationTableRule``
    inside a host's compiled window loop): ``w' = clip(w + dw[c, a], 0, 63)`` written into
    the chip's ``weights`` and its ``synapse_table`` ``(ptr, entry, n_weighted, position)``
    where it changes the weight — what ``stdp_pass`` and ``Chip.apply_writes`` of its
    ``WeightWrite`` do, bit for bit (1-d views of the ``[hemisphere, row, column]`` arrays).
    Returns how many weights changed."""
    n = flat.shape[0]
    every = not dw[0, 0] == 0
    cand = np.empty(SWEEP_BLOCK, np.int64)
    x_c = np.empty(SWEEP_BLOCK)
    x_a = np.empty(SWEEP_BLOCK)
    changed = 0
    for lo in range(0, n, SWEEP_BLOCK):
        hi = min(n, lo + SWEEP_BLOCK)
        m = _gather_block(causal, acausal, flat, lo, hi, per_lsb, reset, every, cand, x_c, x_a)
        for q in range(m):
            j = cand[q]
            w = weights[j]
            v = _table_weight(w, dw, x_c[q], x_a[q])
            if v != w:
                weights[j] = v
                set_entry_weight_at(ptr, entry, n_weighted, position[j], v)
                changed += 1
    return changed


@njit(cache=True, boundscheck=False)
def stdp_sweep_listed(causal, acausal, weights, in_view, sensed_list, per_lsb, dw, ptr, entry, n_weighted, position):
    """``stdp_sweep`` with reset over the synapses of the view (``in_view[j]`` non-zero) that
    the chip's kernel listed (``kernels.list_sensed``: ``sensed_list[1:1 + sensed_list[0]]``,
    a synapse listed where a sensor of it that read 0 was added to) instead of the whole view:
    the others read 0 and, with ``dw[0, 0] == 0``, keep their weight — the same writes in
    the order of the synapses' index (one per synapse: the same bits; a synapse listed twice
    is swept once). Empties the list: a synapse outside the view leaves it with its sensors as they
    are (no sweep reads them, and they are listed again only if they come back to 0).
    Returns how many weights changed."""
    n = sensed_list[0]
    # the listed synapses of the view in the order of their index (the list holds them as the
    # kernel added to them: a post spike's by column, scattered over the arrays), through a
    # bitmap that also drops the repeated ones, then ``stdp_sweep`` over them: its loads go
    # forward through the arrays, where the prefetchers keep ahead of them
    marked = np.zeros(causal.shape[0] // 64 + 1, np.uint64)
    for q in range(n):
        j = sensed_list[1 + q]
        marked[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    flat = np.empty(n, np.int64)
    m = 0
    for word in range(marked.shape[0]):
        bits = marked[word]
        while bits != 0:
            low = bits & (~bits + np.uint64(1))  # (the lowest set bit)
            j = word * 64 + _bit_index(low)
            bits ^= low
            flat[m] = j
            m += in_view[j] != 0
    sensed_list[0] = 0
    return stdp_sweep(causal, acausal, weights, flat[:m], per_lsb, True, dw, ptr, entry, n_weighted, position)
