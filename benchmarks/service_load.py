#!/usr/bin/env python3
"""Load and fairness of the experiment service: U users submit N single-neuron experiments
each, all at once, over loopback, and wait for their results.

Run from the repository root::

    python benchmarks/service_load.py                          # 8 users x 50, Ray pool of 2 systems
    python benchmarks/service_load.py --backend local --systems 1
    python benchmarks/service_load.py --users 4 --jobs 20 --runtime-us 200

The service runs as ``bss2emu serve`` in its own process (a fresh database in a temporary
directory, one user per client); the clients are threads of this process using
``bss2emu.Client``: each submits its N jobs back to back, then waits for each (long poll)
and downloads its results (``Job.result``), which is what "end to end" means below.

Printed figures
---------------
* all finished: every job done, each with results whose spike count matches the job's;
* throughput: jobs / (last result downloaded − first submission started), experiments/s;
* latency per job, p50 / p95 / max: client-side (submit call → results downloaded) and
  service-side (submitted → finished, from the job's timestamps);
* fairness: the jobs in the order the service started them; while every user still had a
  job queued ("all backlogged"), each user's share of the started units and its deviation
  from the fair share 1/U (the issue asks for at most ±10 %).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import bss2emu  # noqa: E402
from bss2emu.service.auth import new_token  # noqa: E402
from bss2emu.service.db import Database  # noqa: E402
from bss2emu.service.serve import serve_in_subprocess  # noqa: E402


def single_neuron(user: int, k: int, runtime_us: float) -> dict:
    """One driven neuron, a different constant current per job (one topology per user)."""
    return {"name": f"u{user}-{k}", "runtime_us": runtime_us, "chip": {"serial": 5},
            "populations": [{"name": "n", "size": 1, "params": {"i_const": 700 + (k * 7) % 300}}]}


def start_server(db: Path, backend: str, systems: int) -> tuple[subprocess.Popen, str]:
    return serve_in_subprocess(db, "--backend", backend, "--systems", str(systems), "--max-queued", "1000",
                               timeout_s=180, cwd=REPO)


def user_thread(client: bss2emu.Client, user: int, n: int, runtime_us: float, out: list, errors: list) -> None:
    try:
        submitted = []
        for k in range(n):
            t0 = time.perf_counter()
            submitted.append((client.submit(single_neuron(user, k, runtime_us)), t0))
        for job, t0 in submitted:
            res = job.result(timeout=600, progress=False)
            t1 = time.perf_counter()
            out.append({"user": user, "t0": t0, "t1": t1, "info": dict(job.info), "spikes": res.spikes.num_rows})
    except Exception as err:  # reported with the figures
        errors.append(f"user {user}: {type(err).__name__}: {err}")


def fairness(records: list[dict], users: int) -> dict[int, int]:
    """Per user, the units started while every user had one queued."""
    jobs = sorted(records, key=lambda r: r["info"]["started_at"])
    submitted = np.array([r["info"]["submitted_at"] for r in jobs])
    started = np.array([r["info"]["started_at"] for r in jobs])
    owner = np.array([r["user"] for r in jobs])
    counts = dict.fromkeys(range(users), 0)
    for r in jobs:
        t = r["info"]["started_at"]
        waiting = (submitted <= t) & (started >= t)  # queued at t (the one starting now included)
        if len(set(owner[waiting].tolist())) == users:
            counts[r["user"]] += 1
    return counts


def main(argv: list[str] | None = None) -> dict:
    """Run the load; print the figures and return them."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--jobs", type=int, default=50, help="experiments per user")
    ap.add_argument("--runtime-us", type=float, default=100.0, help="hardware µs per experiment (0.1 s bio)")
    ap.add_argument("--backend", choices=("ray", "local"), default="ray")
    ap.add_argument("--systems", type=int, default=2)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bss2emu-service-load-"))
    db = Database(tmp / "db.sqlite")
    tokens = []
    for u in range(args.users):
        token, token_id, salt, digest = new_token()
        db.add_user(f"user{u}", token_id, salt, digest)
        tokens.append(token)
    db.close()
    proc, url = start_server(tmp / "db.sqlite", args.backend, args.systems)
    try:
        # warm-up: every system's first run loads the numba kernels (and starts its actor)
        warm = bss2emu.Client(url, tokens[0])
        for job in [warm.submit(single_neuron(0, 999, args.runtime_us)) for _ in range(2 * args.systems)]:
            job.result(timeout=300, progress=False)
        records: list[dict] = []
        errors: list[str] = []
        threads = [threading.Thread(target=user_thread, args=(bss2emu.Client(url, tokens[u]), u, args.jobs,
                                                              args.runtime_us, records, errors))
                   for u in range(args.users)]
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(1200)
        t_end = time.perf_counter()
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()

    n = args.users * args.jobs
    done = [r for r in records if r["info"]["state"] == "done" and r["spikes"] == r["info"]["spikes"]]
    client_lat = np.array([r["t1"] - r["t0"] for r in records])
    service_lat = np.array([r["info"]["finished_at"] - r["info"]["submitted_at"] for r in records])
    first_submit = min(r["t0"] for r in records) if records else t_start
    last_result = max(r["t1"] for r in records) if records else t_end
    print(f"service load: {args.users} users x {args.jobs} single-neuron experiments ({args.runtime_us:g} µs "
          f"hardware each), backend {args.backend}, {args.systems} system(s), loopback {url}")
    print(f"  all finished:      {len(done)} of {n} done with their results" + (f"; errors: {errors}" if errors else ""))
    figures = {"jobs": n, "done": len(done), "errors": errors}
    if not records:
        return figures
    print(f"  throughput:        {len(records) / (last_result - first_submit):.1f} experiments/s end to end "
          f"({len(records)} in {last_result - first_submit:.2f} s)")
    for name, lat in (("client latency", client_lat), ("service latency", service_lat)):
        print(f"  {name + ':':<18} p50 {np.percentile(lat, 50):.2f} s, p95 {np.percentile(lat, 95):.2f} s, "
              f"max {lat.max():.2f} s")
    run_s = np.array([r["info"]["run_s"] for r in records])
    restored = sum(bool(r["info"]["restored"]) for r in records)
    print(f"  run time per job:  p50 {1e3 * np.percentile(run_s, 50):.1f} ms; configuration restored for "
          f"{restored} of {len(records)} units (user changed on the system)")
    counts = fairness(records, args.users)
    units = sum(counts.values())
    shares = {u: (c / units if units else float("nan")) for u, c in counts.items()}
    worst = max(abs(s * args.users - 1) for s in shares.values()) if units else float("nan")
    print(f"  fairness:          {units} units started while all {args.users} users were backlogged; shares "
          + " ".join(f"{s:.3f}" for s in shares.values()) + f" (fair {1 / args.users:.3f}); worst deviation "
          f"{100 * worst:.1f} % of fair")
    figures.update(throughput=len(records) / (last_result - first_submit), counts=counts,
                   client_p50_s=float(np.percentile(client_lat, 50)), client_p95_s=float(np.percentile(client_lat, 95)))
    return figures


if __name__ == "__main__":
    result = main()
    sys.exit(0 if result["done"] == result["jobs"] and not result["errors"] else 1)
