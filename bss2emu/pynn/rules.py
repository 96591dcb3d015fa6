"""The network's plasticity rules as the experiment's PPU kernels, and their observables back.

``experiment_rules`` turns every ``PlasticityRule`` that a projection (as synapse type) or a
population (through its cell type) carries into an ``Experiment.plasticity`` entry whose
kernel is a ``plasticity.RuleKernel``: the experiment splits a PyNN projection into one
``from_list`` projection per (pre, post, delay) group, so the kernel merges the group views
back into one per PyNN projection, with its connection indices. ``store_observables`` reads
the ``ppu_observables`` table of the results into each rule (per sample: the chips' parts
joined).
"""

from __future__ import annotations

import functools

import numpy as np

from ..protocol import experiment as E
from ..units import TICKS_PER_US
from .connections import group_members
from .plasticity import (
    ObservableArray, ObservablePerSynapse, ObservableSample, RuleKernel, SampleTime, kernel_function, run_cpp,
    rule_of,
)
from .standardmodels import is_source


def network_rules(state) -> list[tuple]:
    """``(rule, projections, populations)`` of every rule the network uses, in the order
    the rules were made."""
    found: dict[int, tuple] = {}
    for prj in state.projections:
        rule = rule_of(prj.synapse_type)
        if rule is not None:
            found.setdefault(id(rule), (rule, [], []))[1].append(prj)
    for pop in state.populations:
        rule = None if is_source(pop) else rule_of(pop.celltype)
        if rule is not None:
            found.setdefault(id(rule), (rule, [], []))[2].append(pop)
    order = {id(r): i for i, r in enumerate(state.plasticity_rules)}
    return sorted(found.values(), key=lambda entry: order.get(id(entry[0]), len(order)))


def rule_identity(rule) -> str:
    """What a rule is across the snippets of a segment (``epochs.topology``): its class,
    ``same_id``, timer and kernel (the C++ source, or the Python class's parameters). As in
    pynn.brainscales2, where rules of equal ``same_id`` and equal kernel code share their
    state across realtime snippets: a segment runs one kernel per rule from its start, so a
    rule replaced between snippets by one of the same identity goes on with the first one's
    state, and one of another identity is a change of the network's structure."""
    if rule is None:
        return "-"
    t = rule.timer
    code = (rule.generate_kernel() if kernel_function(rule) is run_cpp
            else repr(sorted((k, repr(v)) for k, v in rule.rule_parameters.items())))
    return f"{type(rule).__module__}.{type(rule).__qualname__}:{rule.same_id}:{t.start}:{t.period}:{t.num_periods}:{code}"


def group_connections(prj, g: dict) -> np.ndarray:
    """For each connection of group ``g`` (``connections.connection_groups``, in its order)
    the index of the PyNN projection's connection it realises (the first of duplicates)."""
    pos, key = group_members(prj, g)
    _, first = np.unique(key, return_index=True)
    return pos[first]


def experiment_rules(state, projections: list[E.Projection], groups: list[dict], pop_names: dict) -> list:
    """The experiment's ``plasticity`` entries for the network's rules (``projections``:
    the experiment's, one per group of ``groups``; ``pop_names``: population id → name)."""
    out = []
    for k, (rule, prjs, pops) in enumerate(network_rules(state)):
        function = kernel_function(rule)
        parts = [[(pr.name, group_connections(prj, g)) for pr, g in zip(projections, groups)
                  if g["projection"] is prj] for prj in prjs]
        names = [pop_names[id(p)] for p in pops]
        kernel = RuleKernel(rule, function, parts, names, ([len(p) for p in prjs], [p.size for p in pops]),
                            state.us_per_ms)
        timer = rule.timer
        rule._network = (prjs, pops)
        out.append(E.PlasticityRule(
            name=f"{type(rule).__name__[:40]}#{k}", kernel=kernel, period_us=timer.period * state.us_per_ms,
            start_us=timer.start * state.us_per_ms, num_periods=timer.num_periods,
            projections=[name for part in parts for name, _ in part], populations=names))
    return out


def store_observables(state, exp: E.Experiment, res) -> None:
    """Give each rule of ``exp`` its recorded observables (``rule._recording``)."""
    rules = {r.name: r.kernel for r in exp.plasticity}
    originals = {r.name: rule for r, (rule, _, _) in zip(exp.plasticity, network_rules(state))}
    table = res.tables.get("ppu_observables")
    rows = table.to_pydict() if table is not None else {"kernel": [], "key": [], "time_ticks": [], "values": []}
    for name, rule in originals.items():
        observables = rules[name].rule.observables
        samples: dict[str, dict[int, list]] = {key: {} for key in observables}
        for kern, key, t, values in zip(rows["kernel"], rows["key"], rows["time_ticks"], rows["values"]):
            if kern == name and key in samples:
                samples[key].setdefault(t, []).append(np.asarray(values, float))
        rule._recording = {}
        for key, by_time in samples.items():
            obs = observables[key]
            if not isinstance(obs, ObservableArray):
                join = _overlay
            elif rules[name].function is run_cpp:  # the kernel's bytes, in its declared type
                join = functools.partial(_typed, np.dtype(obs.type.value))
            else:  # a Python kernel's values as it recorded them
                join = np.concatenate
            rule._recording[key] = [ObservableSample(SampleTime(t / TICKS_PER_US / state.us_per_ms, state.us_per_ms),
                                                     join(parts))
                                    for t, parts in sorted(by_time.items())]


def _typed(dtype: np.dtype, parts: list[np.ndarray]) -> np.ndarray:
    """A C++ kernel's ``ObservableArray`` in its declared type, as pynn.brainscales2 hands
    out the kernel's bytes (ts_07 ``struct.pack``s them into a float)."""
    return np.concatenate(parts).astype(np.int64).astype(dtype)


def _overlay(parts: list[np.ndarray]) -> np.ndarray:
    """Full-length arrays of several chips (NaN where another chip holds the value) as one."""
    out = parts[0].copy()
    for p in parts[1:]:
        out = np.where(np.isnan(out), p, out)
    return out


def observable_part(owner, observable: str, per_synapse: bool) -> list[ObservableSample]:
    """The samples of a per-synapse (projection ``owner``) or per-neuron (population
    ``owner``) observable, cut to ``owner``."""
    rule = rule_of(owner.synapse_type if per_synapse else owner.celltype)
    what = "projection" if per_synapse else "population"
    if rule is None:
        raise RuntimeError(f"{what} {owner.label!r} holds no plasticity rule, so it has no observables")
    obs = rule.observables.get(observable)
    if obs is None or isinstance(obs, ObservableArray) or isinstance(obs, ObservablePerSynapse) != per_synapse:
        raise RuntimeError(f"plasticity rule {type(rule).__name__} has no per-{'synapse' if per_synapse else 'neuron'}"
                           f" observable {observable!r}; its observables are {sorted(rule.observables)}")
    samples = rule._samples(observable)
    members = rule._network[0 if per_synapse else 1]
    sizes = [len(m) if per_synapse else m.size for m in members]
    i = next(k for k, m in enumerate(members) if m is owner)
    a = sum(sizes[:i])
    return [ObservableSample(s.time, s.data[a:a + sizes[i]]) for s in samples]
