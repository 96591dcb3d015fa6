"""Map an experiment onto a system: partition → place → route → per-chip configurations.

* **partition** (``partition.py``): populations over chips, METIS for several chips;
* **place**: each chip's neurons on consecutive circuits (0-255 top, 256-511 bottom);
* **route**: on each chip every presynaptic *unit* with targets there gets a driver, an
  address and so a label (``drivers.py``). Units are: a local neuron sending directly
  (``pop``), a neuron's events arriving through the FPGA — from another chip, or looped
  back for a delay — with a total delay (``net``), an external source neuron (``src``),
  and a background-generator label (``bg``, replicated on every chip it reaches);
* **FPGA routing tables**: (source chip, label) → (destination chip, label, delay).

A connection's delay is realised by the FPGA: never shorter than the route's latency (one
hop to loop back on the same chip), which is an error that names the minimum. Without a
delay, on-chip connections are direct and cross-chip ones take the route's latency.

Mapping depends on topology only and is cached: a new stimulus, new weights or new neuron
parameters never re-map ("compile once, run many").
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ConfigError, RoutingError
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol.frozen import freeze
from ..protocol.hardware import (
    BG_POISSON, BG_REGULAR, MADC_SOURCES, ROW_EXCITATORY, ROW_INHIBITORY, STP_DEPRESSION, STP_FACILITATION, ChipConfig,
    NeuronConfig, SynapseArrays,
    check_madc_pair,
)
from ..protocol.system import SystemSpec, as_system
from ..units import NS_PER_TICK, us_to_ticks
from . import partition as P
from .errors import routing_error
from .connectivity import expand, keyed_rng
from .drivers import DriverAllocator
from .synapse_layout import chip_weights, park_unused_synapses, synapse_layout


@dataclass
class ChipRouting:
    """The topology of one chip: its neurons, units, labels and synapses."""

    chip: int
    populations: dict[str, np.ndarray]  # pop -> global indices of its neurons on this chip
    circuits: dict[str, np.ndarray]  # pop -> their circuits (aligned with populations)
    labels: dict[tuple, int]  # unit key -> label
    neuron_labels: np.ndarray  # circuit -> output label
    row_modes: np.ndarray
    addresses: np.ndarray
    driver_stp: dict[int, str]
    background: dict[str, tuple[int, int, int]]  # source -> (generator, base label, mask)
    stats: dict[str, int] = field(default_factory=dict)
    driver_masks: dict[int, int] = field(default_factory=dict)  # driver -> row-select compare mask (wide units)


@dataclass
class SystemMapping:
    """An experiment mapped onto a system."""

    system: SystemSpec
    partition: P.Partition
    conns: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # projection -> (pre, post, weight)
    synapse: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]  # -> (chip, hemi, row, col)
    chips: list[ChipRouting]
    # FPGA routing: rows (src chip, src label, dst chip, dst label, delay ns, latency ns), sorted
    routes: np.ndarray
    window_ns: int | None  # smallest delay among routes in use (None: no FPGA routes)
    stats: dict = field(default_factory=dict)
    # what runs derive from the topology alone, kept for the next run: (what, chip) -> value
    # (``synapse_layout.synapse_layout``, ``stimulus.build_playback``)
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def synapses_of(self, projection: str, chip: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(hemisphere, row, column) of a projection's synapses on one chip (read-only)."""
        return synapse_layout(self, chip).synapses[projection]


def stp_key(stp: E.ShortTermPlasticity | None) -> str:
    return "none" if stp is None else stp.model_dump_json()


_LIST_KEYS: OrderedDict[int, tuple] = OrderedDict()  # id → (connector, key): front ends reuse connectors
_LIST_KEYS_SIZE = 4096


def _connector_key(con) -> object:
    """A connector's topology: for explicit lists only (pre, post) — weights are values.
    A list's digest is kept for the connector object (the PyNN backend passes the same
    objects run after run while the connections stay)."""
    if isinstance(con, E.FromList):
        c = con.connections
        if con.immutable:  # its digest is read once
            return con.read_once("digest", _pairs_digest)
        probe = (len(c), list(c[0][:2]) if c else None, list(c[-1][:2]) if c else None)  # edited in place?
        hit = _LIST_KEYS.get(id(con))
        if hit is not None and hit[0] is con and hit[2] == probe:
            return hit[1]
        key = _pairs_digest(c)
        _LIST_KEYS[id(con)] = (con, key, probe)
        if len(_LIST_KEYS) > _LIST_KEYS_SIZE:
            _LIST_KEYS.popitem(last=False)
        return key
    return con.model_dump()


