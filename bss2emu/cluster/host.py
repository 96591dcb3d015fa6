"""``ChipHost``: one or several chips (each Chip + Fpga + Ppu) stepped together.

A plain class; the Ray backends wrap it with ``ray.remote`` (one host per chip, or several
chips per host). Per window it takes the network arrivals for its chips, applies due writes
and PPU kernels, integrates the window with one numba call per chip and returns each chip's
neuron spikes as ``(time_ticks, label)`` numpy arrays for the coordinator to route. Across
a process boundary (``step_packed``) both directions travel as one ``pack_spikes`` buffer of
bytes: nothing Arrow, no dict of arrays. Exchange between chips of one host costs nothing but
a function call.

Each host times its own work (``stats()``): seconds spent inside ``step`` per chip and in
total, so that a backend can tell integration from the cost of reaching the host.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..chip_actor.chip import Chip
from ..chip_actor.fpga import Fpga
from ..chip_actor.ppu import ChipSnapshot, Ppu, PpuKernel
from ..protocol.hardware import ChipConfig
from ..protocol.playback import PlaybackProgram

Spikes = tuple[np.ndarray, np.ndarray]


def pack_spikes(spikes: dict[int, Spikes]) -> bytes:
    """``{chip: (times, labels)}`` → one int64 buffer ``[n, chip_0, len_0, …, times…,
    labels…]`` as bytes: what crosses a process boundary per window. Plain bytes pickle
    in-band, which costs Ray far less than a dict of numpy arrays (about 4x less per window
    through a compiled graph here) and leaves no view of a shared buffer behind.

    >>> unpack_spikes(pack_spikes({3: (np.array([5, 9]), np.array([7, 1]))}))[3][1].tolist()
    [7, 1]
    """
    head = [len(spikes)]
    for chip, (t, _) in spikes.items():
        head += [chip, len(t)]
    parts = [np.asarray(head, np.int64)]
    parts += [np.asarray(t, np.int64) for t, _ in spikes.values()]
    parts += [np.asarray(lab, np.int64) for _, lab in spikes.values()]
    return np.concatenate(parts).tobytes()


def unpack_spikes(buf: bytes) -> dict[int, Spikes]:
    """The inverse of ``pack_spikes`` (int64 arrays, writable)."""
    a = np.frombuffer(buf, np.int64).copy()
    n = int(a[0])
    chips, lens = a[1:1 + 2 * n:2].tolist(), a[2:2 + 2 * n:2]
    ends = np.cumsum(lens).tolist()
    t0 = 1 + 2 * n
    l0 = t0 + (ends[-1] if n else 0)
    out, start = {}, 0
    for chip, end in zip(chips, ends):
        out[chip] = (a[t0 + start:t0 + end], a[l0 + start:l0 + end])
        start = end
    return out


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
        self.busy_s = 0.0  # wall seconds inside step(): writes, PPU, integration, recording

    def step(self, k0: int, n_steps: int) -> Spikes:
        t_start = time.perf_counter()
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
        out_spikes = sp.column("time_ticks").to_numpy()[keep], sp.column("label").to_numpy()[keep]
        self.busy_s += time.perf_counter() - t_start
        return out_spikes


def process_memory_mb() -> dict[str, float]:
    """This process's memory in MB: ``maxrss`` (peak resident, ``getrusage``), and now
    ``anon`` (private pages) and ``shmem`` (touched shared pages — Ray's object store) from
    /proc where there is one."""
    out = {"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("RssAnon", "RssShmem"):
                    out["anon" if key == "RssAnon" else "shmem"] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return out


_kernels_loaded = False


def _load_kernels() -> None:
    """Load the integration kernel in this process (one step of a scratch chip): a fresh
    actor then spends its start-up, not its first window, on numba's cache (~1 s here)."""
    global _kernels_loaded
    if not _kernels_loaded:
        Chip(ChipConfig(), ideal=True).run_window(0, 1, *Chip.no_events())
        _kernels_loaded = True


class ChipHost:
    """Several chips in one process."""

    def __init__(self, setups: list[ChipSetup]) -> None:
        self.units = {s.chip_id: _Unit(s) for s in setups}
        _load_kernels()
        self.busy_s = 0.0  # wall seconds inside step(), all chips
        self.cpu_s = 0.0  # CPU seconds of the stepping thread inside step(): busy_s minus preemption
        self.windows = 0

    def load(self, setups: list[ChipSetup]) -> int:
        """Replace this host's chips (and its figures) with new ones: a kept actor serves the
        next run without starting a process; ``load([])`` frees an idle host's chips."""
        self.__init__(setups)
        return len(self.units)

    def chip_ids(self) -> list[int]:
        return sorted(self.units)

    def step(self, k0: int, n_steps: int, arrivals: dict[int, Spikes]) -> dict[int, Spikes]:
        """Run one window on every chip; ``arrivals`` are network events ``(t_ns, label)``."""
        t_start, cpu_start = time.perf_counter(), time.thread_time()
        for cid, (t, lab) in arrivals.items():
            self.units[cid].fpga.inject(t, lab)
        out = {cid: u.step(k0, n_steps) for cid, u in self.units.items()}
        self.windows += 1
        self.busy_s += time.perf_counter() - t_start
        self.cpu_s += time.thread_time() - cpu_start
        return out

    def step_packed(self, k0: int, n_steps: int, arrivals: bytes) -> bytes:
        """``step`` with arrivals and spikes as ``pack_spikes`` buffers (for Ray)."""
        return pack_spikes(self.step(k0, n_steps, unpack_spikes(arrivals)))

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

    def stats(self) -> dict:
        """This host's own figures: ``busy_s`` (wall seconds inside ``step``, all its chips;
        on a loaded machine this includes time the OS gave to other processes), ``cpu_s``
        (CPU seconds of the stepping thread in there: the work itself), ``busy_s_per_chip``,
        ``windows`` stepped, and its process: ``pid`` and ``memory_mb`` (``process_memory_mb``;
        the host's own when it is an actor)."""
        return {"busy_s": self.busy_s, "cpu_s": self.cpu_s,
                "busy_s_per_chip": {c: u.busy_s for c, u in self.units.items()},
                "windows": self.windows, "pid": os.getpid(), "memory_mb": process_memory_mb()}
