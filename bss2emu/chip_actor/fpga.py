"""``Fpga``: executes one chip's playback program and records what the chip sends out.

A plain class (no Ray). Per window it hands the chip the input events due — as
``(time_ns, crossbar_input, label)`` — and the writes due, and keeps the chip's output
record batches in order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..errors import ChipError
from ..protocol import coordinates as C
from ..protocol import schemas
from ..protocol.playback import PlaybackProgram, Write
from ..units import NS_PER_TICK
from .chip import WindowOutput


class Fpga:
    """The FPGA of one chip."""

    def __init__(self, program: PlaybackProgram, chip_id: int = 0) -> None:
        self.program = program
        self.chip_id = chip_id
        self.play_t_ns = program.spike_times_ns()  # playback times in ns, sorted (read-only)
        self._write_pos = 0
        self._net_t = np.zeros(0, np.int64)
        self._net_label = np.zeros(0, np.int64)
        self._batches: dict[str, list[pa.RecordBatch]] = {"spikes": [], "madc": [], "cadc": []}

    def reprogram(self, program: PlaybackProgram) -> None:
        """Play ``program`` from now on. Its writes up to the ones applied so far must be this
        program's (they are not applied again); its events before now are never played."""
        self.program = program
        self.play_t_ns = program.spike_times_ns()

    def inject(self, t_ns: np.ndarray, labels: np.ndarray) -> None:
        """Queue events that arrived over the network (or a delayed loop-back) for the chip."""
        if len(t_ns):
            t = np.concatenate([self._net_t, np.asarray(t_ns, np.int64)])
            lab = np.concatenate([self._net_label, np.asarray(labels, np.int64)])
            order = np.lexsort((lab, t))
            self._net_t, self._net_label = t[order], lab[order]

    def events_for_window(self, t0_ns: int, t1_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input events with ``t0_ns <= t < t1_ns`` — playback and network arrivals merged in
        the order (time, label); each enters the crossbar on the FPGA input that serves its
        label's PADI bus."""
        lo, hi = np.searchsorted(self.play_t_ns, [t0_ns, t1_ns])
        t, labels = self.play_t_ns[lo:hi], self.program.spike_labels[lo:hi]
        if len(self._net_t):
            n_lo, n_hi = np.searchsorted(self._net_t, [t0_ns, t1_ns])
            if n_lo:
                raise ChipError(f"chip {self.chip_id}: {n_lo} network event(s) arrived in the past "
                                f"(first at {self._net_t[0]} ns, window starts at {t0_ns} ns)")
            t = np.concatenate([t, self._net_t[:n_hi]])
            labels = np.concatenate([labels, self._net_label[:n_hi]])
            self._net_t, self._net_label = self._net_t[n_hi:], self._net_label[n_hi:]
            order = np.lexsort((labels, t))
            t, labels = t[order], labels[order]
        inputs = C.CROSSBAR_INPUT_FPGA + ((labels >> C.LABEL_BUS_SHIFT) & 3)
        return t, inputs, labels

    def next_write_ns(self) -> int | None:
        """Time (ns) of the next pending write, or None."""
        w = self.program.writes
        return w[self._write_pos].time_ticks * NS_PER_TICK if self._write_pos < len(w) else None

    def writes_due(self, t_ns: int) -> list[Write]:
        """Pending writes with time before ``t_ns``, in time order, marked done."""
        out = []
        w = self.program.writes
        while self._write_pos < len(w) and w[self._write_pos].time_ticks * NS_PER_TICK < t_ns:
            out.append(w[self._write_pos])
            self._write_pos += 1
        return out

    def record(self, out: WindowOutput) -> None:
        for name in self._batches:
            batch = getattr(out, name)
            if batch.num_rows:
                self._batches[name].append(batch)

    def tables(self) -> dict[str, pa.Table]:
        """Everything recorded so far, one table per kind."""
        return {
            name: pa.Table.from_batches(b, schema=schemas.SCHEMAS[name]) if b else schemas.empty_table(name)
            for name, b in self._batches.items()
        }

    # checkpoints (used by the cluster's fault tolerance)
    def get_state(self) -> dict:
        return {"write_pos": self._write_pos, "batches": {k: list(v) for k, v in self._batches.items()},
                "net": (self._net_t.copy(), self._net_label.copy())}

    def set_state(self, state: dict) -> None:
        self._write_pos = state["write_pos"]
        self._net_t, self._net_label = (a.copy() for a in state["net"])
        self._batches = {k: list(v) for k, v in state["batches"].items()}
