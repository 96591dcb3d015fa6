#!/usr/bin/env python3
"""Multi-chip benchmark: the reference network of DESIGN.md §6 on four chips, in every placement,
and the memory a 120-chip system needs.

Run from the repository root::

    python benchmarks/multi_chip.py                        # everything (about 3 minutes here)
    python benchmarks/multi_chip.py --placements local per-chip --repeat 3 --skip-memory
    python benchmarks/multi_chip.py --step-paths peers     # Ray rows with hosts exchanging through shared memory only
    python benchmarks/multi_chip.py --placements per-chip packed --wires arrow bytes  # Arrow vs bytes
    python benchmarks/multi_chip.py --only-memory --memory-runtime-us 50

The network (part 1)
--------------------
2048 AdEx neurons on ``cube-4`` (4 chips on one aggregator, route latency 0.648 µs), built
like ``benchmarks/single_chip.py`` (same neuron parameters, weights and Poisson drive; read
its docstring for why the connectivity is pooled): each chip holds 410 excitatory and 102
inhibitory neurons (populations ``exc<c>``/``inh<c>`` pinned to chip c, 80 % excitatory).
The neurons of quadrant q of chip c draw their 100 inputs (80 exc + 20 inh, no
self-connections) from a pool of 160 exc + 40 inh neurons taken from the *whole* network,
so about 3/4 of every neuron's inputs come from the other three chips; the two pools of one
hemisphere are disjoint (so their units can share synapse rows), and every neuron is in one
or two of the 16 pools per kind, so out-degrees average 100. The Poisson drive is per chip
as in the single-chip network: 8 blocks of 64 units of 60 kHz hardware, each block
partitions the chip's 512 neurons into 64 groups. Runtime 1000 µs hardware = 1 s
biological, dt = 0.1 µs. Cross-chip connections take the route latency (no extra delay), so
the conservative window is 6 steps = 0.6 µs: 1667 windows per biological second.

What is measured
----------------
Per placement (``local``, ``per-chip``, ``packed``, ``per-component``) and, for
``per-chip``/``packed``, per Ray step path (``peers``: the hosts run the windows themselves
and exchange spikes through shared memory, ``cluster.peer_exchange``, the default on one
machine; ``compiled``: one Ray Compiled Graph step per window; ``calls``: one actor call per
host and window, ``BSS2EMU_RAY_PEERS=0 BSS2EMU_RAY_COMPILED_GRAPH=0``): one
warm-up run (compiles the kernels, starts Ray, maps cold), then ``--repeat`` runs; the
fastest counts. Columns:

* ``first``: the warm-up run's ``bss2emu.run`` (first call in the process: numba loads or
  compiles, mapping is cold, Ray placements start their coordinator and host actors — the
  first Ray row also starts Ray itself);
* ``wall``: the whole ``bss2emu.run`` call of the fastest repeat — a second run of the same
  experiment in a session: mapping cached, and for Ray the coordinator actor and the host
  actors of the warm-up run are reused (``metadata['hosts_reused']``);
  ``wall/bio``: ``wall`` per biological second;
* ``loop/bio``: the window loop alone per biological second — the hosts' steps as the
  coordinator waits for them (``backend_step_s``; for ``local`` the host's own time) plus
  routing the spikes through the interconnect model (``exchange_s``); start-up (actors,
  chip configuration, results) is the difference to ``wall``;
* ``map cold``/``map hit``: ``metadata['map_s']`` of the warm-up run and of a repeat run
  (a second run of the same topology finds the mapping in the cache; for Ray placements the
  cache lives in the coordinator actor, which is kept between runs);
* ``windows``, ``window``: the number and length (µs) of the conservative windows;
* ``host cpu``: CPU seconds the hosts' stepping threads spent inside ``ChipHost.step``
  (their own work: writes, PPU, integration, recording), summed over hosts, from
  ``ChipHost.stats()`` (CPU, not wall time: on a shared machine a host's wall time inside
  ``step`` also counts the time the OS ran other processes);
* ``ray/win``: Ray overhead per window = (``backend_step_s`` − the hosts' critical path) /
  windows, where the critical path is max(the busiest host's CPU time, summed CPU time /
  min(hosts, CPUs)): hosts integrate in parallel only as far as there are cores (``peers``:
  their wall time integrating, ``peer_step_s``, as their CPU time counts their waiting). A host
  that is woken once per window runs its step about 2.5x slower than a loop in one process
  (0.19 vs 0.07 ms CPU per chip and window here: cold caches); that counts as host time;
* ``all-in/win``: ``loop`` / windows — what one window costs in total;
* ``route/win``: the interconnect-routing part of it (the same for every placement);
* ``x-chip ev``/``drops``: events sent onto the inter-chip network and dropped by it;
* ``same``: the spikes equal the ``local`` run's (DESIGN.md §1: results do not depend on
  deployment).

Memory (part 3)
---------------
``jboa-120`` (120 chips, 8 per aggregator): ``--memory-clusters`` (120) clusters of 400
AdEx neurons on a ring; each neuron takes 40 inputs from its own cluster and 10 from the
next one (``fixed_number_pre``), plus 8 of 64 Poisson units (60 kHz). Each placement runs
once in a fresh process (``--memory-child``), so that its peak RSS is its own: mapping time
(``map_experiment`` in the driver for ``local``, ``metadata['map_s']`` in the coordinator
actor for Ray), run time, and memory per process (``host.process_memory_mb``): the peak
resident set (``ru_maxrss``) of the driver, the coordinator actor and the host actors, and
their private (``RssAnon``) and shared (``RssShmem``: the object store) pages at the end.
Peak RSS also counts shared pages — the libraries every process maps (numba/LLVM) and the
object store — so the Ray sum over-counts what the machine needs; the private sum
under-counts transient peaks.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # single_chip, when imported from elsewhere

import bss2emu  # noqa: E402
from bss2emu.cluster.coordinator import Coordinator  # noqa: E402
from bss2emu.cluster.host import process_memory_mb  # noqa: E402
from bss2emu.protocol.experiment import Experiment  # noqa: E402
from bss2emu.protocol.system import named_system  # noqa: E402
from single_chip import (  # noqa: E402
    IN_DEGREE_EXC, IN_DEGREE_INH, K_EXT, NEURON_PARAMS, POOL_EXC, POOL_INH, QUADRANT, RATE_EXT_KHZ, W_EXC,
    W_EXT, W_INH, chip_meter, cpu_model,
)

N_EXC_PER_CHIP, N_INH_PER_CHIP = 410, 102
SYSTEM = "cube-4"
TARGETS = "targets: local <= 0.25 s per bio s; per-chip <= 1.0 s per bio s with Ray overhead <= 1 ms per window"


def reference_network(chips: int = 4, runtime_us: float = 1000.0, seed: int = 1) -> dict:
    """The benchmark experiment (see the module docstring) as a plain dict."""
    rng = np.random.default_rng(seed)
    n_exc, n_inh = chips * N_EXC_PER_CHIP, chips * N_INH_PER_CHIP
    pops = []
    for c in range(chips):
        pops += [{"name": f"exc{c}", "size": N_EXC_PER_CHIP, "chip": c, "params": dict(NEURON_PARAMS)},
                 {"name": f"inh{c}", "size": N_INH_PER_CHIP, "chip": c, "params": dict(NEURON_PARAMS)}]
    conns: dict[tuple[str, str], list] = {}  # (pre pop, post pop) -> [pre index, post index]
    unused = [np.arange(n_exc), np.arange(n_inh)]
    for c in range(chips):
        for h in range(2):
            picked = []  # per kind: the pools of the hemisphere's two quadrants
            for kind, (size, n) in enumerate(((POOL_EXC, n_exc), (POOL_INH, n_inh))):
                cand = unused[kind]
                rest = np.setdiff1d(np.arange(n), cand)
                order = np.concatenate([rng.permutation(cand), rng.permutation(rest)])[:2 * size]
                unused[kind] = np.setdiff1d(cand, order)
                picked.append((np.sort(order[:size]), np.sort(order[size:])))
            for j in range(2):
                q = 2 * h + j
                for circ in range(q * QUADRANT, (q + 1) * QUADRANT):
                    if circ < N_EXC_PER_CHIP:
                        post_pop, post, self_e, self_i = f"exc{c}", circ, c * N_EXC_PER_CHIP + circ, -1
                    else:
                        post = circ - N_EXC_PER_CHIP
                        post_pop, self_e, self_i = f"inh{c}", -1, c * N_INH_PER_CHIP + post
                    for pool, k, kind, me, per in ((picked[0][j], IN_DEGREE_EXC, "exc", self_e, N_EXC_PER_CHIP),
                                                   (picked[1][j], IN_DEGREE_INH, "inh", self_i, N_INH_PER_CHIP)):
                        for pre in rng.choice(pool[pool != me], size=k, replace=False):
                            conns.setdefault((f"{kind}{pre // per}", post_pop), []).append([int(pre % per), post])
    projections = []
    for (pre_pop, post_pop), lst in sorted(conns.items()):
        exc = pre_pop.startswith("exc")
        projections.append({"name": f"{pre_pop}→{post_pop}", "pre": pre_pop, "post": post_pop,
                            "weight": W_EXC if exc else W_INH, "receptor": "excitatory" if exc else "inhibitory",
                            "connector": {"kind": "from_list", "connections": lst}})
    drive: dict[str, list] = {}  # post pop -> [unit, post index]
    for c in range(chips):
        for k in range(K_EXT):
            group = rng.permutation(N_EXC_PER_CHIP + N_INH_PER_CHIP) % 64
            for circ, g in enumerate(group.tolist()):
                unit = (c * K_EXT + k) * 64 + g
                if circ < N_EXC_PER_CHIP:
                    drive.setdefault(f"exc{c}", []).append([unit, circ])
                else:
                    drive.setdefault(f"inh{c}", []).append([unit, circ - N_EXC_PER_CHIP])
    for post_pop, lst in drive.items():
        projections.append({"name": f"drive→{post_pop}", "pre": "drive", "post": post_pop, "weight": W_EXT,
                            "connector": {"kind": "from_list", "connections": lst}})
    return {"name": f"multi-chip reference {chips * 512}", "seed": seed, "runtime_us": runtime_us, "dt_ns": 100,
            "chip": {"ideal": True}, "populations": pops, "projections": projections,
            "sources": [{"kind": "poisson", "name": "drive", "size": 64 * K_EXT * chips, "rate_khz": RATE_EXT_KHZ}]}


def ring_network(clusters: int = 120, size: int = 400, runtime_us: float = 20.0, seed: int = 1) -> dict:
    """Part 3: ``clusters`` clusters of ``size`` neurons on a ring (40 inputs from the own
    cluster, 10 from the next, 8 Poisson inputs)."""
    pops = [{"name": f"c{k}", "size": size, "params": dict(NEURON_PARAMS)} for k in range(clusters)]
    projs = []
    for k in range(clusters):
        projs.append({"pre": f"c{k}", "post": f"c{k}", "weight": W_EXC,
                      "connector": {"kind": "fixed_number_pre", "n": 40, "allow_self_connections": False}})
        projs.append({"pre": f"c{(k + 1) % clusters}", "post": f"c{k}", "weight": W_EXC,
                      "connector": {"kind": "fixed_number_pre", "n": 10}})
        projs.append({"pre": "drive", "post": f"c{k}", "weight": W_EXT,
                      "connector": {"kind": "fixed_number_pre", "n": K_EXT}})
    return {"name": f"ring of {clusters} clusters", "seed": seed, "runtime_us": runtime_us, "dt_ns": 100,
            "chip": {"ideal": True}, "populations": pops, "projections": projs,
            "sources": [{"kind": "poisson", "name": "drive", "size": 64, "rate_khz": RATE_EXT_KHZ}]}


def balanced_network(chips: int = 120, runtime_us: float = 100.0) -> dict:
    """Every circuit of ``chips`` chips: ``examples/balanced_multichip.py``'s balanced network
    (clusters of 205 exc + 51 inh on a ring, in-degree 60, background-generator drive) with
    two clusters per chip."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples"))
    import balanced_multichip as B

    B.CLUSTERS = 2 * chips
    exp = B.build_experiment(runtime_us)
    return exp.model_copy(update={"name": f"balanced network, {chips * 512} neurons", "system": None}).model_dump()


