"""Connections of the PyNN network as the backend sees them, and their hardware checks.

``connection_groups`` splits every projection by (pre population, post population, delay)
and merges duplicate connections; ``delay_us`` says how the chip realises a delay;
``check_projection`` and ``check_neurons`` raise PyNN's errors for delays, STP sharing and
weights the hardware cannot realise (at ``Projection`` creation and ``set``).
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from ..errors import QuantisationWarning, user_stacklevel
from ..protocol import coordinates as C
from . import translation as T
from .exceptions import ConnectionError, InvalidParameterValueError
from .morphology_sites import circuit_index, experiment_size, is_mc
from .standardmodels import SpikeSourcePoissonOnChip, is_hardware, is_source, model_name


# --- connections: grouped by (pre population, post population, delay) ----------------------
def connection_groups(projections) -> list[dict]:
    """Each projection's connections split by pre/post population and delay, duplicates
    (same pre, post) merged by adding their weights (cached per projection until its
    connections, weights or delays change; ``topology_experiment`` keeps a group's
    experiment projection in it under ``"experiment"``)."""
    groups = []
    for prj in projections:
        prj._consolidate()
        w, d = prj._values["weight"], prj._values["delay"]
        digest = hashlib.sha1(b"".join(np.ascontiguousarray(a).tobytes() for a in (prj._pre, prj._post, w, d))).digest()
        cached = prj.__dict__.get("_groups_cache")
        if cached is not None and cached[0] == digest:
            groups += cached[1]
            continue
        start = len(groups)
        pre_groups, post_groups = prj.endpoints()
        for pre_pop, pre_pos, pre_ix in pre_groups:
            for post_pop, post_pos, post_ix in post_groups:
                pos = np.intersect1d(pre_pos, post_pos)
                if not len(pos):
                    continue
                a = np.empty(len(prj), np.int64)
                b = np.empty(len(prj), np.int64)
                a[pre_pos], b[post_pos] = pre_ix, post_ix
                delays = np.round(d[pos], 6)
                n_post = experiment_size(post_pop)
                for delay in np.unique(delays):
                    sel = pos[delays == delay]
                    key = a[sel] * n_post + post_circuit(prj, post_pop, b, sel)
                    uniq, inv = np.unique(key, return_inverse=True)
                    groups.append({"projection": prj, "pre": pre_pop, "post": post_pop, "delay": float(delay),
                                   "pre_ix": uniq // n_post, "post_ix": uniq % n_post,
                                   "weight": np.bincount(inv, weights=np.abs(w[sel]), minlength=len(uniq))})
        prj._groups_cache = (digest, groups[start:])
    return groups


def post_circuit(prj, post_pop, post_ix: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The experiment index of the targets of ``prj``'s connections at ``positions``
    (``post_ix``: their neurons in ``post_pop``): the neuron, or for a multi-compartment
    neuron its compartment's first circuit (``morphology.circuit_index``)."""
    if not is_mc(post_pop):
        return post_ix[positions]
    return circuit_index(post_pop, post_ix[positions], prj._values["compartment"][positions].astype(np.int64))


def group_members(prj, g: dict) -> tuple[np.ndarray, np.ndarray]:
    """The connections of ``prj`` in group ``g`` (``connection_groups``): their indices in the
    projection and their keys ``pre · |post| + post`` (duplicates included, each its own entry)."""
    pre_groups, post_groups = prj.endpoints()
    for pre_pop, pre_pos, pre_ix in pre_groups:
        for post_pop, post_pos, post_ix in post_groups:
            if pre_pop is not g["pre"] or post_pop is not g["post"]:
                continue
            pos = np.intersect1d(pre_pos, post_pos)
            a = np.empty(len(prj), np.int64)
            b = np.empty(len(prj), np.int64)
            a[pre_pos], b[post_pos] = pre_ix, post_ix
            pos = pos[np.round(prj._values["delay"][pos], 6) == g["delay"]]
            return pos, a[pos] * experiment_size(post_pop) + post_circuit(prj, post_pop, b, pos)
    empty = np.zeros(0, np.int64)
    return empty, empty


