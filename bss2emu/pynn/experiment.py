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

from ..errors import RoutingError
from ..protocol import experiment as E
from ..routing.connectivity import keyed_rng
from . import standardmodels as models
from . import translation as T
from .exceptions import ConnectionError, InvalidParameterValueError
from .populations import model_name
from .results import store_results

CHUNK_MS = 1000.0  # Poisson trains are drawn per chunk, so a longer run keeps the earlier spikes


# --- connections: grouped by (pre population, post population, delay) ----------------------
def connection_groups(projections) -> list[dict]:
    """Each projection's connections split by pre/post population and delay, duplicates
    (same pre, post) merged by adding their weights."""
    groups = []
    for prj in projections:
        prj._consolidate()
        pre_groups, post_groups = prj.endpoints()
        w, d = prj._values["weight"], prj._values["delay"]
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
    return groups


def _is_source(pop) -> bool:
    return isinstance(pop.celltype, (models.SpikeSourceArray, models.SpikeSourcePoisson,
                                     models.SpikeSourcePoissonOnChip))


def delay_us(state, pre, delay_ms: float, label: str) -> float | None:
    """The experiment's ``delay_us`` of a connection: None (direct) at the minimum delay
    between neurons; the FPGA-realised delay otherwise (at least one network hop)."""
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
    if abs(delay_ms - min_delay) < 0.5 * state.dt:
        return None
    hop = state.hop_latency_us / T.US_PER_MS
    if delay_ms < hop - 1e-9:
        raise ConnectionError(
            f"projection {label!r}: delay {delay_ms:g} ms cannot be realised: on one chip a connection is direct "
            f"(delay = min_delay = {min_delay:g} ms) or goes through the FPGA, which takes at least one network hop "
            f"({hop:g} ms; between chips the route latency): use delay={min_delay:g} or delay >= {hop:g}")
    return delay_ms * T.US_PER_MS


def check_projection(prj) -> None:
    """Delays, STP sharing and weights of a new or changed projection (PyNN errors)."""
    from .simulator import state

    groups = connection_groups([prj])
    for g in groups:
        delay_us(state, g["pre"], g["delay"], prj.label)
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
        shared = [p for p in (g["pre"] for g in connection_groups([other])) if id(p) in pres]
        if shared and other.stp() != stp:
            raise ConnectionError(
                f"projections {other.label!r} and {prj.label!r} both leave population {shared[0].label!r} but ask "
                f"for different short-term plasticity ({_stp_text(other.stp())} vs {_stp_text(stp)}): STP is a "
                f"setting of the presynaptic neuron's synapse driver, shared by all its synapses; give both the "
                f"same synapse_type parameters or split {shared[0].label!r} into two populations")
    for post in {id(g["post"]): g["post"] for g in groups}.values():
        translate(post, connection_groups(state.projections), prj.label)


def _stp_text(stp) -> str:
    return "static" if stp is None else "U={:g}, tau_rec={:g} ms, tau_facil={:g} ms".format(*stp)


# --- neurons --------------------------------------------------------------------------
def incoming_weights(pop, groups) -> dict[str, np.ndarray]:
    out: dict[str, list] = {}
    for g in groups:
        if g["post"] is pop:
            out.setdefault(g["projection"].receptor_type, []).append(g["weight"])
    return {r: np.concatenate(ws) for r, ws in out.items()}


def translate(pop, groups, label=None, params=None, max_current=None) -> T.NeuronTranslation:
    """Hardware values of a neuron population (HXNeuron: its values as they are)."""
    params = pop._parameters if params is None else params
    if isinstance(pop.celltype, models.HXNeuron):
        weights = incoming_weights(pop, groups)
        for rec, w in weights.items():
            if len(w) and (w.max() > 63 or np.any(w != np.rint(w))):
                bad = w[(w > 63) | (w != np.rint(w))][0]
                raise InvalidParameterValueError(
                    f"projection {label or ''!r} onto HXNeuron population {pop.label!r}: weight {bad:g} is not a "
                    f"6-bit hardware weight; use integers 0 … 63 (summed over duplicate connections)")
        dac = {k: np.asarray(v).astype(np.int64) for k, v in params.items()}
        lsb = {r: 1.0 for r in ("excitatory", "inhibitory")}
        return T.NeuronTranslation(dac, np.full(pop.size, np.nan), lsb, {r: 63 for r in lsb}, {r: 0.0 for r in lsb})
    try:
        return T.bio_to_hw(model_name(pop.celltype), params, max_current_na=max_current,
                           weights=incoming_weights(pop, groups))
    except T.TranslationError as err:
        what = f"projection {label!r} onto " if label and err.parameter == "weight" else ""
        raise InvalidParameterValueError(f"{what}{model_name(pop.celltype)} population {pop.label!r}: {err}") from None


