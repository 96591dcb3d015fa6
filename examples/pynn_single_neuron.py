"""One IF_cond_exp neuron through PyNN: PSPs, a current step, the membrane on the MADC.

The script is plain PyNN in biological units — it runs unchanged with ``pyNN.nest`` —
against an ideal emulated BrainScaleS-2 chip (``import bss2emu.pynn as sim``). The
backend translates the parameters to hardware values at ``run()`` (voltages
v_hw = 1000 mV + 10·v, 1 ms ≙ 1 µs, see ``bss2emu.pynn.translation``) and reads the
membrane back from the 10-bit MADC in biological mV. The neuron gets

* one excitatory input spike, then three in quick succession (the PSPs sum),
* one inhibitory spike,
* a DC current step (``DCSource``): timed writes of the constant-current DAC.

    python examples/pynn_single_neuron.py [--runtime-ms 250] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu.pynn as sim
from _common import command_line, new_figure, print_table, pynn_recording, save_figure

CELL = {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_reset": -70.0, "v_thresh": -50.0, "tau_refrac": 2.0,
        "tau_syn_E": 5.0, "tau_syn_I": 10.0, "e_rev_E": 0.0, "e_rev_I": -80.0}
STEP_NA = 1.0


def schedule(runtime_ms: float) -> dict[str, list[float]]:
    """Input and current-step times as fractions of the run, so any duration shows all."""
    r = runtime_ms
    return {"exc_ms": [0.06 * r, 0.12 * r, 0.12 * r + 3.0, 0.12 * r + 6.0], "inh_ms": [0.3 * r],
            "step_ms": [0.44 * r, 0.84 * r]}


def main(runtime_ms: float = 250.0, out_dir: str = ".") -> dict:
    s = schedule(runtime_ms)
    sim.setup(timestep=0.1, min_delay=0.1)
    neuron = sim.Population(1, sim.IF_cond_exp(**CELL), label="neuron")
    exc = sim.Population(1, sim.SpikeSourceArray(spike_times=s["exc_ms"]), label="exc_input")
    inh = sim.Population(1, sim.SpikeSourceArray(spike_times=s["inh_ms"]), label="inh_input")
    sim.Projection(exc, neuron, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.02, delay=1.0),
                   receptor_type="excitatory")
    sim.Projection(inh, neuron, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.02, delay=1.0),
                   receptor_type="inhibitory")
    on, off = s["step_ms"]
    sim.DCSource(amplitude=STEP_NA, start=on, stop=off).inject_into(neuron)
    neuron.record(["spikes", "v"])
    sim.run(runtime_ms)
    t, vm, spikes = pynn_recording(neuron)
    realised = {k: float(x[0]) for k, x in neuron.realised_parameters().items()}
    sim.end()

    first_exc = s["exc_ms"][0] + 1.0
    window = (t >= first_exc) & (t < s["exc_ms"][1] + 1.0)  # until the next input arrives
    psp = float(vm[window].max() - vm[t < first_exc].mean())
    fig = new_figure(8.0, 3.6)
    ax = fig.add_subplot()
    ax.plot(t, vm, lw=0.8, color="C0", label="membrane (MADC)")
    ax.plot(spikes, np.full(len(spikes), CELL["v_thresh"] + 2.0), "|", color="C3", ms=10, label="spikes")
    ax.axvspan(on, off, color="0.9", label=f"{STEP_NA:g} nA step")
    ax.axhline(CELL["v_thresh"], color="0.5", ls=":", lw=0.8)
    ax.set(xlabel="time (ms, biological)", ylabel="v (mV, biological)",
           title="IF_cond_exp on an emulated BrainScaleS-2 chip (PyNN)")
    ax.legend(loc="upper left", fontsize=8)
    png = save_figure(fig, out_dir, "pynn_single_neuron.png")
    rate = len(spikes) / ((off - on) / 1000.0)
    print_table(["quantity", "value"], [
        ["spikes", len(spikes)], ["rate during step (Hz)", rate], ["first PSP (mV)", psp],
        ["realised tau_m (ms)", realised["tau_m"]], ["realised v_thresh (mV)", realised["v_thresh"]]])
    return {"png": str(png), "spikes": spikes.tolist(), "rate_hz": rate, "psp_mv": psp, "v_min": float(vm.min()),
            "v_max": float(vm.max()), "samples": len(vm), "step_ms": [on, off], "realised": realised}


if __name__ == "__main__":
    command_line(main, __doc__, runtime_ms=250.0)
