"""Input data for a mapped experiment: each chip's FPGA playback program.

Kept apart from mapping: a new stimulus or new writes build new programs on the cached
topology. Poisson trains are keyed to (seed, source, neuron), never to processes or chips,
so a source that reaches several chips plays the same train on each.
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError
from ..protocol import experiment as E
from ..protocol.frozen import freeze
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS
from ..protocol.playback import NeuronParameterWrite, PlaybackProgram, SynapseEnableWrite, WeightWrite
from ..units import us_to_ticks
from .connectivity import keyed_rng
from .mapping import SystemMapping


def poisson_times_us(rate_khz: float, start_us: float, stop_us: float, rng: np.random.Generator) -> np.ndarray:
    """A homogeneous Poisson train on [start, stop) in µs (rate in kHz = events per ms)."""
    span = max(stop_us - start_us, 0.0)
    n = rng.poisson(rate_khz * 1e-3 * span)
    return np.sort(rng.uniform(start_us, stop_us, size=n)) if n else np.zeros(0)


def source_trains_us(exp: E.Experiment, src: E.SpikeArraySource | E.PoissonSource) -> list[np.ndarray]:
    """Spike times (µs) of every neuron of an external source, within the runtime."""
    if isinstance(src, E.SpikeArraySource):
        trains = [np.sort(np.asarray(t, dtype=np.float64)) for t in src.spike_times_us]
        return [t[t < exp.runtime_us] for t in trains]
    return list(_poisson_trains_us(exp.seed, src.name, src.size, src.rate_khz, src.start_us, src.stop_us,
                                   exp.runtime_us))


@functools.lru_cache(maxsize=16)
def _poisson_trains_us(seed: int, name: str, size: int, rate_khz: float, start_us: float, stop_us: float | None,
                       runtime_us: float) -> tuple[np.ndarray, ...]:
    """A Poisson source's trains (read-only): drawn once per process for the same seed, source
    and runtime — a generator per unit costs ~30 µs, most of a run's set-up for large
    sources, and a session often runs one stimulus many times (sweeps, repeats)."""
    stop = runtime_us if stop_us is None else min(stop_us, runtime_us)
    trains = [poisson_times_us(rate_khz, start_us, stop, keyed_rng(seed, "poisson", name, i)) for i in range(size)]
    out = tuple(t[t < runtime_us] for t in trains)
    for t in out:
        t.flags.writeable = False
    return out


class _SourceTicks(NamedTuple):
    """All trains of one source in FPGA ticks, concatenated: unit i's are
    ``ticks[start[i]:start[i + 1]]``."""

    ticks: np.ndarray
    start: np.ndarray


def _source_ticks(trains_us: list[np.ndarray]) -> _SourceTicks:
    lengths = np.array([len(t) for t in trains_us], np.int64)
    start = np.zeros(len(trains_us) + 1, np.int64)
    np.cumsum(lengths, out=start[1:])
    cat = np.concatenate(trains_us) if len(trains_us) else np.zeros(0)
    return _SourceTicks(us_to_ticks(cat), start)


def _source_ticks_of(exp: E.Experiment, src) -> _SourceTicks:
    """``_source_ticks(source_trains_us(exp, src))``; a spike array's lists read in one pass
    rather than into an array per unit (a continued PyNN run hands over every train from
    t = 0 again), each unit's times sorted where they are not already."""
    if not isinstance(src, E.SpikeArraySource):
        return _source_ticks(source_trains_us(exp, src))
    lists = src.spike_times_us
    bounds = np.zeros(len(lists) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, lists), np.int64, len(lists)), out=bounds[1:])
    flat = np.fromiter(itertools.chain.from_iterable(lists), np.float64, int(bounds[-1]))
    down = np.flatnonzero(flat[1:] < flat[:-1]) + 1  # where a time is below the one before it
    unit = np.searchsorted(bounds, down, side="right") - 1
    for u in np.unique(unit[down != bounds[unit]]).tolist():  # (not at a unit's first time)
        flat[bounds[u]:bounds[u + 1]] = np.sort(flat[bounds[u]:bounds[u + 1]])
    keep = flat < exp.runtime_us
    kept = np.zeros(len(flat) + 1, np.int64)
    np.cumsum(keep, out=kept[1:])
    return _SourceTicks(us_to_ticks(flat[keep]), kept[bounds])


