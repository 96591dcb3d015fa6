"""``Coordinator``: map the experiment, start the hosts, run conservative windows, gather.

Chips integrate independently for a window no longer than the smallest delay among the
FPGA routes in use (NEST's min-delay idea): an event sent in one window arrives in a later
one. Window boundaries also fall on every timed write and PPU kernel time, so those take
effect exactly when the program says (``window_bounds``, ``cut_steps``).

The per-window path, top to bottom: ``Coordinator.run`` → ``_run_windows`` (checkpoints,
recovery) → ``backend.run_windows`` → in-process (``backends.LocalBackend``) one call of
``ChipHost.run_windows`` for all windows up to the next write, PPU kernel or checkpoint:
writes and PPU kernels in Python, then ``host_kernel.run_windows`` integrates every chip
and routes the spikes through the interconnect (``routing.interconnect.route_window``)
window after window in compiled code; on Ray (``ray_backend.RayBackend``) hosts on one
machine run those windows themselves, each window's spikes crossing between them as one Arrow
IPC message per host through shared memory and routed by every host's replica of the
network (``peer_exchange.PeerHost.run_with_peers``: steps 1-5 there); hosts on several
machines are stepped one window at a time (one Compiled Graph execution or one actor call
per host), the spikes routed here by ``Interconnect.route``.

Every ``checkpoint_every`` windows it keeps the hosts' and the network's state; when a host
dies it is recreated, every host is rolled back to the checkpoint and the lost windows are
replayed — deterministic integration makes the result identical to a run without the fault.
A run may go on in segments (``run(until_us=...)``) and continue with a longer experiment
that has its past (``continue_with``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Callable

import numpy as np
import pyarrow as pa

from ..chip_actor.ppu import flat_values, runs_compiled
from ..errors import ChipUnavailableError, ConfigError, PlasticityError
from ..protocol import experiment as E
from ..protocol import schemas
from ..protocol.frozen import freeze
from ..protocol.results import Results
from ..protocol.system import SystemSpec
from ..routing.interconnect import Interconnect, network_of
from ..routing.mapping import SystemMapping, configure_chip, map_experiment
from ..routing.stimulus import build_playback, same_trains_before, source_ticks
from ..routing.synapse_layout import synapse_layout
from ..units import NS_PER_TICK, us_to_ticks
from . import host_threads as HT
from .backends import PLACEMENTS, Backend, LocalBackend
from .host import ChipSetup
from .spike_table import annotate_more, annotated

Progress = Callable[[int, int], None]
PROGRESS_REPORTS = 100
"""With a progress callback, compiled calls stop about this many times per run to report
(window cuts never change results)."""


def ppu_kernels(exp: E.Experiment) -> list:
    """The experiment's plasticity rules as timed PPU kernels."""
    from ..chip_actor.ppu import PpuKernel

    return [
        PpuKernel(r.name, r.kernel, int(round(r.period_us * 1e3)),
                  int(round((r.start_us if r.start_us is not None else r.period_us) * 1e3)), dict(r.params),
                  r.num_periods, list(r.projections), list(r.populations))
        for r in exp.plasticity
    ]


def ppu_layout(exp: E.Experiment, mapping: SystemMapping, chip: int):
    """What the PPU kernels of ``chip`` see of the experiment (``chip_actor.ppu.ChipLayout``):
    topology alone, made on the first call and kept with ``mapping`` (its arrays read-only)."""
    from ..chip_actor.ppu import ChipLayout, flat_index, sweep_order

    key = ("ppu_layout", chip, tuple(p.label for p in exp.projections))
    got = mapping.derived.get(key)
    if got is not None:
        return got
    rt = mapping.chips[chip]
    synapses, connections, flats = {}, {}, {}
    for p in exp.projections:
        c, h, r, col = mapping.synapse[p.label]
        sel = np.flatnonzero(c == chip)
        flat = flat_index(h[sel], r[sel], col[sel])
        order = sweep_order(flat)  # row by row, as the PPU sweeps the array
        sel = sel[order]
        synapses[p.label] = (h[sel], r[sel], col[sel])
        connections[p.label] = sel
        flats[p.label] = flat[order]
        freeze(*synapses[p.label], sel, flats[p.label])
    mapping.derived[key] = out = ChipLayout(synapses, connections, dict(rt.circuits), dict(rt.populations),
                                            {name: g for name, (g, _, _) in rt.background.items()}, flats)
    return out


