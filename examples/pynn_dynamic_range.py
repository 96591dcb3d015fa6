"""The dynamic range of synaptic input in PyNN: PSP height against weight, and its 6-bit steps.

One ``IF_curr_exp`` neuron, held below threshold (``v_thresh`` = +10 mV), receives single
spikes, each through a connection of its own weight: a ``SpikeSourceArray`` whose neurons
fire one after the other, every ``SPACING_MS`` (8 membrane time constants, so each PSP has
decayed to 0.3 % of its peak before the next), first onto the excitatory receptor, then
onto the inhibitory one (negative weights: PyNN's sign for current-based inhibition). A
single neuron records ``v``, so the MADC samples it at every 0.1 ms step. The weights are 24 quarter steps of the
expected weight resolution (``W_MAX_NA`` / 63) at the low end, then ``--coarse-steps``
even steps up to ``W_MAX_NA``. Each PSP's height is its extreme minus the mean membrane
in the 5 ms before the spike arrives.

What the figure and the table show:

* **linearity**: a current-based synapse adds charge ∝ weight, so the height grows linearly
  with the weight the chip realises (``Projection.hardware_weights()``: code × the
  neuron's calibrated LSB) — fit slope, R². The slope is compared with the ideal LIF
  neuron's PSP peak (analytic, ``ideal_psp_mv_per_na``) for the parameters asked for and
  for those the calibrated neuron realises (``Population.realised_parameters()``: the
  small capacitance setting that the strong weights need realises ``tau_m`` 2.4 % short,
  which lowers the peak by 1.1 %). Against the realised neuron it agrees to within the
  readout's resolution (measured 0.993 and 1.003);
* **quantisation**: the chip stores a weight as a 6-bit code on a scale set by the largest
  weight onto the neuron (per receptor), so at the low end the height rises in steps — one
  code, about ``W_MAX_NA`` / 63 — and a weight below half a step gives no PSP at all. The
  table gives each fine weight's code and the PSP one code adds (a straight line through
  the fine sweep's heights against their codes), and, divided by the slope, the weight
  step it corresponds to. The membrane readout itself (10-bit MADC, 0.12 mV) resolves
  about two thirds of a code, so single plateaus read one readout step high or low;
* **the range**: the largest weight onto a neuron sets its calibrated synaptic gain (it
  becomes code 63); a strong one makes the calibration choose a smaller membrane
  capacitance setting, whose coarser leak setting still holds ``tau_m`` to a few percent.
  Beyond what any capacitance realises with this ``tau_m`` the backend raises
  ``InvalidParameterValueError`` naming the limit (here about 0.6 nA onto 0.25 nF).

    python examples/pynn_dynamic_range.py [--coarse-steps 16] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu.pynn as sim
from _common import command_line, new_figure, print_table, pynn_recording, save_figure

# long time constants: the largest PSP the hardware's synaptic gain gives grows with them,
# so the 6-bit steps (1/63 of it) stand above the readout's 0.12 mV
CELL = {"tau_m": 20.0, "cm": 0.25, "v_rest": -65.0, "v_reset": -65.0, "v_thresh": 10.0, "tau_refrac": 0.1,
        "tau_syn_E": 15.0, "tau_syn_I": 15.0}
W_MAX_NA = 0.5
FINE_STEPS = 24  # quarter steps of W_MAX_NA / 63 (six weight codes), between the codes' boundaries
# 160 ms: 80 ms left 12 % of a PSP's peak (tau_syn 15 ms) as a tail that fell under the next
# PSP — its height, measured from the 5 ms before it, lost 7 % of the previous one's
SPACING_MS = 8 * CELL["tau_m"]
FIRST_MS = 20.0
DELAY_MS = 1.0
BASELINE_MS = 5.0
RECEPTORS = ("excitatory", "inhibitory")


def weight_sweep(coarse_steps: int) -> np.ndarray:
    """The weights (nA, ascending): fine quarter steps of ``W_MAX_NA``/63 — 1/8, 3/8, 5/8, …
    of a code, so none sits on a rounding boundary — then coarse steps."""
    fine = (np.arange(1, FINE_STEPS + 1) - 0.5) * W_MAX_NA / 63.0 / 4.0
    coarse = np.linspace(0.0, W_MAX_NA, coarse_steps + 1)[1:]
    return np.unique(np.round(np.concatenate([fine, coarse]), 6))


def arrival_times(n: int) -> dict[str, np.ndarray]:
    """When each weight's spike reaches the neuron (ms): excitatory ones, then — after one
    more spacing for the largest PSP to decay — inhibitory ones."""
    k = np.arange(n)
    return {"excitatory": FIRST_MS + DELAY_MS + SPACING_MS * k,
            "inhibitory": FIRST_MS + DELAY_MS + SPACING_MS * (n + 1 + k)}


def ideal_psp_mv_per_na(tau_m: float, tau_syn: float, cm: float) -> float:
    """Peak of the LIF membrane's response to an exponential current of 1 nA (mV)."""
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * np.log(tau_m / tau_syn)
    return float(tau_m * tau_syn / (cm * (tau_m - tau_syn)) * (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_syn)))