def _check_neuron_write(w: E.NeuronWrite, size: int) -> np.ndarray:
    idx = np.arange(size) if w.indices is None else np.asarray(w.indices, np.int64)
    if len(idx) and idx.max() >= size:
        raise ConfigError(f"write at {w.time_us} µs: index {idx.max()} is out of range for population "
                          f"{w.population!r} of size {size}")
    limit = NEURON_PARAMETERS[NEURON_PARAMETER_INDEX[w.parameter]].maximum
    if w.value > limit:
        raise ConfigError(f"write at {w.time_us} µs: {w.parameter}={w.value} is out of range 0..{limit}")
    return idx


def _synapse_writes(w, t: int, mapping: SystemMapping, chip: int) -> list:
    """A projection's weight or connection write as the playback writes of ``chip``."""
    on_chip, h, r, c = mapping.synapse[w.projection]
    n = len(on_chip)
    if isinstance(w, E.WeightWrite) and w.weights is not None and w.indices is None and len(w.weights) != n:
        raise ConfigError(f"write at {w.time_us} µs: projection {w.projection!r} has {n} connections, the write "
                          f"gives {len(w.weights)} weights; give one per connection")
    if w.indices is not None and len(w.indices) and max(w.indices) >= n:
        raise ConfigError(f"write at {w.time_us} µs: connection index {max(w.indices)} is out of range for "
                          f"projection {w.projection!r} with {n} connections")
    if isinstance(w, E.ConnectionWrite):
        sel = on_chip == chip
        if w.indices is not None:
            chosen = np.zeros(n, bool)
            chosen[np.asarray(w.indices, np.int64)] = True
            sel &= chosen
        return [SynapseEnableWrite(t, h[sel], r[sel], c[sel], np.full(int(sel.sum()), w.enabled))] if sel.any() else []
    idx = np.arange(n) if w.indices is None else np.asarray(w.indices, np.int64)
    v = np.full(len(idx), w.weight, np.int64) if w.weights is None else np.asarray(w.weights, np.int64)
    sel = on_chip[idx] == chip
    if not sel.any():
        return []
    idx = idx[sel]
    return [WeightWrite(t, h[idx], r[idx], c[idx], v[sel])]


_PROGRAMS_KEPT = 1
"""Per mapped chip, the spike input of this many stimuli is kept (the most recent)."""


