"""The Yin-Yang data set (Kriener, Göltz, Petrovici et al. 2021), generated in code, and its
spike-time encoding.

Points ``(x, y)`` are drawn uniformly in the disc of radius ``r_big`` = 0.5 centred at
(0.5, 0.5) and labelled yin (1), yang (0) or dot (2) by the symbol's geometry; classes are
balanced by drawing the wanted class first and rejecting points until one of it is found.
Each sample's features are ``(x, y, 1 - x, 1 - y)``.

>>> ds = YinYangDataset(size=300, seed=1)
>>> tuple(ds.features.shape), sorted(set(ds.labels.tolist()))
((300, 4), [0, 1, 2])
"""

from __future__ import annotations

import numpy as np
import torch


def yin_yang_class(x: np.ndarray, y: np.ndarray, r_small: float = 0.1, r_big: float = 0.5) -> np.ndarray:
    """0 yang, 1 yin, 2 dot for points of the symbol (vectorised)."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    yin = ((d_left > r_small) & (d_left <= 0.5 * r_big)) | ((y > r_big) & (d_right > 0.5 * r_big))
    dots = (d_right < r_small) | (d_left < r_small)
    return np.where(dots, 2, yin.astype(np.int64))


class YinYangDataset(torch.utils.data.Dataset):
    """``size`` balanced samples; ``dataset[i]`` is ``(features float32[4], label)``."""

    def __init__(self, size: int = 1000, seed: int = 42, r_small: float = 0.1, r_big: float = 0.5) -> None:
        rng = np.random.default_rng(seed)
        wanted = rng.integers(0, 3, size)
        feats = np.empty((size, 2))
        labels = np.empty(size, dtype=np.int64)
        todo = np.arange(size)
        while todo.size:
            xy = rng.uniform(0.0, 2 * r_big, (todo.size, 2))
            inside = np.hypot(xy[:, 0] - r_big, xy[:, 1] - r_big) <= r_big
            cls = yin_yang_class(xy[:, 0], xy[:, 1], r_small, r_big)
            ok = inside & (cls == wanted[todo])
            feats[todo[ok]] = xy[ok]
            labels[todo[ok]] = cls[ok]
            todo = todo[~ok]
        x = feats / (2 * r_big)
        self.features = torch.tensor(np.column_stack([x, 1 - x]), dtype=torch.float32)
        self.labels = torch.tensor(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.features[i], self.labels[i]


def encode_spike_times(features: torch.Tensor, steps: int, t_early: int = 2, t_late: int = 26,
                       t_bias: int = 0) -> torch.Tensor:
    """One spike per feature at step ``t_early + f·(t_late - t_early)`` (rounded), plus a bias
    input that spikes at ``t_bias``: ``(batch, steps, features + 1)``."""
    batch, n = features.shape
    spikes = torch.zeros(batch, steps, n + 1)
    t = torch.round(t_early + features * (t_late - t_early)).long().clamp(0, steps - 1)
    spikes.scatter_(1, t.unsqueeze(1), 1.0)
    spikes[:, t_bias, n] = 1.0
    return spikes
