"""Writes at hardware coordinates with a time inside the run, as the experiment's timed writes.

A script written for the real stack changes the chip inside the run by coordinate — a synapse
row's weights or labels, a neuron circuit's parameters — at a time (pynn.brainscales2's
``InjectedConfiguration.inside_realtime``). Here they are kept in ``state.timed_writes``
(hardware µs from the segment's start, chip 0 as the single-chip stack has it) and, once the
network is mapped, become the ``WeightWrite``s, ``ConnectionWrite``s and ``NeuronWrite``s of
the projections and populations placed at those coordinates (``experiment_writes``) — the
core's one way to change values and topology inside a run. Nothing re-maps: the coordinates
are those of the mapping.

A synapse's label (6-bit address) decides which of the events reaching its row it takes:
its connection's source's label connects it, any label no source on the row has
disconnects it (``ConnectionWrite``); a label of another source on the row, in a column whose
neuron circuit holds a neuron of the network, would make a connection the network does not
have, which is refused (in other columns it reaches no neuron the network has).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol import experiment as E

CHIP = 0
"""The chip a coordinate names: the real stack's experiments run on one chip (DLS)."""


@dataclass(frozen=True)
class SynapseWeightsWrite:
    """At ``time_us`` the 6-bit ``weights`` of the synapses at ``columns`` of synapse row
    ``row`` of ``hemisphere`` (a ``lola.SynapseWeightRow``: all columns; a
    ``hal.SynapseWeightQuad``: its 4)."""

    time_us: float
    hemisphere: int
    row: int
    columns: tuple[int, ...]
    weights: tuple[int, ...]
    where: str = "timed write"


@dataclass(frozen=True)
class SynapseLabelsWrite:
    """At ``time_us`` the 6-bit ``labels`` of the synapses at ``columns`` of synapse row
    ``row`` of ``hemisphere`` (a ``lola.SynapseLabelRow`` or ``hal.SynapseLabelQuad``)."""

    time_us: float
    hemisphere: int
    row: int
    columns: tuple[int, ...]
    labels: tuple[int, ...]
    where: str = "timed write"


@dataclass(frozen=True)
class NeuronCircuitWrite:
    """At ``time_us`` the neuron parameters ``values`` (bss2emu's names, DAC values) of
    ``circuit`` (``lola.AtomicNeuron`` at ``halco.AtomicNeuronOnDLS``)."""

    time_us: float
    circuit: int
    values: tuple[tuple[str, int], ...]
    where: str = "timed write"


def experiment_writes(writes, exp: E.Experiment, mapping) -> list:
    """The experiment's ``WeightWrite``/``NeuronWrite``s that make ``writes`` (in order).
    A weight at a synapse no connection is placed on, or parameters of a circuit no neuron
    is placed on, is refused: the emulation holds only what the network uses."""
    out: list = []
    if not writes:
        return out
    synapses = _synapses_on_chip(exp, mapping)
    neurons = _neurons_on_chip(mapping)
    for w in writes:
        if isinstance(w, SynapseWeightsWrite):
            out += _weights(w, synapses)
        elif isinstance(w, SynapseLabelsWrite):
            out += _labels(w, synapses, neurons)
        elif isinstance(w, NeuronCircuitWrite):
            out += _neuron(w, neurons)
        else:
            raise ConfigError(f"unknown timed write {type(w).__name__}")
    return out


def _synapses_on_chip(exp: E.Experiment, mapping) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray,
                                                                  np.ndarray, np.ndarray]]:
    """Per experiment projection with synapses on the chip: (name, connection index,
    hemisphere, row, column, address) of those synapses."""
    out = []
    for pr in exp.projections:
        chip, hemi, row, col = (np.asarray(a) for a in mapping.synapse[pr.name])
        here = np.flatnonzero(chip == CHIP)
        if len(here):
            h, r, c = hemi[here], row[here], col[here]
            out.append((pr.name, here, h, r, c, np.asarray(mapping.chips[CHIP].addresses)[h, r, c]))
    return out