def _pairs_digest(connections) -> dict:
    pairs = np.array([x[:2] for x in connections], np.int64).tobytes()
    return {"kind": "from_list", "pairs": hashlib.sha1(pairs).hexdigest()}


def topology_key(exp: E.Experiment, system: SystemSpec) -> str:
    """What mapping depends on: sizes, connectivity, receptors, STP, delays, seed, system."""
    return json.dumps({
        "seed": exp.seed, "system": system.model_dump(mode="json"),
        "pops": [(p.name, p.size, p.chip, p.circuits) for p in exp.populations],
        "srcs": [(s.name, s.size, s.kind) for s in exp.sources],
        "proj": [(p.label, p.pre, p.post, p.receptor, _connector_key(p.connector), stp_key(p.stp), p.delay_us)
                 for p in exp.projections],
    }, sort_keys=True)


class _Mapper:
    def __init__(self, exp: E.Experiment, system: SystemSpec, partitioner: str) -> None:
        self.exp, self.system = exp, system
        self.n = len(system.chips)
        self.conns = {pr.label: expand(exp, pr) for pr in exp.projections}
        if partitioner == "naive":
            self.part = P.naive_partition(exp, self.n)
        else:
            self.part = P.metis_partition(exp, self.n, self.conns, spread=partitioner == "metis-spread")
        self.kinds = {s.name: s for s in exp.sources}

    def _delay_ticks(self, pr: E.Projection, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per connection: (delay ticks or -1 for direct, route latency ticks)."""
        hops = np.where(a == b, 1, self.system.hops[a, b])  # a loop-back costs one hop
        lat = us_to_ticks(hops * self.system.link.hop_latency_us)
        if pr.delay_us is None:
            return np.where(a == b, -1, lat), lat
        want = int(us_to_ticks(pr.delay_us))
        short = want < lat
        if short.any():
            worst = int(lat[short].max())
            across = bool((a != b)[short].any())
            raise routing_error(
                f"projection {pr.label!r} asks for delay {pr.delay_us} µs, but its connections need at least "
                f"{worst / 125:.3f} µs (FPGA route latency"
                f"{' across chips' if across else ', loop-back on one chip'}): "
                f"use delay_us >= {worst / 125:.3f} or delay_us: null for the shortest path",
                "delay", projection=pr.label, delay_us=pr.delay_us, needed_us=worst / 125, across_chips=across)
        return np.full(len(a), want, np.int64), lat

    def map(self) -> SystemMapping:
        exp, part = self.exp, self.part
        per_chip_targets: list[OrderedDict] = [OrderedDict() for _ in range(self.n)]
        stp_of_source: dict[str, tuple[str, E.ShortTermPlasticity | None]] = {}
        net_routes: dict[tuple, tuple[int, int]] = {}  # (src chip, pop, i, dst chip, delay) -> latency
        synapse_rows: dict[str, np.ndarray] = {}
        for pr in exp.projections:
            prev = stp_of_source.setdefault(pr.pre, (pr.label, pr.stp))
            if stp_key(prev[1]) != stp_key(pr.stp):
                raise routing_error(
                    f"projections {prev[0]!r} and {pr.label!r} leave {pr.pre!r} with different short-term "
                    f"plasticity settings; all synapses of one source share its synapse driver's STP: "
                    f"give both projections the same stp, or split {pr.pre!r} into two sources",
                    "stp", projections=[prev[0], pr.label], source=pr.pre)
            pre, post, _ = self.conns[pr.label]
            b = part.chip[pr.post][post]
            circ = part.circuit[pr.post][post]
            rec = ROW_EXCITATORY if pr.receptor == "excitatory" else ROW_INHIBITORY
            synapse_rows[pr.label] = np.full(len(pre), -1, np.int64)
            src = self.kinds.get(pr.pre)
            if src is None:  # a population
                a = part.chip[pr.pre][pre]
                delay, lat = self._delay_ticks(pr, a, b)
                keys = [("pop", pr.pre, i) if d < 0 else ("net", pr.pre, i, d) for i, d in zip(pre.tolist(), delay.tolist())]
                for ai, bi, i, d, la in zip(a.tolist(), b.tolist(), pre.tolist(), delay.tolist(), lat.tolist()):
                    if d >= 0:
                        net_routes[(ai, pr.pre, i, bi, d)] = la
            elif isinstance(src, E.BackgroundSource):
                if pr.delay_us is not None:
                    raise routing_error(f"projection {pr.label!r}: background source {pr.pre!r} is an on-chip "
                                        f"generator, its events cannot be delayed: remove delay_us",
                                        "background_delay", projection=pr.label, source=pr.pre)
                keys = [("bg", pr.pre, i) for i in pre.tolist()]
            else:
                d = 0 if pr.delay_us is None else int(us_to_ticks(pr.delay_us))
                keys = [("src", pr.pre, i, d) for i in pre.tolist()]
            # group connections by (chip, unit)
            order = {}
            for j, (bi, key) in enumerate(zip(b.tolist(), keys)):
                order.setdefault((bi, key), []).append(j)
            for (bi, key), js in order.items():
                js = np.asarray(js, np.int64)
                per_chip_targets[bi].setdefault(key, []).append((pr.label, rec, js, circ[js]))
        chips = [self._route_chip(c, per_chip_targets[c], stp_of_source, synapse_rows) for c in range(self.n)]
        synapse = {}
        for pr in exp.projections:
            pre, post, _ = self.conns[pr.label]
            circ = part.circuit[pr.post][post]
            synapse[pr.label] = (part.chip[pr.post][post], circ // C.COLUMNS_PER_HEMISPHERE,
                                 synapse_rows[pr.label], circ % C.COLUMNS_PER_HEMISPHERE)
        rows = []
        for (a, pop, i, b, d), lat in net_routes.items():
            circ_a = part.circuit[pop][i]
            rows.append((a, int(chips[a].neuron_labels[circ_a]), b, chips[b].labels[("net", pop, i, d)],
                         d * NS_PER_TICK, lat * NS_PER_TICK))
        routes = np.array(sorted(rows), np.int64).reshape(-1, 6)
        window = int(routes[:, 4].min()) if len(routes) else None
        stats = {"partition": {**P.traffic(exp, part, self.conns), "method": part.method},
                 "naive_partition": P.traffic(exp, P.naive_partition(exp, self.n), self.conns) if self.n > 1 else None,
                 "fpga_routes": len(routes), "chips": [c.stats for c in chips]}
        return SystemMapping(self.system, part, self.conns, synapse, chips, routes, window, stats)

    def _route_chip(self, chip: int, targets: OrderedDict, stp_of_source, synapse_rows) -> ChipRouting:
        exp, part = self.exp, self.part
        pops = {p.name: np.nonzero(part.chip[p.name] == chip)[0] for p in exp.populations}
        circuits = {name: part.circuit[name][idx] for name, idx in pops.items()}
        self._check_fan_in(chip, targets, pops, circuits)
        alloc = DriverAllocator()
        labels: dict[tuple, int] = {}
        background = {}
        bg_sources = [s for s in exp.sources if isinstance(s, E.BackgroundSource)
                      and any(k[0] == "bg" and k[1] == s.name for k in targets)]
        if len(bg_sources) > C.BACKGROUND_GENERATORS:
            raise routing_error(
                f"{len(bg_sources)} background sources ({', '.join(s.name for s in bg_sources)}) reach chip {chip}; "
                f"a chip has {C.BACKGROUND_GENERATORS} background generators: merge sources (size up to 64) or "
                f"use external Poisson sources (kind: poisson)",
                "background_count", sources=[s.name for s in bg_sources], chip=chip, limit=C.BACKGROUND_GENERATORS)

        def place(keys, stp):
            units = [[(rec, circ) for _, rec, _, circ in targets.get(k, [])] for k in keys]
            got = alloc.place_block(units, stp_key(stp))
            if got is None:
                projs = sorted({t[0] for k in keys for t in targets.get(k, [])})
                raise routing_error(
                    f"source {keys[0][1]!r} unit {keys[0][2]} finds no free synapse driver on chip {chip} for "
                    f"projection(s) {projs}: all {C.DRIVERS_PER_HEMISPHERE} drivers (2 rows, 64 addresses each) "
                    f"are full or conflict in the target columns; reduce the number of presynaptic neurons or "
                    f"the fan-in, or spread the post population over more chips",
                    "drivers", source=keys[0][1], unit=int(keys[0][2]), chip=chip, projections=projs,
                    drivers=C.DRIVERS_PER_HEMISPHERE)
            labs, rows = got
            for k, lab, unit_rows in zip(keys, labs.tolist(), rows):
                labels[k] = lab
                for (label, _, js, _), r in zip(targets.get(k, []), unit_rows):
                    synapse_rows[label][js] = r
            return labs

        for g, src in enumerate(bg_sources):
            labs = place([("bg", src.name, i) for i in range(src.size)], stp_of_source.get(src.name, (0, None))[1])
            background[src.name] = (g, int(labs[0]), int(labs[-1] ^ labs[0]))
        for key in targets:
            if key[0] != "bg":
                place([key], stp_of_source[key[1]][1])
        neuron_labels = np.full(C.NEURONS_PER_CHIP, 0, np.int64)
        neuron_labels[:] = C.LABEL_NO_TARGET_BIT | (np.arange(C.NEURONS_PER_CHIP) & 0x1FFF)
        for name, idx in pops.items():
            for i, circ in zip(idx.tolist(), circuits[name].tolist()):
                if ("pop", name, i) in labels:
                    neuron_labels[circ] = labels[("pop", name, i)]
        stats = {**alloc.stats(), "neurons_used": int(sum(len(v) for v in pops.values()))}
        masks = {int(d): int(m) for d, m in enumerate(alloc.masks) if m}
        return ChipRouting(chip, pops, circuits, labels, neuron_labels, alloc.row_modes, alloc.addresses,
                           dict(alloc.stp), background, stats, masks)

    def _check_fan_in(self, chip, targets, pops, circuits) -> None:
        """Every post neuron column has 256 rows, one per connection onto it (a weight spread
        over rows makes several connections): more cannot fit."""
        count = np.zeros(C.NEURONS_PER_CHIP, np.int64)
        for key, tl in targets.items():
            np.add.at(count, np.concatenate([circ for *_, circ in tl]), 1)
        worst = int(np.argmax(count))
        if count[worst] > C.ROWS_PER_HEMISPHERE:
            name = next(n for n, cs in circuits.items() if worst in cs)
            idx = int(pops[name][np.nonzero(circuits[name] == worst)[0][0]])
            raise routing_error(
                f"population {name!r} neuron {idx} receives input from {count[worst]} presynaptic "
                f"connections; a neuron's column has {C.ROWS_PER_HEMISPHERE} synapse rows, one per connection (a "
                f"weight above 63 takes several), on whichever chip the sources are: reduce its fan-in to at most "
                f"{C.ROWS_PER_HEMISPHERE} "
                f"(e.g. fixed_number_pre n<={C.ROWS_PER_HEMISPHERE})",
                "fan_in", population=name, neuron=idx, fan_in=int(count[worst]), limit=C.ROWS_PER_HEMISPHERE)


PARTITIONERS = ("metis", "metis-spread", "naive")
_CACHE: OrderedDict[str, SystemMapping] = OrderedDict()
_CACHE_SIZE = 8
_DERIVED_KEPT = 1  # the mappings used last that keep what runs derived from them (``SystemMapping.derived``:
# megabytes per chip; one, so that a run of another topology never holds the last one's as well)


def map_experiment(exp: E.Experiment, system: SystemSpec | str | None = None,
                   partitioner: str = "metis") -> SystemMapping:
    """Map ``exp`` onto ``system`` (default: one chip), reusing a cached mapping when only
    stimulus, weights or parameters changed."""
    spec = as_system(system)
    if partitioner not in PARTITIONERS:
        raise RoutingError(f"unknown partitioner {partitioner!r}: use one of {', '.join(PARTITIONERS)}")
    key = topology_key(exp, spec) + partitioner
    mapping = _CACHE.get(key)
    if mapping is not None:
        _CACHE.move_to_end(key)
    else:
        mapping = _CACHE[key] = _Mapper(exp, spec, partitioner).map()
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    for old in list(_CACHE.values())[:-_DERIVED_KEPT]:
        old.derived.clear()  # (megabytes per chip: only the most recent mappings keep theirs)
    return mapping


def from_list_weights(connections: list, weight: int) -> np.ndarray:
    """The weight of every ``[pre, post]`` (``weight``) or ``[pre, post, w]`` connection."""
    w = _row_weights(connections, weight)
    return np.full(len(connections), weight, np.int64) if w is None else w


def _row_weights(connections: list, weight: int) -> np.ndarray | None:
    """``from_list_weights``, or None where no row carries a weight (all are ``weight``)."""
    lengths = set(map(len, connections))
    if lengths <= {2}:
        return None
    if lengths == {3}:
        w = np.fromiter((x[2] for x in connections), np.int64, len(connections))
    else:
        w = np.array([x[2] if len(x) == 3 else weight for x in connections], np.int64)
    w.flags.writeable = False  # (kept with the connections: ``FromList.read_once``)
    return w


_park_unused_synapses = park_unused_synapses  # (its former name)


def projection_weights(pr: E.Projection, weights: dict | None = None) -> int | np.ndarray:
    """A projection's weight: one int for every connection, or an array of one per connection
    (a from-list connector whose rows carry weights). ``weights``: a dict kept over the chips
    of one configuration, so a list is read once."""
    if not isinstance(pr.connector, E.FromList):
        return pr.weight
    w = None if weights is None else weights.get(pr.label)
    if w is None:
        w = pr.connector.read_once(("weights", pr.weight), lambda c: _row_weights(c, pr.weight))
        w = pr.weight if w is None else w
        if weights is not None:
            weights[pr.label] = w
    return w


def weights_by_label(exp: E.Experiment, weights: dict | None = None) -> dict:
    """Every projection's weight (``projection_weights``) by label; ``weights``: a dict kept
    over the chips of one configuration, filled on the first call (a system of many chips
    and projections looks each one up once, not once per chip)."""
    if weights is None:
        weights = {}
    if not weights.get(_ALL_WEIGHTS):
        for pr in exp.projections:
            weights[pr.label] = projection_weights(pr, weights)
        weights[_ALL_WEIGHTS] = True
    return weights


_ALL_WEIGHTS = ("every projection's weight is in the dict",)  # (a key no label can be)


def configure_chip(exp: E.Experiment, mapping: SystemMapping, chip: int, weights: dict | None = None,
                   read_only: bool = False) -> ChipConfig:
    """Hardware values for one chip of a mapped experiment: a complete ``ChipConfig``.
    ``weights``: every projection's weight by label (``weights_by_label``), filled on the
    first call (pass one dict for all chips of an experiment to read each projection once).
    ``read_only``: the synapse arrays read-only, addresses and row modes the mapping's own
    (what a ``Chip`` loads without copying them), and the neurons read-only, kept from run to
    run while they are the same (``_kept_neurons``)."""
    rt = mapping.chips[chip]
    layout = synapse_layout(mapping, chip)
    # weights are values, not topology: always this experiment's (from_list rows may carry one)
    by_label = weights_by_label(exp, weights)
    w = chip_weights(layout, [by_label[label] for label in layout.synapses])
    if read_only:
        syn = SynapseArrays(weights=w, addresses=layout.addresses, row_modes=layout.row_modes)
    else:
        syn = SynapseArrays(weights=w.copy(), addresses=layout.addresses.copy(), row_modes=layout.row_modes.copy())
    cfg = ChipConfig(synapses=syn)
    for pop in exp.populations:
        idx, circ = rt.populations[pop.name], rt.circuits[pop.name]
        if not len(idx):  # (a population on other chips)
            continue
        for name, val in pop.params.model_dump(exclude_none=True).items():
            cfg.neurons.column(name)[circ] = np.asarray(val)[idx] if isinstance(val, list) else val
    cfg.neurons.address_out[:] = rt.neuron_labels
    dr = cfg.drivers
    for d, mask in rt.driver_masks.items():
        dr.row_select_mask[:, d] = mask
    for d, key in rt.driver_stp.items():
        if key != "none":
            stp = E.ShortTermPlasticity.model_validate_json(key)
            dr.stp_enable[:, d] = 1
            dr.stp_mode[:, d] = STP_DEPRESSION if stp.mode == "depression" else STP_FACILITATION
            dr.stp_utilisation[:, d] = stp.utilisation
            dr.stp_recovery[:, d] = stp.recovery
            dr.stp_voltage_set[:, d] = stp.voltage_set
    xb = cfg.crossbar
    for o in range(C.HEMISPHERES * C.PADI_BUSES_PER_HEMISPHERE):  # PADI bus by the label's bus bits
        xb.enable[:, o] = 1
        xb.mask[:, o] = (3 << C.LABEL_BUS_SHIFT) | C.LABEL_NO_TARGET_BIT
        xb.target[:, o] = (o % C.PADI_BUSES_PER_HEMISPHERE) << C.LABEL_BUS_SHIFT
    for i in range(C.NEURON_EVENT_OUTPUTS):  # every neuron event output to the FPGA
        xb.enable[i, C.CROSSBAR_OUTPUT_FPGA + i // 2] = 1
    bg = cfg.background
    for src in exp.sources:
        if not isinstance(src, E.BackgroundSource) or src.name not in rt.background:
            continue
        g, base, mask = rt.background[src.name]
        bg.enable[g] = 1
        bg.mode[g] = BG_POISSON if src.mode == "poisson" else BG_REGULAR
        bg.period[g], bg.rate[g] = src.period, src.rate
        seed = src.seed if src.seed is not None else int(keyed_rng(exp.seed, "background", src.name).integers(1, 2**32))
        bg.seed[g] = seed if chip == 0 else int(keyed_rng(seed, "chip", chip).integers(1, 2**32))
        bg.label[g], bg.label_mask[g] = base, mask
        bg.start_ticks[g] = us_to_ticks(src.start_us)
        bg.stop_ticks[g] = us_to_ticks(src.stop_us) if src.stop_us is not None else np.iinfo(np.int64).max // 16
    rec = exp.recordings
    # each chip's MADC reads the recorded neurons placed on it: one, or two alternately
    here = [r for r in rec.madc_channels() if mapping.partition.chip[r.population][r.index] == chip]
    circuits = [int(mapping.partition.circuit[r.population][r.index]) for r in here]
    for r, circuit, (neuron, source) in zip(here, circuits, (("madc_neuron", "madc_source"),
                                                            ("madc_second_neuron", "madc_second_source"))):
        setattr(cfg.readout, neuron, circuit)
        setattr(cfg.readout, source, MADC_SOURCES.index(r.source))
        cfg.readout.madc_every_steps = r.every_steps
    if len(here) == 2:
        try:
            check_madc_pair(*circuits, "first", "second")
        except ConfigError as e:
            a, b = here
            raise RoutingError(f"recordings.madc: neuron {a.index} of {a.population!r} and neuron {b.index} of "
                               f"{b.population!r} are placed on chip {chip}, circuits {circuits[0]} and "
                               f"{circuits[1]}: {e}") from None
    if rec.cadc is not None:
        cfg.readout.cadc_period_ns = max(int(round(rec.cadc.period_us * 1e3)), exp.dt_ns)
    # the sensors cost about half a run: on only where recorded or read (``protocol.sensor_use``)
    cfg.readout.enable_correlation = rec.correlation or any(r.reads_correlation for r in exp.plasticity)
    cfg.readout.tau_corr_us = rec.tau_corr_us
    cfg.readout.corr_lsb = 1.0 / rec.corr_amplitude_codes
    if read_only:
        cfg.neurons = _kept_neurons(mapping, chip, cfg.neurons)
    cfg.check()
    return cfg


def _kept_neurons(mapping: SystemMapping, chip: int, neurons: NeuronConfig) -> NeuronConfig:
    """``neurons`` read-only: the arrays of the chip's last configuration where they are the
    same, else these (kept with ``mapping`` for the next run). A ``Chip`` that loads frozen
    neurons derives its physics, coefficients and delivery classes from them once for every
    run (``chip.Chip._rebuild_neurons``), as it builds its synapse table once from the
    weights ``chip_weights`` keeps."""
    kept = mapping.derived.get(("neurons", chip))
    if kept is not None and np.array_equal(kept.values, neurons.values) and \
            np.array_equal(kept.address_out, neurons.address_out):
        return replace(kept)  # (a container of its own: a caller may set its arrays)
    values, labels = (a if a.base is None else a.copy() for a in (neurons.values, neurons.address_out))
    freeze(values, labels)  # (owning their data: ``protocol.frozen``)
    mapping.derived[("neurons", chip)] = kept = replace(neurons, values=values, address_out=labels)
    return replace(kept)