def current_schedule(state, pop) -> list[tuple[float, np.ndarray]]:
    """(time ms, injected current nA per neuron) at every change of the current sources."""
    steps = []
    for src in state.current_sources:
        for target, idx in src._targets:
            if target is pop:
                steps.append((src, idx))
    if not steps:
        return []
    if isinstance(pop.celltype, models.HXNeuron):
        raise InvalidParameterValueError(f"current source into HXNeuron population {pop.label!r}: set its i_const "
                                         f"(hardware value) instead")
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
    """The data of the network now: parameters, weights, current sources."""
    return {"params": [{k: np.array(v, copy=True) for k, v in p._parameters.items()} for p in state.populations],
            "weights": [p._values["weight"].copy() for p in state.projections]}


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


def build(state, tstop: float) -> tuple[E.Experiment, dict]:
    """The experiment of the current segment from 0 to ``tstop`` (+ one step for the last
    sample) and what is needed to read its results back."""
    epochs = state.epochs
    end_ms = tstop + state.dt
    pops = state.populations
    names = safe_names(pops, "population")
    name_of = {id(p): n for p, n in zip(pops, names)}
    populations, sources, writes, trains = [], [], [], {}
    groups_of_epoch = []
    for _, _, _, snap in _intervals(epochs, end_ms):
        for prj, w in zip(state.projections, snap["weights"]):
            prj._values["weight"] = w
        groups_of_epoch.append(connection_groups(state.projections))
    translations: dict[int, list] = {}
    for k, (pop, name) in enumerate(zip(pops, names)):
        if _is_source(pop):
            src, trains[id(pop)] = _source(state, k, pop, name, epochs, end_ms)
            sources.append(src)
            continue
        schedule = current_schedule(state, pop)
        extra = np.max([c for _, c in schedule], axis=0) if schedule else 0.0
        per_epoch = []
        for (e, t0, t1, snap), groups in zip(_intervals(epochs, end_ms), groups_of_epoch):
            params = snap["params"][k]
            cur = params["i_offset"] + extra if "i_offset" in params else None
            per_epoch.append(translate(pop, groups, params=params, max_current=cur))
        translations[id(pop)] = per_epoch
        # the DAC values at every change: epoch boundaries and current steps
        times = sorted({t for _, t, _, _ in _intervals(epochs, end_ms)} | {t for t, _ in schedule if t < end_ms})
        prev = None
        for t in times:
            e = max(i for i, (t0, _) in enumerate(epochs) if t0 <= t + 1e-12)
            dac = dict(per_epoch[e].dac)
            if schedule:
                inj = [c for ts, c in schedule if ts <= t + 1e-12][-1]
                dac["i_const"] = per_epoch[e].i_const(epochs[e][1]["params"][k]["i_offset"] + inj)
                if (dac["i_const"] > T.DAC).any():
                    raise InvalidParameterValueError(f"population {pop.label!r}: the injected current at {t:g} ms "
                                                     f"exceeds the hardware's constant-current range")
            if prev is None:
                params = {key: (int(v[0]) if np.all(v == v[0]) else v.tolist()) for key, v in dac.items()}
                populations.append(E.Population(name=name, size=pop.size, params=params, chip=pop.chip))
            else:
                for key, v in dac.items():
                    changed = np.nonzero(v != prev[key])[0]
                    for value, idx in _group_values(changed, v[changed]):
                        writes.append(E.NeuronWrite(time_us=t * T.US_PER_MS, population=name, parameter=key,
                                                    value=value, indices=idx.tolist()))
            prev = dac
    projections, weights = _projections(state, name_of, groups_of_epoch, translations, epochs, end_ms)
    writes += weights
    recordings, readout = _recordings(state, name_of)
    exp = E.Experiment(
        name="pynn", seed=state.config.seed, runtime_us=end_ms * T.US_PER_MS, dt_ns=int(round(state.dt * 1e3)),
        chip={"serial": state.config.serial, "ideal": state.config.ideal}, populations=populations,
        sources=sources, projections=projections, recordings=recordings,
        writes=sorted(writes, key=lambda w: w.time_us))
    return exp, {"names": name_of, "trains": trains, "readout": readout, "translations": translations}