def _synapses_of(labels: list[str], mapping: SystemMapping, chip: int) -> dict:
    """``{projection: mapping.synapses_of(projection, chip)}`` for the projections ``labels``."""
    here = synapse_layout(mapping, chip).synapses
    return {label: here[label] for label in labels}


def chip_setups(exp: E.Experiment, mapping: SystemMapping, trains: dict | None = None,
                from_tick: int = 0) -> list[ChipSetup]:
    """One setup per chip that has anything to do (neurons or presynaptic units).
    ``trains``: the sources' trains in ticks by name (``stimulus.source_ticks``), those not
    given drawn here; ``from_tick``: the programs' spike input from that tick on only
    (``stimulus.build_playback``)."""
    out = []
    kernels = ppu_kernels(exp)
    trains = {} if trains is None else dict(trains)  # each source's trains, drawn once for all chips
    weights: dict = {}  # each projection's weights, read once for all chips
    labels = [p.label for p in exp.projections]
    for rt in mapping.chips:
        if not rt.labels and not any(len(v) for v in rt.populations.values()):
            continue
        entry = mapping.system.chips[rt.chip]
        out.append(ChipSetup(
            chip_id=rt.chip, serial=mapping.system.serial_of(rt.chip, exp.chip.serial),
            ideal=entry.ideal or exp.chip.ideal, dt_ns=exp.dt_ns, seed=exp.seed,
            config=configure_chip(exp, mapping, rt.chip, weights, read_only=True),
            program=build_playback(exp, mapping, rt.chip, trains, from_tick),
            kernels=kernels, synapses=_synapses_of(labels, mapping, rt.chip),
            placement=dict(rt.circuits), layout=ppu_layout(exp, mapping, rt.chip) if kernels else None))
    return out


def madc_metadata(exp: E.Experiment, mapping: SystemMapping, setups: list[ChipSetup]) -> list[dict] | None:
    """What the MADC recorded, per channel (``Recordings.madc_channels``' order): population,
    index, source, the unit of its ``physical`` column (``ChipConfig.madc_unit``) and the
    chip and circuit whose rows of the ``madc`` table are its samples; None without an MADC
    recording. ``Results.metadata["madc"]`` is the first channel's (without chip and
    circuit), ``["madc_channels"]`` the list."""
    out = []
    config = {s.chip_id: s.config for s in setups}
    for rec in exp.recordings.madc_channels():
        chip = int(mapping.partition.chip[rec.population][rec.index])
        circuit = int(mapping.partition.circuit[rec.population][rec.index])
        channels = [n for n, _ in config[chip].madc_channels()] if chip in config else []
        if circuit in channels:
            out.append({"population": rec.population, "index": rec.index, "source": rec.source,
                        "unit": config[chip].madc_unit(channels.index(circuit)), "chip": chip, "circuit": circuit})
    return out or None


