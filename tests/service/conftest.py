"""The ``start_service`` fixture: services in this process (a thread, the in-process
pool), bound to 127.0.0.1 on a free port, with users ``ada`` and ``bob``."""

from __future__ import annotations

import pytest
from service_helpers import GatedSystems, Running, add_user

from bss2emu.service.core import ServiceConfig
from bss2emu.service.serve import BackgroundService


@pytest.fixture
def start_service(tmp_path):
    """``start_service(systems=None, users={"ada": {}, "bob": {}}, **config)`` → a running service."""
    started: list[BackgroundService] = []

    def start(systems=None, users=None, **config) -> Running:
        db = tmp_path / "db.sqlite"
        tokens = {name: add_user(db, name, **quotas) for name, quotas in (users or {"ada": {}, "bob": {}}).items()}
        bg = BackgroundService(ServiceConfig(db=db, **config), systems=systems).start()
        started.append(bg)
        return Running(bg.url, tokens, bg)

    yield start
    for bg in started:
        if isinstance(bg.service.systems, GatedSystems):
            bg.service.systems.gate.set()
        bg.stop()
