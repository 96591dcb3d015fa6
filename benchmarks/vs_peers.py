#!/usr/bin/env python3
"""Side by side: the reference network on bss2emu (local, packed), NEST and Brian2 (Cython).

Run from the repository root::

    python benchmarks/vs_peers.py                                   # 512, 2048, 8192 neurons
    python benchmarks/vs_peers.py --neurons 2048 --repeat 5 --brian2-python /root/.cache/bss2emu-brian2/bin/python
    python benchmarks/vs_peers.py --skip nest packed                # what is left
    python benchmarks/vs_peers.py --neurons 2048 --skip nest packed local-1t --threads 2

Brian2 runs in its own virtual environment (it pins numpy below what bss2emu uses here)::

    python -m venv /root/.cache/bss2emu-brian2
    /root/.cache/bss2emu-brian2/bin/pip install brian2 'numpy<2.4' cython

``--brian2-python`` names that interpreter (default: the path above); a missing one skips
Brian2. NEST (``pip install nest-simulator``, in the test extra) is skipped when it does not
import.

The network
-----------
N AdEx neurons, 80 % excitatory, in-degree 100 (80 exc + 20 inh), 8 Poisson inputs of 60 Hz
per neuron, 1 s biological, dt 0.1 ms (DESIGN.md §6) — the pooled variant of
``single_chip.py`` (N = 512, one chip) and ``multi_chip.py`` (N = 2048 on ``cube-4``,
8192 on ``jboa-16``: 512 per chip, each quadrant's inputs drawn from pools over the whole
network). The peers get the very same connection lists and Poisson unit → neuron lists
(drawn once here and handed over), and the neuron of the emulated ideal chip in biological
units: the chip's own physics (``Chip.physics`` of the mapped configuration: E_L, V_reset,
spike threshold, V_T, Δ_T, a, b, τ_w, g_L, C, τ_syn, τ_ref and the synaptic jump per weight
code), with hardware µs read as biological ms (conductances and currents / 1000). Peers use
one thread each. bss2emu ``local`` steps the chips of a window side by side on as many
threads as the cores (``--threads``: the run option ``host_threads``; the thread count is
printed, and in how many of its calls of up to 128 windows it used them: a host goes on with
whichever of threads or one ran the recent calls faster), ``local-1t`` on one thread — the fair single-thread comparison — and ``packed``
uses about one Ray actor per core, one thread each, current-based exponential synapses (NEST ``aeif_psc_exp``; Brian2 the same
equations) and a delay of one step; their firing rates are printed next to bss2emu's (the
dynamics match in kind, not spike for spike).

What is measured
----------------
Per size and simulator: one untimed run (compilation: numba cache, Cython, NEST's network
build), then ``--repeat`` timed runs of 1 s biological; printed are the min and median wall
time per biological second of the simulation call, and ratios peer / bss2emu local of the
mins and of the medians. What each row's timed call includes:

* ``local``, ``local-1t``, ``packed``, ``per-chip``: a whole ``bss2emu.run`` of the 1 s
  experiment after validation — chip configuration, stimulus (the Poisson trains are drawn
  by the untimed run and reused), loading the chips, the windows, the results;
* ``local-cont``: Brian2's own way — one network configured once, each timed call
  continuing its simulation by 1 s: an experiment of ``1 + --repeat`` seconds on one
  ``Coordinator``, the untimed first second (configuration, stimulus, chips loaded), then
  per timed call ``Coordinator.run(until_us=..., keep=True)`` of 1 s more: the windows and
  the results from time 0 (the rows recorded so far annotated once: each call adds its
  own). Its Poisson trains are those of the longer experiment, so its spikes differ from
  ``local``'s (its rate is printed);
* Brian2: ``Network.run`` of 1 s continuing the same network (without its code generation
  and network build); NEST: ``Simulate`` of 1 s, continuing likewise.

For the ``local`` rows a second line splits the fastest call: the compiled chip loop
(``ChipHost.run_windows``) against set-up and results (``local-cont``: results), wall and CPU
seconds (CPU of the process, all its threads; on a shared machine the CPU figures are the
steadier ones), and the untimed first run. The
machine's load average is printed at each size: on a shared machine compare ratios, which
are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BRIAN2_PYTHON = "/root/.cache/bss2emu-brian2/bin/python"
BSS2EMU = {"local": "local", "local-1t": "local", "local-cont": "local", "packed": "packed",
           "per-chip": "per-chip"}  # runner: placement
RUNNERS = (*BSS2EMU, "nest", "brian2")
SIZES = (512, 2048, 8192)


# --- the network, for everyone ----------------------------------------------------------------

def experiment_for(n: int, runtime_us: float = 1000.0, seed: int = 1) -> tuple[dict, str]:
    """The bss2emu experiment of N neurons and its system."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if n <= 512:
        from single_chip import reference_network

        return reference_network(n, runtime_us, seed=seed), None
    from multi_chip import reference_network

    if n % 512:
        raise SystemExit(f"--neurons {n}: above 512 use a multiple of 512 (one chip each)")
    chips = n // 512
    return reference_network(chips, runtime_us, seed), ("cube-4" if chips <= 4 else f"jboa-{16 if chips <= 16 else 120}")


