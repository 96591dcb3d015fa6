"""``ChipHost``: one or several chips (each Chip + Fpga + Ppu) stepped together.

A plain class; the Ray backends wrap it with ``ray.remote`` (one host per chip, or several
chips per host). ``run_windows`` applies the writes and PPU kernels due at a window's start
in Python, then runs every chip of the host over as many windows as it can in one call of
the compiled loop (``host_kernel.run_windows``: until the next write or PPU kernel is due;
a ``ppu.CorrelationTableRule`` alone on its chip runs inside that loop, ``Ppu.fused``);
given the ``Interconnect`` (the in-process placement: one host holds every chip) it routes
each window's spikes in the same call. The Ray placements step one window at a time
(``step``/``step_packed``): the host takes the network arrivals for its chips and returns
each chip's neuron spikes ``(time_ticks, label)`` for the coordinator to route. Across a
process boundary both directions travel as one ``pack_spikes`` buffer of bytes.

Spikes accumulate in the host's preallocated record (the columns of ``schemas.SPIKES``),
which ``spikes()`` hands to Arrow without a copy. Each host times its own work
(``stats()``), so that a backend can tell integration from the cost of reaching the host.
"""

from __future__ import annotations

import operator
import os
import resource
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from numba import njit

from ..chip_actor.chip import Chip, WindowOutput
from ..chip_actor.fpga import Fpga
from ..chip_actor.kernels import S_V as K_S_V
from ..chip_actor.ppu import ChipLayout, ChipSnapshot, Ppu, PpuKernel
from ..errors import ChipError
from ..protocol import coordinates as C
from ..protocol import schemas
from ..protocol.hardware import ChipConfig
from ..protocol.playback import PlaybackProgram
from ..routing.interconnect import Interconnect
from . import host_kernel as HK
from . import host_threads as HT

Spikes = tuple[np.ndarray, np.ndarray]


def pack_spikes(spikes: dict[int, Spikes]) -> bytes:
    """``{chip: (times, labels)}`` → one int64 buffer ``[n, chip_0, len_0, …, times…,
    labels…]`` as bytes: what crosses a process boundary per window. Plain bytes pickle
    in-band, which costs Ray far less than a dict of numpy arrays (about 4x less per window
    through a compiled graph here) and leaves no view of a shared buffer behind.

    >>> unpack_spikes(pack_spikes({3: (np.array([5, 9]), np.array([7, 1]))}))[3][1].tolist()
    [7, 1]
    """
    head = [len(spikes)]
    for chip, (t, _) in spikes.items():
        head += [chip, len(t)]
    parts = [np.asarray(head, np.int64)]
    parts += [np.asarray(t, np.int64) for t, _ in spikes.values()]
    parts += [np.asarray(lab, np.int64) for _, lab in spikes.values()]
    return np.concatenate(parts).tobytes()


def unpack_spikes(buf: bytes) -> dict[int, Spikes]:
    """The inverse of ``pack_spikes`` (int64 arrays, writable)."""
    a = np.frombuffer(buf, np.int64).copy()
    n = int(a[0])
    chips, lens = a[1:1 + 2 * n:2].tolist(), a[2:2 + 2 * n:2]
    ends = np.cumsum(lens).tolist()
    t0 = 1 + 2 * n
    l0 = t0 + (ends[-1] if n else 0)
    out, start = {}, 0
    for chip, end in zip(chips, ends):
        out[chip] = (a[t0 + start:t0 + end], a[l0 + start:l0 + end])
        start = end
    return out


def encode_exchange(chip: np.ndarray, time: np.ndarray, label: np.ndarray, as_bytes: bool = True):
    """Spike events as flat columns (``chip`` int32, ``time`` int64, ``label`` int32; chips
    ascending) → one ``schemas.EXCHANGE`` record batch (no copy of columns of those types)
    in Arrow's IPC message format (bytes; both ends know the schema, so only the batch
    travels), or the record batch itself (``as_bytes=False``: for Ray to pickle with
    Arrow's buffers out of band). What a Ray host and the coordinator exchange per window.

    >>> c, t, lab = decode_exchange(encode_exchange(np.array([3, 3], np.int32), np.array([5, 9]), np.array([7, 1], np.int32)))
    >>> c.tolist(), t.tolist(), lab.tolist()
    ([3, 3], [5, 9], [7, 1])
    """
    batch = pa.RecordBatch.from_arrays([pa.array(chip, pa.int32()), pa.array(time, pa.int64()),
                                        pa.array(label, pa.int32())], schema=schemas.EXCHANGE)
    return batch.serialize().to_pybytes() if as_bytes else batch


