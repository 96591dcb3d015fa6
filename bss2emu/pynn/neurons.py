"""Neuron populations → hardware values: calibration per chip, and the writes of a segment.

``translate_network`` calibrates every chip for the neurons placed on it (per epoch);
``neuron_values`` turns a population's translations and injected currents into the
experiment's population (first values) and timed writes (every later change).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import QuantisationWarning, user_stacklevel
from ..protocol import experiment as E
from . import translation as T
from .connections import max_weights
from .epochs import intervals
from .exceptions import InvalidParameterValueError
from .morphology_sites import is_mc
from .standardmodels import HXNeuron, is_hardware, is_source, model_name


def neuron_params(pop, params, schedule, groups) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """What calibrating ``pop`` needs: its parameters (for biological types with the largest
    current each neuron will get from ``schedule``, ``max_current``), per receptor the
    largest weight onto each neuron, and per neuron the constant current folded into the
    leak potential (``fold_negative_current``)."""
    out = {key: np.broadcast_to(np.asarray(v, float), (pop.size,)) for key, v in params.items()}
    if is_hardware(pop.celltype):
        return out, {}, np.zeros(pop.size)
    if schedule:
        out["max_current"] = out["i_offset"] + np.max([c for _, c in schedule], axis=0)
    out, folded = T.fold_negative_current(out, schedule, pop.size)
    return out, max_weights(pop, groups), folded


def translate_network(state, mapping, names, snaps, epochs_groups) -> dict[int, list]:
    """Per neuron population, per epoch (``snaps``: the epochs' snapshots): its
    ``NeuronTranslation`` — calibration of every chip for the neurons placed on it
    (``translation.calibrate_chip``). A neuron keeps one capacitance setting for the whole
    segment (the smallest any epoch needs)."""
    pops = state.populations
    epochs_params = [snap["params"] for snap in snaps]
    neurons = [(k, pop, name) for k, (pop, name) in enumerate(zip(pops, names))
               if not is_source(pop) and not isinstance(pop.celltype, HXNeuron)]
    wanted = [{id(pop): neuron_params(pop, snap["params"][k], snap["currents"][k], groups) for k, pop, _ in neurons}
              for snap, groups in zip(snaps, epochs_groups)]
    capacitance, bio_maps = {}, {}
    for _, pop, _ in neurons:
        if not is_hardware(pop.celltype):
            try:
                sets = [T.with_max_weights(*w[id(pop)][:2]) for w in wanted]
                bio_maps[id(pop)] = bio_map = T.population_map(
                    sets, lambda bio_map: [T.bio_capacitance(p, bio_map) for p in sets])
                capacitance[id(pop)] = np.min([T.bio_capacitance(p, bio_map) for p in sets], axis=0)
            except T.TranslationError as err:
                raise InvalidParameterValueError(
                    f"{model_name(pop.celltype)} population {pop.label!r}: {err}") from None
    out: dict[int, list] = {id(p): [] for p in pops if not is_source(p)}
    for e, params_of in enumerate(epochs_params):
        for k, pop in enumerate(pops):
            if isinstance(pop.celltype, HXNeuron):
                dac = pop.celltype.internal_values(params_of[k], mapping.partition.circuit[names[k]],
                                                   pop)
                if getattr(pop.celltype, "icc_targets", None):  # multi-compartment: conductance targets
                    chip = int(mapping.partition.chip[names[k]][0])  # a logical neuron lives on one chip
                    dac = pop.celltype.calibrated_conductances(
                        dac, mapping.partition.circuit[names[k]], mapping.system.serial_of(chip, state.config.serial),
                        state.config.ideal, state.us_per_ms)
                size = len(mapping.partition.circuit[names[k]])  # circuits (a multi-compartment neuron has several)
                out[id(pop)].append(T.NeuronTranslation(dac, {r: np.ones(size) for r in T.MAX_WEIGHT}))
        per_chip: dict[int, list] = {}
        for k, pop, name in neurons:
            params, maxw, _ = wanted[e][id(pop)]
            chip, circ = mapping.partition.chip[name], mapping.partition.circuit[name]
            cap = capacitance.get(id(pop))
            for c in np.unique(chip):
                ix = np.flatnonzero(chip == c)
                values = {key: v[ix] for key, v in params.items()}
                if is_hardware(pop.celltype):  # calibration targets as they are
                    values = pop.celltype.calibration_targets(values)
                placed = T.Placed(ix, circ[ix], values,
                                  hardware=is_hardware(pop.celltype), max_weight={r: w[ix] for r, w in maxw.items()},
                                  label=f"{model_name(pop.celltype)} population {pop.label!r}",
                                  capacitance=None if cap is None else cap[ix],
                                  conductance=bool(getattr(pop.celltype, "conductance_based", False)),
                                  bio_map=bio_maps.get(id(pop), T.BIO_MAP))
                per_chip.setdefault(int(c), []).append((pop, placed))
        parts: dict[int, tuple[list, list]] = {}
        for c, entries in sorted(per_chip.items()):
            try:
                result = T.calibrate_chip([pl for _, pl in entries],
                                          mapping.system.serial_of(c, state.config.serial), state.config.ideal)
            except T.TranslationError as err:
                raise InvalidParameterValueError(str(err)) from None
            for pop, pl in entries:
                tr = T.neuron_translation(result, pl, pop.size, bool(getattr(pop.celltype, "conductance_based", False)),
                                          cm=pl.params.get("cm"))
                parts.setdefault(id(pop), ([], []))[0].append(tr)
                parts[id(pop)][1].append(pl.index)
        for key, (trs, index) in parts.items():
            out[key].append(T.merge(trs, index))
        for _, pop, _ in neurons:
            if not is_hardware(pop.celltype):
                _unfold(out[id(pop)][-1], wanted[e][id(pop)][0], wanted[e][id(pop)][2])
    return out


def _unfold(tr: T.NeuronTranslation, params: dict[str, np.ndarray], folded: np.ndarray) -> None:
    """Record the current folded into the leak potential, and report ``v_rest`` and
    ``i_offset`` as the user gave them (the realised leak less the fold, the realised
    current plus it)."""
    tr.folded_current_na = folded
    if folded.any():
        if "v_rest" in tr.achieved:
            tr.achieved["v_rest"] = tr.achieved["v_rest"] - folded * params["tau_m"] / params["cm"]
        if "i_offset" in tr.achieved:
            tr.achieved["i_offset"] = tr.achieved["i_offset"] + folded



def _group_values(indices: np.ndarray, values: np.ndarray):
    """(value, indices) for each distinct value."""
    for v in np.unique(values):
        yield int(v), indices[values == v]


def _neuron_times(epochs, schedule, end_ms) -> list[float]:
    """When a population's hardware values may change: epoch starts and current steps."""
    return sorted({t for _, t, _, _ in intervals(epochs, end_ms)} | {t for t, _ in schedule if t < end_ms})


def neuron_values(pop, k, name, per_epoch, epochs, schedule, end_ms, us_per_ms: float = T.US_PER_MS,
                  circuits: list[int] | None = None):
    """The population (first values) and its writes at every later change (times in ms of
    the view, ``us_per_ms`` hardware µs each)."""
    writes, population, prev = [], None, None
    for t in _neuron_times(epochs, schedule, end_ms):
        e = max(i for i, (t0, _) in enumerate(epochs) if t0 <= t + 1e-12)
        tr = per_epoch[e]
        dac = dict(tr.dac)
        if schedule:
            inj = [c for ts, c in schedule if ts <= t + 1e-12][-1]
            current = epochs[e][1]["params"][k]["i_offset"] + inj
            folded = 0.0 if tr.folded_current_na is None else tr.folded_current_na
            if (current - folded < -1e-12).any():
                i = int(np.flatnonzero(current - folded < -1e-12)[0])
                raise InvalidParameterValueError(
                    f"population {pop.label!r}: the current into neuron {i} at {t:g} ms, {current[i]:g} nA (i_offset "
                    f"plus current sources), is negative and the neuron has subthreshold adaptation "
                    f"a={float(np.broadcast_to(epochs[e][1]['params'][k].get('a', 0.0), (pop.size,))[i]):g} nS: the "
                    f"chip's constant-current source only adds charge, and a lower leak potential (how bss2emu "
                    f"realises a negative current exactly) would change the adaptation's a*(v - v_rest); use "
                    f"a=0, a current >= 0, or lower v_rest by I*tau_m/cm yourself")
            dac["i_const"] = tr.i_const(current)
            over = dac["i_const"] > T.DAC
            if over.any():
                i = int(np.flatnonzero(over)[0])
                top = (T.DAC * tr.current_gain[i] + tr.current_offset[i]) * tr.cm[i] / tr.bio_map.v_scale
                raise InvalidParameterValueError(
                    f"population {pop.label!r}: the current into neuron {i} at {t:g} ms, {current[i]:g} nA (i_offset "
                    f"plus current sources), exceeds the hardware's constant-current range of {top:.3g} nA for its "
                    f"cm={tr.cm[i]:g} nF: use a smaller current or a larger cm")
        if prev is None:
            params = {key: (int(v[0]) if np.all(v == v[0]) else v.tolist()) for key, v in dac.items()}
            population = E.Population(name=name, size=pop.size if circuits is None else len(circuits), params=params,
                                      chip=pop.chip if not is_mc(pop) else pop.chip or 0,
                                      circuits=circuits)
        else:
            for key, v in dac.items():
                changed = np.nonzero(v != prev[key])[0]
                for value, idx in _group_values(changed, v[changed]):
                    writes.append(E.NeuronWrite(time_us=t * us_per_ms, population=name, parameter=key,
                                                value=value, indices=idx.tolist()))
        prev = dac
    return population, writes



TAU_M_TOLERANCE = 0.02
"""Realised ``tau_m`` further than this (relative) from the asked-for value warns."""


def warn_tau_m(state, translations, params_of_epoch) -> None:
    """Warn (``QuantisationWarning``) per population whose realised ``tau_m`` deviates more
    than ``TAU_M_TOLERANCE``: the leak conductance's DAC step (2.15 nS at full bias) is
    coarse at small capacitance settings, where a few DAC values span the whole range."""
    for k, pop in enumerate(state.populations):
        trs = translations.get(id(pop), [])
        for tr, params in zip(trs, params_of_epoch):
            if "tau_m" not in tr.achieved or "tau_m" not in params[k]:
                continue
            want = np.broadcast_to(np.asarray(params[k]["tau_m"], float), (pop.size,))
            dev = np.abs(tr.achieved["tau_m"] / want - 1.0)
            i = int(np.argmax(dev))
            if dev[i] > TAU_M_TOLERANCE:
                warnings.warn(
                    f"population {pop.label!r}: tau_m={want[i]:g} ms is realised as {tr.achieved['tau_m'][i]:.4g} ms "
                    f"(neuron {i}, {100 * dev[i]:.1f} % off; {int(np.sum(dev > TAU_M_TOLERANCE))} of {pop.size} "
                    f"neurons beyond {100 * TAU_M_TOLERANCE:g} %): the leak's DAC step is coarse at this neuron's "
                    f"capacitance setting {int(tr.dac['capacitance'][i])} of 63, chosen for the weight and current "
                    f"headroom; a larger cm or smaller weights/currents allow a finer tau_m; "
                    f"pop.realised_parameters() shows every neuron's", QuantisationWarning,
                    stacklevel=user_stacklevel())
                break

