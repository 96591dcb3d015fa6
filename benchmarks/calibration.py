#!/usr/bin/env python3
"""Calibration benchmark: calibrate one emulated chip and report the spread of every
calibrated parameter over its 512 circuits, before and after, and the wall time.

Run from the repository root::

    python benchmarks/calibration.py                 # chip 1, default + AdEx targets
    python benchmarks/calibration.py --serial 7

What is calibrated
------------------
The default targets of ``bss2emu.calib.CalibrationTargets`` (leak 600 mV, reset 500 mV,
threshold 700 mV, reversal potentials 1000/300 mV, τ_m 10 µs, τ_syn 5 µs, τ_ref 2 µs, PSP
10 mV for one weight-63 event) plus the exponential term (Δ_T 16 mV, V_T 760 mV),
adaptation (a/g_L 0.2, b/g_L 20 mV, τ_w 60 µs) and a constant current (40 mV at rest).

What is printed
---------------
Per parameter, the deviation from the target over the 512 circuits (std and max |·|;
relative for time constants, gains and currents):

* before: every circuit at the same DAC values — the nominal inverse of an ideal chip;
* after: the calibrated DAC values, as the emulator realises them (its true physics,
  read here only to judge the calibration, which never reads it);
* reported: what the calibration itself measured or predicted (``CalibrationResult``).

Wall time: the full calibration (characterisation by measurement, then the final
measurements at the chosen values), a second calibration to new targets on the stored
characterisation, and a cache hit.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from bss2emu.calib import CalibrationStore, CalibrationTargets, calibrate
from bss2emu.calib.targets import REFERENCE_WEIGHT, psp_shape_us
from bss2emu.chip_actor.analog import chip_mismatch, neuron_physics
from bss2emu.protocol.hardware import NeuronConfig

TARGETS = CalibrationTargets(delta_t_mv=16.0, v_exp_mv=760.0, a_ratio=0.2, b_mv=20.0, tau_w_us=60.0, i_offset_mv=40.0)


def _tau_m(p):
    return p.c_m / p.g_l


# name: (physical value of the emulator, relative deviation?)
PARAMETERS = {
    "v_leak_mv": (lambda p: p.e_l, False),
    "v_reset_mv": (lambda p: p.v_reset, False),
    "v_threshold_mv": (lambda p: p.v_th, False),
    "e_rev_exc_mv": (lambda p: p.e_exc, False),
    "e_rev_inh_mv": (lambda p: p.e_inh, False),
    "tau_m_us": (_tau_m, True),
    "tau_syn_exc_us": (lambda p: p.tau_exc, True),
    "tau_syn_inh_us": (lambda p: p.tau_inh, True),
    "psp_exc_mv": (lambda p: REFERENCE_WEIGHT * p.gain_exc / p.c_m * psp_shape_us(_tau_m(p), p.tau_exc), True),
    "psp_inh_mv": (lambda p: REFERENCE_WEIGHT * p.gain_inh / p.c_m * psp_shape_us(_tau_m(p), p.tau_inh), True),
    "tau_ref_us": (lambda p: p.tau_ref_ns / 1e3, False),
    "i_offset_mv": (lambda p: p.i_const / p.g_l, True),
    "delta_t_mv": (lambda p: p.delta_t, True),
    "v_exp_mv": (lambda p: p.v_t, False),
    "a_ratio": (lambda p: p.a / p.g_l, True),
    "b_mv": (lambda p: p.b / p.g_l, True),
    "tau_w_us": (lambda p: p.tau_w, True),
}


def physics(result, serial):
    cfg = NeuronConfig()
    result.apply(cfg)
    return neuron_physics(cfg, chip_mismatch(serial))


def deviation(values, target, relative):
    return values / target - 1.0 if relative else values - target


def fmt(dev, relative, unit):
    dev = dev[np.isfinite(dev)]
    if relative:
        return f"{100 * np.std(dev):7.2f} %  {100 * np.max(np.abs(dev)):7.2f} %"
    return f"{np.std(dev):7.3f} {unit} {np.max(np.abs(dev)):7.3f} {unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--serial", type=int, default=1, help="chip serial number (default 1)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = CalibrationStore(tmp)
        calibrate(serial=args.serial, ideal=True, store=False)  # compile numba kernels outside the timing
        t0 = time.perf_counter()
        result = calibrate(TARGETS, serial=args.serial, store=store)
        t_full = time.perf_counter() - t0
        t0 = time.perf_counter()
        calibrate(TARGETS.replace(tau_m_us=12.0, v_leak_mv=620.0), serial=args.serial, store=store)
        t_new = time.perf_counter() - t0
        t0 = time.perf_counter()
        calibrate(TARGETS, serial=args.serial, store=store)
        t_hit = time.perf_counter() - t0
    nominal = calibrate(TARGETS, serial=args.serial, ideal=True, store=False)
    before, after = physics(nominal, args.serial), physics(result, args.serial)
    print(f"chip {args.serial}: 512 circuits; deviation from target, std and max |.| over the circuits")
    print(f"{'parameter':16s} {'target':>9s} | {'before (same DAC values)':>24s} | {'after (emulator)':>24s} | "
          f"{'after (calibration says)':>24s}")
    for name, (truth, relative) in PARAMETERS.items():
        target = result.targets[name]
        rep = deviation(result.achieved[name], target, relative) if name in result.achieved else None
        unit = "us" if name.endswith("_us") else "mV"
        print(f"{name:16s} {target[0]:9g} | {fmt(deviation(truth(before), target, relative), relative, unit):>24s} | "
              f"{fmt(deviation(truth(after), target, relative), relative, unit):>24s} | "
              f"{fmt(rep, relative, unit) if rep is not None else '-':>24s}")
    print(f"\nwall time: full calibration {t_full:.2f} s (characterisation + final measurements), "
          f"new targets on the stored characterisation {t_new:.2f} s, cache hit {1e3 * t_hit:.1f} ms")


if __name__ == "__main__":
    main()
