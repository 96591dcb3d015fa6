"""The torch front end: mock against the emulated chip, gradients, weights, errors."""

from __future__ import annotations

import pytest
import torch

from bss2emu import RoutingError, snn
from bss2emu.errors import ConfigError
from bss2emu.snn import functional as F
from bss2emu.snn.units import MV_PER_CODE, MV_PER_UNIT

HALF_CODE = MV_PER_CODE / MV_PER_UNIT / 2  # the CADC's rounding, threshold units


def two_layer(mock, w_in, w_out, x, ideal=True, **lif):
    exp = snn.Experiment(mock=mock, ideal=ideal)
    s1 = snn.Synapse(w_in.shape[1], w_in.shape[0], experiment=exp)
    l1 = snn.LIF(w_in.shape[0], experiment=exp, **lif)
    s2 = snn.Synapse(w_out.shape[1], w_out.shape[0], experiment=exp)
    l2 = snn.LI(w_out.shape[0], experiment=exp)
    with torch.no_grad():
        s1.weight.copy_(w_in)
        s2.weight.copy_(w_out)
    h = l1(s1(snn.NeuronHandle(spikes=x)))
    y = l2(s2(h))
    snn.run(exp, x.shape[1])
    return h, y, (s1, l1, s2, l2)


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(3, 60, 8, generator=g) < 0.08).float()
    return x, torch.randn(10, 8, generator=g) * 0.6, torch.randn(2, 10, generator=g) * 0.5


def test_subthreshold_mock_and_emulation_agree_within_the_cadc_resolution(data):
    # exact integration on both sides: what differs is the CADC's 8-bit rounding
    # (half a code = 0.0235 threshold units) and the chip's DAC steps; 0.03 bounds both
    x, w_in, w_out = data
    hm, _, _ = two_layer(True, w_in * 0.1, w_out, x)
    he, _, _ = two_layer(False, w_in * 0.1, w_out, x)
    assert hm.spikes.sum() == 0 and he.spikes.sum() == 0
    diff = (hm.membrane_cadc - he.membrane_cadc).abs()
    assert diff.max() < HALF_CODE + 0.007
    assert hm.membrane_cadc.abs().max() > 0.3  # the inputs moved the membranes


def test_spiking_mock_and_emulation_agree(data):
    # spikes fall between grid points on the chip: counts within 15 %, readouts within 15 % of their range
    x, w_in, w_out = data
    hm, ym, _ = two_layer(True, w_in, w_out, x)
    he, ye, _ = two_layer(False, w_in, w_out, x)
    n_m, n_e = hm.spikes.sum().item(), he.spikes.sum().item()
    assert n_e > 20 and abs(n_m - n_e) <= 0.15 * n_e
    span = ye.membrane_cadc.abs().max()
    assert (ym.membrane_cadc - ye.membrane_cadc).abs().max() < 0.15 * span
    assert he.spikes.shape == (3, 60, 10) and set(he.spikes.unique().tolist()) <= {0.0, 1.0}


def test_emulated_forward_values_are_the_chips_and_backward_runs_through_them(data):
    x, w_in, w_out = data
    h, y, (s1, l1, s2, l2) = two_layer(False, w_in, w_out, x)
    y.membrane_cadc.sum().backward()
    assert s1.weight.grad.abs().sum() > 0 and s2.weight.grad.abs().sum() > 0
    # the readout's forward values are CADC codes mapped to threshold units: they move in whole code steps
    v = y.membrane_cadc.detach()
    steps = (v[:, 1:] - v[:, :-1]).abs()
    in_codes = steps[steps > 1e-6] / (MV_PER_CODE / MV_PER_UNIT)
    assert in_codes.numel() > 10 and torch.allclose(in_codes, in_codes.round(), atol=0.02)
    # backward equals the software equations evaluated at the chip's values
    cur = s2.effective_weight().detach()
    inp = F.linear(h.spikes.detach(), cur).requires_grad_(True)
    out = F.li_integration(inp, l2.params, 1e-6, v)
    assert torch.equal(out, v)
    out.sum().backward()
    assert inp.grad.abs().sum() > 0


