"""``hxtorch.perceptron``'s functions on the emulated MAC array (``chip_actor.mac``).

Inputs are 5-bit unsigned (0…31), weights signed 6-bit (−63…63), results 8-bit signed per
block of 128 inputs (summed over blocks); see ``bss2emu.chip_actor.mac`` for the model.
``mock=True`` computes the same quantised arithmetic of an ideal chip in torch. Gradients are
straight-through: backward as if ``y = GAIN_NOMINAL · num_sends · x @ w`` (no rounding, no
saturation).

>>> import torch
>>> from bss2emu import ann
>>> x = torch.full((1, 4), 31.0); w = torch.full((4, 2), 63.0)
>>> ann.matmul(x, w, num_sends=2, mock=True)   # 0.002 · 2 · 4·31·63 = 31.2
tensor([[31., 31.]])
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import torch

from ..chip_actor import mac as M
from ..errors import ConfigError

_HARDWARE: dict = {}


def init_hardware(serial: int = 0, ideal: bool = False, seed: int = 0, calibrate: bool = True) -> M.MacArray:
    """Select (and calibrate) the emulated chip that non-mock calls use."""
    array = M.MacArray(serial, ideal, seed)
    if calibrate and not ideal:
        array.calibrate()
    _HARDWARE["array"] = array
    return array


def release_hardware() -> None:
    """Forget the selected chip (the next call selects chip 0 again)."""
    _HARDWARE.clear()


def hardware() -> M.MacArray:
    """The selected chip; chip 0, calibrated, if none was selected."""
    if "array" not in _HARDWARE:
        init_hardware()
    return _HARDWARE["array"]


class MockParameter(NamedTuple):
    """The mock mode's model of the chip, as hxtorch's: ``noise_std`` (codes, Gaussian
    read-out noise per result) and ``gain`` (codes per unit of Σ x·w at one send). The
    default is the ideal chip: nominal gain, no noise."""

    noise_std: float = 0.0
    gain: float = M.GAIN_NOMINAL


_MOCK = {"parameter": MockParameter()}


def set_mock_parameter(parameter: MockParameter) -> None:
    """Use ``parameter`` (e.g. ``measure_mock_parameter()``) in mock mode and for the gradients."""
    p = MockParameter(*parameter)
    if not (np.isfinite(p.gain) and p.gain > 0 and np.isfinite(p.noise_std) and p.noise_std >= 0):
        raise ConfigError(f"set_mock_parameter({parameter!r}): the gain must be > 0 and the noise_std >= 0 (finite); "
                          f"measure them with measure_mock_parameter()")
    _MOCK["parameter"] = p


def get_mock_parameter() -> MockParameter:
    """The mock mode's parameters (``set_mock_parameter``)."""
    return _MOCK["parameter"]


def _mock_mac(x: torch.Tensor, w: torch.Tensor, num_sends: int, wait: int) -> torch.Tensor:
    p = _MOCK["parameter"]
    sends = num_sends * M.settle_factor(wait)
    k = p.gain * sends
    out = None
    for r0 in range(0, w.shape[0], M.SIGNED_ROWS):
        acc = x[..., r0:r0 + M.SIGNED_ROWS].double() @ w[r0:r0 + M.SIGNED_ROWS].double()
        if p.noise_std:
            acc = acc + torch.randn_like(acc) * (p.noise_std / k)
        # the integers first, then one rounding by the gain: exact halves stay exact (as MacArray)
        block = torch.clamp(torch.round(acc * sends * p.gain), M.OUTPUT_MIN, M.OUTPUT_MAX)
        out = block if out is None else out + block
    return out.to(x.dtype)


class _MAC(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, num_sends, wait, mock):
        ctx.save_for_backward(x, w)
        ctx.k = _MOCK["parameter"].gain * num_sends * M.settle_factor(wait)
        if mock:
            return _mock_mac(x, w, num_sends, wait)
        y = hardware().matmul(x.detach().cpu().numpy(), w.detach().cpu().numpy(), num_sends, wait)
        return torch.from_numpy(y).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gx = grad @ w.t() * ctx.k if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            gw = x.reshape(-1, x.shape[-1]).t() @ grad.reshape(-1, grad.shape[-1]) * ctx.k
        return gx, gw, None, None, None


