"""Input data for a mapped experiment: each chip's FPGA playback program.

Kept apart from mapping: a new stimulus or new writes build new programs on the cached
topology. Poisson trains are keyed to (seed, source, neuron), never to processes or chips,
so a source that reaches several chips plays the same train on each.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..protocol import experiment as E
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
    else:
        stop = exp.runtime_us if src.stop_us is None else min(src.stop_us, exp.runtime_us)
        trains = [poisson_times_us(src.rate_khz, src.start_us, stop, keyed_rng(exp.seed, "poisson", src.name, i))
                  for i in range(src.size)]
    return [t[t < exp.runtime_us] for t in trains]


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
    values = w.weights if isinstance(w, E.WeightWrite) else w.indices
    if isinstance(w, E.WeightWrite) and values is not None and len(values) != n:
        raise ConfigError(f"write at {w.time_us} µs: projection {w.projection!r} has {n} connections, the write "
                          f"gives {len(values)} weights; give one per connection")
    if isinstance(w, E.ConnectionWrite) and values is not None and len(values) and max(values) >= n:
        raise ConfigError(f"write at {w.time_us} µs: connection index {max(values)} is out of range for "
                          f"projection {w.projection!r} with {n} connections")
    sel = on_chip == chip
    if isinstance(w, E.ConnectionWrite) and w.indices is not None:
        chosen = np.zeros(n, bool)
        chosen[np.asarray(w.indices, np.int64)] = True
        sel &= chosen
    if not sel.any():
        return []
    if isinstance(w, E.ConnectionWrite):
        return [SynapseEnableWrite(t, h[sel], r[sel], c[sel], np.full(int(sel.sum()), w.enabled))]
    v = np.full(n, w.weight, np.int64) if w.weights is None else np.asarray(w.weights, np.int64)
    return [WeightWrite(t, h[sel], r[sel], c[sel], v[sel])]


def build_playback(exp: E.Experiment, mapping: SystemMapping, chip: int,
                   trains: dict[str, list[np.ndarray]] | None = None) -> PlaybackProgram:
    """Spike input from the external sources that reach ``chip``, and its timed writes.
    ``trains``: the sources' trains by name, filled as they are drawn (pass one dict for all
    chips of an experiment to draw each train once)."""
    rt = mapping.chips[chip]
    ticks, labels = [], []
    trains = {} if trains is None else trains
    for key, label in rt.labels.items():
        if key[0] != "src":
            continue
        _, name, i, delay = key
        if name not in trains:
            trains[name] = source_trains_us(exp, next(s for s in exp.sources if s.name == name))
        t = us_to_ticks(trains[name][i]) + delay
        ticks.append(t)
        labels.append(np.full(len(t), label, np.int64))
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
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    return PlaybackProgram(cat(ticks), cat(labels), writes)
