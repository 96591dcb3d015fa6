"""Place and route an experiment onto one chip.

* **place**: populations onto consecutive neuron circuits (0-255 top, 256-511 bottom);
* **route**: every presynaptic unit (a neuron of a population or source) that has targets
  gets one synapse driver index ``d`` (the same in both hemispheres) and a 6-bit address on
  it; its 16-bit label is ``make_label(d % 4, d // 4, address)``. Each connection takes a
  synapse in one of the driver's two rows whose mode matches the receptor, in the post
  neuron's column. Drivers are filled first-fit; units that share a driver must share its
  short-term-plasticity setting;
* **configure**: hardware values (neuron parameters, weights, STP, crossbar, background
  generators, readout) into a ``ChipConfig``.

Routing depends on topology only; ``route`` results are cached on it, so a new stimulus,
new weights or new neuron parameters never re-route ("compile once, run many").
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..errors import RoutingError
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol.hardware import (
    BG_POISSON, BG_REGULAR, ROW_DISABLED, ROW_EXCITATORY, ROW_INHIBITORY, STP_DEPRESSION,
    STP_FACILITATION, ChipConfig,
)
from ..units import DEFAULT_DT_NS, us_to_ticks
from .connectivity import expand, keyed_rng

NO_LABEL = -1


@dataclass
class Connections:
    """One projection's connections and where each one sits on the chip."""

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    hemisphere: np.ndarray
    row: np.ndarray
    column: np.ndarray
    receptor: int  # ROW_EXCITATORY or ROW_INHIBITORY


@dataclass
class RoutedChip:
    """The topology of one experiment on one chip (no parameter values, no stimulus)."""

    placement: dict[str, np.ndarray]  # population -> neuron circuits
    labels: dict[str, np.ndarray]  # population or source -> label per unit (NO_LABEL: none)
    connections: dict[str, Connections]  # projection label -> connections
    row_modes: np.ndarray  # [hemisphere, row]
    addresses: np.ndarray  # [hemisphere, row, column]
    driver_stp: dict[int, E.ShortTermPlasticity | None]  # driver index -> STP of its units
    background: dict[str, tuple[int, int, int]]  # source -> (generator, base label, mask)
    stats: dict[str, int] = field(default_factory=dict)


def _stp_key(stp: E.ShortTermPlasticity | None) -> str:
    return "none" if stp is None else stp.model_dump_json()


def topology_key(exp: E.Experiment) -> str:
    """What routing depends on: sizes, connectivity, receptors, STP groups, seed."""
    return json.dumps({
        "seed": exp.seed,
        "pops": [(p.name, p.size) for p in exp.populations],
        "srcs": [(s.name, s.size, s.kind) for s in exp.sources],
        "proj": [(p.label, p.pre, p.post, p.receptor, p.connector.model_dump(), _stp_key(p.stp))
                 for p in exp.projections],
    }, sort_keys=True)


class _Drivers:
    """Occupancy bookkeeping for first-fit driver/row/address allocation."""

    def __init__(self) -> None:
        self.occupied = np.zeros((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), bool)
        self.row_modes = np.zeros((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE), np.int64)
        self.addresses = np.zeros((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), np.int64)
        self.n_addr = np.zeros(C.DRIVERS_PER_HEMISPHERE, np.int64)
        self.stp: dict[int, str] = {}

    def try_place(self, d: int, address: int, targets: list[tuple[int, np.ndarray, np.ndarray]]):
        """Place a unit's targets ``(receptor, hemisphere[], column[])`` on driver ``d``.

        Returns per target the rows used, or None (nothing changed) if they do not fit."""
        undo, result = [], []
        for receptor, hs, cols in targets:
            rows = np.full(len(cols), -1, np.int64)
            for r in (2 * d, 2 * d + 1):
                todo = np.nonzero(rows < 0)[0]
                if len(todo) == 0:
                    break
                for h in (0, 1):
                    sel = todo[hs[todo] == h]
                    if len(sel) == 0 or self.row_modes[h, r] not in (ROW_DISABLED, receptor):
                        continue
                    c = cols[sel]
                    _, first = np.unique(c, return_index=True)  # a multapse needs the other row
                    sel, c = sel[first], c[first]
                    free = ~self.occupied[h, r, c]
                    sel, c = sel[free], c[free]
                    if len(sel):
                        undo.append((h, r, c, self.row_modes[h, r]))
                        self.occupied[h, r, c] = True
                        self.addresses[h, r, c] = address
                        self.row_modes[h, r] = receptor
                        rows[sel] = r
            if (rows < 0).any():
                for h, r, c, mode in reversed(undo):
                    self.occupied[h, r, c] = False
                    self.row_modes[h, r] = mode
                return None
            result.append(rows)
        return result


