"""Faults: the service killed (SIGKILL) with jobs queued and running and started again; a
Ray worker killed mid-job; clients that disconnect while they wait. Every loop is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from service_helpers import GatedSystems, add_user, one_neuron

import bss2emu
from bss2emu.service.core import ServiceConfig
from bss2emu.service.serve import BackgroundService, serve_in_subprocess

REPO = Path(__file__).resolve().parents[2]


def start_server(db: Path) -> tuple[subprocess.Popen, str]:
    """``bss2emu serve`` in a subprocess on a free loopback port; (process, URL)."""
    proc, url = serve_in_subprocess(db, "--backend", "local", "--systems", "1", cwd=REPO)
    assert url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
    return proc, url


def wait_until(predicate, timeout_s: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def test_sigkill_with_jobs_queued_and_running_then_restart(tmp_path):
    db = tmp_path / "db.sqlite"
    tokens = {name: add_user(db, name) for name in ("ada", "bob")}
    experiments = {}
    proc, url = start_server(db)
    try:
        clients = {name: bss2emu.Client(url, tok) for name, tok in tokens.items()}
        for i in range(10):
            user = "ada" if i % 3 else "bob"
            exp = one_neuron(seed=i, runtime_us=3000, name=f"job {i}")
            experiments[clients[user].submit(exp).id] = (user, exp)
        def killable():  # two jobs done and one running: the moment to pull the plug
            now = {j["id"]: j["state"] for name in clients for j in clients[name].jobs()}
            done = sum(state == "done" for state in now.values())
            return now if done >= 2 and "running" in now.values() and "queued" in now.values() else None

        # jobs are short: between two of them none runs, so wait for a look that sees one running
        states = wait_until(killable, what="two done jobs, one running, some queued")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    assert "running" in states.values() and "queued" in states.values(), states
    # the look came a moment before the kill: the job it saw running may have finished since,
    # and the next one started, so the job cut by the kill is one not yet done at the look
    done_at_look = {j for j, s in states.items() if s == "done"}

    proc, url = start_server(db)  # the same database: it recovers
    restarted = []
    try:
        clients = {name: bss2emu.Client(url, tok) for name, tok in tokens.items()}
        for job_id, (user, exp) in experiments.items():
            job = clients[user].job(job_id)
            res = job.result(timeout=120, progress=False)
            assert job.info["state"] == "done" and job.info["error"] is None
            assert res.spikes.equals(bss2emu.run(exp).spikes), f"job {job_id} differs from its local run"
            assert res.metadata["service_job"]["id"] == job_id
            # the results are those of the job's last start; only a job that ran at the kill started twice
            assert res.metadata["service_job"]["attempt"] == job.info["attempts"]
            assert job.info["attempts"] in (1, 2), job.info
            if job.info["attempts"] == 2:
                restarted.append(job_id)
        # one system runs one job at a time: the kill cuts at most one, and never a finished one
        assert len(restarted) <= 1 and not done_at_look & set(restarted), (restarted, states)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    results = tmp_path / "results"
    assert sorted(p.name for p in results.iterdir()) == sorted(experiments)  # one each, no leftovers


def test_clients_that_disconnect_while_waiting(start_service, tmp_path):
    gated = GatedSystems(1)
    svc = start_service(systems=gated)
    job = svc.client().submit(one_neuron(seed=5))
    assert gated.waiting.acquire(timeout=30)
    host, port = svc.url.removeprefix("http://").split(":")
    for _ in range(5):  # raw long polls, dropped after a moment
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(f"GET /jobs/{job.id}?wait=30 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {svc.tokens['ada']}"
                  f"\r\n\r\n".encode())
        time.sleep(0.1)
        s.close()
    with pytest.raises(bss2emu.service.ServiceError, match="cannot reach|timed out"):  # a client-side timeout
        svc.client().job(job.id).client.request("GET", f"/jobs/{job.id}?wait=30", timeout_s=0.3)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "BSS2EMU_SERVICE": svc.url, "BSS2EMU_TOKEN": svc.tokens["ada"]}
    fetcher = subprocess.Popen([sys.executable, "-m", "bss2emu", "fetch", job.id, "--out", str(tmp_path / "out")],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)  # it is waiting now
    fetcher.kill()
    fetcher.wait(30)
    assert not (tmp_path / "out").exists()
    t0 = time.monotonic()
    assert svc.client().health()["status"] == "ok" and time.monotonic() - t0 < 5
    gated.gate.set()
    res = job.result(timeout=60, progress=False)
    assert res.spikes.equals(bss2emu.run(one_neuron(seed=5)).spikes)
    assert job.info["attempts"] == 1


def test_a_ray_worker_killed_mid_job(ray_cluster, tmp_path):
    import ray

    from bss2emu.cluster.systems import RaySystems

    db = tmp_path / "db.sqlite"
    token = add_user(db, "ada")
    systems = RaySystems(1)
    exp = one_neuron(seed=11, runtime_us=600_000)
    with BackgroundService(ServiceConfig(db=db, backend="ray", max_attempts=2), systems=systems) as bg:
        client = bss2emu.Client(bg.url, token)
        job = client.submit(exp)
        wait_until(lambda: (job.refresh()["state"] == "running" and (job.info["progress"] or 0) > 0.05),
                   timeout_s=120, what="the job to be under way on its actor")
        victim = systems.actor(0)
        ray.kill(victim)
        res = job.result(timeout=180, progress=False)
        assert job.info["attempts"] == 2 and job.info["state"] == "done"
        assert systems.actor(0) is not None and systems.actor(0) != victim  # a new worker
        assert res.spikes.equals(bss2emu.run(exp).spikes)
        # a job whose worker dies on its last allowed attempt fails with the reason
        bg.service.config.max_attempts = 1
        job = client.submit(one_neuron(seed=12, runtime_us=600_000))
        wait_until(lambda: (job.refresh()["state"] == "running" and (job.info["progress"] or 0) > 0.05),
                   timeout_s=120, what="the second job to be under way")
        ray.kill(systems.actor(0))
        final = job.wait(120, progress=False)
        assert final["state"] == "failed" and "died" in final["error"] and "attempt 1 of 1" in final["error"]
        # an idle system ends its actor (frees the worker process); the next job starts a new one
        assert job.client.submit(one_neuron(seed=13)).result(timeout=120, progress=False).spikes.num_rows > 0
        assert systems.actor(0) is not None
        bg.service.config.idle_release_s = 0.2
        wait_until(lambda: systems.actor(0) is None, timeout_s=30, what="the idle actor to be released")


def test_a_graceful_stop_requeues_the_running_job(tmp_path):
    db = tmp_path / "db.sqlite"
    token = add_user(db, "ada")
    exp = one_neuron(seed=3, runtime_us=800_000)
    with BackgroundService(ServiceConfig(db=db)) as bg:
        job = bss2emu.Client(bg.url, token).submit(exp)
        wait_until(lambda: (job.refresh()["state"] == "running" and (job.info["progress"] or 0) > 0.02),
                   what="the job to be under way")
    row = bg.service.db.job(job.id)
    assert row.state == "queued" and "service stopped" in row.error  # not "cancelled by its user"
    with BackgroundService(ServiceConfig(db=db)) as bg:
        job = bss2emu.Client(bg.url, token).job(job.id)
        res = job.result(timeout=120, progress=False)
        assert job.info["attempts"] == 2 and res.spikes.equals(bss2emu.run(exp).spikes)
