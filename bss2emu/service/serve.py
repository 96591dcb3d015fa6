"""Running the service: ``serve`` (what ``bss2emu serve`` runs, in the foreground) and
``BackgroundService`` (the same in a thread of this process, for tests, benchmarks and
notebooks). Both bind the socket first, so port 0 gets a free port, and both say where the
service listens only once it accepts connections.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

from ..errors import ConfigError
from .core import ExperimentService, ServiceConfig, check_config
from .server import create_app

LOOPBACK = "127.0.0.1"


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror}; choose another --port "
                          f"(0 picks a free one)") from None
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
            print(f"bss2emu service on {url} — {len(service.systems)} {service.systems.kind} system(s), "
                  f"database {service.config.db}", flush=True)
            return
        time.sleep(0.01)


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
