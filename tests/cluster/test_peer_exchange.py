"""The shared-memory exchange board of Ray hosts on one machine (``cluster.peer_exchange``),
without Ray: hosts as processes (fork) and threads."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from bss2emu.cluster.host import decode_exchange, encode_exchange
from bss2emu.cluster.peer_exchange import ExchangeBoard, PeerAborted, slot_bytes
from bss2emu.errors import ClusterError

WINDOWS = 300


def message(host: int, w: int) -> bytes:
    """Host ``host``'s spikes of window ``w``: a count that varies with both."""
    n = (host * 7 + w * 3) % 11
    return encode_exchange(np.full(n, host, np.int32), np.arange(n, dtype=np.int64) + 10 * w,
                           np.full(n, w, np.int32))


def exchange(spec: tuple, me: int, windows: int) -> list[tuple]:
    """Publish and gather ``windows`` windows as host ``me``; what every host sent, per window."""
    board = ExchangeBoard(*spec).attach(me)
    seen = []
    for w in range(windows):
        board.publish(me, w, message(me, w))
        seen.append(tuple(tuple(c.tolist()) for p in board.gather(w) for c in decode_exchange(p)))
    board.close()
    return seen


def _child(spec, me, windows, out):
    out.put((me, exchange(spec, me, windows)))


def expected(n_hosts: int, windows: int) -> list[tuple]:
    return [tuple(tuple(c.tolist()) for h in range(n_hosts) for c in decode_exchange(message(h, w)))
            for w in range(windows)]


@pytest.mark.parametrize("n_hosts", [2, 3])
def test_processes_see_every_hosts_message_of_every_window_in_host_order(n_hosts):
    """Slots are reused every other window: a fast host must never overwrite what a slow
    one still reads (three hosts on two cores take turns)."""
    board = ExchangeBoard.create(n_hosts, slot_bytes(1, 6))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(board.spec(), i, WINDOWS, out)) for i in range(n_hosts)]
    try:
        for p in procs:
            p.start()
        found = dict(out.get(timeout=120) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=30)
        board.remove()
    assert all(found[i] == expected(n_hosts, WINDOWS) for i in range(n_hosts))


def test_an_abort_wakes_a_waiting_host():
    board = ExchangeBoard.create(2, 64)
    waiter = ExchangeBoard(*board.spec()).attach(0)
    caught = []

    def wait():
        waiter.publish(0, 0, b"x")
        try:
            waiter.gather(0)  # host 1 never publishes
        except PeerAborted as err:
            caught.append(err)

    t = threading.Thread(target=wait)
    t.start()
    t.join(timeout=0.3)
    assert t.is_alive() and not caught  # still waiting
    board.abort()
    t.join(timeout=10)
    assert not t.is_alive() and len(caught) == 1
    board.remove()


def test_a_message_larger_than_its_slot_is_refused_with_the_sizes():
    board = ExchangeBoard.create(1, 16).attach(0)
    with pytest.raises(ClusterError, match="32 bytes exceeds the exchange board's slot of 16 bytes"):
        board.publish(0, 0, bytes(32))
    board.remove()


@pytest.mark.parametrize("rows", [0, 1, 2, 7, 100, 5000])
def test_columns_published_are_arrows_own_ipc_message_and_read_back(rows):
    rng = np.random.default_rng(rows)
    chip = np.sort(rng.integers(0, 120, rows)).astype(np.int32)
    t = rng.integers(0, 1 << 40, rows)
    lab = rng.integers(0, 1 << 16, rows).astype(np.int32)
    board = ExchangeBoard.create(1, slot_bytes(10, 1)).attach(0)
    board.publish_columns(0, 0, chip, t, lab)
    assert bytes(board.gather(0)[0]) == encode_exchange(chip, t, lab)
    got = board.gather_columns(0)[0]
    assert [g.tolist() for g in got] == [chip.tolist(), t.tolist(), lab.tolist()]
    assert [g.tolist() for g in decode_exchange(board.gather(0)[0])] == [chip.tolist(), t.tolist(), lab.tolist()]
    board.remove()