def test_weights_become_signed_six_bit_hardware_weights():
    exp = snn.Experiment(mock=True)
    syn = snn.Synapse(3, 2, experiment=exp)
    lif = snn.LIF(2, experiment=exp)
    lif(syn(snn.NeuronHandle(spikes=torch.zeros(1, 5, 3))))
    lsb = syn.lsb()
    with torch.no_grad():
        syn.weight.copy_(torch.tensor([[0.49 * lsb, -10.6 * lsb, 100 * lsb], [-100 * lsb, 0.0, 62.5 * lsb]]))
    assert syn.weight_hw().tolist() == [[0.0, -11.0, 63.0], [-63.0, 0.0, 62.0]]
    assert torch.allclose(syn.effective_weight(), syn.weight_hw() * lsb)
    # straight-through inside the range, zero where saturated
    syn.weight_hw().sum().backward()
    assert syn.weight.grad.flatten().tolist() == pytest.approx([1 / lsb, 1 / lsb, 0.0, 0.0, 1 / lsb, 1 / lsb])


def test_emulated_experiment_realises_the_hardware_weights():
    from bss2emu.snn.emulation import Emulator

    exp = snn.Experiment(mock=False, ideal=True)
    syn = snn.Synapse(2, 2, experiment=exp)
    lif = snn.LIF(2, experiment=exp)
    h = lif(syn(snn.NeuronHandle(spikes=torch.zeros(1, 5, 2))))
    with torch.no_grad():
        syn.weight.copy_(torch.tensor([[5.0, -5.0], [0.0, 1.0]]) * syn.lsb())
    order = exp.order()
    hw_exp, *_ = Emulator(exp).build(order, exp._graph, 5)
    conns = {p.receptor: p.connector.connections for p in hw_exp.projections}
    assert sorted(conns["excitatory"]) == [[0, 0, 5], [0, 1, 0], [1, 0, 0], [1, 1, 1]]
    assert sorted(conns["inhibitory"]) == [[0, 0, 0], [0, 1, 0], [1, 0, 5], [1, 1, 0]]
    assert h.spikes is None  # not run: the handle is still empty


def test_mock_gradients_match_finite_differences():
    # unquantised weights and a subthreshold network: the mock is smooth, so its gradient is exact
    torch.manual_seed(3)
    exp = snn.Experiment(mock=True)
    scale = 63 / 3.0
    syn = snn.Synapse(4, 3, experiment=exp, transform=lambda w: w * scale).double()
    li = snn.LI(3, experiment=exp, tau_mem=8e-6, tau_syn=4e-6)
    x = (torch.rand(2, 30, 4) < 0.2).double()

    def loss(weight):
        with torch.no_grad():
            syn.weight.copy_(weight)
        y = li(syn(snn.NeuronHandle(spikes=x)))
        snn.run(exp, 30)
        return (y.membrane_cadc ** 2).sum()

    w0 = torch.randn(3, 4, dtype=torch.float64) * 0.3
    syn.weight.grad = None
    loss(w0).backward()
    grad = syn.weight.grad.clone()
    eps = 1e-6
    for idx in [(0, 0), (1, 2), (2, 3)]:
        wp, wm = w0.clone(), w0.clone()
        wp[idx] += eps
        wm[idx] -= eps
        with torch.no_grad():
            fd = (loss(wp) - loss(wm)) / (2 * eps)
        assert grad[idx].item() == pytest.approx(fd.item(), rel=1e-5)


def test_lif_gradient_is_superspike():
    x = torch.tensor([-0.1, 0.0, 0.2], requires_grad=True)
    F.SuperSpike.apply(x, 50.0).sum().backward()
    assert x.grad.tolist() == pytest.approx((1 / (50 * x.detach().abs() + 1) ** 2).tolist())
    assert F.SuperSpike.apply(x, 50.0).tolist() == [0.0, 0.0, 1.0]


def test_lif_mock_matches_the_analytic_psp():
    # one input of weight q at t=0 onto a LIF at rest: v(t) = q·τs/(τs-τm)(e^{-t/τs} - e^{-t/τm})
    p = F.LIFParams(tau_mem=10e-6, tau_syn=5e-6, threshold=100.0)
    x = torch.zeros(1, 30, 1)
    x[0, 0, 0] = 0.7
    _, v = F.lif_integration(x, p, 1e-6)
    t = torch.arange(30, dtype=torch.float64) * 1e-6
    ref = 0.7 * 5e-6 / (5e-6 - 10e-6) * (torch.exp(-t / 5e-6) - torch.exp(-t / 10e-6))
    assert torch.allclose(v[0, :, 0].double(), ref, atol=1e-6)


