"""Weak-scaling study: the reference network of DESIGN.md §6 on 1, 2, 4, 8, … chips.

``reference_network(chips, neurons_per_chip)`` builds the network; ``scaling_study(...)``
runs it on every chip count and placement and writes ``scaling.csv``, ``scaling.parquet``
and ``scaling.png`` (wall time per biological second against chips, one line per placement).

The network
-----------
N = ``chips × neurons_per_chip`` AdEx neurons (exponential term and weak adaptation on,
τ_m 10.2 µs, τ_syn 5 µs, τ_ref 2 µs; the parameters of ``benchmarks/single_chip.py``),
80 % excitatory ('exc', declared first), 20 % inhibitory ('inh'), current-based synapses,
an ideal chip (no fixed-pattern mismatch), dt = 0.1 µs hardware (0.1 ms biological).
Every neuron receives ``IN_DEGREE`` = 100 recurrent inputs and ``K_EXT`` = 8 Poisson inputs
of 60 kHz hardware (60 Hz biological).

Why the connectivity is clustered
---------------------------------
A neuron's column has 256 synapse rows and each presynaptic unit needs a synapse driver (128
per hemisphere, two rows each) on every chip it reaches, so a hemisphere can take input from
at most about 256 distinct presynaptic neurons. The DESIGN.md network — in-degree 100 drawn
from all N neurons — therefore does not fit for N beyond a few hundred. Here the neurons form
clusters of ``CLUSTER`` = 200 (160 exc + 40 inh, by index inside each population) on a ring:

* a neuron takes ``K_LOCAL`` = 90 inputs (72 exc + 18 inh, no self-connections) from its own
  cluster — connection probability 0.45 inside the cluster;
* and ``K_FAR`` = 10 inputs (8 exc + 2 inh) from the *border* of its two ring neighbours:
  each cluster exposes ``BORDER`` = 25 % of its neurons (40 exc + 10 inh per side), so a
  cluster receives from at most 200 + 2 × 50 distinct recurrent neurons;
* the Poisson drive is per cluster: 64 units per cluster, each neuron draws 8 distinct ones.

With ``partitioner="metis-spread"`` METIS cuts the ring into one arc per chip: the local
inputs stay on chip and the border inputs of the clusters at an arc's ends cross chips — the
inter-chip traffic of the study. With one cluster only (N ≤ 200) all 100 inputs are local.
Connections are drawn with numpy from ``seed`` and passed as ``from_list`` connectors, so a
seed gives the same network on every chip count's members and every placement.

What is measured (one row per chip count × placement)
-----------------------------------------------------
* ``wall_s``: the whole run (mapping cached by a first untimed mapping, actors started, windows,
  results); ``wall_per_bio_s`` = ``wall_s`` / (runtime in biological seconds);
* ``loop_s``: the window loop alone; ``windows`` and ``window_us`` (the conservative window);
* ``integration_s``: the hosts' stepping time of a ``local`` run of the same network (chips
  stepped one after another in this process: the emulator proper). For a Ray placement the
  chips of different hosts integrate in parallel, so its estimate is
  ``integration_s / min(hosts, CPUs)``;
* ``overhead_ms_per_window`` = (``loop_s`` − integration estimate) / ``windows``: what the
  placement adds per window (Ray round trips, serialisation, interconnect routing,
  bookkeeping); ``exchange_ms_per_window``: the interconnect-routing part of it;
* ``inter_chip_events`` (sent onto the network), ``link_util_max``: events per µs on the
  busiest link over the link's capacity (``SystemSpec.link.events_per_us``), ``dropped_events``.

>>> exp = reference_network(chips=2, neurons_per_chip=100, runtime_us=10.0)
>>> [(p["name"], p["size"]) for p in exp["populations"]]
[('exc', 160), ('inh', 40)]
>>> len(exp["projections"]), exp["sources"][0]["size"]
(6, 64)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.experiment import Experiment
from ..protocol.system import system_with_chips
from .backends import PLACEMENTS, Backend
from .coordinator import Coordinator

CLUSTER = 200  # neurons per cluster (80 % exc)
IN_DEGREE = 100
K_LOCAL_EXC, K_LOCAL_INH = 72, 18  # inputs from the own cluster
K_FAR_EXC, K_FAR_INH = 8, 2  # inputs from the borders of the two neighbouring clusters
BORDER = 0.25  # share of a cluster's neurons that project to each neighbour
K_EXT, DRIVE_UNITS = 8, 64  # Poisson inputs per neuron, Poisson units per cluster
RATE_EXT_KHZ = 60.0  # per Poisson unit, kHz hardware (≙ Hz biological)
W_EXC, W_INH, W_EXT = 10, 45, 56  # 6-bit hardware weights

NEURON_PARAMS = {  # as benchmarks/single_chip.py: τ_m 10.2 µs, τ_syn 5 µs, τ_ref 2 µs
    "v_leak": 500, "v_reset": 450, "v_threshold": 600,
    "enable_exponential": 1, "v_exp": 585, "i_bias_exp": 40,
    "enable_adaptation": 1, "i_bias_adapt_a": 20, "i_bias_adapt_b": 10, "i_bias_adapt_tau": 20,
    "i_bias_leak": 50, "capacitance": 63,
    "i_bias_syn_exc_tau": 60, "i_bias_syn_inh_tau": 60,
    "refractory_count": 125, "refractory_clock": 2,
}

DEFAULT_PLACEMENTS = ("local", "per-chip", "packed")
COLUMNS = ("chips", "placement", "neurons", "chips_used", "hosts", "windows", "window_us", "wall_s",
           "wall_per_bio_s", "loop_s", "integration_s", "overhead_ms_per_window", "exchange_ms_per_window",
           "spikes", "rate_hz_bio", "inter_chip_events", "link_util_max", "dropped_events")


# --- the network -------------------------------------------------------------------------

def _clusters(n_exc: int, n_inh: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per cluster (exc indices, inh indices): consecutive index ranges of each population."""
    n_clusters = max(1, round((n_exc + n_inh) / CLUSTER))
    return list(zip(np.array_split(np.arange(n_exc), n_clusters), np.array_split(np.arange(n_inh), n_clusters)))