def network_arrays(exp: dict, system) -> dict:
    """The experiment as global index lists and biological parameters (for the peers)."""
    from bss2emu.chip_actor.chip import Chip
    from bss2emu.protocol.experiment import Experiment
    from bss2emu.routing.mapping import configure_chip, map_experiment

    offset, n = {}, 0
    for p in exp["populations"]:
        offset[p["name"]], n = n, n + p["size"]
    n_units = exp["sources"][0]["size"]
    pre, post, w, kind = [], [], [], []
    for pr in exp["projections"]:
        c = np.asarray(pr["connector"]["connections"], np.int64)
        is_src = pr["pre"] == "drive"
        pre.append(c[:, 0] + (0 if is_src else offset[pr["pre"]]))
        post.append(c[:, 1] + offset[pr["post"]])
        w.append(np.full(len(c), pr["weight"]))
        kind.append(np.full(len(c), 2 if is_src else (0 if pr.get("receptor", "excitatory") == "excitatory" else 1)))
    pre, post, w, kind = (np.concatenate(x) for x in (pre, post, w, kind))
    e = Experiment.model_validate(exp)
    m = map_experiment(e, system)
    phys = Chip(configure_chip(e, m, 0), ideal=True).physics
    i = 0  # every neuron has the same parameters on the ideal chip
    # hardware (mV, µs, pF, µS, nA) -> biological (mV, ms, pF, nS, pA): µs read as ms, so
    # conductances and currents scale by 1e-3 (µS -> nS, nA -> pA keeps C dv/dt consistent)
    params = {
        "E_L": float(phys.e_l[i]), "V_reset": float(phys.v_reset[i]), "V_peak": float(phys.v_th[i]),
        "V_T": float(phys.v_t[i]), "Delta_T": float(phys.delta_t[i]), "C_m": float(phys.c_m[i]),
        "g_L": float(phys.g_l[i]), "a": float(phys.a[i]), "b": float(phys.b[i]), "tau_w": float(phys.tau_w[i]),
        "tau_syn_ex": float(phys.tau_exc[i]), "tau_syn_in": float(phys.tau_inh[i]),
        "t_ref": float(phys.tau_ref_ns[i]) / 1e3,
        "jump_exc_pA": float(phys.gain_exc[i]), "jump_inh_pA": float(phys.gain_inh[i]),
    }
    # jumps: weight x gain in nA on the chip -> pA in biology; a in µS -> nS, b in nA -> pA
    return {"n": n, "n_exc": sum(p["size"] for p in exp["populations"] if p["name"].startswith("exc")),
            "n_units": n_units, "rate_hz": exp["sources"][0]["rate_khz"], "pre": pre, "post": post, "w": w,
            "kind": kind, "params": params}


