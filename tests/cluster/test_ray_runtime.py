"""The embedded Ray is a local runtime: it listens on loopback only and leaves no process
behind when its driver is killed with SIGKILL (the watchdog ends them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bss2emu.cluster import _reaper

# IPv4 127.0.0.1 as /proc/net/tcp writes it, and IPv4-mapped ::ffff:127.0.0.1 / ::1 in tcp6
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_embedded_ray_listens_on_loopback_and_dies_with_its_killed_driver():
    script = Path(__file__).with_name("embedded_ray_driver.py")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-3000:] if proc.poll() is not None else "no output"
        found = json.loads(line)
        _check_and_kill(proc, found)
    finally:
        proc.kill()


def _check_and_kill(proc: subprocess.Popen, found: dict) -> None:
    tracked = {int(p): t for p, t in found["pids"].items()}
    kinds = set()
    for pid in tracked:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            kind = fh.read().split(b"\0")[0].decode(errors="replace").rsplit("/", 1)[-1]
        # an actor's title is ``ray::Class`` when idle and ``ray::Class.method`` while it runs one
        kinds.add(kind.split(".", 1)[0] if kind.startswith("ray::") else kind)
    assert found["windows"] > 0
    # GCS, raylet, its two agents, chip hosts, workers; no monitor, log monitor or dashboard
    assert {"gcs_server", "raylet", "ray::PeerHost"} <= kinds, kinds
    assert not any("monitor" in k or "dashboard.py" in k for k in kinds), kinds
    assert found["listen_hex"] and set(found["listen_hex"]) <= LOOPBACK_HEX, found["listen_hex"]

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 60  # the watchdog polls every 0.5 s and allows 2 s of grace
    alive = tracked
    while time.monotonic() < deadline:
        alive = {p: t for p, t in tracked.items() if _reaper._start_time(p) == t}
        if not alive:
            break
        time.sleep(0.25)
    assert not alive, f"left behind after the driver's SIGKILL: {sorted(alive)}"


def test_a_given_address_is_used_as_is(monkeypatch):
    import ray

    from bss2emu.cluster import ray_runtime

    calls = []
    monkeypatch.setattr(ray, "init", lambda **kw: calls.append(kw))
    monkeypatch.setattr(ray_runtime, "start_watchdog", lambda: calls.append("watchdog"))
    ray_runtime.init_ray("ray://head.example:10001", log_to_driver=False)
    assert calls == [{"address": "ray://head.example:10001", "log_to_driver": False}]


def test_the_embedded_start_is_loopback_without_monitors_and_explains_the_token_once(monkeypatch, tmp_path, caplog):
    import logging

    import ray
    from ray._private import node, parameter, ray_constants

    from bss2emu.cluster import ray_runtime

    seen = {}

    def fake_init(**kw):
        seen.update(kw, cluster=ray_constants.ENABLE_RAY_CLUSTER, env=os.environ.get(ray_runtime.CLUSTER_MODE_ENV),
                    params=parameter.RayParams(), api=node.Node.start_api_server(None))
        logging.getLogger("ray._private.authentication.authentication_token_setup").warning(
            "Token authentication is enabled for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out.")

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray_runtime, "start_watchdog", lambda: None)
    monkeypatch.delenv(ray_runtime.AUTH_MODE_ENV, raising=False)
    monkeypatch.setattr(ray_runtime, "TOKEN_PATH", tmp_path / "auth_token")
    before = ray_constants.ENABLE_RAY_CLUSTER
    with caplog.at_level(logging.INFO):
        ray_runtime.init_ray(None)
    assert seen["address"] == "local" and seen["_node_ip_address"] == "127.0.0.1"
    assert seen["include_dashboard"] is False and seen["cluster"] is False and seen["env"] == "0"
    assert seen["params"].no_monitor is True and seen["params"].include_log_monitor is False
    assert seen["api"] is None
    assert ray_constants.ENABLE_RAY_CLUSTER == before  # restored: a later address= resolves normally
    assert parameter.RayParams().no_monitor is False
    messages = [r.getMessage() for r in caplog.records]
    assert not any(m.startswith("Token authentication is enabled") for m in messages)  # Ray's, dropped
    assert sum("token authentication" in m and "shown once" in m for m in messages) == 1
    (tmp_path / "auth_token").write_text("t")  # Ray has made it: no note the next time
    caplog.clear()
    ray_runtime.init_ray(None)
    assert not any("shown once" in r.getMessage() for r in caplog.records)
