"""``BatchRunner``: one mapped, configured network run for many stimuli in one compiled call.

A batch (hxtorch's: one network, one input per entry, every entry from time 0) is what
``run_each`` runs entry by entry. Where the chips of the system do not talk to each other
(no FPGA route in use), no PPU kernel runs and nothing is written during the run, the
entries are independent copies of the same chips: ``run`` gives every entry its own copy
of the chips' evolving state (neurons, STP, background generators, correlation sensors
when they are on), all at the state of time 0, and its own playback, and
``host_kernel.run_windows`` integrates them as the rows of one host — the integration of a
row is the integration of that chip alone, so each entry's spikes and traces are bit for
bit those of ``run_each`` (``tests/cluster/test_batch.py``). The configuration (mapping,
calibrated parameters, synapse tables) is built once; ``set_weights`` changes weights
between batches in place (the synapse table a fresh chip would build).

What ``run`` returns is dense: the spikes of all entries as one table (an ``entry`` column
beside ``run``'s), the CADC codes as ``(entries, samples, 512)`` per chip, the MADC samples
per entry.

``host_kernel.run_windows`` is called with the arguments ``ChipHost.run_windows`` gives it
(no routing): a change of its signature there must be mirrored here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ..protocol import coordinates as C
from ..protocol import experiment as E
from ..protocol import schemas
from ..protocol.system import SystemSpec, as_system
from ..routing.interconnect import Interconnect
from ..routing.mapping import map_experiment
from ..units import NS_PER_TICK, us_to_ticks
from . import host_kernel as HK
from .coordinator import chip_setups, cut_steps, window_bounds
from .host import _READ_ONLY_FIELDS, ChipHost
from .spike_table import annotate_spikes

_READOUT_BYTES_MAX = 64 << 20  # CADC samples buffered per compiled call, at most (the batch is split)
_SHARED = {"play_t_ns", "play_label", "psp_tab", "psp_ok", "psp_class"}  # per entry / a cache all may fill
# touched only with correlation sensors on
_CORRELATION = {"t_row", "t_own", "own_count", "t_post", "causal", "acausal", "sensed_bits"}
_FIELD = {name: f for f, (name, _, _) in enumerate(HK.FIELDS)}

Stimulus = tuple[np.ndarray, np.ndarray, np.ndarray]
"""One source's spikes in a batch: ``(entry, unit, time_us)``, equally long 1-d arrays."""


@dataclass
class BatchOutput:
    """What a batch recorded: ``spikes`` as ``run`` annotates them plus an ``entry`` column;
    ``cadc_ticks`` the CADC's sample times and ``cadc[chip]`` its codes ``(entries,
    samples, 512)``; ``madc_*`` per entry (``madc_ticks[e]``, ``madc_value[e]``: 10-bit
    codes or None, ``madc_physical[e]``, ``madc_neuron[e]``: each sample's circuit — with two
    MADC channels they alternate) of the MADC on ``madc_chip``."""

    spikes: pa.Table
    cadc_ticks: np.ndarray
    cadc: dict[int, np.ndarray]
    madc_chip: Optional[int] = None
    madc_ticks: Optional[list] = None
    madc_value: Optional[list] = None
    madc_physical: Optional[list] = None
    madc_neuron: Optional[list] = None

    @classmethod
    def from_results(cls, results: list) -> "BatchOutput":
        """The same record of a batch run entry by entry (``run_each``'s ``Results``)."""
        tables = [r.spikes.append_column("entry", pa.array(np.full(r.spikes.num_rows, k, np.int64)))
                  for k, r in enumerate(results)]
        spikes = pa.concat_tables(tables).unify_dictionaries().combine_chunks()
        cadc: dict[int, list] = {}
        ticks = np.zeros(0, np.int64)
        for r in results:
            chip = r.cadc.column("chip").to_numpy()
            values = r.cadc.column("value").to_numpy()
            for c in np.unique(chip).tolist():
                sel = chip == c
                cadc.setdefault(c, []).append(values[sel].reshape(-1, C.NEURONS_PER_CHIP).astype(np.int64))
                ticks = r.cadc.column("time_ticks").to_numpy()[sel][::C.NEURONS_PER_CHIP]
        out = cls(spikes, ticks, {c: np.stack(v) for c, v in cadc.items()})
        if any(r.madc.num_rows for r in results):
            out.madc_chip = int(next(r for r in results if r.madc.num_rows).madc.column("chip")[0].as_py())
            out.madc_ticks = [r.madc.column("time_ticks").to_numpy() for r in results]
            out.madc_value = [r.madc.column("value").to_numpy(zero_copy_only=False) for r in results]
            out.madc_physical = [r.madc.column("physical").to_numpy() for r in results]
            out.madc_neuron = [r.madc.column("neuron").to_numpy() for r in results]
        return out


