"""Results of a run → each population's spike trains and analog traces (biological units).

Spikes come from the ``spikes`` table (hardware µs → ms), sources' spikes are the trains
that were played back. The membrane comes from the MADC (10-bit codes over 0…1200 mV) or
the CADC (8-bit codes); hardware mV become biological mV by the inverse voltage map
(hardware-unit types: hardware mV as they are). A synaptic input or the adaptation current
comes from the MADC in the chip's units and becomes biological through the neuron's
capacitance (``to_bio``). The CADC's rows name chip and circuit, so the
placement of each population is read from the (cached) mapping of the experiment.
"""

from __future__ import annotations

import numpy as np

from ..chip_actor.analog import capacitance_pf
from ..routing.mapping import map_experiment
from ..units import TICKS_PER_US, ticks_to_us
from .standardmodels import is_hardware

CADC_MV_PER_CODE = 1200.0 / 255.0


def _membrane(pop, v_hw_mv: np.ndarray, device: str, info) -> np.ndarray:
    """The membrane as the population's cell type reports it: ``membrane_from_mv(mv, device)``
    where the type has it (pynn.brainscales2's: ADC codes), else biological mV through the
    population's voltage map (its offset may be shifted, ``translate.fit_bio_map``) or,
    for hardware types, hardware mV."""
    convert = getattr(pop.celltype, "membrane_from_mv", None)
    if convert is not None:
        return convert(v_hw_mv, device)
    if is_hardware(pop.celltype):
        return v_hw_mv
    return info["translations"][id(pop)][0].bio_map.v_bio(v_hw_mv)


def store_results(state, exp, res, info, tstop: float) -> None:
    """Give every population its ``_data``: ``spikes`` (list of ms arrays per neuron), each
    recorded analog variable as (sample times ms, values [samples, columns], population
    index → column), and ``units`` of the variables whose unit is the chip's."""
    names = info["names"]
    for pop in state.populations:
        data = {}
        if id(pop) in info["trains"]:
            if info["trains"][id(pop)] is not None:
                data["spikes"] = info["trains"][id(pop)]
        else:
            data["spikes"] = [t / state.us_per_ms for t in res.spike_times_us(names[id(pop)])]
        pop._data = data
    madc_grid = _madc_grid(res)
    for kind, pop, index, variable, channel in info["readout"]:
        if kind == "madc":
            trace = res.madc_values(channel)
            t_ms = trace.time_us / state.us_per_ms
            if variable == "v":
                values = _membrane(pop, trace.values, "madc", info)
            elif trace.codes is not None and getattr(pop.celltype, "reads_adc_codes", False):
                values = trace.codes.astype(float)  # pynn.brainscales2: the MADC's codes of every source
            else:
                values = to_bio(pop, variable, index, t_ms, trace.values, info)
                pop._data.setdefault("units", {})[variable] = _unit(pop, variable, trace.unit)
            if madc_grid is not None:  # two channels: each on the MADC's sample times, NaN where the other's
                t_ms, values = madc_grid / state.us_per_ms, _on_grid(madc_grid, trace.time_us, values)
            column = np.asarray(values, float)[:, None]
            if variable in pop._data:  # both channels read this population's variable
                _, before, cols = pop._data[variable]
                pop._data[variable] = (t_ms, np.hstack([before, column]), {**cols, index: len(cols)})
            else:
                pop._data[variable] = (t_ms, column, {index: 0})
        else:
            _store_cadc(state, exp, res, info)


def _madc_grid(res) -> np.ndarray | None:
    """The MADC's sample times (hardware µs) when it read two channels (alternately), else None."""
    if len(res.metadata.get("madc_channels", ())) < 2:
        return None
    return ticks_to_us(np.unique(res.madc["time_ticks"].to_numpy()))


def _on_grid(grid_us: np.ndarray, time_us: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(len(grid_us), np.nan)
    out[np.searchsorted(grid_us, time_us)] = values
    return out


def _unit(pop, variable: str, chip_unit: str) -> str:
    """The unit of a recorded synaptic input or adaptation: PyNN's for standard types, the
    chip's (nA or uS, by the circuit's input mode) for hardware types."""
    return chip_unit if is_hardware(pop.celltype) else pop.celltype.units[variable]


def to_bio(pop, variable: str, index: int, t_ms: np.ndarray, values: np.ndarray, info) -> np.ndarray:
    """A synaptic input (µS) or adaptation current (nA) of neuron ``index`` read by the MADC
    in hardware units → biological units, epoch by epoch: g = g_hw·cm/C_hw,
    w = w_hw·cm/(10·C_hw) with C_hw the nominal capacitance of the neuron's setting."""
    if is_hardware(pop.celltype):
        return values
    out = np.array(values, float)
    starts = info["epoch_starts"]
    epoch = np.searchsorted(np.asarray(starts), t_ms, side="right") - 1
    for e, tr in enumerate(info["translations"][id(pop)]):
        c_hw = capacitance_pf(tr.dac["capacitance"][index])
        scale = tr.cm[index] / c_hw / (tr.bio_map.v_scale if variable == "w" else 1.0)
        out[epoch == e] *= scale
    return out


def _store_cadc(state, exp, res, info) -> None:
    names = info["names"]
    cfg = state.config
    mapping = map_experiment(exp, state.system, partitioner=cfg.partitioner)
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
        size = len(want)  # circuits: a multi-compartment neuron's several
        grid = np.full((len(t_all), size), np.nan)
        col = np.full(int(key.max(initial=0)) + 1 if len(key) else 1, -1, np.int64)
        ok = want < len(col)
        col[want[ok]] = np.arange(size)[ok]
        sel = col[key] >= 0 if len(key) else np.zeros(0, bool)
        grid[row[sel], col[key[sel]]] = value[sel]
        pop._data["v"] = (t_all / TICKS_PER_US / state.us_per_ms, _membrane(pop, grid, "cadc", info), {i: i for i in range(size)})