# --- part 1 and 2: one placement ----------------------------------------------------------

def _run_once(exp: Experiment, placement: str) -> tuple[bss2emu.Results, dict]:
    """One run as ``bss2emu.run`` does it; ``local`` through a Coordinator made here (exactly
    what ``bss2emu.run`` does for it) so that its host's own figures can be read."""
    extra: dict = {}
    t0 = time.perf_counter()
    if placement == "local":
        coord = Coordinator(exp, named_system(SYSTEM), "local")
        with chip_meter() as lap:
            res = coord.run()
            extra["kernel_s"] = lap()[0]
        stats = coord.backend.host.stats()
        extra["host_busy_s"], extra["host_cpu_s"] = [stats["busy_s"]], [stats["cpu_s"]]
    else:
        res = bss2emu.run(exp, system=SYSTEM, placement=placement)
    extra["wall_s"] = time.perf_counter() - t0
    return res, extra


def measure(exp: Experiment, placement: str, step_path: str, repeat: int, reference=None,
            wire: str = "arrow") -> tuple[dict, object]:
    """Warm-up run, then ``repeat`` runs: the fastest run's figures, and its spikes."""
    if step_path != "-":
        os.environ["BSS2EMU_RAY_PEERS"] = "1" if step_path == "peers" else "0"
        os.environ["BSS2EMU_RAY_COMPILED_GRAPH"] = "1" if step_path == "compiled" else "0"
    os.environ["BSS2EMU_RAY_WIRE"] = wire
    warm, warm_extra = _run_once(exp, placement)
    best = None
    for _ in range(repeat):
        gc.collect()
        res, extra = _run_once(exp, placement)
        if best is None or extra["wall_s"] < best[1]["wall_s"]:
            best = (res, extra)
    res, extra = best
    md = res.metadata
    bio_s = exp.runtime_us / 1000.0
    windows = md["windows"]
    busy = md.get("host_busy_s", extra.get("host_busy_s"))
    cpu = md.get("host_cpu_s", extra.get("host_cpu_s"))
    row = {"placement": placement if placement == "local" or placement == "per-component" else f"{placement}/{wire}",
           "step_path": md.get("step_path", step_path), "hosts": md.get("hosts", 1),
           "wall_s": extra["wall_s"], "first_wall_s": warm_extra["wall_s"], "map_cold_s": warm.metadata["map_s"], "map_hit_s": md["map_s"],
           "windows": windows, "window_us": md["window_us"], "exchange_s": md["exchange_s"],
           "inter_chip_events": md["inter_chip_events"], "dropped_events": md["dropped_events"],
           "spikes": res.spikes.num_rows, "bio_s": bio_s, "kernel_s": extra.get("kernel_s"),
           "host_busy_s": busy, "host_cpu_s": cpu, "same": None if reference is None else res.spikes.equals(reference)}
    if placement == "local":
        row["loop_s"] = busy[0] + md["exchange_s"]  # routing runs inside the host's compiled loop
        row["ray_ms"] = None
    elif md.get("step_path") == "peers":  # hosts route themselves, inside backend_step_s
        row["loop_s"] = md["backend_step_s"]
        step = md["peer_step_s"]  # the hosts' integration (their CPU time counts their waiting too)
        crit = max(max(step), sum(step) / max(1, min(len(step), os.cpu_count() or 1)))
        row["ray_ms"] = (md["backend_step_s"] - crit) / windows * 1e3
        row["start_s"] = md.get("backend_start_s")
    else:
        row["loop_s"] = md["backend_step_s"] + md["exchange_s"]
        if cpu:
            cores = max(1, min(len(cpu), os.cpu_count() or 1))
            crit = max(max(cpu), sum(cpu) / cores)
            row["ray_ms"] = (md["backend_step_s"] - crit) / windows * 1e3
        else:
            row["ray_ms"] = None  # per-component hosts do not report their own time
        row["start_s"] = md.get("backend_start_s")
    if res.metadata.get("compiled_graph_error"):
        row["note"] = res.metadata["compiled_graph_error"]
    return row, res.spikes


