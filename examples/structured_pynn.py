"""A chain of compartments in PyNN: EPSPs attenuate along the dendrite (the BSS-2 tutorial's
experiment, written with ``sim.morphology``).

``create_mc_neuron`` builds the cell type from ``Compartment``s (two neighbouring circuits
each: the right one reaches the next compartment through the inter-compartment conductance
and the shared line, the left one sits on the line directly) and ``SharedLineConnection``s.
Every compartment gets a volley of input spikes at its own time (``AllToAllConnector(
location_selector="c<k>")``), and each run records one compartment's membrane with the MADC
(``record("v", locations=["c<k>"])``, the signal ``"c<k>.v"``); ``sim.reset()`` between the
runs. The grid shows the response at every compartment (columns) to the input at every
compartment (rows): largest where the input arrives, smaller and later with distance.

The cell type takes ``HXNeuron``'s hardware values (``bss2emu.pynn``: bss2emu's names;
``bss2emu.brainscales2.morphology`` gives the same with lola's names), ``v`` in hardware mV,
times in ms biological (= µs on the chip).

    python examples/structured_pynn.py [--length 4] [--conductance 300] [--out DIR]
"""

from __future__ import annotations

import numpy as np

import bss2emu.pynn as sim
from _common import command_line, print_table
from _structured import plot_grid
from bss2emu.pynn.morphology import Compartment, SharedLineConnection, create_mc_neuron

LEAK = 167  # i_bias_leak of each compartment's first circuit (2.15 nS per value: 0.36 µS)
WEIGHT = 63
INPUTS = 8
ISI_MS = 30.0


def chain_type(length: int, conductance: int):
    """The tutorial's chain of ``length`` compartments (positions 2k, 2k + 1)."""
    compartments, connections = [], []
    for k in range(length):
        left, right = 2 * k, 2 * k + 1
        compartments.append(Compartment(positions=[left, right], label=f"c{k}",
                                        connect_shared_line=[left] if k > 0 else None,
                                        connect_conductance=[(right, conductance)] if k < length - 1 else None))
        if k < length - 1:
            connections.append(SharedLineConnection(start=right, stop=right + 1, row=0))
    return create_mc_neuron("CompartmentChain", compartments=compartments, connections=connections,
                            single_active_circuit=True)


def main(length: int = 4, conductance: int = 300, out_dir: str = ".") -> dict:
    Chain = chain_type(length, conductance)
    sim.setup(timestep=0.1)
    neuron = sim.Population(1, Chain(enable_fire=0, i_bias_leak=LEAK), label="chain")
    for k in range(length):
        volley = sim.Population(INPUTS, sim.SpikeSourceArray(spike_times=[(k + 0.2) * ISI_MS]), label=f"in{k}")
        sim.Projection(volley, neuron, sim.AllToAllConnector(location_selector=f"c{k}"),
                       sim.StaticSynapse(weight=WEIGHT))
    traces, psp = [], np.zeros((length, length))
    for rec in range(length):  # one MADC, one compartment per run
        neuron.record("v", locations=[f"c{rec}"])
        sim.run(length * ISI_MS)
        signal = neuron.get_data(clear=True).segments[-1].analogsignals[0]
        t, v = np.asarray(signal.times, float), np.asarray(signal, float).ravel()
        traces.append((t, v))
        for inj in range(length):
            t_in = (inj + 0.2) * ISI_MS
            rest = np.median(v[(t >= t_in - 0.15 * ISI_MS) & (t < t_in)])
            psp[inj, rec] = v[(t >= t_in) & (t < t_in + 0.75 * ISI_MS)].max() - rest
        neuron.record(None)
        sim.reset()
    sim.end()
    png = plot_grid(traces, ISI_MS, f"{length} compartments, conductance {conductance} (PyNN)", out_dir,
                    "structured_pynn.png")
    print_table(["input at"] + [f"c{k} [mV]" for k in range(length)],
                [[f"c{i}"] + [f"{x:.1f}" for x in row] for i, row in enumerate(psp)])
    return {"psp_mv": psp, "signal_name": signal.name, "png": str(png)}


if __name__ == "__main__":
    command_line(main, __doc__, length=(4, "compartments in the chain"),
                 conductance=(300, "inter-compartment conductance, DAC value 0 … 1022 (3.3 nS each)"))
