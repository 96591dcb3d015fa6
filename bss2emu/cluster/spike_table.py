"""The results' spike table: the hosts' spike records annotated and in the total order.

A host records its chips' spikes window after window (``host.ChipHost``: per window, chip
after chip, each chip's in time order): nearly in the order the results give them —
(time, chip, neuron) — but for the rows of a window's later chips that precede its earlier
chips' last ones. ``annotate_spikes`` keeps the rows of the recorded populations, orders
them by that key (stably: rows of equal key keep their record order) and adds each row's
population, index in it and time in µs. Two compiled passes do it (``_select``: the rows
kept and their keys; ``_gather``: the columns in order), and between them a stable insertion sort
in place (``sort_by_key``), which costs a step per row out of place — less than half of numpy's
stable sort on such records, and no arrays of its own; records further from sorted (several
hosts' tables one after another) are left to numpy's.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numba import njit

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol.frozen import freeze
from ..routing.mapping import SystemMapping
from ..units import TICKS_PER_US

MOVES_PER_ROW = 16
"""``sort_by_key`` gives up (numpy's stable sort takes over) beyond this many moves
per row on average: the reference networks' records need about 4 (2048 neurons on 4 chips)."""


def annotate_spikes(spikes: pa.Table, exp: E.Experiment, mapping: SystemMapping) -> pa.Table:
    """Add ``population``, ``index`` and ``time_us``; keep recorded populations only.
    ``spikes``: the columns of ``schemas.SPIKES`` and any others (a batch's ``entry``)."""
    return annotated(spikes, exp, mapping)[0]


def annotated(spikes: pa.Table, exp: E.Experiment, mapping: SystemMapping) -> tuple[pa.Table, np.ndarray | None]:
    """``annotate_spikes``, and each row's sort key ``time_ticks * chips * 512 + chip * 512 +
    neuron`` (ascending; None where it does not fit an int64: the rows are sorted by
    ``lexsort`` then)."""
    pop_of, idx_of, names = spike_owners(exp, mapping)
    ticks, chip, neuron, label = (np.asarray(spikes.column(name).to_numpy(), dtype) for name, dtype in _RECORD.items())
    n_chips = len(mapping.system.chips)
    outside = (neuron >= 0) & ((chip < 0) | (chip >= n_chips) | (neuron >= C.NEURONS_PER_CHIP))
    if outside.any():  # (the compiled passes read the owners of a record's circuit unchecked)
        i = int(np.argmax(outside))
        raise ConfigError(f"spike record {i} (chip {chip[i]}, neuron {neuron[i]}) names no circuit of system "
                          f"{mapping.system.name!r}: chips 0..{n_chips - 1}, neurons 0..{C.NEURONS_PER_CHIP - 1}; "
                          f"annotate records with the mapping of the run that made them")
    per_tick = n_chips * C.NEURONS_PER_CHIP
    rows, key = _select(ticks, chip, neuron, pop_of, per_tick)
    # ordered by (time, chip, neuron): through one int64 key where it fits
    fits = not len(ticks) or ticks.max() < np.iinfo(np.int64).max // per_tick - 1
    if fits:
        key, rows = sort_by_key(key, rows)
    else:
        at = chip[rows].astype(np.int64) * C.NEURONS_PER_CHIP + neuron[rows]
        rows, key = rows[np.lexsort((at, ticks[rows]))], None
    out = _gather(rows, ticks, chip, neuron, label, pop_of, idx_of)
    gathered = dict(zip(_RECORD, out[:4]))
    taken = pa.array(rows) if len(gathered) < spikes.num_columns else None  # (other columns: Arrow's take)
    columns = [pa.array(gathered[f.name], f.type) if f.name in gathered else spikes.column(f.name).take(taken)
               for f in spikes.schema]
    pops = pa.DictionaryArray.from_arrays(pa.array(out[4]), pa.array(names, pa.string()))
    schema = spikes.schema.append(pa.field("population", pops.type)).append(pa.field("index", pa.int32())) \
        .append(pa.field("time_us", pa.float64()))
    return pa.Table.from_arrays([*columns, pops, pa.array(out[5]), pa.array(out[6])], schema=schema), key


def annotate_more(done: tuple[pa.Table, np.ndarray], more: tuple[pa.Table, np.ndarray]) -> tuple[pa.Table, np.ndarray]:
    """``annotated`` of a record's rows, from those of its first rows (``done``) and of the
    rows after them (``more``): what annotating the whole record gives, without sorting the
    first rows again. Rows of equal key stay in record order (first rows first), as in the
    stable sort of the whole; a later row may sort before an earlier one (the same FPGA
    tick on either side of a window boundary, a lower chip), so the first rows from the
    later rows' smallest key on are sorted with them."""
    (t0, k0), (t1, k1) = done, more
    if not len(k1):
        return done
    if not len(k0) or k1[0] >= k0[-1]:
        return pa.concat_tables([t0, t1]), np.concatenate([k0, k1])
    p = int(np.searchsorted(k0, k1[0], side="right"))
    key, order = sort_by_key(np.concatenate([k0[p:], k1]), np.arange(len(k0) - p + len(k1)))
    tail = pa.concat_tables([t0.slice(p), t1]).take(pa.array(order))
    return pa.concat_tables([t0.slice(0, p), tail]), np.concatenate([k0[:p], key])


def spike_owners(exp: E.Experiment, mapping: SystemMapping) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """By ``chip * 512 + circuit``: the population of the neuron there (its position in
    ``names``, int32; -1: none, or one whose spikes are not recorded) and its index in it
    (int32), and ``names``, the populations whose spikes are recorded — kept with ``mapping``
    for the next run (read-only arrays)."""
    recorded = tuple((p.name, p.size) for p in exp.populations if p.record_spikes)
    key = ("spike_owners", recorded)
    got = mapping.derived.get(key)
    if got is None:
        n = len(mapping.system.chips) * C.NEURONS_PER_CHIP
        pop_of, idx_of = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
        for k, (name, size) in enumerate(recorded):
            at = mapping.partition.chip[name] * C.NEURONS_PER_CHIP + mapping.partition.circuit[name]
            pop_of[at], idx_of[at] = k, np.arange(size)
        freeze(pop_of, idx_of)
        got = mapping.derived[key] = (pop_of, idx_of, [name for name, _ in recorded])
    return got[0], got[1], list(got[2])


def sort_by_key(key: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``key`` sorted stably and ``rows`` in that order (``key[o], rows[o]`` for ``o =
    np.argsort(key, kind="stable")``), in place where ``key`` is nearly sorted: by insertion
    while that takes at most ``MOVES_PER_ROW`` moves per row, then by numpy."""
    if not _sort_by_key(key, rows, MOVES_PER_ROW * len(key)):
        order = np.argsort(key, kind="stable")
        key, rows = key[order], rows[order]
    return key, rows


@njit(cache=True)
def _sort_by_key(key, rows, budget):
    """Sort ``key`` ascending in place, stably, by insertion (each row moved past the greater
    keys before it), ``rows`` along with it; False as soon as that took more than ``budget``
    moves (then both hold a permutation of what they held, rows of equal key still in their
    first order)."""
    moves = 0
    for i in range(1, key.shape[0]):
        x = key[i]
        o = rows[i]
        j = i - 1
        while j >= 0 and key[j] > x:
            key[j + 1] = key[j]
            rows[j + 1] = rows[j]
            j -= 1
            moves += 1
        key[j + 1] = x
        rows[j + 1] = o
        if moves > budget:  # (checked here, not in the loop above: that loop stays as fast as without)
            return False
    return True


@njit(cache=True)
def _select(ticks, chip, neuron, pop_of, per_tick):
    """The rows of recorded neurons (``pop_of`` not -1; a negative neuron is none) and their
    keys ``time_ticks * per_tick + chip * 512 + neuron`` (wrapping where they do not fit)."""
    n = ticks.shape[0]
    rows = np.empty(n, np.int64)
    key = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        if neuron[i] < 0:
            continue
        at = np.int64(chip[i]) * _NEURONS + neuron[i]
        if pop_of[at] < 0:
            continue
        rows[m] = i
        key[m] = ticks[i] * per_tick + at
        m += 1
    return rows[:m], key[:m]


@njit(cache=True)
def _gather(rows, ticks, chip, neuron, label, pop_of, idx_of):
    """The annotated table's columns in the order ``rows``: time_ticks, chip, neuron, label,
    population code, index, time_us (``units.ticks_to_us``)."""
    m = rows.shape[0]
    t, c, nn, lab = np.empty(m, np.int64), np.empty(m, np.int32), np.empty(m, np.int32), np.empty(m, np.int32)
    code, index, t_us = np.empty(m, np.int32), np.empty(m, np.int32), np.empty(m, np.float64)
    for j in range(m):
        i = rows[j]
        at = np.int64(chip[i]) * _NEURONS + neuron[i]
        t[j], c[j], nn[j], lab[j] = ticks[i], chip[i], neuron[i], label[i]
        code[j], index[j] = pop_of[at], idx_of[at]
        t_us[j] = np.float64(ticks[i]) / _TICKS_PER_US
    return t, c, nn, lab, code, index, t_us


_NEURONS = C.NEURONS_PER_CHIP
_RECORD = {"time_ticks": np.int64, "chip": np.int32, "neuron": np.int32, "label": np.int32}  # (``schemas.SPIKES``)
_TICKS_PER_US = float(TICKS_PER_US)  # (``units.ticks_to_us``' division)
