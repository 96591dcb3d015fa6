"""``Bench``: one emulated chip wired up for calibration measurements.

Calibration may only observe the chip the way the real hardware does: through the CADC
(8-bit membrane codes of all 512 circuits, at most 1.85 MSample/s), the MADC (10 bit, one
circuit) and spike events with their FPGA time stamps. The bench gives exactly these —
``Recording`` holds codes and time stamps, never analog state — and drives the chip only
through its public interface: neuron parameter writes, synapse weight writes and input
events on an FPGA crossbar input.

Wiring (set once, like a calibration's base configuration on hardware):

* every neuron sends its spikes to the FPGA with the label ``circuit | no-target bit``;
* FPGA crossbar input 8 reaches all 8 PADI buses, every synapse driver listens to every
  row select (compare mask 31), so one input event reaches every enabled row;
* per hemisphere, rows ``0 .. STIM_ROWS-1`` are excitatory with synapse address
  ``ADDRESS_EXC``, rows ``STIM_ROWS .. 2*STIM_ROWS-1`` inhibitory with ``ADDRESS_INH``, all
  columns; their weight is ``stim_weight`` (``set_stim_weight``). So an event labelled
  ``LABEL_EXC`` gives every circuit ``STIM_ROWS × weight`` weight LSBs of excitatory input.

The integration step is 80 ns, a multiple of the 8 ns FPGA tick. Physical parameters do not
depend on the step: linear parts are integrated exactly, and a spike's reset and the end of
its refractory time act at their own times.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..chip_actor.chip import Chip
from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETER_INDEX, NEURON_PARAMETERS, ROW_EXCITATORY, ROW_INHIBITORY, ChipConfig
from ..protocol.playback import NeuronParameterWrite
from ..units import NS_PER_TICK

N = C.NEURONS_PER_CHIP
BENCH_DT_NS = 80
STIM_ROWS = 64
ADDRESS_EXC, ADDRESS_INH = 1, 2
STIM_INPUT = C.CROSSBAR_INPUT_FPGA
LABEL_EXC = C.make_label(0, 0, ADDRESS_EXC)
LABEL_INH = C.make_label(0, 0, ADDRESS_INH)
CADC_MIN_PERIOD_NS = 560  # 1.85 MSample/s at most, on the 80 ns step grid
ADC_FULL_SCALE_MV = 1200.0
_MAX = {p.name: p.maximum for p in NEURON_PARAMETERS}
_ALL = np.arange(N)


def cadc_mv(codes) -> np.ndarray:
    """8-bit CADC codes → the centre of their voltage bin, mV."""
    return np.asarray(codes, dtype=np.float64) * (ADC_FULL_SCALE_MV / 255.0)


def madc_mv(codes) -> np.ndarray:
    """10-bit MADC codes → the centre of their voltage bin, mV."""
    return np.asarray(codes, dtype=np.float64) * (ADC_FULL_SCALE_MV / 1023.0)


def cadc_boundary_mv(code) -> np.ndarray:
    """The voltage above which the CADC reads at least ``code`` (mV)."""
    return (np.asarray(code, dtype=np.float64) - 0.5) * (ADC_FULL_SCALE_MV / 255.0)


class Recording(NamedTuple):
    """What one bench run observed. Times are hardware µs from the start of the run."""

    spike_t_us: np.ndarray  # time stamps (8 ns resolution), sorted
    spike_circuit: np.ndarray  # decoded from the spike label
    cadc_t_us: np.ndarray  # [samples]
    cadc: np.ndarray  # [samples, 512] 8-bit codes
    madc_t_us: np.ndarray
    madc: np.ndarray  # 10-bit codes of the MADC circuit

    def spike_counts(self) -> np.ndarray:
        return np.bincount(self.spike_circuit, minlength=N)


class Bench:
    """An emulated chip (``serial``, mismatch unless ``ideal``) set up for calibration."""

    def __init__(self, serial: int, ideal: bool = False, stim_weight: int = 63) -> None:
        cfg = ChipConfig()
        cfg.neurons.values[:, NEURON_PARAMETER_INDEX["enable_fire"]] = 0
        cfg.neurons.address_out[:] = _ALL | C.LABEL_NO_TARGET_BIT
        for i in range(C.NEURON_EVENT_OUTPUTS):
            cfg.crossbar.enable[i, C.CROSSBAR_OUTPUT_FPGA + i // 2] = 1
        cfg.crossbar.enable[STIM_INPUT, : C.CROSSBAR_OUTPUT_FPGA] = 1
        cfg.drivers.row_select_mask[:] = 31
        syn = cfg.synapses
        syn.row_modes[:, :STIM_ROWS] = ROW_EXCITATORY
        syn.row_modes[:, STIM_ROWS: 2 * STIM_ROWS] = ROW_INHIBITORY
        syn.addresses[:, :STIM_ROWS] = ADDRESS_EXC
        syn.addresses[:, STIM_ROWS: 2 * STIM_ROWS] = ADDRESS_INH
        syn.weights[:, : 2 * STIM_ROWS] = stim_weight
        self.chip = Chip(cfg, serial=serial, ideal=ideal, dt_ns=BENCH_DT_NS)
        self.stim_weight = np.full(N, stim_weight, dtype=np.int64)
        self.writes = 0  # parameter write batches, for the record

    @property
    def now_us(self) -> float:
        return self.chip.time_ns / 1e3

    def values(self, name: str) -> np.ndarray:
        """The DAC (or digital) value of one parameter now, for all circuits (a copy)."""
        return self.chip.config.neurons.column(name).copy()

    def write(self, **values) -> None:
        """Write neuron parameters (scalar or one value per circuit) in one batch.

        Values are rounded and must lie within their hardware range."""
        writes = []
        for name, v in values.items():
            if name not in _MAX:
                raise ConfigError(f"unknown neuron parameter {name!r}")
            arr = np.broadcast_to(np.rint(np.asarray(v, dtype=np.float64)).astype(np.int64), (N,))
            if arr.min() < 0 or arr.max() > _MAX[name]:
                raise ConfigError(f"calibration wrote {name} outside 0..{_MAX[name]}: {arr.min()}..{arr.max()}")
            writes.append(NeuronParameterWrite(0, name, _ALL, arr.copy()))
        if writes:
            self.chip.apply_writes(writes)
            self.writes += 1

    def set_stim_weight(self, weight) -> None:
        """Weight (0..63, scalar or per circuit) of every stimulus synapse."""
        w = np.broadcast_to(np.asarray(weight, dtype=np.int64), (N,))
        if (w == self.stim_weight).all():
            return
        cols = _ALL % C.COLUMNS_PER_HEMISPHERE
        hem = _ALL // C.COLUMNS_PER_HEMISPHERE
        rows = np.arange(2 * STIM_ROWS)
        h, r = np.broadcast_arrays(hem[None, :], rows[:, None])
        c = np.broadcast_to(cols[None, :], h.shape)
        self.chip.set_weights(h.ravel(), r.ravel(), c.ravel(), np.broadcast_to(w[None, :], h.shape).ravel())
        self.stim_weight = w.copy()

    def codes(self) -> np.ndarray:
        """CADC codes of all membranes now."""
        return self.chip.membrane_codes().astype(np.int64)

    def run(self, duration_us: float, events_us=(), labels=(), cadc_period_ns: int = 0,
            madc_circuit: int = -1) -> Recording:
        """Run ``duration_us``; input events at ``events_us`` (relative to now) with ``labels``
        on the stimulus input; CADC samples every ``cadc_period_ns`` (0: none)."""
        if cadc_period_ns and cadc_period_ns < CADC_MIN_PERIOD_NS:
            raise ConfigError(f"CADC period {cadc_period_ns} ns is faster than the hardware allows "
                              f"(>= {CADC_MIN_PERIOD_NS} ns)")
        chip, h = self.chip, BENCH_DT_NS
        steps = max(1, int(np.ceil(duration_us * 1e3 / h)))
        k0 = chip.step
        t0 = k0 * h
        ev_t = t0 + np.rint(np.asarray(events_us, dtype=np.float64) * 1e3).astype(np.int64)
        order = np.argsort(ev_t, kind="stable")
        ev_t = ev_t[order]
        ev_l = np.broadcast_to(np.asarray(labels, dtype=np.int64), ev_t.shape)[order]
        ro = chip.config.readout
        ro.cadc_period_ns, ro.madc_neuron = int(cadc_period_ns), int(madc_circuit)
        try:
            out = chip.run_window(k0, steps, ev_t, np.full(len(ev_t), STIM_INPUT), ev_l)
        finally:
            ro.cadc_period_ns, ro.madc_neuron = 0, -1
        ticks = out.spikes.column("time_ticks").to_numpy()
        t_ns = ticks * NS_PER_TICK
        circuits = out.spikes.column("label").to_numpy() & (C.LABEL_NO_TARGET_BIT - 1)
        n_cadc = out.cadc.num_rows // N
        cadc = out.cadc.column("value").to_numpy().astype(np.int64).reshape(n_cadc, N)
        cadc_t = out.cadc.column("time_ticks").to_numpy()[::N] * NS_PER_TICK if n_cadc else np.zeros(0)
        madc_t = out.madc.column("time_ticks").to_numpy() * NS_PER_TICK
        madc = out.madc.column("value").to_numpy().astype(np.int64)
        return Recording((t_ns - t0) / 1e3, circuits.astype(np.int64), (np.asarray(cadc_t) - t0) / 1e3, cadc,
                         (madc_t - t0) / 1e3, madc)
