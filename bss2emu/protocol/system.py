"""System descriptions (a hardware database like BSS-2's hwdb): chips, FPGAs and links.

A system is a set of chips — each with a serial number that seeds its fixed-pattern
mismatch and one FPGA — joined by an inter-chip network. Topologies:

* ``jboa``: chips sit in groups of ``chips_per_aggregator`` on an aggregator; aggregators
  meet on one backplane. Chip → aggregator → backplane → aggregator → chip is 4 hops
  (≈ 1.3 µs hardware with the default 0.325 µs per hop); within one aggregator 2 hops.
* ``ring``: FPGA-to-FPGA links in a ring, hops = ring distance.
* ``mesh``: a 2-D grid of FPGAs (``mesh_columns`` wide), hops = Manhattan distance.

Named setups ship with the package (``SETUPS``) and YAML files of the same form load with
``load_system``.

>>> s = named_system("cube-4")
>>> len(s.chips), s.topology, round(s.latency_us(0, 3), 3)
(4, 'jboa', 0.65)
>>> round(named_system("jboa-16").latency_us(0, 15), 3)
1.3
"""

from __future__ import annotations

from collections import deque
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..errors import ConfigError
from .experiment import InvalidExperimentError, _Model

EVENT_BITS = 64  # one event on an inter-chip link: label, timestamp, framing


class ChipEntry(_Model):
    """One chip of a system and its FPGA."""

    id: int = Field(ge=0, le=4095)
    serial: int = Field(ge=0, le=2**31 - 1)
    ideal: bool = False


class LinkSpec(_Model):
    """Every link of the network: latency per hop, bandwidth, queue depth."""

    hop_latency_us: float = Field(0.325, gt=0.0, le=1000.0)
    bandwidth_gbit_s: float = Field(5.0, gt=0.0, le=1000.0)
    queue_depth: int = Field(256, ge=1, le=1_000_000, description="events a link can hold waiting")

    @property
    def events_per_us(self) -> float:
        """Link capacity in events per µs of hardware time."""
        return self.bandwidth_gbit_s * 1e3 / EVENT_BITS