def _by_column(w, values, limit: int, what: str) -> np.ndarray:
    """A row's written values by column, -1 where the write leaves a column as it is."""
    columns, values = np.asarray(w.columns, np.int64), np.asarray(values, np.int64)
    if columns.shape != values.shape or not len(columns) or columns.min() < 0 or \
            columns.max() >= C.COLUMNS_PER_HEMISPHERE or values.min() < 0 or values.max() > limit:
        raise ConfigError(f"{w.where}: give {what} 0..{limit} for columns 0..{C.COLUMNS_PER_HEMISPHERE - 1}, one each")
    out = np.full(C.COLUMNS_PER_HEMISPHERE, -1, np.int64)
    out[columns] = values
    return out


def _weights(w: SynapseWeightsWrite, synapses) -> list[E.WeightWrite]:
    weights = _by_column(w, w.weights, C.WEIGHT_MAX, "weights")
    out, used = [], np.zeros(C.COLUMNS_PER_HEMISPHERE, bool)
    for name, index, hemi, row, col, _ in synapses:
        on = (hemi == w.hemisphere) & (row == w.row)
        on[on] = weights[col[on]] >= 0
        if on.any():
            used[col[on]] = True
            out.append(E.WeightWrite(time_us=w.time_us, projection=name, weights=weights[col[on]].tolist(),
                                     indices=index[on].tolist()))
    stray = np.flatnonzero(~used & (weights > 0))
    if len(stray):
        raise ConfigError(f"{w.where}: weight {int(weights[stray[0]])} at column {int(stray[0])} of synapse row "
                          f"{w.row} of hemisphere {w.hemisphere}, where no connection is placed: bss2emu emulates the "
                          f"synapses of the network's connections (Projection.placed_connections lists them); write "
                          f"0 there or connect the neurons with a Projection")
    return out


def _labels(w: SynapseLabelsWrite, synapses, neurons) -> list[E.ConnectionWrite]:
    labels = _by_column(w, w.labels, C.ADDRESS_MAX, "labels")
    placed = [(name, index[on], col[on], address[on]) for name, index, hemi, row, col, address in synapses
              for on in [(hemi == w.hemisphere) & (row == w.row)] if on.any()]
    own = np.full(C.COLUMNS_PER_HEMISPHERE, -1, np.int64)  # the address of each column's connection, -1: none
    for _, _, col, address in placed:
        own[col] = address
    live = np.unique(own[own >= 0])  # the labels of the sources whose events reach the row
    # a column's synapses drive the neuron circuit of that column: only the network's count
    network = np.isin(w.hemisphere * C.COLUMNS_PER_HEMISPHERE + np.arange(C.COLUMNS_PER_HEMISPHERE), list(neurons))
    new = np.flatnonzero((labels >= 0) & np.isin(labels, live) & (labels != own) & network)
    if len(new):
        c = int(new[0])
        raise ConfigError(f"{w.where}: label {int(labels[c])} at column {c} of synapse row {w.row} of hemisphere "
                          f"{w.hemisphere} is the label of another source on that row, which would connect it to "
                          f"the neuron of column {c}: a connection the network does not have; create it with a "
                          f"Projection (placed, so it can be switched) and enable it then (Projection.set_enabled "
                          f"between snippets, or its own label here)")
    out = []
    for name, index, col, address in placed:
        written = labels[col] >= 0
        for enabled in (True, False):
            chosen = written & ((labels[col] == address) == enabled)
            if chosen.any():
                out.append(E.ConnectionWrite(time_us=w.time_us, projection=name, enabled=enabled,
                                             indices=index[chosen].tolist()))
    return out


def _neurons_on_chip(mapping) -> dict[int, tuple[str, int]]:
    """Circuit → (population, neuron index) of the neurons placed on the chip."""
    rt = mapping.chips[CHIP] if CHIP < len(mapping.chips) else None
    if rt is None:
        return {}
    return {int(c): (name, int(i)) for name, circuits in rt.circuits.items()
            for c, i in zip(circuits.tolist(), rt.populations[name].tolist())}


def _neuron(w: NeuronCircuitWrite, neurons) -> list[E.NeuronWrite]:
    if w.circuit not in neurons:
        raise ConfigError(f"{w.where}: neuron circuit {w.circuit} holds no neuron of the network: bss2emu emulates the "
                          f"circuits of the network's populations; write to one of theirs (setup(neuronPermutation="
                          f"...) chooses them)")
    population, index = neurons[w.circuit]
    return [E.NeuronWrite(time_us=w.time_us, population=population, parameter=name, value=int(value),
                          indices=[index]) for name, value in w.values]