def _chip_units(mapping: SystemMapping, chip: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per external source, its units that reach ``chip``: (unit, delay ticks, label) arrays
    (topology: kept with the mapping)."""
    got = mapping.derived.get(("inputs", chip))
    if got is None:
        rows: dict[str, list] = {}
        for key, label in mapping.chips[chip].labels.items():
            if key[0] == "src":
                rows.setdefault(key[1], []).append((key[2], key[3], label))
        got = {}
        for name, r in rows.items():
            arr = np.array(r, np.int64).T.copy()
            freeze(arr)
            got[name] = tuple(arr)
        mapping.derived[("inputs", chip)] = got
    return got


def _trains_key(exp: E.Experiment, src) -> tuple | None:
    """What a source's trains are a function of when that is a few immutable values (a
    Poisson source: ``_poisson_trains_us``' arguments); None for spike arrays (lists)."""
    if type(src) is E.PoissonSource:
        return (exp.seed, src.name, src.size, src.rate_khz, src.start_us, src.stop_us, exp.runtime_us)
    return None


def source_ticks(exp: E.Experiment) -> dict[str, _SourceTicks]:
    """The trains of ``exp``'s external sources (spike arrays, Poisson) in FPGA ticks, by name."""
    return {s.name: _source_ticks_of(exp, s) for s in exp.sources if not isinstance(s, E.BackgroundSource)}


def same_trains_before(a: _SourceTicks, b: _SourceTicks, tick: int) -> bool:
    """Whether two trains of one source have the same events before ``tick``, unit by unit
    (each unit's ticks are sorted: its events before ``tick`` are its first ones)."""
    if len(a.start) != len(b.start):
        return False
    before = []
    for src in (a, b):
        m = src.ticks < tick
        count = np.zeros(len(m) + 1, np.int64)
        np.cumsum(m, out=count[1:])
        before.append((count[src.start[1:]] - count[src.start[:-1]], src.ticks[m]))
    (na, ta), (nb, tb) = before
    return bool(np.array_equal(na, nb) and np.array_equal(ta, tb))


def build_playback(exp: E.Experiment, mapping: SystemMapping, chip: int,
                   trains: dict[str, _SourceTicks] | None = None, from_tick: int = 0) -> PlaybackProgram:
    """Spike input from the external sources that reach ``chip``, and its timed writes.
    ``trains``: the sources' trains by name (``_SourceTicks``, as this function keeps them),
    filled as they are drawn (pass one dict for all chips of an experiment to draw each train
    once). A chip's input from Poisson sources only is kept with the mapping for the next run
    with the same sources (it depends on nothing else). ``from_tick``: only the spike input
    at that tick and later (a program that goes on from there: ``Fpga.reprogram``); the
    writes are all of them."""
    rt = mapping.chips[chip]
    units = _chip_units(mapping, chip)
    sources = {s.name: s for s in exp.sources}
    key = tuple(_trains_key(exp, sources[name]) for name in units)
    kept = mapping.derived.setdefault(("playback", chip), {}) if None not in key and not from_tick else {}
    spikes = kept.get(key)
    if spikes is None:
        spikes = _spike_input(exp, units, sources, {} if trains is None else trains, from_tick)
        if None not in key and not from_tick:
            kept[key] = spikes
            while len(kept) > _PROGRAMS_KEPT:
                del kept[next(iter(kept))]
    writes = []
    sizes = {p.name: p.size for p in exp.populations}
    for w in exp.writes:
        t = int(us_to_ticks(w.time_us))
        if isinstance(w, E.NeuronWrite):
            idx = _check_neuron_write(w, sizes[w.population])
            local = np.isin(rt.populations[w.population], idx)
            if local.any():
                writes.append(NeuronParameterWrite(t, w.parameter, rt.circuits[w.population][local], w.value))
        else:
            writes += _synapse_writes(w, t, mapping, chip)
    return PlaybackProgram(*spikes, writes)


def _spike_input(exp: E.Experiment, units: dict, sources: dict, trains: dict,
                 from_tick: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The events of ``units`` (``_chip_units``) at ``from_tick`` and later: (ticks, labels),
    sorted as ``PlaybackProgram`` keeps them, read-only."""
    ticks, labels = [], []
    for name, (unit, delay, label) in units.items():
        if name not in trains:
            trains[name] = _source_ticks_of(exp, sources[name])
        src = trains[name]
        counts = src.start[unit + 1] - src.start[unit]
        # every event of these units: its index in the concatenated trains
        first = np.repeat(src.start[unit] - np.cumsum(counts) + counts, counts)
        t = src.ticks[first + np.arange(int(counts.sum()))] + np.repeat(delay, counts)
        lab = np.repeat(label, counts)
        if from_tick:
            later = t >= from_tick
            t, lab = t[later], lab[later]
        ticks.append(t)
        labels.append(lab)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    program = PlaybackProgram(cat(ticks), cat(labels))
    freeze(program.spike_ticks, program.spike_labels)
    return program.spike_ticks, program.spike_labels
