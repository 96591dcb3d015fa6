"""NIR (neuromorphic intermediate representation) export and import of ``snn`` networks.

Node mapping (NIR's continuous-time equations ``τ_syn dI/dt = -I + w_in·S``, ``τ_mem dv/dt =
v_leak - v + r·I``): a ``Synapse`` is ``nir.Linear`` with its effective (hardware-quantised)
weights; a ``LIF`` is ``nir.CubaLIF`` and an ``LI`` ``nir.CubaLI`` with ``r = 1`` and
``w_in = τ_syn`` (a weight-``W`` spike then raises ``I`` by ``W``, this package's convention);
inputs are ``nir.Input``, the readout feeds ``nir.Output``. Times in s.

On import, weights become ``W · w_in · r / τ_syn`` (Dirac spikes; times ``input_dt`` for
graphs of discrete-time simulators) and voltages are normalised to threshold
units (``(v - v_leak) / (v_threshold - v_leak)``, weights divided by the same span), so
graphs from snnTorch, Norse or others with other voltage scales map onto the chip's range.
Supported: feed-forward chains of Input, Linear/Affine without bias, CubaLIF, CubaLI, Output.

>>> import torch
>>> from bss2emu import snn
>>> exp = snn.Experiment(mock=True)
>>> net = torch.nn.Sequential(snn.Synapse(2, 3, experiment=exp), snn.LIF(3, experiment=exp),
...                           snn.Synapse(3, 1, experiment=exp), snn.LI(1, experiment=exp))
>>> graph = to_nir(net)
>>> sorted(graph.nodes), graph.edges[0]
(['input', 'li0', 'lif0', 'output', 'synapse0', 'synapse1'], ('input', 'synapse0'))
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..errors import ConfigError
from .experiment import Experiment
from .handle import NeuronHandle
from . import functional as F
from .modules import AELIF, LI, LIF, InputNeuron, Synapse


def _chain(model: torch.nn.Module) -> list:
    mods = [m for m in model.modules() if isinstance(m, (InputNeuron, Synapse, LIF, LI))]
    if not mods:
        raise ConfigError(f"to_nir: {type(model).__name__} holds no snn modules")
    return mods


def to_nir(model: torch.nn.Module):
    """The feed-forward chain of ``model``'s ``snn`` modules (in definition order) as a
    ``nir.NIRGraph``."""
    import nir

    nodes, edges = {}, []
    prev = "input"
    first = _chain(model)
    for pos, m in enumerate(first):
        if isinstance(m, AELIF):
            raise ConfigError(f"to_nir: {m.label} is an AELIF; NIR has no adaptive exponential neuron — use LIF")
        if isinstance(m, InputNeuron):
            continue
        if isinstance(m, Synapse):
            if "input" not in nodes:
                nodes["input"] = nir.Input(input_type={"input": np.array([m.in_features])})
            post = next((n for n in first[pos + 1:] if isinstance(n, (LIF, LI))), None)
            if post is None:
                raise ConfigError(f"to_nir: {m.label} feeds no neurons; end the chain with LIF or LI")
            lsb = post.weight_lsb()
            mask = m.mask()
            raw = m.weight if mask is None else m.weight * mask
            hw = m.transform(raw) if m.transform is not None else F.linear_saturating(raw, 1.0 / lsb)
            w = (hw * lsb).detach().cpu().numpy().astype(np.float64)  # the weights the chip realises
            nodes[m.label] = nir.Linear(weight=w)
        elif isinstance(m, LIF):
            p, n = m.params, m.size
            nodes[m.label] = nir.CubaLIF(tau_syn=np.full(n, p.tau_syn), tau_mem=np.full(n, p.tau_mem),
                                         r=np.ones(n), v_leak=np.full(n, p.leak), v_threshold=np.full(n, p.threshold),
                                         v_reset=np.full(n, p.reset), w_in=np.full(n, p.tau_syn),
                                         metadata={"refractory_time": p.refractory_time})
        elif isinstance(m, LI):
            p, n = m.params, m.size
            nodes[m.label] = nir.CubaLI(tau_syn=np.full(n, p.tau_syn), tau_mem=np.full(n, p.tau_mem), r=np.ones(n),
                                        v_leak=np.full(n, p.leak), w_in=np.full(n, p.tau_syn))
        edges.append((prev, m.label))
        prev = m.label
    last = first[-1]
    nodes["output"] = nir.Output(output_type={"output": np.array([last.size if hasattr(last, "size")
                                                                else last.out_features])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _uniform(node_name: str, field: str, value) -> float:
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if not np.allclose(arr, arr.flat[0]):
        raise ConfigError(f"from_nir: node {node_name!r} has {field} varying per neuron ({arr.min():g}..{arr.max():g}); "
                          f"a population takes one value: split the node or use the mean")
    return float(arr.flat[0])


class NIRNetwork(torch.nn.Module):
    """A network imported from NIR: ``forward(spikes)`` registers its modules and returns the
    readout's handle; call ``snn.run(network.experiment, steps)`` to execute."""

    def __init__(self, experiment: Experiment, layers: list) -> None:
        super().__init__()
        self.experiment = experiment
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, spikes: torch.Tensor):
        h = NeuronHandle(spikes=spikes)
        for layer in self.layers:
            h = layer(h)
        return h


