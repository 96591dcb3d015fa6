"""Results of a run → each population's spike trains and membrane traces (biological units).

Spikes come from the ``spikes`` table (hardware µs → ms), sources' spikes are the trains
that were played back. The membrane comes from the MADC (10-bit codes over 0…1200 mV) or
the CADC (8-bit codes); hardware mV become biological mV by the inverse voltage map
(hardware-unit types: hardware mV as they are). The CADC's rows name chip and circuit, so the
placement of each population is read from the (cached) mapping of the experiment.
"""

from __future__ import annotations

import numpy as np

from ..protocol.system import as_system
from ..routing.mapping import map_experiment
from ..units import TICKS_PER_US, hw_mv_to_bio_mv
from . import translation as T
from .populations import is_hardware

MADC_MV_PER_CODE = 1200.0 / 1023.0
CADC_MV_PER_CODE = 1200.0 / 255.0


def _to_bio(pop, v_hw_mv: np.ndarray) -> np.ndarray:
    return v_hw_mv if is_hardware(pop.celltype) else hw_mv_to_bio_mv(v_hw_mv)


def store_results(state, exp, res, info, tstop: float) -> None:
    """Give every population its ``_data``: ``spikes`` (list of ms arrays per neuron) and
    ``v`` as (sample times ms, values [samples, columns], population index → column)."""
    names = info["names"]
    for pop in state.populations:
        data = {}
        if id(pop) in info["trains"]:
            if info["trains"][id(pop)] is not None:
                data["spikes"] = info["trains"][id(pop)]
        else:
            data["spikes"] = [t / T.US_PER_MS for t in res.spike_times_us(names[id(pop)])]
        pop._data = data
    readout = info["readout"]
    if readout is None:
        return
    kind, pop, index, interval = readout
    if kind == "madc":
        table = res.madc
        t_ms = table["time_ticks"].to_numpy() / TICKS_PER_US / T.US_PER_MS
        v = table["value"].to_numpy().astype(float) * MADC_MV_PER_CODE
        pop._data["v"] = (t_ms, _to_bio(pop, v)[:, None], {index: 0})
        return
    cfg = state.config
    mapping = map_experiment(exp, as_system(cfg.system, cfg.chips), partitioner=cfg.partitioner)
    table = res.cadc
    chip = table["chip"].to_numpy().astype(np.int64)
    neuron = table["neuron"].to_numpy().astype(np.int64)
    ticks = table["time_ticks"].to_numpy()
    value = table["value"].to_numpy().astype(float) * CADC_MV_PER_CODE
    t_all = np.unique(ticks)
    row = np.searchsorted(t_all, ticks)
    key = chip * 512 + neuron
    for pop in state.populations:
        if "spikes" not in pop._data or id(pop) in info["trains"]:
            continue
        name = names[id(pop)]
        want = mapping.partition.chip[name].astype(np.int64) * 512 + mapping.partition.circuit[name].astype(np.int64)
        grid = np.full((len(t_all), pop.size), np.nan)
        col = np.full(int(key.max(initial=0)) + 1 if len(key) else 1, -1, np.int64)
        ok = want < len(col)
        col[want[ok]] = np.arange(pop.size)[ok]
        sel = col[key] >= 0 if len(key) else np.zeros(0, bool)
        grid[row[sel], col[key[sel]]] = value[sel]
        pop._data["v"] = (t_all / TICKS_PER_US / T.US_PER_MS, _to_bio(pop, grid), {i: i for i in range(pop.size)})
