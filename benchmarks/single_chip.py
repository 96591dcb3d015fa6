#!/usr/bin/env python3
"""Single-chip benchmark: the reference network of DESIGN.md §6 on one emulated chip.

Run from the repository root::

    python benchmarks/single_chip.py                       # 512 neurons, 1000 µs, best of 5
    python benchmarks/single_chip.py --neurons 256 --runtime-us 200 --repeat 3

The network
-----------
``--neurons`` N (default 512) AdEx neurons with the exponential term on (Δ_T = 2 mV, V_T
17.6 mV below the spike threshold) and weak adaptation (a = 2 nS, b = 0.1 nA, τ_w = 100 µs),
80 % excitatory (population 'exc', declared first) and 20 % inhibitory ('inh');
current-based synapses, τ_m = 10.2 µs, τ_syn = 5 µs, τ_ref = 2 µs; an ideal chip (no
fixed-pattern mismatch, like the homogeneous networks Brian2 and NEST run). Every neuron
receives exactly 100 recurrent inputs (80 from 'exc', 20 from 'inh'; fewer when N is so
small that the pools below hold fewer) and ``K_EXT`` = 8 Poisson inputs of 60 kHz hardware
(60 Hz bio). Runtime 1000 µs hardware = 1 s biological, dt = 0.1 µs hardware = 0.1 ms
biological. The experiment dict is validated once into an ``Experiment`` and run with
``bss2emu.run`` (the validation time is printed apart).

How it fits the hardware
------------------------
Every presynaptic unit (neuron or source) gets one synapse-driver address and, in each
target column, a synapse in one of its driver's 2 rows; a hemisphere has 256 rows, so a
column sees at most 256 presynaptic units, and units share a driver only where their
target columns do not collide. 512 neurons with in-degree 100 drawn from all 512 do not
fit (RoutingError). So the connectivity is structured by quadrant (128 circuits; circuits
are placed in population declaration order, 0-255 top hemisphere, 256-511 bottom):

* The neurons of quadrant q draw their 100 inputs (80 exc + 20 inh, without replacement,
  no self-connections) from a pool P_q of 200 presynaptic neurons (160 exc + 40 inh), i.e.
  at connection probability 0.5 inside the pool; the script generates the lists and passes
  them as ``from_list`` connectors.
* The two pools of one hemisphere are disjoint, so a neuron of P_0 (it targets columns
  0-127 only) and one of P_1 (columns 128-255) can share synapse rows. Each hemisphere's
  pools hold 400 neurons; the bottom hemisphere's take the neurons the top's left out
  first, so every neuron is in one or two pools and projects: out-degree 50-155, mean
  100, as in the reference network. Routed, the network uses 105 of the 128 drivers.
* Poisson drive: an external ``poisson`` source 'drive' of ``64 * K_EXT`` units played back
  by the FPGA. Block k of 64 units partitions the N neurons at random into 64 groups and
  unit i of the block targets group i, so every neuron gets one input from each block.

What is measured
----------------
Each variant is validated, run once cold (routing; the first run also compiles the numba
kernels), then ``--repeat`` times after ``gc.collect()``; the best run counts. Two wall
times per run: the whole ``bss2emu.run`` call (end to end: routing-cache lookup, chip
configuration, playback program, windows, Arrow results) and the time inside
``ChipHost.run_windows`` (the compiled loop over the chips and windows: the emulator proper).

* neuron-updates/s = N × steps / wall time;
* synaptic events/s = delivered synaptic events / wall time. The chip counts them
  (``Chip.synaptic_events``): every event — neuron spike, external or background — times
  the synapses of non-zero weight it reaches, i.e. Σ spikes × the sender's out-degree +
  Σ external events × the source unit's out-degree;
* wall time per biological second = wall time × 1000 µs / runtime;
* mapping time = partition, place and route of the cold run (``metadata['map_s']``).

The "neurons only" variant runs the same N neurons with no synapses and no input, driven
by a constant current to fire at about the network's rate, to isolate the neuron update.
"""


from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import time
from unittest import mock

import numba
import numpy as np

import bss2emu
from bss2emu.cluster.host import ChipHost
from bss2emu.protocol.experiment import Experiment

K_EXT = 8  # Poisson inputs per neuron
IN_DEGREE_EXC, IN_DEGREE_INH = 80, 20
POOL_EXC, POOL_INH = 160, 40
QUADRANT = 128

NEURON_PARAMS = {
    "v_leak": 785, "v_reset": 635, "v_threshold": 518,  # 588, 528, 703 mV (each cell its own map)
    "enable_exponential": 1, "v_exp": 585, "i_bias_exp": 40,  # V_T 687 mV, Δ_T 2 mV
    "enable_adaptation": 1, "i_bias_adapt_a": 0, "i_bias_adapt_b": 10, "i_bias_adapt_tau": 173,  # b 0.29 nA, τ_w 100 µs
    "i_bias_leak": 105, "capacitance": 63,  # g_L 0.226 µS, C 2.3 pF: τ_m 10.2 µs
    "i_bias_syn_exc_tau": 60, "i_bias_syn_inh_tau": 60,  # 5 µs
    "refractory_count": 125, "refractory_clock": 2,  # 500 cycles = 2 µs
}
W_EXC, W_INH, W_EXT, RATE_EXT_KHZ = 10, 45, 56, 60.0
I_CONST_NEURONS_ONLY = 450  # 22.5 nA: the "neurons only" variant fires at about the network's rate


