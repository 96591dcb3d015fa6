"""From the PyNN network to a ``bss2emu.Experiment`` and back (deferred execution).

``run_segment`` is what ``run()`` does: snapshot the network (parameters, weights, source
parameters) as a new epoch, build the experiment of the whole segment — the first epoch's
values as configuration, every later epoch and every current-source step as timed writes —
run it with ``bss2emu.run`` and hand each population its spikes and membrane traces.

Topology (populations, connections, delays, STP, sizes) must stay the same within a
segment; a new stimulus, new parameters or new weights are data and never re-map (the
mapping is cached on topology, ``bss2emu.routing.mapping``).
"""

from __future__ import annotations

import hashlib
import re
import warnings

import numpy as np

import bss2emu

from ..errors import QuantisationWarning, RoutingError, user_stacklevel
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol.system import as_system
from ..routing.connectivity import keyed_rng
from ..routing.mapping import map_experiment
from ..units import V_SCALE
from . import standardmodels as models
from . import translation as T
from .exceptions import ConnectionError, InvalidParameterValueError, connection_error
from .populations import is_hardware, model_name
from .results import store_results

CHUNK_MS = 1000.0  # Poisson trains are drawn per chunk, so a longer run keeps the earlier spikes


# --- connections: grouped by (pre population, post population, delay) ----------------------
def connection_groups(projections) -> list[dict]:
    """Each projection's connections split by pre/post population and delay, duplicates
    (same pre, post) merged by adding their weights (cached per projection until its
    connections, weights or delays change; ``topology_experiment`` keeps a group's
    experiment projection in it under ``"experiment"``)."""
    groups = []
    for prj in projections:
        prj._consolidate()
        w, d = prj._values["weight"], prj._values["delay"]
        digest = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in (prj._pre, prj._post, w, d))).digest()
        cached = prj.__dict__.get("_groups_cache")
        if cached is not None and cached[0] == digest:
            groups += cached[1]
            continue
        start = len(groups)
        pre_groups, post_groups = prj.endpoints()
        for pre_pop, pre_pos, pre_ix in pre_groups:
            for post_pop, post_pos, post_ix in post_groups:
                pos = np.intersect1d(pre_pos, post_pos)
                if not len(pos):
                    continue
                a = np.empty(len(prj), np.int64)
                b = np.empty(len(prj), np.int64)
                a[pre_pos], b[post_pos] = pre_ix, post_ix
                delays = np.round(d[pos], 6)
                for delay in np.unique(delays):
                    sel = pos[delays == delay]
                    key = a[sel] * post_pop.size + b[sel]
                    uniq, inv = np.unique(key, return_inverse=True)
                    groups.append({"projection": prj, "pre": pre_pop, "post": post_pop, "delay": float(delay),
                                   "pre_ix": uniq // post_pop.size, "post_ix": uniq % post_pop.size,
                                   "weight": np.bincount(inv, weights=np.abs(w[sel]), minlength=len(uniq))})
        prj._groups_cache = (digest, groups[start:])
    return groups


def _is_source(pop) -> bool:
    return isinstance(pop.celltype, (models.SpikeSourceArray, models.SpikeSourcePoisson,
                                     models.SpikeSourcePoissonOnChip))


def delay_us(state, pre, delay_ms: float, label: str, warn: bool = False) -> float | None:
    """The experiment's ``delay_us`` of a connection. From a source: any delay (the FPGA
    plays the spikes back later). Between neurons: from one network hop on, the FPGA
    realises the delay exactly; a shorter one is a direct connection (None: within the time
    step on one chip, the route latency between chips). A delay between the two is realised
    by whichever is closer; ``warn``: say so (``QuantisationWarning``)."""
    min_delay = state.dt if state.min_delay == "auto" else state.min_delay
    if delay_ms < min_delay - 1e-9 or delay_ms > state.max_delay + 1e-9:
        raise ConnectionError(f"projection {label!r}: delay {delay_ms:g} ms is out of range [{min_delay:g}, "
                              f"{state.max_delay:g}] ms (setup's min_delay and max_delay)")
    if isinstance(pre.celltype, models.SpikeSourcePoissonOnChip):
        if abs(delay_ms - min_delay) > 1e-9:
            raise ConnectionError(f"projection {label!r}: an on-chip Poisson source feeds its chip directly; its "
                                  f"events cannot be delayed: use delay={min_delay:g} (min_delay)")
        return None
    if _is_source(pre):
        return delay_ms * T.US_PER_MS  # played back later by the FPGA: any delay
    hop = state.hop_latency_us / T.US_PER_MS
    if delay_ms >= hop - 1e-9:
        return delay_ms * T.US_PER_MS
    direct = delay_ms - state.dt <= hop - delay_ms
    if warn and delay_ms > 1.5 * state.dt:
        realised = f"at most one time step ({state.dt:g} ms)" if direct else f"{hop:g} ms (one network hop)"
        warnings.warn(f"projection {label!r}: a delay of {delay_ms:g} ms between neurons is realised as {realised}: "
                      f"on one chip a connection is direct (within the time step) or goes through the FPGA, which "
                      f"takes at least one network hop ({hop:g} ms; between chips the route latency); use delay >= "
                      f"{hop:g} ms for an exact delay", QuantisationWarning, stacklevel=user_stacklevel())
    return None if direct else hop * T.US_PER_MS


