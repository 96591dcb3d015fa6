"""Fit a compartment chain's leak and inter-compartment conductance to a target EPSP
attenuation profile, with the parameter search run as a sweep on Ray.

The target is the profile (EPSP at each compartment of a 4-compartment chain, relative to
the injected one, for an input at compartment 0) that the chain gives with conductance
``TRUE_CONDUCTANCE`` and leak ``TRUE_LEAK``. The search runs ``bss2emu.cluster.sweep.sweep``
over a grid of conductance × leak × recorded compartment (the MADC records one compartment
per run): every member is an independent Ray task, the results land in ``--out/sweep``;
the grid point whose profile is closest to the target (least squares) is the fit. The same
grid runs from the command line as ``bss2emu sweep``.

    python examples/structured_chain_fit.py [--out DIR]
"""

from __future__ import annotations

import numpy as np

from _common import command_line, new_figure, print_table, save_figure
from _structured import chain_morphology, stimulus_experiment

from bss2emu import Results
from bss2emu.cluster.sweep import sweep

LENGTH = 4
ISI_US = 60.0
TRUE_CONDUCTANCE, TRUE_LEAK = 300, 80
CONDUCTANCES = [150, 300, 600]
LEAKS = [40, 80]


def peak_after_first_input(res: Results) -> float:
    t = res.madc_mv()
    t_us, v = t["time_us"].to_numpy(), t["v_mv"].to_numpy()
    t_in = 0.2 * ISI_US
    rest = float(np.median(v[t_us < t_in]))
    return float(v[(t_us >= t_in) & (t_us < t_in + 0.75 * ISI_US)].max()) - rest


def main(out_dir: str = ".", address: str | None = None) -> dict:
    """Make the target, run the sweep, pick the best grid point; plot ``structured_chain_fit.png``."""
    placed = chain_morphology(LENGTH).place([0])
    base = stimulus_experiment(placed, {"i_bias_conductance": TRUE_CONDUCTANCE, "i_bias_leak": TRUE_LEAK}, 0, ISI_US)
    recorded = [placed.index(0, k) for k in range(LENGTH)]
    # the target: the true chain's profile, through the same sweep machinery (one member per site)
    from pathlib import Path

    out = Path(out_dir)
    truth = sweep(base, {"recordings.madc.index": recorded}, out / "target", address=address, progress=False)
    target = np.array([peak_after_first_input(Results.read_parquet(m.directory)) for m in truth.members])
    target = target / target[0]
    grid = {"populations.0.params.i_bias_conductance": CONDUCTANCES, "populations.0.params.i_bias_leak": LEAKS,
            "recordings.madc.index": recorded}
    report = sweep(base, grid, out / "sweep", address=address, progress=False)
    if report.failed:
        raise RuntimeError(report.summary())
    peaks = {}
    for m in report.members:
        key = (m.params["populations.0.params.i_bias_conductance"], m.params["populations.0.params.i_bias_leak"])
        peaks.setdefault(key, {})[m.params["recordings.madc.index"]] = peak_after_first_input(
            Results.read_parquet(m.directory))
    profiles = {k: np.array([v[i] for i in recorded]) / v[recorded[0]] for k, v in peaks.items()}
    error = {k: float(((p - target) ** 2).sum()) for k, p in profiles.items()}
    best = min(error, key=error.get)
    fig = new_figure(6.5, 4.0)
    ax = fig.add_subplot()
    for k, p in profiles.items():
        ax.plot(range(LENGTH), p, "o-" if k == best else ".-", lw=2.0 if k == best else 0.7,
                label=f"conductance {k[0]}, leak {k[1]}" + (" (fit)" if k == best else ""))
    ax.plot(range(LENGTH), target, "k--", lw=1.5, label="target")
    ax.set_xlabel("compartment (input at 0)")
    ax.set_ylabel("EPSP / EPSP at compartment 0")
    ax.legend(fontsize=7)
    png = save_figure(fig, out_dir, "structured_chain_fit.png")
    print_table(["conductance", "leak", "squared error"], [[k[0], k[1], f"{e:.4f}"] for k, e in sorted(error.items())])
    print(f"fit: conductance {best[0]}, leak {best[1]} (true: {TRUE_CONDUCTANCE}, {TRUE_LEAK})")
    return {"best": list(best), "error": {f"{k[0]},{k[1]}": e for k, e in error.items()},
            "target": target.tolist(), "members": len(report.members), "png": str(png)}


if __name__ == "__main__":
    command_line(main, __doc__)
