"""The emulated batch as one compiled call (``cluster.batch``) against the plain path (an
experiment per entry through ``bss2emu.run_each``): the same forward values and gradients,
bit for bit, batch after batch with weights changed in between; a network over several
chips takes the plain path."""

from __future__ import annotations

import pytest
import torch

from bss2emu import snn
from bss2emu.snn.emulation import Emulator

FIELDS = ("spikes", "membrane_cadc", "membrane_madc", "madc_codes")


def model(batched: bool, cadc_shift: int = 0, hidden: int = 12):
    exp = snn.Experiment(mock=False, serial=2)
    s1 = snn.Synapse(6, hidden, experiment=exp)
    l1 = snn.AELIF(hidden, experiment=exp, tau_mem=6e-6, tau_syn=5e-6, enable_madc_recording=True,
                   record_neuron_id=3, spike_adaptation=0.1)
    s2 = snn.Synapse(hidden, 3, experiment=exp)
    l2 = snn.LI(3, experiment=exp, cadc_time_shift=cadc_shift, shift_cadc_to_first=cadc_shift != 0)
    torch.manual_seed(1)
    with torch.no_grad():
        s1.weight.normal_(0.5, 0.6)
        s2.weight.normal_(0.0, 0.3)
    return exp, (s1, l1, s2, l2)


def run_batches(batched: bool, cadc_shift: int = 0, batches: int = 3):
    exp, (s1, l1, s2, l2) = model(batched, cadc_shift)
    exp._emulator = Emulator(exp)
    exp._emulator.batched = batched
    out = []
    for k in range(batches):
        g = torch.Generator().manual_seed(k)
        x = (torch.rand(5, 30, 6, generator=g) < 0.1).float()
        h = l1(s1(snn.NeuronHandle(spikes=x)))
        y = l2(s2(h))
        snn.run(exp, 30)
        assert exp.last_run_info["batched"] is batched
        (y.membrane_cadc.sum() + h.membrane_cadc.sum()).backward()
        grads = [s.weight.grad.clone() for s in (s1, s2)]
        out.append(([getattr(h, f) for f in FIELDS], [y.membrane_cadc], grads))
        with torch.no_grad():  # a training step: new hardware weights for the next batch
            for s in (s1, s2):
                s.weight -= 0.05 * s.weight.grad.sign()
                s.weight.grad = None
    return out


@pytest.mark.parametrize("cadc_shift", [0, 1])
def test_the_batched_chip_run_equals_the_run_of_every_entry_bit_for_bit(cadc_shift):
    fast, plain = run_batches(True, cadc_shift), run_batches(False, cadc_shift)
    for (h_f, y_f, g_f), (h_p, y_p, g_p) in zip(fast, plain):
        for a, b in zip(h_f + y_f + g_f, h_p + y_p + g_p):
            assert torch.equal(a, b)
    spikes = [h[0].sum().item() for h, _, _ in fast]
    assert min(spikes) > 10 and len(set(spikes)) == len(spikes)  # they fire, and the batches differ
    assert fast[0][0][2].abs().sum() > 0  # the MADC recorded


def two_chips(batched: bool, readout: bool):
    exp = snn.Experiment(mock=False, ideal=True, chips=2)
    exp._emulator = Emulator(exp)
    exp._emulator.batched = batched
    syn = snn.Synapse(3, 600, experiment=exp)
    lif = snn.LIF(600, experiment=exp)
    with torch.no_grad():
        syn.weight.fill_(0.7)
    x = torch.zeros(2, 20, 3)
    x[0, 2:8, 0] = x[1, 4:9, 1] = x[1, 5:9, 2] = 1.0
    h = lif(syn(snn.NeuronHandle(spikes=x)))
    if readout:
        mask = torch.zeros(2, 600, dtype=torch.bool)
        mask[:, ::10] = True  # from both chips
        snn.LI(2, experiment=exp)(snn.SparseSynapse(mask, experiment=exp)(h))
    snn.run(exp, 20)
    return exp.last_run_info["batched"], h


def test_a_population_over_two_chips_runs_batched_unless_the_chips_exchange_spikes():
    # 600 neurons fed by the FPGAs only: two independent chips, batched
    (fast, h_f), (slow, h_p) = two_chips(True, False), two_chips(False, False)
    assert fast and not slow
    assert torch.equal(h_f.spikes, h_p.spikes) and torch.equal(h_f.membrane_cadc, h_p.membrane_cadc)
    assert h_f.spikes[0].sum() > 0 and h_f.spikes.shape == (2, 20, 600)
    assert not torch.equal(h_f.spikes[0], h_f.spikes[1])
    # a readout fed by both chips: spikes cross chips, so the batch runs entry by entry
    assert two_chips(True, True)[0] is False