def check_projection(prj) -> None:
    """Delays, STP sharing and weights of a new or changed projection (PyNN errors)."""
    from .simulator import state

    groups = connection_groups([prj])
    for g in groups:
        delay_us(state, g["pre"], g["delay"], prj.label, warn=True)
    stp = prj.stp()
    if stp is not None:
        try:
            T.stp_to_hw(*stp)
        except T.TranslationError as err:
            raise InvalidParameterValueError(f"TsodyksMarkramSynapse of projection {prj.label!r}: {err}") from None
    pres = {id(g["pre"]): g["pre"] for g in groups}
    for other in state.projections:
        if other is prj:
            continue
        shared = [pop for pop, _, _ in other.endpoints()[0] if id(pop) in pres]
        if shared and other.stp() != stp:
            raise ConnectionError(
                f"projections {other.label!r} and {prj.label!r} both leave population {shared[0].label!r} but ask "
                f"for different short-term plasticity ({T.stp_text(other.stp())} vs {T.stp_text(stp)}): STP is a "
                f"setting of the presynaptic neuron's synapse driver, shared by all its synapses; give both the "
                f"same synapse_type parameters or split {shared[0].label!r} into two populations")
    posts = {id(g["post"]): g["post"] for g in groups}
    onto = [p for p in state.projections if p is prj or any(id(pop) in posts for pop, _, _ in p.endpoints()[1])]
    for post in posts.values():
        check_neurons(post, connection_groups(onto), prj.label)


# --- neurons --------------------------------------------------------------------------
def max_weights(pop, groups) -> dict[str, np.ndarray]:
    """Receptor → the largest |weight| onto each neuron of ``pop`` (neurons without input
    get the population's largest, so that their synaptic gain stays in range)."""
    out: dict[str, np.ndarray] = {}
    for g in groups:
        if g["post"] is pop and len(g["weight"]):
            w = out.setdefault(g["projection"].receptor_type, np.zeros(pop.size))
            np.maximum.at(w, g["post_ix"], np.abs(g["weight"]))
    for rec, w in list(out.items()):
        if w.max() <= 0:
            del out[rec]
        else:
            w[w <= 0] = w.max()
    return out


def check_neurons(pop, groups, label=None) -> None:
    """Raise PyNN's errors if ``pop``'s parameters or the weights onto it (``groups``) are
    out of the hardware's calibrated ranges (before placement: ranges only)."""
    if is_hardware(pop.celltype):
        for g in groups:
            w = g["weight"]
            if g["post"] is pop and len(w) and (w.max() > C.WEIGHT_MAX or np.any(w != np.rint(w))):
                bad = w[(w > C.WEIGHT_MAX) | (w != np.rint(w))][0]
                raise InvalidParameterValueError(
                    f"projection {label or g['projection'].label!r} onto {model_name(pop.celltype)} population "
                    f"{pop.label!r}: weight {bad:g} is not a 6-bit hardware weight; use integers 0 … 63 (summed "
                    f"over duplicate connections)")
        return
    try:
        T.check_bio(T.with_max_weights(pop._parameters, max_weights(pop, groups)))
    except T.TranslationError as err:
        what = f"projection {label!r} onto " if label and err.parameter == "weight" else ""
        raise InvalidParameterValueError(f"{what}{model_name(pop.celltype)} population {pop.label!r}: {err}") from None


