"""``Ppu``: the embedded plasticity processors, running user kernels on a timer.

A kernel is any Python (or numba-jitted) callable ``kernel(ctx)``; ``ctx`` is a
``PpuContext`` with read access to the observables the real PPU has — causal/acausal
correlation sensors and membranes (8-bit CADC codes), spike counts and rates since the
kernel's last run, current weights — and
write access to the controllables: weights (6 bit), neuron parameters (their DAC ranges),
synapse enables (topology) and background-generator rates. Writes are checked against the
hardware ranges and take effect at the next window (the backend starts a window at every
kernel's due time, so "next window" is exactly the kernel's time).

The rule's projections and populations come as views of the part placed on this chip
(``ctx.projections``, ``ctx.populations``): one entry per synapse — row by row, as the
PPU's SIMD unit sweeps the synapse array, ``connection`` giving each one's index in the
projection — or per neuron, so a kernel works on whole vectors.

Kernels written in PPU C++ for the real system run as ``cpp_kernel.CppKernel`` instances.

Every chip's PPU runs its own copy of a kernel object (state kept on it — traces,
counters — is per chip, in every placement alike, and part of a checkpoint).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from numba import njit

from ..errors import PlasticityError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS
from ..protocol.playback import (
    BackgroundRateWrite, CorrelationResetWrite, NeuronParameterWrite, SynapseEnableWrite, WeightWrite, Write,
)
from ..units import NS_PER_TICK
from .chip import Chip
from .ppu_passes import CODES, stdp_pass, view_bits


@dataclass
class PpuKernel:
    """A kernel with its timer: first run at ``start_ns``, then every ``period_ns``
    (``num_periods`` times; None: until the end). ``projections``/``populations``: the
    names the kernel sees as views."""

    name: str
    function: Callable[["PpuContext"], Any]
    period_ns: int
    start_ns: int
    params: dict = field(default_factory=dict)
    num_periods: int | None = None
    projections: list = field(default_factory=list)
    populations: list = field(default_factory=list)


@dataclass
class ChipLayout:
    """What of the experiment is placed on one chip, for the kernels' views: per projection
    its synapses ``(hemisphere, row, column)`` and their connection indices, per population
    its circuits and neuron indices, per background source its generator."""

    synapses: dict = field(default_factory=dict)
    connections: dict = field(default_factory=dict)
    placement: dict = field(default_factory=dict)
    neuron_indices: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)
    #: per projection its synapses' flat indices (derived once per layout, as the views are every run)
    flats: dict = field(default_factory=dict, repr=False, compare=False)
    #: per tuple of projections, the fused kernel's synapses (``Ppu.fused_view``; derived once per layout)
    fused: dict = field(default_factory=dict, repr=False, compare=False)


class ChipSnapshot:
    """The observables a PPU reads, from a chip at one instant: ``of`` copies them (so the
    PPU can run in another process than its chip), ``live`` reads the chip when asked (same
    process: the chip does not move while a kernel runs)."""

    def __init__(self, spike_count, membranes, causal, acausal, weights, corr_lsb: float = 1.0,
                 chip: Chip | None = None, sensors_on: bool = True) -> None:
        self._chip = chip
        self.spike_count, self._membranes, self._causal, self._acausal = spike_count, membranes, causal, acausal
        self.weights, self.corr_lsb = weights, corr_lsb
        #: whether the chip runs its correlation sensors (off: reading them is an error, not zeros)
        self.sensors_on = sensors_on
        self._written = None  # synapses written by the kernels of this instant (weight_changes)

    @classmethod
    def of(cls, chip: Chip) -> "ChipSnapshot":
        ro = chip.config.readout
        return cls(chip.spike_count.copy(), chip.membrane_codes(), chip.causal.copy(), chip.acausal.copy(),
                   chip.config.synapses.weights.copy(), ro.corr_lsb, sensors_on=ro.enable_correlation)

    @classmethod
    def live(cls, chip: Chip) -> "ChipSnapshot":
        ro = chip.config.readout
        # (sensors off: taken from the chip when first read — a chip fills them, ~1 ms, when
        # first asked for them; a kernel that does not read them should not cost that)
        on = ro.enable_correlation
        return cls(chip.spike_count.copy(), None, chip.causal if on else None, chip.acausal if on else None,
                   chip.config.synapses.weights, ro.corr_lsb, chip, on)

    def _sensor_arrays(self) -> None:
        """The chip's sensors, where ``live`` left them to be read when needed."""
        if self._causal is None:
            self._causal, self._acausal = self._chip.causal, self._chip.acausal

    @property
    def membranes(self) -> np.ndarray:
        if self._membranes is None:
            self._membranes = self._chip.membrane_codes()
        return self._membranes

    def correlation_codes(self, index=None, reset: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """8-bit (causal, acausal) codes, of all synapses or at ``index`` = (h, r, c) or at
        flat indices (a 1-d array, ``SynapseView.flat``); ``reset``: zero the sensors read
        (the chip's when live, else this copy's — the chip's then follow by a
        ``CorrelationResetWrite``), as the PPU resets them while it reads."""
        self._sensor_arrays()
        if index is None:
            return tuple(np.clip(np.rint(x / self.corr_lsb), 0, 255).astype(np.uint8)
                         for x in (self._causal, self._acausal))
        flat = index if isinstance(index, np.ndarray) else flat_index(*index)
        if reset and not (self._causal.flags.writeable and self._acausal.flags.writeable):
            self._causal, self._acausal = self._causal.copy(), self._acausal.copy()  # (from Ray's store)
        # (3-d, any layout: the sensors may be views)
        return _codes_at(self._causal, self._acausal, np.ascontiguousarray(flat, np.int64), 1.0 / self.corr_lsb,
                         reset)

    def stdp_update(self, flat: np.ndarray, dw: np.ndarray, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """``SynapseView.update_weights_by_correlation`` at the flat indices ``flat``: the
        flat indices and new weights of what changes something (``weight_changes``), the
        sensors read reset if ``reset`` (``correlation_codes``)."""
        self._sensor_arrays()
        if reset and not (self._causal.flags.writeable and self._acausal.flags.writeable):
            self._causal, self._acausal = self._causal.copy(), self._acausal.copy()  # (from Ray's store)
        flat = np.ascontiguousarray(flat, np.int64)
        if not all(x.flags.c_contiguous for x in (self._causal, self._acausal, self.weights)):  # (views)
            causal, acausal = self.correlation_codes(flat, reset)
            values = np.clip(np.take(self.weights.reshape(-1), flat) + dw[causal, acausal], 0, C.WEIGHT_MAX)
            keep = self.weight_changes(flat, values.astype(np.int64))
            return flat[keep], values[keep].astype(np.int64)
        any_written = self._written is not None
        if not any_written:
            self._written = np.zeros(self.weights.size, np.bool_)
        return stdp_pass(self._causal.reshape(-1), self._acausal.reshape(-1), self.weights.reshape(-1),
                         self._written, any_written, flat, 1.0 / self.corr_lsb, reset, dw)

    def weight_changes(self, flat: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The positions of ``values`` (6-bit weights for the synapses ``flat``) that change
        something: a weight differs from the chip's, or an earlier write of this PPU run
        (all kernels due now) went to the synapse — writing the others is a no-op."""
        if self._written is None:
            self._written = np.zeros(self.weights.size, np.bool_)
        return _weight_changes(self.weights.reshape(-1), self._written, flat, values)

    @property
    def is_live(self) -> bool:
        return self._chip is not None

    @property
    def causal(self) -> np.ndarray:
        return self.correlation_codes()[0]

    @property
    def acausal(self) -> np.ndarray:
        return self.correlation_codes()[1]


class SynapseView:
    """A projection's synapses on this chip: ``hemisphere``, ``row``, ``column`` and
    ``connection`` (index in the projection's connection list), one entry each, ordered by
    (hemisphere, row, column)."""

    def __init__(self, ctx: "PpuContext", name: str, hemisphere, row, column, connection, flat=None) -> None:
        self._ctx, self.name = ctx, name
        self.hemisphere, self.row, self.column = hemisphere, row, column
        self.connection = connection
        if flat is not None:
            self.__dict__["flat"] = flat

    def __len__(self) -> int:
        return len(self.connection)

    @property
    def _index(self):
        return self.hemisphere, self.row, self.column

    @property
    def post_circuit(self) -> np.ndarray:
        """The neuron circuit of each synapse (its column): index ``ctx.spike_counts`` with it."""
        return self.hemisphere * C.COLUMNS_PER_HEMISPHERE + self.column

    @functools.cached_property
    def flat(self) -> np.ndarray:
        """Each synapse's index in the flattened ``[hemisphere, row, column]`` arrays."""
        return flat_index(self.hemisphere, self.row, self.column)

    def weights(self) -> np.ndarray:
        """Current 6-bit weights (int64)."""
        return np.take(self._ctx._snap.weights.reshape(-1), self.flat)

    def correlation(self, reset: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """8-bit (causal, acausal) sensor codes; ``reset``: zero these sensors after reading."""
        snap = self._ctx._sensors()
        out = snap.correlation_codes(self.flat, reset)
        if reset and len(self) and not snap.is_live:  # a copy: the chip's sensors are reset by a write
            self._ctx.writes.append(CorrelationResetWrite(self._ctx._t_ticks, *self._index))
        return out

    def update_weights_by_correlation(self, dw, reset: bool = True) -> None:
        """Pair STDP in one compiled sweep: ``w ← clip(w + dw[causal, acausal], 0, 63)`` for
        every synapse, ``dw`` an integer table ``[256, 256]`` of weight changes indexed by the
        8-bit causal and acausal codes. The same writes, bit for bit, as ``causal, acausal =
        correlation(reset)`` then ``set_weights(np.clip(weights() + dw[causal, acausal], 0,
        63))``, a few times faster (one pass over the sensors and weights instead of four)."""
        ctx = self._ctx
        table = np.asarray(dw)
        if table.shape != (CODES, CODES) or not np.issubdtype(table.dtype, np.integer):
            raise PlasticityError(
                f"plasticity rule {ctx._kernel.name!r}: update_weights_by_correlation takes a table of weight "
                f"changes, integers indexed [causal code, acausal code] of shape ({CODES}, {CODES}); got "
                f"{table.dtype} of shape {table.shape}: build it as dw[c, a] for c, a in 0..{CODES - 1}, "
                f"e.g. np.rint(eta * np.subtract.outer(np.arange({CODES}), np.arange({CODES}))).astype(int)")
        snap = ctx._sensors()
        at, values = snap.stdp_update(self.flat, np.ascontiguousarray(table), reset)
        if reset and len(self) and not snap.is_live:  # a copy: the chip's sensors are reset by a write
            ctx.writes.append(CorrelationResetWrite(ctx._t_ticks, *self._index))
        if len(at):
            ctx.writes.append(WeightWrite(ctx._t_ticks, *_coordinates(at), values))

    def set_weights(self, values) -> None:
        """Write 6-bit weights (integers 0..63), one per synapse or one for all."""
        v = np.asarray(values)
        self._ctx._write_weights(self.hemisphere, self.row, self.column, self.flat,
                                 v if v.shape == (len(self),) else np.broadcast_to(v, (len(self),)))

    def set_enabled(self, enabled) -> None:
        """Connect (True) or disconnect (False) the synapses: one value per synapse or one for all."""
        self._ctx.set_synapses_enabled(*self._index, np.broadcast_to(np.asarray(enabled, bool), (len(self),)))

    def merged(self, others: list["SynapseView"], connections: list[np.ndarray], name: str) -> "SynapseView":
        """This view and ``others`` as one, with each view's connections renumbered by
        ``connections`` (per view: its connection index → the new index)."""
        views = [self, *others]
        cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
        return SynapseView(self._ctx, name, cat([v.hemisphere for v in views]), cat([v.row for v in views]),
                           cat([v.column for v in views]),
                           cat([np.asarray(m, np.int64)[v.connection] for v, m in zip(views, connections)]),
                           cat([v.flat for v in views]))


class NeuronView:
    """A population's neurons on this chip: ``circuits`` and ``indices`` (in the population)."""

    def __init__(self, ctx: "PpuContext", name: str, circuits, indices) -> None:
        self._ctx, self.name = ctx, name
        self.circuits, self.indices = np.asarray(circuits, np.int64), np.asarray(indices, np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def membranes(self) -> np.ndarray:
        """8-bit CADC membrane codes now."""
        return self._ctx.membranes()[self.circuits].astype(np.int64)

    @property
    def spike_counts(self) -> np.ndarray:
        """Spikes of each neuron since this kernel's last run."""
        return self._ctx.spike_counts[self.circuits]

    @property
    def rates_hz(self) -> np.ndarray:
        """Each neuron's firing rate since this kernel's last run, in spikes per second of
        hardware time (``spike_counts`` over the time since then)."""
        return self._ctx.spike_rates_hz[self.circuits]

    def set_parameter(self, name: str, values) -> None:
        """Write a neuron parameter (hardware value), one per neuron or one for all."""
        v = np.broadcast_to(np.asarray(values), (len(self),))
        for value in np.unique(v):
            self._ctx.set_neuron_parameter(name, self.circuits[v == value], value)


class RateCounters:
    """The chip's spike counters, one per neuron circuit, shared by all kernels of the chip as
    on the hardware: a counter holds the spikes since its last reset, whichever kernel reset it
    (the Pong demo resets them in one rule and reads them in another). ``base``: the chip's
    running spike count (``ChipSnapshot.spike_count``) at each counter's last reset."""

    def __init__(self, base: np.ndarray) -> None:
        self.base = np.array(base, np.int64)

    def read(self, spike_count: np.ndarray) -> np.ndarray:
        """Spikes per circuit since the last reset."""
        return np.asarray(spike_count, np.int64) - self.base

    def reset(self, spike_count: np.ndarray, circuits: np.ndarray) -> None:
        """Reset the counters of ``circuits`` (they count from ``spike_count`` on)."""
        self.base[circuits] = np.asarray(spike_count, np.int64)[circuits]


class PpuContext:
    """What a kernel sees: observables to read, controllables to write."""

    def __init__(self, kernel: PpuKernel, snapshot: ChipSnapshot, time_ns: int, spike_counts: np.ndarray,
                 synapses: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | ChipLayout,
                 placement: dict[str, np.ndarray] | None = None, chip_id: int = 0,
                 since_ns: int | None = None, counters: RateCounters | None = None) -> None:
        layout = synapses if isinstance(synapses, ChipLayout) else ChipLayout(synapses, {}, placement or {})
        self._kernel, self._snap, self._layout = kernel, snapshot, layout
        self.chip_id = chip_id
        self.time_us = time_ns / 1e3  #: hardware µs
        self.params = kernel.params
        self.spike_counts = spike_counts  #: spikes per circuit since this kernel's last run
        #: the chip's spike counters (shared by its kernels; without: counting ``spike_counts``)
        self.counters = counters if counters is not None else RateCounters(
            np.asarray(snapshot.spike_count, np.int64) - np.asarray(spike_counts, np.int64))
        #: hardware ns since this kernel's last run (since the experiment's start for its first)
        self.elapsed_ns = time_ns - (0 if since_ns is None else since_ns)
        self.synapses = layout.synapses  #: projection -> (hemisphere, row, column) of its synapses here
        self.placement = layout.placement  #: population -> neuron circuits here
        self.writes: list[Write] = []
        self.records: list[tuple[str, Any]] = []
        self.reset_correlation = False
        self._t_ticks = time_ns // NS_PER_TICK

    @functools.cached_property
    def projections(self) -> list[SynapseView]:
        """Views of the kernel's projections, in the rule's order (made when first asked)."""
        return [self._synapse_view(n) for n in self._kernel.projections]

    @functools.cached_property
    def populations(self) -> list[NeuronView]:
        """Views of the kernel's populations, in the rule's order (made when first asked)."""
        return [self._neuron_view(n) for n in self._kernel.populations]

    def _synapse_view(self, name: str) -> SynapseView:
        empty = np.zeros(0, np.int64)
        h, r, c = self._layout.synapses.get(name, (empty, empty, empty))
        conn = self._layout.connections.get(name)
        conn = np.arange(len(h)) if conn is None else conn
        flat = self._layout.flats.get(name)
        if flat is None or len(flat) != len(h):
            flat = self._layout.flats[name] = flat_index(h, r, c)
        return SynapseView(self, name, h, r, c, conn, flat)

    def _neuron_view(self, name: str) -> NeuronView:
        circ = self._layout.placement.get(name)
        circ = np.zeros(0, np.int64) if circ is None else circ
        indices = self._layout.neuron_indices.get(name)
        return NeuronView(self, name, circ, np.arange(len(circ)) if indices is None else indices)

    def _sensors(self) -> ChipSnapshot:
        """The snapshot, to read the correlation sensors from: an error if the chip does not run them."""
        if not self._snap.sensors_on:
            raise PlasticityError(
                f"plasticity rule {self._kernel.name!r} at {self.time_us:.3f} µs (chip {self.chip_id}) read the "
                f"correlation sensors, which run only for rules that read them, and its code was not seen to "
                f"(bss2emu.protocol.sensor_use): declare it on the kernel, reads_correlation = True (a class "
                f"attribute of a PyNN rule or the kernel object, an attribute of a kernel function), or record "
                f"them (recordings.correlation = True)")
        return self._snap

    def _fail(self, what: str, value, limit: str) -> PlasticityError:
        return PlasticityError(f"plasticity rule {self._kernel.name!r} at {self.time_us:.3f} µs (chip "
                               f"{self.chip_id}) wrote {what} {value!r}: {limit}")

    @property
    def spike_rates_hz(self) -> np.ndarray:
        """Firing rate per circuit since this kernel's last run (spikes per hardware second;
        0 when no time passed)."""
        if self.elapsed_ns <= 0:
            return np.zeros(len(self.spike_counts))
        return np.asarray(self.spike_counts, np.float64) * (1e9 / self.elapsed_ns)

    def rate_counters(self) -> np.ndarray:
        """Spikes per circuit since the chip's counter was last reset (by any kernel)."""
        return self.counters.read(self._snap.spike_count)

    def reset_rate_counters(self, circuits: np.ndarray) -> None:
        """Reset the chip's spike counters of ``circuits``, for this and every later kernel."""
        self.counters.reset(self._snap.spike_count, np.asarray(circuits, np.int64))

    def membranes(self) -> np.ndarray:
        """8-bit CADC codes of all 512 membranes."""
        return self._snap.membranes

    def correlation(self, reset: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """8-bit (causal, acausal) sensor codes ``[hemisphere, row, column]``; reset after read."""
        self.reset_correlation |= reset
        return self._sensors().correlation_codes()

    def weights(self) -> np.ndarray:
        """Copy of all weights ``[hemisphere, row, column]``."""
        return self._snap.weights.copy()

    def read_weights(self) -> np.ndarray:
        """All weights ``[hemisphere, row, column]`` as the chip has them (do not write them)."""
        return self._snap.weights

    def correlation_codes_into(self, causal: np.ndarray, acausal: np.ndarray) -> None:
        """8-bit codes of all sensors into ``causal`` and ``acausal`` (uint8 ``[hemisphere,
        row, column]``), without reset (``correlation(reset=False)`` without the new arrays)."""
        snap = self._sensors()
        snap._sensor_arrays()
        _codes_into(snap._causal, 1.0 / snap.corr_lsb, causal)
        _codes_into(snap._acausal, 1.0 / snap.corr_lsb, acausal)

    def set_weights(self, hemisphere, row, column, values) -> None:
        """Write 6-bit weights (integers 0..63) at the given synapses."""
        v = np.asarray(values)
        h, r, c = (np.broadcast_to(np.asarray(x, dtype=np.int64), v.shape).reshape(-1)
                   for x in (hemisphere, row, column))
        shape = (C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE)
        for name, x, n in zip(("hemisphere", "row", "column"), (h, r, c), shape):
            if x.size and (x.min() < 0 or x.max() >= n):
                raise self._fail(f"a weight at {name}", int(x[(x < 0) | (x >= n)][0]), f"{name}s are 0..{n - 1}")
        self._write_weights(h, r, c, flat_index(h, r, c), v.reshape(-1))

    def set_weights_at(self, flat, values) -> None:
        """Write 6-bit weights at flat synapse indices (``SynapseView.flat``: ``(hemisphere ·
        rows + row) · columns + column``, 0 .. 131071)."""
        flat = np.ascontiguousarray(flat, np.int64)
        if flat.size and (flat.min() < 0 or flat.max() >= self._snap.weights.size):
            bad = int(flat[(flat < 0) | (flat >= self._snap.weights.size)][0])
            raise self._fail("a weight at flat index", bad, f"flat indices are 0..{self._snap.weights.size - 1}")
        self._write_weights(None, None, None, flat, np.asarray(values).reshape(-1))

    def _write_weights(self, h, r, c, flat, v) -> None:
        """Weights ``v`` at synapses ``flat`` (1-d, checked; ``h, r, c`` the same synapses'
        coordinates, or None) as one ``WeightWrite`` of those that change something."""
        if not np.issubdtype(v.dtype, np.integer):
            bad = v[~((v >= 0) & (v <= C.WEIGHT_MAX) & (v == np.round(v)))]
            raise self._weight_error(bad.flat[0].item() if bad.size else v.dtype)
        v = np.ascontiguousarray(v, np.int64)
        keep = self._snap.weight_changes(np.ascontiguousarray(flat, np.int64), v)
        if len(keep) and keep[0] < 0:
            raise self._weight_error(v[-1 - keep[0]].item())
        if not len(keep):
            return
        if h is None:
            self.writes.append(WeightWrite(self._t_ticks, *_coordinates(flat[keep]), v[keep]))
        elif len(keep) == len(v):
            self.writes.append(WeightWrite(self._t_ticks, h, r, c, v))
        else:
            self.writes.append(WeightWrite(self._t_ticks, h[keep], r[keep], c[keep], v[keep]))

    def _weight_error(self, shown) -> PlasticityError:
        return self._fail("weight", shown, f"weights are integers 0..{C.WEIGHT_MAX}; write "
                                           f"np.clip(np.rint(w), 0, {C.WEIGHT_MAX}).astype(int)")

    def set_synapses_enabled(self, hemisphere, row, column, enabled) -> None:
        """Connect/disconnect synapses (topology): their address matches their source or not."""
        e = np.asarray(enabled, bool)
        h, r, c = (np.broadcast_to(np.asarray(x, dtype=np.int64), e.shape).ravel() for x in (hemisphere, row, column))
        self.writes.append(SynapseEnableWrite(self._t_ticks, h, r, c, e.ravel()))

    def set_neuron_parameter(self, name: str, neurons, value: int) -> None:
        """Write one neuron parameter (hardware value) of the given circuits."""
        if name not in NEURON_PARAMETER_INDEX:
            raise PlasticityError(f"plasticity rule {self._kernel.name!r}: unknown neuron parameter {name!r}; known "
                                  f"are {sorted(NEURON_PARAMETER_INDEX)}")
        top = NEURON_PARAMETERS[NEURON_PARAMETER_INDEX[name]].maximum
        if int(value) != value or not 0 <= value <= top:
            raise self._fail(name, value.item() if hasattr(value, "item") else value,
                             f"range 0..{top} (integers); clip it")
        self.writes.append(NeuronParameterWrite(self._t_ticks, name, np.asarray(neurons, np.int64), int(value)))

    def set_background_rate(self, source: str, rate: int) -> None:
        """Set the 8-bit rate (Poisson: p = rate/256 per period) of a background source's
        generator on this chip."""
        if source not in self._layout.background:
            raise PlasticityError(f"plasticity rule {self._kernel.name!r}: background source {source!r} has no "
                                  f"generator on chip {self.chip_id}; known are {sorted(self._layout.background)}")
        if int(rate) != rate or not 0 <= rate <= 0xFF:
            raise self._fail(f"background rate of {source!r}", rate, "range 0..255 (integers)")
        self.writes.append(BackgroundRateWrite(self._t_ticks, int(self._layout.background[source]), int(rate)))

    def record(self, key: str, value: float) -> None:
        """Keep a number in the results' ``ppu`` table."""
        self.records.append((str(key), float(value)))

    def record_observable(self, name: str, value) -> None:
        """Append one sample of observable ``name`` at this time: a number or an array (a
        row of the results' ``ppu_observables`` table: time, chip, rule, name, values)."""
        try:
            arr = np.array(value)  # as recorded (dtype, shape); a float row in the table
        except ValueError:  # parts of different shapes (one per view): kept apart
            arr = np.empty(len(value), object)
            arr[:] = [np.asarray(v) for v in value]
        self.records.append((str(name), arr))

    @property
    def observables(self) -> list[tuple[str, np.ndarray]]:
        """``(name, value)`` of every ``record_observable`` of this invocation, in order."""
        return [(k, v) for k, v in self.records if isinstance(v, np.ndarray)]


def flat_index(hemisphere, row, column) -> np.ndarray:
    """Synapses' indices in the flattened ``[hemisphere, row, column]`` arrays (int64)."""
    h, r, c = (np.asarray(x, np.int64) for x in (hemisphere, row, column))
    return (h * C.ROWS_PER_HEMISPHERE + r) * C.COLUMNS_PER_HEMISPHERE + c


def sweep_order(flat: np.ndarray) -> np.ndarray:
    """The order that puts synapses (flat indices) as the PPU sweeps them, row by row:
    ``np.argsort(flat, kind="stable")``, by counting when no synapse repeats (several times
    faster on a chip's ~10⁵ synapses).

    >>> sweep_order(np.array([70000, 3, 256, 3])).tolist()
    [1, 3, 2, 0]
    """
    flat = np.asarray(flat, np.int64)
    n_all = C.HEMISPHERES * C.ROWS_PER_HEMISPHERE * C.COLUMNS_PER_HEMISPHERE
    if len(flat) and 0 <= flat.min() and flat.max() < n_all:
        slot = np.full(n_all, -1, np.int64)
        slot[flat] = np.arange(len(flat))
        order = slot[slot >= 0]
        if len(order) == len(flat):  # (no repeats: else some were overwritten)
            return order
    return np.argsort(flat, kind="stable")


_WEIGHT_MAX = C.WEIGHT_MAX
_ROWS, _COLUMNS = C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE


@njit(cache=True)
def _coordinates(flat):
    """``(hemisphere, row, column)`` of flat synapse indices (numpy's integer division is
    several times slower than this compiled one by constants)."""
    n = flat.shape[0]
    h = np.empty(n, np.int64)
    r = np.empty(n, np.int64)
    c = np.empty(n, np.int64)
    for i in range(n):
        h[i] = flat[i] // (_ROWS * _COLUMNS)
        r[i] = flat[i] // _COLUMNS % _ROWS
        c[i] = flat[i] % _COLUMNS
    return h, r, c


@njit(inline="always")
def _code8(x):
    """``clip(rint(x), 0, 255)`` (rint: halves to even; one instruction, no libm call), branch-free."""
    return np.uint8(min(max(np.rint(x), 0.0), 255.0))


@njit(cache=True)
def _codes_at(causal, acausal, flat, per_lsb, reset):
    """8-bit codes ``clip(rint(x · per_lsb), 0, 255)`` of both sensors (``[hemisphere, row,
    column]`` arrays, views of any layout) at the flat indices ``flat`` (the CADC's read of
    the correlation sensors; numpy twin: ``correlation_codes(None)``), zeroing them if ``reset``."""
    n = flat.shape[0]
    out_c = np.empty(n, np.uint8)
    out_a = np.empty(n, np.uint8)
    for i in range(n):
        j = flat[i]
        h = j // (_ROWS * _COLUMNS)
        r = j // _COLUMNS % _ROWS
        c = j % _COLUMNS
        out_c[i] = _code8(causal[h, r, c] * per_lsb)
        out_a[i] = _code8(acausal[h, r, c] * per_lsb)
        if reset:
            causal[h, r, c] = 0.0
            acausal[h, r, c] = 0.0
    return out_c, out_a


@njit(cache=True)
def _codes_into(values, per_lsb, out):
    """``out[h, r, c] = clip(rint(values[h, r, c] · per_lsb), 0, 255)`` (3-d, any layout)."""
    for h in range(values.shape[0]):
        for r in range(values.shape[1]):
            for c in range(values.shape[2]):
                out[h, r, c] = _code8(values[h, r, c] * per_lsb)


@njit(cache=True)
def _weight_changes(weights, written, flat, values):
    """Positions i where ``values[i]`` changes the weight at ``flat[i]`` or the synapse was
    written before (``written``, updated); ``[-1 - i]`` for the first value outside 0..63."""
    n = flat.shape[0]
    for i in range(n):
        if values[i] < 0 or values[i] > _WEIGHT_MAX:
            out = np.empty(1, np.int64)
            out[0] = -1 - i
            return out
    keep = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        j = flat[i]
        if written[j] or weights[j] != values[i]:
            keep[k] = i
            k += 1
            written[j] = True
    return keep[:k]


def _own_copy(function):
    """A kernel object of this PPU alone (plain functions are shared: they keep no state)."""
    try:
        return copy.deepcopy(function)
    except Exception:  # an object that cannot be copied (holds a lock, a compiled library): shared
        return function


class CorrelationTableRule:
    """Pair STDP on every synapse of the rule's projections, as one view:
    ``w ← clip(w + dw[causal, acausal], 0, 63)`` from the 8-bit sensor codes, the sensors
    reset if ``reset`` (``SynapseView.update_weights_by_correlation``; ``dw`` an integer
    table ``[256, 256]``). A kernel object: ``PlasticityRule(kernel=CorrelationTableRule(dw))``
    in an experiment. When it is its chip's only kernel and the chip, its FPGA and its PPU
    share a host (every placement but per-component), the host runs it inside its compiled
    window loop (``Ppu.fused``, ``ppu_passes.stdp_sweep``) — the same writes, bit for bit,
    without Python or a window cut per invocation."""

    reads_correlation = True

    def __init__(self, dw, reset: bool = True) -> None:
        table = np.asarray(dw)
        if table.shape != (CODES, CODES) or not np.issubdtype(table.dtype, np.integer):
            raise PlasticityError(
                f"CorrelationTableRule takes a table of weight changes, integers indexed [causal code, acausal "
                f"code] of shape ({CODES}, {CODES}); got {table.dtype} of shape {table.shape}")
        self.dw = np.ascontiguousarray(table, np.int64)
        self.reset = bool(reset)

    def __call__(self, ctx: "PpuContext") -> None:
        if not hasattr(self, "_all"):  # the projections as one view, row by row (this chip's copy keeps it)
            views = ctx.projections
            if views:
                first, *rest = views
                merged = first.merged(rest, [v.connection for v in views], "all")
                order = sweep_order(merged.flat)
                self._all = tuple(a[order] for a in (merged.hemisphere, merged.row, merged.column,
                                                     merged.connection, merged.flat))
            else:
                self._all = None
        if self._all is not None:
            SynapseView(ctx, "all", *self._all).update_weights_by_correlation(self.dw, self.reset)

    def __getstate__(self) -> dict:  # (the cached view holds no state: a copy builds its own)
        return {k: v for k, v in self.__dict__.items() if k != "_all"}


def runs_compiled(functions: list) -> bool:
    """Whether a host runs a PPU with these kernel functions in its compiled loop: the only
    kernel is a ``CorrelationTableRule`` (with several, their order and their writes' "next
    window" would have to be kept between them)."""
    return len(functions) == 1 and isinstance(functions[0], CorrelationTableRule)


class Ppu:
    """Both PPUs of a chip, sharing one timer list (kernels address either hemisphere).

    ``fused``: the index of a kernel that the chip's host runs in its compiled window loop
    (``fusable``; the host then advances its timer); the others run here."""

    def __init__(self, kernels: list[PpuKernel], chip_id: int = 0) -> None:
        self.kernels = kernels
        self.chip_id = chip_id
        self.fused: int | None = None
        self.functions = [_own_copy(k.function) for k in kernels]
        self.next_ns = [k.start_ns for k in kernels]
        self.runs = [0] * len(kernels)
        self._last_counts = [None] * len(kernels)
        self._last_ns: list[int | None] = [None] * len(kernels)
        self.counters: RateCounters | None = None  # the chip's spike counters (made at the first run)
        self.records: list[tuple[int, int, str, str, Any]] = []

    def _active(self, i: int) -> bool:
        n = self.kernels[i].num_periods
        return i != self.fused and (n is None or self.runs[i] < n)

    def fusable(self) -> int | None:
        """The kernel a host may run in its compiled loop (``runs_compiled``)."""
        return 0 if runs_compiled(self.functions) else None

    def fused_view(self, layout: ChipLayout) -> tuple[np.ndarray, np.ndarray]:
        """The fused kernel's synapses: their flat indices, in the order its Python run sweeps
        them, and as ``ppu_passes.view_bits`` (kept with ``layout``: a cached mapping's serves
        every run)."""
        k = self.kernels[self.fused]
        key = tuple(k.projections)
        got = layout.fused.get(key)
        if got is None:
            parts = [flat_index(*layout.synapses[p]) if p not in layout.flats else layout.flats[p]
                     for p in k.projections if p in layout.synapses]
            flat = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
            flat = np.ascontiguousarray(flat[sweep_order(flat)])
            got = layout.fused[key] = (flat, view_bits(flat, C.HEMISPHERES * C.ROWS_PER_HEMISPHERE *
                                                          C.COLUMNS_PER_HEMISPHERE))
            flat.flags.writeable = got[1].flags.writeable = False
        return got

    def fused_ran(self, runs: int, next_ns: int) -> None:
        """The host ran the fused kernel ``runs`` times; its next run is at ``next_ns``."""
        i = self.fused
        if runs:
            self.runs[i] += runs
            self._last_ns[i] = next_ns - self.kernels[i].period_ns
        self.next_ns[i] = next_ns

    def next_due_ns(self) -> int | None:
        due = [t for i, t in enumerate(self.next_ns) if self._active(i)]
        return min(due) if due else None

    def run_due(self, t_ns: int, snapshot: ChipSnapshot, synapses, placement=None) -> tuple[list[Write], bool]:
        """Run every kernel due at or before ``t_ns``; return their writes and whether the
        correlation sensors are to be reset. ``synapses``: a ``ChipLayout`` (or the old
        projection → synapses dict, with ``placement``)."""
        writes: list[Write] = []
        reset = False
        for i, k in enumerate(self.kernels):
            if self.next_ns[i] > t_ns or not self._active(i):
                continue
            last = self._last_counts[i]
            counts = snapshot.spike_count - (last if last is not None else 0)
            self._last_counts[i] = snapshot.spike_count.copy()
            if self.counters is None:
                self.counters = RateCounters(np.zeros_like(snapshot.spike_count))
            ctx = PpuContext(k, snapshot, t_ns, counts, synapses, placement, self.chip_id, self._last_ns[i],
                             self.counters)
            self._last_ns[i] = t_ns
            try:
                self.functions[i](ctx)
            except PlasticityError as err:
                err.time_us = t_ns / 1e3
                raise
            except Exception as err:
                failure = PlasticityError(f"plasticity rule {k.name!r} failed at {t_ns / 1e3:.3f} µs (chip "
                                          f"{self.chip_id}): {type(err).__name__}: {err}")
                failure.time_us = t_ns / 1e3
                raise failure from err
            writes.extend(ctx.writes)
            reset |= ctx.reset_correlation
            self.records.extend((t_ns // NS_PER_TICK, self.chip_id, k.name, key, val) for key, val in ctx.records)
            self.next_ns[i] += k.period_ns
            self.runs[i] += 1
        return writes, reset

    def due(self, t_ns: int) -> bool:
        """Is any kernel due at or before ``t_ns``?"""
        return any(n <= t_ns and self._active(i) for i, n in enumerate(self.next_ns))

    def get_state(self) -> dict:
        return {"next_ns": list(self.next_ns), "runs": list(self.runs),
                "last": [None if c is None else c.copy() for c in self._last_counts],
                "last_ns": list(self._last_ns),
                "counters": None if self.counters is None else self.counters.base.copy(),
                "records": list(self.records), "functions": [_own_copy(f) for f in self.functions]}

    def set_state(self, state: dict) -> None:
        self.next_ns = list(state["next_ns"])
        self.runs = list(state.get("runs", [0] * len(self.kernels)))
        self._last_counts = [None if c is None else c.copy() for c in state["last"]]
        self._last_ns = list(state.get("last_ns", [None] * len(self.kernels)))
        base = state.get("counters")
        self.counters = None if base is None else RateCounters(base)
        self.records = list(state["records"])
        if "functions" in state:
            self.functions = [_own_copy(f) for f in state["functions"]]


def flat_values(value: np.ndarray) -> list[float]:
    """A recorded observable as the float row of the ``ppu_observables`` table (parts of
    different shapes one after another)."""
    if value.dtype == object:
        return [float(x) for part in value for x in np.asarray(part, np.float64).ravel()]
    return np.asarray(value, np.float64).ravel().tolist()
