"""The in-process ``local`` backend: one Chip + Fpga + Ppu, run in windows in this process.

Window boundaries fall on every pending write and every PPU kernel's due time, so writes
take effect exactly when the program says; between those, windows are at most
``max_window_steps`` long (which only sets the progress granularity: results never depend
on how a run is cut into windows).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pyarrow as pa

from ..chip_actor.chip import Chip
from ..chip_actor.fpga import Fpga
from ..chip_actor.ppu import Ppu, PpuKernel
from ..protocol import experiment as E
from ..protocol import schemas
from ..protocol.results import Results
from ..routing.single_chip import RoutedChip, configure, route
from ..routing.stimulus import build_playback
from ..units import NS_PER_TICK, ticks_to_us

Progress = Callable[[int, int], None]


def ppu_kernels(exp: E.Experiment) -> list[PpuKernel]:
    """The experiment's plasticity rules as timed PPU kernels."""
    return [
        PpuKernel(r.name, r.kernel, int(round(r.period_us * 1e3)),
                  int(round((r.start_us if r.start_us is not None else r.period_us) * 1e3)), dict(r.params))
        for r in exp.plasticity
    ]


def annotate_spikes(spikes: pa.Table, exp: E.Experiment, routed: RoutedChip) -> pa.Table:
    """Add ``population``, ``index`` and ``time_us`` columns; keep recorded populations only."""
    n = 512
    pop_of = np.full(n, -1, np.int64)
    idx_of = np.full(n, -1, np.int64)
    names = []
    for k, pop in enumerate(exp.populations):
        if not pop.record_spikes:
            continue
        circ = routed.placement[pop.name]
        pop_of[circ], idx_of[circ] = len(names), np.arange(len(circ))
        names.append(pop.name)
    neuron = spikes["neuron"].to_numpy()
    valid = neuron >= 0
    keep = np.zeros(len(neuron), bool)
    keep[valid] = pop_of[neuron[valid]] >= 0
    t = spikes.filter(pa.array(keep))
    nr = t["neuron"].to_numpy()
    pops = pa.DictionaryArray.from_arrays(pa.array(pop_of[nr], pa.int32()), pa.array(names, pa.string()))
    t = t.append_column("population", pops)
    t = t.append_column("index", pa.array(idx_of[nr], pa.int32()))
    t = t.append_column("time_us", pa.array(ticks_to_us(t["time_ticks"].to_numpy())))
    return t.sort_by([("time_ticks", "ascending"), ("neuron", "ascending")])


def run_local(exp: E.Experiment, progress: Progress | None = None, max_window_steps: int = 2000) -> Results:
    """Run a single-chip experiment in this process."""
    wall0 = time.perf_counter()
    routed = route(exp)
    t_route = time.perf_counter() - wall0
    chip = Chip(configure(exp, routed), serial=exp.chip.serial, ideal=exp.chip.ideal, dt_ns=exp.dt_ns,
                seed=exp.seed)
    fpga = Fpga(build_playback(exp, routed))
    ppu = Ppu(ppu_kernels(exp))
    synapses = {k: (c.hemisphere, c.row, c.column) for k, c in routed.connections.items()}
    h = exp.dt_ns
    total = int(np.ceil(exp.runtime_us * 1e3 / h))
    windows = 0
    while chip.step < total:
        t0 = chip.step * h
        chip.apply_writes(fpga.writes_due(t0 + h))  # writes apply at the start of their step
        if ppu.kernels:
            chip.apply_writes(ppu.run_due(t0, chip, synapses, routed.placement))
        end = min(total, chip.step + max_window_steps)
        nxt = fpga.next_write_ns()  # a write applies at the start of the step containing it
        if nxt is not None:
            end = min(end, max(chip.step + 1, nxt // h))
        nxt = ppu.next_due_ns()  # a kernel runs at the first step start at or after its time
        if nxt is not None:
            end = min(end, max(chip.step + 1, -(-nxt // h)))
        fpga.record(chip.run_window(chip.step, end - chip.step, *fpga.events_for_window(t0, end * h)))
        windows += 1
        if progress is not None:
            progress(chip.step, total)
    tables = fpga.tables()
    tables["spikes"] = annotate_spikes(tables["spikes"], exp, routed)
    recs = ppu.records
    tables["ppu"] = pa.table({k: [r[i] for r in recs] for i, k in enumerate(schemas.PPU_RECORDS.names)},
                             schema=schemas.PPU_RECORDS)
    meta = {
        "experiment": exp.name, "seed": exp.seed, "runtime_us": exp.runtime_us, "dt_ns": h,
        "chip_serial": exp.chip.serial, "ideal": exp.chip.ideal, "placement": "local", "windows": windows,
        "steps": total, "routing": routed.stats, "wall_s": time.perf_counter() - wall0, "route_s": t_route,
        "populations": {p.name: p.size for p in exp.populations},
        "time_unit": f"FPGA ticks ({NS_PER_TICK} ns)",
    }
    return Results(tables, meta)
