"""Small scripts in the style of the BrainScaleS-2 tutorials, shared by the tests."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")
pytest.importorskip("neo", reason="the PyNN views need neo (pip install bss2emu[pynn])")


@pytest.fixture
def pynn():
    """bss2emu.brainscales2, set up on the ideal chip (no calibration measurements) and ended after."""
    import bss2emu.brainscales2 as pynn

    pynn.setup(ideal=True)
    yield pynn
    pynn.end()

# the leak-over-threshold neuron of pynn.brainscales2's example (leak above the threshold:
# the neuron fires regularly without input); leak_v_leak below saturation so that the
# MADC trace shows the whole rise
LEAK_OVER_THRESHOLD = {"leak_v_leak": 1000, "leak_i_bias": 320, "threshold_v_threshold": 500,
                       "threshold_enable": True, "reset_v_reset": 400, "membrane_capacitance_capacitance": 63,
                       "refractory_period_refractory_time": 95}
# a neuron that integrates its synaptic inputs and does not fire
LISTENER = {"leak_v_leak": 707, "leak_i_bias": 50, "threshold_enable": False,
            "membrane_capacitance_capacitance": 63,
            "excitatory_input_enable": True, "excitatory_input_i_bias_gm": 1000, "excitatory_input_i_bias_tau": 60,
            "inhibitory_input_enable": True, "inhibitory_input_i_bias_gm": 1000, "inhibitory_input_i_bias_tau": 60}


def single_neuron(pynn, params: dict, runtime_ms: float = 0.2, device: str = "madc"):
    """One HXNeuron recording spikes and membrane: (spike times ms, membrane signal)."""
    pop = pynn.Population(1, pynn.cells.HXNeuron(**params))
    pop.record(["spikes", "v"], device=device)
    pynn.run(runtime_ms)
    seg = pop.get_data().segments[-1]
    return np.asarray(seg.spiketrains[0].magnitude), seg.irregularlysampledsignals[0]


def stimulated_listener(pynn, weight: float, receptor: str, spike_ms: float = 0.05):
    """A listening neuron receiving one spike at ``spike_ms`` through a projection with
    ``weight`` onto ``receptor``: its MADC membrane trace."""
    stim = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[spike_ms]))
    pop = pynn.Population(1, pynn.cells.HXNeuron(**LISTENER))
    pop.record("v")
    pynn.Projection(stim, pop, pynn.AllToAllConnector(), synapse_type=pynn.synapses.StaticSynapse(weight=weight),
                    receptor_type=receptor)
    pynn.run(0.15)
    return pop.get_data("v").segments[-1].irregularlysampledsignals[0]
