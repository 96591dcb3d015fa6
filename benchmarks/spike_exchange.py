#!/usr/bin/env python3
"""What one window's spike exchange costs across a process boundary, per wire format.

Run from the repository root::

    python benchmarks/spike_exchange.py                 # 4 chips, 5 spikes per chip and window
    python benchmarks/spike_exchange.py --spikes 50 --rounds 5 --calls 1000

A Ray host gets the network arrivals for its chips and returns its chips' spikes once per
window. Formats compared (``bss2emu.cluster.host``):

* ``bytes``: ``pack_spikes`` — per-chip ``{chip: (times, labels)}`` in one int64 buffer
  ``[n, chip, len, …, times…, labels…]`` (before this format, what crossed);
* ``arrow-ipc``: ``encode_exchange`` — a ``schemas.EXCHANGE`` record batch (chip, t, label)
  in Arrow's IPC message format (the batch message alone: both ends know the schema),
  handed to Ray as bytes (what crosses now: ``BSS2EMU_RAY_WIRE``);
* ``arrow-batch``: the ``pyarrow.RecordBatch`` itself, pickled by Ray (pickle protocol 5,
  Arrow's buffers out of band).

Per format: ``codec``, encoding on one side and decoding on the other, in process, from the
host's flat record columns to the flat columns the network routes (µs per window, one
direction); ``ray call``, a round trip through an echo actor that decodes and
re-encodes as a host does (µs per window): the part that depends on the format. Rounds
alternate the formats; min and median over rounds; ratios to ``bytes`` of the same round.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bss2emu.cluster.host import decode_exchange, encode_exchange, pack_spikes, unpack_spikes

FORMATS = ("bytes", "arrow-ipc", "arrow-batch")


def _split(chip, t, lab) -> dict:
    return {c: (t[chip == c], lab[chip == c]) for c in np.unique(chip).tolist()}


def _flat(spikes: dict):
    chips = sorted(spikes)
    return (np.concatenate([np.full(len(spikes[c][0]), c, np.int32) for c in chips]),
            np.concatenate([spikes[c][0] for c in chips]), np.concatenate([spikes[c][1] for c in chips]))


def _codec(fmt: str):
    """(encode, decode) as the host and the coordinator use them: from the host's flat
    record columns (chip, time, label) to the network's flat input."""
    if fmt == "bytes":  # per-chip dicts in pack_spikes buffers
        return (lambda cols: pack_spikes(_split(*cols))), (lambda buf: _flat(unpack_spikes(buf)))
    if fmt == "arrow-ipc":
        return (lambda cols: encode_exchange(*cols)), decode_exchange
    return (lambda cols: encode_exchange(*cols, as_bytes=False)), decode_exchange


def window_spikes(chips: int, per_chip: int, rng: np.random.Generator) -> tuple:
    """One window's spikes as a host's record holds them: (chip int32, ticks int64, label int32)."""
    chip = np.repeat(np.arange(chips, dtype=np.int32), per_chip)
    t = (rng.integers(0, 75, chips * per_chip) + 10_000).astype(np.int64)
    return chip, t, rng.integers(0, 1 << 14, chips * per_chip).astype(np.int32)


def time_codec(fmt: str, spikes: dict, calls: int) -> float:
    enc, dec = _codec(fmt)
    t0 = time.perf_counter()
    for _ in range(calls):
        dec(enc(spikes))
    return (time.perf_counter() - t0) / calls * 1e6


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chips", type=int, default=4)
    ap.add_argument("--spikes", type=int, default=5, help="spikes per chip and window (2048 neurons at 15 Hz, "
                                                           "0.6 µs windows: about 5)")
    ap.add_argument("--calls", type=int, default=500, help="windows per round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    import ray

    from bss2emu.cluster.ray_backend import ensure_ray

    ensure_ray()

    @ray.remote(num_cpus=0)
    class Echo:
        def step(self, fmt, payload):
            enc, dec = _codec(fmt)
            return enc(tuple(np.asarray(c) for c in dec(payload)))

    echo = Echo.remote()
    spikes = window_spikes(args.chips, args.spikes, np.random.default_rng(1))
    sizes = {f: len(_codec(f)[0](spikes)) if f != "arrow-batch" else encode_exchange(*spikes, as_bytes=False).nbytes
             for f in FORMATS}
    for f in FORMATS:  # warm-up
        enc, _ = _codec(f)
        ray.get(echo.step.remote(f, enc(spikes)))
    codec, call = {f: [] for f in FORMATS}, {f: [] for f in FORMATS}
    for _ in range(args.rounds):
        for f in FORMATS:
            codec[f].append(time_codec(f, spikes, args.calls))
            enc, dec = _codec(f)
            t0 = time.perf_counter()
            for _ in range(args.calls):
                dec(ray.get(echo.step.remote(f, enc(spikes))))
            call[f].append((time.perf_counter() - t0) / args.calls * 1e6)
    print(f"spike exchange per window: {args.chips} chips x {args.spikes} spikes, {args.rounds} rounds of "
          f"{args.calls} windows; load average {os.getloadavg()[0]:.1f}")
    print(f"{'format':12s}{'payload B':>10s}{'codec µs min/med':>20s}{'ray call µs min/med':>22s}{'call / bytes':>14s}")
    for f in FORMATS:
        ratio = [a / b for a, b in zip(call[f], call["bytes"])]
        print(f"{f:12s}{sizes[f]:>10d}{min(codec[f]):>10.1f} /{statistics.median(codec[f]):>7.1f}"
              f"{min(call[f]):>12.1f} /{statistics.median(call[f]):>7.1f}"
              f"{min(ratio):>8.2f} /{statistics.median(ratio):.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
