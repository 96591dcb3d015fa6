"""Running the service: ``serve`` (what ``bss2emu serve`` runs, in the foreground) and
``BackgroundService`` (the same in a thread of this process, for tests, benchmarks and
notebooks). Both bind the socket first, so port 0 gets a free port, and both say where the
service listens only once it accepts connections.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import ConfigError
from .core import ExperimentService, ServiceConfig, check_config
from .errors import ServiceError
from .server import create_app

LOOPBACK = "127.0.0.1"
ANNOUNCEMENT = "bss2emu service on "  # the line `bss2emu serve` prints once it accepts connections


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port} is out of range 0..65535 (0 picks a free port)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or err}; choose another --host or "
                          f"--port (0 picks a free port)") from None
    sock.listen(2048)
    return sock


def _server(service: ExperimentService):
    import uvicorn

    config = uvicorn.Config(create_app(service), log_level="warning", access_log=False, timeout_keep_alive=30,
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def serve(config: ServiceConfig, host: str = LOOPBACK, port: int = 8000) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it gracefully)."""
    check_config(config)
    sock = bind(host, port)
    service = ExperimentService(config)
    server = _server(service)
    url = f"http://{host}:{sock.getsockname()[1]}"
    threading.Thread(target=_announce, args=(server, url, service), daemon=True).start()
    server.run(sockets=[sock])


def _announce(server, url: str, service: ExperimentService) -> None:
    for _ in range(6000):  # up to 60 s for the start-up (recovery, Ray)
        if server.started:
            print(f"{ANNOUNCEMENT}{url} — {len(service.systems)} {service.systems.kind} system(s), "
                  f"database {service.config.db}", flush=True)
            return
        time.sleep(0.01)


def serve_in_subprocess(db: str | Path, *options: str, timeout_s: float = 120.0,
                        cwd: str | Path | None = None) -> tuple[subprocess.Popen, str]:
    """``bss2emu serve --port 0 --db DB OPTIONS…`` in a child process of this interpreter
    (with ``cwd`` first on its path, so a checkout runs its own code); returns (process, URL)
    once it accepts connections. For tests and benchmarks that kill or load a real server."""
    env = dict(os.environ)
    if cwd is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(cwd), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-m", "bss2emu", "serve", "--port", "0", "--db", str(db), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if line.startswith(ANNOUNCEMENT):
            return proc, line[len(ANNOUNCEMENT):].split()[0]
    proc.kill()
    raise ServiceError(f"`bss2emu serve --db {db}` did not start within {timeout_s:g} s; its output:\n"
                       + "".join(seen))


class BackgroundService:
    """A service in a thread of this process: ``with BackgroundService(config) as svc: svc.url``."""

    def __init__(self, config: ServiceConfig, host: str = LOOPBACK, port: int = 0, systems=None) -> None:
        check_config(config)
        self.sock = bind(host, port)
        self.service = ExperimentService(config, systems)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self._server = _server(self.service)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.sock]},
                                        name="bss2emu-service", daemon=True)

    @property
    def app(self):
        """The FastAPI application (its ``openapi()`` is the service's schema)."""
        return self._server.config.app

    def start(self) -> "BackgroundService":
        self._thread.start()
        for _ in range(6000):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            time.sleep(0.01)
        raise ConfigError(f"the service at {self.url} did not start; see the log above")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(60)
        self.sock.close()
        if self._thread.is_alive():
            print("bss2emu: the background service did not stop within 60 s", file=sys.stderr)

    def __enter__(self) -> "BackgroundService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