def cut_steps(exp: E.Experiment, total: int, compiled: bool = False) -> np.ndarray:
    """Steps at which a window must start: every write's step and every PPU due step — but
    those of a kernel that the hosts run in their compiled loop (``compiled``: the placement's
    hosts hold each chip's PPU; ``ppu.runs_compiled``) with a period of a step or more: they
    run it at its steps inside a window (``host_kernel._advance_chip``)."""
    h = exp.dt_ns
    cuts = [int(us_to_ticks(w.time_us)) * NS_PER_TICK // h for w in exp.writes]
    kernels = ppu_kernels(exp)
    inside = compiled and runs_compiled([k.function for k in kernels])
    for k in kernels:
        if inside and k.period_ns >= h:
            continue
        t = np.arange(k.start_ns, total * h, k.period_ns)[:k.num_periods]
        cuts.extend((-(-t // h)).tolist())
    c = np.unique(np.asarray(cuts, np.int64))
    return c[(c > 0) & (c < total)]


def window_bounds(total: int, window_steps: int, cuts: np.ndarray) -> np.ndarray:
    """The steps at which windows start, and ``total``: windows of ``window_steps``, each
    cut short where a cut (``cut_steps``) falls inside it; the next starts there.

    >>> window_bounds(10, 4, np.array([6])).tolist()
    [0, 4, 6, 10]
    """
    starts = [np.zeros(1, np.int64)]
    for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), total]):
        starts.append(np.arange(a + window_steps, b, window_steps, dtype=np.int64))
        starts.append(np.array([b], np.int64))
    out = np.concatenate(starts)
    return out if (out[1:] > out[:-1]).all() else np.unique(out)  # (ascending already where the cuts are)


def hold_safe_bounds(bounds: np.ndarray, dt_ns: int, safe_ns: int | None) -> np.ndarray:
    """``bounds`` (window starts and the end, steps) with every window cut to at most
    ``safe_ns`` (``Interconnect.safe_ns``: the shortest ``delay - latency`` plus the shortest
    latency of the routes over links) less the part of an FPGA tick before its start: the
    network holds, at a window's end, the events a later spike could precede and sends them
    at the next window's end (``interconnect.route_window``), so they must arrive after that.
    For routes whose delay is their latency (the reference networks: ``safe_ns`` 648 ns) at
    dt = 100 ns, windows of 6 steps that start on a tick stay as they are.

    >>> hold_safe_bounds(np.array([0, 6, 7, 13, 19]), 100, 600).tolist()
    [0, 6, 7, 12, 13, 18, 19]
    """
    if safe_ns is None or len(bounds) < 2:
        return bounds
    starts = bounds[:-1]
    most = (safe_ns - starts * dt_ns % NS_PER_TICK) // dt_ns
    if (most >= 1).all() and (np.diff(bounds) <= most).all():
        return bounds  # (no window to cut: the loop below would give them back as they are)
    out = [int(bounds[0])]
    for b in bounds[1:].tolist():
        while True:
            part = out[-1] * dt_ns % NS_PER_TICK  # of the tick the window starts in, before it
            most = (safe_ns - part) // dt_ns
            if most < 1:
                raise ConfigError(f"a window starting at {out[-1] * dt_ns} ns would send events through the "
                                  f"network after they arrive: the routes' shortest delay - latency plus their shortest "
                                  f"latency (Interconnect.safe_ns), {safe_ns} ns, is less than dt_ns={dt_ns}"
                                  f"{f' plus {part} ns (a start inside an FPGA tick of {NS_PER_TICK} ns)' if part else ''}; "
                                  f"use a smaller dt_ns (a multiple of {NS_PER_TICK} ns) or longer delays")
            if b - out[-1] <= most:
                break
            out.append(out[-1] + most)
        out.append(b)
    return np.asarray(out, np.int64)


def _same_values(a, b) -> bool:
    """The same values: dataclasses (configurations, writes) field by field, dicts, tuples and
    lists item by item, arrays element by element."""
    if a is b and (isinstance(a, np.ndarray) or not isinstance(a, float)):  # (nan is not nan)
        return True
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(_same_values(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_values(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_values(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def same_past(old: list[ChipSetup], new: list[ChipSetup], step: int) -> bool:
    """Whether chip setups ``new`` have the history of ``old`` up to ``step``: the same chips,
    configurations, PPU kernels and synapse/placement tables, and the same timed writes
    before the step (the playback events before it: ``stimulus.same_trains_before`` on the
    sources, which the same mapping turns into the same chip input)."""
    if [s.chip_id for s in old] != [s.chip_id for s in new]:
        return False
    for a, b in zip(old, new):
        if not (_same_values(a.config, b.config) and a.dt_ns == b.dt_ns and (a.serial, a.ideal, a.seed) ==
                (b.serial, b.ideal, b.seed)):
            return False
        if [(k.name, k.function, k.period_ns, k.start_ns, k.num_periods, repr(k.params)) for k in a.kernels] != \
                [(k.name, k.function, k.period_ns, k.start_ns, k.num_periods, repr(k.params)) for k in b.kernels]:
            return False
        if not (_same_values(a.synapses, b.synapses) and _same_values(a.placement, b.placement)):
            return False
        h, pa, pb = a.dt_ns, a.program, b.program
        wa = [w for w in pa.writes if w.time_ticks * NS_PER_TICK // h < step]  # applied by now
        wb = [w for w in pb.writes if w.time_ticks * NS_PER_TICK // h < step]
        if len(wa) != len(wb) or not all(_same_values(x, y) for x, y in zip(wa, wb)):
            return False
    return True


def _check_same_but_stimulus(base: E.Experiment, exp: E.Experiment, k: int) -> None:
    """``exp`` (entry ``k`` of a batch) must be ``base`` but for its sources' spike trains."""
    for name in type(base).model_fields:
        if name != "sources" and getattr(exp, name) != getattr(base, name):
            raise ConfigError(f"run_each: experiment {k} ({exp.name!r}) differs from the first in {name!r}; the "
                              f"entries of a batch share their network and differ in their sources' spikes only: "
                              f"run it on its own with bss2emu.run")
    shape = [(s.kind, s.name, s.size) for s in base.sources]
    if [(s.kind, s.name, s.size) for s in exp.sources] != shape:
        raise ConfigError(f"run_each: experiment {k} ({exp.name!r}) has sources "
                          f"{[(s.name, s.size) for s in exp.sources]}, the first {[(n, m) for _, n, m in shape]}; "
                          f"give every entry the same sources (kind, name, size), with its own spikes")


def make_backend(placement: str, address: str | None = None, chips_per_host: int | None = None,
                 host_threads: int | None = None) -> Backend:
    """The backend of a placement: ``local`` in this process, the others on Ray;
    ``host_threads``: the threads each host steps its chips with (``host_threads.host_threads``)."""
    if host_threads is not None:
        HT.host_threads(host_threads, 1, alone=True)  # a bad value fails here, not in an actor
    if placement == "local":
        if address is not None:
            raise ConfigError("address= needs a Ray placement: use placement='per-chip', 'packed' or "
                              "'per-component' to run on a Ray cluster")
        return LocalBackend(host_threads)
    if placement in PLACEMENTS:
        from .ray_backend import RayBackend

        return RayBackend(placement, address=address, chips_per_host=chips_per_host, host_threads=host_threads)
    raise ConfigError(f"unknown placement {placement!r}: use one of {', '.join(PLACEMENTS)}")


def _concat(tables: list[pa.Table], name: str) -> pa.Table:
    """The rows of ``tables`` (of the schema ``name``) in one table."""
    ts = [t for t in tables if t.num_rows]
    return pa.concat_tables(ts) if ts else schemas.empty_table(name)


class Coordinator:
    """Runs one experiment on one system with one placement of its chips."""

    def __init__(self, exp: E.Experiment, system: SystemSpec | str | None = None, placement: str = "local",
                 address: str | None = None, max_window_steps: int = 2000, checkpoint_every: int = 0,
                 partitioner: str = "metis", chips_per_host: int | None = None,
                 host_threads: int | None = None) -> None:
        self.exp = exp
        t0 = time.perf_counter()
        self.partitioner = partitioner
        self.mapping = map_experiment(exp, exp.system if system is None else system, partitioner=partitioner)
        self.map_s = time.perf_counter() - t0
        self.placement = placement
        self.backend = make_backend(placement, address=address, chips_per_host=chips_per_host,
                                    host_threads=host_threads)
        self.max_window_steps = int(max_window_steps)
        if self.max_window_steps < 1:
            raise ConfigError(f"max_window_steps={max_window_steps} must be >= 1")
        self.checkpoint_every = int(checkpoint_every)
        self.total = int(np.ceil(exp.runtime_us * 1e3 / exp.dt_ns))
        self.step = 0
        self.windows = 0
        self.recoveries = 0
        self._net: Interconnect | None = None  # while the hosts run
        # the spike record's rows annotated by the last results: (rows, recorded populations,
        # ``spike_table.annotated`` of them), for the next results of a run continued (``_spike_table``)
        self._spikes_done: tuple | None = None
        self._trains: dict | None = None  # the experiment's sources in ticks (``continue_with``)

    @property
    def _compiled_ppu(self) -> bool:
        """Whether the hosts hold their chips' PPUs, and so run a kernel compiled where they can
        (``host._Unit``; per-component: the PPU is an actor of its own)."""
        return self.placement != "per-component"

    def window_steps(self) -> int:
        w = self.mapping.window_ns
        if w is None:
            return self.max_window_steps
        if w < self.exp.dt_ns:
            raise ConfigError(f"the shortest FPGA route delay is {w} ns, less than the integration step dt_ns="
                              f"{self.exp.dt_ns}: use a smaller dt_ns or longer delays")
        return min(self.max_window_steps, w // self.exp.dt_ns)

    def _window_bounds(self, exp: E.Experiment) -> np.ndarray:
        return window_bounds(self.total, self.window_steps(), cut_steps(exp, self.total, self._compiled_ppu))

    def progress(self) -> tuple[int, int]:
        return self.step, self.total

    def run(self, progress: Progress | None = None, until_us: float | None = None, keep: bool = False) -> Results:
        """Run to ``until_us`` (hardware µs; default: the experiment's runtime) from where
        the last call ended, and return the results from time 0 to there.

        The first call starts the hosts; they keep their state (chips, FPGAs, PPUs, network
        events in flight, links) between calls and stop when the runtime is reached, unless
        ``keep`` (for ``continue_with``), or at ``close()``. Window cuts at ``until_us``
        change nothing: a run in segments gives the results of one run, bit for bit."""
        wall0 = time.perf_counter()
        if self._net is None:
            if self.step:
                raise ConfigError(f"experiment {self.exp.name!r}: this coordinator has finished its run; "
                                  f"make a new Coordinator to run it again")
            self._setups = chip_setups(self.exp, self.mapping)
            self._setup_s = time.perf_counter() - wall0
            self._net = network_of(self.mapping)
            self._bounds = self._window_bounds(self.exp)
            self.backend.start(self._setups, self._net)
        end = self.total if until_us is None else self._until_step(until_us)
        bounds = self._bounds[(self._bounds > self.step) & (self._bounds < end)]
        bounds = np.concatenate([[self.step], bounds, [end]]).astype(np.int64) if end > self.step else bounds[:0]
        bounds = hold_safe_bounds(bounds, self.exp.dt_ns, self._net.safe_ns)
        try:
            self._run_windows(bounds, self._net, progress)
            tables = self.backend.tables()
        except PlasticityError as err:  # a rule failed: keep what ran before it (err.results)
            if err.time_us is not None:  # the chips ran up to the window the rule was to start
                self.step = min(self.total, int(round(err.time_us * 1e3)) // self.exp.dt_ns)
            with contextlib.suppress(Exception):
                err.results = self._results(self.backend.tables(), self._net, wall0, self._setup_s,
                                            madc_metadata(self.exp, self.mapping, self._setups))
            self.close()
            raise
        except BaseException:
            self.close()
            raise
        net = self._net
        if self.step >= self.total and not keep:
            self.close()
        return self._results(tables, net, wall0, self._setup_s, madc_metadata(self.exp, self.mapping, self._setups))

    def continue_with(self, exp: E.Experiment) -> bool:
        """Take ``exp`` as the experiment from where this run stands, keeping the hosts'
        state: a longer run whose past is this one's, with changes (timed writes, stimulus)
        from now on — a continued PyNN ``run()``. ``run()`` then goes on to ``exp``'s runtime.

        Only if ``exp`` has this run's history: the same mapping, chip configurations and
        PPU kernels, the same source spikes before now (``stimulus.same_trains_before``) and
        the same writes before now (``same_past``). Returns False otherwise (and for Ray
        placements, whose hosts a coordinator actor owns), changing nothing: run ``exp`` from
        time 0 then. The chips get the input from now on only: the work grows with the
        spikes handed over, not with sorting the past again."""
        if self._net is None or self.placement != "local" or exp.dt_ns != self.exp.dt_ns or \
                exp.runtime_us * 1e3 < self.step * exp.dt_ns:
            return False
        if map_experiment(exp, self.mapping.system, partitioner=self.partitioner) is not self.mapping:
            return False  # another topology (or the cached mapping was evicted: map and run anew)
        # the past of the input, source by source (the mapping turns equal trains into equal
        # chip input); then the programs from now on only: the chips play nothing earlier
        now_tick = -(-self.step * exp.dt_ns // NS_PER_TICK)
        if self._trains is None:
            self._trains = source_ticks(self.exp)
        trains = source_ticks(exp)
        if trains.keys() != self._trains.keys() or \
                not all(same_trains_before(self._trains[k], trains[k], now_tick) for k in trains):
            return False
        setups = chip_setups(exp, self.mapping, trains, from_tick=now_tick)
        if not same_past(self._setups, setups, self.step):
            return False
        self._trains = trains
        self.exp = exp
        self.total = int(np.ceil(exp.runtime_us * 1e3 / exp.dt_ns))
        self._setups = setups
        self._bounds = self._window_bounds(exp)
        self.backend.reprogram({s.chip_id: s.program for s in setups})
        return True

    def run_each(self, experiments: list[E.Experiment]) -> list[Results]:
        """Run each of ``experiments`` from time 0 on hosts configured once: experiments that
        are this coordinator's but for their sources' spike trains (a batch: one network,
        one input per entry, as hxtorch runs batch entries). Every run starts from the hosts'
        state at time 0 (a checkpoint taken before the first), so each result is the result
        of a run of its own, bit for bit — without mapping, configuring and checking the
        chips again per entry."""
        if self.step or self._net is not None:
            raise ConfigError(f"experiment {self.exp.name!r}: run_each needs a coordinator that has not run yet")
        base = self.exp
        for k, exp in enumerate(experiments):
            _check_same_but_stimulus(base, exp, k)
        self._setups = chip_setups(base, self.mapping)
        self._setup_s = 0.0
        net = self._net = network_of(self.mapping)
        self._bounds = self._window_bounds(base)
        out = []
        try:
            self.backend.start(self._setups, net)
            start = (self.backend.get_states(), net.get_state())
            for exp in experiments:
                wall0 = time.perf_counter()
                trains: dict = {}
                self.backend.set_states(start[0])
                net.set_state(start[1])
                self.backend.reprogram({s.chip_id: build_playback(exp, self.mapping, s.chip_id, trains)
                                        for s in self._setups})
                self.exp, self.step, self.windows = exp, 0, 0
                self._spikes_done = None  # (the record starts again)
                self._run_windows(hold_safe_bounds(self._bounds, exp.dt_ns, net.safe_ns), net, None)
                out.append(self._results(self.backend.tables(), net, wall0, 0.0, madc_metadata(exp, self.mapping, self._setups),
                                         host_info=False))
            info = self.backend.info()  # the hosts' figures for the whole batch (their clocks are slow to read)
            for res in out:
                res.metadata.update(info)
        finally:
            self.exp = base
            self.close()
        return out

    def _until_step(self, until_us: float) -> int:
        end = int(np.ceil(until_us * 1e3 / self.exp.dt_ns))
        if not self.step <= end <= self.total:
            raise ConfigError(f"experiment {self.exp.name!r}: run until {until_us} µs is outside "
                              f"{self.step * self.exp.dt_ns / 1e3:g}..{self.exp.runtime_us:g} µs (where the last run "
                              f"ended .. the runtime): give a later time, up to runtime_us")
        return end

    def synapses(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per chip, its synapse weights and addresses ``[hemisphere, row, column]`` where the
        run stands (the PPUs' writes included): what a read of the synapse arrays after the
        experiment returns. In-process placement, while the hosts are kept (``run(keep=True)``)."""
        if self._net is None or self.placement != "local":
            raise ConfigError(f"experiment {self.exp.name!r}: the synapse arrays can be read after a run of the "
                              f"in-process placement whose hosts are kept (run(keep=True)); this one is "
                              f"{'closed' if self._net is None else self.placement!r}")
        out = {}
        for host in self.backend.get_states():
            for cid, (chip, _, _) in host["chips"].items():
                out[cid] = (chip["config"].synapses.weights.copy(), chip["config"].synapses.addresses.copy())
        return out

    def close(self) -> None:
        """Stop the hosts (a run that reaches the runtime does this itself)."""
        if self._net is not None:
            self._net = None
            self.backend.shutdown()

    def _run_windows(self, bounds: np.ndarray, net: Interconnect, progress: Progress | None) -> None:
        """The window loop: the backend runs ``windows_per_call`` windows at a time (the
        in-process host all windows up to the next checkpoint in compiled code; Ray hosts one
        window, exchanging spikes through ``net`` after it). Every ``checkpoint_every``
        windows the hosts' and the network's state is kept; when a host dies, every host goes
        back to it and the lost windows run again."""
        n_win = len(bounds) - 1
        per_call = max(1, self.backend.windows_per_call)
        if progress is not None:  # someone watches: report at least every 1 % of the windows
            per_call = min(per_call, max(1, n_win // PROGRESS_REPORTS))
        every = self.checkpoint_every
        checkpoint = None
        w = 0
        while w < n_win:
            upto = min(n_win, w + (min(per_call, every - self.windows % every) if every else per_call))
            try:
                # a host may die between two calls: reading its state for a checkpoint then
                # fails like a window does, and recovers from the checkpoint before
                if every and self.windows % every == 0 and (checkpoint is None or checkpoint[0] != self.windows):
                    checkpoint = (self.windows, w, self.backend.get_states(), net.get_state())
                self.backend.run_windows(bounds[w:upto + 1])
            except ChipUnavailableError:  # a host died: back to the last checkpoint, replay
                if checkpoint is None:
                    raise
                self.recoveries += 1
                self._spikes_done = None
                self.windows, w, states, net_state = checkpoint
                self.step = int(bounds[w])
                self.backend.restart_failed()
                self.backend.set_states(states)
                net.set_state(net_state)
                continue
            self.windows += upto - w
            w = upto
            self.step = int(bounds[w])
            if progress is not None:
                progress(self.step, self.total)

    def _spike_table(self, records: list[pa.Table]) -> pa.Table:
        """``annotate_spikes`` of the hosts' spike records (from time 0). With one host (one
        record, which the windows append to) the rows annotated for the last results are kept
        and only the later ones annotated (``annotate_more``): the results of a run continued
        in segments cost what the segment added, not what the run has recorded so far."""
        spikes = _concat(records, "spikes")
        recorded = [(p.name, p.record_spikes) for p in self.exp.populations]
        done = self._spikes_done
        out = None
        if len(records) == 1 and done is not None and done[0] <= spikes.num_rows and done[1] == recorded \
                and done[2][1] is not None:
            more = annotated(spikes.slice(done[0]), self.exp, self.mapping)
            if more[1] is not None:
                out = annotate_more(done[2], more)
        if out is None:
            out = annotated(spikes, self.exp, self.mapping)
        self._spikes_done = (spikes.num_rows, recorded, out) if len(records) == 1 else None
        return out[0]

    def _results(self, hosts: list[dict], net: Interconnect, wall0: float, t_setup: float,
                 madc: list[dict] | None, host_info: bool = True) -> Results:
        per_chip = {c: t for h in hosts for c, t in h["chips"].items()}
        tables = {"spikes": self._spike_table([h["spikes"] for h in hosts]),
                  **{k: _concat([per_chip[c][k] for c in sorted(per_chip)], k) for k in ("madc", "cadc")}}
        recs = [r for c in sorted(per_chip) for r in per_chip[c]["ppu_records"]]
        arrays = [r for r in recs if isinstance(r[4], np.ndarray)]  # ctx.record_observable's
        recs = [r for r in recs if not isinstance(r[4], np.ndarray)]
        tables["ppu"] = pa.table({k: [r[i] for r in recs] for i, k in enumerate(schemas.PPU_RECORDS.names)},
                                 schema=schemas.PPU_RECORDS)
        if arrays:  # only runs whose rules record observables have the table
            tables["ppu_observables"] = pa.table(
                {k: [r[i] for r in arrays] if k != "values" else [flat_values(r[4]) for r in arrays]
                 for i, k in enumerate(schemas.PPU_OBSERVABLES.names)}, schema=schemas.PPU_OBSERVABLES)
        tables["links"] = net.stats()
        m = self.mapping
        meta = {
            "experiment": self.exp.name, "seed": self.exp.seed, "runtime_us": self.exp.runtime_us if self.step >= self.total else self.step * self.exp.dt_ns / 1e3,
            "dt_ns": self.exp.dt_ns, "system": m.system.name, "chips": len(m.system.chips),
            "chips_used": len(per_chip), "placement": self.placement, "windows": self.windows,
            "window_us": min(self.window_steps(), self.total) * self.exp.dt_ns / 1e3, "steps": self.step,
            "recoveries": self.recoveries, "mapping": m.stats, "map_s": self.map_s, "setup_s": t_setup,
            "exchange_s": self.backend.exchange_s, "wall_s": time.perf_counter() - wall0,
            "populations": {p.name: p.size for p in self.exp.populations},
            "inter_chip_events": net.events_sent,  # one per spike and destination chip
            "dropped_events": net.events_dropped,
            "link_hops": int(net.sent.sum()),
            "time_unit": f"FPGA ticks ({NS_PER_TICK} ns)",
            **({"madc": {k: v for k, v in madc[0].items() if k not in ("chip", "circuit")},
                "madc_channels": madc} if madc is not None else {}),
            **(self.backend.info() if host_info else {}),
        }
        return Results(tables, meta)
