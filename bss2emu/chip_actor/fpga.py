"""``Fpga``: executes one chip's playback program and records what the chip sends out.

A plain class (no Ray). Per window it hands the chip the input events due — as
``(time_ns, crossbar_input, label)`` — and the writes due, and keeps the chip's output
record batches in order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

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
        self._t_ns = program.spike_ticks * NS_PER_TICK
        self._write_pos = 0
        self._batches: dict[str, list[pa.RecordBatch]] = {"spikes": [], "madc": [], "cadc": []}

    def events_for_window(self, t0_ns: int, t1_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input events with ``t0_ns <= t < t1_ns``; each enters the crossbar on the FPGA
        input that serves its label's PADI bus."""
        lo, hi = np.searchsorted(self._t_ns, [t0_ns, t1_ns])
        labels = self.program.spike_labels[lo:hi]
        inputs = C.CROSSBAR_INPUT_FPGA + ((labels >> C.LABEL_BUS_SHIFT) & 3)
        return self._t_ns[lo:hi], inputs, labels

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
        return {"write_pos": self._write_pos, "batches": {k: list(v) for k, v in self._batches.items()}}

    def set_state(self, state: dict) -> None:
        self._write_pos = state["write_pos"]
        self._batches = {k: list(v) for k, v in state["batches"].items()}
