"""Where a mapped experiment's synapses sit on one chip: computed once per mapped chip.

A mapping (``mapping.SystemMapping``) is cached on topology and reused run after run ("compile
once, run many"); so is everything a chip's configuration takes from it alone: each
projection's synapses on the chip (hemisphere, row, column and which of its connections they
are), the synapse addresses with the unused synapses parked (``park_unused_synapses``), and
the flat positions weights are written to. ``synapse_layout`` computes them on a chip's first
configuration and keeps them with the mapping, as read-only arrays; later runs only write
their values (weights, parameters) in (``mapping.configure_chip``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..protocol import coordinates as C
from ..protocol.frozen import freeze

if TYPE_CHECKING:
    from .mapping import SystemMapping

SYNAPSES_PER_CHIP = C.HEMISPHERES * C.ROWS_PER_HEMISPHERE * C.COLUMNS_PER_HEMISPHERE


@dataclass(frozen=True)
class SynapseLayout:
    """One chip's synapses of a mapped experiment (every array read-only).

    ``synapses[label]``: (hemisphere, row, column) of projection ``label``'s synapses on the
    chip, in connection order; ``connections[label]``: which of the projection's connections
    they are; ``flat``: their positions in the flattened ``[hemisphere, row, column]`` array,
    projection after projection (the mapping's order), ``counts`` how many each projection has;
    ``addresses``: the chip's synapse addresses (routing's, unused synapses parked), and
    ``row_modes`` its rows' modes."""

    synapses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    connections: dict[str, np.ndarray]
    flat: np.ndarray
    counts: np.ndarray
    addresses: np.ndarray
    row_modes: np.ndarray
    # [the last ``chip_weights``: (the weights per synapse in ``flat``'s order, the array, the
    # weight of each projection where each has one, else None)]
    last_weights: list = field(default_factory=lambda: [None], repr=False, compare=False)


def park_unused_synapses(addresses: np.ndarray, used: np.ndarray) -> None:
    """Give the synapses no projection uses the one address no routed event carries, where
    there is one: the routing hands out addresses from 0 up, so ``ADDRESS_MAX`` is free unless
    a chip uses all 64. An unused synapse keeps weight 0 and leaves the network's dynamics
    alone either way; at address 0 it matched every address-0 event of its row, and the
    delivery and correlation sensors walked it (about half the synapses events reached in the
    reference network)."""
    if not used.any() or addresses[used].max() < C.ADDRESS_MAX:
        addresses[~used] = C.ADDRESS_MAX


def synapse_layout(mapping: SystemMapping, chip: int) -> SynapseLayout:
    """Chip ``chip``'s ``SynapseLayout``, computed on the first call and kept with ``mapping``."""
    got = mapping.derived.get(("synapses", chip))
    if got is not None:
        return got
    synapses, connections, flats = {}, {}, []
    for label, (c, h, r, col) in mapping.synapse.items():
        sel = np.flatnonzero(c == chip)  # (indices: one mask pass, not one per array)
        hs, rs, cs = h[sel], r[sel], col[sel]
        freeze(sel, hs, rs, cs)
        synapses[label], connections[label] = (hs, rs, cs), sel
        # (a row of -1 is row 255, as numpy's indexing read it)
        flats.append((hs * C.ROWS_PER_HEMISPHERE + rs % C.ROWS_PER_HEMISPHERE) * C.COLUMNS_PER_HEMISPHERE + cs)
    flat = np.concatenate(flats) if flats else np.zeros(0, np.int64)
    counts = np.array([len(f) for f in flats], np.int64)
    used = np.zeros(SYNAPSES_PER_CHIP, bool)
    used[flat] = True
    addresses = np.array(mapping.chips[chip].addresses, np.int64)  # (routing's own stays as it is)
    park_unused_synapses(addresses, used.reshape(addresses.shape))
    row_modes = np.array(mapping.chips[chip].row_modes, np.int64)
    freeze(flat, counts, addresses, row_modes)
    mapping.derived[("synapses", chip)] = out = SynapseLayout(synapses, connections, flat, counts, addresses,
                                                              row_modes)
    return out


def chip_weights(layout: SynapseLayout, weights: list) -> np.ndarray:
    """The chip's weight array ``[hemisphere, row, column]`` (0 where no synapse is used),
    read-only: ``weights`` has one entry per projection in the layout's order, an int (every
    connection) or an array with one weight per connection of the projection. The last array
    made for ``layout`` is kept and returned again while its weights are the same (it depends
    on nothing else)."""
    kept = layout.last_weights[0]  # (one read: another thread may replace it)
    # one weight per projection: those weights tell the values (no array to build and compare)
    per_projection = tuple(map(int, weights)) if all(isinstance(w, (int, np.integer)) for w in weights) else None
    if per_projection is not None and kept is not None and kept[2] == per_projection:
        return kept[1]
    if per_projection is not None:
        values = np.repeat(np.asarray(per_projection, np.int64), layout.counts)
    else:
        values = np.concatenate([
            np.full(n, w, np.int64) if isinstance(w, (int, np.integer)) else np.asarray(w, np.int64)[sel]
            for w, n, sel in zip(weights, layout.counts.tolist(), layout.connections.values())])
    if kept is not None and np.array_equal(kept[0], values):
        return kept[1]
    out = np.zeros((C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE), np.int64)
    out.reshape(-1)[layout.flat] = values  # (through a view: ``out`` stays the owner of its data)
    freeze(values, out)
    layout.last_weights[0] = (values, out, per_projection)
    return out