def _neuron_params(pop, params, schedule, groups) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """What calibrating ``pop`` needs: its parameters (for biological types with the largest
    current each neuron will get from ``schedule``, ``max_current``) and per receptor the
    largest weight onto each neuron."""
    out = {key: np.broadcast_to(np.asarray(v, float), (pop.size,)) for key, v in params.items()}
    if is_hardware(pop.celltype):
        return out, {}
    if schedule:
        out["max_current"] = out["i_offset"] + np.max([c for _, c in schedule], axis=0)
    return out, max_weights(pop, groups)


def translate_network(state, mapping, names, snaps, epochs_groups) -> dict[int, list]:
    """Per neuron population, per epoch (``snaps``: the epochs' snapshots): its
    ``NeuronTranslation`` — calibration of every chip for the neurons placed on it
    (``translation.calibrate_chip``). A neuron keeps one capacitance setting for the whole
    segment (the smallest any epoch needs)."""
    pops = state.populations
    epochs_params = [snap["params"] for snap in snaps]
    neurons = [(k, pop, name) for k, (pop, name) in enumerate(zip(pops, names))
               if not _is_source(pop) and not isinstance(pop.celltype, models.HXNeuron)]
    wanted = [{id(pop): _neuron_params(pop, snap["params"][k], snap["currents"][k], groups) for k, pop, _ in neurons}
              for snap, groups in zip(snaps, epochs_groups)]
    capacitance = {}
    for _, pop, _ in neurons:
        if not is_hardware(pop.celltype):
            try:
                capacitance[id(pop)] = np.min([T.bio_capacitance(T.with_max_weights(*w[id(pop)]))
                                               for w in wanted], axis=0)
            except T.TranslationError as err:
                raise InvalidParameterValueError(
                    f"{model_name(pop.celltype)} population {pop.label!r}: {err}") from None
    out: dict[int, list] = {id(p): [] for p in pops if not _is_source(p)}
    for e, params_of in enumerate(epochs_params):
        for k, pop in enumerate(pops):
            if isinstance(pop.celltype, models.HXNeuron):
                dac = {key: np.asarray(v).astype(np.int64) for key, v in params_of[k].items()}
                out[id(pop)].append(T.NeuronTranslation(dac, {r: np.ones(pop.size) for r in T.MAX_WEIGHT}))
        per_chip: dict[int, list] = {}
        for k, pop, name in neurons:
            params, maxw = wanted[e][id(pop)]
            chip, circ = mapping.partition.chip[name], mapping.partition.circuit[name]
            cap = capacitance.get(id(pop))
            for c in np.unique(chip):
                ix = np.flatnonzero(chip == c)
                placed = T.Placed(ix, circ[ix], {key: v[ix] for key, v in params.items()},
                                  hardware=is_hardware(pop.celltype), max_weight={r: w[ix] for r, w in maxw.items()},
                                  label=f"{model_name(pop.celltype)} population {pop.label!r}",
                                  capacitance=None if cap is None else cap[ix],
                                  conductance=bool(getattr(pop.celltype, "conductance_based", False)))
                per_chip.setdefault(int(c), []).append((pop, placed))
        parts: dict[int, tuple[list, list]] = {}
        for c, entries in sorted(per_chip.items()):
            try:
                result = T.calibrate_chip([pl for _, pl in entries],
                                          mapping.system.serial_of(c, state.config.serial), state.config.ideal)
            except T.TranslationError as err:
                raise InvalidParameterValueError(str(err)) from None
            for pop, pl in entries:
                tr = T.neuron_translation(result, pl, pop.size, bool(getattr(pop.celltype, "conductance_based", False)),
                                          cm=pl.params.get("cm"))
                parts.setdefault(id(pop), ([], []))[0].append(tr)
                parts[id(pop)][1].append(pl.index)
        for key, (trs, index) in parts.items():
            out[key].append(T.merge(trs, index))
    return out


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


# --- epochs -------------------------------------------------------------------------------
def snapshot(state) -> dict:
    """The data of the network now: parameters, weights, current sources (per population
    its ``current_schedule``)."""
    return {"params": [{k: np.array(v, copy=True) for k, v in p._parameters.items()} for p in state.populations],
            "weights": [p._values["weight"].copy() for p in state.projections],
            "currents": [[] if _is_source(p) else current_schedule(state, p) for p in state.populations]}