# --- peers (each in a child process) ----------------------------------------------------------

def run_nest(net: dict, repeat: int, bio_ms: float) -> dict:
    import nest

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": 1, "rng_seed": 1})
    p = net["params"]
    neurons = nest.Create("aeif_psc_exp", net["n"], params={
        "C_m": p["C_m"], "g_L": p["g_L"], "E_L": p["E_L"], "V_reset": p["V_reset"], "V_peak": p["V_peak"],
        "V_th": p["V_T"], "Delta_T": p["Delta_T"], "a": p["a"], "b": p["b"], "tau_w": p["tau_w"],
        "tau_syn_ex": p["tau_syn_ex"], "tau_syn_in": p["tau_syn_in"], "t_ref": p["t_ref"], "V_m": p["E_L"]})
    gens = nest.Create("poisson_generator", net["n_units"], params={"rate": net["rate_hz"]})
    parrots = nest.Create("parrot_neuron", net["n_units"])  # a unit's one train reaches all its targets
    nest.Connect(gens, parrots, "one_to_one")
    jump = np.where(net["kind"] == 1, -p["jump_inh_pA"], p["jump_exc_pA"]) * net["w"]
    rec = net["kind"] != 2
    ids, units = np.asarray(neurons.tolist()), np.asarray(parrots.tolist())
    ext = ~rec
    # node-id arrays (with repeats): NEST's array connect
    for src, sel in ((ids, rec), (units, ext)):
        nest.Connect(src[net["pre"][sel]], ids[net["post"][sel]], "one_to_one",
                     {"weight": jump[sel], "delay": np.full(sel.sum(), 0.1)})
    rec_dev = nest.Create("spike_recorder")
    nest.Connect(neurons, rec_dev)
    nest.Simulate(bio_ms)  # warm-up (and a first second of activity)
    times, spikes = [], []
    for _ in range(repeat):
        n0 = rec_dev.n_events
        t0 = time.perf_counter()
        nest.Simulate(bio_ms)
        times.append(time.perf_counter() - t0)
        spikes.append(rec_dev.n_events - n0)
    return {"times": times, "rate_hz": statistics.median(spikes) / net["n"] / (bio_ms / 1e3),
            "version": nest.__version__}


BRIAN2_CHILD = r'''
import json, sys, time, statistics
import numpy as np
from brian2 import (NeuronGroup, PoissonGroup, Synapses, SpikeMonitor, Network, prefs, defaultclock, ms, mV, pF,
                    nS, pA, Hz, second, __version__)
prefs.codegen.target = "cython"
net, repeat, bio_ms = np.load(sys.argv[1], allow_pickle=True)["net"].item(), int(sys.argv[2]), float(sys.argv[3])
p = net["params"]
defaultclock.dt = 0.1 * ms
eqs = """
dv/dt = (g_L*(E_L - v) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w + ie - ii)/C_m : volt (unless refractory)
dw/dt = (a*(v - E_L) - w)/tau_w : amp
die/dt = -ie/tau_e : amp
dii/dt = -ii/tau_i : amp
"""
ns = dict(g_L=p["g_L"]*nS, E_L=p["E_L"]*mV, Delta_T=p["Delta_T"]*mV, V_T=p["V_T"]*mV, C_m=p["C_m"]*pF,
          a=p["a"]*nS, tau_w=p["tau_w"]*ms, tau_e=p["tau_syn_ex"]*ms, tau_i=p["tau_syn_in"]*ms,
          V_peak=p["V_peak"]*mV, V_reset=p["V_reset"]*mV, b=p["b"]*pA)
G = NeuronGroup(net["n"], eqs, threshold="v > V_peak", reset="v = V_reset; w += b",
                refractory=p["t_ref"]*ms, method="exponential_euler", namespace=ns)
G.v = p["E_L"]*mV
P = PoissonGroup(net["n_units"], net["rate_hz"]*Hz)
kind, pre, post, w = net["kind"], net["pre"], net["post"], net["w"]
syns = []
for k, src, target, jump in ((0, G, "ie", p["jump_exc_pA"]), (1, G, "ii", p["jump_inh_pA"]), (2, P, "ie", p["jump_exc_pA"])):
    sel = kind == k
    S = Synapses(src, G, "wj : amp", on_pre=f"{target}_post += wj", delay=0.1*ms)
    S.connect(i=pre[sel], j=post[sel])
    S.wj = w[sel] * jump * pA
    syns.append(S)
M = SpikeMonitor(G)
n = Network(G, P, M, *syns)
n.run(bio_ms*ms)  # compiles (Cython) and runs a first second
times, spikes = [], []
for _ in range(repeat):
    n0 = M.num_spikes
    t0 = time.perf_counter()
    n.run(bio_ms*ms)
    times.append(time.perf_counter() - t0)
    spikes.append(M.num_spikes - n0)
print(json.dumps({"times": times, "rate_hz": statistics.median(spikes)/net["n"]/(bio_ms/1e3), "version": __version__}))
'''


