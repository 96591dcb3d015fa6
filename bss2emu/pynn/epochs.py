"""Epochs of a segment: the network's data at each ``run()`` call of one segment.

A segment runs from t = 0 (after ``setup`` or ``reset``); every ``run()`` call adds an epoch
(start time, ``snapshot`` of parameters, weights and current sources). The whole segment is
executed as one experiment: the first epoch's values as configuration, the later ones as
timed writes. ``topology`` digests what mapping depends on, which must not change within a
segment.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..routing.connectivity import keyed_rng
from .exceptions import InvalidParameterValueError
from .rules import rule_identity, rule_of
from .standardmodels import SpikeSourceArray, SpikeSourcePoissonOnChip, is_hardware, is_source, model_name

CHUNK_MS = 1000.0  # Poisson trains are drawn per chunk (ms of bss2emu.pynn's axis: 1 ms hardware), so a longer
# run keeps the earlier spikes


def current_schedule(state, pop) -> list[tuple[float, np.ndarray]]:
    """(time ms, injected current nA per neuron) at every change of the current sources as
    they are now ([] without any)."""
    steps = []
    for src in state.current_sources:
        for target, idx in src._targets:
            if target is pop:
                steps.append((src, idx))
    if not steps:
        return []
    if is_hardware(pop.celltype):
        raise InvalidParameterValueError(f"current source into {model_name(pop.celltype)} population {pop.label!r}: "
                                         f"current sources take nA; use a standard cell type, or HXNeuron's i_const "
                                         f"(hardware value)")
    times = sorted({t for src, _ in steps for t, _ in src.steps()} | {0.0})
    out = []
    for t in times:
        cur = np.zeros(pop.size)
        for src, idx in steps:
            amp = 0.0
            for ts, a in src.steps():
                if ts <= t + 1e-12:
                    amp = a
            cur[idx] += amp
        out.append((t, cur))
    return out


def snapshot(state) -> dict:
    """The data of the network now: parameters, weights, current sources (per population
    its ``current_schedule``)."""
    return {"params": [{k: np.array(v, copy=True) for k, v in p._parameters.items()} for p in state.populations],
            "weights": [p._values["weight"].copy() for p in state.projections],
            "currents": [[] if is_source(p) else current_schedule(state, p) for p in state.populations],
            "enabled": {id(p): p._enabled.copy() for p in state.projections if p.__dict__.get("_enabled") is not None}}


def segment_schedule(epochs, k: int, size: int, end_ms: float) -> list[tuple[float, np.ndarray]]:
    """Population ``k``'s injected current over the segment: in each epoch the current
    sources as they were set for it (a later change does not reach back into earlier runs)."""
    if not any(snap["currents"][k] for _, snap in epochs):
        return []
    out = []
    for _, t0, t1, snap in intervals(epochs, end_ms):
        sched = snap["currents"][k]
        at_start = [c for ts, c in sched if ts <= t0 + 1e-12]
        out.append((t0, at_start[-1] if at_start else np.zeros(size)))
        out += [(ts, c) for ts, c in sched if t0 + 1e-12 < ts < t1]
    return out


def topology(state) -> str:
    """A digest of what mapping depends on (compared between the runs of a segment)."""
    h = hashlib.sha1()
    for p in state.populations:
        h.update(f"{id(p)}:{p.size}:{p.chip};".encode())
        if isinstance(p.celltype, SpikeSourcePoissonOnChip):
            h.update(repr(sorted((k, np.asarray(v).tolist()) for k, v in p._parameters.items())).encode())
    for prj in state.projections:
        h.update(f"{id(prj)}:{len(prj)}:{prj.receptor_type}:{prj.stp()};".encode())
        for arr in (prj._pre, prj._post, prj._values["delay"]):
            h.update(np.ascontiguousarray(arr).tobytes())
    # the plasticity rules, each by its identity (rules.rule_identity: same_id and kernel)
    for owner in [prj.synapse_type for prj in state.projections] + [p.celltype for p in state.populations]:
        h.update(rule_identity(rule_of(owner)).encode())
    return h.hexdigest()



def intervals(epochs, end: float):
    for e, (t0, snap) in enumerate(epochs):
        yield e, t0, (epochs[e + 1][0] if e + 1 < len(epochs) else end), snap


def source_trains(state, k: int, pop, epochs, end_ms: float) -> list[np.ndarray]:
    """Spike times (ms) of an external source over the segment, epoch by epoch."""
    parts: list[list] = [[] for _ in range(pop.size)]
    version = None
    for e, t0, t1, snap in intervals(epochs, end_ms):
        p = snap["params"][k]
        if isinstance(pop.celltype, SpikeSourceArray):
            for i, times in enumerate(p["spike_times"]):
                t = np.asarray(times.value if hasattr(times, "value") else times, float)
                parts[i].append(t[(t >= t0) & (t < t1)])
            continue
        if version is None or any(not np.array_equal(p[n], epochs[e - 1][1]["params"][k][n])
                                  for n in ("rate", "start", "duration")):
            version = e  # unchanged parameters continue the same random stream
        rate, start, stop = p["rate"], p["start"], p["start"] + p["duration"]
        chunk = CHUNK_MS / state.us_per_ms  # the same stretch of hardware time in either view
        for c in range(int(t0 // chunk), int(np.ceil(t1 / chunk))):
            rng = keyed_rng(state.config.seed, "pynn-poisson", state.segment_counter, k, version, c)
            n = rng.poisson(rate * chunk / 1000.0)
            times = c * chunk + rng.uniform(0.0, chunk, size=int(n.sum()))
            owner = np.repeat(np.arange(pop.size), n)  # ascending: each source's times are one stretch
            keep = (times >= np.maximum(t0, start[owner])) & (times < np.minimum(t1, stop[owner]))
            counts = np.bincount(owner[keep], minlength=pop.size)
            for i, t in enumerate(np.split(times[keep], np.cumsum(counts)[:-1])):
                parts[i].append(t)
    return [np.sort(np.concatenate(x)) if x else np.zeros(0) for x in parts]