def _order(graph) -> list[str]:
    succ: dict[str, list[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    starts = [k for k, v in graph.nodes.items() if type(v).__name__ == "Input"]
    if len(starts) != 1:
        raise ConfigError(f"from_nir: the graph has {len(starts)} Input nodes; a chain from one Input is supported")
    order, node = [], starts[0]
    while True:
        order.append(node)
        nxt = succ.get(node, [])
        if not nxt:
            return order
        if len(nxt) > 1:
            raise ConfigError(f"from_nir: node {node!r} feeds {nxt}; only feed-forward chains are supported")
        node = nxt[0]
        if node in order:
            raise ConfigError(f"from_nir: the graph is recurrent at {node!r}; only feed-forward chains are supported")


def from_nir(graph, experiment: Optional[Experiment] = None, time_scale: float = 1.0,
             input_dt: Optional[float] = None, **neuron_kwargs) -> NIRNetwork:
    """Build ``snn`` modules from a ``nir.NIRGraph`` (or a path to a NIR file).

    ``time_scale`` multiplies the graph's time constants: graphs written for biological time
    (snnTorch exports with dt = 0.1 ms) reach the chip's accelerated range with e.g. 0.01.
    ``input_dt`` (s, the graph's own time): the graph comes from a discrete-time simulator
    whose synapses receive per-step values rather than Dirac spikes (snnTorch: 1e-4), so a
    spike raises ``I`` by ``w_in·W·input_dt/τ_syn``; None: Dirac spikes, ``w_in·W/τ_syn``."""
    import nir

    if isinstance(graph, str):
        graph = nir.read(graph)
    experiment = experiment if experiment is not None else Experiment()
    layers: list = []
    pending = None  # (name, weight (out, in)) of a Linear waiting for its neurons
    for name in _order(graph):
        node = graph.nodes[name]
        kind = type(node).__name__
        if kind in ("Input", "Output"):
            continue
        if kind in ("Linear", "Affine"):
            if kind == "Affine" and np.any(np.asarray(node.bias) != 0):
                raise ConfigError(f"from_nir: node {name!r} is an Affine with a bias; the chip has no bias current "
                                  f"per synapse: add a bias input neuron and use Linear")
            pending = (name, np.asarray(node.weight, dtype=np.float64))
            continue
        if pending is None:
            raise ConfigError(f"from_nir: neuron node {name!r} has no Linear before it; put a Linear in front")
        lin_name, w = pending
        pending = None
        tau_syn = _uniform(name, "tau_syn", node.tau_syn) * time_scale
        tau_mem = _uniform(name, "tau_mem", node.tau_mem) * time_scale
        r = _uniform(name, "r", node.r)
        w_in = _uniform(name, "w_in", node.w_in)
        leak = _uniform(name, "v_leak", node.v_leak)
        if kind == "CubaLIF":
            thr = _uniform(name, "v_threshold", node.v_threshold)
            reset = _uniform(name, "v_reset", node.v_reset if node.v_reset is not None else node.v_leak)
            span = thr - leak
        elif kind == "CubaLI":
            span = 1.0
        else:
            raise ConfigError(f"from_nir: node {name!r} is a {kind}; supported neurons are CubaLIF and CubaLI")
        syn = Synapse(w.shape[1], w.shape[0], experiment=experiment)
        with torch.no_grad():
            jump = w * w_in * (1.0 if input_dt is None else input_dt) / (tau_syn / time_scale)
            syn.weight.copy_(torch.tensor(jump * r / span, dtype=torch.float32))
        if kind == "CubaLIF":
            ref = node.metadata.get("refractory_time", 0.0) if isinstance(node.metadata, dict) else 0.0
            neuron = LIF(w.shape[0], experiment=experiment, tau_mem=tau_mem, tau_syn=tau_syn, leak=0.0,
                         reset=(reset - leak) / span, threshold=1.0, refractory_time=float(ref) * time_scale,
                         **neuron_kwargs)
        else:
            neuron = LI(w.shape[0], experiment=experiment, tau_mem=tau_mem, tau_syn=tau_syn, leak=0.0)
        layers += [syn, neuron]
    if pending is not None:
        raise ConfigError(f"from_nir: Linear node {pending[0]!r} feeds no neurons; end the chain with CubaLIF/CubaLI")
    return NIRNetwork(experiment, layers)
