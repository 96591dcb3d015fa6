"""Connector expansion: a projection's connector → explicit (pre, post, weight) arrays.

Random connectors draw from ``SeedSequence([experiment seed, crc32(projection label)])`` so
the connections depend only on the experiment, never on where or how it is run.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol import experiment as E
from .errors import routing_error


def keyed_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator keyed to global ids (experiment seed + names/indices), never to processes."""
    ints = [k if isinstance(k, int) else zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *ints]))


def unit_count(exp: E.Experiment, name: str) -> int:
    """Number of neurons of a population or source."""
    for item in (*exp.populations, *exp.sources):
        if item.name == name:
            return item.size
    raise ConfigError(f"unknown population or source {name!r}")


def expand(exp: E.Experiment, proj: E.Projection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All connections of ``proj`` as ``(pre, post, weight)`` int arrays."""
    n_pre, n_post = unit_count(exp, proj.pre), unit_count(exp, proj.post)
    con = proj.connector
    rng = keyed_rng(exp.seed, "projection", proj.label)
    same = proj.pre == proj.post
    weight = None
    if isinstance(con, E.OneToOne):
        if n_pre != n_post:
            raise ConfigError(f"projection {proj.label!r}: one_to_one needs equal sizes, got "
                              f"{n_pre} pre and {n_post} post; use another connector or match the sizes")
        pre = post = np.arange(n_pre)
    elif isinstance(con, E.AllToAll):
        fan_in = n_pre - (1 if same and not con.allow_self_connections else 0)
        if fan_in > C.ROWS_PER_HEMISPHERE:  # before the n_pre × n_post arrays (2 TiB for the largest sizes)
            raise routing_error(
                f"population {proj.post!r} neuron 0 receives input from {fan_in} presynaptic neurons (all_to_all "
                f"projection {proj.label!r}); a neuron's column has {C.ROWS_PER_HEMISPHERE} synapse rows, one per "
                f"presynaptic neuron: reduce its fan-in to at most {C.ROWS_PER_HEMISPHERE} (e.g. fixed_number_pre "
                f"n<={C.ROWS_PER_HEMISPHERE})",
                "fan_in", population=proj.post, neuron=0, fan_in=fan_in, limit=C.ROWS_PER_HEMISPHERE)
        pre, post = (a.ravel() for a in np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij"))
        if same and not con.allow_self_connections:
            keep = pre != post
            pre, post = pre[keep], post[keep]
    elif isinstance(con, E.FixedProbability):
        mask = rng.random((n_pre, n_post)) < con.p
        if same and not con.allow_self_connections:
            np.fill_diagonal(mask, False)
        pre, post = np.nonzero(mask)
    elif isinstance(con, E.FixedNumberPre):
        avail = n_pre - (1 if same and not con.allow_self_connections else 0)
        if con.n > avail:
            raise ConfigError(f"projection {proj.label!r}: fixed_number_pre n={con.n} exceeds the "
                              f"{avail} available pre neurons; use n <= {avail}")
        pres, posts = [], []
        for j in range(n_post):
            cand = np.arange(n_pre)
            if same and not con.allow_self_connections:
                cand = cand[cand != j]
            pres.append(np.sort(rng.choice(cand, size=con.n, replace=False)))
            posts.append(np.full(con.n, j))
        pre = np.concatenate(pres) if pres else np.zeros(0, int)
        post = np.concatenate(posts) if posts else np.zeros(0, int)
        order = np.lexsort((post, pre))
        pre, post = pre[order], post[order]
    else:  # FromList
        rows = con.connections
        pre = np.array([r[0] for r in rows], dtype=np.int64)
        post = np.array([r[1] for r in rows], dtype=np.int64)
        if any(len(r) == 3 for r in rows):
            weight = np.array([r[2] if len(r) == 3 else proj.weight for r in rows], dtype=np.int64)
        for arr, n, what in ((pre, n_pre, "pre"), (post, n_post, "post")):
            bad = (arr < 0) | (arr >= n)
            if bad.any():
                raise ConfigError(f"projection {proj.label!r}: from_list {what} index {arr[bad][0]} is out "
                                  f"of range 0..{n - 1}; fix the connection list")
        if weight is not None and ((weight < 0) | (weight > 63)).any():
            raise ConfigError(f"projection {proj.label!r}: from_list weight "
                              f"{weight[(weight < 0) | (weight > 63)][0]} is out of range 0..63; use a 6-bit weight")
    pre = np.asarray(pre, dtype=np.int64)
    post = np.asarray(post, dtype=np.int64)
    if weight is None:
        weight = np.full(len(pre), proj.weight, dtype=np.int64)
    return pre, post, weight