def _fmt(v, spec):
    return format("-", f">{spec.split('.')[0]}") if v is None else format(v, spec)


def print_rows(rows: list[dict]) -> None:
    head = (f"{'placement':16s}{'step path':>15s}{'hosts':>6s}{'first':>7s}{'wall':>7s}{'wall/bio':>9s}{'loop/bio':>9s}"
            f"{'map cold':>9s}{'map hit':>8s}{'windows':>8s}{'window':>7s}{'host cpu':>10s}{'ray/win':>9s}"
            f"{'all-in/win':>11s}{'route/win':>10s}{'x-chip ev':>10s}{'drops':>6s}{'spikes':>7s}{'same':>5s}")
    print(head)
    print(f"{'':16s}{'':>15s}{'':>6s}{'s':>7s}{'s':>7s}{'s':>9s}{'s':>9s}{'s':>9s}{'s':>8s}{'':>8s}{'µs':>7s}{'s':>10s}"
          f"{'ms':>9s}{'ms':>11s}{'ms':>10s}")
    for r in rows:
        w = r["windows"]
        busy = None if not r["host_cpu_s"] else sum(r["host_cpu_s"])
        same = ("ref" if r["placement"] == "local" else "-") if r["same"] is None else ("yes" if r["same"] else "NO")
        print(f"{r['placement']:16s}{r['step_path']:>15s}{r['hosts']:>6d}{r['first_wall_s']:>7.2f}{r['wall_s']:>7.2f}"
              f"{r['wall_s'] / r['bio_s']:>9.2f}{r['loop_s'] / r['bio_s']:>9.2f}{r['map_cold_s']:>9.2f}"
              f"{r['map_hit_s']:>8.3f}{w:>8d}{r['window_us']:>7.2f}{_fmt(busy, '10.2f')}"
              f"{_fmt(r['ray_ms'], '9.3f')}{r['loop_s'] / w * 1e3:>11.3f}{r['exchange_s'] / w * 1e3:>10.3f}"
              f"{r['inter_chip_events']:>10d}{r['dropped_events']:>6d}{r['spikes']:>7d}{same:>5s}")
        if r.get("note"):
            print(f"{'':14s}note: {r['note']}")