def psp_heights(t: np.ndarray, v: np.ndarray, arrivals: np.ndarray, sign: float) -> np.ndarray:
    """Height (mV, ≥ 0 for the expected direction ``sign`` = ±1) of the PSP after each arrival."""
    out = []
    for a in arrivals:
        baseline = v[(t >= a - BASELINE_MS) & (t < a)].mean()
        window = v[(t >= a) & (t < a + SPACING_MS - BASELINE_MS)]
        out.append(sign * ((window.max() if sign > 0 else window.min()) - baseline) + 0.0)  # no -0.0
    return np.asarray(out)


def linear_fit(w: np.ndarray, h: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line through (weight, height): slope (mV/nA), intercept (mV), R²."""
    slope, intercept = np.polyfit(w, h, 1)
    residual = h - (slope * w + intercept)
    return float(slope), float(intercept), float(1.0 - residual @ residual / np.sum((h - h.mean()) ** 2))


def weight_step(fine_heights: np.ndarray, codes: np.ndarray, slope: float) -> tuple[float, float]:
    """The staircase of the fine sweep: (PSP step in mV, weight step in nA) of one weight
    code — the slope of a straight line through the heights against their codes (each
    plateau reads to one 0.12 mV readout step, about 2/3 of a code: the line averages that
    out, where the jumps between neighbouring plateaus are one or two readout steps)."""
    step_mv = float(np.polyfit(codes, fine_heights, 1)[0])
    return step_mv, step_mv / slope


def run_sweep(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """One run, every weight once onto each receptor: the membrane ``(t_ms, v_mv)``, the
    neuron's realised parameters (one value each) and per receptor the weights as the chip
    realises them, ``(codes, weights in nA)`` (``Projection.hardware_weights()``)."""
    n = len(weights)
    arrivals = arrival_times(n)
    sim.setup(timestep=0.1, min_delay=0.1)
    neuron = sim.Population(1, sim.IF_curr_exp(**CELL), label="neuron")
    neuron.initialize(v=CELL["v_rest"])
    projections = {}
    for receptor, sign in zip(RECEPTORS, (1.0, -1.0)):
        spikes = [[t - DELAY_MS] for t in arrivals[receptor]]
        source = sim.Population(n, sim.SpikeSourceArray(spike_times=spikes), label=f"{receptor}_input")
        connections = [(i, 0, sign * w, DELAY_MS) for i, w in enumerate(weights)]
        projections[receptor] = sim.Projection(source, neuron, sim.FromListConnector(connections),
                                               sim.StaticSynapse(), receptor_type=receptor,
                                               label=f"{receptor} sweep")
    neuron.record("v")
    sim.run(float(arrivals["inhibitory"][-1]) + SPACING_MS - DELAY_MS)
    t, v, _ = pynn_recording(neuron)
    realised = {k: float(x[0]) for k, x in neuron.realised_parameters().items()}
    hardware = {r: prj.hardware_weights() for r, prj in projections.items()}  # in connection order
    sim.end()
    return t, v, realised, {r: (codes, np.abs(w)) for r, (codes, w) in hardware.items()}


def main(coarse_steps: int = 16, out_dir: str = ".") -> dict:
    """Sweep, fit, plot ``pynn_dynamic_range.png``; return heights, fits and steps per receptor."""
    weights = weight_sweep(coarse_steps)
    t, v, real, hardware = run_sweep(weights)
    arrivals = arrival_times(len(weights))
    ideal = ideal_psp_mv_per_na(CELL["tau_m"], CELL["tau_syn_E"], CELL["cm"])
    readout_mv = float(np.diff(np.unique(v)).min())
    fine = weights < FINE_STEPS * W_MAX_NA / 63.0 / 4.0
    out: dict[str, dict] = {}
    for receptor, sign in zip(RECEPTORS, (1.0, -1.0)):
        h = psp_heights(t, v, arrivals[receptor], sign)
        codes, realised_na = hardware[receptor]
        slope, intercept, r2 = linear_fit(realised_na, h)
        step_mv, step_na = weight_step(h[fine], codes[fine], slope)
        syn = "tau_syn_E" if receptor == "excitatory" else "tau_syn_I"
        out[receptor] = {"heights_mv": h.tolist(), "codes": codes.tolist(), "realised_weights_na": realised_na.tolist(),
                         "lsb_na": float(np.max(realised_na / np.maximum(codes, 1))),
                         "slope_mv_per_na": slope, "intercept_mv": intercept, "r_squared": r2,
                         "psp_step_mv": step_mv, "weight_step_na": step_na,
                         "realised_ideal_mv_per_na": ideal_psp_mv_per_na(real["tau_m"], real[syn], CELL["cm"])}

    fig = new_figure(10.0, 7.5)
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.3])
    ax_v = fig.add_subplot(grid[0, :])
    ax_v.plot(t, v, lw=0.6, color="0.3")
    ax_v.set(xlabel="time (ms, biological)", ylabel="v (mV)",
             title="one neuron, one spike per weight: excitatory sweep, then inhibitory sweep (MADC)")
    ax_all, ax_low = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    for (receptor, r), colour in zip(out.items(), ("tab:red", "tab:blue")):
        h = np.asarray(r["heights_mv"])
        line = r["slope_mv_per_na"] * weights + r["intercept_mv"]  # the fit is against realised weights
        for ax, sel in ((ax_all, slice(None)), (ax_low, fine)):
            ax.plot(weights[sel], h[sel], "o", ms=3.5, color=colour, label=f"{receptor}")
            ax.plot(weights[sel], line[sel], "-", lw=0.8, color=colour, alpha=0.6,
                    label=f"fit: {r['slope_mv_per_na']:.2f} mV/nA, R² {r['r_squared']:.5f}")
    step_na, lsb_na = out["excitatory"]["weight_step_na"], out["excitatory"]["lsb_na"]
    for k in range(FINE_STEPS // 4 + 1):  # where the code changes: half-way between codes
        ax_low.axvline((k + 0.5) * lsb_na, color="0.85", lw=0.8, zorder=0)
    ax_all.plot(weights, ideal * weights, ":", color="k", lw=0.8, label=f"ideal LIF: {ideal:.2f} mV/nA")
    ax_all.set(xlabel="|weight| (nA)", ylabel="PSP height (mV)", title="dynamic range")
    ax_low.set(xlabel="|weight| (nA)", ylabel="PSP height (mV)", xlim=(0, weights[fine][-1] * 1.04),
               title=f"low end: one 6-bit weight code = {step_na:.3f} nA")
    ax_all.legend(fontsize=7, loc="upper left")
    ax_low.legend(fontsize=7, loc="upper left")
    png = save_figure(fig, out_dir, "pynn_dynamic_range.png")

    exc, inh = (np.asarray(out[r]["heights_mv"]) for r in RECEPTORS)
    codes = np.stack([np.asarray(out[r]["codes"])[fine] for r in RECEPTORS], axis=1)  # the chip's codes

    def span(x: np.ndarray) -> str:
        return f"{x.min():.2f}" if np.ptp(x) < 1e-9 else f"{x.min():.2f}–{x.max():.2f}"

    rows = []
    for pair in np.unique(codes, axis=0):
        sel = np.all(codes == pair, axis=1)
        rows.append([pair[0], pair[1], f"{weights[fine][sel].min():.4f}–{weights[fine][sel].max():.4f}",
                     span(exc[fine][sel]), span(inh[fine][sel])])
    print_table(["exc code", "inh code", "weights (nA)", "exc PSP (mV)", "inh PSP (mV)"], rows)
    print()
    print_table(["weight (nA)", "exc PSP (mV)", "inh PSP (mV)"],
                [[f"{w:.4f}", exc[i], inh[i]] for i, w in enumerate(weights) if not fine[i]])
    print()
    print_table(["receptor", "slope (mV/nA)", "intercept (mV)", "R²", "/ideal LIF", "/realised LIF",
                 "PSP step (mV)", "weight step (nA)", "LSB (nA)", "W_MAX / step"],
                [[r, o["slope_mv_per_na"], o["intercept_mv"], f"{o['r_squared']:.5f}",
                  f"{o['slope_mv_per_na'] / ideal:.3f}", f"{o['slope_mv_per_na'] / o['realised_ideal_mv_per_na']:.3f}",
                  o["psp_step_mv"], f"{o['weight_step_na']:.5f}", f"{o['lsb_na']:.5f}", W_MAX_NA / o["weight_step_na"]]
                 for r, o in out.items()])
    zero = weights[fine][exc[fine] < 0.5 * out["excitatory"]["psp_step_mv"]]
    print(f"ideal LIF PSP: {ideal:.2f} mV/nA (realised tau_m {real['tau_m']:.2f} ms, tau_syn {real['tau_syn_E']:.2f} "
          f"ms: {out['excitatory']['realised_ideal_mv_per_na']:.2f} mV/nA); slope against the realised weights "
          f"(code × LSB); membrane readout resolution {readout_mv:.3f} mV; "
          f"weights up to {zero.max() if len(zero) else 0.0:.4f} nA give no excitatory PSP")
    return {"png": str(png), "weights_na": weights.tolist(), "fine": fine.tolist(), "ideal_mv_per_na": ideal,
            "readout_mv": readout_mv, "realised": real, **out}


if __name__ == "__main__":
    command_line(main, __doc__, coarse_steps=(16, "even weight steps up to W_MAX_NA"))