def _projections(state, name_of, groups_of_epoch, translations, epochs, end_ms):
    """The experiment's projections (first epoch's weights) and later weight writes."""
    out, writes = [], []
    for j, g in enumerate(groups_of_epoch[0]):
        prj, post = g["projection"], g["post"]
        name = f"{safe_names([prj], 'projection')[0][:52]}#{j}"
        codes = []
        for e, groups in enumerate(groups_of_epoch):
            tr = translations[id(post)][e]
            lsb = tr.weight_lsb.get(prj.receptor_type, 1.0)
            codes.append(np.clip(np.rint(groups[j]["weight"] / lsb), 0, 63).astype(np.int64))
        c0 = codes[0]
        uniform = len(c0) == 0 or np.all(c0 == c0[0])
        conn = np.stack([g["pre_ix"], g["post_ix"]] + ([] if uniform else [c0]), axis=1).tolist()
        stp = prj.stp()
        out.append(E.Projection(
            name=name, pre=name_of[id(g["pre"])], post=name_of[id(post)],
            weight=int(c0[0]) if uniform and len(c0) else 0,
            connector={"kind": "from_list", "connections": conn}, receptor=prj.receptor_type,
            stp=None if stp is None else T.stp_to_hw(*stp), delay_us=delay_us(state, g["pre"], g["delay"], prj.label)))
        for e in range(1, len(codes)):
            if np.array_equal(codes[e], codes[e - 1]):
                continue
            if not (uniform and np.all(codes[e] == codes[e][0])):
                raise ConnectionError(f"projection {prj.label!r}: its weights changed during the run and differ "
                                      f"between connections; the chip can rewrite one weight per projection at a "
                                      f"time: call sim.reset() before changing them, or give all the same weight")
            writes.append(E.WeightWrite(time_us=epochs[e][0] * T.US_PER_MS, projection=name, weight=int(codes[e][0])))
    return out, writes


def _recordings(state, name_of):
    """MADC for one neuron recording v, CADC for several (with their sampling intervals)."""
    from pyNN.recording import Variable

    v = Variable(name="v", location=None, label=None)
    recorded = [(p, sorted(p.recorder.recorded.get(v, ()))) for p in state.populations]
    recorded = [(p, ids) for p, ids in recorded if ids]
    n = sum(len(ids) for _, ids in recorded)
    if n == 0:
        return E.Recordings(), None
    intervals = {p.recorder.sampling_interval for p, _ in recorded}
    if len(intervals) > 1:
        raise InvalidParameterValueError(f"v is recorded with sampling intervals {sorted(intervals)} ms: the CADC "
                                         f"samples all neurons together; use one sampling_interval")
    interval = intervals.pop()
    steps = int(round(interval / state.dt))
    if n == 1:
        pop, ids = recorded[0]
        index = int(pop.id_to_index(ids[0]))
        return E.Recordings(madc={"population": name_of[id(pop)], "index": index, "every_steps": steps}), \
            ("madc", pop, index, interval)
    from .recording import CADC_MIN_INTERVAL_MS

    if interval < CADC_MIN_INTERVAL_MS - 1e-9:
        raise InvalidParameterValueError(
            f"v is recorded from {n} neurons: only one neuron's membrane can use the MADC (every step); several are "
            f"sampled by the CADC, at most 1.85 MSample/s: "
            f"record(..., sampling_interval={CADC_MIN_INTERVAL_MS:g} or more) "
            f"(a multiple of the {state.dt} ms time step), or record v of a single neuron")
    return E.Recordings(cadc={"period_us": interval * T.US_PER_MS}), ("cadc", None, None, interval)


def run_segment(state, tstop: float) -> None:
    """Run the current segment from t = 0 to ``tstop`` (ms) and store the results."""
    if state.t == 0 or not state.epochs:
        state.epochs = [(0.0, snapshot(state))]
        state.topology = topology(state)
    else:
        if topology(state) != state.topology:
            raise ConnectionError("the network's structure changed since the last run() (populations, connections, "
                                  "delays, STP or on-chip sources): BrainScaleS-2 maps the network once per "
                                  "segment; call sim.reset() before changing it")
        state.epochs.append((state.t, snapshot(state)))
    for pop in state.populations:
        init = pop._initial_values.get("v")
        if init is not None and "v_rest" in pop._parameters:
            v0 = np.asarray(init.evaluate() if hasattr(init, "evaluate") else init, float)
            if np.any(np.abs(v0 - pop._parameters["v_rest"]) > 1.0):
                warnings.warn(f"population {pop.label!r}: initial v differs from v_rest; the hardware membrane "
                              f"starts at the leak potential (v_rest)", stacklevel=3)
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
    except RoutingError as err:
        raise ConnectionError(f"the network does not fit the hardware: {err} (µs hardware = ms biological; "
                              f"delay_us is the PyNN delay, 'delay_us: null' min_delay)") from None
    state.last_experiment, state.results = exp, res
    store_results(state, exp, res, info, tstop)
