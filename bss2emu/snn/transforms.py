"""hxtorch's weight transforms (``hxtorch.snn.transforms.weight_transforms``): software
weight → hardware weight, for ``Synapse(transform=functools.partial(linear_saturating,
scale=...))``.

>>> import torch
>>> linear_saturating(torch.tensor([0.4, -2.0, 9.0]), scale=10.0).tolist()
[4.0, -20.0, 63.0]
"""

from __future__ import annotations

import torch

from .functional import RoundSaturate


def linear_saturating(weight: torch.Tensor, scale: float = 1.0, min_weight: float = -63.0,
                      max_weight: float = 63.0) -> torch.Tensor:
    """``round(clamp(scale·w, min_weight, max_weight))`` with a straight-through gradient."""
    if min_weight != -max_weight:
        return torch.round(torch.clamp(scale * weight, min_weight, max_weight))
    return RoundSaturate.apply(weight * scale, max_weight)


linear_saturation_and_rounding = linear_saturating
