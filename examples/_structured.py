"""Helpers shared by the structured-neuron examples (not an example itself): a logical
neuron's responses to an input at each compartment, recorded at each compartment, and a
grid plot of them (the BSS-2 multicompartment tutorial's figure)."""

from __future__ import annotations

import numpy as np

import bss2emu
from bss2emu.protocol.morphology import PlacedNeurons, chain_morphology  # noqa: F401 (the examples' chain)
from _common import madc_trace_mv, new_figure, save_figure


def stimulus_experiment(placed: PlacedNeurons, params: dict, record: int, isi_us: float = 30.0,
                        weight: int = 63, inputs: int = 8, serial: int | None = None) -> bss2emu.Experiment:
    """Compartment k of logical neuron 0 gets ``inputs`` coincident spikes at ``(k + 0.2) · isi_us``;
    the MADC records compartment ``record``'s membrane."""
    n_comp = len(placed.morphology.compartments)
    sources, projections = [], []
    for k in range(n_comp):
        name = f"in{k}"
        sources.append({"kind": "spike_array", "name": name, "size": inputs,
                        "spike_times_us": [[(k + 0.2) * isi_us]] * inputs})
        target = placed.index(0, k)
        projections.append({"pre": name, "post": "neuron", "weight": weight,
                            "connector": {"kind": "from_list", "connections": [[i, target] for i in range(inputs)]}})
    chip = {"ideal": True} if serial is None else {"serial": serial}
    return bss2emu.Experiment(
        name="compartment responses", runtime_us=n_comp * isi_us, chip=chip,
        populations=[placed.population("neuron", {"enable_fire": 0, **params})],
        sources=sources, projections=projections,
        recordings={"madc": {"population": "neuron", "index": placed.index(0, record)}})


def response_matrix(placed: PlacedNeurons, params: dict, isi_us: float = 30.0, **kw):
    """``(psp_mv[injected, recorded], traces)``: each compartment's peak response above its
    resting potential to the input at each compartment, one run per recorded compartment."""
    n_comp = len(placed.morphology.compartments)
    psp = np.zeros((n_comp, n_comp))
    traces = []
    for rec in range(n_comp):
        t, v = madc_trace_mv(bss2emu.run(stimulus_experiment(placed, params, rec, isi_us, **kw)))
        traces.append((t, v))
        for inj in range(n_comp):
            t_in = (inj + 0.2) * isi_us
            rest = float(np.median(v[(t >= t_in - 0.15 * isi_us) & (t < t_in)]))
            psp[inj, rec] = float(v[(t >= t_in) & (t < t_in + 0.75 * isi_us)].max()) - rest
    return psp, traces


def plot_grid(traces, isi_us: float, title: str, out_dir, filename: str):
    """The tutorial's grid: row = injection site, column = recording site."""
    n = len(traces)
    fig = new_figure(1.9 * n + 1.0, 1.5 * n + 0.8)
    axes = fig.subplots(n, n, sharex=True, sharey=True, squeeze=False)
    for inj in range(n):
        for rec, (t, v) in enumerate(traces):
            t_in = (inj + 0.2) * isi_us
            sel = (t >= t_in - 0.1 * isi_us) & (t < t_in + 0.7 * isi_us)
            rest = np.median(v[(t >= t_in - 0.15 * isi_us) & (t < t_in)])
            axes[inj, rec].plot(t[sel] - t_in, v[sel] - rest, color="k", lw=0.8)
            if inj == 0:
                axes[inj, rec].set_title(f"recorded at {rec}", fontsize=8)
            if rec == 0:
                axes[inj, rec].set_ylabel(f"input at {inj}\n[mV]", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time after input [µs]", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, out_dir, filename)
