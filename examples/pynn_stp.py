"""Short-term plasticity in PyNN: Tsodyks–Markram depression and facilitation, measured
against the model's recursion.

A train of ``N_SPIKES`` spikes at ``--rate-hz`` (50 Hz) and one recovery spike
``--recovery-ms`` after it reaches an ``IF_curr_exp`` neuron held below threshold, through
one of three synapse types — each its own short run with one neuron, so the MADC records
``v`` at every 0.1 ms step:

* ``static``: a ``StaticSynapse``, the reference height;
* ``depressing``: ``TsodyksMarkramSynapse(U=0.5, tau_rec=128, tau_facil=0)``;
* ``facilitating``: ``TsodyksMarkramSynapse(U=0.25, tau_rec=0, tau_facil=128)``.

On BrainScaleS-2, STP lives in the presynaptic synapse driver, which does either
depression or facilitation — hence ``tau_rec=0`` for the facilitating synapse.
``pyNN.nest`` rejects that (NEST's ``tsodyks_synapse`` wants ``tau_rec > 0``; its
depression also has a state that decays with ``tau_syn``, so its ratios differ from the
recursion below by up to 0.01 here); a script for both gives a ``tau_rec`` up to the time
step, which both take as no depression. The driver has 4-bit settings, U = k/16 (k = 1 … 16) and
τ = 2 ms · 2**(k/2) (k = 0 … 15); the values above lie on that grid. Other values are
rounded to it (a ``QuantisationWarning`` says so when by more than 5 %); the prediction
uses what the driver realises, ``Projection.realised_parameters()``.

The PSPs of a current-based neuron below threshold add linearly, so the trace is a sum of
copies of one PSP shape (the exponential synaptic current filtered by the membrane, from
``tau_m`` and ``tau_syn_E``) on the resting potential; their heights come from a
least-squares fit of that sum to the trace (``psp_heights``), which separates PSPs that
overlap. Time constants and rest are those the calibrated neuron realises
(``realised_parameters()``); the rest is not fitted, because the readout rounds a
membrane at rest the same way every sample (see ``psp_heights``). The table compares each
height relative to the first with the Tsodyks–Markram recursion (``tsodyks_markram``)::

    depression:   R_n = 1 - (1 - R_{n-1} (1 - U)) e^(-Δ/τ_rec),  R_1 = 1,  PSP_n ∝ U R_n
    facilitation: u_n = u_{n-1} e^(-Δ/τ_facil) + U (1 - u_{n-1} e^(-Δ/τ_facil)),  u_1 = U,  PSP_n ∝ u_n

and the first height relative to the static synapse's with U (PyNN's ``weight`` is the
PSC amplitude at full efficacy, as in NEST).

    python examples/pynn_stp.py [--rate-hz 50] [--recovery-ms 150] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu.pynn as sim
from _common import command_line, new_figure, print_table, pynn_recording, save_figure

CELL = {"tau_m": 10.0, "cm": 0.25, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": -20.0, "tau_refrac": 0.1,
        "tau_syn_E": 2.0, "tau_syn_I": 2.0}
# the PSP heights are read to a fraction of the MADC's 0.12 mV step, so the smallest PSP of
# the example (the first facilitating one, U·static) should be many steps: 0.8 nA gives 4 mV
# static, 1 mV for U = 0.25; with tau_m = 10 ms on cm = 0.25 nF the capacitance choice
# realises up to about 1.15 nA (the PyNN backend says so above it)
WEIGHT_NA = 0.8
DELAY_MS = 1.0
FIRST_MS = 20.0
N_SPIKES = 10
STP = {  # (U, tau_rec ms, tau_facil ms); None: static
    "static": None,
    "depressing": (0.5, 128.0, 0.0),
    "facilitating": (0.25, 0.0, 128.0),
}


def spike_train(rate_hz: float, recovery_ms: float) -> np.ndarray:
    """``N_SPIKES`` regular spikes from ``FIRST_MS``, then one ``recovery_ms`` after the last (ms)."""
    train = FIRST_MS + np.arange(N_SPIKES) * 1000.0 / rate_hz
    return np.append(train, train[-1] + recovery_ms)


def tsodyks_markram(times_ms: np.ndarray, U: float, tau_rec: float, tau_facil: float) -> np.ndarray:
    """Efficacy of each spike of a train: U·R_n (depression, ``tau_facil`` = 0) or u_n
    (facilitation, ``tau_rec`` = 0); the recursion in the module docstring."""
    efficacy, r, u = [], 1.0, 0.0
    for n, t in enumerate(times_ms):
        gap = np.inf if n == 0 else t - times_ms[n - 1]
        if tau_facil > 0:
            u *= np.exp(-gap / tau_facil)
            u += U * (1.0 - u)
            efficacy.append(u)
        else:
            r = 1.0 - (1.0 - r) * np.exp(-gap / tau_rec)
            efficacy.append(U * r)
            r *= 1.0 - U
    return np.asarray(efficacy)


def psp_shape(s_ms: np.ndarray, tau_m: float, tau_syn: float) -> np.ndarray:
    """The PSP of an exponential synaptic current ``s_ms`` after its onset, peak 1 (0 before)."""
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * np.log(tau_m / tau_syn)
    s = np.maximum(s_ms, 0.0)
    shape = (np.exp(-s / tau_m) - np.exp(-s / tau_syn)) / (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_syn))
    return np.where(s_ms > 0, shape, 0.0)


def psp_heights(t: np.ndarray, v: np.ndarray, arrivals_ms: np.ndarray, taus: tuple[float, float],
                v_rest: float) -> tuple[np.ndarray, float]:
    """Least-squares heights (mV) of PSPs with time constants ``taus`` (τ_m, τ_syn) starting
    at ``arrivals_ms`` that, on the resting potential ``v_rest``, sum to the trace; and the
    fit's RMS residual (mV). ``taus`` and ``v_rest`` are what the calibrated chip realises.

    The rest is given, not fitted: the MADC rounds a membrane at rest to the same code
    every sample — off by a fixed part of its 0.12 mV step — while a moving membrane's
    rounding errors average out. A fitted constant would take the rest's rounding and
    hand the difference to every height alike (about +0.04 mV here: 6 % of the first
    facilitating PSP, 1.5 % of the first depressing one)."""
    basis = np.column_stack([psp_shape(t - a, *taus) for a in arrivals_ms])
    heights, *_ = np.linalg.lstsq(basis, v - v_rest, rcond=None)
    return heights, float(np.sqrt(np.mean((basis @ heights - (v - v_rest)) ** 2)))


def run_train(name: str, train_ms: np.ndarray, runtime_ms: float) \
        -> tuple[np.ndarray, np.ndarray, dict, tuple | None]:
    """One neuron receiving ``train_ms`` through synapse type ``name``: ``(t_ms, v_mv)``,
    the neuron's realised parameters (``realised_parameters``, one value each) — a strong
    weight costs the neuron some τ_m precision — and the realised (U, tau_rec, tau_facil)
    of the synapse driver (None: static)."""
    sim.setup(timestep=0.1, min_delay=0.1)
    neuron = sim.Population(1, sim.IF_curr_exp(**CELL), label="neuron")
    neuron.initialize(v=CELL["v_rest"])
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=train_ms.tolist()), label="train")
    if STP[name] is None:
        synapse = sim.StaticSynapse(weight=WEIGHT_NA, delay=DELAY_MS)
    else:
        U, tau_rec, tau_facil = STP[name]
        synapse = sim.TsodyksMarkramSynapse(weight=WEIGHT_NA, delay=DELAY_MS, U=U, tau_rec=tau_rec,
                                            tau_facil=tau_facil)
    prj = sim.Projection(source, neuron, sim.AllToAllConnector(), synapse, receptor_type="excitatory", label=name)
    neuron.record("v")
    sim.run(runtime_ms)
    t, v, _ = pynn_recording(neuron)
    real = neuron.realised_parameters()
    stp = prj.realised_parameters()
    sim.end()
    return (t, v, {k: float(x[0]) for k, x in real.items()},
            None if STP[name] is None else tuple(float(stp[k][0]) for k in ("U", "tau_rec", "tau_facil")))


def main(rate_hz: float = 50.0, recovery_ms: float = 150.0, out_dir: str = ".") -> dict:
    """Run the three synapse types, plot ``pynn_stp.png``, return heights and predictions."""
    train = spike_train(rate_hz, recovery_ms)
    arrivals = train + DELAY_MS
    runtime_ms = float(arrivals[-1] + 5 * CELL["tau_m"])
    out: dict[str, dict] = {}
    traces = {}
    for name in STP:
        t, v, real, stp = run_train(name, train, runtime_ms)
        heights, rms = psp_heights(t, v, arrivals, (real["tau_m"], real["tau_syn_E"]), real["v_rest"])
        traces[name] = (t, v)
        predicted = np.ones(len(train)) if stp is None else tsodyks_markram(train, *stp)
        out[name] = {"heights_mv": heights.tolist(), "ratios": (heights / heights[0]).tolist(),
                     "predicted_ratios": (predicted / predicted[0]).tolist(), "fit_rms_mv": rms,
                     "first_efficacy": float(predicted[0])}
    static = float(np.mean(out["static"]["heights_mv"]))
    for r in out.values():
        r["measured_first_efficacy"] = r["heights_mv"][0] / static

    fig = new_figure(10.0, 7.0)
    ax_v, ax_r = fig.subplots(2, 1, height_ratios=[1.2, 1])
    colours = {"static": "0.4", "depressing": "tab:red", "facilitating": "tab:blue"}
    for name, (t, v) in traces.items():
        ax_v.plot(t, v, lw=0.8, color=colours[name], label=name)
    ax_v.plot(arrivals, np.full(len(arrivals), CELL["v_rest"] - 1.5), "^", color="k", ms=4, label="input arrives")
    ax_v.set(xlabel="time (ms, biological)", ylabel="v (mV)",
             title=f"{N_SPIKES} spikes at {rate_hz:g} Hz and a recovery spike {recovery_ms:g} ms later "
                   f"(MADC, one run each)")
    ax_v.legend(fontsize=8, loc="upper right")
    k = np.arange(1, len(train) + 1)
    for name, r in out.items():
        model = "no STP" if STP[name] is None else "Tsodyks–Markram"
        ax_r.plot(k, r["ratios"], "o", color=colours[name], label=f"{name}: measured")
        ax_r.plot(k, r["predicted_ratios"], "-", color=colours[name], alpha=0.6, label=f"{name}: {model}")
    ax_r.set_xticks(k, [str(i) for i in k[:-1]] + ["recovery"])
    ax_r.set(xlabel="spike", ylabel="PSP height / first PSP height")
    ax_r.legend(fontsize=7, ncol=3)
    png = save_figure(fig, out_dir, "pynn_stp.png")

    dep, fac = out["depressing"], out["facilitating"]
    print("PSP height / first PSP height, measured and Tsodyks–Markram (TM):")
    print_table(["spike", "arrives (ms)", "depressing", "TM", "facilitating", "TM"],
                [[i + 1 if i < N_SPIKES else "recovery", arrivals[i], *(f"{r[key][i]:.3f}" for r in (dep, fac)
                                                                         for key in ("ratios", "predicted_ratios"))]
                 for i in range(len(train))])
    print()
    print_table(["synapse", "first PSP (mV)", "first / static", "U", "max |ratio - TM|", "fit RMS (mV)"],
                [[name, r["heights_mv"][0], f"{r['measured_first_efficacy']:.3f}", f"{r['first_efficacy']:.3f}",
                  f"{np.max(np.abs(np.subtract(r['ratios'], r['predicted_ratios']))):.3f}", f"{r['fit_rms_mv']:.3f}"]
                 for name, r in out.items()])
    return {"png": str(png), "train_ms": train.tolist(), **out}


if __name__ == "__main__":
    command_line(main, __doc__, rate_hz=(50.0, "rate of the train (biological Hz)"),
                 recovery_ms=(150.0, "from the train's last spike to the recovery spike (ms)"))
