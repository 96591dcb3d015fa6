"""``CppKernel``: a PPU plasticity kernel written in C++ for the real system, run on the host.

``CppKernel(source, rule_name, projections, populations, observables)`` is a PPU kernel
(``kernel(ctx)``, see :mod:`bss2emu.chip_actor.ppu`) that compiles ``source`` on its first call
(:mod:`bss2emu.chip_actor.cpp_build`), hands it views of the chip's state — one
``SynapseArrayViewHandle`` per projection and hemisphere holding its synapses (projections in
the given order, top hemisphere first), one ``NeuronViewHandle`` per population and hemisphere —
runs ``PLASTICITY_RULE_KERNEL`` once per PPU (top, then bottom; each PPU has its own globals, as
each real PPU has its own memory), and turns what the kernel did into ``ctx`` calls: changed
weights into ``ctx.set_weights``, neuron parameters the kernel set
(``NeuronViewHandle::set_parameter``, a bss2emu extension) into ``ctx.set_neuron_parameter``,
correlation resets into ``ctx.correlation(reset=True)``, the ``Recording`` into
``ctx.record_observable(name, value)``. Correlation reads (libnux, grenade) are the hardware's CADC
codes: ``CORRELATION_RESET_CODE`` right after a reset, falling as correlated pairs accumulate
(floored at 0) — kernels written for the chip take ``baseline - read`` as the correlation (the
Python kernels' ``ctx.correlation()`` gives the accumulation itself, rising from 0). Spike
counters (halco/stadls reads, ``NeuronViewHandle::get_rate_counter``) are the chip's, shared by
all its kernels (``ctx.rate_counters()``): a reset in one rule resets them for the others.

Each PPU of each chip is a child process of the emulator that shares the chip state with it
through a memory-mapped file. The trade-off: a call costs a pipe round trip per PPU and a copy
of the chip state (~0.8 MB), but a kernel that crashes (segmentation fault, abort, uncaught
exception, ``exit``) or hangs (``timeout_s``) cannot take the emulator with it — the run fails
with a ``PlasticityError`` that names the rule, the time, the chip, the PPU and the signal, and
quotes what the kernel printed. Kernel globals live as long as the child: a run that starts
again (its time goes back) starts fresh children.

Deviations from the hardware, by design of the emulator: a correlation reset resets all sensors
of the chip at the next window (the hardware resets the given synapses at once; within the
invocation the reset ones read the reset code either way); ``reset_neurons()`` does nothing; the
parallel random generator is not the hardware's sequence; memory has the host's byte order
(little-endian; the PPU's is big-endian), so a kernel that stores a multi-byte value into the
bytes of an observable (ts_07-pong's mean reward: ``*reinterpret_cast<float*>(array)``) records
them in the host's order, and a script that reverses them for the PPU's reads another value.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import struct
import subprocess
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from ..errors import PlasticityError
from ..protocol import coordinates as C
from ..protocol.hardware import NEURON_PARAMETERS
from ..units import CHIP_CLOCK_MHZ
from . import kernels as K
from .cpp_build import Observable, View, build, entry_source, recording_size

# the layout of bss2emu/ppu_state.h's ChipState (its static_asserts check the same offsets)
_H, _R, _C = C.HEMISPHERES, C.ROWS_PER_HEMISPHERE, C.COLUMNS_PER_HEMISPHERE
STATE_LAYOUT = np.dtype([
    ("error", "S4096"), ("time_cycles", "<u8"),
    ("weights", "u1", (_H, _R, _C)), ("causal", "u1", (_H, _R, _C)), ("acausal", "u1", (_H, _R, _C)),
    ("correlation_reset", "u1", (_H, _R, _C)), ("cadc", "u1", (_H, _C)), ("rate_counters", "<u4", (_H, _C)),
    ("neuron_write_count", "<u4"), ("correlation_reset_code", "<u4"),
    ("neuron_writes", [("parameter", "<u2"), ("circuit", "<u2"), ("value", "<u2"), ("_pad", "<u2")], (4096,)),
])
PPU_NAMES = ("top", "bottom")
# A reset leaves a correlation sensor's accumulation capacitor at v_reset, which the CADC reads
# through the readout's source follower "near the upper end of the reliable range of the CADC"
# (calix CorrelationCalibOptions.v_reset, 1.85 V; v_res_meas, 0.9-0.95 V, resets the measurement
# capacitors and sets the amplitude, not the baseline); calix's measurement refuses baselines below
# 120 codes. No source gives the code: bss2emu takes 191 (900 mV on the CADC's 0-1200 mV).
# Correlated pairs lower it. The kernel's libnux reads give this CADC code minus the accumulation.
CORRELATION_RESET_MV = 900.0
CORRELATION_RESET_CODE = int(K.adc_codes(np.array([CORRELATION_RESET_MV]), C.CADC_BITS)[0])
_STOP = struct.pack("<Q", 2**64 - 1)
# the other commands of ppu_main.h
_INVOKE, _SAVE_GLOBALS, _RESTORE_GLOBALS, _READY = (struct.pack("<Q", c) for c in (0, 1, 2, 3))


class _Ppu:
    """One PPU: the kernel's process, fed through a command pipe, answering on a reply pipe."""

    def __init__(self, exe: Path, state_fd: int, hemisphere: int, rec_size: int) -> None:
        cmd_r, self.cmd_w = os.pipe()
        self.reply_r, reply_w = os.pipe()
        self.log = tempfile.TemporaryFile()  # the kernel's stdout and stderr, quoted when it fails
        env = {**os.environ, "BSS2EMU_PPU_STATE_FD": str(state_fd), "BSS2EMU_PPU_HEMISPHERE": str(hemisphere),
               "BSS2EMU_PPU_RECORDING": str(rec_size), "BSS2EMU_PPU_FDS": f"{cmd_r},{reply_w}"}
        self.proc = subprocess.Popen([str(exe)], env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, pass_fds=(cmd_r, reply_w, state_fd), close_fds=True)
        os.close(cmd_r)
        os.close(reply_w)

    def save_globals(self) -> bytes:
        """The kernel's globals: their size (8 bytes), their image at start-up and now."""
        os.write(self.cmd_w, _SAVE_GLOBALS)
        head = self._read(8)
        return head + self._read(2 * struct.unpack("<Q", head)[0])

    def restore_globals(self, saved: bytes, timeout_s: float) -> str | None:
        """Set the globals to what ``save_globals`` gave in another process of this kernel."""
        os.write(self.cmd_w, _RESTORE_GLOBALS + saved)
        return self._reply(timeout_s)

    def _read(self, n: int) -> bytes:
        parts = []
        while n > 0:
            chunk = os.read(self.reply_r, min(n, 1 << 20))
            if not chunk:
                raise OSError("the PPU process ended while sending its globals")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def ready(self, timeout_s: float) -> str | None:
        """Wait until the process has started up (its global constructors ran); None, or why not."""
        return self._command(_READY, timeout_s)

    def invoke(self, timeout_s: float) -> str | None:
        """Run the kernel once; None, or why it stopped."""
        return self._command(_INVOKE, timeout_s)

    def _command(self, command: bytes, timeout_s: float) -> str | None:
        try:
            os.write(self.cmd_w, command)
        except BrokenPipeError:
            pass  # the process ended: its reply (or its absence) says why
        return self._reply(timeout_s)

    def _reply(self, timeout_s: float) -> str | None:
        ready, _, _ = select.select([self.reply_r], [], [], timeout_s)
        if not ready:
            self.proc.kill()
            self.proc.wait()
            return f"did not finish within {timeout_s:g} s (timeout_s) and was stopped"
        if os.read(self.reply_r, 1) == b"\0":
            return None
        code = self.proc.wait()
        if code < 0:
            sig = signal.Signals(-code)
            return f"crashed with {sig.name} ({signal.strsignal(sig) or ''})"
        if code == 3:
            return "stopped"
        if code == 4:
            return "was given the globals of another build of the kernel"
        return f"exited with code {code}"

    def log_tail(self, limit: int = 2000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-limit:].strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.write(self.cmd_w, _STOP)
                self.proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for fd in (self.cmd_w, self.reply_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()


class _ChipRun:
    """The shared state and both PPU processes of one chip during one run.

    The state is an anonymous shared memory (memfd; elsewhere an unlinked temporary file) that
    the children inherit as a file descriptor: nothing is left behind when a process dies."""

    def __init__(self, exe: Path, rec_size: int) -> None:
        self.exe, self.rec_size = exe, rec_size
        size = STATE_LAYOUT.itemsize + 2 * rec_size
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("bss2emu-ppu-state")
        else:
            self.fd, path = tempfile.mkstemp(prefix="bss2emu-ppu-")
            os.unlink(path)
        os.ftruncate(self.fd, size)
        self.map = mmap.mmap(self.fd, size)
        self.state = np.ndarray((), STATE_LAYOUT, buffer=self.map)
        self.recordings = np.ndarray((2, rec_size), np.uint8, buffer=self.map, offset=STATE_LAYOUT.itemsize)
        self.ppus: list[_Ppu] = []
        self.last_time_ns = -1

    def start(self) -> None:
        self.ppus = [_Ppu(self.exe, self.fd, h, self.rec_size) for h in range(C.HEMISPHERES)]

    def close(self) -> None:
        for p in self.ppus:
            p.close()
        self.ppus = []
        self.state = self.recordings = None
        try:
            self.map.close()
        except BufferError:  # a view still alive; the mapping goes with it
            pass
        os.close(self.fd)


def _close_all(runs: dict) -> None:
    for run in list(runs.values()):
        run.close()
    runs.clear()


class CppKernel:
    """A plasticity rule's C++ kernel as a PPU kernel ``kernel(ctx)`` (picklable: compiled and
    started where it runs)."""

    def __init__(self, source: str, rule_name: str, projections: list[str] | tuple[str, ...] = (),
                 populations: list[str] | tuple[str, ...] = (), observables: dict[str, Any] | None = None,
                 timeout_s: float = 60.0) -> None:
        if not isinstance(source, str) or "PLASTICITY_RULE_KERNEL" not in source:
            raise PlasticityError(f"plasticity rule {rule_name!r}: the kernel source defines no "
                                  f"PLASTICITY_RULE_KERNEL (the entry point grenade calls)")
        self.source, self.rule_name = source, str(rule_name)
        self.projections, self.populations = list(projections), list(populations)
        self.observables = [Observable.parse(self.rule_name, n, s) for n, s in (observables or {}).items()]
        self.timeout_s = float(timeout_s)
        self._init_runtime()

    def _init_runtime(self) -> None:
        #: per chip, what a checkpoint kept of its PPUs (``globals_state``), restored at their start
        self.saved_globals: dict = getattr(self, "saved_globals", None) or {}
        self._runs: dict[int, _ChipRun] = {}
        self._builds: dict[tuple, tuple[Path, int, list[View], list[View]]] = {}
        self._views_of = None
        self._finalizer = weakref.finalize(self, _close_all, self._runs)

    def __getstate__(self) -> dict:
        """What a copy, a pickle and a checkpoint take: the source and, per chip whose PPUs
        run, their globals and rate counters (a copy goes on from there, in any process)."""
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["saved_globals"] = {**self.saved_globals, **self.globals_state()}
        return state

    def globals_state(self) -> dict:
        """Per chip with running PPUs: ``(executable, time_ns, [globals per PPU], rate counters)``."""
        out = {}
        for chip, run in self._runs.items():
            if run.ppus and all(p.proc.poll() is None for p in run.ppus):
                out[chip] = (str(run.exe), run.last_time_ns, [p.save_globals() for p in run.ppus],
                             run.state["rate_counters"].copy())
        return out

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def close(self) -> None:
        """Stop the kernel's processes (also done when the kernel is garbage collected)."""
        _close_all(self._runs)

    # --- views --------------------------------------------------------------------------
    def views(self, ctx) -> tuple[list[View], list[View]]:
        """The synapse and neuron views of this chip, in the order the kernel receives them."""
        synapses, neurons = [], []
        for name in self.projections:
            if name not in ctx.synapses:
                raise PlasticityError(f"plasticity rule {self.rule_name!r} works on projection {name!r}, which "
                                      f"does not exist; projections: {sorted(ctx.synapses)}")
            h, r, c = (np.asarray(x) for x in ctx.synapses[name])
            for hemi in range(C.HEMISPHERES):
                on = h == hemi
                if on.any():
                    synapses.append(View(hemi, tuple(np.unique(r[on]).tolist()), tuple(np.unique(c[on]).tolist())))
        for name in self.populations:
            if name not in ctx.placement:
                raise PlasticityError(f"plasticity rule {self.rule_name!r} works on population {name!r}, which "
                                      f"does not exist; populations: {sorted(ctx.placement)}")
            circ = np.asarray(ctx.placement[name])
            for hemi in range(C.HEMISPHERES):
                cols = circ[circ // C.COLUMNS_PER_HEMISPHERE == hemi] % C.COLUMNS_PER_HEMISPHERE
                if cols.size:
                    neurons.append(View(hemi, (), tuple(np.unique(cols).tolist())))
        return synapses, neurons

    def _build(self, ctx) -> tuple[Path, int, list[View], list[View]]:
        # a run hands every invocation the same placement dicts: derive the views once per run
        seen = self._views_of
        if seen is not None and seen[0] is ctx.synapses and seen[1] is ctx.placement:
            synapses, neurons = seen[2]
        else:
            synapses, neurons = self.views(ctx)
            self._views_of = (ctx.synapses, ctx.placement, (synapses, neurons))
        key = (tuple(synapses), tuple(neurons))
        if key not in self._builds:
            entry = entry_source(self.observables, synapses, neurons)
            exe = build(self.rule_name, self.source, entry)
            self._builds[key] = (exe, recording_size(self.observables, synapses, neurons), synapses, neurons)
        return self._builds[key]

    # --- one invocation -----------------------------------------------------------------
    def __call__(self, ctx) -> None:
        exe, rec_size, synapses, neurons = self._build(ctx)
        chip = int(getattr(ctx, "chip_id", 0))
        time_ns = int(round(ctx.time_us * 1e3))
        run = self._runs.get(chip)
        if run is not None and (run.exe != exe or time_ns <= run.last_time_ns):
            run.close()  # another placement, or a new run: fresh PPUs
            run = None
        saved = None
        if run is None:
            run = self._runs[chip] = _ChipRun(exe, rec_size)
            saved = self.saved_globals.pop(chip, None)  # a copy of a checkpoint: go on from there
            if saved is not None and saved[1] < time_ns:
                run.state["rate_counters"] = saved[3]
            else:
                saved = None
        run.last_time_ns = time_ns
        st = run.state
        np.copyto(st["weights"], ctx.read_weights(), casting="unsafe")
        before = st["weights"].copy()
        if self.reads_correlation:
            ctx.correlation_codes_into(st["causal"], st["acausal"])
        st["cadc"] = np.asarray(ctx.membranes()).reshape(_H, _C)
        counters = np.minimum(ctx.rate_counters(), 2**32 - 1).reshape(_H, _C)  # the chip's, shared by its kernels
        st["rate_counters"] = counters
        st["correlation_reset"] = 0
        st["correlation_reset_code"] = CORRELATION_RESET_CODE
        st["neuron_write_count"] = 0
        st["time_cycles"] = int(round(time_ns * CHIP_CLOCK_MHZ / 1e3))
        run.recordings[:] = 0
        if not run.ppus:
            self._start(run, saved, ctx, chip)
        for hemi, ppu in enumerate(run.ppus):
            st["error"] = b""
            why = ppu.invoke(self.timeout_s)
            if why is not None:
                self._stopped(run, chip, hemi, f"{why} at {ctx.time_us:.3f} µs")
        self._apply(ctx, run, before, counters.reshape(-1), synapses, neurons)

    def _stopped(self, run: _ChipRun, chip: int, hemi: int, what: str) -> None:
        """A PPU process failed: close the run and raise with what the kernel reported and printed."""
        detail = run.state["error"].item().decode(errors="replace").strip()
        log = run.ppus[hemi].log_tail()
        self._runs.pop(chip, None)
        run.close()
        raise PlasticityError(
            f"PPU kernel {self.rule_name!r} (C++) {what} on chip {chip}, PPU {PPU_NAMES[hemi]}"
            + (f": {detail}" if detail else "") + (f"\nits output:\n{log}" if log else ""))

    def _start(self, run: _ChipRun, saved: tuple | None, ctx, chip: int) -> None:
        """Start the PPUs, whose global constructors run as the real PPU program's do: at program
        start, before the experiment. They see the chip as it is then — correlation sensors just
        reset, spike counters at 0 (ts_07-pong's ``get_baselines()``: ``reset_all_correlations()``
        and a read of every row) — and what they reset of sensors and counters is reset at the
        run's start, before anything accumulated: it leaves the first invocation's reads alone
        (before, the constructor's reset wiped the correlations of the first invocation of every
        run, and the Pong kernel lost the update of row 0)."""
        st = run.state
        now = {k: st[k].copy() for k in ("causal", "acausal", "rate_counters")}
        st["causal"] = 0  # accumulations: 0 reads the reset code
        st["acausal"] = 0
        st["rate_counters"] = 0
        st["error"] = b""
        run.start()  # after the state is filled: the kernel's globals may read it
        for hemi, ppu in enumerate(run.ppus):
            why = ppu.ready(self.timeout_s)
            if why is not None:
                self._stopped(run, chip, hemi, f"{why} at start-up (its global constructors)")
        for k, v in now.items():
            st[k] = v
        st["correlation_reset"] = 0
        if saved is not None:
            self._restore(run, saved, ctx, chip)

    def _restore(self, run: _ChipRun, saved: tuple, ctx, chip: int) -> None:
        exe, _, images, _ = saved
        if exe != str(run.exe):
            raise PlasticityError(f"PPU kernel {self.rule_name!r} (C++) on chip {chip}: the checkpoint holds the "
                                  f"globals of another build of the kernel ({exe}, now {run.exe}); restore it in the "
                                  f"placement it was taken in")
        for hemi, (ppu, image) in enumerate(zip(run.ppus, images)):
            why = ppu.restore_globals(image, self.timeout_s)
            if why is not None:
                self._runs.pop(chip, None)
                run.close()
                raise PlasticityError(f"PPU kernel {self.rule_name!r} (C++) {why} at {ctx.time_us:.3f} µs on chip "
                                      f"{chip}, PPU {PPU_NAMES[hemi]}, restoring its globals")

    @property
    def reads_correlation(self) -> bool:
        """Whether the kernel reads the correlation sensors: every read goes through a function
        named *correlation* (libnux, the view handles), so a kernel without the word needs
        neither the codes (a pass over 131,072 pairs) nor the sensors running
        (``protocol.sensor_use``)."""
        return "correlation" in self.source

    def _apply(self, ctx, run: _ChipRun, before: np.ndarray, counters: np.ndarray, synapses: list[View],
               neurons: list[View]) -> None:
        reset = np.flatnonzero(run.state["rate_counters"].reshape(-1) < counters)  # a kernel can only zero them
        if reset.size:
            ctx.reset_rate_counters(reset)
        after = run.state["weights"].reshape(-1)
        flat = _changed(before.reshape(-1), after)
        if flat.size:
            ctx.set_weights_at(flat, after[flat].astype(np.int64))
        if run.state["correlation_reset"].any():
            ctx.correlation(reset=True)
        n = int(run.state["neuron_write_count"])
        if n:
            _neuron_writes(ctx, run.state["neuron_writes"][:n])
        if self.observables:
            for name, value in decode_recordings(run.recordings, self.observables, synapses, neurons).items():
                ctx.record_observable(name, value)


def _neuron_writes(ctx, writes: np.ndarray) -> None:
    """The kernel's ``NeuronViewHandle::set_parameter`` calls (in call order) as
    ``ctx.set_neuron_parameter``: per parameter and circuit the last value written."""
    last = {(int(w["parameter"]), int(w["circuit"])): int(w["value"]) for w in writes}
    by_value: dict[tuple[int, int], list[int]] = {}
    for (parameter, circuit), value in last.items():
        by_value.setdefault((parameter, value), []).append(circuit)
    for (parameter, value), circuits in sorted(by_value.items()):
        ctx.set_neuron_parameter(NEURON_PARAMETERS[parameter].name, np.array(sorted(circuits)), value)


@njit(cache=True)
def _changed(before, after):
    """Flat indices where ``after`` differs from ``before`` (1-d, equally long)."""
    out = np.empty(before.shape[0], np.int64)
    k = 0
    for i in range(before.shape[0]):
        if before[i] != after[i]:
            out[k] = i
            k += 1
    return out[:k]


def decode_recordings(recordings: np.ndarray, observables: list[Observable], synapses: list[View],
                      neurons: list[View]) -> dict[str, Any]:
    """Both PPUs' serialized ``Recording`` → ``{name: value}``: per-synapse and per-neuron
    observables a list with one array per view (taken from the PPU of the view's hemisphere),
    arrays an array ``[ppu, index]`` (top, bottom)."""
    out: dict[str, Any] = {}
    offsets = [8, 8]
    for o in observables:
        dtype = np.dtype(o.type).newbyteorder("<")
        parts = []
        views = synapses if o.kind == "synapse" else neurons
        for i, shape in enumerate(o.shapes(synapses, neurons)):
            n = int(np.prod(shape)) * dtype.itemsize
            per_ppu = [recordings[p, offsets[p]:offsets[p] + n].view(dtype).reshape(shape).copy() for p in (0, 1)]
            offsets = [x + n for x in offsets]
            parts.append(np.stack(per_ppu) if o.kind == "array" else per_ppu[views[i].hemisphere])
        out[o.name] = parts[0] if o.kind == "array" else parts
    return out
