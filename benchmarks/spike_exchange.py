#!/usr/bin/env python3
"""What one window's spike exchange costs across process boundaries: per wire format, and per
way of reaching the hosts, for 2, 4 and 8 hosts.

Run from the repository root::

    python benchmarks/spike_exchange.py                      # 2, 4, 8 hosts, 5 spikes per host and window
    python benchmarks/spike_exchange.py --hosts 2 --spikes 50 --rounds 5 --windows 2000

Each Ray host holds chips; once per window it takes the network's arrivals for its chips
and gives its chips' spikes. Here the hosts hold no chips: each "window" is only the
exchange, so what is timed is the overhead a real run adds to its integration.

Wire formats (``bss2emu.cluster.host``):

* ``bytes``: ``pack_spikes`` — per-chip ``{chip: (times, labels)}`` in one int64 buffer
  ``[n, chip, len, …, times…, labels…]`` (what crossed before Arrow);
* ``arrow-ipc``: ``encode_exchange`` — a ``schemas.EXCHANGE`` record batch (chip, t, label)
  in Arrow's IPC message format (the batch message alone: both ends know the schema);
* ``arrow-batch``: the ``pyarrow.RecordBatch`` itself, pickled by Ray (pickle protocol 5,
  Arrow's buffers out of band; not possible on the board, which holds bytes).

Part 1, ``codec``: encoding on one side and decoding on the other, in process, from a host's
flat record columns to the flat columns the network routes (µs per message); ``arrow-board``
is the ``arrow-ipc`` message as peer hosts write and read it on the board
(``ExchangeBoard.publish_columns``/``gather_columns``: Arrow's message byte for byte, no
pyarrow call per window).

Part 2, ``exchange per window`` (µs), per number of hosts and path:

* ``peers``: what ``per-chip``/``packed`` runs use on one machine (``cluster.peer_exchange``):
  every host runs the windows itself; per window it encodes its spikes, publishes them on the
  shared-memory ``ExchangeBoard``, waits for every other host's and decodes them all (the
  routing that follows is compiled and the same on every path: not timed here);
* ``compiled-graph``: one execution of a Ray Compiled Graph per window (a step per host, fed
  from one input node; shared-memory channels), the coordinator decoding every host's spikes
  and encoding each host's arrivals (what the hosts do when ``BSS2EMU_RAY_PEERS=0``);
* ``actor-calls``: one actor call per host and window, the coordinator as above (across
  machines, and with ``BSS2EMU_RAY_COMPILED_GRAPH=0``).

Part 3, ``ray call per format``: one round trip through an echo actor that decodes and
re-encodes as a host does (µs per window), per wire format — ``arrow-batch`` only crosses
this way (Ray pickles the batch with its buffers out of band).

Rounds alternate the paths; min and median over rounds. On a machine with fewer cores than
hosts (8 hosts on 2 cores here), the hosts take turns: each window then costs context switches.
The load average is printed: other processes share this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from bss2emu.cluster.host import decode_exchange, encode_exchange, pack_spikes, unpack_spikes
from bss2emu.cluster.peer_exchange import ExchangeBoard

FORMATS = ("bytes", "arrow-ipc", "arrow-batch")
PATHS = ("peers", "peers/bytes", "compiled-graph", "actor-calls")


def _split(chip, t, lab) -> dict:
    return {c: (t[chip == c], lab[chip == c]) for c in np.unique(chip).tolist()}


def _flat(spikes: dict):
    chips = sorted(spikes)
    if not chips:
        z = np.zeros(0, np.int64)
        return z, z, z
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


def window_spikes(chip: int, per_chip: int, rng: np.random.Generator) -> tuple:
    """One window's spikes of one chip as a host's record holds them: (chip int32, ticks int64, label int32)."""
    t = (rng.integers(0, 75, per_chip) + 10_000).astype(np.int64)
    return np.full(per_chip, chip, np.int32), t, rng.integers(0, 1 << 14, per_chip).astype(np.int32)


def time_codec(fmt: str, spikes: tuple, calls: int) -> float:
    if fmt == "arrow-board":  # what PeerHost does: publish_columns, gather_columns (one host)
        board = ExchangeBoard.create(1, 1 << 16).attach(0)
        t0 = time.perf_counter()
        for w in range(calls):
            board.publish_columns(0, w, *spikes)
            board.gather_columns(w)
        board.remove()
        return (time.perf_counter() - t0) / calls * 1e6
    enc, dec = _codec(fmt)
    t0 = time.perf_counter()
    for _ in range(calls):
        dec(enc(spikes))
    return (time.perf_counter() - t0) / calls * 1e6


def make_host_class():
    import ray

    @ray.remote(num_cpus=0)
    class Host:
        """A host without chips: its spikes are fixed, its arrivals decoded and dropped."""

        def __init__(self, me: int, spikes: tuple) -> None:
            self.me, self.spikes = me, spikes

        def join(self, spec: tuple) -> None:
            if hasattr(self, "board"):
                self.board.close()
            self.board = ExchangeBoard(*spec).attach(self.me)

        def peers(self, windows: int, fmt: str) -> float:
            """``windows`` exchanges through the board; returns the wall seconds."""
            enc, dec = _codec(fmt)
            board = self.board
            t0 = time.perf_counter()
            for w in range(windows):
                if fmt == "arrow-ipc":  # as PeerHost: Arrow's message written and read at known offsets
                    board.publish_columns(self.me, w, *self.spikes)
                    cols = board.gather_columns(w)
                else:
                    board.publish(self.me, w, enc(self.spikes))
                    cols = [dec(p) for p in board.gather(w)]
                [np.concatenate([c[i] for c in cols]) for i in range(3)]  # as the network's input
            return time.perf_counter() - t0

        def step(self, arrivals: bytes) -> bytes:
            decode_exchange(arrivals)
            return encode_exchange(*self.spikes)

    return Host


def coordinator_window(parts: list, n_hosts: int) -> list:
    """What the coordinator does per window between the steps: every host's spikes decoded,
    each host's arrivals encoded (here: everyone's spikes, split by host)."""
    cols = [decode_exchange(p) for p in parts]
    chip, t, lab = (np.concatenate([c[i] for c in cols]) for i in range(3))
    return [encode_exchange(chip[chip == i], t[chip == i], lab[chip == i]) for i in range(n_hosts)]


def exchange_per_window(n_hosts: int, per_chip: int, windows: int, rounds: int) -> dict:
    """µs per window of each path, per round."""
    import ray
    from ray.dag import InputNode, MultiOutputNode

    rng = np.random.default_rng(n_hosts)
    Host = make_host_class()
    hosts = [Host.remote(i, window_spikes(i, per_chip, rng)) for i in range(n_hosts)]
    ray.get([h.step.remote(encode_exchange(*window_spikes(0, 0, rng))) for h in hosts])
    with InputNode() as inp:
        dag = MultiOutputNode([h.step.bind(inp[i]) for i, h in enumerate(hosts)])
    cdag = dag.experimental_compile(_max_inflight_executions=1)
    found = {p: [] for p in PATHS}
    empty = [encode_exchange(*window_spikes(0, 0, rng))] * n_hosts
    try:
        for r in range(rounds + 1):  # round 0 warms up
            for path in PATHS:
                n = windows if r else min(windows, 50)
                if path.startswith("peers"):
                    board = ExchangeBoard.create(n_hosts, 1 << 16)
                    ray.get([h.join.remote(board.spec()) for h in hosts])
                    fmt = "bytes" if path.endswith("bytes") else "arrow-ipc"
                    t0 = time.perf_counter()
                    ray.get([h.peers.remote(n, fmt) for h in hosts])
                    dt = time.perf_counter() - t0
                    board.remove()
                else:
                    messages = empty
                    t0 = time.perf_counter()
                    for _ in range(n):
                        if path == "compiled-graph":
                            parts = [ray.get(ref, timeout=600) for ref in cdag.execute(*messages)]
                        else:
                            parts = ray.get([h.step.remote(m) for h, m in zip(hosts, messages)])
                        messages = coordinator_window(parts, n_hosts)
                    dt = time.perf_counter() - t0
                if r:
                    found[path].append(dt / n * 1e6)
    finally:
        cdag.teardown()
        for h in hosts:
            ray.kill(h)
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--spikes", type=int, default=5, help="spikes per host and window (2048 neurons on 4 chips at "
                                                           "15 Hz, 0.6 µs windows: about 5 per chip)")
    ap.add_argument("--windows", type=int, default=1000, help="windows per round and path")
    ap.add_argument("--calls", type=int, default=2000, help="messages per codec round")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    from bss2emu.cluster.ray_backend import ensure_ray

    ensure_ray()
    print(f"spike exchange per window on {os.cpu_count()} CPUs: {args.spikes} spikes per host and window, "
          f"{args.rounds} rounds; load average {os.getloadavg()[0]:.1f} at start")
    rng = np.random.default_rng(1)
    spikes = tuple(np.concatenate(c) for c in zip(*(window_spikes(i, args.spikes, rng) for i in range(4))))
    sizes = {f: len(_codec(f)[0](spikes)) if f != "arrow-batch" else encode_exchange(*spikes, as_bytes=False).nbytes
             for f in FORMATS}
    codec = {f: [time_codec(f, spikes, args.calls) for _ in range(args.rounds)] for f in FORMATS + ("arrow-board",)}
    sizes["arrow-board"] = sizes["arrow-ipc"]
    print(f"\npart 1: codec of one message of 4 chips x {args.spikes} spikes (encode + decode, in process)")
    print(f"{'format':12s}{'payload B':>10s}{'µs min/med':>16s}{'/ bytes':>9s}")
    for f in codec:
        print(f"{f:12s}{sizes[f]:>10d}{min(codec[f]):>8.1f} /{statistics.median(codec[f]):>6.1f}"
              f"{min(codec[f]) / min(codec['bytes']):>9.2f}")
    print(f"\npart 2: exchange per window (µs, min / median of {args.rounds} rounds of {args.windows} windows)")
    print(f"{'hosts':>5s}" + "".join(f"{p:>22s}" for p in PATHS))
    for n in args.hosts:
        found = exchange_per_window(n, args.spikes, args.windows, args.rounds)
        print(f"{n:>5d}" + "".join(f"{min(v):>13.1f} /{statistics.median(v):>7.1f}" for v in found.values()))
    import ray

    @ray.remote(num_cpus=0)
    class Echo:
        def step(self, fmt, payload):
            enc, dec = _codec(fmt)
            return enc(tuple(np.asarray(c) for c in dec(payload)))

    echo = Echo.remote()
    for f in FORMATS:  # warm-up
        ray.get(echo.step.remote(f, _codec(f)[0](spikes)))
    call = {f: [] for f in FORMATS}
    for _ in range(args.rounds):
        for f in FORMATS:
            enc, dec = _codec(f)
            t0 = time.perf_counter()
            for _ in range(args.windows):
                dec(ray.get(echo.step.remote(f, enc(spikes))))
            call[f].append((time.perf_counter() - t0) / args.windows * 1e6)
    ray.kill(echo)
    print(f"\npart 3: ray call per format, 4 chips x {args.spikes} spikes (µs per window, min / median; "
          f"ratio to bytes of the same round)")
    for f in FORMATS:
        ratio = [a / b for a, b in zip(call[f], call["bytes"])]
        print(f"{f:12s}{min(call[f]):>10.1f} /{statistics.median(call[f]):>8.1f}{min(ratio):>8.2f} /"
              f"{statistics.median(ratio):.2f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