def segment_schedule(epochs, k: int, size: int, end_ms: float) -> list[tuple[float, np.ndarray]]:
    """Population ``k``'s injected current over the segment: in each epoch the current
    sources as they were set for it (a later change does not reach back into earlier runs)."""
    if not any(snap["currents"][k] for _, snap in epochs):
        return []
    out = []
    for _, t0, t1, snap in _intervals(epochs, end_ms):
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
        if isinstance(p.celltype, models.SpikeSourcePoissonOnChip):
            h.update(repr(sorted((k, np.asarray(v).tolist()) for k, v in p._parameters.items())).encode())
    for prj in state.projections:
        h.update(f"{id(prj)}:{len(prj)}:{prj.receptor_type}:{prj.stp()};".encode())
        for arr in (prj._pre, prj._post, prj._values["delay"]):
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def safe_names(objs, prefix: str) -> list[str]:
    """Unique experiment names (≤ 64 characters, no leading/trailing/double spaces)."""
    out, seen = [], set()
    for i, o in enumerate(objs):
        base = re.sub(r"\s+", "_", str(getattr(o, "label", "") or f"{prefix}{i}"))[:56] or f"{prefix}{i}"
        name, k = base, 1
        while name in seen:
            name, k = f"{base}~{k}", k + 1
        seen.add(name)
        out.append(name)
    return out


def _intervals(epochs, end: float):
    for e, (t0, snap) in enumerate(epochs):
        yield e, t0, (epochs[e + 1][0] if e + 1 < len(epochs) else end), snap


