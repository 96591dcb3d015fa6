#!/usr/bin/env python3
"""Generate a high-accuracy reference of AdEx spike times (test oracle).

Run from the repository root::

    python tests/chip_actor/reference/make_adex_reference.py            # regenerate JSON
    python tests/chip_actor/reference/make_adex_reference.py --brian2   # + Brian2 cross-check

The output is ``adex_reference.json`` next to this script.  It is meant as an
independent oracle for the fixed-step (numba) AdEx integrator of bss2emu, so
this script deliberately shares no code with the emulator.

Model (BrainScaleS-2 hardware units: time us, voltage mV, capacitance pF,
conductance uS, current nA; pF*mV/us = nA and uS*mV = nA)::

    C dv/dt    = -gL (v - EL) + gL DeltaT exp((v - VT)/DeltaT) - w + I
    tau_w dw/dt = a (v - EL) - w

    if v reaches v_peak (upward crossing): record spike time t_s,
        v := v_reset, w := w + b
        for t in [t_s, t_s + tau_ref]: v clamped to v_reset, w keeps evolving
        (dw/dt = (a (v_reset - EL) - w)/tau_w, solved analytically), then free
        evolution resumes.

    Initial state v = EL, w = 0; constant current I switched on at t = 0.

Parameter sets
--------------
Naud, Marcille, Clopath & Gerstner (2008), "Firing patterns in the adaptive
exponential integrate-and-fire model", Biol. Cybern. 99:335-347, Table 1 /
Fig. 4.  The values are taken from the Brian2 example
``examples/frompapers/Naud_et_al_2008_adex_firing_patterns.py`` (Brian2 docs,
S. Schmitt & S. Billaudelle 2022; "parameters adapted by P. Mueller to match
the figures").

* ``tonic``, ``adapting``, ``initial_burst``, ``bursting``: all sources we
  checked agree (Brian2 example, ANNarchy AdEx notebook, EPFL-LCN course code).
* ``transient``: sources DISAGREE.  ANNarchy's notebook (and the EPFL-LCN
  code, with v_reset = -50 mV) list a = -10 nS, b = 30 pA, I = 350 pA; with
  those values the model fires tonically/accelerating (68-87 spikes in
  500 ms), i.e. not a transient pattern.  a = 10 nS, b = 100 pA with
  I = 350 pA gives an initial burst followed by slow regular spiking.  We use
  the Brian2 (P. Mueller) set a = 10 nS, b = 100 pA, v_reset = -47 mV,
  I = 180 pA, which is the only one that is "transient".  With
  v_peak = VT + 5 DeltaT it emits a single spike and then stays silent (the
  same holds for v_peak = 0 mV as used in the Brian2 example).
* ``tonic_refractory``: ``tonic`` with tau_ref = 2 ms (bio) = 2 us (hw).

v_peak = VT + 5 DeltaT for all sets (as in Brian2's AdEx examples);
tau_ref = 0 unless stated.

Bio -> hardware conversion (BrainScaleS-2, 1000x accelerated)
-------------------------------------------------------------
time ms -> us (same number, also tau_w and tau_ref), C_hw[pF] = C_bio[pF]/100,
g_hw[uS] = g_bio[nS]*0.01 (gL and a), I_hw[nA] = I_bio[pA]*0.01 (I and b),
voltages unchanged (mV).  This keeps every time constant (C/gL, tau_w) and
every voltage ratio (I/gL, b/gL, a/gL) of the biological model, so the
hardware spike times in us equal the biological ones in ms.

Numerics
--------
``scipy.integrate.solve_ivp`` (DOP853, rtol=1e-11, atol=1e-12) with a terminal
event v - v_peak = 0 (direction +1); the integration is restarted after every
spike with the reset applied.  The refractory clamp is handled analytically.
The exponent is capped at 60 only to avoid floating-point overflow in trial
stages far above v_peak; on the trajectory (v <= v_peak, exponent <= 5) the
right-hand side is exact.  Convergence check: the run is repeated with
rtol=1e-9 and all spike times must agree to better than 1e-4 us (asserted).
As an additional, method-independent check the run is repeated with Radau
(rtol=1e-11), also asserted to agree to better than 1e-4 us.

Brian2 cross-check (optional, ``--brian2``)
-------------------------------------------
Not needed to regenerate the JSON.  Simulates the same hardware-unit model in
Brian2 (method 'rk4', dt = 0.001 us, threshold 'v > v_peak', per-neuron
refractory period with ``(unless refractory)`` on dv/dt only) and stores the
per-pattern max |t_brian2 - t_scipy| under ``brian2_max_abs_diff_us``.  Brian2
detects threshold crossings only on the dt grid, so differences of O(dt) per
spike (accumulating over the spike train) are expected.  Brian2 is run in a
separate interpreter (``--brian2-python``, default: the current one if it can
import brian2, else /tmp/b2venv/bin/python), e.g. set up with::

    python -m venv /tmp/b2venv && /tmp/b2venv/bin/pip install brian2 'numpy<2.4'

Without ``--brian2`` previously recorded Brian2 diffs are carried over from the
existing JSON only for patterns whose parameters and spike times are unchanged
(to 1e-9 us); otherwise they are dropped.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_JSON = os.path.join(HERE, "adex_reference.json")

RUNTIME_US = 500  # us (int, as recorded in the JSON)
RTOL = 1e-11
ATOL = 1e-12
RTOL_CHECK = 1e-9
CONVERGENCE_TOL_US = 1e-4
METHOD = "DOP853"
CROSS_METHOD = "Radau"
EXP_ARG_CAP = 60.0

BRIAN2_SOURCE = (
    "Naud et al. 2008 (Biol. Cybern. 99:335) Table 1 / Fig. 4, values as in the "
    "Brian2 example examples/frompapers/Naud_et_al_2008_adex_firing_patterns.py "
    "(parameters adapted by P. Mueller to match the figures)"
)

# Biological parameters: C pF, gL nS, EL mV, VT mV, DeltaT mV, a nS, tau_w ms,
# b pA, v_reset mV, I pA, tau_ref ms.
PATTERNS_BIO = {
    "tonic": dict(
        C=200.0, gL=10.0, EL=-70.0, VT=-50.0, DeltaT=2.0, a=2.0, tau_w=30.0,
        b=0.0, v_reset=-58.0, I=500.0, tau_ref=0.0,
        source=BRIAN2_SOURCE + "; 'tonic spiking' (Fig. 4a). Agrees with ANNarchy "
        "AdEx notebook and EPFL-LCN course code.",
    ),
    "adapting": dict(
        C=200.0, gL=12.0, EL=-70.0, VT=-50.0, DeltaT=2.0, a=2.0, tau_w=300.0,
        b=60.0, v_reset=-58.0, I=500.0, tau_ref=0.0,
        source=BRIAN2_SOURCE + "; 'adaptation' (Fig. 4b). Agrees with ANNarchy "
        "AdEx notebook and EPFL-LCN course code.",
    ),
    "initial_burst": dict(
        C=130.0, gL=18.0, EL=-58.0, VT=-50.0, DeltaT=2.0, a=4.0, tau_w=150.0,
        b=120.0, v_reset=-50.0, I=400.0, tau_ref=0.0,
        source=BRIAN2_SOURCE + "; 'initial burst' (Fig. 4c). Agrees with ANNarchy "
        "AdEx notebook and EPFL-LCN course code.",
    ),
    "bursting": dict(
        C=200.0, gL=10.0, EL=-58.0, VT=-50.0, DeltaT=2.0, a=2.0, tau_w=120.0,
        b=100.0, v_reset=-46.0, I=210.0, tau_ref=0.0,
        source=BRIAN2_SOURCE + "; 'regular bursting' (Fig. 4d). Agrees with "
        "ANNarchy AdEx notebook and EPFL-LCN course code.",
    ),
    "transient": dict(
        C=100.0, gL=10.0, EL=-65.0, VT=-50.0, DeltaT=2.0, a=10.0, tau_w=90.0,
        b=100.0, v_reset=-47.0, I=180.0, tau_ref=0.0,
        source=BRIAN2_SOURCE + "; 'transient spiking' (Fig. 4g). Sources disagree: "
        "ANNarchy AdEx notebook lists a=-10 nS, b=30 pA, I=350 pA (EPFL-LCN code "
        "the same with v_reset=-50 mV), which fires tonically here; the Brian2/"
        "Mueller set is used. It yields a single spike followed by silence.",
    ),
    "tonic_refractory": dict(
        C=200.0, gL=10.0, EL=-70.0, VT=-50.0, DeltaT=2.0, a=2.0, tau_w=30.0,
        b=0.0, v_reset=-58.0, I=500.0, tau_ref=2.0,
        source="'tonic' set (" + BRIAN2_SOURCE + ") with tau_ref = 2 ms (bio) "
        "added for bss2emu.",
    ),
}

MODEL_STRING = (
    "C dv/dt = -gL (v - EL) + gL DeltaT exp((v - VT)/DeltaT) - w + I; "
    "tau_w dw/dt = a (v - EL) - w; "
    "on upward crossing v = v_peak: spike recorded, v := v_reset, w := w + b, "
    "then v clamped at v_reset for tau_ref (w evolves with v = v_reset); "
    "initial state v = EL, w = 0; constant I switched on at t = 0"
)

UNITS = {
    "time": "us",
    "voltage": "mV",
    "capacitance": "pF",
    "conductance": "uS",
    "current": "nA",
    "tau_w": "us",
    "tau_ref": "us",
    "note": "pF*mV/us = nA, uS*mV = nA",
    "bio_to_hw": (
        "1000x acceleration: t[ms] -> t[us] (same number, also tau_w, tau_ref), "
        "C_hw[pF] = C_bio[pF]/100, g_hw[uS] = g_bio[nS]*0.01 (gL, a), "
        "I_hw[nA] = I_bio[pA]*0.01 (I, b), voltages unchanged; "
        "v_peak = VT + 5*DeltaT"
    ),
}


def to_hw(bio: dict) -> dict:
    """Convert a biological parameter set to hardware units (JSON key names)."""
    return {
        "C_pF": bio["C"] / 100.0,
        "gL_uS": bio["gL"] * 0.01,
        "EL_mV": bio["EL"],
        "VT_mV": bio["VT"],
        "DeltaT_mV": bio["DeltaT"],
        "a_uS": bio["a"] * 0.01,
        "tau_w_us": bio["tau_w"],
        "b_nA": bio["b"] * 0.01,
        "v_reset_mV": bio["v_reset"],
        "v_peak_mV": bio["VT"] + 5.0 * bio["DeltaT"],
        "tau_ref_us": bio["tau_ref"],
        "I_nA": bio["I"] * 0.01,
    }


def simulate(p: dict, runtime: float = RUNTIME_US, rtol: float = RTOL,
             atol: float = ATOL, method: str = METHOD) -> list[float]:
    """Spike times (us) of the AdEx model with hardware parameters ``p``."""
    from scipy.integrate import solve_ivp

    C, gL, EL = p["C_pF"], p["gL_uS"], p["EL_mV"]
    VT, DT = p["VT_mV"], p["DeltaT_mV"]
    a, tau_w, b = p["a_uS"], p["tau_w_us"], p["b_nA"]
    v_reset, v_peak = p["v_reset_mV"], p["v_peak_mV"]
    tau_ref, I = p["tau_ref_us"], p["I_nA"]

    def rhs(t, y):
        v, w = y
        ex = math.exp(min((v - VT) / DT, EXP_ARG_CAP))
        return [(-gL * (v - EL) + gL * DT * ex - w + I) / C,
                (a * (v - EL) - w) / tau_w]

    def jac(t, y):  # used by implicit methods only
        v, _ = y
        ex = math.exp(min((v - VT) / DT, EXP_ARG_CAP))
        return [[(-gL + gL * ex) / C, -1.0 / C], [a / tau_w, -1.0 / tau_w]]

    def peak(t, y):
        return y[0] - v_peak

    peak.terminal = True
    peak.direction = 1.0

    kwargs = dict(method=method, rtol=rtol, atol=atol, events=peak)
    if method in ("Radau", "BDF", "LSODA"):
        kwargs["jac"] = jac

    t = 0.0
    y = [EL, 0.0]
    spikes: list[float] = []
    while t < runtime:
        sol = solve_ivp(rhs, (t, runtime), y, **kwargs)
        if sol.status == -1:
            raise RuntimeError(f"solve_ivp failed at t={t}: {sol.message}")
        if sol.status != 1:  # reached runtime without further spikes
            break
        t_s = float(sol.t_events[0][0])
        spikes.append(t_s)
        w = float(sol.y_events[0][0][1]) + b
        t = t_s
        if tau_ref > 0.0:
            # v clamped at v_reset: tau_w dw/dt = a (v_reset - EL) - w
            t_end = min(t_s + tau_ref, runtime)
            w_inf = a * (v_reset - EL)
            w = w_inf + (w - w_inf) * math.exp(-(t_end - t_s) / tau_w)
            t = t_end
        y = [v_reset, w]
    return spikes


def max_abs_diff(x: list[float], y: list[float]) -> float:
    if len(x) != len(y):
        return math.inf
    if not x:
        return 0.0
    return float(np.max(np.abs(np.asarray(x) - np.asarray(y))))


def check_pattern(name: str, p: dict, spikes: list[float]) -> None:
    """Assert that each set shows its firing pattern (sanity, not precision)."""
    s = np.asarray(spikes)
    isi = np.diff(s)
    if name in ("tonic", "tonic_refractory"):
        assert len(s) > 30, name
        # regular: ISI converges; last ISIs constant to < 0.1 %
        assert np.ptp(isi[-5:]) / isi[-1] < 1e-3, (name, isi[-5:])
        assert np.all(isi > p["tau_ref_us"])
    elif name == "adapting":
        assert 5 <= len(s) <= 30, name
        assert np.all(np.diff(isi) > 0), ("ISIs must increase", isi)
        assert isi[-1] / isi[0] > 3, isi
    elif name == "initial_burst":
        assert len(s) >= 5, name
        assert isi[0] < 10 and isi[1] < 10, isi            # burst at onset
        assert np.all(isi[2:] > 40), isi                   # then regular, slow
        assert np.ptp(isi[-3:]) / isi[-1] < 1e-3, isi
    elif name == "bursting":
        assert len(s) >= 6, name
        # onset burst (first two ISIs short), then alternating long/short ISIs
        assert isi[0] < 10 and isi[1] < 10, isi
        assert np.all(isi[2::2] > 100), isi
        assert np.all(isi[3::2] < 10), isi
    elif name == "transient":
        assert 1 <= len(s) <= 5, (name, s)
        assert s[-1] < 0.2 * RUNTIME_US, s                  # then silence
    else:
        raise KeyError(name)


def describe(spikes: list[float]) -> str:
    isi = np.diff(spikes)
    first = ", ".join(f"{x:.4f}" for x in isi[:5])
    return f"n={len(spikes):3d}  first ISIs [us]: [{first}]"


# ----------------------------------------------------------------------------
# Brian2 cross-check (runs in a separate interpreter that has brian2)
# ----------------------------------------------------------------------------

BRIAN2_WORKER = r"""
import json, sys
import numpy as np
from brian2 import (NeuronGroup, SpikeMonitor, Network, defaultclock, prefs,
                    pF, usiemens, mV, nA, us)
