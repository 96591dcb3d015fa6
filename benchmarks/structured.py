#!/usr/bin/env python3
"""Structured-neuron benchmark: a chip filled with 4-compartment logical neurons against the
point-neuron kernel on the same chip, in the same run.

Run from the repository root::

    python benchmarks/structured.py                       # 1000 µs, best of 3
    python benchmarks/structured.py --runtime-us 200 --repeat 2

The chip: 512 circuits, every synapse row enabled (3 in 4 excitatory) with random 6-bit
addresses and sparse random weights; the 8 on-chip background generators emit binned
Poisson events (every 80 ns with p = 1/2) with randomised labels onto all PADI buses, so
every circuit receives a Poisson stream. Leaky integrate-and-fire circuits (hardware
defaults, an ideal chip). The *structured* chip has the same configuration plus 128
logical neurons of 4 single-circuit compartments (a soma on the line, three dendrites
coupled to it through the inter-compartment conductance: 4 columns of one row each, so
128 of them fill both rows); the *point* chip has every switch off (the point kernel's path,
bit for bit). Both run ``Chip.run_window`` for the whole runtime in one window (dt 0.1 µs),
best of ``--repeat`` after one warm-up; circuit updates/s = 512 · steps / CPU seconds of the
thread (``time.thread_time``: on a shared machine wall time would count the waiting).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bss2emu.chip_actor.chip import Chip
from bss2emu.protocol.hardware import BG_POISSON, ROW_EXCITATORY, ROW_INHIBITORY, ChipConfig
from bss2emu.protocol.morphology import Morphology


def star_morphology():
    """Soma (column 0) on the line, dendrites (columns 1-3) through the conductance."""
    m = Morphology()
    for col in range(4):
        m.create_compartment([(col, 0)])
    m.connect_to_soma((0, 0))
    for col in range(1, 4):
        m.connect_resistor_to_soma((col, 0))
    m.connect_soma_line(0, 3, 0)
    return m.done()


def driven_config(seed: int = 1) -> ChipConfig:
    rng = np.random.default_rng(seed)
    cfg = ChipConfig()
    syn = cfg.synapses
    syn.row_modes[:] = np.where(np.arange(256) % 4 == 3, ROW_INHIBITORY, ROW_EXCITATORY)[None, :]
    syn.addresses[:] = rng.integers(0, 64, syn.addresses.shape)
    syn.weights[:] = np.where(rng.random(syn.weights.shape) < 0.3, rng.integers(1, 64, syn.weights.shape), 0)
    bg = cfg.background
    bg.enable[:], bg.mode[:], bg.period[:], bg.rate[:] = 1, BG_POISSON, 20, 128
    bg.seed[:] = np.arange(1, 9)
    bg.label_mask[:] = 0x7FF  # random row select (5 bit) and address (6 bit)
    for g in range(8):
        cfg.crossbar.enable[12 + g, g % 4] = 1  # top hemisphere's PADI bus
        cfg.crossbar.enable[12 + g, 4 + g % 4] = 1  # bottom's
    cfg.neurons.column("i_bias_syn_exc_gm")[:] = 153
    cfg.neurons.column("i_bias_syn_inh_gm")[:] = 51
    return cfg


def structured(cfg: ChipConfig) -> ChipConfig:
    out = cfg.copy()
    placed_top = star_morphology().place(range(0, 256, 4))
    placed_bottom = star_morphology().place(range(0, 256, 4), anchor_row=1)
    for placed in (placed_top, placed_bottom):
        for name, values in placed.switches.items():
            out.neurons.column(name)[placed.circuits] = values
    out.neurons.column("i_bias_conductance")[:] = 200
    return out


def measure(cfg: ChipConfig, steps: int, repeat: int) -> tuple[float, int]:
    best, spikes = np.inf, 0
    for i in range(repeat + 1):
        chip = Chip(cfg, ideal=True)
        t0 = time.thread_time()  # CPU time: the machine may be shared (wall time would count waiting)
        chip.run_window(0, steps, *Chip.no_events())
        dt = time.thread_time() - t0
        spikes = int(chip.spike_count.sum())
        if i:  # the first run compiles and warms up
            best = min(best, dt)
    return best, spikes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime-us", type=float, default=1000.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    steps = int(args.runtime_us * 10)
    point_cfg = driven_config()
    mc_cfg = structured(point_cfg)
    rows = []
    for name, cfg in (("point", point_cfg), ("structured", mc_cfg), ("point", point_cfg),
                      ("structured", mc_cfg)):
        wall, spikes = measure(cfg, steps, args.repeat)
        rows.append((name, wall, spikes))
    best = {n: min(w for m, w, _ in rows if m == n) for n in ("point", "structured")}
    chip = Chip(mc_cfg, ideal=True)
    print(f"{args.runtime_us:g} µs, {steps} steps, 512 circuits; structured: "
          f"{len(chip.structure.couplings)} logical neurons, {len(chip.structure.cp_rows)} coupled compartments")
    for name in ("point", "structured"):
        spk = next(s for m, _, s in rows if m == name)
        print(f"  {name:11s} CPU {best[name]:.3f} s   {512 * steps / best[name] / 1e6:7.1f} M circuit-updates/s"
              f"   {spk} spikes")
    print(f"  structured / point: {best['point'] / best['structured']:.1%} of the point kernel's circuit-updates/s")


if __name__ == "__main__":
    main()
