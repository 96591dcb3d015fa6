"""Yin-Yang (Kriener et al. 2021) as a spiking network trained with the emulated chip in the
loop: 5 spike inputs → 120 LIF → 3 leaky integrators; the class is the readout with the
largest membrane maximum. Forward pass on the emulated chip (``mock=False``), backward with
SuperSpike surrogate gradients through the chip's values. Plots the learning curve and the
membranes of one sample, mock against emulation.

    python examples/snn_yinyang.py                       # a short run
    python examples/snn_yinyang.py --epochs 6 --train 5000 --test 1000 --batch 25   # full length
"""

from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # small tensors: threads only contend

from bss2emu import snn  # noqa: E402
from bss2emu.snn.datasets import YinYangDataset, encode_spike_times  # noqa: E402

STEPS = 40  # dt = 1 µs: 40 µs hardware per sample


class Model(torch.nn.Module):
    def __init__(self, mock: bool = False, hidden: int = 120, serial: int = 0, ideal: bool = False) -> None:
        super().__init__()
        self.experiment = snn.Experiment(mock=mock, dt=1e-6, serial=serial, ideal=ideal)
        self.linear_h = snn.Synapse(5, hidden, experiment=self.experiment)
        self.lif_h = snn.LIF(hidden, experiment=self.experiment, tau_mem=6e-6, tau_syn=6e-6, alpha=50.0)
        self.linear_o = snn.Synapse(hidden, 3, experiment=self.experiment)
        self.li_readout = snn.LI(3, experiment=self.experiment, tau_mem=6e-6, tau_syn=6e-6)
        with torch.no_grad():
            self.linear_h.weight.normal_(0.35, 0.5)
            self.linear_o.weight.normal_(0.0, 0.15)

    def forward(self, spikes: torch.Tensor):
        h = self.lif_h(self.linear_h(snn.NeuronHandle(spikes=spikes)))
        y = self.li_readout(self.linear_o(h))
        snn.run(self.experiment, runtime=STEPS)
        return y.membrane_cadc, h


def scores(membrane: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """The readouts' maxima over time, as a soft maximum: the CADC's 8-bit traces have
    plateaus (ties), where a hard maximum sends the whole gradient to the plateau's first
    step — often the resting start; ``temperature`` (threshold units, about two CADC codes)
    shares it among the near-maximal steps."""
    return 4.0 * temperature * torch.logsumexp(membrane / temperature, dim=1)


def accuracy(model: Model, data: YinYangDataset, batch_size: int) -> float:
    correct = 0
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            x, y = data.features[i:i + batch_size], data.labels[i:i + batch_size]
            v, _ = model(encode_spike_times(x, STEPS))
            correct += int((scores(v).argmax(1) == y).sum())
    return correct / len(data)


def train(epochs: int = 1, train_size: int = 200, test_size: int = 100, batch_size: int = 50, mock: bool = False,
          lr: float = 3e-2, seed: int = 0, ideal: bool = False, log=print) -> dict:
    torch.manual_seed(seed)
    model = Model(mock=mock, ideal=ideal)
    train_set, test_set = YinYangDataset(train_size, seed=42), YinYangDataset(test_size, seed=41)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.5)
    curve = {"epoch": [], "loss": [], "train_acc": [], "test_acc": []}
    for epoch in range(epochs):
        t0, total, correct = time.perf_counter(), 0.0, 0
        perm = torch.randperm(train_size)
        for i in range(0, train_size, batch_size):
            idx = perm[i:i + batch_size]
            x, y = train_set.features[idx], train_set.labels[idx]
            v, h = model(encode_spike_times(x, STEPS))
            s = scores(v)
            loss = torch.nn.functional.cross_entropy(s, y) + 2e-3 * h.spikes.sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            correct += int((s.argmax(1) == y).sum())
        sched.step()
        test_acc = accuracy(model, test_set, batch_size)
        curve["epoch"].append(epoch + 1)
        curve["loss"].append(total / train_size)
        curve["train_acc"].append(correct / train_size)
        curve["test_acc"].append(test_acc)
        log(f"epoch {epoch + 1}: loss {total / train_size:.3f}, train {correct / train_size:.3f}, "
            f"test {test_acc:.3f} ({time.perf_counter() - t0:.1f} s, {'mock' if mock else 'emulated'})")
    return {"model": model, "curve": curve, "test_accuracy": curve["test_acc"][-1]}


def compare_traces(model: Model, sample: torch.Tensor) -> dict:
    """The same weights and input in mock and on the emulated chip: membranes of both."""
    out = {}
    for mock in (True, False):
        twin = Model(mock=mock, ideal=True, hidden=model.lif_h.size)
        twin.load_state_dict(model.state_dict())
        with torch.no_grad():
            v, h = twin(encode_spike_times(sample, STEPS))
        out["mock" if mock else "emulated"] = (v[0].numpy(), h.membrane_cadc[0, :, :3].numpy())
    return out


def plot(curve: dict, traces: dict, path: str) -> None:
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.5))
    ax[0].plot(curve["epoch"], curve["loss"], "o-")
    ax[0].set(xlabel="epoch", ylabel="loss", title="learning curve")
    ax[1].plot(curve["epoch"], curve["train_acc"], "o-", label="train")
    ax[1].plot(curve["epoch"], curve["test_acc"], "s-", label="test")
    ax[1].set(xlabel="epoch", ylabel="accuracy")
    ax[1].legend()
    for name, style in (("mock", "--"), ("emulated", "-")):
        v, _ = traces[name]
        for k in range(v.shape[1]):
            ax[2].plot(v[:, k], style, color=f"C{k}", label=f"{name} class {k}" if k == 0 else None)
    ax[2].set(xlabel="time step (1 µs)", ylabel="readout membrane (threshold units)", title="mock vs emulated")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--train", type=int, default=200)
    p.add_argument("--test", type=int, default=100)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--mock", action="store_true", help="train in software only")
    p.add_argument("--out", default="snn_yinyang.png")
    a = p.parse_args(argv)
    res = train(a.epochs, a.train, a.test, a.batch, a.mock, lr=a.lr)
    sample = YinYangDataset(1, seed=7).features
    plot(res["curve"], compare_traces(res["model"], sample), a.out)
    print(f"test accuracy {res['test_accuracy']:.3f}; plot in {a.out}")
    return res


if __name__ == "__main__":
    main()
