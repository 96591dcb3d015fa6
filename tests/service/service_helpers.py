"""Helpers of the service tests: in this process (a thread, the in-process pool), bound
to 127.0.0.1 on a free port, with two users ``ada`` and ``bob``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import bss2emu
from bss2emu.cluster.systems import LocalSystems
from bss2emu.service import auth
from bss2emu.service.core import ServiceConfig
from bss2emu.service.serve import BackgroundService


def one_neuron(seed: int = 0, runtime_us: float = 100.0, i_const: int = 900, name: str = "one neuron") -> dict:
    """A single driven neuron: a few spikes, ~10 ms to run."""
    return {"name": name, "seed": seed, "runtime_us": runtime_us, "chip": {"serial": 3},
            "populations": [{"name": "n", "size": 1, "params": {"i_const": i_const}}],
            "recordings": {"madc": {"population": "n", "every_steps": 10}}}


def add_user(db_path: Path, name: str, **quotas) -> str:
    return auth.add_user(str(db_path), name, **quotas)


class GatedSystems(LocalSystems):
    """In-process systems that start a run only when the test opens the gate."""

    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.gate = threading.Event()
        self.waiting = threading.Semaphore(0)

    def run(self, slot, exp, system, chips, owner, progress=None, run_id=None, partitioner="metis"):
        self.waiting.release()
        if not self.gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return super().run(slot, exp, system, chips, owner, progress, run_id, partitioner)


@dataclass
class Running:
    url: str
    tokens: dict[str, str]
    background: BackgroundService

    @property
    def service(self):
        return self.background.service

    def client(self, user: str = "ada") -> bss2emu.Client:
        return bss2emu.Client(self.url, self.tokens[user])


