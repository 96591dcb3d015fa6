"""Ray hosts that run the window loop themselves, exchanging spikes with each other through
shared memory: no Ray call, no coordinator, per window.

The per-window path of a ``per-chip``/``packed`` run whose hosts share one machine, top to
bottom (``PeerHost.run_with_peers``, in every host at once):

1. **step**: the host integrates its chips over the window (``ChipHost.step``, one
   compiled call) and gets its chips' spikes;
2. **publish**: it writes them into its slot of the ``ExchangeBoard`` (a file in
   ``/dev/shm`` every host maps) as the Arrow IPC message of one ``schemas.EXCHANGE`` record
   batch (``publish_columns``: the message Arrow itself writes, byte for byte, put together
   from a per-row-count prefix and the columns; or a ``pack_spikes`` buffer:
   ``BSS2EMU_RAY_WIRE=bytes``), then the window's number into its header row;
3. **wait**: it waits until every host has published the window (spinning briefly when
   every host has a core, then blocking on its FIFO until a peer's publication wakes it);
4. **route**: it reads every host's columns in place (``gather_columns``: at the offsets the
   message's row count gives), and routes all of the window's spikes through its own
   replica of the ``Interconnect``: every host routes the same spikes in the same order
   through the same link state, so the replicas stay identical without ever being sent;
5. **deliver**: it queues the arrivals for its own chips (``ChipHost.inject``) for the next
   window.

Each slot is double-buffered (window w uses slot w % 2): a host writes window w + 2 only
after it has read every host's window w + 1, which each host published only after reading
window w — so no slot is overwritten while someone reads it. The order of the stores (data,
then the window number) is what the readers rely on: guaranteed by x86-64's memory model,
so the board is used on x86-64 only (``board_supported``).

The backend (``ray_backend.RayBackend``) starts one ``run_with_peers`` per host and call
(all windows up to the next checkpoint), sets the coordinator's network to the state host 0
returns, and raises the first real failure: a host that dies or raises sets the board's
abort flag, so the others stop at their next wait instead of waiting for it.
"""

from __future__ import annotations

import copy
import os
import platform
import select
import tempfile
import time

import numpy as np

from ..errors import ClusterError
from ..protocol import coordinates as C
from ..routing.interconnect import Interconnect
from . import host_kernel as HK
from .host import ChipHost, encode_exchange, pack_spikes, unpack_spikes

HEADER_ROW = 8  # int64 per header row: one 64-byte cache line per host (no false sharing)
H_WINDOW, H_NBYTES, H_ROWS = 0, 1, 3  # window published (+1), bytes in slot 0 (slot 1 at H_NBYTES + 1),
# spike rows of an Arrow message in slot 0 (slot 1 at H_ROWS + 1)
A_ABORT, A_TOKEN = 0, 1  # the last header row: abort flag, the board's token
SPIN_S = 50e-6  # busy-wait this long (when every host has an idle core) before blocking on the FIFO
POLL_MS = 1000  # a blocked host looks at the abort flag and the time this often at least
WAIT_TIMEOUT_S = 600.0  # one window of one host, at most (a cold numba cache, a loaded machine)
BYTES_PER_SPIKE = 16  # chip int32 + time int64 + label int32 (arrow); pack_spikes: 2 x int64
MESSAGE_OVERHEAD = 4096  # an IPC message's metadata and padding; pack_spikes' header


def board_supported() -> bool:
    """Whether this machine's memory model keeps the order of plain stores (x86-64)."""
    return platform.machine().lower() in ("x86_64", "amd64")


class PeerAborted(ClusterError):
    """Another host failed: this one stopped waiting for it."""


