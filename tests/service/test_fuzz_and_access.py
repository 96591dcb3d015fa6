"""Hostile input and access: requests generated from the service's OpenAPI schema (valid and
invalid) get answers below 500 and no hang; every endpoint but the health check refuses a
request without a token, and another user's job answers as if it did not exist."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from service_helpers import one_neuron

import bss2emu


@pytest.fixture
def fuzz_target(start_service):
    # short jobs on one chip: what the fuzzer's valid experiments queue runs quickly
    return start_service(max_runtime_us=200.0, max_chips=1, max_queued=100_000)


@pytest.fixture
def api_schema(fuzz_target):
    schema = schemathesis.openapi.from_dict(fuzz_target.background.app.openapi())
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    # explicit examples and random fuzzing; the coverage phase's ~1700 boundary cases of an
    # experiment take minutes, more than this suite can spend
    schema.config.phases.update(phases=["examples", "fuzzing"])
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzzed_requests_are_answered_below_500(case, fuzz_target):
    headers = {"Authorization": f"Bearer {fuzz_target.tokens['ada']}"}
    response = case.call(base_url=fuzz_target.url, headers=headers, timeout=15)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    unauthenticated = case.call(base_url=fuzz_target.url, headers={"Authorization": ""}, timeout=15)
    expected = {200, 405} if case.path == "/health" else {401}  # the token is checked before anything else
    assert unauthenticated.status_code in expected, (case.method, case.path, unauthenticated.status_code)


def _call(url: str, method: str, token: str | None) -> int:
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_every_endpoint_refuses_strangers_and_other_users(start_service):
    svc = start_service()
    job = svc.client("ada").submit(one_neuron())
    job.result(timeout=60, progress=False)
    routes = [(m.upper(), path) for path, ops in svc.background.app.openapi()["paths"].items() for m in ops]
    routes.append(("GET", "/openapi.json"))
    assert len(routes) == 11  # every endpoint: a new one must be added to the checks below
    for method, path in routes:
        url = svc.url + path.replace("{job_id}", job.id)
        if path == "/health":
            assert _call(url, method, None) == 200
            continue
        assert _call(url, method, None) == 401, (method, path)
        assert _call(url, method, "bss2_0000000000000000_" + "x" * 43) == 401, (method, path)
        if "{job_id}" in path:
            assert _call(url, method, svc.tokens["bob"]) == 404, (method, path)  # as if it did not exist
    assert svc.client("bob").jobs() == []
    bob_view = bss2emu.Client(svc.url, svc.tokens["bob"])
    with pytest.raises(bss2emu.service.JobNotFoundError):
        bob_view.job(job.id)
    assert job.status() == "done" and (svc.service.results_dir / job.id).is_dir()  # bob changed nothing
