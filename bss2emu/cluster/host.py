"""``ChipHost``: one or several chips (each Chip + Fpga + Ppu) stepped together.

A plain class; the Ray backends wrap it with ``ray.remote`` (one host per chip, or several
chips per host). Per window it takes the network arrivals for its chips, applies due writes
and PPU kernels, integrates the window with one numba call per chip and returns each chip's
neuron spikes as ``(time_ticks, label)`` for the coordinator to route. Exchange between
chips of one host costs nothing but a function call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..chip_actor.chip import Chip
from ..chip_actor.fpga import Fpga
from ..chip_actor.ppu import ChipSnapshot, Ppu, PpuKernel
from ..protocol.hardware import ChipConfig
from ..protocol.playback import PlaybackProgram

Spikes = tuple[np.ndarray, np.ndarray]


@dataclass
class ChipSetup:
    """Everything needed to build one emulated chip, its FPGA and its PPU."""

    chip_id: int
    serial: int
    ideal: bool
    dt_ns: int
    seed: int
    config: ChipConfig
    program: PlaybackProgram
    kernels: list[PpuKernel] = field(default_factory=list)
    synapses: dict = field(default_factory=dict)  # projection -> (hemisphere, row, column) here
    placement: dict = field(default_factory=dict)  # population -> circuits here


class _Unit:
    def __init__(self, s: ChipSetup) -> None:
        self.setup = s
        self.chip = Chip(s.config, serial=s.serial, ideal=s.ideal, dt_ns=s.dt_ns, chip_id=s.chip_id, seed=s.seed)
        self.fpga = Fpga(s.program, s.chip_id)
        self.ppu = Ppu(s.kernels, s.chip_id)

    def step(self, k0: int, n_steps: int) -> Spikes:
        chip, fpga, h = self.chip, self.fpga, self.chip.dt_ns
        t0 = k0 * h
        chip.apply_writes(fpga.writes_due(t0 + h))  # a write applies at the start of its step
        if self.ppu.due(t0):
            writes, reset = self.ppu.run_due(t0, ChipSnapshot.of(chip), self.setup.synapses, self.setup.placement)
            chip.apply_writes(writes)
            if reset:
                chip.correlation_codes(reset=True)
        out = chip.run_window(k0, n_steps, *fpga.events_for_window(t0, (k0 + n_steps) * h))
        fpga.record(out)
        sp = out.spikes
        neuron = sp.column("neuron").to_numpy()
        keep = neuron >= 0
        return sp.column("time_ticks").to_numpy()[keep], sp.column("label").to_numpy()[keep]


class ChipHost:
    """Several chips in one process."""

    def __init__(self, setups: list[ChipSetup]) -> None:
        self.units = {s.chip_id: _Unit(s) for s in setups}

    def chip_ids(self) -> list[int]:
        return sorted(self.units)

    def step(self, k0: int, n_steps: int, arrivals: dict[int, Spikes]) -> dict[int, Spikes]:
        """Run one window on every chip; ``arrivals`` are network events ``(t_ns, label)``."""
        for cid, (t, lab) in arrivals.items():
            self.units[cid].fpga.inject(t, lab)
        return {cid: u.step(k0, n_steps) for cid, u in self.units.items()}

    def tables(self) -> dict[int, dict[str, pa.Table]]:
        """Recorded tables per chip, plus PPU records."""
        return {cid: {**u.fpga.tables(), "ppu_records": u.ppu.records} for cid, u in self.units.items()}

    def get_state(self) -> dict:
        return {cid: (u.chip.get_state(), u.fpga.get_state(), u.ppu.get_state()) for cid, u in self.units.items()}

    def set_state(self, state: dict) -> None:
        for cid, (c, f, p) in state.items():
            u = self.units[cid]
            u.chip.set_state(c)
            u.fpga.set_state(f)
            u.ppu.set_state(p)

    def ping(self) -> int:
        return len(self.units)