def source_trains(state, k: int, pop, epochs, end_ms: float) -> list[np.ndarray]:
    """Spike times (ms) of an external source over the segment, epoch by epoch."""
    parts: list[list] = [[] for _ in range(pop.size)]
    version = None
    for e, t0, t1, snap in _intervals(epochs, end_ms):
        p = snap["params"][k]
        if isinstance(pop.celltype, models.SpikeSourceArray):
            for i, times in enumerate(p["spike_times"]):
                t = np.asarray(times.value if hasattr(times, "value") else times, float)
                parts[i].append(t[(t >= t0) & (t < t1)])
            continue
        if version is None or any(not np.array_equal(p[n], epochs[e - 1][1]["params"][k][n])
                                  for n in ("rate", "start", "duration")):
            version = e  # unchanged parameters continue the same random stream
        rate, start, stop = p["rate"], p["start"], p["start"] + p["duration"]
        for c in range(int(t0 // CHUNK_MS), int(np.ceil(t1 / CHUNK_MS))):
            rng = keyed_rng(state.config.seed, "pynn-poisson", state.segment_counter, k, version, c)
            n = rng.poisson(rate * CHUNK_MS / 1000.0)
            times = c * CHUNK_MS + rng.uniform(0.0, CHUNK_MS, size=int(n.sum()))
            owner = np.repeat(np.arange(pop.size), n)
            keep = (times >= np.maximum(t0, start[owner])) & (times < np.minimum(t1, stop[owner]))
            for i in range(pop.size):
                parts[i].append(times[keep & (owner == i)])
    return [np.sort(np.concatenate(x)) if x else np.zeros(0) for x in parts]


def _source(state, k, pop, name, epochs, end_ms):
    if isinstance(pop.celltype, models.SpikeSourcePoissonOnChip):
        p = epochs[0][1]["params"][k]
        rate = float(p["rate"][0])
        period, r8 = T.background_settings(rate, pop.size) if rate > 0 else (1000, 0)
        stop = float(p["start"][0] + p["duration"][0])
        return E.BackgroundSource(name=name, size=pop.size, mode="poisson", period=period, rate=r8,
                                  seed=int(p["seed"][0]) or None, start_us=float(p["start"][0]) * T.US_PER_MS,
                                  stop_us=None if stop >= 1e7 else stop * T.US_PER_MS), None
    trains = source_trains(state, k, pop, epochs, end_ms)
    return E.SpikeArraySource(name=name, size=pop.size,
                              spike_times_us=[(t * T.US_PER_MS).tolist() for t in trains]), trains


def _group_values(indices: np.ndarray, values: np.ndarray):
    """(value, indices) for each distinct value."""
    for v in np.unique(values):
        yield int(v), indices[values == v]


def _neuron_times(epochs, schedule, end_ms) -> list[float]:
    """When a population's hardware values may change: epoch starts and current steps."""
    return sorted({t for _, t, _, _ in _intervals(epochs, end_ms)} | {t for t, _ in schedule if t < end_ms})


def _neuron_values(pop, k, name, per_epoch, epochs, schedule, end_ms):
    """The population (first values) and its writes at every later change."""
    writes, population, prev = [], None, None
    for t in _neuron_times(epochs, schedule, end_ms):
        e = max(i for i, (t0, _) in enumerate(epochs) if t0 <= t + 1e-12)
        tr = per_epoch[e]
        dac = dict(tr.dac)
        if schedule:
            inj = [c for ts, c in schedule if ts <= t + 1e-12][-1]
            current = epochs[e][1]["params"][k]["i_offset"] + inj
            if (current < -1e-12).any():
                i = int(np.flatnonzero(current < -1e-12)[0])
                raise InvalidParameterValueError(
                    f"population {pop.label!r}: the current into neuron {i} at {t:g} ms, {current[i]:g} nA (i_offset "
                    f"plus current sources), is negative: the chip's constant-current source only adds charge; a "
                    f"steady hyperpolarising current is a lower v_rest (by I*tau_m/cm), a transient one inhibitory "
                    f"input")
            dac["i_const"] = tr.i_const(current)
            over = dac["i_const"] > T.DAC
            if over.any():
                i = int(np.flatnonzero(over)[0])
                top = (T.DAC * tr.current_gain[i] + tr.current_offset[i]) * tr.cm[i] / V_SCALE
                raise InvalidParameterValueError(
                    f"population {pop.label!r}: the current into neuron {i} at {t:g} ms, {current[i]:g} nA (i_offset "
                    f"plus current sources), exceeds the hardware's constant-current range of {top:.3g} nA for its "
                    f"cm={tr.cm[i]:g} nF: use a smaller current or a larger cm")
        if prev is None:
            params = {key: (int(v[0]) if np.all(v == v[0]) else v.tolist()) for key, v in dac.items()}
            population = E.Population(name=name, size=pop.size, params=params, chip=pop.chip)
        else:
            for key, v in dac.items():
                changed = np.nonzero(v != prev[key])[0]
                for value, idx in _group_values(changed, v[changed]):
                    writes.append(E.NeuronWrite(time_us=t * T.US_PER_MS, population=name, parameter=key,
                                                value=value, indices=idx.tolist()))
        prev = dac
    return population, writes


def topology_experiment(state, epochs, end_ms: float) -> tuple[E.Experiment, dict]:
    """The segment's experiment without hardware values (what mapping needs: sizes,
    connections, delays, STP, sources, recordings) and what filling them in needs."""
    pops = state.populations
    names = safe_names(pops, "population")
    name_of = {id(p): n for p, n in zip(pops, names)}
    populations, sources, trains = [], [], {}
    groups_of_epoch = []
    for _, _, _, snap in _intervals(epochs, end_ms):
        for prj, w in zip(state.projections, snap["weights"]):
            prj._values["weight"] = w
        groups_of_epoch.append(connection_groups(state.projections))
    for k, (pop, name) in enumerate(zip(pops, names)):
        if _is_source(pop):
            src, trains[id(pop)] = _source(state, k, pop, name, epochs, end_ms)
            sources.append(src)
        else:
            populations.append(E.Population(name=name, size=pop.size, chip=pop.chip))
    projections = []
    for j, g in enumerate(groups_of_epoch[0]):
        prj = g["projection"]
        stp = prj.stp()
        key = (f"{safe_names([prj], 'projection')[0][:52]}#{j}", name_of[id(g["pre"])], name_of[id(g["post"])],
               prj.receptor_type, None if stp is None else T.stp_to_hw(*stp),
               delay_us(state, g["pre"], g["delay"], prj.label))
        memo = g.get("experiment")  # the group's connections are unchanged while it is cached
        if memo is None or memo[0] != key:
            name, pre, post, receptor, stp_hw, delay = key
            connections = np.stack([g["pre_ix"], g["post_ix"]], axis=1).tolist()
            memo = g["experiment"] = (key, E.Projection(
                name=name, pre=pre, post=post, weight=0, connector={"kind": "from_list", "connections": connections},
                receptor=receptor, stp=stp_hw, delay_us=delay))
        projections.append(memo[1])
    recordings, readout = _recordings(state, name_of)
    exp = E.Experiment(
        name="pynn", seed=state.config.seed, runtime_us=end_ms * T.US_PER_MS, dt_ns=int(round(state.dt * 1e3)),
        chip={"serial": state.config.serial, "ideal": state.config.ideal}, populations=populations,
        sources=sources, projections=projections, recordings=recordings)
    return exp, {"names": names, "name_of": name_of, "trains": trains, "readout": readout,
                 "groups": groups_of_epoch}


def place(state, exp: E.Experiment):
    """The mapping of ``exp`` onto the system of ``setup`` (cached on topology)."""
    cfg = state.config
    try:
        return map_experiment(exp, as_system(cfg.system, cfg.chips), cfg.partitioner)
    except RoutingError as err:
        raise connection_error(err) from None


def build(state, tstop: float) -> tuple[E.Experiment, dict]:
    """The experiment of the current segment from 0 to ``tstop`` (+ one step for the last
    sample) and what is needed to read its results back: map the topology, calibrate every
    chip for the neurons placed on it, then fill in hardware values, weights and writes."""
    epochs = state.epochs
    end_ms = tstop + state.dt
    exp, info = topology_experiment(state, epochs, end_ms)
    mapping = place(state, exp)
    snaps = [snap for _, _, _, snap in _intervals(epochs, end_ms)]
    translations = translate_network(state, mapping, info["names"], snaps, info["groups"])
    populations, writes = [], []
    for k, (pop, name) in enumerate(zip(state.populations, info["names"])):
        if _is_source(pop):
            continue
        schedule = segment_schedule(epochs, k, pop.size, end_ms)
        population, more = _neuron_values(pop, k, name, translations[id(pop)], epochs, schedule, end_ms)
        populations.append(population)
        writes += more
    warn_tau_m(state, translations, [snap["params"] for snap in snaps])
    projections, weights = _projections(exp.projections, info["groups"], translations, epochs)
    exp = exp.model_copy(update={"populations": populations, "projections": projections,
                                 "writes": sorted(writes + weights, key=lambda w: w.time_us)})
    return exp, {"names": info["name_of"], "trains": info["trains"], "readout": info["readout"],
                 "translations": translations, "epoch_starts": [t for t, _ in epochs]}


TAU_M_TOLERANCE = 0.02
"""Realised ``tau_m`` further than this (relative) from the asked-for value warns."""


def warn_tau_m(state, translations, params_of_epoch) -> None:
    """Warn (``QuantisationWarning``) per population whose realised ``tau_m`` deviates more
    than ``TAU_M_TOLERANCE``: the leak conductance's DAC step (4.5 nS at full bias) is
    coarse at small capacitance settings, where a few DAC values span the whole range."""
    for k, pop in enumerate(state.populations):
        trs = translations.get(id(pop), [])
        for tr, params in zip(trs, params_of_epoch):
            if "tau_m" not in tr.achieved or "tau_m" not in params[k]:
                continue
            want = np.broadcast_to(np.asarray(params[k]["tau_m"], float), (pop.size,))
            dev = np.abs(tr.achieved["tau_m"] / want - 1.0)
            i = int(np.argmax(dev))
            if dev[i] > TAU_M_TOLERANCE:
                warnings.warn(
                    f"population {pop.label!r}: tau_m={want[i]:g} ms is realised as {tr.achieved['tau_m'][i]:.4g} ms "
                    f"(neuron {i}, {100 * dev[i]:.1f} % off; {int(np.sum(dev > TAU_M_TOLERANCE))} of {pop.size} "
                    f"neurons beyond {100 * TAU_M_TOLERANCE:g} %): the leak's DAC step is coarse at this neuron's "
                    f"capacitance setting {int(tr.dac['capacitance'][i])} of 63, chosen for the weight and current "
                    f"headroom; a larger cm or smaller weights/currents allow a finer tau_m; "
                    f"pop.realised_parameters() shows every neuron's", QuantisationWarning,
                    stacklevel=user_stacklevel())
                break


def current_translations(state) -> dict[int, T.NeuronTranslation]:
    """Per neuron population: its translation for the network as it is now (placement and
    calibration without running — what ``realised_parameters`` and ``hardware_weights`` show)."""
    epochs = [(0.0, snapshot(state))]
    exp, info = topology_experiment(state, epochs, state.dt)
    mapping = place(state, exp)
    out = translate_network(state, mapping, info["names"], [epochs[0][1]], info["groups"])
    return {key: trs[0] for key, trs in out.items()}


def _projections(topo, groups_of_epoch, translations, epochs):
    """The experiment's projections (first epoch's weight codes) and later weight writes."""
    out, writes = [], []
    lost: dict[int, list] = {}  # projection → [projection, connections lost, of, largest lost weight]
    for j, (pr, g) in enumerate(zip(topo, groups_of_epoch[0])):
        prj, post = g["projection"], g["post"]
        codes = []
        for e, groups in enumerate(groups_of_epoch):
            code = translations[id(post)][e].weight_codes(groups[j]["weight"], g["post_ix"], prj.receptor_type)
            gone = (code == 0) & (groups[j]["weight"] != 0)
            entry = lost.setdefault(id(prj), [prj, 0, 0, 0.0])
            entry[1:] = [max(entry[1], int(gone.sum())), max(entry[2], len(code)),
                         max([entry[3], *np.abs(groups[j]["weight"][gone])])]
            if (code > C.WEIGHT_MAX).any():
                i = int(np.flatnonzero(code > C.WEIGHT_MAX)[0])
                raise InvalidParameterValueError(
                    f"projection {prj.label!r}: weight {groups[j]['weight'][i]:g} onto neuron {g['post_ix'][i]} of "
                    f"{post.label!r} needs weight code {code[i]}, above {C.WEIGHT_MAX}: its chip's calibration does "
                    f"not reach it; use smaller weights")
            codes.append(code)
        c0 = codes[0]
        uniform = len(c0) == 0 or np.all(c0 == c0[0])
        update = {"weight": int(c0[0]) if uniform and len(c0) else 0}
        if not uniform:
            conn = np.stack([g["pre_ix"], g["post_ix"], c0], axis=1).tolist()
            update["connector"] = E.FromList.model_construct(kind="from_list", connections=conn)
        out.append(pr.model_copy(update=update))
        for e in range(1, len(codes)):
            if np.array_equal(codes[e], codes[e - 1]):
                continue
            if not (uniform and np.all(codes[e] == codes[e][0])):
                raise ConnectionError(f"projection {prj.label!r}: its weights changed during the run and differ "
                                      f"between connections; the chip can rewrite one weight per projection at a "
                                      f"time: call sim.reset() before changing them, or give all the same weight")
            writes.append(E.WeightWrite(time_us=epochs[e][0] * T.US_PER_MS, projection=pr.name,
                                        weight=int(codes[e][0])))
    for prj, n, of, largest in lost.values():
        if n:
            warnings.warn(f"projection {prj.label!r}: {n} of {of} connections have weights below half a weight-code "
                          f"step (up to {largest:g}) and are lost (code 0): the largest weight onto a neuron becomes "
                          f"code 63, so a step is 1/63 of it; keep the weights onto a neuron (per receptor) within a "
                          f"range of about 1:60; prj.hardware_weights() shows every code",
                          QuantisationWarning, stacklevel=user_stacklevel())
    return out, writes


def _recordings(state, name_of):
    """The readouts of what the populations record (see ``recording``): the MADC takes one
    analog variable of one neuron — ``gsyn_exc``/``gsyn_inh``/``w`` (or a hardware type's
    ``exc_synin``/``inh_synin``/``adaptation``), else ``v`` when a single neuron records it —
    and the CADC the membranes of all other neurons that record ``v``. Returns the
    ``Recordings`` and a list of readouts ``(kind, population, index, variable)``."""
    from .recording import CADC_MIN_INTERVAL_MS, MADC_SOURCE

    analog = [(p, var.name, sorted(ids)) for p in state.populations for var, ids in p.recorder.recorded.items()
              if var.name != "spikes" and ids]
    others = [(p, name, ids) for p, name, ids in analog if name != "v"]
    v = [(p, ids) for p, name, ids in analog if name == "v"]
    if sum(len(ids) for _, _, ids in others) > 1:
        what = ", ".join(f"{name} of {len(ids)} neuron{'s' * (len(ids) > 1)} of {p.label!r}" for p, name, ids in others)
        raise InvalidParameterValueError(
            f"{what} are recorded: the MADC digitises one analog signal (membrane, synaptic input or adaptation) "
            f"of one neuron per run, and the CADC reads membranes only; record one of them per run (sim.reset() "
            f"between runs), or v of many neurons")
    madc = None
    if others:
        pop, name, ids = others[0]
        madc = (pop, name, int(pop.id_to_index(ids[0])))
    elif sum(len(ids) for _, ids in v) == 1:
        (pop, ids), v = v[0], []
        madc = (pop, "v", int(pop.id_to_index(ids[0])))
    fields, readouts = {}, []
    if madc is not None:
        pop, name, index = madc
        fields["madc"] = {"population": name_of[id(pop)], "index": index, "source": MADC_SOURCE[name],
                          "every_steps": int(round(pop.recorder.sampling_interval / state.dt))}
        readouts.append(("madc", pop, index, name))
    if v:
        n = sum(len(ids) for _, ids in v)
        intervals = {p.recorder.sampling_interval for p, _ in v}
        if len(intervals) > 1:
            raise InvalidParameterValueError(f"v is recorded with sampling intervals {sorted(intervals)} ms: the CADC "
                                             f"samples all neurons together; use one sampling_interval")
        interval = intervals.pop()
        if interval < CADC_MIN_INTERVAL_MS - 1e-9 and not any(getattr(p.recorder, "explicit_interval", False)
                                                              for p, _ in v):
            # PyNN's default interval (the time step): the CADC's fastest instead, said once
            interval = float(np.ceil(CADC_MIN_INTERVAL_MS / state.dt - 1e-9) * state.dt)
            for p, _ in v:
                p.recorder.sampling_interval = interval
            warnings.warn(f"v is recorded from {n} neurons: the CADC samples them every {interval:g} ms (at most "
                          f"1.85 MSample/s, 8 bit: 0.47 mV biological), not every time step; record v of a single "
                          f"neuron for the MADC's 10-bit trace at every step, or give record(..., "
                          f"sampling_interval=...) to choose", QuantisationWarning, stacklevel=user_stacklevel())
        if interval < CADC_MIN_INTERVAL_MS - 1e-9:
            why = (f"v is recorded from {n} neurons: only one neuron's membrane can use the MADC (every step)"
                   if madc is None else f"the MADC records {madc[1]}, so v (of {n} neuron{'s' * (n > 1)}) comes "
                                        f"from the CADC")
            raise InvalidParameterValueError(
                f"{why}; the CADC samples membranes at most 1.85 MSample/s: "
                f"record(..., sampling_interval={CADC_MIN_INTERVAL_MS:g} or more) (a multiple of the {state.dt} ms "
                f"time step), or record v of a single neuron and nothing else analog")
        fields["cadc"] = {"period_us": interval * T.US_PER_MS}
        readouts.append(("cadc", None, None, "v"))
    return E.Recordings(**fields), readouts


def run_segment(state, tstop: float) -> None:
    """Run the current segment from t = 0 to ``tstop`` (ms) and store the results. A run
    that fails (bad values, a network that does not fit) leaves the segment as it was, so
    corrected values can run next."""
    before = (list(state.epochs or []), getattr(state, "topology", None))
    try:
        _run_segment(state, tstop)
    except BaseException:
        state.epochs, state.topology = before
        raise


def _run_segment(state, tstop: float) -> None:
    if state.t == 0 or not state.epochs:
        state.epochs = [(0.0, snapshot(state))]
        state.topology = topology(state)
    else:
        if topology(state) != state.topology:
            raise ConnectionError("the network's structure changed since the last run() (populations, connections, "
                                  "delays, STP or on-chip sources): BrainScaleS-2 maps the network once per "
                                  "segment; call sim.reset() before changing it")
        state.epochs = state.epochs + [(state.t, snapshot(state))]
    for pop in state.populations:
        init = pop._initial_values.get("v")
        if init is not None and "v_rest" in pop._parameters:
            v0 = np.asarray(init.evaluate() if hasattr(init, "evaluate") else init, float)
            if np.any(np.abs(v0 - pop._parameters["v_rest"]) > 1.0):
                warnings.warn(f"population {pop.label!r}: initial v differs from v_rest; the hardware membrane "
                              f"starts at the leak potential (v_rest)", stacklevel=user_stacklevel())
    last = snapshot(state)
    try:
        exp, info = build(state, tstop)
    finally:  # build swaps epoch weights in; restore the current ones
        for prj, w in zip(state.projections, last["weights"]):
            prj._values["weight"] = w
    cfg = state.config
    try:
        res = bss2emu.run(exp, system=cfg.system, chips=cfg.chips, placement=cfg.placement, address=cfg.address,
                          partitioner=cfg.partitioner)
    except RoutingError as err:  # what mapping does not check: routes on the system
        raise connection_error(err) from None
    state.last_experiment, state.results = exp, res
    store_results(state, exp, res, info, tstop)