def test_custom_autograd_function_replaces_a_modules_backward():
    class Doubling(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input, params, dt, hw_data):
            return F.li_integration(input, params, dt, hw_data)

        @staticmethod
        def backward(ctx, grad):
            return torch.full((1, 10, 2), 2.0), None, None, None

    exp = snn.Experiment(mock=True)
    syn = snn.Synapse(1, 2, experiment=exp)
    li = snn.LI(2, experiment=exp, func=Doubling)
    y = li(syn(snn.NeuronHandle(spikes=torch.ones(1, 10, 1))))
    snn.run(exp, 10)
    y.membrane_cadc.sum().backward()
    assert syn.weight.grad.flatten().tolist() == pytest.approx([20.0, 20.0])  # 10 steps · 2 · input 1


def test_errors_name_module_value_limit_and_fix():
    exp = snn.Experiment(mock=True)
    with pytest.raises(ConfigError, match=r"lif0: threshold=20.0 .*-5.5..5.5 threshold units.*choose threshold"):
        snn.LIF(3, experiment=exp, threshold=20.0)
    with pytest.raises(ConfigError, match=r"tau_mem=0.001 .*5e-07..6e-05 s"):
        snn.LIF(3, experiment=exp, tau_mem=1e-3)
    syn = snn.Synapse(4, 3, experiment=exp)
    lif = snn.LIF(3, experiment=exp)
    lif(syn(snn.NeuronHandle(spikes=torch.zeros(2, 10, 5))))
    with pytest.raises(ConfigError, match=r"synapse0: input has 5 neurons, the synapse expects in_features=4"):
        snn.run(exp, 10)
    lif(syn(snn.NeuronHandle(spikes=torch.full((2, 10, 4), 2.0))))
    with pytest.raises(ConfigError, match="0 or 1 per step"):
        snn.run(exp, 10)
    with pytest.raises(ConfigError, match="runtime=1 must be"):
        snn.run(exp, 1)


def test_a_network_that_does_not_fit_names_the_population_and_the_fix():
    exp = snn.Experiment(mock=False, ideal=True)
    syn = snn.Synapse(2, 600, experiment=exp)
    lif = snn.LIF(600, experiment=exp)
    lif(syn(snn.NeuronHandle(spikes=torch.zeros(1, 5, 2))))
    with pytest.raises(RoutingError, match="lif0"):
        snn.run(exp, 5)


def test_a_population_larger_than_a_chip_runs_on_two_chips():
    x = torch.zeros(1, 20, 2)
    x[0, 2, :] = 1.0
    outs = []
    for mock in (True, False):
        exp = snn.Experiment(mock=mock, ideal=True, chips=2)
        syn = snn.Synapse(2, 600, experiment=exp)
        lif = snn.LIF(600, experiment=exp)
        with torch.no_grad():
            syn.weight.fill_(2.0)
        h = lif(syn(snn.NeuronHandle(spikes=x)))
        snn.run(exp, 20)
        outs.append(h)
    assert outs[1].spikes.shape == (1, 20, 600)
    assert outs[1].spikes[0, :, :].sum(0).min() >= 1  # every neuron, on either chip, fired
    assert (outs[0].membrane_cadc - outs[1].membrane_cadc)[0, :2].abs().max() < HALF_CODE + 0.007


@pytest.mark.parametrize("kind", ["LIF", "AELIF"])
def test_lif_and_adaptive_neurons_spike_alike_in_mock_and_emulation_and_the_madc_agrees(kind):
    x = torch.zeros(1, 60, 1)
    x[0, 2:50:2, 0] = 1.0
    extra = {"spike_adaptation": 0.5, "tau_adap": 30e-6} if kind == "AELIF" else {}
    counts, madc = [], None
    for mock in (True, False):
        exp = snn.Experiment(mock=mock, ideal=True)
        syn = snn.Synapse(1, 2, experiment=exp)
        n = getattr(snn, kind)(2, experiment=exp, enable_madc_recording=True, record_neuron_id=1, **extra)
        with torch.no_grad():
            syn.weight.fill_(1.0)
        h = n(syn(snn.NeuronHandle(spikes=x)))
        snn.run(exp, 60)
        counts.append(h.spikes.sum().item())
        madc = h if not mock else madc
    assert abs(counts[0] - counts[1]) <= 1 and counts[1] > 10
    # the MADC samples every 0.1 µs; at the CADC's sample times both read the same membrane
    assert madc.membrane_madc.shape == (1, 600, 1) and madc.madc_dt == pytest.approx(1e-7)
    assert (madc.membrane_madc[0, ::10, 0] - madc.membrane_cadc[0, :, 1]).abs().max() < 2 * HALF_CODE