def _pad8(n: int) -> int:
    return -(-n // 8) * 8


def body_bytes(rows: int) -> int:
    """The body of an Arrow IPC message of ``rows`` rows of ``schemas.EXCHANGE``: each column's
    values (no validity bitmaps: no nulls), each padded to 8 bytes."""
    return 2 * _pad8(4 * rows) + 8 * rows


_PREFIXES: dict[int, np.ndarray] = {}


def message_prefix(rows: int) -> np.ndarray:
    """What precedes the body in the Arrow IPC message of a ``schemas.EXCHANGE`` record
    batch of ``rows`` rows (continuation marker, length, the flatbuffer with the row count and
    buffer offsets, padding): it depends on the row count alone, so it is made once by
    Arrow (``encode_exchange``) and kept.

    >>> chip, t, lab = np.array([3, 3], np.int32), np.array([5, 9]), np.array([7, 1], np.int32)
    >>> b = ExchangeBoard.create(n_hosts=1, slot_bytes=512).attach(0)
    >>> b.publish_columns(0, 0, chip, t, lab)
    >>> bytes(b.gather(0)[0]) == encode_exchange(chip, t, lab)  # Arrow's own message, byte for byte
    True
    >>> [c.tolist() for c in b.gather_columns(0)[0]]
    [[3, 3], [5, 9], [7, 1]]
    >>> b.remove()
    """
    p = _PREFIXES.get(rows)
    if p is None:
        z = np.zeros(rows, np.int32)
        msg = encode_exchange(z, z.astype(np.int64), z)
        p = np.frombuffer(msg, np.uint8)[:len(msg) - body_bytes(rows)].copy()
        if len(_PREFIXES) < 1 << 14:
            _PREFIXES[rows] = p
    return p


class ExchangeBoard:
    """Per host a header row and two message slots, in a file every host maps, and per host
    a FIFO that wakes it: a host that publishes writes a byte into every other host's FIFO;
    a host that waits spins for ``SPIN_S`` (when every host has an idle core) and then blocks on its
    FIFO until a byte comes — the kernel wakes it as soon as a peer publishes. The bytes only
    wake; the header rows say what is published.

    >>> b = ExchangeBoard.create(n_hosts=2, slot_bytes=64)
    >>> b.attach(1).publish(1, 0, b"ab"); b.attach(0).publish(0, 0, b"xyz")
    >>> [bytes(m) for m in b.gather(0)]
    [b'xyz', b'ab']
    >>> b.remove()
    """

    def __init__(self, path: str, n_hosts: int, slot_bytes: int) -> None:
        self.path, self.n_hosts, self.slot_bytes = path, int(n_hosts), int(slot_bytes)
        size = (self.n_hosts + 1) * HEADER_ROW * 8 + self.n_hosts * 2 * self.slot_bytes
        self._map = np.memmap(path, np.uint8, "r+", shape=(size,))
        flat = np.frombuffer(self._map, np.uint8)  # a plain array: views of a memmap cost more per window
        head = (self.n_hosts + 1) * HEADER_ROW * 8
        self.header = flat[:head].view(np.int64).reshape(self.n_hosts + 1, HEADER_ROW)
        self.data = flat[head:].reshape(self.n_hosts, 2, self.slot_bytes)
        self._mv = memoryview(self.data.reshape(-1))
        self.wait_s = 0.0  # seconds spent waiting for the other hosts
        # FIFOs, opened read-write and non-blocking (opening never blocks; a full FIFO
        # drops the wake-up byte: its reader has enough of them)
        self._fifo = [os.open(self.fifo_path(i), os.O_RDWR | os.O_NONBLOCK) for i in range(self.n_hosts)]
        self._poll = None
        self._me = -1
        cores = os.cpu_count() or 1
        # spinning pays when every host has a core to itself; on a busy machine a spinning
        # host only burns the time slice its peer needs
        self._spin_s = SPIN_S if self.n_hosts <= cores and os.getloadavg()[0] < cores else 0.0

    def fifo_path(self, host: int) -> str:
        return f"{self.path}.wake{host}"

    @classmethod
    def create(cls, n_hosts: int, slot_bytes: int) -> "ExchangeBoard":
        """A new board (a sparse file: only the pages written take memory), in ``/dev/shm``
        where there is one."""
        where = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, path = tempfile.mkstemp(prefix="bss2emu-board-", dir=where)
        size = (n_hosts + 1) * HEADER_ROW * 8 + n_hosts * 2 * slot_bytes
        os.ftruncate(fd, size)
        os.close(fd)
        for i in range(n_hosts):
            os.mkfifo(f"{path}.wake{i}", 0o600)
        board = cls(path, n_hosts, slot_bytes)
        board.header[n_hosts, A_TOKEN] = int.from_bytes(os.urandom(7), "little")
        return board

    def attach(self, me: int) -> "ExchangeBoard":
        """Wait as host ``me`` (on its FIFO)."""
        self._me = me
        self._poll = select.poll()
        self._poll.register(self._fifo[me], select.POLLIN)
        return self

    def spec(self) -> tuple:
        """What a host needs to map the board: ``ExchangeBoard(*spec)``."""
        return self.path, self.n_hosts, self.slot_bytes

    @property
    def token(self) -> int:
        return int(self.header[self.n_hosts, A_TOKEN])

    def reset(self) -> None:
        """Before a call: no window published, no abort (no host is running)."""
        self.header[:self.n_hosts] = 0
        self.header[self.n_hosts, A_ABORT] = 0

    def abort(self) -> None:
        """Make every waiting host stop (``PeerAborted``)."""
        self.header[self.n_hosts, A_ABORT] = 1
        self._wake(range(self.n_hosts))

    def _wake(self, hosts) -> None:
        for i in hosts:
            try:
                os.write(self._fifo[i], b"w")
            except BlockingIOError:  # full: its reader has wake-ups enough
                pass

    def publish(self, me: int, w: int, message) -> None:
        """Host ``me``'s message of window ``w`` (the call's w-th window)."""
        n = len(message) if isinstance(message, bytes) else message.size
        if n > self.slot_bytes:
            raise ClusterError(f"host {me}: a window's spike message of {n} bytes exceeds the exchange board's "
                               f"slot of {self.slot_bytes} bytes: report this (the slot holds a spike per neuron "
                               f"and step)")
        slot = w & 1
        self.data[me, slot, :n] = np.frombuffer(message, np.uint8)
        self.header[me, H_NBYTES + slot] = n
        self.header[me, H_WINDOW] = w + 1  # after the data: readers see the window when its data is there
        self._wake(i for i in range(self.n_hosts) if i != me)

    def publish_columns(self, me: int, w: int, chip: np.ndarray, time_ticks: np.ndarray, label: np.ndarray) -> None:
        """``publish`` spike columns as the Arrow IPC message of their ``schemas.EXCHANGE``
        record batch, written straight into the slot (``message_prefix`` and the columns)."""
        rows = len(time_ticks)
        head = message_prefix(rows)
        n = len(head) + body_bytes(rows)
        if n > self.slot_bytes:
            raise ClusterError(f"host {me}: a window's spike message of {n} bytes exceeds the exchange board's "
                               f"slot of {self.slot_bytes} bytes: report this (the slot holds a spike per neuron "
                               f"and step)")
        slot = w & 1
        d = self.data[me, slot]
        at = len(head)
        d[:at] = head
        d[at:at + 4 * rows].view(np.int32)[:] = chip
        at += _pad8(4 * rows)
        d[at:at + 8 * rows].view(np.int64)[:] = time_ticks
        at += 8 * rows
        d[at:at + 4 * rows].view(np.int32)[:] = label
        self.header[me, H_ROWS + slot] = rows
        self.header[me, H_NBYTES + slot] = n
        self.header[me, H_WINDOW] = w + 1  # after the data: readers see the window when its data is there
        self._wake(i for i in range(self.n_hosts) if i != me)

    def gather_columns(self, w: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``gather`` of ``publish_columns`` messages: each host's (chip, time, label) columns,
        read from the message body at the offsets its row count gives (views of the board)."""
        published = self.header[:self.n_hosts, H_WINDOW]
        if (published <= w).any():
            self._wait(published, w)
        slot = w & 1
        out = []
        for i, (n, rows) in enumerate(zip(self.header[:self.n_hosts, H_NBYTES + slot].tolist(),
                                          self.header[:self.n_hosts, H_ROWS + slot].tolist())):
            d = self.data[i, slot]
            at = n - body_bytes(rows)
            chip = d[at:at + 4 * rows].view(np.int32)
            at += _pad8(4 * rows)
            out.append((chip, d[at:at + 8 * rows].view(np.int64), d[at + 8 * rows:at + 12 * rows].view(np.int32)))
        return out

    def gather(self, w: int) -> list[memoryview]:
        """Every host's message of window ``w``, in host order (views of the board: read
        them before publishing window ``w + 1``)."""
        published = self.header[:self.n_hosts, H_WINDOW]
        if (published <= w).any():
            self._wait(published, w)
        slot = w & 1
        base = slot * self.slot_bytes
        return [self._mv[i * 2 * self.slot_bytes + base:i * 2 * self.slot_bytes + base + int(n)]
                for i, n in enumerate(self.header[:self.n_hosts, H_NBYTES + slot].tolist())]

    def _wait(self, published: np.ndarray, w: int) -> None:
        t0 = time.perf_counter()
        abort = self.header[self.n_hosts]
        spin_until = t0 + self._spin_s
        while (published <= w).any() and time.perf_counter() < spin_until:
            pass
        fd = self._fifo[self._me]
        while (published <= w).any():
            if abort[A_ABORT]:
                raise PeerAborted("another host failed; this one stopped waiting for it")
            if not self._poll.poll(POLL_MS):
                if time.perf_counter() - t0 > WAIT_TIMEOUT_S:
                    late = np.flatnonzero(published <= w).tolist()
                    raise ClusterError(f"host(s) {late} did not publish window {w} within {WAIT_TIMEOUT_S:g} s: "
                                       f"a host hangs or the machine is overloaded")
                continue
            try:
                os.read(fd, 1 << 16)  # every wake-up so far: the header rows say what came
            except BlockingIOError:
                pass
        if abort[A_ABORT]:
            raise PeerAborted("another host failed; this one stopped waiting for it")
        self.wait_s += time.perf_counter() - t0

    def close(self) -> None:
        for fd in self._fifo:
            os.close(fd)
        self._fifo = []

    def remove(self) -> None:
        """Delete the files (hosts that still have them open keep them)."""
        self.close()
        for p in [self.path] + [self.fifo_path(i) for i in range(self.n_hosts)]:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


def slot_bytes(chips: int, window_steps: int) -> int:
    """A message slot that holds a host's largest window: every neuron spiking in every step."""
    return chips * C.NEURONS_PER_CHIP * max(1, int(window_steps)) * BYTES_PER_SPIKE + MESSAGE_OVERHEAD


class PeerHost(ChipHost):
    """A ``ChipHost`` that can run many windows on its own, exchanging spikes with the other
    hosts through an ``ExchangeBoard`` and routing them through its own ``Interconnect``."""

    def join_peers(self, spec: tuple, me: int, net: Interconnect, host_of: np.ndarray, wire: str) -> int:
        """Map the board ``spec`` as host ``me``; returns the board's token (the backend
        checks it: a host on another machine would not see the same file)."""
        if getattr(self, "_board", None) is not None:
            self._board.close()
        try:
            self._board = ExchangeBoard(*spec).attach(me)
        except OSError:
            self._board = None
            return -1
        # a copy: arrays that come through Ray's object store are read-only, and the
        # network's link state changes in place
        self._me, self._net, self._host_of, self._wire = me, copy.deepcopy(net), np.array(host_of, np.int64), wire
        self._times = dict.fromkeys(("step_s", "codec_s", "wait_s", "route_s"), 0.0)
        return self._board.token

    def run_with_peers(self, bounds: np.ndarray, net_state: dict) -> dict:
        """Run the windows ``[bounds[i], bounds[i + 1])`` with the other hosts (module
        docstring, steps 1-5), starting from the network state ``net_state``. Returns this
        host's time per part (and host 0 the network's state at the end)."""
        board, me, net, tm = self._board, self._me, self._net, self._times
        net.set_state(net_state)
        bounds = np.asarray(bounds, np.int64).tolist()
        row_of = np.full(len(self._host_of), -1, np.int64)  # system chip -> its row here (-1: elsewhere)
        row_of[list(self.units)] = np.arange(len(self.units))
        arrow = self._wire == "arrow"
        try:
            for w in range(len(bounds) - 1):
                t0 = time.perf_counter()
                if arrow:
                    columns = self.step_columns(bounds[w], bounds[w + 1] - bounds[w])
                    t1 = time.perf_counter()
                    board.publish_columns(me, w, *columns)
                    cols = board.gather_columns(w)
                    t2 = time.perf_counter()
                    src, ticks, labels = (np.concatenate([c[i] for c in cols]) for i in range(3))
                else:
                    spikes = self.step(bounds[w], bounds[w + 1] - bounds[w], {})
                    t1 = time.perf_counter()
                    board.publish(me, w, pack_spikes(spikes))
                    parts = board.gather(w)
                    t2 = time.perf_counter()
                    src, ticks, labels = self._columns(parts)
                t3 = time.perf_counter()
                self._queue_t, self._queue_label, net.hold = HK.route_to_queues(
                    src, ticks, labels, bounds[w + 1] * self.dt_ns, *net.tables(), net.counts, net.hold, net.hold_n,
                    row_of, self._queue_t, self._queue_label, self._queue_n)
                t4 = time.perf_counter()
                tm["step_s"] += t1 - t0
                tm["codec_s"] += t3 - t2 + (t2 - t1) - board.wait_s
                tm["wait_s"] += board.wait_s
                tm["route_s"] += t4 - t3
                board.wait_s = 0.0
        except BaseException:
            board.abort()
            raise
        out = {"times": dict(tm)}
        if me == 0:
            out["net"] = net.get_state()
        return out

    @staticmethod
    def _columns(parts: list) -> tuple:
        """All hosts' ``pack_spikes`` messages as the network's input: (chip, ticks, label),
        chips ascending."""
        merged = {}
        for p in parts:
            merged.update(unpack_spikes(bytes(p)))
        chips = sorted(c for c in merged if len(merged[c][0]))
        if not chips:
            z = np.zeros(0, np.int64)
            return z, z, z
        return (np.concatenate([np.full(len(merged[c][0]), c, np.int64) for c in chips]),
                np.concatenate([merged[c][0] for c in chips]), np.concatenate([merged[c][1] for c in chips]))

    def peer_times(self) -> dict:
        """Wall seconds this host spent per part of its windows since it joined."""
        return dict(getattr(self, "_times", {}))
