"""Speed of the torch front end on a Yin-Yang batch of 100 samples (5 → 120 LIF → 3 LI,
40 steps of 1 µs): emulated forward + backward (one chip run per sample) against mock,
and the MAC-mode network (4 → 128 → 3) on the emulated array.

    python benchmarks/torch_yinyang.py [--batches 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import mac_yinyang  # noqa: E402
import snn_yinyang  # noqa: E402

from bss2emu.snn.datasets import YinYangDataset, encode_spike_times  # noqa: E402

torch.set_num_threads(1)


def time_snn(mock: bool, batches: int, batch_size: int) -> tuple[float, dict]:
    torch.manual_seed(0)
    model = snn_yinyang.Model(mock=mock)
    data = YinYangDataset(batch_size, seed=5)
    x = encode_spike_times(data.features, snn_yinyang.STEPS)
    v, _ = model(x)  # warm-up: calibration, numba compilation
    v.sum().backward()
    t0, c0 = time.perf_counter(), time.process_time()
    chip_s = 0.0
    for _ in range(batches):
        v, _ = model(x)
        chip_s += model.experiment.last_run_info.get("emulation_s", 0.0)
        torch.nn.functional.cross_entropy(snn_yinyang.scores(v), data.labels).backward()
    info = {**model.experiment.last_run_info, "emulation_s": chip_s / batches,
            "cpu_s": (time.process_time() - c0) / batches}
    return (time.perf_counter() - t0) / batches, info


def time_mac(mock: bool, batches: int, batch_size: int) -> float:
    torch.manual_seed(0)
    model = mac_yinyang.Model(mock=mock)
    data = YinYangDataset(batch_size, seed=5)
    model(data.features).sum().backward()
    t0 = time.perf_counter()
    for _ in range(batches):
        torch.nn.functional.cross_entropy(model(data.features), data.labels).backward()
    return (time.perf_counter() - t0) / batches


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=100)
    a = p.parse_args(argv)
    emu, info = time_snn(False, a.batches, a.batch_size)
    mock, mock_info = time_snn(True, a.batches, a.batch_size)
    mac_emu, mac_mock = time_mac(False, a.batches, a.batch_size), time_mac(True, a.batches, a.batch_size)
    print(f"SNN Yin-Yang, batch {a.batch_size}: emulated fwd+bwd {emu:.3f} s/batch ({1 / emu:.2f} batches/s; "
          f"chip runs {info.get('emulation_s', 0):.3f} s of it), mock {mock:.3f} s/batch ({1 / mock:.2f} batches/s), "
          f"emulated/mock {emu / mock:.1f}x")
    # this process's CPU time (one thread): what the batch costs on an idle core, load aside
    print(f"  CPU time per batch: emulated {info['cpu_s']:.3f} s ({1 / info['cpu_s']:.2f} batches/s, "
          f"{'one compiled call' if info.get('batched') else 'entry by entry'}), mock {mock_info['cpu_s']:.3f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"MAC Yin-Yang, batch {a.batch_size}: emulated fwd+bwd {mac_emu * 1e3:.2f} ms/batch "
          f"({1 / mac_emu:.0f} batches/s), mock {mac_mock * 1e3:.2f} ms/batch, emulated/mock {mac_emu / mac_mock:.1f}x")
    return {"snn_emulated_s": emu, "snn_mock_s": mock, "snn_emulated_cpu_s": info["cpu_s"], "mac_emulated_s": mac_emu, "mac_mock_s": mac_mock}


if __name__ == "__main__":
    main()
