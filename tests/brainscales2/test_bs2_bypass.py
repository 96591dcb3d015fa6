"""setup(enable_neuron_bypass=True): every synaptic event leaves the neuron as its spike, as
pynn.brainscales2's own hardware test of the mode expects (its port below)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyNN", reason="the PyNN views need pyNN (pip install bss2emu[pynn])")

import bss2emu.brainscales2 as pynn
from bss2emu.stack import halco, lola

STEP_MS = 1e-4  # the emulation's step (0.1 µs) in hardware ms


@pytest.fixture(autouse=True)
def _end():
    yield
    pynn.end()


def _forward(weights, receptor="excitatory", spike_times=None, **setup):
    pynn.setup(enable_neuron_bypass=True, **setup)
    rng = np.random.default_rng(4245)
    times = np.cumsum(rng.exponential(0.02, 400)) if spike_times is None else np.asarray(spike_times)
    times = times[times < 5.0]
    inp = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=times))
    out = pynn.Population(len(weights), pynn.cells.HXNeuron())
    out.record(["spikes"])
    pynn.Projection(inp, out, pynn.AllToAllConnector(), receptor_type=receptor,
                    synapse_type=pynn.standardmodels.synapses.StaticSynapse(weight=np.array([weights])))
    pynn.run(5.0)
    return times, [st.magnitude for st in out.get_data().segments[0].spiketrains]


def test_every_input_spike_comes_back_from_a_bypassed_neuron():
    """pynn.brainscales2's test: a Poisson train into a neuron in bypass mode; at least 98 %
    of the input times (to 0.01 ms) come back. Each output follows its input within one
    step; two inputs within one step leave as one spike (as the event output's rate limits)."""
    times, (out,) = _forward([63])
    assert len(times) > 150 and 0.98 * len(times) <= len(out) <= len(times)
    after = out[:, None] - times[None, :]
    assert np.all(((after >= 0) & (after <= STEP_MS + 1e-9)).any(axis=1))
    same_step = np.sum(np.diff(np.floor(times / STEP_MS)) == 0)
    assert len(out) == len(times) - same_step
    lost = set(np.round(times + 1e-9, 2)) - set(np.round(out + 1e-9, 2))
    assert len(lost) / len(times) < 0.02


def test_no_event_at_weight_zero_and_inhibitory_events_forward_too():
    times, (silent, weak) = _forward([0, 1])
    assert len(silent) == 0 and len(weak) >= 0.98 * len(times)
    pynn.end()
    times, (inh,) = _forward([-20], receptor="inhibitory")
    assert len(inh) >= 0.98 * len(times)


def test_the_bypass_chip_is_pynn_brainscales2s():
    chip = lola.Chip.default_neuron_bypass
    neuron = chip.neuron_block.atomic_neurons[halco.AtomicNeuronOnDLS(17)]
    assert not neuron.threshold.enable
    assert neuron.event_routing.enable_bypass_excitatory and neuron.event_routing.enable_bypass_inhibitory
    assert lola.Chip.default_neuron_bypass is not chip  # a fresh copy: changing one leaves the default


def test_a_chain_of_bypassed_neurons_forwards_within_the_step():
    """A bypassed neuron's spike reaches the next bypassed neuron through the chip's own
    routing, at the same time (the step's events are forwarded until none is left)."""
    pynn.setup(enable_neuron_bypass=True)
    inp = pynn.Population(1, pynn.cells.SpikeSourceArray(spike_times=[0.1, 0.3]))
    a = pynn.Population(1, pynn.cells.HXNeuron())
    b = pynn.Population(1, pynn.cells.HXNeuron())
    b.record(["spikes"])
    syn = pynn.standardmodels.synapses.StaticSynapse(weight=30)
    pynn.Projection(inp, a, pynn.AllToAllConnector(), synapse_type=syn)
    pynn.Projection(a, b, pynn.AllToAllConnector(), synapse_type=syn)
    pynn.run(0.5)
    out = b.get_data().segments[0].spiketrains[0].magnitude
    assert len(out) == 2
    # on-chip recurrence goes through the chip's crossbar: no FPGA latency
    assert np.allclose(out, [0.1, 0.3], atol=STEP_MS + 1e-9)
