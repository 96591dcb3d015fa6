"""Yin-Yang (Kriener et al. 2021) as a non-spiking network on the emulated synapse array in
MAC mode: 4 features as 5-bit inputs → Linear(4, 256) → ConvertingReLU → Linear(256, 3);
trained with straight-through gradients, forward on a mismatched, calibrated chip
(``mock=False``) or as the ideal quantised arithmetic (``--mock``). Plots the learning curve.

    python examples/mac_yinyang.py                                   # a short run
    python examples/mac_yinyang.py --epochs 60 --train 5000 --test 1000   # full length
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from bss2emu import ann  # noqa: E402
from bss2emu.snn.datasets import YinYangDataset  # noqa: E402

torch.set_num_threads(1)  # small tensors: threads only contend


class Model(torch.nn.Module):
    def __init__(self, mock: bool = False, hidden: int = 256) -> None:
        super().__init__()
        self.classifier = torch.nn.Sequential(
            ann.nn.Linear(4, hidden, mock=mock),
            ann.nn.ConvertingReLU(shift=1, mock=mock),
            ann.nn.Linear(hidden, 3, bias=False, mock=mock),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(features * 31.0)


def accuracy(model: Model, data: YinYangDataset) -> float:
    with torch.no_grad():
        return float((model(data.features).argmax(1) == data.labels).float().mean())


def train(epochs: int = 2, train_size: int = 500, test_size: int = 200, batch_size: int = 50, mock: bool = False,
          lr: float = 0.5, seed: int = 0, serial: int = 0, hidden: int = 256, log=print) -> dict:
    torch.manual_seed(seed)
    if not mock:
        ann.init_hardware(serial=serial)  # the emulated chip, calibrated
    model = Model(mock=mock, hidden=hidden)
    train_set, test_set = YinYangDataset(train_size, seed=42), YinYangDataset(test_size, seed=41)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    curve = {"epoch": [], "loss": [], "test_acc": []}
    for epoch in range(epochs):
        t0, total = time.perf_counter(), 0.0
        perm = torch.randperm(train_size)
        for i in range(0, train_size, batch_size):
            idx = perm[i:i + batch_size]
            out = model(train_set.features[idx])
            loss = torch.nn.functional.cross_entropy(out / 8.0, train_set.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        acc = accuracy(model, test_set)
        curve["epoch"].append(epoch + 1)
        curve["loss"].append(total / train_size)
        curve["test_acc"].append(acc)
        log(f"epoch {epoch + 1}: loss {total / train_size:.3f}, test {acc:.3f} "
            f"({time.perf_counter() - t0:.2f} s, {'mock' if mock else 'emulated'})")
    return {"model": model, "curve": curve, "test_accuracy": curve["test_acc"][-1]}


def plot(curve: dict, path: str) -> None:
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].plot(curve["epoch"], curve["loss"], "o-")
    ax[0].set(xlabel="epoch", ylabel="loss", title="MAC-mode Yin-Yang")
    ax[1].plot(curve["epoch"], curve["test_acc"], "s-")
    ax[1].set(xlabel="epoch", ylabel="test accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--train", type=int, default=500)
    p.add_argument("--test", type=int, default=200)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--mock", action="store_true")
    p.add_argument("--out", default="mac_yinyang.png")
    a = p.parse_args(argv)
    res = train(a.epochs, a.train, a.test, a.batch, a.mock)
    plot(res["curve"], a.out)
    print(f"test accuracy {res['test_accuracy']:.3f}; plot in {a.out}")
    return res


if __name__ == "__main__":
    main()