def run_child(kind: str, net: dict, repeat: int, bio_ms: float, python: str) -> dict | None:
    """A peer in a child process (its own interpreter for Brian2); None if unavailable."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "net.npz")
        np.savez(path, net=np.array(net, dtype=object))
        if kind == "brian2":
            script = os.path.join(tmp, "brian2_child.py")
            with open(script, "w") as fh:
                fh.write(BRIAN2_CHILD)
            cmd = [python, script, path, str(repeat), str(bio_ms)]
        else:
            cmd = [sys.executable, os.path.abspath(__file__), "--nest-child", path, str(repeat), str(bio_ms)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    if proc.returncode:
        print(f"  {kind}: failed ({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode})")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- bss2emu ----------------------------------------------------------------------------------

def run_bss2emu(exp: dict, system, placement: str, repeat: int, **options) -> dict:
    import bss2emu
    from bss2emu.protocol.experiment import Experiment

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from single_chip import chip_meter

    e = Experiment.model_validate(exp)
    t0 = time.perf_counter()
    res = bss2emu.run(e, system=system, placement=placement, **options)  # warm-up: kernels, mapping, Ray actors
    first_s = time.perf_counter() - t0
    times, cpus, loops, loop_cpus = [], [], [], []
    with chip_meter() as lap:
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            res = bss2emu.run(e, system=system, placement=placement, **options)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            loops.append(lap()[0])
            loop_cpus.append(lap.cpu_s)
    n = sum(p["size"] for p in exp["populations"])
    return {"times": times, "rate_hz": res.spikes.num_rows / n / (e.runtime_us / 1e3),
            "hosts": res.metadata.get("hosts", 1), "threads": res.metadata.get("host_threads", [1])[0],
            "parallel_calls": res.metadata.get("host_parallel_calls", [[0, 0]])[0],
            "first_s": first_s, "cpus": cpus, "loops": loops,
            "loop_cpus": loop_cpus, "where": where_time_goes(res.metadata, times[-1])}


def run_bss2emu_continued(exp: dict, system, repeat: int, runtime_us: float, **options) -> dict:
    """``local-cont``: Brian2's way of timing — one network, built and configured once, whose
    simulation each timed call continues. ``exp`` runs ``1 + repeat`` times ``runtime_us``
    on one ``Coordinator``; the first segment (``run(until_us=..., keep=True)``: chip
    configuration, stimulus, the chips loaded, then the windows) is not timed, each timed
    call is one more segment of ``runtime_us``: the windows and the results from time 0."""
    from bss2emu.cluster.coordinator import Coordinator
    from bss2emu.protocol.experiment import Experiment

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from single_chip import chip_meter

    e = Experiment.model_validate(exp)
    co = Coordinator(e, system, "local", **options)
    try:
        t0 = time.perf_counter()
        res = co.run(until_us=runtime_us, keep=True)
        first_s = time.perf_counter() - t0
        times, cpus, loops, loop_cpus, spikes = [], [], [], [], []
        with chip_meter() as lap:
            for k in range(repeat):
                n0 = res.spikes.num_rows
                t0, c0 = time.perf_counter(), time.process_time()
                res = co.run(until_us=(k + 2) * runtime_us, keep=True)
                times.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
                loops.append(lap()[0])
                loop_cpus.append(lap.cpu_s)
                spikes.append(res.spikes.num_rows - n0)
    finally:
        co.close()
    n = sum(p["size"] for p in exp["populations"])
    return {"times": times, "rate_hz": statistics.median(spikes) / n / (runtime_us / 1e3),
            "threads": res.metadata.get("host_threads", [1])[0],
            "parallel_calls": res.metadata.get("host_parallel_calls", [[0, 0]])[0],
            "first_s": first_s, "cpus": cpus, "loops": loops, "loop_cpus": loop_cpus, "where": ""}


def where_time_goes(meta: dict, wall_s: float) -> str:
    """The last run's wall time by part (Ray placements whose hosts exchange through shared
    memory: each host's integration, message codec, waiting for the others, routing —
    the busiest host's; then what the run spends outside its windows)."""
    if meta.get("step_path") != "peers":
        return ""
    busiest = max(range(len(meta["peer_step_s"])), key=lambda i: meta["peer_step_s"][i])
    parts = {k: meta[f"peer_{k}_s"][busiest] for k in ("step", "codec", "wait", "route")}
    loop = meta.get("backend_step_s", 0.0)
    return (f"{meta['windows']} windows; host {busiest}: integrate {parts['step']:.3f} s, codec {parts['codec']:.3f} s, "
            f"wait for peers {parts['wait']:.3f} s, route {parts['route']:.3f} s; calls {loop - sum(parts.values()):.3f} s;"
            f" outside the windows {wall_s - loop:.3f} s (setup {meta.get('setup_s', 0):.3f}, map {meta.get('map_s', 0):.3f})")


