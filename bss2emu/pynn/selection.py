"""Which neurons a PyNN object stands for: (population, indices) pairs."""

from __future__ import annotations

import numpy as np
from pyNN import common


def targets_of(cells) -> list[tuple[common.Population, np.ndarray]]:
    """(population, indices) pairs of a Population, view, Assembly or list of IDs."""
    if isinstance(cells, common.Assembly):
        return [t for p in cells.populations for t in targets_of(p)]
    if isinstance(cells, common.PopulationView):
        return [(cells.grandparent, np.asarray(cells.index_in_grandparent(np.arange(cells.size)), np.int64))]
    if isinstance(cells, common.Population):
        return [(cells, np.arange(cells.size))]
    out: dict[int, tuple] = {}
    for cell in cells:
        pop = cell.parent
        out.setdefault(id(pop), (pop, []))[1].append(int(pop.id_to_index(cell)))
    return [(p, np.asarray(ix, np.int64)) for p, ix in out.values()]