# --- part 3: memory -----------------------------------------------------------------------

def memory_child(placement: str, clusters: int, runtime_us: float, network: str = "ring") -> dict:
    """Map and run the ring (or balanced) network on jboa-120 once in this (fresh) process."""
    from bss2emu.routing.mapping import map_experiment

    system = "jboa-120"
    t0 = time.perf_counter()
    exp = Experiment.model_validate(ring_network(clusters, runtime_us=runtime_us) if network == "ring"
                                    else balanced_network(120, runtime_us))
    out = {"placement": placement, "neurons": sum(p.size for p in exp.populations),
           "validate_s": time.perf_counter() - t0}
    if placement == "local":
        t0 = time.perf_counter()
        m = map_experiment(exp, system)
        out["map_s"] = time.perf_counter() - t0
        out["fpga_routes"] = m.stats["fpga_routes"]
    t0 = time.perf_counter()
    res = bss2emu.run(exp, system=system, placement=placement)
    out["run_s"] = time.perf_counter() - t0
    md = res.metadata
    out["loop_s"] = md.get("backend_step_s", np.nan) + (md["exchange_s"] if md.get("step_path") != "peers" else 0.0)
    if placement != "local":
        out["map_s"] = md["map_s"]
        out["start_s"] = md.get("backend_start_s", np.nan) + md.get("backend_compile_s", 0.0)
        out["coordinator_mb"] = md.get("coordinator_memory_mb")
        out["hosts_mb"] = md.get("host_memory_mb")
    out.update(chips_used=md["chips_used"], windows=md["windows"], spikes=res.spikes.num_rows,
               hosts=md.get("hosts", 1), inter_chip_events=md["inter_chip_events"],
               dropped_events=md["dropped_events"], setup_s=md["setup_s"],
               driver_mb=process_memory_mb())
    return out