def test_adaptation_reduces_the_rate():
    x = torch.zeros(1, 60, 1)
    x[0, 2:50:2, 0] = 1.0
    counts = []
    for b in (0.0, 0.5):
        exp = snn.Experiment(mock=True)
        syn = snn.Synapse(1, 1, experiment=exp)
        n = snn.AELIF(1, experiment=exp, spike_adaptation=b, tau_adap=30e-6)
        with torch.no_grad():
            syn.weight.fill_(1.0)
        h = n(syn(snn.NeuronHandle(spikes=x)))
        snn.run(exp, 60)
        counts.append(h.spikes.sum().item())
    assert counts[1] < 0.8 * counts[0]


def test_two_modules_with_madc_recording_is_an_error():
    exp = snn.Experiment(mock=False, ideal=True)
    s1, s2 = snn.Synapse(1, 2, experiment=exp), snn.Synapse(2, 2, experiment=exp)
    l1 = snn.LIF(2, experiment=exp, enable_madc_recording=True)
    l2 = snn.LIF(2, experiment=exp, enable_madc_recording=True)
    l2(s2(l1(s1(snn.NeuronHandle(spikes=torch.zeros(1, 5, 1))))))
    with pytest.raises(ConfigError, match="lif0 and lif1 both enable MADC recording"):
        snn.run(exp, 5)


def test_hxtorch_arguments_and_names():
    exp = snn.Experiment(mock=False, ideal=True)
    with pytest.raises(ConfigError, match="LIF: placement_constraint=.*remove the argument"):
        snn.LIF(2, exp, placement_constraint=[0, 1])
    with pytest.raises(ConfigError, match="LIF: unknown argument 'tau_adap'"):
        snn.LIF(2, exp, tau_adap=1e-5)
    x = torch.zeros(1, 30, 1)
    x[0, 3, 0] = 1.0
    traces = []
    for shift in (0, 2):
        exp = snn.Experiment(mock=False, ideal=True)
        syn, lif = snn.Synapse(1, 1, exp), snn.LIF(1, exp, cadc_time_shift=shift)
        with torch.no_grad():
            syn.weight.fill_(0.5)
        h = lif(syn(snn.LIFObservables(spikes=x)))
        snn.run(exp, 30)
        traces.append(h.membrane_cadc[0, :, 0])
    assert torch.equal(traces[1][:-2], traces[0][2:])


def test_subthreshold_agreement_on_a_calibrated_mismatched_chip(data):
    # calibrated leak, threshold, time constants and PSP heights: half a CADC code plus the
    # calibration's residuals (the leak's within 1.5 mV: its DAC step is 2.4 mV; ≈ 1 % of the
    # synaptic gain), 0.06 threshold units in all (measured 0.057)
    x, w_in, w_out = data
    hm, _, _ = two_layer(True, w_in * 0.1, w_out, x, ideal=False)
    he, _, _ = two_layer(False, w_in * 0.1, w_out, x, ideal=False)
    assert (hm.membrane_cadc - he.membrane_cadc).abs().max() < 0.06


def test_a_stored_calibration_older_than_a_neuron_parameter_still_serves(data, monkeypatch):
    """A calibration in the store from before a neuron parameter existed (the structured
    neurons' switches came later) lacks its values: the parameter takes its default, and the
    emulation gives what a fresh calibration gives."""
    from bss2emu.snn import emulation

    x, w_in, w_out = data
    fresh = two_layer(False, w_in, w_out, x[:1], ideal=False)[1].membrane_cadc
    real = emulation.calibrate_circuits

    def stored_before(*args, **kwargs):
        result = real(*args, **kwargs)
        result.dac.pop("connect_right", None)
        return result

    monkeypatch.setattr(emulation, "calibrate_circuits", stored_before)
    assert torch.equal(two_layer(False, w_in, w_out, x[:1], ideal=False)[1].membrane_cadc, fresh)
