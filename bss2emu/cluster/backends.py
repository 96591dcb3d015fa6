"""Where the chips run. ``local``: one in-process host. The Ray placements live in
``ray_backend`` (the coordinator imports it only when asked for, so a local run never
starts Ray):

* ``per-chip``: one Ray actor per chip holding its Chip, Fpga and Ppu;
* ``packed``: several chips per actor, about one actor per core;
* ``per-component``: every Chip, Fpga and Ppu its own actor.

All placements give bit-identical results.
"""

from __future__ import annotations

import numpy as np

from ..routing.interconnect import Interconnect
from .host import ChipHost, ChipSetup

PLACEMENTS = ("local", "per-chip", "packed", "per-component")


class Backend:
    """The interface the coordinator drives: ``start`` the hosts, ``run_windows`` (at most
    ``windows_per_call`` per call), ``tables`` at the end."""

    windows_per_call = 1
    exchange_s = 0.0  # wall seconds spent routing spikes between hosts

    def start(self, setups: list[ChipSetup], net: Interconnect) -> None:
        raise NotImplementedError

    def run_windows(self, bounds: np.ndarray) -> None:
        """Run the windows ``[bounds[i], bounds[i + 1])`` (steps), exchanging spikes
        through the network after each."""
        raise NotImplementedError

    def tables(self) -> list[dict]:
        """Per host: ``{"spikes": table, "chips": {chip: {"madc", "cadc", "ppu_records"}}}``."""
        raise NotImplementedError

    def get_states(self) -> list:
        raise NotImplementedError

    def set_states(self, states: list) -> None:
        raise NotImplementedError

    def restart_failed(self) -> None:
        raise NotImplementedError

    def reprogram(self, programs: dict) -> None:
        """New playback programs (``{chip: PlaybackProgram}``) from now on (``Coordinator.continue_with``)."""
        raise NotImplementedError

    def shutdown(self) -> None:
        pass

    def info(self) -> dict:
        return {}


class LocalBackend(Backend):
    """Every chip in this process, in one host that also routes: the windows up to the next
    checkpoint, write or PPU kernel run in one compiled call."""

    windows_per_call = 1 << 30

    def __init__(self, host_threads: int | None = None) -> None:
        self.host_threads = host_threads  # None: as many as the cores (``host_threads.host_threads``)

    def start(self, setups: list[ChipSetup], net: Interconnect) -> None:
        self.setups = setups
        self.net = net
        self.host = ChipHost(setups, self.host_threads, alone=True)

    def run_windows(self, bounds: np.ndarray) -> None:
        self.host.run_windows(bounds, self.net)

    def tables(self) -> list[dict]:
        return [self.host.tables()]

    def get_states(self):
        return [self.host.get_state()]

    def set_states(self, states):
        self.host.set_state(states[0])

    def restart_failed(self) -> None:
        self.host = ChipHost(self.setups, self.host_threads, alone=True)

    def reprogram(self, programs: dict) -> None:
        self.host.reprogram(programs)

    def info(self) -> dict:
        st = self.host.stats()
        return {"host_busy_s": [st["busy_s"]], "host_cpu_s": [st["cpu_s"]], "host_memory_mb": [st["memory_mb"]],
                "host_threads": [st["threads"]], "host_parallel_calls": [[st["parallel_calls"], st["calls"]]]}
