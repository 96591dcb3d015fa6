"""Time-discretised EventProp (Wunderlich & Pehle 2021) for a LIF layer, as hxtorch's
``functional.EventPropLIFFunction`` / ``EventPropSynapseFunction``: exact gradients of
spike-time losses from the adjoint equations, integrated backwards with explicit Euler.

Tensors are time-first here (hxtorch's layout): the synapse hands on a stacked
``(2, time, batch, neurons)`` tensor — its weighted input, and a zero slot through which
the LIF returns the second adjoint term. Forward (explicit Euler, threshold crossing)::

    i[t+1] = i[t] (1 - dt/τ_syn) + x[t]
    v[t+1] = v[t] + dt/τ_mem (leak - v[t] + i[t+1]),  spike where v > threshold, v ← reset

Backward, from the last step to the first::

    λ_i[t-1] = λ_i[t] + dt/τ_syn (λ_v[t] - λ_i[t])
    λ_v[t-1] = λ_v[t] (1 - dt/τ_mem)  between spikes; at a spike of neuron n at t
    λ_v[t-1] ← λ_v[t-1] · (leak - reset + i) / (leak - threshold + i) + ∂L/∂z[t] / (leak - threshold + i)

The LIF's input gradient is the stack ``(τ_syn λ_i, λ_v - λ_i)``: the synapse uses the first
for its weight gradient and the second for its input's.

>>> import torch
>>> x = torch.zeros(2, 30, 1, 1); x[0, 2] = 3.0
>>> z, v, i = EventPropLIFFunction.apply(x, 0.0, 0.0, 1.0, 5e-6, 5e-6, None, 1e-6)
>>> int(z.sum()), tuple(v.shape)
(1, (30, 1, 1))
"""

from __future__ import annotations

from typing import Optional

import torch


def _finite(t: torch.Tensor) -> torch.Tensor:
    return torch.where(torch.isfinite(t), t, torch.zeros_like(t))


class EventPropLIFFunction(torch.autograd.Function):
    """``apply(input, leak, reset, threshold, tau_syn, tau_mem, hw_data=None, dt=1e-6)`` →
    ``(spikes, membrane, current)``, each ``(time, batch, neurons)``; with ``hw_data`` (the
    chip's observables) the forward values are those, the backward the adjoint's."""

    @staticmethod
    def forward(ctx, input: torch.Tensor, leak, reset, threshold, tau_syn, tau_mem,  # noqa: A002
                hw_data: Optional[tuple] = None, dt: float = 1e-6):
        ctx.params, ctx.dt = (leak, reset, threshold, tau_syn, tau_mem), dt
        if hw_data is not None:
            hw_data = tuple(None if d is None else d.to(input.device) for d in hw_data)
            ctx.save_for_backward(input, *hw_data)
            return hw_data
        x = input[0]
        steps, batch, n = x.shape
        i = torch.zeros(batch, n, dtype=x.dtype, device=x.device)
        v = torch.full((batch, n), float(leak), dtype=x.dtype, device=x.device)
        z = torch.zeros_like(i)
        spikes, membrane, current = [z], [v], [i]
        for t in range(steps - 1):
            i = i * (1 - dt / tau_syn) + x[t]
            v = v + dt / tau_mem * (leak - v + i)
            z = (v > threshold).to(x.dtype)
            v = (1 - z) * v + z * reset
            spikes.append(z)
            membrane.append(v)
            current.append(i)
        spikes, membrane, current = torch.stack(spikes), torch.stack(membrane), torch.stack(current)
        ctx.save_for_backward(input, spikes, membrane, current)
        return spikes, membrane, current

    @staticmethod
    def backward(ctx, grad_spikes, grad_membrane, grad_current):
        saved = ctx.saved_tensors
        x, z = saved[0][0], saved[1]
        current = saved[3] if len(saved) > 3 else None
        leak, reset, threshold, tau_syn, tau_mem = ctx.params
        dt = ctx.dt
        steps = x.shape[0]
        if current is None:  # from the chip: the current follows from the input
            current = torch.zeros_like(x)
            for t in range(steps - 1):
                current[t + 1] = current[t] * (1 - dt / tau_syn) + x[t]
        if grad_spikes is None:
            grad_spikes = torch.zeros_like(x)
        lam_v, lam_i = torch.zeros_like(x), torch.zeros_like(x)
        for t in range(steps - 1, 0, -1):
            dv_before = leak - threshold + current[t - 1]
            dv_after = leak - reset + current[t - 1]
            lam_i[t - 1] = lam_i[t] + dt / tau_syn * (lam_v[t] - lam_i[t])
            decayed = lam_v[t] * (1 - dt / tau_mem)
            jump = _finite(z[t] * dv_after / dv_before)
            kick = _finite(z[t] / dv_before * grad_spikes[t])
            lam_v[t - 1] = (1 - z[t]) * decayed + jump * decayed + kick
        return torch.stack((lam_i * tau_syn, lam_v - lam_i)), None, None, None, None, None, None, None


class EventPropSynapseFunction(torch.autograd.Function):
    """``apply(input, weight)`` → ``stack((input @ weight.T, 0))``; backward: the weight's
    gradient from the LIF's first adjoint term, the input's from its second."""

    @staticmethod
    def forward(ctx, input: torch.Tensor, weight: torch.Tensor, _bias=None):  # noqa: A002
        ctx.save_for_backward(input, weight)
        out = input.matmul(weight.t())
        return torch.stack((out, torch.zeros_like(out)))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        input, weight = ctx.saved_tensors  # noqa: A001
        grad_input = grad_output[1].matmul(weight) if ctx.needs_input_grad[0] else None
        grad_weight = None
        if ctx.needs_input_grad[1]:  # Σ over time and batch of adjoint(out) ⊗ input(in)
            grad_weight = torch.einsum("tbo,tbi->oi", grad_output[0], input)
        return grad_input, grad_weight, None
