"""Where the chips run. ``local``: one in-process host. The Ray placements live in
``ray_backend`` (imported only when asked for, so a local run never starts Ray):

* ``per-chip``: one Ray actor per chip holding its Chip, Fpga and Ppu;
* ``packed``: several chips per actor, about one actor per core;
* ``per-component``: every Chip, Fpga and Ppu its own actor.

All placements give bit-identical results.
"""

from __future__ import annotations

from ..errors import ConfigError
from .host import ChipHost, ChipSetup, Spikes

PLACEMENTS = ("local", "per-chip", "packed", "per-component")


class Backend:
    """The interface the coordinator drives."""

    def start(self, setups: list[ChipSetup]) -> None:
        raise NotImplementedError

    def step(self, k0: int, n_steps: int, arrivals: dict[int, Spikes]) -> dict[int, Spikes]:
        raise NotImplementedError

    def tables(self) -> dict[int, dict]:
        raise NotImplementedError

    def get_states(self) -> list:
        raise NotImplementedError

    def set_states(self, states: list) -> None:
        raise NotImplementedError

    def restart_failed(self) -> None:
        raise NotImplementedError

    def shutdown(self) -> None:
        pass

    def info(self) -> dict:
        return {}


class LocalBackend(Backend):
    """Every chip in this process, in one host: exchange is a function call."""

    def start(self, setups: list[ChipSetup]) -> None:
        self.setups = setups
        self.host = ChipHost(setups)

    def step(self, k0, n_steps, arrivals):
        return self.host.step(k0, n_steps, arrivals)

    def tables(self):
        return self.host.tables()

    def get_states(self):
        return [self.host.get_state()]

    def set_states(self, states):
        self.host.set_state(states[0])

    def restart_failed(self) -> None:
        self.host = ChipHost(self.setups)

    def info(self) -> dict:
        st = self.host.stats()
        return {"host_busy_s": [st["busy_s"]], "host_cpu_s": [st["cpu_s"]], "host_memory_mb": [st["memory_mb"]]}


def make_backend(placement: str, address: str | None = None, chips_per_host: int | None = None) -> Backend:
    if placement == "local":
        if address is not None:
            raise ConfigError("address= needs a Ray placement: use placement='per-chip', 'packed' or "
                              "'per-component' to run on a Ray cluster")
        return LocalBackend()
    if placement in PLACEMENTS:
        from .ray_backend import RayBackend

        return RayBackend(placement, address=address, chips_per_host=chips_per_host)
    raise ConfigError(f"unknown placement {placement!r}: use one of {', '.join(PLACEMENTS)}")