def print_local_breakdown(m: dict, bio_s: float, continued: bool = False) -> None:
    """Where a local run's time goes (the fastest timed run), per biological second."""
    i = int(np.argmin(m["times"]))
    wall, loop, cpu, loop_cpu = m["times"][i], m["loops"][i], m["cpus"][i], m["loop_cpus"][i]
    rest = ("results {:.3f} (Arrow tables from time 0)" if continued else
            "set-up and results {:.3f} (stimulus, chip configuration, Arrow tables)").format((wall - loop) / bio_s)
    first = ("the untimed first segment {:.3f} (chip configuration, stimulus, chips loaded, its windows)"
             if continued else "the untimed first run {:.3f} (maps, draws the Poisson trains that later runs "
             "of the same experiment reuse)").format(m["first_s"] / bio_s)
    print(f"           where it goes (s per bio s): {'segment' if continued else 'run'} {wall / bio_s:.3f} = "
          f"compiled chip loop {loop / bio_s:.3f} (all chips, windows, routing) + {rest}; CPU {cpu / bio_s:.3f} "
          f"of it, loop CPU {loop_cpu / bio_s:.3f}; {first}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per simulator after an untimed one")
    ap.add_argument("--runtime-ms", type=float, default=1000.0, help="biological ms per timed run")
    ap.add_argument("--brian2-python", default=BRIAN2_PYTHON, help="the Python of Brian2's venv")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of bss2emu local (the run option host_threads; default: the cores)")
    ap.add_argument("--skip", nargs="*", default=["per-chip"], choices=list(RUNNERS),
                    help="runners to leave out (default: per-chip)")
    ap.add_argument("--nest-child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.nest_child:
        path, repeat, bio_ms = args.nest_child
        print(json.dumps(run_nest(np.load(path, allow_pickle=True)["net"].item(), int(repeat), float(bio_ms))))
        return
    runners = [s for s in RUNNERS if s not in args.skip]
    if "brian2" in runners and not os.path.exists(args.brian2_python):
        print(f"Brian2 skipped: no interpreter at {args.brian2_python} (see the docstring)")
        runners.remove("brian2")
    if "nest" in runners:
        try:
            __import__("nest")
        except Exception:  # any failure: NEST is unavailable here
            print("NEST skipped: it does not import")
            runners.remove("nest")
    bio_s = args.runtime_ms / 1e3
    print(f"vs_peers on {os.cpu_count()} CPUs, python {sys.version.split()[0]}; {args.repeat} timed runs of "
          f"{args.runtime_ms:g} ms biological each; wall seconds per biological second: min / median. "
          f"Brian2 (Cython) and NEST run on one thread; bss2emu local on the threads shown beside it "
          f"(local-1t: one), packed on one per Ray actor. Timed per call: local, local-1t, packed, per-chip a whole "
          f"bss2emu.run of 1 s (set-up and results included); local-cont 1 s more of one configured run (its "
          f"results from time 0 included), as Brian2's Network.run and NEST's Simulate continue theirs")
    summary = []
    for n in args.neurons:
        exp, system = experiment_for(n, args.runtime_ms)
        net = network_arrays(exp, system)
        print(f"\n== {n} neurons ({system or 'one chip'}), {len(net['pre'])} synapses; load average "
              f"{os.getloadavg()[0]:.1f}")
        found = {}
        for r in runners:
            if r in BSS2EMU:
                threads = {"local": args.threads, "local-cont": args.threads, "local-1t": 1}.get(r)
                opts = {} if threads is None else {"host_threads": threads}
                if r == "local-cont":
                    m = run_bss2emu_continued(experiment_for(n, args.runtime_ms * (1 + args.repeat))[0], system,
                                              args.repeat, args.runtime_ms, **opts)
                else:
                    m = run_bss2emu(exp, system, BSS2EMU[r], args.repeat, **opts)
            else:
                m = run_child(r, net, args.repeat, args.runtime_ms, args.brian2_python)
                if m is None:
                    continue
            found[r] = m
            t = [x / bio_s for x in m["times"]]
            print(f"  {r:10s} {min(t):8.3f} / {statistics.median(t):8.3f} s   rate {m['rate_hz']:5.1f} Hz"
                  + (f"   ({m['hosts']} hosts)" if "hosts" in m and r in ("packed", "per-chip") else "")
                  + (f"   ({m['threads']} thread{'s' if m['threads'] > 1 else ''}"
                     + (f"; on them in {m['parallel_calls'][0]} of {m['parallel_calls'][1]} calls, the others on one"
                        if m["threads"] > 1 else "") + ")" if r.startswith("local") else "")
                  + ("   (one thread)" if r in ("brian2", "nest") else "")
                  + (f"   ({r} {m['version']})" if "version" in m else ""))
            if m.get("where"):
                print(f"           {m['where']}")
            if r.startswith("local"):
                print_local_breakdown(m, bio_s, continued=r == "local-cont")
        if "local" in found:
            base_min, base_med = min(found["local"]["times"]), statistics.median(found["local"]["times"])
            for r, m in found.items():
                if r != "local":
                    print(f"  {r} / local: {min(m['times']) / base_min:6.2f}x (mins)  "
                          f"{statistics.median(m['times']) / base_med:6.2f}x (medians)")
        for peer in ("brian2", "nest"):  # how many times faster than each peer (> 1: bss2emu is faster)
            if peer in found:
                print(f"  {peer} / " + ", ".join(f"{r} {min(found[peer]['times']) / min(m['times']):.2f}x"
                                                 for r, m in found.items() if r in BSS2EMU))
        summary.append((n, found))
        print(f"  load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
