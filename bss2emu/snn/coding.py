"""Input encoders and output decoders of ``snn`` networks (hxtorch's ``transforms.encode``
and ``transforms.decode``): values to spike tensors, traces to class scores.

Tensors are ``(batch, time, channels)``; with ``time_first=True`` ``(time, batch, channels)``
as hxtorch has them.

>>> import torch
>>> enc = CoordinatesToSpikes(seq_length=10, t_early=1e-6, t_late=5e-6, dt=1e-6, t_bias=2e-6)
>>> s = enc(torch.tensor([[0.0, 1.0], [0.5, 0.25]]))
>>> tuple(s.shape), torch.nonzero(s[0]).tolist()  # spikes at 1 µs, 5 µs; the bias at 2 µs
((2, 10, 3), [[1, 0], [2, 2], [5, 1]])
>>> MaxOverTime()(torch.tensor([[[1.0, 5.0], [3.0, 2.0]]])).tolist()
[[3.0, 5.0]]
"""

from __future__ import annotations

from typing import Optional

import torch

from ..errors import ConfigError


class CoordinatesToSpikes(torch.nn.Module):
    """Values in [0, 1] to one spike each at ``t_early + value · (t_late - t_early)`` (s),
    on a grid of ``seq_length`` steps of ``dt`` (s); with ``t_bias`` (s) one more channel
    spikes at that time (a bias input)."""

    def __init__(self, seq_length: int, t_early: float, t_late: float, dt: float = 1e-6,
                 t_bias: Optional[float] = None, device: torch.device = torch.device("cpu"),
                 time_first: bool = False) -> None:
        super().__init__()
        if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 1:
            raise ConfigError(f"CoordinatesToSpikes: seq_length={seq_length!r} must be a positive number of steps")
        if not dt > 0:
            raise ConfigError(f"CoordinatesToSpikes: dt={dt!r} s must be positive, e.g. dt=1e-6")
        latest = max(t_early, t_late, t_bias if t_bias is not None else 0.0)
        if min(t_early, t_late) < 0 or round(latest / dt) >= seq_length:
            raise ConfigError(f"CoordinatesToSpikes: spike times from {t_early:g} to {latest:g} s do not fit "
                              f"seq_length={seq_length} steps of dt={dt:g} s (0..{(seq_length - 1) * dt:g} s); "
                              f"lengthen the sequence or move t_early/t_late/t_bias")
        self.seq_length, self.t_early, self.t_late, self.t_bias, self.dt = seq_length, t_early, t_late, t_bias, dt
        self.device, self.time_first = device, time_first

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        if values.dim() != 2:
            raise ConfigError(f"CoordinatesToSpikes: input of shape {tuple(values.shape)}; give (batch, channels)")
        if ((values < 0) | (values > 1)).any():
            raise ConfigError("CoordinatesToSpikes: values outside [0, 1]; scale the input to [0, 1]")
        batch, channels = values.shape
        steps = torch.round((self.t_early + values * (self.t_late - self.t_early)) / self.dt).long()
        spikes = torch.zeros(batch, self.seq_length, channels + (self.t_bias is not None), device=self.device)
        spikes.scatter_(1, steps.unsqueeze(1).to(self.device), 1.0)
        if self.t_bias is not None:
            spikes[:, int(round(self.t_bias / self.dt)), -1] = 1.0
        return spikes.transpose(0, 1) if self.time_first else spikes

    def extra_repr(self) -> str:
        return (f"seq_length={self.seq_length}, t_early={self.t_early:g}, t_late={self.t_late:g}, dt={self.dt:g}, "
                f"t_bias={self.t_bias}")


class _OverTime(torch.nn.Module):
    def __init__(self, time_first: bool = False) -> None:
        super().__init__()
        self.time_first = time_first

    @property
    def time_dim(self) -> int:
        return 0 if self.time_first else 1


class MaxOverTime(_OverTime):
    """The maximum of each trace over time: ``(batch, channels)``."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 (torch's name)
        return torch.max(input, self.time_dim)[0]


class SumOverTime(_OverTime):
    """The sum of each trace over time."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        return torch.sum(input, self.time_dim)


class MeanOverTime(_OverTime):
    """The mean of each trace over time."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        return torch.mean(input, self.time_dim)