def batch_supported(exp: E.Experiment, system: SystemSpec | str | None = None,
                    partitioner: str = "metis") -> bool:
    """Whether ``exp`` runs as a batch of independent chips: no FPGA route in use (chips that
    exchange spikes would mix the entries), no plasticity rule, no timed write."""
    if exp.plasticity or exp.writes:
        return False
    mapping = map_experiment(exp, as_system(system), partitioner=partitioner)
    return len(Interconnect(mapping.system, mapping.routes).routes) == 0


class BatchRunner:
    """``exp``'s network on ``system``, ready to run batches of stimuli (see the module).

    ``exp`` gives everything but the stimulus of the sources named in a ``run``: their own
    spike times are ignored; sources not named play in every entry as in ``exp``."""

    def __init__(self, exp: E.Experiment, system: SystemSpec | str | None = None,
                 partitioner: str = "metis", max_window_steps: int = 2000) -> None:
        spec = as_system(system)
        if int(max_window_steps) < 1:
            raise ConfigError(f"max_window_steps={max_window_steps} must be >= 1")
        if not batch_supported(exp, spec, partitioner):
            raise ConfigError(f"experiment {exp.name!r}: a batch of independent chips needs a network without "
                              f"inter-chip routes, plasticity rules and timed writes; run it with bss2emu.run_each")
        self.exp = exp
        self.mapping = map_experiment(exp, spec, partitioner=partitioner)
        self.setups = chip_setups(exp, self.mapping)
        self.host = ChipHost(self.setups)
        self.total = int(np.ceil(exp.runtime_us * 1e3 / exp.dt_ns))
        w_ns = self.mapping.window_ns
        steps = max_window_steps if w_ns is None else min(max_window_steps, w_ns // exp.dt_ns)
        self.bounds = window_bounds(self.total, steps, cut_steps(exp, self.total))
        self._buffers: dict = {}

    # -- configuration between batches ----------------------------------------------------
    def set_weights(self, projection: str, weights: np.ndarray) -> None:
        """Set the 6-bit weights of ``projection``'s connections (in its connector's order)."""
        chip, h, r, c = self.mapping.synapse[projection]
        w = np.asarray(weights, np.int64)
        if w.shape != chip.shape:
            raise ConfigError(f"projection {projection!r} has {len(chip)} connections, got {w.shape} weights; give "
                              f"one per connection")
        for u in self.host.units.values():
            sel = chip == u.chip.chip_id
            if sel.any():
                u.chip.set_weights(h[sel], r[sel], c[sel], w[sel])

    # -- a batch ----------------------------------------------------------------------------
    def _playback(self, stimuli: dict[str, Stimulus], n: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per chip of the host: every entry's playback ``(times ns, labels, entry starts)``,
        as ``routing.stimulus.build_playback`` builds it for an entry (the same events,
        sorted by (time, label))."""
        out = []
        for u in self.host.units.values():
            rt = self.mapping.chips[u.chip.chip_id]
            base = u.fpga.program  # the sources no stimulus replaces (those have no spikes in exp)
            entry, ticks, labels = [], [], []
            by_source: dict[str, list] = {}
            for key, label in rt.labels.items():
                if key[0] == "src" and key[1] in stimuli:
                    by_source.setdefault(key[1], []).append((key[2], key[3], label))
            for name, rows in by_source.items():
                e, unit, t_us = (np.asarray(a) for a in stimuli[name])
                inside = t_us < self.exp.runtime_us  # as source_trains_us keeps them
                e, unit, t = e[inside].astype(np.int64), unit[inside].astype(np.int64), us_to_ticks(t_us[inside])
                r_unit, r_delay, r_label = np.array(rows, np.int64).T
                order = np.argsort(r_unit, kind="stable")
                r_unit, r_delay, r_label = r_unit[order], r_delay[order], r_label[order]
                # each spike once per (delay, label) its unit has on this chip
                lo = np.searchsorted(r_unit, unit, side="left")
                count = np.searchsorted(r_unit, unit, side="right") - lo
                rep = np.repeat(np.arange(len(unit)), count)
                row = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
                entry.append(e[rep])
                ticks.append(t[rep] + r_delay[row])
                labels.append(r_label[row])
            entry.append(np.repeat(np.arange(n, dtype=np.int64), len(base.spike_ticks)))
            ticks.append(np.tile(base.spike_ticks, n))
            labels.append(np.tile(base.spike_labels, n))
            e, t, lab = np.concatenate(entry), np.concatenate(ticks), np.concatenate(labels)
            if len(e) and (e.min() < 0 or e.max() >= n):
                raise ConfigError(f"stimulus entry {int(e.min() if e.min() < 0 else e.max())} is outside the batch "
                                  f"of {n} entries")
            order = np.lexsort((lab, t, e))
            starts = np.searchsorted(e[order], np.arange(n + 1))
            out.append((t[order] * NS_PER_TICK, lab[order], starts))
        return out

    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """A scratch array kept between batches (no page faults for the same sizes)."""
        a = self._buffers.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._buffers[name] = np.empty(shape, dtype)
        return a

    def run(self, stimuli: dict[str, Stimulus], entries: int) -> BatchOutput:
        """Run ``entries`` entries, each with its sources' spikes from ``stimuli``
        (``{source: (entry, unit, time_us)}``) and everything else from the experiment."""
        known = {s.name: s for s in self.exp.sources}
        for name in stimuli:
            src = known.get(name)
            if not isinstance(src, E.SpikeArraySource) or any(len(t) for t in src.spike_times_us):
                raise ConfigError(f"batch stimulus for source {name!r}: the experiment needs a spike_array source of "
                                  f"that name without spikes of its own (known: {sorted(known)})")
            _, unit, t_us = (np.asarray(a) for a in stimuli[name])
            if len(unit) and (unit.min() < 0 or unit.max() >= src.size):
                raise ConfigError(f"batch stimulus for source {name!r}: unit {int(unit.max())} is outside 0.."
                                  f"{src.size - 1}; give units of the source's size {src.size}")
            if len(t_us) and not np.all(t_us >= 0):
                raise ConfigError(f"batch stimulus for source {name!r}: spike time {float(t_us.min())} µs is negative "
                                  f"(or NaN); times start at 0")
        host = self.host
        units = list(host.units.values())
        n_chips = len(units)
        addr0, ints0, tau0, keep0 = host._chip_table()
        play = self._playback(stimuli, entries)
        corr_on = bool(ints0[:, HK.I_CORR_ON].any())
        per_entry = [name for name, _, _ in HK.FIELDS
                     if name not in _READ_ONLY_FIELDS and name not in _SHARED and (corr_on or name not in _CORRELATION)]
        h = host.dt_ns
        steps = int(self.bounds[-1] - self.bounds[0])
        madc_on = ints0[:, HK.I_MADC_NEURON] >= 0
        cap_m = steps // int(ints0[madc_on, HK.I_MADC_EVERY].min()) + 1 if madc_on.any() else 0
        periods = ints0[:, HK.I_CADC_PERIOD]
        cap_c = (steps * h) // int(periods[periods > 0].min()) + 2 if (periods > 0).any() else 0
        per_row_bytes = 8 * cap_c * C.NEURONS_PER_CHIP + 16 * cap_m + sum(
            units[0].arrays()[_FIELD[f]].nbytes for f in per_entry)
        group = max(1, min(entries, _READOUT_BYTES_MAX // max(1, per_row_bytes * n_chips)))
        spikes, cadc_ticks = [], None
        cadc = {u.chip.chip_id: np.empty((entries, 0, C.NEURONS_PER_CHIP), np.int64) for u in units}
        madc = ([], [], [], []) if madc_on.any() else None
        madc_chip = int(units[int(np.argmax(madc_on))].chip.chip_id) if madc_on.any() else None
        for g0 in range(0, entries, group):
            g1 = min(entries, g0 + group)
            rows = (g1 - g0) * n_chips
            addr = np.repeat(addr0, g1 - g0, axis=0)  # row = entry * n_chips + chip
            addr = addr.reshape(n_chips, g1 - g0, -1).transpose(1, 0, 2).reshape(rows, -1).copy()
            ints = np.tile(ints0, (g1 - g0, 1))
            tau = np.tile(tau0, g1 - g0)
            ints[:, HK.I_SYSTEM_CHIP] = np.arange(rows)  # the record's chip column: the row
            keep = [keep0]
            for c, u in enumerate(units):
                arrays = u.arrays()
                for name in per_entry:
                    a = arrays[_FIELD[name]]
                    big = self._buffer(f"{c}:{name}", (g1 - g0,) + a.shape, a.dtype)
                    big[...] = a
                    addr[c::n_chips, _FIELD[name]] = big.ctypes.data + np.arange(g1 - g0) * a.nbytes
                t_ns, lab, starts = play[c]
                s0, s1 = starts[g0], starts[g1]
                t_g, lab_g = np.ascontiguousarray(t_ns[s0:s1]), np.ascontiguousarray(lab[s0:s1])
                keep += [t_g, lab_g]
                offs = starts[g0:g1] - s0
                addr[c::n_chips, HK.A_PLAY_T] = t_g.ctypes.data + 8 * offs
                addr[c::n_chips, HK.A_PLAY_LABEL] = lab_g.ctypes.data + 8 * offs
                ints[c::n_chips, HK.I_PLAY_LEN] = np.diff(starts[g0:g1 + 1])
            madc_t = self._buffer("madc_t", (rows, cap_m), np.int64)
            madc_x = self._buffer("madc_x", (rows, cap_m), np.float64)
            cadc_t = self._buffer("cadc_t", (rows, cap_c), np.int64)
            cadc_v = self._buffer("cadc_v", (rows, cap_c, C.NEURONS_PER_CHIP), np.int64)
            n_madc, n_cadc, syn = (np.zeros(rows, np.int64) for _ in range(3))
            q_t, q_lab, q_n = np.zeros((rows, 1), np.int64), np.zeros((rows, 1), np.int64), np.zeros(rows, np.int64)
            record = [self._buffer(f"rec{i}", (max(1 << 14, 64 * rows),), dt)
                      for i, dt in enumerate(_RECORD_DTYPES)]
            status, done, n_rec, *record, _, _, _ = HK.run_windows(
                self.bounds, h, addr, ints, tau, np.zeros(rows, np.int64), q_t, q_lab, q_n,
                False, np.zeros(0, np.int64), *Interconnect.empty_tables(), np.zeros(2, np.int64),
                *Interconnect.empty_hold(), *record, 0,
                madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn, False,  # rows share arrays: serial
                *HK.no_rules(rows))
            del keep
            for i, a in enumerate(record):  # the kernel may have grown them
                self._buffers[f"rec{i}"] = a
            if status != HK.OK:  # no route, no arrivals: cannot happen
                raise ConfigError(f"batch run stopped with status {status} at window {done}")
            row = record[1][:n_rec].astype(np.int64)
            spikes.append(pa.table({
                "time_ticks": record[0][:n_rec].copy(),
                "chip": pa.array(np.array([u.chip.chip_id for u in units], np.int64)[row % n_chips]
                                 .astype(record[1].dtype)),
                "neuron": record[2][:n_rec].copy(), "label": record[3][:n_rec].copy(),
                "entry": pa.array(g0 + row // n_chips)}))
            if cap_c:
                nc = int(n_cadc[0])
                cadc_ticks = cadc_t[0, :nc] // NS_PER_TICK
                for c, u in enumerate(units):
                    part = cadc_v[c::n_chips, :nc]
                    cid = u.chip.chip_id
                    if group == entries:  # the buffer itself, handed over (no copy; the next run takes a new one)
                        cadc[cid] = part
                        continue
                    if cadc[cid].shape[1] != nc:
                        cadc[cid] = np.empty((entries, nc, C.NEURONS_PER_CHIP), np.int64)
                    cadc[cid][g0:g1] = part
                if group == entries:
                    del self._buffers["cadc_v"]
            if madc is not None:
                c = int(np.argmax(madc_on))
                for r in range(c, rows, n_chips):
                    m = int(n_madc[r])
                    ticks, neuron, codes, physical = units[c].chip.madc_columns(madc_t[r, :m], madc_x[r, :m].copy())
                    madc[0].append(ticks)
                    madc[1].append(codes)
                    madc[2].append(physical)
                    madc[3].append(neuron)
        table = pa.concat_tables(spikes).cast(
            pa.schema(list(schemas.SPIKES) + [pa.field("entry", pa.int64())]))
        out = BatchOutput(annotate_spikes(table, self.exp, self.mapping),
                          np.zeros(0, np.int64) if cadc_ticks is None else cadc_ticks, cadc if cap_c else {},
                          madc_chip)
        if madc is not None:
            out.madc_ticks, out.madc_value, out.madc_physical, out.madc_neuron = madc
        return out


_RECORD_DTYPES = [np.dtype(f.type.to_pandas_dtype()) for f in schemas.SPIKES]
