"""NIR export and import: a round trip keeps the network's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bss2emu import snn
from bss2emu.errors import ConfigError

nir = pytest.importorskip("nir")


def make(exp):
    torch.manual_seed(4)
    net = torch.nn.Sequential(snn.Synapse(4, 6, experiment=exp), snn.LIF(6, experiment=exp, tau_mem=8e-6, tau_syn=4e-6),
                              snn.Synapse(6, 2, experiment=exp), snn.LI(2, experiment=exp, tau_mem=8e-6))
    with torch.no_grad():
        net[0].weight.normal_(0.8, 0.6)
    return net


def run(net, exp, x):
    h = net(snn.NeuronHandle(spikes=x)) if not isinstance(net, snn.nir_io.NIRNetwork) else net(x)
    snn.run(exp, x.shape[1])
    return h.membrane_cadc


def test_round_trip_through_a_nir_file_keeps_the_output(tmp_path):
    x = (torch.rand(2, 40, 4, generator=torch.Generator().manual_seed(1)) < 0.15).float()
    exp = snn.Experiment(mock=True)
    net = make(exp)
    ref = run(net, exp, x)
    graph = snn.to_nir(net)
    assert isinstance(graph.nodes["lif0"], nir.CubaLIF) and isinstance(graph.nodes["li0"], nir.CubaLI)
    path = tmp_path / "net.nir"
    nir.write(str(path), graph)
    exp2 = snn.Experiment(mock=True)
    back = snn.from_nir(str(path), exp2)
    out = run(back, exp2, x)
    assert torch.allclose(out, ref, atol=1e-5)
    assert ref.abs().max() > 0.1


def test_import_normalises_another_simulators_voltage_scale():
    # a graph as snnTorch/Norse would write it: threshold 10, leak 2, w_in 1, r 5
    w1 = np.full((3, 2), 0.4)
    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Linear(weight=w1),
        "lif": nir.CubaLIF(tau_syn=np.full(3, 5e-6), tau_mem=np.full(3, 10e-6), r=np.full(3, 5.0),
                           v_leak=np.full(3, 2.0), v_threshold=np.full(3, 10.0), v_reset=np.full(3, 2.0),
                           w_in=np.ones(3)),
        "fc2": nir.Affine(weight=np.ones((1, 3)), bias=np.zeros(1)),
        "li": nir.CubaLI(tau_syn=np.full(1, 5e-6), tau_mem=np.full(1, 10e-6), r=np.ones(1), v_leak=np.zeros(1),
                         w_in=np.ones(1)),
        "out": nir.Output(output_type={"output": np.array([1])})},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "out")])
    exp = snn.Experiment(mock=True)
    net = snn.from_nir(graph, exp)
    syn, lif = net.layers[0], net.layers[1]
    # I jumps by W·w_in/τ_syn; v moves by r·I: in threshold units (span 8) the weight is 0.4·1·5/5e-6/8
    assert syn.weight[0, 0].item() == pytest.approx(0.4 * 5 / 5e-6 / 8, rel=1e-6)
    assert lif.params.threshold == 1.0 and lif.params.leak == 0.0


def test_unsupported_graphs_name_the_node_and_the_fix():
    base = {"in": nir.Input(input_type={"input": np.array([2])}),
            "fc": nir.Affine(weight=np.ones((1, 2)), bias=np.ones(1)),
            "li": nir.CubaLI(tau_syn=np.full(1, 5e-6), tau_mem=np.full(1, 1e-5), r=np.ones(1), v_leak=np.zeros(1)),
            "out": nir.Output(output_type={"output": np.array([1])})}
    g = nir.NIRGraph(nodes=base, edges=[("in", "fc"), ("fc", "li"), ("li", "out")])
    with pytest.raises(ConfigError, match=r"'fc' is an Affine with a bias.*add a bias input neuron"):
        snn.from_nir(g, snn.Experiment(mock=True))
    base["fc"] = nir.Linear(weight=np.ones((1, 2)))
    base["li"] = nir.CubaLI(tau_syn=np.array([5e-6]), tau_mem=np.array([1e-5]), r=np.ones(1), v_leak=np.zeros(1))
    base["lif"] = nir.CubaLIF(tau_syn=np.array([5e-6, 6e-6]), tau_mem=np.full(2, 1e-5), r=np.ones(2),
                              v_leak=np.zeros(2), v_threshold=np.ones(2))
    g = nir.NIRGraph(nodes=base, edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")], type_check=False)
    with pytest.raises(ConfigError, match="'lif' has tau_syn varying per neuron"):
        snn.from_nir(g, snn.Experiment(mock=True))


def test_import_of_an_snntorch_network():
    snntorch = pytest.importorskip("snntorch")
    nirtorch = pytest.importorskip("nirtorch")
    from snntorch.export_nir import _extract_snntorch_module

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False),
                              snntorch.Synaptic(alpha=0.8, beta=0.9, init_hidden=True),
                              torch.nn.Linear(4, 2, bias=False),
                              snntorch.Synaptic(alpha=0.8, beta=0.9, init_hidden=True, output=True))
    # snnTorch's own node conversion; its export_to_nir() then runs nir's type inference, which
    # fails for Synaptic nodes with nir 1.0.8 (their types are empty), so the graph is taken before it
    graph = nirtorch.extract_nir_graph(net, _extract_snntorch_module, torch.zeros(1, 3), ignore_dims=[0])
    exp = snn.Experiment(mock=True)
    back = snn.from_nir(graph, exp, time_scale=0.01, input_dt=1e-4)  # snnTorch's dt 0.1 ms → 1 µs on the chip
    syn, lif = back.layers[0], back.layers[1]
    # snnTorch: tau_syn = dt/(1-alpha) = 0.5 ms, tau_mem = dt/(1-beta) = 1 ms, scaled by 0.01
    assert lif.params.tau_syn == pytest.approx(5e-6) and lif.params.tau_mem == pytest.approx(10e-6)
    # snnTorch adds W to syn per spike and syn to mem per step: with τ_mem = 10 steps the
    # threshold-unit weight is r·W = 10·W (r = τ_mem/dt, w_in = τ_syn/dt = 5)
    w = net[0].weight.detach()
    assert torch.allclose(syn.weight, w * (5.0 * 10.0) / 5.0, rtol=1e-5)
    out = back(torch.ones(1, 30, 3))
    snn.run(exp, 30)
    assert out.spikes.shape == (1, 30, 2)
