"""``hxtorch.snn.transforms.encode`` / ``.decode`` for ``bss2emu exec``: ``snn.coding``'s
encoders and decoders in hxtorch's layout ``(time, batch, channels)``.

>>> import torch
>>> CoordinatesToSpikes(seq_length=6, t_early=0.0, t_late=4e-6, dt=1e-6)(torch.tensor([[0.5]])).shape
torch.Size([6, 1, 1])
>>> MaxOverTime()(torch.tensor([[[1.0]], [[3.0]]])).tolist()
[[3.0]]
"""

from __future__ import annotations

from bss2emu.snn import coding as _coding

__all__ = ["CoordinatesToSpikes", "MaxOverTime", "SumOverTime", "MeanOverTime"]


def _time_first(cls: type) -> type:
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("time_first", True)
        cls.__init__(self, *args, **kwargs)

    return type(cls.__name__, (cls,), {"__init__": __init__, "__doc__": cls.__doc__, "__module__": __name__})


CoordinatesToSpikes = _time_first(_coding.CoordinatesToSpikes)
MaxOverTime = _time_first(_coding.MaxOverTime)
SumOverTime = _time_first(_coding.SumOverTime)
MeanOverTime = _time_first(_coding.MeanOverTime)
