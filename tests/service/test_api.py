"""The service over HTTP with its Python client: results as a local run gives them,
refusals with their reasons, quotas, cancellation, per-user round-robin."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

import bss2emu
from bss2emu.service import (
    AuthenticationError, JobFailedError, JobNotFoundError, QuotaExceededError, RequestRejectedError,
)

from service_helpers import GatedSystems, one_neuron


def assert_same_results(remote: bss2emu.Results, local: bss2emu.Results) -> None:
    for name in ("spikes", "madc", "cadc", "ppu", "links"):
        assert remote.tables[name].equals(local.tables[name]), name
    for key in ("experiment", "seed", "runtime_us", "steps", "populations", "madc"):
        assert remote.metadata.get(key) == local.metadata.get(key), key


def test_result_is_the_local_runs(start_service):
    svc = start_service()
    exp = one_neuron(seed=4)
    job = svc.client().submit(exp)
    assert len(job.id) == 24 and job.info["state"] in ("queued", "running")
    remote = job.result(timeout=120, progress=False)
    local = bss2emu.run(exp)
    assert local.spikes.num_rows > 2  # the comparison is about something
    assert_same_results(remote, local)
    info = job.refresh()
    assert info["state"] == "done" and info["spikes"] == local.spikes.num_rows and info["attempts"] == 1
    assert info["started_at"] >= info["submitted_at"] and info["finished_at"] >= info["started_at"]
    # bss2emu.run(service=…) and Client.job(id) give the same
    assert_same_results(bss2emu.run(exp, service=svc.url, token=svc.tokens["ada"]), local)
    assert_same_results(svc.client().job(job.id).result(timeout=5), local)


def test_a_file_and_a_model_submit_alike(start_service, tmp_path):
    svc = start_service()
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(one_neuron(seed=2)))
    a = svc.client().submit(path).result(timeout=60, progress=False)
    b = svc.client().submit(bss2emu.Experiment(**one_neuron(seed=2))).result(timeout=60, progress=False)
    assert a.spikes.equals(b.spikes) and a.spikes.num_rows > 0


def test_refusals_name_the_reason(start_service):
    svc = start_service(users={"ada": {"max_runtime_us": 500}, "bob": {}})
    ada = svc.client()
    with pytest.raises(RequestRejectedError, match=r"runtime_us=1000 is more than .* \(500 µs\)"):
        ada.submit(one_neuron(runtime_us=1000))
    with pytest.raises(RequestRejectedError, match="600 neuron circuits"):
        ada.submit({"runtime_us": 10, "populations": [{"name": "p", "size": 600}]})
    with pytest.raises(RequestRejectedError, match="kernel 'os:system' is not in a module this service allows"):
        ada.submit({**one_neuron(), "plasticity": [{"name": "k", "kernel": "os:system", "period_us": 5}]})
    with pytest.raises(RequestRejectedError, match="v_leak"):
        ada.submit({"runtime_us": 10, "populations": [{"name": "p", "size": 1, "params": {"v_leak": 5000}}]})
    with pytest.raises(RequestRejectedError, match="chips"):
        ada.submit(one_neuron(), chips=16)
    with pytest.raises(RequestRejectedError, match="larger than this service accepts"):
        ada.submit({"runtime_us": 10, "name": "x", "sources": [{"kind": "spike_array", "name": "s", "size": 1,
                                                                 "spike_times_us": [[1.0] * 400_000]}]})
    assert ada.jobs() == []  # nothing was queued
    with pytest.raises(AuthenticationError, match="not known"):
        bss2emu.Client(svc.url, "bss2_0123456789abcdef_" + "A" * 43).jobs()


def test_quotas_refuse_clearly(start_service):
    svc = start_service(systems=GatedSystems(1), users={"ada": {"max_queued": 2}, "bob": {"budget_us": 250}})
    ada, bob = svc.client("ada"), svc.client("bob")
    first, second = ada.submit(one_neuron()), ada.submit(one_neuron(seed=1))
    with pytest.raises(QuotaExceededError, match="2 jobs queued or running, the quota is 2"):
        ada.submit(one_neuron(seed=2))
    second.cancel()  # room again
    third = ada.submit(one_neuron(seed=3))
    bob.submit(one_neuron(runtime_us=200))
    with pytest.raises(QuotaExceededError, match="used 200 of an emulated-time budget of 250"):
        bob.submit(one_neuron(runtime_us=100))
    assert bob.me()["used_us"] == 200 and ada.me()["active_jobs"] == 2
    svc.service.systems.gate.set()
    assert first.wait(60)["state"] == "done" and third.wait(60)["state"] == "done"


def test_round_robin_per_user_and_queue_positions(start_service):
    gated = GatedSystems(1)
    svc = start_service(systems=gated)
    ada, bob = svc.client("ada"), svc.client("bob")
    blocker = ada.submit(one_neuron(seed=99))
    assert gated.waiting.acquire(timeout=30)  # the system is busy with it
    ada_jobs = [ada.submit(one_neuron(i_const=800 + 20 * i)) for i in range(6)]  # one topology, new parameters
    bob_job = bob.submit(one_neuron(seed=50))
    positions = [j.refresh()["queue_position"] for j in ada_jobs]
    assert positions == [0, 2, 3, 4, 5, 6] and bob_job.refresh()["queue_position"] == 1
    assert blocker.refresh()["state"] == "running" and blocker.info["queue_position"] is None
    gated.gate.set()
    for j in [blocker, bob_job, *ada_jobs]:
        assert j.wait(60)["state"] == "done"
    order = sorted([bob_job, *ada_jobs], key=lambda j: j.info["started_at"])
    assert [j.id for j in order] == [ada_jobs[0].id, bob_job.id] + [j.id for j in ada_jobs[1:]]
    # the system's configuration was restored when the user changed, kept across ada's run of units
    restored = [j.info["restored"] for j in order]
    assert restored[:3] == [True, True, True] and restored[3:] == [False] * 4


def test_cancel_and_delete(start_service):
    gated = GatedSystems(1)
    svc = start_service(systems=gated)
    ada = svc.client()
    running = ada.submit(one_neuron(runtime_us=20_000))
    assert gated.waiting.acquire(timeout=30)
    queued = ada.submit(one_neuron())
    assert queued.cancel() == "cancelled"
    with pytest.raises(JobFailedError, match="cancelled"):
        queued.result(timeout=5)
    assert running.cancel() == "running"  # asked; it stops at its next window
    gated.gate.set()
    final = running.wait(60)
    assert final["state"] == "cancelled" and "while it ran" in final["error"]
    done = ada.submit(one_neuron())
    done.result(timeout=60)
    assert (svc.service.results_dir / done.id).is_dir()
    done.delete()
    assert not (svc.service.results_dir / done.id).exists()
    with pytest.raises(JobNotFoundError):
        done.status()


def test_page_signs_in_with_a_cookie_for_reading_only(start_service):
    svc = start_service()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(svc.url + "/")
    assert err.value.code == 401 and b"<form" in err.value.read()
    page = opener.open(svc.url + "/?token=" + svc.tokens["ada"]).read().decode()  # follows the 303
    assert "bss2emu experiment service" in page and "/jobs" in page
    assert opener.open(svc.url + "/jobs").read() == b"[]"  # the cookie reads
    body = json.dumps({"experiment": one_neuron()}).encode()
    with pytest.raises(urllib.error.HTTPError) as err:  # ... but does not submit
        opener.open(urllib.request.Request(svc.url + "/jobs", data=body, headers={"Content-Type": "application/json"}))
    assert err.value.code == 401


def test_idle_systems_are_released(start_service):
    svc = start_service(idle_release_s=0.2)
    ada = svc.client()
    a = ada.submit(one_neuron())
    a.result(timeout=60)
    system = svc.service.systems.systems[0]
    for _ in range(200):  # bounded: 10 s
        if system.loaded is None:
            break
        time.sleep(0.05)
    assert system.loaded is None
    b = ada.submit(one_neuron(seed=1))
    b.result(timeout=60)
    assert a.info["restored"] is True and b.refresh()["restored"] is True  # released in between
