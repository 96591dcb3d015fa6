"""One AdEx neuron circuit: PSPs from a few input spikes, then spikes under a current step.

The neuron keeps the hardware defaults (leak potential ≈ 587 mV, threshold ≈ 704 mV,
reset ≈ 528 mV, τ_m ≈ 10 µs, τ_syn ≈ 5 µs, exponential term and adaptation off, i.e. a
leaky integrate-and-fire neuron; see ``bss2emu.protocol.hardware``) on an
emulated chip *with* fixed-pattern mismatch (serial 7), so the values differ a little from
the nominal ones. It receives

* one excitatory spike, then three in quick succession (the PSPs sum),
* one inhibitory spike,
* a constant current step: two timed ``writes`` switch ``i_const`` to 800 (40 nA) and back
  to 0 — online parameter updates through the FPGA playback program, no second run.

The MADC records the membrane every 0.1 µs as a 10-bit code; the plot shows it in mV
(v = code · 1200/1023) with the neuron's spikes marked. The same experiment as a file:
``examples/single_neuron.yaml`` (at the default 250 µs).

    python examples/single_neuron.py [--runtime-us 250] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu
from _common import command_line, madc_trace_mv, new_figure, print_table, save_figure

I_CONST_STEP = 470  # DAC value, 85 pA/LSB: 40 nA, well above the ≈ 26 nA rheobase


def schedule(runtime_us: float) -> dict[str, list[float]]:
    """Input and current-step times, as fractions of the run so any duration shows all."""
    r = runtime_us
    return {
        "exc_us": [0.06 * r, 0.12 * r, 0.12 * r + 3.0, 0.12 * r + 6.0],
        "inh_us": [0.3 * r],
        "step_us": [0.44 * r, 0.84 * r],
    }


def build_experiment(runtime_us: float) -> bss2emu.Experiment:
    """The experiment: one neuron, two spike sources, a current step, MADC on the neuron."""
    s = schedule(runtime_us)
    on, off = s["step_us"]
    return bss2emu.Experiment(
        name="single neuron",
        runtime_us=runtime_us,
        chip={"serial": 7},
        populations=[{"name": "neuron", "size": 1}],
        sources=[
            {"kind": "spike_array", "name": "exc_input", "size": 1, "spike_times_us": [s["exc_us"]]},
            {"kind": "spike_array", "name": "inh_input", "size": 1, "spike_times_us": [s["inh_us"]]},
        ],
        projections=[
            {"pre": "exc_input", "post": "neuron", "weight": 63},
            {"pre": "inh_input", "post": "neuron", "weight": 63, "receptor": "inhibitory"},
        ],
        writes=[
            {"kind": "neuron", "time_us": on, "population": "neuron", "parameter": "i_const", "value": I_CONST_STEP},
            {"kind": "neuron", "time_us": off, "population": "neuron", "parameter": "i_const", "value": 0},
        ],
        recordings={"madc": {"population": "neuron"}},
    )


def main(runtime_us: float = 250.0, out_dir: str = ".") -> dict:
    """Run, plot ``single_neuron.png`` and return the measured numbers."""
    s = schedule(runtime_us)
    res = bss2emu.run(build_experiment(runtime_us))
    t, v = madc_trace_mv(res)
    spikes = res.spike_times_us("neuron")[0]

    t_exc, t_inh = s["exc_us"][0], s["inh_us"][0]
    v_rest = float(np.median(v[t < t_exc]))
    epsp = float(v[(t >= t_exc) & (t < min(t_exc + 15.0, s["exc_us"][1]))].max() - v_rest)
    # the summed EPSPs may not have decayed fully: measure the IPSP from where it starts
    v_at_inh = float(v[np.searchsorted(t, t_inh)])
    ipsp = float(v_at_inh - v[(t >= t_inh) & (t < t_inh + 15.0)].min())
    on, off = s["step_us"]
    n_step = int(((spikes >= on) & (spikes < off)).sum())

    fig = new_figure(8.0, 4.5)
    ax = fig.add_subplot()
    ax.axvspan(on, off, color="tab:orange", alpha=0.12, label=f"i_const = {I_CONST_STEP} (40 nA)")
    ax.plot(t, v, color="tab:blue", lw=1.0, label="membrane (MADC)")
    top = v.max() + 8.0
    ax.plot(spikes, np.full(len(spikes), top), "v", color="tab:red", ms=7, label="spikes")
    bottom = v.min() - 8.0
    ax.plot(s["exc_us"], np.full(len(s["exc_us"]), bottom), "^", color="tab:green", ms=7,
            label="excitatory input")
    ax.plot(s["inh_us"], [bottom], "^", color="tab:purple", ms=7, label="inhibitory input")
    ax.set_xlabel("time [µs hardware ≙ ms biological]")
    ax.set_ylabel("membrane [mV]")
    ax.set_title("Single AdEx neuron circuit (chip serial 7, hardware defaults)")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    png = save_figure(fig, out_dir, "single_neuron.png")

    rows = [
        ("resting potential", f"{v_rest:.1f} mV"),
        ("EPSP amplitude (weight 63)", f"{epsp:.1f} mV"),
        ("IPSP amplitude (weight 63)", f"{ipsp:.1f} mV"),
        ("spikes during the current step", f"{n_step} in {off - on:.0f} µs"),
        ("spike times", ", ".join(f"{x:.1f}" for x in spikes) + " µs"),
    ]
    print_table(("quantity", "value"), rows)
    print(f"wrote {png}")
    return {
        "png": str(png), "spike_times_us": spikes.tolist(), "n_spikes": int(len(spikes)),
        "n_spikes_in_step": n_step, "v_rest_mv": v_rest, "epsp_mv": epsp, "ipsp_mv": ipsp,
        "step_us": (on, off),
    }


if __name__ == "__main__":
    command_line(main, __doc__, runtime_us=250.0)
