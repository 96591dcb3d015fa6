#!/usr/bin/env python3
"""The neuron update's cost per neuron-step against where its per-neuron rows lie in memory.

Run from the repository root::

    python benchmarks/neuron_rows.py              # best of 3 per layout
    python benchmarks/neuron_rows.py --repeat 5

The kernel's neuron update (``kernels.integrate_steps``) walks rows of ``coef``, ``nstate``,
``flags``, ``ref_end`` and its scratch, loading from some and storing to others. 512 neurons
of 8 bytes are exactly 4 KiB: rows 4 KiB apart put element n of every row at the same offset
in its page, and the CPU's store-to-load check, which compares 12 address bits, holds a load
of one row back behind a store to another. ``Chip`` keeps its rows ``kernels.NEURON_ROW_PAD``
elements longer (``kernels.neuron_row_length``), in one block, so no two rows start at the same
page offset. Here one chip of the single-chip reference network (its state after 1 ms
biological) is stepped in calls of 6 steps (the 2048-neuron network's windows on cube-4)
without input events, for rows of 512 elements and of ``neuron_row_length``, with every array
starting at the same page offset (the worst case), at random offsets (what separate
allocations give), and as ``Chip`` lays them out. Printed: ns per neuron-step (the fastest
of many short samples; compare layouts measured in the same run), and whether every layout gave the same bits.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from unittest import mock

import numpy as np
from numba import njit

import bss2emu
from bss2emu.chip_actor import kernels as K
from bss2emu.cluster.host import ChipHost
from bss2emu.protocol.experiment import Experiment

STEPS_PER_CALL, CALLS, SAMPLES = 6, 20, 100  # a sample: CALLS calls from the same state (~0.5 ms)
NAMES = ("coef", "flags", "nstate", "ref_end", "fbuf", "bbuf", "ibuf")


@njit
def _calls(n_calls, k0, h, coef, flags, nstate, ref_end, spike_count, syn, drv_t, drv, stp, xb, bg, bg_next, bg_rng,
           none_i, none_f, corr, madc, cadc_v, out, st, psp, sbuf, fbuf, bbuf, ibuf):
    k = k0
    for _ in range(n_calls):
        k += K.integrate_steps(
            k, STEPS_PER_CALL, h, coef, flags, none_i, nstate, ref_end, spike_count, syn[0], syn[1], drv_t[0], drv_t[1],
            drv, stp[0], stp[1], stp[2], stp[3], stp[4], stp[5], xb[0], xb[1], xb[2], bg, bg_next, bg_rng,
            none_i, none_i, none_i, False, 1.0, corr[0], corr[1], corr[2], corr[3], corr[4], corr[5], corr[6],
            corr[7], madc, madc, 1,
            none_i, none_f, 0, none_i, cadc_v, out[0], out[1], out[2],
            st[0], st[1], st[2], st[3], st[4], st[5], st[6], psp[0], psp[1], psp[2], sbuf, fbuf, bbuf, ibuf)[0]
    return k


def _at(shape, dtype, offset: int) -> np.ndarray:
    """An empty C-contiguous array whose data starts ``offset`` bytes into a 4 KiB page."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + 8192, np.uint8)
    start = (offset - raw.ctypes.data) % 4096
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from single_chip import reference_network

    hosts = []
    run_windows = ChipHost.run_windows

    def grab(self, *a, **kw):
        hosts.append(self)
        return run_windows(self, *a, **kw)

    with mock.patch.object(ChipHost, "run_windows", grab):
        bss2emu.run(Experiment.model_validate(reference_network(512, runtime_us=1000.0)))
    chip = hosts[-1]._list[0].chip
    n, h = len(chip.ref_end), chip.dt_ns
    bg = chip.bg.copy()
    bg[K.B_ENABLE] = 0  # no background events: the neuron update and the step's bookkeeping only
    pre, causal, acausal = chip.sensor_arrays(fill=False)
    cap = 4 * (8 * (h // 4 + 1) + n) + 4096
    fixed = (chip.spike_count, chip.synapse_table[:3], chip.drv_table, chip.drv,
             (chip.stp_u_param, chip.stp_tau_ns, chip.set_scale, chip.stp_last, chip.stp_r, chip.stp_u),
             (chip.config.crossbar.enable, chip.config.crossbar.mask, chip.config.crossbar.target), bg,
             chip.bg_next_ns.copy(), chip.bg_rng.copy(), np.zeros(0, np.int64), np.zeros(0),
             (*pre, chip.t_post, causal, acausal, chip.sensed_bits), np.full(2, -1, np.int64),
             np.zeros((0, n), np.int64), tuple(np.empty(cap, np.int64) for _ in range(3)),
             tuple(chip.structure[:7]), (chip.psp_tab, chip.psp_ok, chip.psp_class),
             np.empty((6, K.window_buffer_cap(0, h, n)), np.int64))

    _, fb, bb, ib = K.window_scratch(n, 1)
    n_rows = {"fbuf": fb.shape[0], "bbuf": bb.shape[0], "ibuf": ib.shape[0]}

    def arrays(row: int, offsets: dict) -> dict:
        out = {name: _at((len(src), row), src.dtype, offsets[name])
               for name, src in (("coef", chip.coef), ("flags", chip.flags), ("nstate", chip.nstate))}
        for name, src in (("coef", chip.coef), ("flags", chip.flags), ("nstate", chip.nstate)):
            out[name][:] = 0
            out[name][:, :n] = src
        out["ref_end"] = _at((n,), np.int64, offsets["ref_end"])
        # (the scratch's rows as ``window_scratch`` makes them, each ``row`` long)
        out["fbuf"] = _at((n_rows["fbuf"], row), np.float64, offsets["fbuf"])
        out["bbuf"] = _at((n_rows["bbuf"], row), np.bool_, offsets["bbuf"])
        out["ibuf"] = _at((n_rows["ibuf"], row), np.int64, offsets["ibuf"])
        return out

    padded = K.neuron_row_length(n)
    rng = np.random.default_rng(1)
    block = {"coef": 0, "nstate": (K.N_COEF * padded * 8) % 4096,  # Chip's block: coef, nstate, flags, ref_end
             "flags": ((K.N_COEF + K.N_STATE) * padded * 8) % 4096,
             "ref_end": ((K.N_COEF + K.N_STATE + K.N_FLAGS) * padded * 8) % 4096}
    layouts = [("rows of 512, all arrays at one page offset", n, dict.fromkeys(NAMES, 0))]
    layouts += [(f"rows of 512, random offsets #{i}", n, {k: 64 * int(rng.integers(64)) for k in NAMES})
                for i in range(3)]
    layouts += [(f"rows of {padded}, all arrays at one page offset", padded, dict.fromkeys(NAMES, 0))]
    layouts += [(f"rows of {padded}, Chip's block, scratch at random #{i}", padded,
                 {**block, **{k: 64 * int(rng.integers(64)) for k in NAMES[4:]}}) for i in range(3)]
    state, ref_end, k0 = chip.nstate.copy(), chip.ref_end.copy(), chip.step
    results, bits = {}, set()
    for _ in range(args.repeat):
        for title, row, offsets in layouts:
            a = arrays(row, offsets)
            a["nstate"][:, :n] = state
            a["ref_end"][:] = ref_end
            _calls(1, k0, h, a["coef"], a["flags"], a["nstate"], a["ref_end"], *fixed, a["fbuf"], a["bbuf"],
                   a["ibuf"])  # compiled on the first
            best = np.inf
            for _ in range(SAMPLES):
                a["nstate"][:, :n] = state
                a["ref_end"][:] = ref_end
                t0 = time.perf_counter()
                _calls(CALLS, k0, h, a["coef"], a["flags"], a["nstate"], a["ref_end"], *fixed, a["fbuf"], a["bbuf"],
                       a["ibuf"])
                best = min(best, time.perf_counter() - t0)
            results.setdefault(title, []).append(best / (CALLS * STEPS_PER_CALL * n) * 1e9)
            bits.add(a["nstate"][:, :n].tobytes() + a["ref_end"].tobytes())
    print(f"neuron update, {n} neurons, calls of {STEPS_PER_CALL} steps, no input events; ns per neuron-step: "
          f"the fastest of {SAMPLES} samples of {CALLS} calls, in each of {args.repeat} rounds (on a busy machine "
          f"a sample that ran undisturbed); load average {os.getloadavg()[0]:.1f}")
    for title, ts in results.items():
        print(f"  {title:52s} {min(ts):6.2f}   ({', '.join(f'{t:.2f}' for t in ts)})")
    print("  every layout gave the same bits" if len(bits) == 1 else "  LAYOUTS DIFFER IN THEIR RESULTS")


if __name__ == "__main__":
    main()