try:
    import Cython  # noqa: F401
    prefs.codegen.target = "cython"
except ImportError:
    prefs.codegen.target = "numpy"
cfg = json.load(sys.stdin)
names = list(cfg["params"])
P = [cfg["params"][n] for n in names]
defaultclock.dt = cfg["dt_us"] * us
eqs = '''
dv/dt = (-gL*(v - EL) + gL*DeltaT*exp((v - VT)/DeltaT) - w + I)/C : volt (unless refractory)
dw/dt = (a*(v - EL) - w)/tau_w : amp
C : farad (constant)
gL : siemens (constant)
EL : volt (constant)
VT : volt (constant)
DeltaT : volt (constant)
a : siemens (constant)
tau_w : second (constant)
b : amp (constant)
v_reset : volt (constant)
v_peak : volt (constant)
tau_ref : second (constant)
I : amp (constant)
'''
G = NeuronGroup(len(P), eqs, threshold="v > v_peak",
                reset="v = v_reset; w += b", refractory="tau_ref",
                method=cfg["method"])
G.C = [p["C_pF"] for p in P] * pF
G.gL = [p["gL_uS"] for p in P] * usiemens
G.EL = [p["EL_mV"] for p in P] * mV
G.VT = [p["VT_mV"] for p in P] * mV
G.DeltaT = [p["DeltaT_mV"] for p in P] * mV
G.a = [p["a_uS"] for p in P] * usiemens
G.tau_w = [p["tau_w_us"] for p in P] * us
G.b = [p["b_nA"] for p in P] * nA
G.v_reset = [p["v_reset_mV"] for p in P] * mV
G.v_peak = [p["v_peak_mV"] for p in P] * mV
G.tau_ref = [p["tau_ref_us"] for p in P] * us
G.I = [p["I_nA"] for p in P] * nA
G.v = [p["EL_mV"] for p in P] * mV
G.w = 0 * nA
M = SpikeMonitor(G)
net = Network(G, M)
net.run(cfg["runtime_us"] * us)
trains = M.spike_trains()
import brian2
out = {"brian2_version": brian2.__version__, "target": prefs.codegen.target,
       "spikes": {n: [float(t / us) for t in trains[i]] for i, n in enumerate(names)}}