def decode_exchange(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inverse of ``encode_exchange``: (chip, time, label) numpy columns (read-only
    views of the message's buffer)."""
    batch = data if isinstance(data, pa.RecordBatch) else pa.ipc.read_record_batch(pa.py_buffer(data), schemas.EXCHANGE)
    return tuple(batch.column(i).to_numpy() for i in range(3))


@dataclass
class ChipSetup:
    """Everything needed to build one emulated chip, its FPGA and its PPU."""

    chip_id: int
    serial: int
    ideal: bool
    dt_ns: int
    seed: int
    config: ChipConfig
    program: PlaybackProgram
    kernels: list[PpuKernel] = field(default_factory=list)
    synapses: dict = field(default_factory=dict)  # projection -> (hemisphere, row, column) here
    placement: dict = field(default_factory=dict)  # population -> circuits here
    layout: ChipLayout | None = None  # what the PPU kernels' views see (None: synapses and placement)

    def ppu_layout(self) -> ChipLayout:
        return self.layout if self.layout is not None else ChipLayout(self.synapses, {}, self.placement)


class _Unit:
    """One chip with its FPGA and PPU."""

    def __init__(self, s: ChipSetup) -> None:
        self.setup = s
        self.chip = Chip(s.config, serial=s.serial, ideal=s.ideal, dt_ns=s.dt_ns, chip_id=s.chip_id, seed=s.seed)
        self.fpga = Fpga(s.program, s.chip_id)
        self.ppu = Ppu(s.kernels, s.chip_id)
        # a correlation-table rule alone on the chip runs in the compiled window loop
        self.ppu.fused = self.ppu.fusable()
        if self.ppu.fused is not None:
            self.rule_flat, self.rule_in_view = self.ppu.fused_view(s.ppu_layout())
            self.rule_dw = self.ppu.functions[self.ppu.fused].dw

    def begin_window(self, k0: int) -> None:
        """Writes due at the start of the window at step ``k0``, then PPU kernels due."""
        chip, h = self.chip, self.chip.dt_ns
        t0 = k0 * h
        chip.apply_writes(self.fpga.writes_due(t0 + h))  # a write applies at the start of its step
        if self.ppu.due(t0):
            writes, reset = self.ppu.run_due(t0, ChipSnapshot.live(chip), self.setup.ppu_layout())
            chip.apply_writes(writes)
            if reset:
                chip.correlation_codes(reset=True)

    def next_due_step(self) -> int:
        """The first step whose window start has a write or a PPU kernel due."""
        h = self.chip.dt_ns
        due = _NEVER
        w_ns = self.fpga.next_write_ns()
        if w_ns is not None:
            due = min(due, w_ns // h)  # due when w_ns < (k + 1) h
        p_ns = self.ppu.next_due_ns()
        if p_ns is not None:
            due = min(due, -(-p_ns // h))  # due when p_ns <= k h
        return int(due)

    def rule_row(self, row: np.ndarray, flat_lo: int) -> list[np.ndarray]:
        """The fused kernel's entry of ``host_kernel.run_windows``' ``rules`` (``R_*``) into
        ``row``; returns the arrays the addresses in it point to (keep them alive)."""
        ppu, chip = self.ppu, self.chip
        i = ppu.fused
        if i is None:
            row[:] = 0
            return []
        k = ppu.kernels[i]
        weights, position = chip.own_weights(), chip.synapse_table[3]  # (the kernel may write weights)
        row[HK.R_ON] = 1
        row[HK.R_NEXT_NS] = ppu.next_ns[i]
        row[HK.R_PERIOD_NS] = k.period_ns
        row[HK.R_LEFT] = -1 if k.num_periods is None else k.num_periods - ppu.runs[i]
        row[HK.R_RESET] = ppu.functions[i].reset
        row[HK.R_FLAT_LO], row[HK.R_FLAT_HI] = flat_lo, flat_lo + len(self.rule_flat)
        row[HK.R_WEIGHTS], row[HK.R_POSITION] = weights.ctypes.data, position.ctypes.data
        row[HK.R_RUNS] = row[HK.R_CHANGED] = 0
        row[HK.R_IN_VIEW] = self.rule_in_view.ctypes.data
        return [weights, position]

    def rule_done(self, row: np.ndarray) -> None:
        """After a compiled call: the fused kernel's timer, and a new configuration token
        where it changed weights (``Chip.set_state`` compares them)."""
        if self.ppu.fused is not None:
            self.ppu.fused_ran(int(row[HK.R_RUNS]), int(row[HK.R_NEXT_NS]))
            if row[HK.R_CHANGED]:
                self.chip._config_token = object()

    def arrays(self) -> list[np.ndarray]:
        """The arrays of ``host_kernel.FIELDS``, in its order."""
        ch, xb = self.chip, self.chip.config.crossbar
        pre, causal, acausal = ch.sensor_arrays(fill=bool(ch.config.readout.enable_correlation))
        return [ch.coef_rows, ch.flags_rows, ch.nstate_rows, ch.ref_end, ch.spike_count, *ch.synapse_table[:3], *ch.drv_table,
                ch.drv, ch.stp_u_param, ch.stp_tau_ns, ch.set_scale, ch.stp_last, ch.stp_r, ch.stp_u,
                xb.enable, xb.mask, xb.target, ch.bg, ch.bg_next_ns, ch.bg_rng, *pre, ch.t_post, causal,
                acausal, self.fpga.play_t_ns, self.fpga.program.spike_labels, *ch.structure[:7], ch.psp_tab,
                ch.psp_ok, ch.psp_class, ch.sensed_bits]


def process_memory_mb() -> dict[str, float]:
    """This process's memory in MB: ``maxrss`` (peak resident, ``getrusage``), and now
    ``anon`` (private pages) and ``shmem`` (touched shared pages — Ray's object store) from
    /proc where there is one."""
    out = {"maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("RssAnon", "RssShmem"):
                    out["anon" if key == "RssAnon" else "shmem"] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return out


_kernels_loaded = False


def _load_kernels() -> None:
    """Load the compiled host loop in this process (one step of a scratch chip): a fresh
    actor then spends its start-up, not its first window, on numba's cache (~1 s here)."""
    global _kernels_loaded
    if not _kernels_loaded:
        _kernels_loaded = True
        scratch = ChipHost([ChipSetup(0, 0, True, 100, 0, ChipConfig(), PlaybackProgram())])
        scratch.run_windows(np.array([0, 1]))


_RECORD_DTYPES = [np.dtype(f.type.to_pandas_dtype()) for f in schemas.SPIKES]
_NEVER = int(np.iinfo(np.int64).max)  # the step of "nothing due"
_NO_ROUTES = Interconnect.empty_tables()  # read only by the kernel: one set serves every call
_NO_HOSTS = np.zeros(0, np.int64)
_READOUT_BYTES_MAX = 64 << 20  # CADC samples buffered per call, at most (the call is split)


class ChipHost:
    """Several chips in one process, stepped together by ``host_kernel.run_windows``."""

    def __init__(self, setups: list[ChipSetup], threads: int | None = None, alone: bool = False) -> None:
        """``threads``/``alone``: how many threads step the chips (``host_threads.host_threads``:
        by default as many as the cores when the host is ``alone`` on the machine, else 1)."""
        ordered = sorted(setups, key=lambda s: s.chip_id)
        self.units = {s.chip_id: _Unit(s) for s in ordered}
        self._list = list(self.units.values())
        n = len(ordered)
        self.threads = HT.host_threads(threads, n, alone)
        self._choice = HT.ThreadChoice() if self.threads > 1 else None  # threads or one, call by call
        self.dt_ns = ordered[0].dt_ns if ordered else 100
        if any(s.dt_ns != self.dt_ns for s in ordered):
            raise ChipError(f"the chips of one host step together; they have steps {sorted({s.dt_ns for s in ordered})} ns")
        # network arrivals not yet delivered, per chip in the order (time, label)
        self._queue_t = np.zeros((n, 64), np.int64)
        self._queue_label = np.zeros((n, 64), np.int64)
        self._queue_n = np.zeros(n, np.int64)
        # what the chips sent to their FPGAs: the columns of schemas.SPIKES, _n_rec rows used
        self._record = [np.empty(1 << 14, dt) for dt in _RECORD_DTYPES]
        self._n_rec = 0
        self._table_of: list | None = None  # the arrays the address table was built from
        self._no_readout: tuple | None = None  # the readout buffers of a call without readouts
        self._readouts_off = True  # no chip records MADC or CADC samples (set with the table)
        self._rows_apart = True  # no two chips share an array the kernel writes (set with the table)
        self._no_counts = np.zeros(2, np.int64)  # the network's counters when there is no network
        # the PPU kernels run in the compiled loop (``_Unit.rule_row``): per chip a row, their
        # synapses one after another, their tables and sensor scales
        self._rules = np.zeros((n, HK.N_RULE), np.int64)
        fused = [u for u in self._list if u.ppu.fused is not None]
        self._rule_flat = np.concatenate([u.rule_flat for u in fused]) if fused else np.zeros(0, np.int64)
        self._rule_dw = np.stack([u.rule_dw if u.ppu.fused is not None else np.zeros((256, 256), np.int64)
                                  for u in self._list]) if fused else np.zeros((n, 1, 1), np.int64)
        self._rule_lo = np.cumsum([0] + [len(u.rule_flat) if u.ppu.fused is not None else 0
                                         for u in self._list])[:-1].tolist()
        _load_kernels()
        self.busy_s = 0.0  # wall seconds inside run_windows, all chips
        self._cpu0 = time.thread_time()  # this thread's CPU seconds when the chips were loaded
        self.windows = 0

    def load(self, setups: list[ChipSetup], threads: int | None = None) -> int:
        """Replace this host's chips (and its figures) with new ones: a kept actor serves the
        next run without starting a process; ``load([])`` frees an idle host's chips."""
        self.__init__(setups, threads)
        return len(self.units)

    def chip_ids(self) -> list[int]:
        return list(self.units)

    # --- stepping -----------------------------------------------------------------------
    def _chip_table(self) -> tuple:
        """The kernel's per-chip address table (rebuilt when a chip replaced an array)."""
        sources = [u.arrays() for u in self._list]
        if self._table_of is not None and all(all(map(operator.is_, new, old))
                                              for new, old in zip(sources, self._table_of)):
            return self._table
        n = len(self._list)
        addr = np.zeros((n, HK.N_FIELDS), np.int64)
        ints = np.zeros((n, HK.N_INTS), np.int64)
        tau_corr_ns = np.zeros(n)
        keep = []
        for c, (u, arrays) in enumerate(zip(self._list, sources)):
            for f, (a, (name, _, shape), dtype) in enumerate(zip(arrays, HK.FIELDS, _FIELD_DTYPES)):
                if a.dtype != dtype or not a.flags.c_contiguous:
                    if a.flags.writeable and a.base is None and name not in _READ_ONLY_FIELDS:
                        raise ChipError(f"chip {u.chip.chip_id}: array {name!r} is {a.dtype}, the kernel "
                                        f"updates it in place as {np.dtype(dtype)}")
                    a = np.ascontiguousarray(a, dtype)
                if shape is not None and a.shape != shape:
                    raise ChipError(f"chip {u.chip.chip_id}: array {name!r} has shape {a.shape}, the kernel "
                                    f"needs {shape}")
                keep.append(a)
                addr[c, f] = _address(a)
            ro = u.chip.config.readout
            ints[c, HK.I_SYN_ENTRY_LEN] = len(arrays[HK.A_SYN_ENTRY])
            ints[c, HK.I_DRV_LIST_LEN] = len(arrays[HK.A_DRV_LIST])
            ints[c, HK.I_PLAY_LEN] = len(arrays[HK.A_PLAY_T])
            ints[c, HK.I_CORR_ON] = bool(ro.enable_correlation)
            st = u.chip.structure
            madc_neuron, madc_row = u.chip.madc_kernel_channels()
            ints[c, HK.I_MADC_NEURON:HK.I_MADC_NEURON + 2] = madc_neuron
            ints[c, HK.I_MADC_ROW:HK.I_MADC_ROW + 2] = madc_row
            ints[c, HK.I_FOLLOW_LEN] = len(st.follow)
            ints[c, HK.I_CP_ROWS] = len(st.cp_rows)
            ints[c, HK.I_CP_BLOCKS] = len(st.cp_block) - 1
            ints[c, HK.I_CP_VALUES] = len(st.cp_val)
            ints[c, HK.I_PSP_ROWS] = u.chip.psp_tab.shape[2]
            ints[c, HK.I_PSP_CLASSES] = u.chip.psp_tab.shape[1]
            ints[c, HK.I_MADC_EVERY] = max(1, int(ro.madc_every_steps))
            ints[c, HK.I_CADC_PERIOD] = ro.cadc_period_ns
            ints[c, HK.I_SYSTEM_CHIP] = u.chip.chip_id
            tau_corr_ns[c] = ro.tau_corr_us * 1e3
        self._table_of, self._table = sources, (addr, ints, tau_corr_ns, keep)
        self._readouts_off = not ((ints[:, HK.I_MADC_NEURON] >= 0).any() or (ints[:, HK.I_CADC_PERIOD] > 0).any())
        self._rows_apart = _written_apart(keep, n, addr.ravel().tolist())
        return self._table

    def _chunk(self, bounds: np.ndarray, ints: np.ndarray) -> int:
        """How many of the windows ``bounds`` one kernel call may run: none after the first
        may start where a write or a PPU kernel is due, and the readout buffers stay small."""
        due = min((u.next_due_step() for u in self._list), default=_NEVER)
        n_win = len(bounds) - 1
        if due < _NEVER:
            later = bounds[1:-1].searchsorted(due, side="left") + 1  # windows before the due one
            n_win = min(n_win, int(later))
        if self._readouts_off:
            return n_win
        periods = ints[:, HK.I_CADC_PERIOD]
        if (periods > 0).any():
            steps_max = _READOUT_BYTES_MAX // (8 * C.NEURONS_PER_CHIP * len(self._list)) * int(periods[periods > 0].min())
            steps_max = max(1, steps_max // self.dt_ns)
            n_win = max(1, min(n_win, int(np.searchsorted(bounds, bounds[0] + steps_max, side="right")) - 1))
        return n_win

    def _readout_buffers(self, ints: np.ndarray, steps: int) -> tuple:
        """The MADC and CADC buffers of a kernel call of ``steps`` steps: ``(madc_t, madc_x,
        cadc_t, cadc_v)``, a row per chip (no columns when no chip records: then one set
        serves every call, as a Ray placement calls once per window)."""
        n, h = len(self._list), self.dt_ns
        if self._readouts_off:
            if self._no_readout is None:
                self._no_readout = (np.empty((n, 0), np.int64), np.empty((n, 0)), np.empty((n, 0), np.int64),
                                    np.empty((n, 0, C.NEURONS_PER_CHIP), np.int64))
            return self._no_readout
        madc_on = ints[:, HK.I_MADC_NEURON] >= 0
        periods = ints[:, HK.I_CADC_PERIOD]
        cap_m = steps // int(ints[madc_on, HK.I_MADC_EVERY].min()) + 1 if madc_on.any() else 0
        cap_c = (steps * h) // int(periods[periods > 0].min()) + 2 if (periods > 0).any() else 0
        return (np.empty((n, cap_m), np.int64), np.empty((n, cap_m)), np.empty((n, cap_c), np.int64),
                np.empty((n, cap_c, C.NEURONS_PER_CHIP), np.int64))

    def run_windows(self, bounds: np.ndarray, net: Interconnect | None = None) -> int:
        """Run the windows ``[bounds[i], bounds[i + 1])`` (steps) on every chip; with ``net``
        (a host that holds every chip of the system) each window's spikes are routed through
        it and delivered here. Returns the first spike-record row of these windows."""
        t_start = time.perf_counter()
        bounds = np.asarray(bounds, np.int64)
        first_row = self._n_rec
        h = self.dt_ns
        if net is not None and len(net.routes):
            host_of = np.full(net.pair_path.shape[0], -1, np.int64)
            host_of[list(self.units)] = np.arange(len(self.units))
            route, tables = True, net.tables()
        else:
            route, tables, host_of = False, _NO_ROUTES, _NO_HOSTS
        counts = net.counts if net is not None else self._no_counts
        hold = (net.hold, net.hold_n) if route else Interconnect.empty_hold()
        while len(bounds) > 1 and self._list:
            for u in self._list:
                if u.chip.step != bounds[0]:
                    raise ChipError(f"chip {u.chip.chip_id} is at step {u.chip.step}, asked to run from step {bounds[0]}")
                u.begin_window(int(bounds[0]))
            addr, ints, tau_corr_ns, keep = self._chip_table()
            n_win = self._chunk(bounds, ints)
            if self._choice is not None:
                n_win = min(n_win, self._choice.WINDOWS_PER_CALL)
            part = bounds[:n_win + 1]
            steps = int(part[-1] - part[0])
            n = len(self._list)
            madc_t, madc_x, cadc_t, cadc_v = self._readout_buffers(ints, steps)
            n_madc, n_cadc, syn = np.zeros((3, n), np.int64)
            play_pos = np.array([u.fpga.play_t_ns.searchsorted(part[0] * h) for u in self._list], np.int64)
            rule_keep = [a for c, u in enumerate(self._list) for a in u.rule_row(self._rules[c], self._rule_lo[c])]
            per_lsb = np.array([1.0 / u.chip.config.readout.corr_lsb for u in self._list])
            want = self._choice is not None and self._rows_apart and self._choice.pick()
            with HT.parallel_section(self.threads if want else 1) as parallel:
                t_call = time.perf_counter()
                status, done, self._n_rec, *record, self._queue_t, self._queue_label, held = HK.run_windows(
                    part, h, addr, ints, tau_corr_ns, play_pos, self._queue_t, self._queue_label, self._queue_n,
                    route, host_of, *tables, counts, *hold, *self._record, self._n_rec,
                    madc_t, madc_x, n_madc, cadc_t, cadc_v, n_cadc, syn, parallel,
                    self._rules, per_lsb, self._rule_flat, self._rule_dw)
            if self._choice is not None:
                self._choice.record(parallel, time.perf_counter() - t_call, steps)
            self._record = record
            if route:  # (reallocated when it grew)
                net.hold = held
                hold = (net.hold, net.hold_n)
            del keep, rule_keep
            for c, u in enumerate(self._list):
                u.rule_done(self._rules[c])
                u.chip.step = int(part[done])
                u.chip.synaptic_events += int(syn[c])
                st = u.chip.structure
                if len(st.follow):
                    u.chip.nstate[K_S_V, st.follow] = u.chip.nstate[K_S_V, st.follow_lead]
                if n_madc[c] or n_cadc[c]:
                    madc_b, cadc_b = u.chip.readout_batches(madc_t[c, :n_madc[c]], madc_x[c, :n_madc[c]],
                                                            cadc_t[c, :n_cadc[c]], cadc_v[c, :n_cadc[c]])
                    u.fpga.record(WindowOutput(_EMPTY_SPIKES, madc_b, cadc_b))
            self.windows += int(done)
            if status != HK.OK:
                self._raise(status, int(part[done]) * h)
            bounds = bounds[n_win:]
        self.busy_s += time.perf_counter() - t_start
        return first_row

    def _raise(self, status: int, t0_ns: int) -> None:
        if status == HK.EVENT_IN_THE_PAST:
            c = int(np.argmax((self._queue_n > 0) & (self._queue_t[:, 0] < t0_ns)))
            raise ChipError(f"chip {self._list[c].chip.chip_id}: network event(s) arrived in the past (first at "
                            f"{self._queue_t[c, 0]} ns, window starts at {t0_ns} ns): the window is longer than "
                            f"the shortest route delay")
        raise ChipError(f"the network delivered an event at {t0_ns} ns to a chip that this host ({list(self.units)}) "
                        f"does not hold: route across hosts in the coordinator")

    def inject(self, arrivals: dict[int, Spikes]) -> None:
        """Queue network arrivals ``{chip: (t_ns, label)}`` for their chips."""
        row = {cid: c for c, cid in enumerate(self.units)}
        for cid, (t, lab) in arrivals.items():
            if len(t):
                self._queue(row[cid], np.asarray(t, np.int64), np.asarray(lab, np.int64))

    def _queue(self, c: int, t: np.ndarray, lab: np.ndarray) -> None:
        """Add events to chip row c's pending queue, kept in the order (time, label)."""
        n = self._queue_n[c]
        t = np.concatenate([self._queue_t[c, :n], t])
        lab = np.concatenate([self._queue_label[c, :n], lab])
        order = np.lexsort((lab, t))
        if len(t) > self._queue_t.shape[1]:
            grow = np.zeros((len(self.units), max(self._queue_t.shape[1], len(t))), np.int64)
            self._queue_t = np.concatenate([self._queue_t, grow], axis=1)
            self._queue_label = np.concatenate([self._queue_label, grow], axis=1)
        self._queue_t[c, :len(t)], self._queue_label[c, :len(t)] = t[order], lab[order]
        self._queue_n[c] = len(t)

    def step_columns(self, k0: int, n_steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One window on every chip, the arrivals already queued (``inject``): the chips'
        neuron spikes as flat columns ``(chip int32, time_ticks int64, label int32)``, chips
        ascending — the columns of ``schemas.EXCHANGE``, straight from the host's record."""
        first = self.run_windows(np.array([k0, k0 + n_steps], np.int64))
        ticks, chip, neuron, label = (a[first:self._n_rec] for a in self._record)
        if len(neuron) and (neuron < 0).any():  # (an FPGA-bound background event)
            keep = neuron >= 0
            return chip[keep], ticks[keep], label[keep]
        return chip, ticks, label

    def step(self, k0: int, n_steps: int, arrivals: dict[int, Spikes]) -> dict[int, Spikes]:
        """One window on every chip (the Ray placements' exchange): ``arrivals`` are network
        events ``(t_ns, label)``; returns each chip's neuron spikes ``(time_ticks, label)``."""
        self.inject(arrivals)
        row = self.run_windows(np.array([k0, k0 + n_steps], np.int64))
        ticks, chip, neuron, label = (a[row:self._n_rec] for a in self._record)
        keep = neuron >= 0
        ticks, chip, label = ticks[keep], chip[keep], label[keep]
        return {cid: (ticks[chip == cid], label[chip == cid].astype(np.int64)) for cid in self.units}

    def step_packed(self, k0: int, n_steps: int, arrivals: bytes) -> bytes:
        """``step`` with arrivals and spikes as ``pack_spikes`` buffers (Ray's ``bytes`` wire)."""
        return pack_spikes(self.step(k0, n_steps, unpack_spikes(arrivals)))

    def step_exchange(self, k0: int, n_steps: int, arrivals) -> bytes:
        """One window (Ray's ``arrow`` wire): arrivals and the chips' neuron spikes as
        ``encode_exchange`` messages — flat (chip, time, label) columns, the spikes' straight
        from the host's record."""
        chip, t, lab = decode_exchange(arrivals)
        if len(chip):
            row = {cid: c for c, cid in enumerate(self.units)}
            for cid in np.unique(chip).tolist():
                sel = chip == cid
                self._queue(row[cid], t[sel].astype(np.int64), lab[sel].astype(np.int64))
        return encode_exchange(*self.step_columns(k0, n_steps))

    # --- results and state ----------------------------------------------------------------
    def spikes(self) -> pa.Table:
        """Everything the chips sent to their FPGAs, as a ``schemas.SPIKES`` table over the
        host's record (no copy)."""
        n = self._n_rec
        return pa.Table.from_arrays([pa.array(a[:n]) for a in self._record], schema=schemas.SPIKES)

    def tables(self) -> dict:
        """``{"spikes": table of all chips, "chips": {chip: {"madc", "cadc", "ppu_records"}}}``."""
        chips = {}
        for cid, u in self.units.items():
            t = u.fpga.tables()
            chips[cid] = {"madc": t["madc"], "cadc": t["cadc"], "ppu_records": u.ppu.records}
        return {"spikes": self.spikes(), "chips": chips}

    def get_state(self) -> dict:
        n = self._n_rec
        return {"chips": {cid: (u.chip.get_state(), u.fpga.get_state(), u.ppu.get_state())
                          for cid, u in self.units.items()},
                "queue": (self._queue_t.copy(), self._queue_label.copy(), self._queue_n.copy()),
                "record": [a[:n].copy() for a in self._record]}

    def set_state(self, state: dict) -> None:
        for cid, (c, f, p) in state["chips"].items():
            u = self.units[cid]
            u.chip.set_state(c)
            u.fpga.set_state(f)
            u.ppu.set_state(p)
        self._queue_t, self._queue_label, self._queue_n = (a.copy() for a in state["queue"])
        rec = state["record"]
        self._n_rec = len(rec[0])
        self._record = [np.concatenate([a, np.empty(max(1 << 14, len(a)), a.dtype)]) for a in rec]

    def reprogram(self, programs: dict[int, PlaybackProgram]) -> None:
        """Each chip's FPGA plays ``programs[chip]`` from now on: a program with the same past
        (``coordinator.same_past``) whose later events and writes may differ."""
        for cid, program in programs.items():
            self.units[cid].fpga.reprogram(program)

    def ping(self) -> int:
        return len(self.units)

    def stats(self) -> dict:
        """This host's own figures: ``busy_s`` (wall seconds inside ``run_windows``, all its
        chips; on a loaded machine this includes time the OS gave to other processes),
        ``cpu_s`` (CPU seconds of the host's thread since its chips were loaded: its steps and
        the little it does between them — read here, not per window, where the clock's
        system call cost up to 0.7 ms per window on a loaded machine), ``windows``
        stepped, and its process: ``pid`` and ``memory_mb`` (``process_memory_mb``; the
        host's own when it is an actor)."""
        return {"busy_s": self.busy_s, "cpu_s": time.thread_time() - self._cpu0, "windows": self.windows, "pid": os.getpid(),
                "memory_mb": process_memory_mb(), "threads": self.threads,
                "parallel_calls": self._choice.calls[True] if self._choice else 0,
                "calls": sum(self._choice.calls.values()) if self._choice else 0}


# arrays the kernel only reads: a converted copy serves (the others it updates in place)
_READ_ONLY_FIELDS = {"coef", "flags", "syn_ptr", "syn_entry", "syn_weighted", "drv_ptr", "drv_list", "drv",
                     "stp_u_param", "stp_tau_ns", "set_scale", "xb_en", "xb_mask", "xb_target", "bg",
                     "addr_col", "play_t_ns", "play_label", "syn_target", "mc_follow", "mc_follow_lead", "cp_rows", "cp_block", "cp_offset", "cp_val"}
_WRITTEN = [f for f, (name, _, _) in enumerate(HK.FIELDS) if name not in _READ_ONLY_FIELDS]
_FIELD_DTYPES = [np.dtype(dtype) for _, dtype, _ in HK.FIELDS]  # (a dtype compares faster with a dtype than a type)


@njit(cache=True)
def _address(a: np.ndarray) -> int:
    """``a.ctypes.data``, in half its time (numpy builds a ctypes object for it): the address
    table of a host's chips takes about 170 of them per run."""
    return a.ctypes.data


def _written_apart(arrays: list[np.ndarray], n_chips: int, addresses: list[int] | None = None) -> bool:
    """Whether no two of ``n_chips`` chips (``arrays``: each chip's ``host_kernel.FIELDS`` in
    turn; ``addresses``: theirs, where known) share memory in an array the kernel writes —
    the condition for stepping them on several threads."""
    if addresses is None:
        addresses = [_address(a) for a in arrays]
    spans = sorted((addresses[i], addresses[i] + arrays[i].nbytes, c) for c in range(n_chips)
                   for i in (c * HK.N_FIELDS + f for f in _WRITTEN) if arrays[i].nbytes)
    reach, owner = -1, -1  # the end of the overlapping spans so far, and their chip
    for start, end, c in spans:
        if start < reach and c != owner:
            return False  # (spans that overlap in a chain: some two overlap directly)
        reach, owner = (max(reach, end), owner) if start < reach else (end, c)
    return True


_EMPTY_SPIKES = pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schemas.SPIKES], schema=schemas.SPIKES)