def delay_us(state, pre, delay_ms: float, label: str, warn: bool = False) -> float | None:
    """The experiment's ``delay_us`` of a connection. From a source: any delay (the FPGA
    plays the spikes back later). Between neurons: from one network hop on, the FPGA
    realises the delay exactly; a shorter one is a direct connection (None: within the time
    step on one chip, the route latency between chips). A delay between the two is realised
    by whichever is closer; ``warn``: say so (``QuantisationWarning``)."""
    min_delay = state.dt if state.min_delay == "auto" else state.min_delay
    if delay_ms < min_delay - 1e-9 or delay_ms > state.max_delay + 1e-9:
        raise ConnectionError(f"projection {label!r}: delay {delay_ms:g} ms is out of range [{min_delay:g}, "
                              f"{state.max_delay:g}] ms (setup's min_delay and max_delay)")
    if isinstance(pre.celltype, SpikeSourcePoissonOnChip):
        if abs(delay_ms - min_delay) > 1e-9:
            raise ConnectionError(f"projection {label!r}: an on-chip Poisson source feeds its chip directly; its "
                                  f"events cannot be delayed: use delay={min_delay:g} (min_delay)")
        return None
    if is_source(pre):
        return delay_ms * state.us_per_ms  # played back later by the FPGA: any delay
    hop = state.hop_latency_us / state.us_per_ms
    if delay_ms >= hop - 1e-9:
        return delay_ms * state.us_per_ms
    direct = delay_ms - state.dt <= hop - delay_ms
    if warn and delay_ms > 1.5 * state.dt:
        realised = f"at most one time step ({state.dt:g} ms)" if direct else f"{hop:g} ms (one network hop)"
        warnings.warn(f"projection {label!r}: a delay of {delay_ms:g} ms between neurons is realised as {realised}: "
                      f"on one chip a connection is direct (within the time step) or goes through the FPGA, which "
                      f"takes at least one network hop ({hop:g} ms; between chips the route latency); use delay >= "
                      f"{hop:g} ms for an exact delay", QuantisationWarning, stacklevel=user_stacklevel())
    return None if direct else hop * state.us_per_ms


def check_projection(state, prj) -> None:
    """Delays, STP sharing and weights of a new or changed projection (PyNN errors)."""
    groups = connection_groups([prj])
    for g in groups:
        delay_us(state, g["pre"], g["delay"], prj.label, warn=True)
    stp = prj.stp()
    if stp is not None:
        try:
            T.stp_to_hw(*stp)
        except T.TranslationError as err:
            raise InvalidParameterValueError(f"TsodyksMarkramSynapse of projection {prj.label!r}: {err}") from None
    pres = {id(g["pre"]): g["pre"] for g in groups}
    for other in state.projections:
        if other is prj:
            continue
        shared = [pop for pop, _, _ in other.endpoints()[0] if id(pop) in pres]
        if shared and other.stp() != stp:
            raise ConnectionError(
                f"projections {other.label!r} and {prj.label!r} both leave population {shared[0].label!r} but ask "
                f"for different short-term plasticity ({T.stp_text(other.stp())} vs {T.stp_text(stp)}): STP is a "
                f"setting of the presynaptic neuron's synapse driver, shared by all its synapses; give both the "
                f"same synapse_type parameters or split {shared[0].label!r} into two populations")
    posts = {id(g["post"]): g["post"] for g in groups}
    onto = [p for p in state.projections if p is prj or any(id(pop) in posts for pop, _, _ in p.endpoints()[1])]
    for post in posts.values():
        check_neurons(post, connection_groups(onto), prj.label)


# --- weights onto neurons ---------------------------------------------------------------
def max_weights(pop, groups) -> dict[str, np.ndarray]:
    """Receptor → the largest |weight| onto each neuron of ``pop`` (neurons without input
    get the population's largest, so that their synaptic gain stays in range)."""
    out: dict[str, np.ndarray] = {}
    for g in groups:
        if g["post"] is pop and len(g["weight"]):
            w = out.setdefault(g["projection"].receptor_type, np.zeros(pop.size))
            np.maximum.at(w, g["post_ix"], np.abs(g["weight"]))
    for rec, w in list(out.items()):
        if w.max() <= 0:
            del out[rec]
        else:
            w[w <= 0] = w.max()
    return out


def check_neurons(pop, groups, label=None) -> None:
    """Raise PyNN's errors if ``pop``'s parameters or the weights onto it (``groups``) are
    out of the hardware's calibrated ranges (before placement: ranges only)."""
    if is_hardware(pop.celltype):  # 6-bit codes, rounded as pynn.brainscales2 rounds; > 63: several rows
        return
    try:
        T.check_bio(T.with_max_weights(pop._parameters, max_weights(pop, groups)))
    except T.TranslationError as err:
        what = f"projection {label!r} onto " if label and err.parameter == "weight" else ""
        raise InvalidParameterValueError(f"{what}{model_name(pop.celltype)} population {pop.label!r}: {err}") from None