print("BRIAN2_RESULT " + json.dumps(out))
"""


def find_brian2_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    try:
        import brian2  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    cand = "/tmp/b2venv/bin/python"
    if os.path.exists(cand):
        return cand
    raise SystemExit("--brian2: no interpreter with brian2 found; pass --brian2-python")


def run_brian2(params: dict, python: str, dt_us: float, method: str) -> dict:
    cfg = {"params": params, "dt_us": dt_us, "method": method, "runtime_us": RUNTIME_US}
    proc = subprocess.run([python, "-c", BRIAN2_WORKER], input=json.dumps(cfg),
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit("Brian2 worker failed")
    for line in proc.stdout.splitlines():
        if line.startswith("BRIAN2_RESULT "):
            return json.loads(line[len("BRIAN2_RESULT "):])
    raise SystemExit("Brian2 worker produced no result:\n" + proc.stdout)


# ----------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brian2", action="store_true",
                    help="also cross-check against Brian2 and record the diffs")
    ap.add_argument("--brian2-python", default=None,
                    help="interpreter with brian2 installed")
    ap.add_argument("--brian2-dt-us", type=float, default=0.001)
    ap.add_argument("--brian2-method", default="rk4")
    ap.add_argument("--out", default=OUT_JSON)
    args = ap.parse_args()

    import scipy

    params = {name: to_hw(bio) for name, bio in PATTERNS_BIO.items()}

    results: dict[str, list[float]] = {}
    worst_conv = 0.0
    worst_cross = 0.0
    for name, p in params.items():
        ref = simulate(p)
        loose = simulate(p, rtol=RTOL_CHECK)
        cross = simulate(p, method=CROSS_METHOD)
        d_conv = max_abs_diff(ref, loose)
        d_cross = max_abs_diff(ref, cross)
        print(f"{name:17s} {describe(ref)}")
        print(f"{'':17s} max|dt| rtol {RTOL:g} vs {RTOL_CHECK:g}: {d_conv:.3e} us; "
              f"{METHOD} vs {CROSS_METHOD}: {d_cross:.3e} us")
        assert len(ref) == len(loose), (name, len(ref), len(loose))
        assert d_conv < CONVERGENCE_TOL_US, (name, d_conv)
        assert len(ref) == len(cross), (name, len(ref), len(cross))
        assert d_cross < CONVERGENCE_TOL_US, (name, d_cross)
        check_pattern(name, p, ref)
        worst_conv = max(worst_conv, d_conv)
        worst_cross = max(worst_cross, d_cross)
        results[name] = ref
    print(f"convergence: max |t(rtol={RTOL:g}) - t(rtol={RTOL_CHECK:g})| over all "
          f"spikes = {worst_conv:.3e} us (limit {CONVERGENCE_TOL_US:g})")
    print(f"method cross-check: max |t({METHOD}) - t({CROSS_METHOD})| = {worst_cross:.3e} us")

    brian2_diffs: dict[str, float] = {}
    brian2_counts: dict[str, int] = {}  # only recorded if != scipy count
    brian2_info = None
    if args.brian2:
        py = find_brian2_python(args.brian2_python)
        b2 = run_brian2(params, py, args.brian2_dt_us, args.brian2_method)
        brian2_info = (f"Brian2 {b2['brian2_version']} ({b2['target']}), method "
                       f"{args.brian2_method}, dt = {args.brian2_dt_us:g} us, threshold "
                       "'v > v_peak' detected on the dt grid")
        for name in params:
            tb = b2["spikes"][name]
            n = min(len(tb), len(results[name]))
            d = max_abs_diff(tb[:n], results[name][:n])
            note = "" if len(tb) == len(results[name]) else "  SPIKE COUNT DIFFERS"
            print(f"brian2 {name:17s} n={len(tb):3d} (scipy {len(results[name])}) "
                  f"max|dt| = {d:.3e} us{note}")
            brian2_diffs[name] = d
            if note:
                brian2_counts[name] = len(tb)
    else:
        # carry over earlier Brian2 diffs when nothing relevant changed
        try:
            with open(args.out) as fh:
                old = json.load(fh)
            brian2_info = old.get("brian2_crosscheck")
            for name, entry in old.get("patterns", {}).items():
                if ("brian2_max_abs_diff_us" in entry and name in params
                        and entry.get("params") == params[name]
                        and max_abs_diff(entry.get("spike_times_us", []),
                                         results[name]) < 1e-9):
                    brian2_diffs[name] = entry["brian2_max_abs_diff_us"]
        except (OSError, ValueError):
            pass
        if not brian2_diffs:
            brian2_info = None

    doc = {
        "model": MODEL_STRING,
        "units": UNITS,
        "generator": (
            f"scipy {scipy.__version__} solve_ivp method={METHOD} rtol={RTOL:g} "
            f"atol={ATOL:g}, terminal event at v = v_peak (direction +1), restart "
            f"after each spike, analytic refractory clamp; numpy {np.__version__}; "
            f"script tests/chip_actor/reference/make_adex_reference.py"
        ),
        "convergence": {
            "max_abs_diff_us_rtol_1e-9": worst_conv,
            f"max_abs_diff_us_{CROSS_METHOD}_rtol_1e-11": worst_cross,
            "assert_tol_us": CONVERGENCE_TOL_US,
        },
    }
    if brian2_info:
        doc["brian2_crosscheck"] = brian2_info
    doc["patterns"] = {}
    for name, p in params.items():
        bio = PATTERNS_BIO[name]
        entry = {
            "params": p,
            "params_bio": {
                "C_pF": bio["C"], "gL_nS": bio["gL"], "EL_mV": bio["EL"],
                "VT_mV": bio["VT"], "DeltaT_mV": bio["DeltaT"], "a_nS": bio["a"],
                "tau_w_ms": bio["tau_w"], "b_pA": bio["b"],
                "v_reset_mV": bio["v_reset"], "tau_ref_ms": bio["tau_ref"],
                "I_pA": bio["I"],
            },
            "runtime_us": RUNTIME_US,
            "spike_times_us": results[name],
            "source": bio["source"],
        }
        if name in brian2_diffs:
            entry["brian2_max_abs_diff_us"] = brian2_diffs[name]
        if name in brian2_counts:
            entry["brian2_spike_count"] = brian2_counts[name]
        doc["patterns"][name] = entry

    with open(args.out, "w") as fh:
        # json writes floats with repr() -> shortest round-trip, full precision
        json.dump(doc, fh, indent=1, allow_nan=False)
        fh.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
