"""From the PyNN network to a ``bss2emu.Experiment`` (the translation of one segment).

``build`` makes the experiment of the current segment: the topology (populations, sources,
``from_list`` projections per pre/post population and delay, recordings), mapped onto the
system of ``setup`` (cached on topology, ``bss2emu.routing.mapping``), then the hardware
values: every chip calibrated for the neurons placed on it (``neurons``), weights as 6-bit
codes, and every later epoch's changes as timed writes. ``current_translations`` places and
calibrates the network as it is now, without running it.

Topology (populations, connections, delays, STP, sizes) must stay the same within a
segment; a new stimulus, new parameters or new weights are data and never re-map.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import QuantisationWarning, RoutingError, user_stacklevel
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol.system import as_system
from ..routing.mapping import map_experiment
from ..routing.sizing import smallest_mapping
from . import translation as T
from .connections import connection_groups, delay_us, group_members
from .epochs import intervals, segment_schedule, snapshot, source_trains
from .morphology_sites import experiment_size, is_mc, place_circuits, place_permuted
from .exceptions import ConnectionError, InvalidParameterValueError, connection_error
from .neurons import neuron_values, translate_network, warn_tau_m
from .readout import recordings
from .rules import experiment_rules, group_connections
from .standardmodels import SpikeSourcePoissonOnChip, is_hardware, is_source, model_name
from .timed_writes import experiment_writes

_log = logging.getLogger("bss2emu.pynn")


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



def _source(state, k, pop, name, epochs, end_ms):
    if isinstance(pop.celltype, SpikeSourcePoissonOnChip):
        p = epochs[0][1]["params"][k]
        rate = float(p["rate"][0])
        period, r8 = T.background_settings(rate, pop.size, state.us_per_ms) if rate > 0 else (1000, 0)
        stop = float(p["start"][0] + p["duration"][0])
        return E.BackgroundSource(name=name, size=pop.size, mode="poisson", period=period, rate=r8,
                                  seed=int(p["seed"][0]) or None, start_us=float(p["start"][0]) * state.us_per_ms,
                                  stop_us=None if stop >= 1e7 else stop * state.us_per_ms), None
    trains = source_trains(state, k, pop, epochs, end_ms)
    return E.SpikeArraySource(name=name, size=pop.size,
                              spike_times_us=[(t * state.us_per_ms).tolist() for t in trains]), trains



def topology_experiment(state, epochs, end_ms: float) -> tuple[E.Experiment, dict]:
    """The segment's experiment without hardware values (what mapping needs: sizes,
    connections, delays, STP, sources, recordings) and what filling them in needs."""
    pops = state.populations
    names = safe_names(pops, "population")
    circuits = pinned_circuits(state)
    name_of = {id(p): n for p, n in zip(pops, names)}
    populations, sources, trains = [], [], {}
    groups_of_epoch = []
    for _, _, _, snap in intervals(epochs, end_ms):
        for prj, w in zip(state.projections, snap["weights"]):
            prj._values["weight"] = w
        groups_of_epoch.append(connection_groups(state.projections))
    for k, (pop, name) in enumerate(zip(pops, names)):
        if is_source(pop):
            src, trains[id(pop)] = _source(state, k, pop, name, epochs, end_ms)
            sources.append(src)
        else:
            populations.append(E.Population(name=name, size=experiment_size(pop), chip=pop.chip if not is_mc(pop)
                                            else pop.chip or 0, circuits=circuits.get(id(pop))))
    projections, rows = [], []
    for j, g in enumerate(groups_of_epoch[0]):
        prj = g["projection"]
        stp = prj.stp()
        n_rows = synapse_rows(g["post"], [groups[j]["weight"] for groups in groups_of_epoch], prj.label)
        key = (f"{safe_names([prj], 'projection')[0][:52]}#{j}", name_of[id(g["pre"])], name_of[id(g["post"])],
               prj.receptor_type, None if stp is None else T.stp_to_hw(*stp),
               delay_us(state, g["pre"], g["delay"], prj.label), n_rows)
        memo = g.get("experiment")  # the group's connections are unchanged while it is cached
        if memo is None or memo[0] != key:
            name, pre, post, receptor, stp_hw, delay, _ = key
            connections = np.stack([g["pre_ix"], g["post_ix"]], axis=1).tolist()
            memo = g["experiment"] = (key, [E.Projection(
                name=name if r == 0 else f"{name}+{r}", pre=pre, post=post, weight=0,
                connector={"kind": "from_list", "connections": connections}, receptor=receptor, stp=stp_hw,
                delay_us=delay) for r in range(n_rows)])
        projections += memo[1]
        rows.append(n_rows)
    recordings_, readout = recordings(state, name_of)
    exp = E.Experiment(
        name="pynn", seed=state.config.seed, runtime_us=end_ms * state.us_per_ms,
        dt_ns=int(round(state.dt * 1e3 * state.us_per_ms)),
        chip={"serial": state.config.serial, "ideal": state.config.ideal}, populations=populations,
        sources=sources, projections=projections, recordings=recordings_)
    return exp, {"names": names, "name_of": name_of, "trains": trains, "readout": readout,
                 "groups": groups_of_epoch, "rows": rows}


def synapse_rows(post, weights_of_epochs, label: str = "") -> int:
    """How many synapse rows a group of connections takes: one, but onto a hardware cell type
    (weights are 6-bit codes) a weight above 63 spreads over several rows of the same
    column — as pynn.brainscales2 does, 123 → 63 + 60 — as many as the largest weight of any
    epoch needs. Beyond one driver's two rows the routing gives the presynaptic neuron a
    group of drivers sharing a row-select mask: at most the 32 drivers of one PADI bus."""
    if not is_hardware(post.celltype):
        return 1
    top = max((float(np.max(np.abs(w))) for w in weights_of_epochs if len(w)), default=0.0)
    rows = max(1, int(np.ceil(round(top) / C.WEIGHT_MAX - 1e-9)))
    limit = C.ROWS_PER_DRIVER * C.DRIVERS_PER_PADI_BUS
    if rows > limit:
        raise InvalidParameterValueError(
            f"projection {label!r} onto {model_name(post.celltype)} population {post.label!r} has weight {top:g}, which "
            f"takes {rows} synapse rows of 63; a presynaptic neuron reaches a column through the drivers of one "
            f"PADI bus, {limit} rows: at most {limit * C.WEIGHT_MAX}; use smaller weights, or several presynaptic "
            f"neurons with the same spikes")
    return rows


def split_codes(code: np.ndarray, row: int) -> np.ndarray:
    """Synapse row ``row``'s share of weight codes spread over rows: 63 on each row before it,
    the rest (at most 63) on it, 0 after it.

    >>> split_codes(np.array([123, 40, 63]), 0).tolist(), split_codes(np.array([123, 40, 63]), 1).tolist()
    ([63, 40, 63], [60, 0, 0])
    """
    return np.clip(code - C.WEIGHT_MAX * row, 0, C.WEIGHT_MAX)


def pinned_circuits(state) -> dict[int, list[int]]:
    """Population → the circuits its neurons are pinned to. Without ``state.neuron_permutation``
    only multi-compartment populations are pinned (their logical neurons side by side,
    ``place_circuits``); with it (pynn.brainscales2's ``neuronPermutation``) every neuron
    population, each neuron at the first listed circuit where it fits (``place_permuted``)."""
    permutation = getattr(state, "neuron_permutation", None)
    if permutation is None:
        return place_circuits(state.populations)
    neurons = [pop for pop in state.populations if not is_source(pop)]
    n_circuits = sum(experiment_size(pop) for pop in neurons)
    if n_circuits > len(permutation):
        raise InvalidParameterValueError(
            f"setup(neuronPermutation=...) lists {len(permutation)} circuits, but the neuron populations take "
            f"{n_circuits} ({', '.join(f'{p.label!r}: {experiment_size(p)}' for p in neurons)}): list one circuit "
            f"per neuron circuit")
    return place_permuted(neurons, permutation)


def place(state, exp: E.Experiment):
    """The mapping of ``exp`` onto the system of ``setup`` (cached on topology), or, when
    ``setup`` named none, onto the smallest system it fits (``routing.sizing``; logged and
    kept in ``state.system``)."""
    cfg = state.config
    try:
        if cfg.size_system:
            mapping = smallest_mapping(exp, cfg.partitioner)
        else:
            mapping = map_experiment(exp, as_system(cfg.system, cfg.chips), cfg.partitioner)
    except RoutingError as err:
        raise connection_error(err) from None
    if cfg.size_system and (state.system is None or state.system.name != mapping.system.name):
        _log.info("the network (%d neurons) fits %d chip(s): running on system %r (setup(chips=...) or "
                  "setup(system=...) chooses one)", sum(p.size for p in exp.populations), len(mapping.chips),
                  mapping.system.name)
    state.system = mapping.system
    return mapping


def build(state, tstop: float) -> tuple[E.Experiment, dict]:
    """The experiment of the current segment from 0 to ``tstop`` (+ one step for the last
    sample) and what is needed to read its results back: map the topology, calibrate every
    chip for the neurons placed on it, then fill in hardware values, weights and writes."""
    epochs = state.epochs
    end_ms = tstop + state.dt
    exp, info = topology_experiment(state, epochs, end_ms)
    mapping = place(state, exp)
    snaps = [snap for _, _, _, snap in intervals(epochs, end_ms)]
    translations = translate_network(state, mapping, info["names"], snaps, info["groups"])
    populations, writes = [], []
    pinned = pinned_circuits(state)
    for k, (pop, name) in enumerate(zip(state.populations, info["names"])):
        if is_source(pop):
            continue
        schedule = segment_schedule(epochs, k, pop.size, end_ms)
        population, more = neuron_values(pop, k, name, translations[id(pop)], epochs, schedule, end_ms,
                                          state.us_per_ms, pinned.get(id(pop)))
        populations.append(population)
        writes += more
    warn_tau_m(state, translations, [snap["params"] for snap in snaps])
    projections, weights = _projections(exp.projections, info["groups"], info["rows"], translations, epochs,
                                        state.us_per_ms)
    weights += connection_writes(projections, info["groups"][0], info["rows"], epochs, state.us_per_ms)
    first = np.concatenate([[0], np.cumsum(info["rows"])]).astype(int)
    # a rule's synapses are those of the group's first row (plastic weights are 6-bit: one row)
    rules = experiment_rules(state, [projections[k] for k in first[:-1]], info["groups"][0], info["name_of"])
    # writes by hardware coordinate (the BSS-2 view's inside-realtime section) after the network's own
    injected = experiment_writes(getattr(state, "timed_writes", ()), exp, mapping)
    exp = exp.model_copy(update={"populations": populations, "projections": projections, "plasticity": rules,
                                 "writes": sorted(writes + weights + injected, key=lambda w: w.time_us)})
    return exp, {"names": info["name_of"], "trains": info["trains"], "readout": info["readout"],
                 "translations": translations, "epoch_starts": [t for t, _ in epochs],
                 "groups": info["groups"][0], "rows": info["rows"]}


def connection_writes(projections, groups, rows, epochs, us_per_ms: float) -> list:
    """Connections disabled or enabled again (``Projection.set_enabled``) as timed
    ``ConnectionWrite``s: at the segment's start those disabled then, later the changes
    (on every synapse row of a group: ``rows[j]`` experiment projections each)."""
    out = []
    first = np.concatenate([[0], np.cumsum(rows)]).astype(int)
    for j, g in enumerate(groups):
        names = [projections[k].name for k in range(first[j], first[j + 1])]
        prj = g["projection"]
        states = [snap.get("enabled", {}).get(id(prj)) for _, snap in epochs]
        if all(s is None for s in states):
            continue
        conn = group_connections(prj, g)
        before = np.ones(len(conn), bool)
        for (t_ms, _), now in zip(epochs, states):
            now = before if now is None else now[conn]
            for enabled in (False, True):
                idx = np.flatnonzero((now == enabled) & (before != enabled if t_ms > 0 else ~now))
                if len(idx):
                    out += [E.ConnectionWrite(time_us=t_ms * us_per_ms, projection=name, enabled=enabled,
                                              indices=idx.tolist()) for name in names]
            before = now
    return out


def current_translations(state) -> dict[int, T.NeuronTranslation]:
    """Per neuron population: its translation for the network as it is now (placement and
    calibration without running — what ``realised_parameters`` and ``hardware_weights`` show)."""
    epochs = [(0.0, snapshot(state))]
    exp, info = topology_experiment(state, epochs, state.dt)
    mapping = place(state, exp)
    out = translate_network(state, mapping, info["names"], [epochs[0][1]], info["groups"])
    return {key: trs[0] for key, trs in out.items()}


def _projections(topo, groups_of_epoch, rows, translations, epochs, us_per_ms: float):
    """The experiment's projections (first epoch's weight codes) and later weight writes; a
    group of ``rows[j]`` synapse rows has ``rows[j]`` experiment projections in ``topo``."""
    out, writes = [], []
    lost: dict[int, list] = {}  # projection → [projection, connections lost, of, largest lost weight]
    first = np.concatenate([[0], np.cumsum(rows)]).astype(int)
    for j, g in enumerate(groups_of_epoch[0]):
        prj, post, n_rows = g["projection"], g["post"], rows[j]
        codes = []
        for e, groups in enumerate(groups_of_epoch):
            code = translations[id(post)][e].weight_codes(groups[j]["weight"], g["post_ix"], prj.receptor_type)
            gone = (code == 0) & (groups[j]["weight"] != 0)
            entry = lost.setdefault(id(prj), [prj, 0, 0, 0.0])
            entry[1:] = [max(entry[1], int(gone.sum())), max(entry[2], len(code)),
                         max([entry[3], *np.abs(groups[j]["weight"][gone])])]
            if (code > C.WEIGHT_MAX * n_rows).any():
                i = int(np.flatnonzero(code > C.WEIGHT_MAX * n_rows)[0])
                raise InvalidParameterValueError(
                    f"projection {prj.label!r}: weight {groups[j]['weight'][i]:g} onto neuron {g['post_ix'][i]} of "
                    f"{post.label!r} needs weight code {code[i]}, above {C.WEIGHT_MAX}: its chip's calibration does "
                    f"not reach it; use smaller weights")
            codes.append(code)
        for r in range(n_rows):
            pr = topo[first[j] + r]
            row_codes = [split_codes(c, r) for c in codes]
            c0 = row_codes[0]
            uniform = len(c0) == 0 or np.all(c0 == c0[0])
            update = {"weight": int(c0[0]) if uniform and len(c0) else 0}
            if not uniform:
                conn = np.stack([g["pre_ix"], g["post_ix"], c0], axis=1).tolist()
                update["connector"] = E.FromList.model_construct(kind="from_list", connections=conn)
            out.append(pr.model_copy(update=update))
            for e in range(1, len(row_codes)):
                if np.array_equal(row_codes[e], row_codes[e - 1]):
                    continue
                if uniform and np.all(row_codes[e] == row_codes[e][0]):
                    writes.append(E.WeightWrite(time_us=epochs[e][0] * us_per_ms, projection=pr.name,
                                                weight=int(row_codes[e][0])))
                else:  # one weight per connection (the group's, in its connection order)
                    writes.append(E.WeightWrite(time_us=epochs[e][0] * us_per_ms, projection=pr.name,
                                                weights=row_codes[e].astype(int).tolist()))
    for prj, n, of, largest in lost.values():
        if n:
            warnings.warn(f"projection {prj.label!r}: {n} of {of} connections have weights below half a weight-code "
                          f"step (up to {largest:g}) and are lost (code 0): the largest weight onto a neuron becomes "
                          f"code 63, so a step is 1/63 of it; keep the weights onto a neuron (per receptor) within a "
                          f"range of about 1:60; prj.hardware_weights() shows every code",
                          QuantisationWarning, stacklevel=user_stacklevel())
    return out, writes



@dataclass(frozen=True)
class MappedTopologyStatistics:
    """Placement and routing figures of a mapped network (grenade's ``MappedTopologyStatistics``)."""

    num_chips: int
    num_populations: int
    num_projections: int
    num_neurons: int
    num_synapses: int
    neuron_usage: float  # fraction of the system's neuron circuits
    synapse_usage: float  # fraction of the system's synapses


def backend_statistics(state) -> MappedTopologyStatistics:
    """The figures of the last run's mapping (cached: no new placement)."""
    exp = state.last_experiment
    mapping = place(state, exp)
    chips = len(mapping.chips)
    neurons = sum(p.size for p in exp.populations)
    synapses = sum(len(entry[0]) for entry in mapping.synapse.values())
    return MappedTopologyStatistics(
        num_chips=chips, num_populations=len(exp.populations) + len(exp.sources),
        num_projections=len(exp.projections), num_neurons=neurons, num_synapses=synapses,
        neuron_usage=neurons / (chips * C.NEURONS_PER_CHIP),
        synapse_usage=synapses / (chips * C.HEMISPHERES * C.ROWS_PER_HEMISPHERE * C.COLUMNS_PER_HEMISPHERE))


def connection_placement(state, prj) -> list[list[tuple[int, int, int, int, int, int]]]:
    """Where the last run placed each connection of ``prj`` (in connection order) — before
    any run, where the network as it is now is placed (``run(None, RunCommand.PREPARE)``): a
    list of its synapses, one per synapse row it spreads over, each ``(chip, hemisphere, row,
    column, weight code, address)`` — grenade's placed connections. Duplicate connections
    share their synapses."""
    from ..routing.mapping import from_list_weights

    exp, info = state.last_experiment, state.last_info
    codes_now = None
    if exp is None or info is None:
        if prj not in state.projections:
            raise RuntimeError("placed_connections requires a previous routing run, which is executed on pynn.run().")
        exp, topo = topology_experiment(state, [(0.0, snapshot(state))], state.dt)
        info = {"groups": topo["groups"][0], "rows": topo["rows"]}
        codes_now = prj.hardware_weights()[0]  # the topology's projections carry no weights
    mapping = place(state, exp)  # cached on topology
    out: list[list] = [[] for _ in range(len(prj))]
    k = 0
    for g, n_rows in zip(info["groups"], info["rows"]):
        if g["projection"] is prj:
            pos, key = group_members(prj, g)
            at = np.searchsorted(g["pre_ix"] * g["post"].size + g["post_ix"], key)
            for r, pr in enumerate(exp.projections[k:k + n_rows]):
                chip, hemi, row, col = mapping.synapse[pr.label]
                codes = from_list_weights(pr.connector.connections, pr.weight) if codes_now is None else None
                for p, a in zip(pos.tolist(), at.tolist()):
                    c, h, rw, x = int(chip[a]), int(hemi[a]), int(row[a]), int(col[a])
                    code = int(codes[a]) if codes is not None else int(split_codes(codes_now[p:p + 1], r)[0])
                    out[p].append((c, h, rw, x, code, int(mapping.chips[c].addresses[h, rw, x])))
        k += n_rows
    return out
