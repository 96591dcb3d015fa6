"""``Ppu``: the embedded plasticity processors, running user kernels on a timer.

A kernel is any Python (or numba-jitted) callable ``kernel(ctx)``; ``ctx`` is a
``PpuContext`` with read access to the observables the real PPU has — causal/acausal
correlation sensors and membranes (8-bit CADC codes), spike counts, current weights — and
write access to the controllables: weights and neuron parameters. Writes are checked
against the hardware ranges and take effect at the next window (the backend starts a
window at every kernel's due time, so "next window" is exactly the kernel's time).
Kernels written in PPU C++ for the real system run as ``cpp_kernel.CppKernel`` instances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import PlasticityError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS
from ..protocol.playback import NeuronParameterWrite, WeightWrite, Write
from ..units import NS_PER_TICK
from .chip import Chip


@dataclass
class PpuKernel:
    """A kernel with its timer: first run at ``start_ns``, then every ``period_ns``."""

    name: str
    function: Callable[["PpuContext"], Any]
    period_ns: int
    start_ns: int
    params: dict = field(default_factory=dict)


@dataclass
class ChipSnapshot:
    """The observables a PPU reads, taken from a chip at one instant (so the PPU can run in
    another process than its chip)."""

    spike_count: np.ndarray
    membranes: np.ndarray  # 8-bit CADC codes
    causal: np.ndarray  # 8-bit codes [hemisphere, row, column]
    acausal: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, chip: Chip) -> "ChipSnapshot":
        causal, acausal = chip.correlation_codes(reset=False)
        return cls(chip.spike_count.copy(), chip.membrane_codes(), causal, acausal,
                   chip.config.synapses.weights.copy())


class PpuContext:
    """What a kernel sees: observables to read, controllables to write."""

    def __init__(self, kernel: PpuKernel, snapshot: ChipSnapshot, time_ns: int, spike_counts: np.ndarray,
                 synapses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                 placement: dict[str, np.ndarray], chip_id: int = 0) -> None:
        self._kernel, self._snap = kernel, snapshot
        self.chip_id = chip_id  #: the chip this PPU belongs to
        self.time_us = time_ns / 1e3
        self.params = kernel.params
        self.spike_counts = spike_counts  #: spikes per circuit since this kernel's last run
        self.synapses = synapses  #: projection -> (hemisphere, row, column) of its synapses here
        self.placement = placement  #: population -> neuron circuits here
        self.writes: list[Write] = []
        self.records: list[tuple[str, float]] = []
        self.observables: list[tuple[str, Any]] = []
        self.reset_correlation = False
        self._t_ticks = time_ns // NS_PER_TICK

    def membranes(self) -> np.ndarray:
        """8-bit CADC codes of all 512 membranes."""
        return self._snap.membranes

    def correlation(self, reset: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """8-bit (causal, acausal) sensor codes ``[hemisphere, row, column]``; reset after read."""
        self.reset_correlation |= reset
        return self._snap.causal, self._snap.acausal

    def weights(self) -> np.ndarray:
        """Copy of all weights ``[hemisphere, row, column]``."""
        return self._snap.weights.copy()

    def set_weights(self, hemisphere, row, column, values) -> None:
        """Write 6-bit weights (integers 0..63) at the given synapses."""
        v = np.asarray(values)
        if not np.issubdtype(v.dtype, np.integer) or ((v < 0) | (v > C.WEIGHT_MAX)).any():
            bad = v[~((v >= 0) & (v <= C.WEIGHT_MAX) & (v == np.round(v)))]
            shown = bad.flat[0].item() if bad.size else v.dtype
            raise PlasticityError(
                f"PPU kernel {self._kernel.name!r} wrote weight {shown!r}: weights are integers "
                f"0..{C.WEIGHT_MAX}; use np.clip(np.rint(w), 0, 63).astype(int)")
        h, r, c = (np.broadcast_to(np.asarray(x, dtype=np.int64), v.shape) for x in (hemisphere, row, column))
        self.writes.append(WeightWrite(self._t_ticks, h.ravel(), r.ravel(), c.ravel(), v.astype(np.int64).ravel()))

    def set_neuron_parameter(self, name: str, neurons, value: int) -> None:
        """Write one neuron parameter (hardware value) of the given circuits."""
        if name not in NEURON_PARAMETER_INDEX:
            raise PlasticityError(f"PPU kernel {self._kernel.name!r}: unknown neuron parameter {name!r}")
        top = NEURON_PARAMETERS[NEURON_PARAMETER_INDEX[name]].maximum
        if int(value) != value or not 0 <= value <= top:
            raise PlasticityError(f"PPU kernel {self._kernel.name!r} wrote {name}={value!r}: range 0..{top}")
        self.writes.append(NeuronParameterWrite(self._t_ticks, name, np.asarray(neurons, np.int64), int(value)))

    def record(self, key: str, value: float) -> None:
        """Keep a number in the results' ``ppu`` table."""
        self.records.append((str(key), float(value)))

    def record_observable(self, name: str, value: Any) -> None:
        """Keep a value of one of the rule's observables (numbers or arrays) for this invocation."""
        self.observables.append((str(name), value))


class Ppu:
    """Both PPUs of a chip, sharing one timer list (kernels address either hemisphere)."""

    def __init__(self, kernels: list[PpuKernel], chip_id: int = 0) -> None:
        self.kernels = kernels
        self.chip_id = chip_id
        self.next_ns = [k.start_ns for k in kernels]
        self._last_counts = [None] * len(kernels)
        self.records: list[tuple[int, int, str, str, float]] = []
        self.observables: list[tuple[int, int, str, str, Any]] = []  # (ticks, chip, kernel, name, value)

    def next_due_ns(self) -> int | None:
        return min(self.next_ns) if self.kernels else None

    def run_due(self, t_ns: int, snapshot: ChipSnapshot, synapses, placement) -> tuple[list[Write], bool]:
        """Run every kernel due at or before ``t_ns``; return their writes and whether the
        correlation sensors are to be reset."""
        writes: list[Write] = []
        reset = False
        for i, k in enumerate(self.kernels):
            if self.next_ns[i] > t_ns:
                continue
            last = self._last_counts[i]
            counts = snapshot.spike_count - (last if last is not None else 0)
            self._last_counts[i] = snapshot.spike_count.copy()
            ctx = PpuContext(k, snapshot, t_ns, counts, synapses, placement, chip_id=self.chip_id)
            try:
                k.function(ctx)
            except PlasticityError:
                raise
            except Exception as err:
                raise PlasticityError(f"PPU kernel {k.name!r} failed at {t_ns / 1e3:.3f} µs: "
                                      f"{type(err).__name__}: {err}") from err
            writes.extend(ctx.writes)
            reset |= ctx.reset_correlation
            self.records.extend((t_ns // NS_PER_TICK, self.chip_id, k.name, key, val) for key, val in ctx.records)
            self.observables.extend((t_ns // NS_PER_TICK, self.chip_id, k.name, n, v) for n, v in ctx.observables)
            self.next_ns[i] += k.period_ns
        return writes, reset

    def due(self, t_ns: int) -> bool:
        """Is any kernel due at or before ``t_ns``?"""
        return any(n <= t_ns for n in self.next_ns)

    def get_state(self) -> dict:
        return {"next_ns": list(self.next_ns), "last": [None if c is None else c.copy() for c in self._last_counts],
                "records": list(self.records)}

    def set_state(self, state: dict) -> None:
        self.next_ns = list(state["next_ns"])
        self._last_counts = [None if c is None else c.copy() for c in state["last"]]
        self.records = list(state["records"])