def measure_memory(placements: list[str], clusters: int, runtime_us: float, network: str = "ring") -> list[dict]:
    rows = []
    for p in placements:
        cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", p, "--memory-clusters", str(clusters),
               "--memory-runtime-us", str(runtime_us), "--memory-network", network]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"memory run {p!r} failed ({proc.returncode})")
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["process_s"] = time.perf_counter() - t0
        rows.append(row)
    return rows


def print_memory(rows: list[dict], runtime_us: float) -> None:
    print(f"{'placement':10s}{'neurons':>8s}{'chips':>6s}{'hosts':>6s}{'map':>7s}{'run':>7s}{'start':>7s}"
          f"{'loop':>7s}{'process':>8s}{'windows':>8s}{'spikes':>8s}{'x-chip ev':>10s}{'drops':>7s}  peak RSS MB: driver / coordinator / "
          f"hosts = sum (private now, shared now)")
    for r in rows:
        procs = [r["driver_mb"]] + ([r["coordinator_mb"]] if r.get("coordinator_mb") else []) + (r.get("hosts_mb") or [])
        # the coordinator runs in the driver unless BSS2EMU_RAY_COORDINATOR=actor
        peak = f"{r['driver_mb']['maxrss']:.0f}"
        if r["placement"] != "local":
            peak += f" / {r['coordinator_mb']['maxrss']:.0f}" if r.get("coordinator_mb") else " / (driver)"
        if r.get("hosts_mb"):
            peak += f" / {sum(p['maxrss'] for p in r['hosts_mb']):.0f}"
        total = sum(p["maxrss"] for p in procs)
        anon = sum(p.get("anon", 0) for p in procs)
        shm = sum(p.get("shmem", 0) for p in procs)
        print(f"{r['placement']:10s}{r['neurons']:>8d}{r['chips_used']:>6d}{r['hosts']:>6d}{r['map_s']:>7.1f}"
              f"{r['run_s']:>7.1f}{_fmt(r.get('start_s'), '7.1f')}{_fmt(r['loop_s'] if r['placement'] != 'local' else None, '7.1f')}"
              f"{r['process_s']:>8.1f}{r['windows']:>8d}{r['spikes']:>8d}"
              f"{r['inter_chip_events']:>10d}{r['dropped_events']:>7d}  {peak} = {total:.0f} ({anon:.0f}, {shm:.0f})")
    print(f"  runtime {runtime_us:g} µs hardware; 'run' is bss2emu.run (for Ray it includes mapping in the "
          f"coordinator, 'start' of the host actors and compiling the step graph, and the window 'loop'); "
          f"'process' the whole child process. Peak RSS per process "
          f"(ru_maxrss) counts the object-store pages an actor touched, so the Ray sum over-counts; 'private' "
          f"and 'shared' are RssAnon/RssShmem at the end of the run")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runtime-us", type=float, default=1000.0, help="hardware µs (1000 = 1 s biological)")
    ap.add_argument("--component-runtime-us", type=float, default=100.0,
                    help="runtime for the (slow) per-component placement")
    ap.add_argument("--placements", nargs="+", default=["local", "per-chip", "packed", "per-component"])
    ap.add_argument("--step-paths", nargs="+", default=["peers", "compiled", "calls"],
                    choices=["peers", "compiled", "calls"],
                    help="Ray step paths to measure for per-chip and packed")
    ap.add_argument("--wires", nargs="+", default=["arrow"], choices=["arrow", "bytes"],
                    help="how spikes cross to Ray hosts (BSS2EMU_RAY_WIRE): Arrow IPC record batches or the "
                         "former pack_spikes bytes")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs after the warm-up; the fastest counts")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--only-memory", action="store_true")
    ap.add_argument("--memory-placements", nargs="+", default=["local", "packed"])
    ap.add_argument("--memory-clusters", type=int, default=120)
    ap.add_argument("--memory-runtime-us", type=float, default=50.0)
    ap.add_argument("--memory-network", choices=["ring", "balanced"], default="ring",
                    help="ring: --memory-clusters x 400 neurons; balanced: all 61,440 circuits "
                         "(examples/balanced_multichip.py's network, 240 clusters)")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.memory_clusters, args.memory_runtime_us,
                                      args.memory_network)))
        return
    import numba

    print(f"bss2emu multi-chip benchmark on {cpu_model()}, python {platform.python_version()}, "
          f"numba {numba.__version__}; load average {os.getloadavg()[0]:.1f} at start "
          f"(other sessions may share this machine: figures are the fastest of {args.repeat} runs)")
    if not args.only_memory:
        t0 = time.perf_counter()
        exp = Experiment.model_validate(reference_network(4, args.runtime_us, args.seed))
        print(f"\n== part 1/2: reference network, {sum(p.size for p in exp.populations)} neurons on {SYSTEM}, "
              f"{args.runtime_us:g} µs hardware (validated in {time.perf_counter() - t0:.2f} s)")
        rows, reference = [], None
        short = None
        for placement in args.placements:
            paths = args.step_paths if placement in ("per-chip", "packed") else ["-"]
            e = exp
            if placement == "per-component" and args.component_runtime_us < args.runtime_us:
                short = short or exp.model_copy(update={"runtime_us": args.component_runtime_us})
                e = short
            for path, wire in [(p, w) for p in paths for w in (args.wires if placement in ("per-chip", "packed")
                                                               else ["arrow"])]:
                ref = reference if e is exp else None
                row, spikes = measure(e, placement, path, args.repeat, ref, wire)
                if placement == "local":
                    reference = spikes
                    print(f"  local: {row['kernel_s']:.2f} s of the loop inside ChipHost.run_windows (compiled "
                          f"host loop), {row['spikes'] / 2048 / row['bio_s']:.1f} Hz mean rate")
                rows.append(row)
        print_rows(rows)
        if short is not None:
            print(f"  per-component ran {args.component_runtime_us:g} µs (per-bio-second figures scaled)")
        print(f"  {TARGETS}")
    if not args.skip_memory:
        what = (f"{args.memory_clusters} clusters x 400 neurons" if args.memory_network == "ring"
                else "all 61,440 circuits (balanced network, 240 clusters)")
        print(f"\n== part 3: memory, jboa-120, {what}")
        print_memory(measure_memory(args.memory_placements, args.memory_clusters, args.memory_runtime_us,
                                    args.memory_network), args.memory_runtime_us)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
