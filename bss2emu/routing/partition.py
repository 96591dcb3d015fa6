"""Partition populations over the chips of a system.

Neurons are grouped into blocks (pieces of one population of at most ``BLOCK`` neurons);
METIS (pymetis) splits the block graph — vertex weight = neurons, edge weight = synapses
between the blocks — into one part per chip, minimising the synapses that cross chips.
A chip holds at most 512 neurons; METIS' balance is checked and repaired by moving blocks
off an over-full chip. ``naive_partition`` fills chips in declaration order, for
comparison: ``traffic`` counts the synapses (and, given rates, events) that cross chips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import routing_error
from ..protocol import coordinates as C
from ..protocol import experiment as E

BLOCK = 32
FILL = 0.9  # target fill of a chip's 512 circuits when partitioning


@dataclass
class Partition:
    """Where every neuron lives: ``chip[pop][i]`` and ``circuit[pop][i]``."""

    chip: dict[str, np.ndarray]
    circuit: dict[str, np.ndarray]
    n_chips: int
    method: str = "naive"

    def chip_load(self) -> np.ndarray:
        """Neurons per chip."""
        load = np.zeros(self.n_chips, np.int64)
        for c in self.chip.values():
            np.add.at(load, c, 1)
        return load


def _blocks(exp: E.Experiment, block: int) -> list[tuple[str, int, int]]:
    out = []
    for p in exp.populations:
        for s in range(0, p.size, block):
            out.append((p.name, s, min(s + block, p.size)))
    return out


def _check_capacity(exp: E.Experiment, n_chips: int) -> None:
    need = sum(p.size for p in exp.populations)
    if need > n_chips * C.NEURONS_PER_CHIP:
        sizes = ", ".join(f"{p.name!r}={p.size}" for p in exp.populations)
        raise routing_error(
            f"populations need {need} neuron circuits ({sizes}); {n_chips} chip(s) have "
            f"{n_chips * C.NEURONS_PER_CHIP} ({C.NEURONS_PER_CHIP} each): reduce the population sizes or "
            f"use more chips (chips={-(-need // C.NEURONS_PER_CHIP)})",
            "capacity", need=need, chips=n_chips, sizes={p.name: p.size for p in exp.populations})


def _assign_circuits(exp: E.Experiment, chip_of: dict[str, np.ndarray], n_chips: int) -> Partition:
    """Circuits of every neuron: a population's ``circuits`` where given (on its one chip),
    the others consecutive per chip in declaration order, skipping pinned circuits."""
    taken = np.zeros((n_chips, C.NEURONS_PER_CHIP), bool)
    circuit = {}
    for p in exp.populations:
        if p.circuits is None:
            continue
        chips = np.unique(chip_of[p.name])
        if len(chips) != 1:
            raise routing_error(f"population {p.name!r} pins its neurons to circuits but is spread over chips "
                                f"{chips.tolist()}: pin it to one chip too (chip=...)", "pinned_circuits",
                                population=p.name)
        circ = np.asarray(p.circuits, np.int64)
        clash = taken[chips[0], circ]
        if clash.any():
            raise routing_error(f"population {p.name!r} pins circuit {int(circ[clash][0])} of chip {int(chips[0])}, "
                                f"which another population pinned already: give each neuron its own circuit",
                                "pinned_circuits", population=p.name)
        taken[chips[0], circ] = True
        circuit[p.name] = circ
    free = [iter(np.flatnonzero(~taken[c])) for c in range(n_chips)]
    for p in exp.populations:
        if p.circuits is not None:
            continue
        c = chip_of[p.name]
        circ = np.empty(p.size, np.int64)
        for i in range(p.size):  # consecutive circuits per chip, in declaration order
            nxt = next(free[c[i]], None)
            if nxt is None:
                raise routing_error(f"population {p.name!r} finds no free circuit on chip {int(c[i])}: pinned "
                                    f"circuits and the other populations take all {C.NEURONS_PER_CHIP}",
                                    "pinned_circuits", population=p.name)
            circ[i] = nxt
        circuit[p.name] = circ
    return Partition(chip_of, circuit, n_chips)


def naive_partition(exp: E.Experiment, n_chips: int) -> Partition:
    """Fill chip 0, then chip 1, … in population declaration order."""
    _check_capacity(exp, n_chips)
    chip_of, k = {}, 0
    for p in exp.populations:
        chip_of[p.name] = (k + np.arange(p.size)) // C.NEURONS_PER_CHIP
        k += p.size
    return _assign_circuits(exp, chip_of, n_chips)


def pinned_partition(exp: E.Experiment, n_chips: int) -> Partition:
    """Populations with ``chip`` set go there; the others fill the remaining capacity in order."""
    _check_capacity(exp, n_chips)
    load = np.zeros(n_chips, np.int64)
    chip_of = {}
    for p in exp.populations:
        if p.chip is not None:
            if p.chip >= n_chips:
                raise routing_error(f"population {p.name!r} is pinned to chip {p.chip}, but the system has chips "
                                    f"0..{n_chips - 1}: pin it to an existing chip or use a larger system",
                                    "pinned_chip", population=p.name, chip=p.chip, chips=n_chips)
            chip_of[p.name] = np.full(p.size, p.chip, np.int64)
            load[p.chip] += p.size
    over = np.nonzero(load > C.NEURONS_PER_CHIP)[0]
    if len(over):
        names = [p.name for p in exp.populations if p.chip == over[0]]
        raise routing_error(f"populations {names} pinned to chip {over[0]} need {load[over[0]]} neuron circuits; "
                            f"a chip has {C.NEURONS_PER_CHIP}: pin some of them to another chip",
                            "pinned_load", populations=names, chip=int(over[0]), need=int(load[over[0]]))
    for p in exp.populations:
        if p.chip is None:
            c = np.empty(p.size, np.int64)
            for i in range(p.size):
                free = np.nonzero(load < C.NEURONS_PER_CHIP)[0]
                c[i] = free[0]
                load[free[0]] += 1
            chip_of[p.name] = c
    return _assign_circuits(exp, chip_of, n_chips)


def metis_partition(exp: E.Experiment, n_chips: int, conns: dict, block: int = BLOCK,
                    spread: bool = False) -> Partition:
    """Minimise synapses across chips with METIS, respecting 512 neurons per chip.

    By default as few chips as hold the network (90 % full) are used — spreading wider only
    adds inter-chip traffic; ``spread=True`` uses every chip (for scaling studies)."""
    _check_capacity(exp, n_chips)
    if any(p.chip is not None for p in exp.populations):
        out = pinned_partition(exp, n_chips)
        out.method = "pinned"
        return out
    total = sum(p.size for p in exp.populations)
    n_parts = n_chips if spread else min(n_chips, max(1, -(-total // int(FILL * C.NEURONS_PER_CHIP))))
    n_parts = min(n_parts, max(1, total // block))
    if n_parts == 1:
        return naive_partition(exp, n_chips)
    import pymetis

    blocks = _blocks(exp, block)
    index = {}
    for b, (name, s, e) in enumerate(blocks):
        index.setdefault(name, np.zeros(next(p.size for p in exp.populations if p.name == name), np.int64))
        index[name][s:e] = b
    n_b = len(blocks)
    w = {}
    for pr in exp.projections:
        if pr.pre not in index:
            continue  # external sources are played back on every chip: no inter-chip traffic
        pre, post, _ = conns[pr.label]
        bp, bq = index[pr.pre][pre], index[pr.post][post]
        keep = bp != bq
        pairs, counts = np.unique(np.stack([np.minimum(bp, bq), np.maximum(bp, bq)])[:, keep], axis=1,
                                  return_counts=True)
        for (a, b), n in zip(pairs.T.tolist(), counts.tolist()):
            w[(a, b)] = w.get((a, b), 0) + n
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_b)]
    for (a, b), n in w.items():
        adj[a].append((b, n))
        adj[b].append((a, n))
    xadj, adjncy, ew = [0], [], []
    for lst in adj:
        for v, n in sorted(lst):
            adjncy.append(v)
            ew.append(n)
        xadj.append(len(adjncy))
    vw = [e - s for _, s, e in blocks]
    slack = C.NEURONS_PER_CHIP * n_parts / total - 1.0  # METIS' allowed imbalance, in 1/1000
    opts = pymetis.Options(seed=1, ufactor=int(min(300, max(1, slack * 900))))
    _, part = pymetis.part_graph(n_parts, pymetis.CSRAdjacency(xadj, adjncy), vweights=vw,
                                 eweights=ew if ew else None, options=opts)
    part = np.asarray(part, np.int64)
    # repair: move the lightest-connected blocks off chips above 512 neurons
    load = np.bincount(part, weights=vw, minlength=n_chips).astype(np.int64)
    for b in np.argsort(vw)[::-1]:
        if load[part[b]] <= C.NEURONS_PER_CHIP:
            continue
        free = np.nonzero(load + vw[b] <= C.NEURONS_PER_CHIP)[0]
        if len(free):
            load[part[b]] -= vw[b]
            part[b] = free[np.argmin(load[free])]
            load[part[b]] += vw[b]
    if load.max() > C.NEURONS_PER_CHIP:  # blocks do not pack: fall back to the naive fill
        part = naive_partition(exp, n_chips)
        part.method = "naive (METIS could not balance the blocks into 512 circuits per chip)"
        return part
    chip_of = {p.name: part[index[p.name]] for p in exp.populations}
    out = _assign_circuits(exp, chip_of, n_chips)
    out.method = f"metis ({n_parts} parts)"
    return out


def traffic(exp: E.Experiment, part: Partition, conns: dict) -> dict[str, int]:
    """What crosses chips: synapses, and routes — distinct (pre neuron, destination chip)
    pairs, i.e. the inter-chip events one spike of every neuron causes."""
    cross = total = 0
    routes = set()
    for pr in exp.projections:
        pre, post, _ = conns[pr.label]
        total += len(pre)
        if pr.pre in part.chip:
            src, dst = part.chip[pr.pre][pre], part.chip[pr.post][post]
            far = src != dst
            cross += int(far.sum())
            routes.update(zip([pr.pre] * int(far.sum()), pre[far].tolist(), dst[far].tolist()))
    return {"synapses": total, "inter_chip_synapses": cross, "inter_chip_routes": len(routes)}
