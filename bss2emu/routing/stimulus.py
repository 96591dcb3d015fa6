"""Input data for a routed experiment: the FPGA playback program (spike input, timed writes).

Kept apart from routing: a new stimulus or new writes build a new program on the cached
topology. Poisson trains are keyed to (seed, source, neuron), never to processes.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..protocol import experiment as E
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS
from ..protocol.playback import NeuronParameterWrite, PlaybackProgram, WeightWrite
from ..units import us_to_ticks
from .connectivity import keyed_rng
from .single_chip import RoutedChip


def poisson_times_us(rate_khz: float, start_us: float, stop_us: float, rng: np.random.Generator) -> np.ndarray:
    """A homogeneous Poisson train on [start, stop) in µs (rate in kHz = events per ms)."""
    span = max(stop_us - start_us, 0.0)
    rate_per_us = rate_khz * 1e-3
    n = rng.poisson(rate_per_us * span)
    return np.sort(rng.uniform(start_us, stop_us, size=n)) if n else np.zeros(0)


def build_playback(exp: E.Experiment, routed: RoutedChip) -> PlaybackProgram:
    """Spike input from the experiment's external sources and its timed writes."""
    ticks, labels = [], []
    for src in exp.sources:
        lab = routed.labels[src.name]
        if isinstance(src, E.SpikeArraySource):
            trains = [np.asarray(t, dtype=np.float64) for t in src.spike_times_us]
        elif isinstance(src, E.PoissonSource):
            stop = exp.runtime_us if src.stop_us is None else min(src.stop_us, exp.runtime_us)
            trains = [poisson_times_us(src.rate_khz, src.start_us, stop, keyed_rng(exp.seed, "poisson", src.name, i))
                      for i in range(src.size)]
        else:
            continue  # background sources run on the chip
        for i, times in enumerate(trains):
            if lab[i] < 0 or len(times) == 0:
                continue  # a unit without targets sends nothing anywhere
            times = times[times < exp.runtime_us]
            ticks.append(us_to_ticks(times))
            labels.append(np.full(len(times), lab[i], dtype=np.int64))
    writes = []
    for w in exp.writes:
        t = int(us_to_ticks(w.time_us))
        if isinstance(w, E.NeuronWrite):
            circ = routed.placement[w.population]
            idx = np.arange(len(circ)) if w.indices is None else np.asarray(w.indices)
            if len(idx) and idx.max() >= len(circ):
                raise ConfigError(f"write at {w.time_us} µs: index {idx.max()} is out of range for population "
                                  f"{w.population!r} of size {len(circ)}")
            limit = NEURON_PARAMETERS[NEURON_PARAMETER_INDEX[w.parameter]].maximum
            if w.value > limit:
                raise ConfigError(f"write at {w.time_us} µs: {w.parameter}={w.value} is out of range 0..{limit}")
            writes.append(NeuronParameterWrite(t, w.parameter, circ[idx], w.value))
        else:
            con = routed.connections[w.projection]
            writes.append(WeightWrite(t, con.hemisphere, con.row, con.column, np.full(len(con.row), w.weight)))
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    return PlaybackProgram(cat(ticks), cat(labels), writes)
