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
from numba.cpython.unsafe.numbers import trailing_zeros

from ..protocol import coordinates as C
from .kernels import set_entry_weights_at

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
    cand = np.empty(n, np.int64)
    change = np.empty(n, np.int64)
    m = 0
    for i in range(n):  # (branch-free: most sensors read 0, and which do not is unpredictable)
        j = flat[i]
        d = np.int64(dw[_code8(causal[j] * per_lsb), _code8(acausal[j] * per_lsb)])
        if reset:
            causal[j] = 0.0
            acausal[j] = 0.0
        cand[m] = j
        change[m] = d
        m += d != 0  # (dw 0: the weight stays)
    return _write_weights(weights, cand, change, m, ptr, entry, n_weighted, position)


@njit(cache=True, boundscheck=False)
def stdp_sweep_listed(causal, acausal, weights, view_bits, sensed, per_lsb, dw, ptr, entry, n_weighted, position):
    """``stdp_sweep`` with reset over the synapses of the view (bit ``j & 63`` of
    ``view_bits[j >> 6]`` set: ``view_bits``) that the chip's kernel marked in the bitmap
    ``sensed`` (the same layout; ``kernels.mark_sensed``: a synapse whose sensors were added
    to) instead of the whole view: the others read 0 and, with ``dw[0, 0] == 0``, keep their
    weight — the same writes (one per synapse: the same bits). Clears ``sensed``: a synapse
    outside the view leaves it with its sensors as they are (no sweep reads them; it is
    marked again when it is added to). Returns how many weights changed."""
    # the marked synapses of the view in the order of their index: the sensor loads go forward
    # through the arrays, where the prefetchers keep ahead of them (in the order the kernel
    # added to them, a post spike's by column, scattered: 1.5-2x the time)
    marked = np.empty(view_bits.shape[0], np.uint64)
    n = 0
    for word in range(view_bits.shape[0]):
        bits = sensed[word] & view_bits[word]
        sensed[word] = 0
        marked[word] = bits
        n += _popcount(bits)
    cand = np.empty(n, np.int64)
    change = np.empty(n, np.int64)
    m = 0
    for word in range(marked.shape[0]):
        bits = marked[word]
        while bits != 0:
            j = word * 64 + np.int64(trailing_zeros(bits))
            bits &= bits - np.uint64(1)
            d = np.int64(dw[_code8(causal[j] * per_lsb), _code8(acausal[j] * per_lsb)])
            causal[j] = 0.0
            acausal[j] = 0.0
            cand[m] = j
            change[m] = d
            m += d != 0  # (branch-free, as in stdp_sweep)
    return _write_weights(weights, cand, change, m, ptr, entry, n_weighted, position)


@njit(inline="always")
def _popcount(x):
    """The set bits of the uint64 ``x`` (the textbook bit count, which LLVM makes ``popcnt``)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, boundscheck=False)
def _write_weights(weights, at, change, m, ptr, entry, n_weighted, position):
    """``w' = clip(w + change[q], 0, 63)`` for the synapses ``at[:m]`` (flat indices) into
    ``weights`` and the synapse table; returns how many changed. ``at`` and ``change`` are
    reused for the table's positions and new weights of those: their entries are written in
    a pass of their own (``kernels.set_entry_weights_at``: one position load per synapse in
    flight at a time, and no reference counting per synapse, as an inlined call with arrays costs)."""
    k = 0
    for q in range(m):
        j = at[q]
        w = weights[j]
        v = min(max(w + change[q], 0), _WEIGHT_MAX)
        weights[j] = v
        at[k] = position[j]
        change[k] = v
        k += v != w
    set_entry_weights_at(ptr, entry, n_weighted, at, change, k)
    return k


def view_bits(flat: np.ndarray, n_synapses: int) -> np.ndarray:
    """The synapses ``flat`` (flat indices below ``n_synapses``) as a bitmap of uint64 words,
    ``stdp_sweep_listed``'s ``view_bits`` and ``sensed``: bit ``j & 63`` of word ``j >> 6``
    for synapse ``j``."""
    flat = np.asarray(flat, np.int64)
    words = np.zeros(-(-n_synapses // 64), np.uint64)
    np.bitwise_or.at(words, flat >> 6, np.left_shift(np.uint64(1), (flat & 63).astype(np.uint64)))
    return words
