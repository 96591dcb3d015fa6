"""Pure torch step functions of the ``snn`` modules: the mock forward pass, and the backward
pass of every mode (hardware-in-the-loop included).

Units: times in seconds of hardware time (hxtorch's convention; 1e-6 s = 1 µs hardware ≙
1 ms biological); voltages and currents in *threshold units* — the LIF's leak is 0 and its
threshold 1 by default, a synaptic input of 1 moves the membrane at rest by one threshold
unit in the steady state. Tensors are ``(batch, time, neurons)``; index ``t`` holds the
state at time ``t·dt`` and the spikes of ``((t-1)·dt, t·dt]``; input at index ``t`` arrives
at ``t·dt``.

LIF (current-based exponential synapse, the chip's neuron without the AdEx terms)::

    τ_syn di/dt = -i + Σ_t x_t δ(t - t·dt)
    τ_mem dv/dt = v_leak - v + i
    spike when v > v_th:  v ← v_reset, held for τ_ref

integrated *exactly* over each step (exponential integration of the linear system, as the
chip's kernels do), so the mock and the emulated chip differ only where spikes fall between
grid points. The spike nonlinearity is ``SuperSpike`` (Zenke & Ganguli 2018): Heaviside
forward, ``1/(α|v - v_th| + 1)²`` backward. ``AELIF`` adds the exponential term and
adaptation (explicit in the step); ``LI`` is the LIF without spikes (a readout).

With ``hw_data`` the forward values are the chip's (spikes binned onto the grid, CADC
membranes in threshold units) and the backward pass runs through the same equations
evaluated at those values (``HardwareInTheLoop``): hxtorch's scheme.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional

import torch


class SuperSpike(torch.autograd.Function):
    """Heaviside spike forward, SuperSpike surrogate derivative backward."""

    @staticmethod
    def forward(ctx, input: torch.Tensor, alpha: float) -> torch.Tensor:  # noqa: A002 (torch's name)
        ctx.save_for_backward(input)
        ctx.alpha = alpha
        return torch.gt(input, 0.0).to(input.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (input,) = ctx.saved_tensors
        return grad_output / (ctx.alpha * input.abs() + 1.0).pow(2), None


class HardwareInTheLoop(torch.autograd.Function):
    """Forward: the hardware's value; backward: the gradient of the software value
    (hxtorch's ``Unterjubel``)."""

    @staticmethod
    def forward(ctx, software: torch.Tensor, hardware: torch.Tensor) -> torch.Tensor:
        return hardware.clone()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return grad_output, None


class LIFParams(NamedTuple):
    """LIF parameters: times in s, voltages in threshold units; ``alpha`` the SuperSpike slope."""

    tau_mem: float = 10e-6
    tau_syn: float = 10e-6
    refractory_time: float = 1e-6
    leak: float = 0.0
    reset: float = 0.0
    threshold: float = 1.0
    alpha: float = 50.0
    activation: Callable = SuperSpike


class AELIFParams(NamedTuple):
    """AdEx LIF: LIF plus ``exp_slope`` Δ_T and ``exp_threshold`` V_T (threshold units; Δ_T 0:
    no exponential term), ``subthreshold_adaptation`` a (a/g_L), ``spike_adaptation`` b
    (threshold units) and ``tau_adap`` (s)."""

    tau_mem: float = 10e-6
    tau_syn: float = 10e-6
    refractory_time: float = 1e-6
    leak: float = 0.0
    reset: float = 0.0
    threshold: float = 1.0
    exp_slope: float = 0.0
    exp_threshold: float = 1.5
    subthreshold_adaptation: float = 0.0
    spike_adaptation: float = 0.0
    tau_adap: float = 100e-6
    alpha: float = 50.0
    activation: Callable = SuperSpike


class LIParams(NamedTuple):
    """Leaky integrator (readout): times in s, leak in threshold units."""

    tau_mem: float = 10e-6
    tau_syn: float = 10e-6
    leak: float = 0.0


def propagators(tau_mem: float, tau_syn: float, dt: float) -> tuple[float, float, float]:
    """Exact one-step propagators: ``(a_mem, a_syn, k)`` with ``v' = leak + (v-leak)·a_mem
    + i·k`` and ``i' = i·a_syn`` for a current ``i`` present at the step's start.

    >>> a_m, a_s, k = propagators(10e-6, 10e-6, 1e-6)
    >>> round(a_m, 6) == round(math.exp(-0.1), 6), round(k, 6) == round(0.1 * math.exp(-0.1), 6)
    (True, True)
    """
    a_m, a_s = math.exp(-dt / tau_mem), math.exp(-dt / tau_syn)
    if abs(tau_mem - tau_syn) < 1e-12 * tau_mem:
        k = dt / tau_mem * a_m
    else:
        k = tau_syn / (tau_syn - tau_mem) * (a_s - a_m)
    return a_m, a_s, k


def _k(d: torch.Tensor, tau_mem: float, tau_syn: float) -> torch.Tensor:
    """``k`` of ``propagators`` for step lengths ``d`` (s, a tensor)."""
    if abs(tau_mem - tau_syn) < 1e-12 * tau_mem:
        return d / tau_mem * torch.exp(-d / tau_mem)
    return tau_syn / (tau_syn - tau_mem) * (torch.exp(-d / tau_syn) - torch.exp(-d / tau_mem))


def lif_integration(input: torch.Tensor, params: LIFParams | AELIFParams, dt: float,  # noqa: A002
                    hw_data: Optional[tuple[torch.Tensor, torch.Tensor]] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes and membrane ``(batch, time, neurons)`` of LIF (or AdEx) neurons driven by
    ``input`` currents (threshold units, one value per step); ``hw_data = (spikes,
    membrane)`` from the chip makes those the forward values.

    Refractoriness as on the chip: a spike's time inside its step is interpolated linearly,
    the membrane is held at ``reset`` until that time plus ``refractory_time`` and integrates
    freely from there, also inside a step (a spike of the chip counts from the middle of
    its step)."""
    batch, steps, n = input.shape
    a_m, a_s, k = propagators(params.tau_mem, params.tau_syn, dt)
    adex = isinstance(params, AELIFParams)
    ref_steps = float(params.refractory_time) / dt
    z_hw, v_hw = hw_data if hw_data is not None else (None, None)
    v = torch.full((batch, n), float(params.leak), dtype=input.dtype)
    if v_hw is not None:
        v = v_hw[:, 0]
    i = torch.zeros((batch, n), dtype=input.dtype)
    w = torch.zeros((batch, n), dtype=input.dtype)
    release = torch.zeros((batch, n), dtype=input.dtype)  # steps from now until the membrane is free
    spikes = [torch.zeros((batch, n), dtype=input.dtype) if z_hw is None else z_hw[:, 0]]
    membrane = [v]
    reset = float(params.reset)
    for t in range(steps - 1):
        i = i + input[:, t]
        if adex:
            extra = -w
            if params.exp_slope > 0:
                arg = torch.clamp((v - params.exp_threshold) / params.exp_slope, max=20.0)
                extra = extra + params.exp_slope * torch.exp(arg)
            v_free = params.leak + (v - params.leak) * a_m + i * k + extra * (1.0 - a_m)
            w = w + dt / params.tau_adap * (params.subthreshold_adaptation * (v - params.leak) - w)
        else:
            v_free = params.leak + (v - params.leak) * a_m + i * k
        held = release >= 1.0
        partial = (release > 0.0) & ~held
        v_new = v_free
        if partial.any():  # released inside this step: free from reset over the step's rest
            f = release.detach()
            rest = (1.0 - f) * dt
            v_part = params.leak + (reset - params.leak) * torch.exp(-rest / params.tau_mem) \
                + i * torch.exp(-f * dt / params.tau_syn) * _k(rest, params.tau_mem, params.tau_syn)
            v_new = torch.where(partial, v_part, v_new)
        if held.any():
            v_new = torch.where(held, torch.full_like(v_new, reset), v_new)
        i = i * a_s
        refractory = held | partial
        spike = params.activation.apply(v_new - params.threshold, params.alpha)
        spike = spike * (~held).to(spike.dtype)
        if z_hw is not None:
            fired = z_hw[:, t + 1] > 0
            frac = torch.full_like(v, 0.5)
            if v_hw is not None:
                v_new = HardwareInTheLoop.apply(v_new, v_hw[:, t + 1])
            else:  # no CADC trace: the software membrane, reset where the chip spiked
                v_new = torch.where(fired, torch.full_like(v_new, reset), v_new)
            spike = HardwareInTheLoop.apply(spike, z_hw[:, t + 1])
        else:
            fired = spike.detach() > 0
            with torch.no_grad():  # where in the step the threshold was crossed
                start = torch.where(refractory, torch.full_like(v, reset), v)
                frac = torch.clamp((params.threshold - start) / (v_new - start).clamp(min=1e-9), 0.0, 1.0)
            zd = spike.detach()
            v_new = (1.0 - zd) * v_new + zd * reset
        if adex:
            w = w + fired.to(w.dtype) * params.spike_adaptation
        release = torch.where(fired, torch.clamp(frac + ref_steps - 1.0, min=0.0),
                              torch.clamp(release - 1.0, min=0.0))
        v = v_new
        spikes.append(spike)
        membrane.append(v)
    return torch.stack(spikes, dim=1), torch.stack(membrane, dim=1)


def li_integration(input: torch.Tensor, params: LIParams, dt: float,  # noqa: A002
                   hw_data: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Membrane ``(batch, time, neurons)`` of leaky integrators; ``hw_data`` the chip's."""
    batch, steps, n = input.shape
    a_m, a_s, k = propagators(params.tau_mem, params.tau_syn, dt)
    v = torch.full((batch, n), float(params.leak), dtype=input.dtype)
    if hw_data is not None:
        v = hw_data[:, 0]
    i = torch.zeros((batch, n), dtype=input.dtype)
    membrane = [v]
    for t in range(steps - 1):
        i = i + input[:, t]
        v_new = params.leak + (v - params.leak) * a_m + i * k
        i = i * a_s
        if hw_data is not None:
            v_new = HardwareInTheLoop.apply(v_new, hw_data[:, t + 1])
        v = v_new
        membrane.append(v)
    return torch.stack(membrane, dim=1)


class RoundSaturate(torch.autograd.Function):
    """``round(clamp(x, -limit, limit))`` forward, straight-through (inside the range) backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, limit: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.limit = limit
        return torch.round(torch.clamp(x, -limit, limit))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_output * (x.abs() <= ctx.limit).to(grad_output.dtype), None


def linear_saturating(weight: torch.Tensor, scale: float, limit: float = 63.0) -> torch.Tensor:
    """The documented weight transform: software weight → signed hardware weight
    ``round(clamp(scale·w, -63, 63))`` (straight-through gradient); ``scale`` is
    1 / (threshold units per hardware weight LSB)."""
    return RoundSaturate.apply(weight * scale, limit)


def linear(input: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:  # noqa: A002
    """Synaptic input ``(batch, time, out)`` of spikes ``(batch, time, in)`` through ``weight``
    ``(out, in)``."""
    return torch.nn.functional.linear(input, weight)


from .eventprop import EventPropLIFFunction, EventPropSynapseFunction  # noqa: E402,F401 (hxtorch's names here)