def _check(x: torch.Tensor, w: torch.Tensor, num_sends, wait, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if w.dim() != 2:
        raise ConfigError(f"{what}: weight has shape {tuple(w.shape)}; give a 2-d (in, out) matrix")
    if x.dim() < 1:
        raise ConfigError(f"{what}: input is a scalar; give (..., {w.shape[0]}) values")
    M.check_operands(x.detach().cpu().numpy(), w.detach().cpu().numpy(), num_sends, wait, what)
    return x, w


class _Round(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def matmul(input: torch.Tensor, other: torch.Tensor, num_sends: int = 1,  # noqa: A002 (torch's names)
           wait_between_events: int = M.DEFAULT_WAIT, mock: bool = False) -> torch.Tensor:
    """``input`` (…, in) in 0…31 times ``other`` (in, out) in −63…63 on the MAC array
    (values rounded to integers; out-of-range values raise a ``ConfigError``)."""
    _check(input, other, num_sends, wait_between_events, "matmul")
    return _MAC.apply(_Round.apply(input), _Round.apply(other), int(num_sends), int(wait_between_events), mock)


def conv1d(input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,  # noqa: A002
           stride: int = 1, num_sends: int = 1, wait_between_events: int = M.DEFAULT_WAIT,
           mock: bool = False) -> torch.Tensor:
    """1-d convolution ``input`` (batch, in_channels, length), ``weight`` (out_channels,
    in_channels, kernel) as MAC products of the unfolded input; ``bias`` added digitally."""
    if input.dim() != 3 or weight.dim() != 3 or input.shape[1] != weight.shape[1]:
        raise ConfigError(f"conv1d: input {tuple(input.shape)} and weight {tuple(weight.shape)} do not fit; give "
                          f"input (batch, C_in, L) and weight (C_out, C_in, kernel)")
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), num_sends, wait_between_events, mock)
    return out.squeeze(2)


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,  # noqa: A002
           stride=1, num_sends: int = 1, wait_between_events: int = M.DEFAULT_WAIT,
           mock: bool = False) -> torch.Tensor:
    """2-d convolution ``input`` (batch, C_in, H, W), ``weight`` (C_out, C_in, kh, kw) as MAC
    products of the unfolded input; ``bias`` added digitally."""
    if input.dim() != 4 or weight.dim() != 4 or input.shape[1] != weight.shape[1]:
        raise ConfigError(f"conv2d: input {tuple(input.shape)} and weight {tuple(weight.shape)} do not fit; give "
                          f"input (batch, C_in, H, W) and weight (C_out, C_in, kh, kw)")
    stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
    kh, kw = weight.shape[2:]
    if input.shape[2] < kh or input.shape[3] < kw:
        raise ConfigError(f"conv2d: input {tuple(input.shape[2:])} is smaller than the kernel {(kh, kw)}; pad the "
                          f"input or use a smaller kernel")
    cols = torch.nn.functional.unfold(input, (kh, kw), stride=stride)  # (batch, C_in·kh·kw, L)
    h_out = (input.shape[2] - kh) // stride[0] + 1
    w_out = (input.shape[3] - kw) // stride[1] + 1
    y = matmul(cols.transpose(1, 2), weight.reshape(weight.shape[0], -1).t(), num_sends, wait_between_events, mock)
    y = y.transpose(1, 2).reshape(input.shape[0], weight.shape[0], h_out, w_out)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y


def relu(input: torch.Tensor, mock: bool = False) -> torch.Tensor:  # noqa: A002
    """ReLU on the PPU's 8-bit values: ``clamp(x, 0, 127)``."""
    return torch.clamp(input, 0, M.OUTPUT_MAX)


def converting_relu(input: torch.Tensor, shift: int = 2, mock: bool = False) -> torch.Tensor:  # noqa: A002
    """ReLU and conversion of 8-bit results to the next layer's 5-bit inputs: ``clamp(x, 0,
    127) >> shift`` (straight-through gradient scaled by ``2**-shift``)."""
    if isinstance(shift, bool) or not isinstance(shift, int) or not 0 <= shift <= 7:
        raise ConfigError(f"converting_relu: shift={shift!r} must be an integer 0..7")
    y = torch.clamp(input, 0, M.OUTPUT_MAX) / (2 ** shift)
    y = y - (y - torch.floor(y)).detach()
    return torch.clamp(y, 0, M.INPUT_MAX)


def argmax(input: torch.Tensor, dim: Optional[int] = None, keepdim: bool = False,  # noqa: A002
           mock: bool = False) -> torch.Tensor:
    """Index of the largest value (ties: the first), as the PPU computes it."""
    return torch.argmax(input, dim=dim, keepdim=keepdim)


def add(input: torch.Tensor, other: torch.Tensor, mock: bool = False) -> torch.Tensor:  # noqa: A002
    """Saturating 8-bit addition."""
    return torch.clamp(input + other, M.OUTPUT_MIN, M.OUTPUT_MAX)


def measure_mock_parameter(repeats: int = 100) -> MockParameter:
    """The selected chip's ``MockParameter`` as a user would measure it: reads of a known
    product (codes per Σ x·w at one send, and the spread of repeated reads)."""
    arr = hardware()
    x = np.zeros((repeats, 8))
    x[:] = 31.0
    w = np.full((8, 64), 20.0)
    y = arr.matmul(x, w, num_sends=8)
    return MockParameter(noise_std=float(y.std(axis=0).mean()), gain=float(y.mean() / (8 * 8 * 31 * 20.0)))