def _pools(n: int, n_exc: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per quadrant (exc pool, inh pool) of presynaptic neurons. The pools of one hemisphere
    are disjoint; the bottom hemisphere's pools take the neurons the top's left out first,
    so every neuron is in at least one pool."""
    n_q = -(-n // QUADRANT)
    pools: list = [None] * n_q
    unused = [np.arange(n_exc), np.arange(n_exc, n)]
    for h in range(2):
        quads = [q for q in range(n_q) if q // 2 == h]
        if not quads:
            continue
        picked = []
        for kind, (pool_size, cand) in enumerate(zip((POOL_EXC, POOL_INH), unused)):
            everyone = np.arange(n_exc) if kind == 0 else np.arange(n_exc, n)
            size = min(pool_size, len(everyone) // len(quads))
            rest = np.setdiff1d(everyone, cand)
            order = np.concatenate([rng.permutation(cand), rng.permutation(rest)])[:size * len(quads)]
            unused[kind] = np.setdiff1d(cand, order)
            picked.append([np.sort(order[j * size:(j + 1) * size]) for j in range(len(quads))])
        for j, q in enumerate(quads):
            pools[q] = (picked[0][j], picked[1][j])
    return pools


def reference_network(n: int = 512, runtime_us: float = 1000.0, synapses: bool = True, seed: int = 1) -> dict:
    """The benchmark experiment as a plain dict (see the module docstring)."""
    if not 8 <= n <= 512:
        raise SystemExit(f"--neurons {n}: use 8..512 (one chip has 512 neuron circuits)")
    n_exc = int(round(0.8 * n))
    n_inh = n - n_exc
    params = dict(NEURON_PARAMS)
    exp: dict = {
        "name": f"single-chip reference {n}{'' if synapses else ' neurons only'}", "seed": seed,
        "runtime_us": runtime_us, "dt_ns": 100, "chip": {"ideal": True},
        "populations": [{"name": "exc", "size": n_exc, "params": params},
                        {"name": "inh", "size": n_inh, "params": params}],
    }
    if not synapses:
        for pop in exp["populations"]:
            pop["params"] = dict(params, i_const=I_CONST_NEURONS_ONLY)
        return exp
    rng = np.random.default_rng(seed)
    pools = _pools(n, n_exc, rng)
    conns = {"exc": [], "inh": []}  # [pre index in its population, post index in its population]
    for post in range(n):
        pool_e, pool_i = pools[post // QUADRANT]
        for pool, k, name, offset in ((pool_e, IN_DEGREE_EXC, "exc", 0), (pool_i, IN_DEGREE_INH, "inh", n_exc)):
            cand = pool[pool != post]
            for pre in rng.choice(cand, size=min(k, len(cand)), replace=False):
                conns[name].append((int(pre) - offset, post))
    projections = []
    for name, w, receptor in (("exc", W_EXC, "excitatory"), ("inh", W_INH, "inhibitory")):
        for post_pop, lo, hi in (("exc", 0, n_exc), ("inh", n_exc, n)):
            lst = [[pre, post - lo] for pre, post in conns[name] if lo <= post < hi]
            projections.append({"name": f"{name}→{post_pop}", "pre": name, "post": post_pop, "weight": w,
                                "receptor": receptor, "connector": {"kind": "from_list", "connections": lst}})
    drive = []  # [unit, post index in its population]
    for k in range(K_EXT):
        group = rng.permutation(n) % 64
        for post in range(n):
            drive.append((64 * k + int(group[post]), post))
    for post_pop, lo, hi in (("exc", 0, n_exc), ("inh", n_exc, n)):
        projections.append({"name": f"drive→{post_pop}", "pre": "drive", "post": post_pop, "weight": W_EXT,
                            "connector": {"kind": "from_list",
                                          "connections": [[u, p - lo] for u, p in drive if lo <= p < hi]}})
    exp["sources"] = [{"kind": "poisson", "name": "drive", "size": 64 * K_EXT, "rate_khz": RATE_EXT_KHZ}]
    exp["projections"] = projections
    return exp


@contextlib.contextmanager
def chip_meter():
    """Measure every ``ChipHost.run_windows`` call during ``bss2emu.run`` (the compiled loop
    over the host's chips and windows, with the writes, PPU kernels and readout encoding
    around it): yields ``lap()``, which returns and resets (seconds spent there, synaptic
    events the chips delivered)."""
    spent = [0.0, 0, 0.0]
    run_windows = ChipHost.run_windows

    def timed(self, *args, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        syn0 = sum(u.chip.synaptic_events for u in self.units.values())
        try:
            return run_windows(self, *args, **kw)
        finally:
            spent[0] += time.perf_counter() - t0
            spent[2] += time.process_time() - c0
            spent[1] += sum(u.chip.synaptic_events for u in self.units.values()) - syn0

    def lap() -> tuple[float, int]:
        """(wall seconds, synaptic events); ``lap.cpu_s`` the process's CPU seconds of the lap
        (all its threads: a host may step its chips on several)."""
        out = (spent[0], spent[1])
        lap.cpu_s = spent[2]
        spent[:] = [0.0, 0, 0.0]
        return out

    with mock.patch.object(ChipHost, "run_windows", timed):
        yield lap


def measure(exp_dict: dict, repeat: int) -> dict:
    """Validate, cold run (mapping; compiles the kernels on the very first call), then
    ``repeat`` timed runs of the validated experiment, each after a full garbage collection."""
    t0 = time.perf_counter()
    exp = Experiment.model_validate(exp_dict)
    validate_s = time.perf_counter() - t0
    res = bss2emu.run(exp)
    route_s = res.metadata.get("map_s", res.metadata.get("route_s", float("nan")))  # mapping time
    walls, chips, events, cpus = [], [], [], []
    with chip_meter() as lap:
        for _ in range(repeat):
            gc.collect()
            t0 = time.perf_counter()
            res = bss2emu.run(exp)
            walls.append(time.perf_counter() - t0)
            chip_s, syn = lap()
            chips.append(chip_s)
            cpus.append(lap.cpu_s)
            events.append(syn)
    n = sum(p.size for p in exp.populations)
    bio_s = exp.runtime_us / 1000.0
    if len(set(events)) != 1:
        raise RuntimeError(f"the same experiment delivered different numbers of events: {events}")
    return {
        "neurons": n, "steps": int(np.ceil(exp.runtime_us * 1e3 / exp.dt_ns)), "walls": walls, "chips": chips, "cpus": cpus,
        "route_s": route_s, "validate_s": validate_s, "syn_events": events[0], "spikes": res.spikes.num_rows,
        "rate_hz_bio": res.spikes.num_rows / n / bio_s, "bio_s": bio_s,
    }


def report(title: str, m: dict) -> None:
    updates = m["neurons"] * m["steps"]
    print(f"== {title}: {m['neurons']} neurons, {m['steps']} steps, {m['bio_s']:g} s biological")
    print(f"  firing rate         {m['rate_hz_bio']:.1f} Hz bio (= kHz hw), {m['spikes']} spikes")
    syn = m["syn_events"]
    print(f"  synaptic events     {'n/a (this Chip does not count them)' if syn is None else syn}"
          f" (events x the synapses of non-zero weight they reach)")
    head = f"best of {len(m['walls'])}"
    print(f"  {head:20s}{'bss2emu.run (end to end)':>26s}{'ChipHost.run_windows (kernel)':>28s}")
    cols = [min(m["walls"]), min(m["chips"])]
    rows = [("wall per run", [f"{c * 1e3:.1f} ms" for c in cols]),
            ("neuron-updates/s", [f"{updates / c:.3e}" for c in cols]),
            ("ns per neuron-step", [f"{c / updates * 1e9:.2f}" for c in cols]),
            ("synaptic events/s", ["n/a" if syn is None else f"{syn / c:.3e}" for c in cols]),
            ("wall per bio second", [f"{c / m['bio_s']:.4f} s" for c in cols])]
    for name, vals in rows:
        print(f"  {name:20s}{vals[0]:>26s}{vals[1]:>28s}")
    cpu = min(m["cpus"])  # robust on a shared machine: the OS's time for other processes is not in it
    print(f"  kernel CPU time     {cpu * 1e3:.1f} ms: {updates / cpu:.3e} neuron-updates/s, "
          f"{cpu / updates * 1e9:.2f} ns per neuron-step")
    print("  all runs (ms)       " + ", ".join(f"{w * 1e3:.1f}" for w in m["walls"])
          + "  | kernel " + ", ".join(f"{c * 1e3:.1f}" for c in m["chips"]))
    print(f"  mapping             {m['route_s']:.3f} s (cold run); validating the experiment dict "
          f"{m['validate_s']:.3f} s")


def cpu_model() -> str:
    """The CPU's model name (Linux), else the machine type."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} CPUs)"
    except OSError:
        pass
    return platform.machine()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, default=512, help="neurons on the chip (8..512)")
    ap.add_argument("--runtime-us", type=float, default=1000.0, help="hardware µs (1000 = 1 s biological)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs after the cold one; the best counts")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"bss2emu single-chip benchmark on {cpu_model()}, python {platform.python_version()}, "
          f"numba {numba.__version__}")
    report("reference network", measure(reference_network(args.neurons, args.runtime_us, True, args.seed),
                                        args.repeat))
    report("neurons only, no synapses",
           measure(reference_network(args.neurons, args.runtime_us, False, args.seed), args.repeat))


if __name__ == "__main__":
    main()
