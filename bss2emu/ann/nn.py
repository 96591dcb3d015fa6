"""``hxtorch.perceptron.nn``: layers on the emulated MAC array with trainable float weights
that are clamped to −63…63 (``clamp_weight_``) and rounded when used (straight-through)."""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from ..chip_actor import mac as M
from ..errors import ConfigError
from . import functional as F


def clamp_weight_(weight: torch.Tensor) -> torch.Tensor:
    """Clamp a weight parameter in place to the signed 6-bit range (hxtorch's default)."""
    with torch.no_grad():
        weight.clamp_(-M.WEIGHT_MAX, M.WEIGHT_MAX)
    return weight


def round_input(x: torch.Tensor) -> torch.Tensor:
    """Clamp to 0…31 and round, straight-through."""
    x = torch.clamp(x, 0, M.INPUT_MAX)
    return x + (torch.round(x) - x).detach()


def auto_num_sends(in_features: int) -> int:
    """Sends that bring a typical product (inputs and weights at full scale, random signs)
    near the 8-bit range: ``round(127 / (GAIN_NOMINAL · 31 · 63 · sqrt(in)))``, 1…255."""
    typical = M.GAIN_NOMINAL * M.INPUT_MAX * M.WEIGHT_MAX * math.sqrt(max(1, min(in_features, M.SIGNED_ROWS)))
    return int(min(255, max(1, round(M.OUTPUT_MAX / typical))))


class _MACModule(torch.nn.Module):
    def _init_mac(self, in_features: int, num_sends: Optional[int], wait_between_events: int, mock: bool,
                  input_transform: Optional[Callable], weight_transform: Optional[Callable]) -> None:
        self.num_sends = auto_num_sends(in_features) if num_sends is None else num_sends
        self.wait_between_events = wait_between_events
        self.mock = mock
        self.input_transform = input_transform if input_transform is not None else round_input
        self.weight_transform = weight_transform

    def reset_parameters(self, weight_mean: float = 0.0, relative_weight_std: float = 1.0) -> None:
        """Normal weights whose products fill about a quarter of the output range."""
        fan_in = self.weight[0].numel()
        k = M.GAIN_NOMINAL * self.num_sends
        std = relative_weight_std * 0.25 * M.OUTPUT_MAX / (k * 16.0 * math.sqrt(fan_in))
        with torch.no_grad():
            self.weight.normal_(weight_mean, min(std, M.WEIGHT_MAX / 2))
            if self.bias is not None:
                self.bias.zero_()

    def _weight(self) -> torch.Tensor:
        if self.weight_transform is not None:
            self.weight_transform(self.weight)
        return torch.clamp(self.weight, -M.WEIGHT_MAX, M.WEIGHT_MAX)

    def extra_repr(self) -> str:
        return f"num_sends={self.num_sends}, wait_between_events={self.wait_between_events}, mock={self.mock}"


class Linear(_MACModule):
    """``y = x @ W.T (+ bias)`` on the MAC array; ``weight`` (out, in).

    ``avg``: each output is computed on ``avg`` neighbouring columns with the same weights
    (different fixed-pattern instances and independent read-out noise) and their results
    averaged (hxtorch's ``avg``; ``avg · out_features`` columns are used)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, num_sends: Optional[int] = None,
                 wait_between_events: int = M.DEFAULT_WAIT, mock: bool = False, *, avg: int = 1,
                 input_transform: Optional[Callable] = None, weight_transform: Optional[Callable] = clamp_weight_):
        super().__init__()
        if isinstance(avg, bool) or not isinstance(avg, int) or avg < 1:
            raise ConfigError(f"Linear: avg={avg!r} must be a positive integer (the number of columns averaged per "
                              f"output); use avg=1 for no averaging")
        self.avg = avg
        self.in_features, self.out_features = in_features, out_features
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features))
        self.bias = torch.nn.Parameter(torch.empty(out_features)) if bias else None
        self._init_mac(in_features, num_sends, wait_between_events, mock, input_transform, weight_transform)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self._weight().t()
        if self.avg > 1:  # each column repeated avg times, the repeats' results averaged
            w = w.repeat_interleave(self.avg, -1)
        y = F.matmul(self.input_transform(x), w, self.num_sends, self.wait_between_events, self.mock)
        if self.avg > 1:
            y = y.reshape(*y.shape[:-1], self.out_features, self.avg).mean(-1)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", avg={self.avg}" if self.avg > 1 else "")


class Conv1d(_MACModule):
    """1-d convolution on the MAC array; ``weight`` (out_channels, in_channels, kernel_size)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True,
                 num_sends: Optional[int] = None, wait_between_events: int = M.DEFAULT_WAIT, mock: bool = False, *,
                 input_transform: Optional[Callable] = None, weight_transform: Optional[Callable] = clamp_weight_):
        super().__init__()
        self.stride = stride
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self._init_mac(in_channels * kernel_size, num_sends, wait_between_events, mock, input_transform,
                       weight_transform)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(self.input_transform(x), self._weight(), self.bias, self.stride, self.num_sends,
                        self.wait_between_events, self.mock)


class Conv2d(_MACModule):
    """2-d convolution on the MAC array; ``weight`` (out_channels, in_channels, kh, kw)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, bias: bool = True,
                 num_sends: Optional[int] = None, wait_between_events: int = M.DEFAULT_WAIT, mock: bool = False, *,
                 input_transform: Optional[Callable] = None, weight_transform: Optional[Callable] = clamp_weight_):
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.stride = stride
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self._init_mac(in_channels * kh * kw, num_sends, wait_between_events, mock, input_transform,
                       weight_transform)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.input_transform(x), self._weight(), self.bias, self.stride, self.num_sends,
                        self.wait_between_events, self.mock)


class ReLU(torch.nn.Module):
    """``ann.relu`` as a module."""

    def __init__(self, mock: bool = False) -> None:
        super().__init__()
        self.mock = mock

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x, self.mock)


class ConvertingReLU(torch.nn.Module):
    """``ann.converting_relu`` as a module: 8-bit results → 5-bit inputs of the next layer."""

    def __init__(self, shift: int = 2, mock: bool = False) -> None:
        super().__init__()
        self.shift, self.mock = shift, mock

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.converting_relu(x, self.shift, self.mock)