class SystemSpec(_Model):
    """A multi-chip system: chips, topology and links."""

    name: str = "system"
    chips: list[ChipEntry] = Field(min_length=1, max_length=4096)
    topology: Literal["jboa", "ring", "mesh"] = "jboa"
    chips_per_aggregator: int = Field(4, ge=1, le=64)
    mesh_columns: int | None = Field(None, ge=1, le=4096)
    link: LinkSpec = Field(default_factory=LinkSpec)

    @model_validator(mode="after")
    def _ids_are_0_to_n(self):
        ids = [c.id for c in self.chips]
        if ids != list(range(len(ids))):
            raise ValueError(f"system {self.name!r}: chip ids must be 0..{len(ids) - 1} in order, got {ids[:8]}…")
        return self

    # --- the network graph --------------------------------------------------------------
    @cached_property
    def _graph(self) -> dict[str, list[str]]:
        g: dict[str, set[str]] = {}

        def link(a: str, b: str) -> None:
            g.setdefault(a, set()).add(b)
            g.setdefault(b, set()).add(a)

        n = len(self.chips)
        for c in range(n):
            g.setdefault(f"fpga{c}", set())
        if n == 1:
            pass
        elif self.topology == "jboa":
            n_agg = -(-n // self.chips_per_aggregator)
            for c in range(n):
                link(f"fpga{c}", f"agg{c // self.chips_per_aggregator}")
            for a in range(n_agg):
                link(f"agg{a}", "backplane")
        elif self.topology == "ring":
            for c in range(n):
                link(f"fpga{c}", f"fpga{(c + 1) % n}")
        else:
            cols = self.mesh_columns or int(np.ceil(np.sqrt(n)))
            for c in range(n):
                if (c + 1) % cols and c + 1 < n:
                    link(f"fpga{c}", f"fpga{c + 1}")
                if c + cols < n:
                    link(f"fpga{c}", f"fpga{c + cols}")
        return {k: sorted(v) for k, v in g.items()}

    def path(self, src: int, dst: int) -> list[tuple[str, str]]:
        """The directed links (shortest path, ties broken by name) from chip src to dst."""
        start, goal = f"fpga{src}", f"fpga{dst}"
        prev = {start: None}
        q = deque([start])
        while q:
            u = q.popleft()
            if u == goal:
                break
            for v in self._graph[u]:
                if v not in prev:
                    prev[v] = u
                    q.append(v)
        if goal not in prev:
            raise ConfigError(f"system {self.name!r}: chip {dst} cannot be reached from chip {src}")
        hops, v = [], goal
        while prev[v] is not None:
            hops.append((prev[v], v))
            v = prev[v]
        return hops[::-1]

    @cached_property
    def hops(self) -> np.ndarray:
        """Hop counts between all chips, ``hops[src, dst]`` (one BFS per chip)."""
        n = len(self.chips)
        out = np.zeros((n, n), np.int64)
        for c in range(n):
            dist = {f"fpga{c}": 0}
            q = deque([f"fpga{c}"])
            while q:
                u = q.popleft()
                for v in self._graph[u]:
                    if v not in dist:
                        dist[v] = dist[u] + 1
                        q.append(v)
            for d in range(n):
                if f"fpga{d}" not in dist:
                    raise ConfigError(f"system {self.name!r}: chip {d} cannot be reached from chip {c}")
                out[c, d] = dist[f"fpga{d}"]
        return out

    def serial_of(self, chip: int, single: int) -> int:
        """The serial number of ``chip``; a single-chip system's chip has ``single`` (the
        experiment's own ``chip.serial``)."""
        return self.chips[chip].serial if len(self.chips) > 1 else single

    def latency_us(self, src: int, dst: int) -> float:
        """Hardware latency of one event from chip src to chip dst."""
        return len(self.path(src, dst)) * self.link.hop_latency_us


def _jboa(name: str, n: int, serial0: int, per_agg: int = 4) -> SystemSpec:
    return SystemSpec(name=name, chips=[{"id": i, "serial": serial0 + i} for i in range(n)],
                      topology="jboa", chips_per_aggregator=per_agg)


SETUPS = {
    "single": lambda: _jboa("single", 1, 1000),
    "cube-4": lambda: _jboa("cube-4", 4, 2000),
    "jboa-16": lambda: _jboa("jboa-16", 16, 3000),
    "jboa-120": lambda: _jboa("jboa-120", 120, 4000, per_agg=8),
    "ring-8": lambda: SystemSpec(name="ring-8", chips=[{"id": i, "serial": 5000 + i} for i in range(8)],
                                 topology="ring"),
    "mesh-16": lambda: SystemSpec(name="mesh-16", chips=[{"id": i, "serial": 6000 + i} for i in range(16)],
                                  topology="mesh", mesh_columns=4),
}


def named_system(name: str) -> SystemSpec:
    """A setup that ships with the package (see ``SETUPS``)."""
    if name not in SETUPS:
        raise ConfigError(f"unknown system {name!r}; shipped setups are {sorted(SETUPS)}, or give a YAML file")
    return SETUPS[name]()


def system_with_chips(n: int) -> SystemSpec:
    """The default system of ``n`` chips: a JBOA-like aggregator/backplane network."""
    if not 1 <= n <= 4096:
        raise ConfigError(f"chips={n} is out of range 1..4096")
    return _jboa(f"jboa-{n}", n, 7000)


def load_system(path: str | Path) -> SystemSpec:
    """Read a system description from YAML/JSON."""
    from .loader import read_mapping_file

    data = read_mapping_file(path, "system file")
    try:
        return SystemSpec.model_validate(data)
    except InvalidExperimentError as err:
        raise InvalidExperimentError(f"system file {str(path)!r}", err.items) from None


def as_system(system: SystemSpec | str | Path | dict | None, chips: int | None = None) -> SystemSpec:
    """Accept a SystemSpec, a setup name, a file path, a dict, or just a chip count."""
    if system is None:
        return system_with_chips(chips or 1)
    if isinstance(system, SystemSpec):
        spec = system
    elif isinstance(system, dict):
        spec = SystemSpec.model_validate(system)
    elif isinstance(system, str) and system in SETUPS:
        spec = named_system(system)
    elif isinstance(system, (str, Path)) and Path(system).exists():
        spec = load_system(system)
    else:
        raise ConfigError(f"unknown system {system!r}: use one of {sorted(SETUPS)}, a YAML file or a SystemSpec")
    if chips is not None and chips != len(spec.chips):
        raise ConfigError(f"system {spec.name!r} has {len(spec.chips)} chips but chips={chips} was asked; "
                          f"drop one of the two")
    return spec