class _Router:
    def __init__(self, exp: E.Experiment) -> None:
        self.exp = exp
        self.placement = self._place()
        self.d = _Drivers()
        self.conns = {pr.label: expand(exp, pr) for pr in exp.projections}

    def _place(self) -> dict[str, np.ndarray]:
        need = sum(p.size for p in self.exp.populations)
        if need > C.NEURONS_PER_CHIP:
            sizes = ", ".join(f"{p.name!r}={p.size}" for p in self.exp.populations)
            raise RoutingError(
                f"populations need {need} neuron circuits ({sizes}); a chip has {C.NEURONS_PER_CHIP}: "
                f"reduce the population sizes or spread them over more chips")
        out, start = {}, 0
        for p in self.exp.populations:
            out[p.name] = np.arange(start, start + p.size)
            start += p.size
        return out

    def _check_fan_in(self) -> None:
        """Every post neuron column has 256 rows: more distinct sources cannot fit."""
        sources_per_circuit: dict[int, set] = {}
        for pr in self.exp.projections:
            pre, post, _ = self.conns[pr.label]
            circ = self.placement[pr.post][post]
            for c, s in zip(circ.tolist(), pre.tolist()):
                sources_per_circuit.setdefault(c, set()).add((pr.pre, s))
        for circ, srcs in sources_per_circuit.items():
            if len(srcs) > C.ROWS_PER_HEMISPHERE:
                pop = next(n for n, cs in self.placement.items() if circ in cs)
                idx = int(np.nonzero(self.placement[pop] == circ)[0][0])
                raise RoutingError(
                    f"population {pop!r} neuron {idx} receives input from {len(srcs)} presynaptic "
                    f"neurons; a neuron's column has {C.ROWS_PER_HEMISPHERE} synapse rows: reduce its "
                    f"fan-in (e.g. fixed_number_pre n<=256) or spread the sources over more chips")

    def _units(self):
        """Presynaptic units with targets, in a fixed order, grouped as they must be placed."""
        targets: dict[tuple[str, int], list] = {}
        stp_of: dict[str, tuple[str, E.ShortTermPlasticity | None]] = {}
        for pr in self.exp.projections:
            key = _stp_key(pr.stp)
            prev = stp_of.setdefault(pr.pre, (pr.label, pr.stp))
            if _stp_key(prev[1]) != key:
                raise RoutingError(
                    f"projections {prev[0]!r} and {pr.label!r} leave {pr.pre!r} with different short-term "
                    f"plasticity settings; all synapses of one source share its synapse driver's STP: "
                    f"give both projections the same stp, or split {pr.pre!r} into two sources")
            pre, post, _ = self.conns[pr.label]
            circ = self.placement[pr.post][post]
            rec = ROW_EXCITATORY if pr.receptor == "excitatory" else ROW_INHIBITORY
            for u in np.unique(pre):
                sel = np.nonzero(pre == u)[0]
                targets.setdefault((pr.pre, int(u)), []).append((pr.label, rec, sel, circ[sel]))
        return targets, stp_of

    def route(self) -> RoutedChip:
        exp = self.exp
        self._check_fan_in()
        targets, stp_of = self._units()
        labels = {p.name: np.full(p.size, NO_LABEL, np.int64) for p in (*exp.populations, *exp.sources)}
        rows_of = {pr.label: np.full(len(self.conns[pr.label][0]), -1, np.int64) for pr in exp.projections}
        background = {}
        bg_sources = [s for s in exp.sources if isinstance(s, E.BackgroundSource)]
        if len(bg_sources) > C.BACKGROUND_GENERATORS:
            raise RoutingError(
                f"{len(bg_sources)} background sources ({', '.join(s.name for s in bg_sources)}); a chip has "
                f"{C.BACKGROUND_GENERATORS} background generators: merge sources (size up to 64) or use "
                f"external Poisson sources (kind: poisson)")
        # background sources first: they need an aligned block of addresses on one driver
        for g, src in enumerate(bg_sources):
            units = [(src.name, i) for i in range(src.size)]
            labs = self._place_block(units, targets, stp_of.get(src.name, (None, None))[1], rows_of,
                                     block=src.size)
            if labs is None:
                background[src.name] = (g, C.LABEL_NO_TARGET_BIT, 0)
                continue
            labels[src.name][:] = labs
            background[src.name] = (g, int(labs[0]), int(labs[-1] ^ labs[0]))
        for item in (*exp.populations, *exp.sources):
            if isinstance(item, E.BackgroundSource):
                continue
            for i in range(item.size):
                if (item.name, i) not in targets:
                    continue
                labels[item.name][i] = self._place_block([(item.name, i)], targets, stp_of[item.name][1],
                                                         rows_of, block=1)[0]
        connections = {}
        for pr in exp.projections:
            pre, post, w = self.conns[pr.label]
            circ = self.placement[pr.post][post]
            connections[pr.label] = Connections(
                pre, post, w, circ // C.COLUMNS_PER_HEMISPHERE, rows_of[pr.label],
                circ % C.COLUMNS_PER_HEMISPHERE,
                ROW_EXCITATORY if pr.receptor == "excitatory" else ROW_INHIBITORY)
        driver_stp = {d: (None if k == "none" else E.ShortTermPlasticity.model_validate_json(k))
                      for d, k in self.d.stp.items()}
        stats = {"drivers_used": len(self.d.stp), "rows_used": int((self.d.row_modes != 0).sum()),
                 "synapses_used": int(self.d.occupied.sum()),
                 "neurons_used": int(sum(p.size for p in exp.populations))}
        return RoutedChip(self.placement, labels, connections, self.d.row_modes, self.d.addresses,
                          driver_stp, background, stats)

    def _place_block(self, units, targets, stp, rows_of, block: int) -> np.ndarray | None:
        """First-fit a block of ``block`` units (a power of two) onto drivers; returns the
        units' labels, or None if none of them has targets.

        A block of 2**k units spreads over 2**k2 drivers (consecutive row selects on one PADI
        bus) with 2**(k-k2) addresses each, so that a label randomisation mask over the low
        address and row-select bits reaches exactly these units; fewer drivers are tried first."""
        unit_targets = [targets.get(u, []) for u in units]
        if not any(unit_targets):
            return None
        key = _stp_key(stp)
        k = block.bit_length() - 1
        for k2 in range(0, min(k, C.LABEL_ROW_SELECT_BITS) + 1):
            n_drv, n_addr = 1 << k2, 1 << (k - k2)
            if n_addr > C.ADDRESS_MAX + 1:
                continue
            for j0 in range(0, C.DRIVERS_PER_PADI_BUS, n_drv):
                for bus in range(C.PADI_BUSES_PER_HEMISPHERE):
                    drivers = [C.driver_of(bus, j0 + i) for i in range(n_drv)]
                    if any(self.d.stp.get(d, key) != key for d in drivers):
                        continue
                    addr0 = max(-(-int(self.d.n_addr[d]) // n_addr) * n_addr for d in drivers)
                    if addr0 + n_addr > C.ADDRESS_MAX + 1:
                        continue
                    if self._try_block(drivers, addr0, n_addr, unit_targets, rows_of):
                        for d in drivers:
                            self.d.n_addr[d] = addr0 + n_addr
                            self.d.stp[d] = key
                        u = np.arange(block)
                        return C.make_label(bus, j0, addr0) + ((u // n_addr) << C.LABEL_ROW_SELECT_SHIFT) + u % n_addr
        name = units[0][0]
        posts = sorted({pl for tl in unit_targets for pl, *_ in tl})
        raise RoutingError(
            f"source {name!r} unit {units[0][1]} finds no free synapse driver for projection(s) {posts}: "
            f"all {C.DRIVERS_PER_HEMISPHERE} drivers (2 rows, 64 addresses each) are full or conflict in "
            f"the target columns; reduce the number of presynaptic neurons or the fan-in, or spread the "
            f"post population over more chips")

    def _try_block(self, drivers, addr0, n_addr, unit_targets, rows_of) -> bool:
        placed = []
        for u, tl in enumerate(unit_targets):
            spec = [(rec, circ // C.COLUMNS_PER_HEMISPHERE, circ % C.COLUMNS_PER_HEMISPHERE)
                    for _, rec, _, circ in tl]
            rows = self.d.try_place(drivers[u // n_addr], addr0 + u % n_addr, spec) if spec else []
            if rows is None:
                for tl2, rows2 in placed:  # roll back the units placed so far
                    for (_, _, _, circ), r in zip(tl2, rows2):
                        h, c = circ // C.COLUMNS_PER_HEMISPHERE, circ % C.COLUMNS_PER_HEMISPHERE
                        self.d.occupied[h, r, c] = False
                        self.d.addresses[h, r, c] = 0
                self._recompute_modes()
                return False
            placed.append((tl, rows))
        for tl, rows in placed:
            for (label, _, sel, _), r in zip(tl, rows):
                rows_of[label][sel] = r
        return True

    def _recompute_modes(self) -> None:
        used = self.d.occupied.any(axis=2)
        self.d.row_modes[~used] = ROW_DISABLED


_CACHE: OrderedDict[str, RoutedChip] = OrderedDict()
_CACHE_SIZE = 16


def route(exp: E.Experiment) -> RoutedChip:
    """Place and route ``exp`` on one chip, reusing a cached result for the same topology."""
    key = topology_key(exp)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    routed = _Router(exp).route()
    _CACHE[key] = routed
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return routed


def route_cache_info() -> dict[str, int]:
    """How many routed topologies are cached (for tests and diagnostics)."""
    return {"entries": len(_CACHE)}


def configure(exp: E.Experiment, routed: RoutedChip) -> ChipConfig:
    """Hardware values for a routed experiment: a complete ``ChipConfig``."""
    cfg = ChipConfig()
    for pop in exp.populations:
        circ = routed.placement[pop.name]
        for name, val in pop.params.model_dump(exclude_none=True).items():
            cfg.neurons.column(name)[circ] = val
        lab = routed.labels[pop.name]
        cfg.neurons.address_out[circ] = np.where(lab >= 0, lab, C.LABEL_NO_TARGET_BIT | (circ & 0x1FFF))
    syn = cfg.synapses
    syn.row_modes[:] = routed.row_modes
    syn.addresses[:] = routed.addresses
    for pr in exp.projections:
        con = routed.connections[pr.label]
        # the cached topology keeps per-connection weights only where they are topology
        # (from_list rows with a weight, part of the cache key); otherwise this experiment's weight
        listed = isinstance(pr.connector, E.FromList) and any(len(r) == 3 for r in pr.connector.connections)
        syn.weights[con.hemisphere, con.row, con.column] = con.weight if listed else pr.weight
    dr = cfg.drivers
    for d, stp in routed.driver_stp.items():
        if stp is not None:
            dr.stp_enable[:, d] = 1
            dr.stp_mode[:, d] = STP_DEPRESSION if stp.mode == "depression" else STP_FACILITATION
            dr.stp_utilisation[:, d] = stp.utilisation
            dr.stp_recovery[:, d] = stp.recovery
            dr.stp_voltage_set[:, d] = stp.voltage_set
    xb = cfg.crossbar
    bus_bits = (3 << C.LABEL_BUS_SHIFT) | C.LABEL_NO_TARGET_BIT
    for o in range(C.HEMISPHERES * C.PADI_BUSES_PER_HEMISPHERE):
        xb.enable[:, o] = 1
        xb.mask[:, o] = bus_bits
        xb.target[:, o] = (o % C.PADI_BUSES_PER_HEMISPHERE) << C.LABEL_BUS_SHIFT
    for i in range(C.NEURON_EVENT_OUTPUTS):  # every neuron event output to the FPGA (recording)
        xb.enable[i, C.CROSSBAR_OUTPUT_FPGA + i // 2] = 1
    bg = cfg.background
    for src in exp.sources:
        if not isinstance(src, E.BackgroundSource):
            continue
        g, base, mask = routed.background[src.name]
        bg.enable[g] = 1
        bg.mode[g] = BG_POISSON if src.mode == "poisson" else BG_REGULAR
        bg.period[g], bg.rate[g] = src.period, src.rate
        bg.seed[g] = src.seed if src.seed is not None else int(
            keyed_rng(exp.seed, "background", src.name).integers(1, 2**32))
        bg.label[g], bg.label_mask[g] = base, mask
        bg.start_ticks[g] = us_to_ticks(src.start_us)
        bg.stop_ticks[g] = us_to_ticks(src.stop_us) if src.stop_us is not None else np.iinfo(np.int64).max // 16
    rec = exp.recordings
    if rec.madc is not None:
        cfg.readout.madc_neuron = int(routed.placement[rec.madc.population][rec.madc.index])
        cfg.readout.madc_every_steps = rec.madc.every_steps
    if rec.cadc is not None:
        cfg.readout.cadc_period_ns = max(int(round(rec.cadc.period_us * 1e3)), exp.dt_ns or DEFAULT_DT_NS)
    cfg.readout.enable_correlation = rec.correlation or bool(exp.plasticity)
    cfg.readout.tau_corr_us = rec.tau_corr_us
    cfg.check()
    return cfg