def reference_network(chips: int, neurons_per_chip: int = 400, runtime_us: float = 100.0,
                      seed: int = 1) -> dict:
    """The clustered reference network (module docstring) of ``chips × neurons_per_chip``
    neurons, as an experiment dict."""
    if not 1 <= neurons_per_chip <= C.NEURONS_PER_CHIP:
        raise ConfigError(f"neurons_per_chip={neurons_per_chip}: a chip has {C.NEURONS_PER_CHIP} neuron "
                          f"circuits; use 1..{C.NEURONS_PER_CHIP} (400 leaves room for the partitioner)")
    if chips < 1:
        raise ConfigError(f"chips={chips}: use at least 1")
    n = chips * neurons_per_chip
    if n < 10:
        raise ConfigError(f"{chips} chip(s) × {neurons_per_chip} neurons = {n}: the network needs at least 10")
    n_exc = int(round(0.8 * n))
    n_inh = n - n_exc
    rng = np.random.default_rng(seed)
    clusters = _clusters(n_exc, n_inh)
    k = len(clusters)
    # borders: the neurons of cluster c that project to its neighbours (the same set both ways)
    borders = [(rng.choice(e, max(1, int(BORDER * len(e))), replace=False),
                rng.choice(i, max(1, int(BORDER * len(i))), replace=False)) for e, i in clusters]
    conns = {("exc", "exc"): [], ("exc", "inh"): [], ("inh", "exc"): [], ("inh", "inh"): []}
    drive = {"exc": [], "inh": []}
    for c, (exc, inh) in enumerate(clusters):
        if k == 1:
            far_e, far_i = exc, inh
        else:
            nb = sorted({(c - 1) % k, (c + 1) % k})
            far_e = np.concatenate([borders[j][0] for j in nb])
            far_i = np.concatenate([borders[j][1] for j in nb])
        units = DRIVE_UNITS * c + np.arange(DRIVE_UNITS)
        for post_pop, posts in (("exc", exc), ("inh", inh)):
            for post in posts.tolist():
                for pre_pop, local, k_local, far, k_far in (("exc", exc, K_LOCAL_EXC, far_e, K_FAR_EXC),
                                                            ("inh", inh, K_LOCAL_INH, far_i, K_FAR_INH)):
                    if k == 1:  # one cluster: all inputs from it
                        local, k_local, k_far = far, k_local + k_far, 0
                    if pre_pop == post_pop:
                        local = local[local != post]
                    pre = rng.choice(local, min(k_local, len(local)), replace=False)
                    if k_far:
                        pre = np.concatenate([pre, rng.choice(far, min(k_far, len(far)), replace=False)])
                    conns[(pre_pop, post_pop)].extend([[p, post] for p in pre.tolist()])
                drive[post_pop].extend([[u, post] for u in rng.choice(units, K_EXT, replace=False).tolist()])
    projections = []
    for (pre_pop, post_pop), lst in conns.items():
        exc = pre_pop == "exc"
        projections.append({"name": f"{pre_pop}→{post_pop}", "pre": pre_pop, "post": post_pop,
                            "weight": W_EXC if exc else W_INH, "receptor": "excitatory" if exc else "inhibitory",
                            "connector": {"kind": "from_list", "connections": lst}})
    for post_pop, lst in drive.items():
        projections.append({"name": f"drive→{post_pop}", "pre": "drive", "post": post_pop, "weight": W_EXT,
                            "connector": {"kind": "from_list", "connections": lst}})
    return {
        "name": f"reference {chips}x{neurons_per_chip}", "seed": seed, "runtime_us": runtime_us, "dt_ns": 100,
        "chip": {"ideal": True},
        "populations": [{"name": "exc", "size": n_exc, "params": dict(NEURON_PARAMS)},
                        {"name": "inh", "size": n_inh, "params": dict(NEURON_PARAMS)}],
        "sources": [{"kind": "poisson", "name": "drive", "size": DRIVE_UNITS * k, "rate_khz": RATE_EXT_KHZ}],
        "projections": projections,
    }
