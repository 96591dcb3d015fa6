"""How many threads a host steps its chips with, and when it uses them.

``host_kernel.run_windows`` integrates the chips of a window side by side on numba's threads
when asked (``parallel``); the results are the same for any count. This module decides the
count (``host_threads``: the run option, ``$BSS2EMU_HOST_THREADS``, the cores when the host
has the machine to itself), whether a call may go parallel now (``parallel_section``), and
whether it pays (``ThreadChoice``: on a busy machine a second thread may find no free core),
and, at import, keeps numba's threads off another package's OpenMP runtime — NEST's
(``settle_threading_layer``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from contextlib import contextmanager

import numba

from ..errors import ConfigError

THREADS_ENV = "BSS2EMU_HOST_THREADS"
THREADS_MIN_CORES = 3
"""A host alone on the machine steps its chips on threads by default only where it has at
least this many cores: on two, the second thread takes the core every other thread of the
machine needs, and a window's fork and join cost about what the chips' work shared saves
(``benchmarks/vs_peers.py``, 2048 neurons on cube-4, 2 cores: on one thread 0.28-0.30 s per
biological second, with the choice of two threads or one 0.29-0.39 on an idle machine, and 1.5x
one thread's time on a busy one, where it used the threads in 12 of 14 calls)."""


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def global_openmp_runtime() -> str | None:
    """The OpenMP runtime that a library loaded from now on binds its ``omp_*`` calls to
    (the process's global symbol scope: a library opened with ``RTLD_GLOBAL`` — NEST's
    bundled libgomp, which ``import nest`` opens so), as its file name; None when there is
    none (or the platform has no ``dlopen``)."""
    try:
        scope = ctypes.CDLL(None)
        address = ctypes.cast(scope.omp_set_num_threads, ctypes.c_void_p).value
        info = _DlInfo()
        if scope.dladdr(ctypes.c_void_p(address), ctypes.byref(info)) and info.dli_fname:
            return os.fsdecode(info.dli_fname)
        return "an OpenMP runtime"
    except (OSError, AttributeError, TypeError):
        return None


def settle_threading_layer() -> None:
    """Keep numba's threads off another package's OpenMP runtime (called at import).

    numba's ``omp`` layer (its default without TBB) calls ``omp_set_num_threads`` when its
    pool starts. Opened after ``import nest``, its module binds that call to NEST's libgomp
    (``nest/ll_api.py`` opens NEST's kernel with ``RTLD_GLOBAL`` and leaves the flag set),
    so NEST's next parallel region — ``ResetKernel``, ``Simulate`` — runs on as many
    threads as numba has, more than NEST's kernel allocated (``local_num_threads``): a
    segmentation fault in NEST's worker thread. The same when torch (which makes the
    system libgomp global) is imported before NEST and numba's pool starts after NEST. So,
    before any such runtime, the pool starts here (its module opened privately, bound to its
    own libgomp; its thread count set before NEST's kernel starts; a process forked from
    this one then steps its chips serially, ``parallel_section``); after one, numba uses
    its ``workqueue`` layer (same results; one parallel call at a time, as
    ``parallel_section`` runs them anyway). An explicit ``NUMBA_THREADING_LAYER=omp`` then
    is an error: unset it or import bss2emu before NEST."""
    try:
        numba.threading_layer()
        return  # the pool runs already (started by the user): its layer stays
    except ValueError:
        pass
    runtime = global_openmp_runtime()
    if runtime is None:
        global _parallel_pid
        flags = sys.getdlopenflags() if hasattr(sys, "getdlopenflags") else None
        try:
            if flags is not None:
                sys.setdlopenflags(os.RTLD_NOW)  # not RTLD_GLOBAL: its libgomp serves it alone
            numba.get_num_threads()  # starts the pool: its omp_set_num_threads is behind us
        finally:
            if flags is not None:
                sys.setdlopenflags(flags)
        if numba.threading_layer() == "omp":
            _parallel_pid = os.getpid()  # a forked child's parallel call would end it (GNU OpenMP)
    elif numba.config.THREADING_LAYER == "omp":
        raise ConfigError(
            f"NUMBA_THREADING_LAYER='omp' after {runtime} was loaded into the global symbol scope (by "
            f"'import nest', say): numba's omp layer would set that runtime's thread count to "
            f"{numba.config.NUMBA_NUM_THREADS} and crash NEST; unset NUMBA_THREADING_LAYER (bss2emu then uses "
            f"'workqueue'), set it to 'workqueue', or import bss2emu before nest")
    elif numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"



def host_threads(requested: int | None, n_chips: int, alone: bool) -> int:
    """How many threads a host steps its ``n_chips`` chips with (``run_windows``'s
    ``parallel``): ``requested`` (the run option ``host_threads``), else
    ``$BSS2EMU_HOST_THREADS``, else — for a host that has the machine to itself (``alone``:
    the ``local`` placement) — numba's thread count (``NUMBA_NUM_THREADS``, the cores) or
    ``$OMP_NUM_THREADS`` if smaller (Ray sets it in its workers, batch schedulers in their
    jobs) where that is at least ``THREADS_MIN_CORES``, and 1 for fewer and for a host that
    shares the machine (a Ray actor: the actors fill the cores). Never more than one per
    chip. Results are the same for any count.

    >>> host_threads(None, 1, alone=True), host_threads(1, 4, alone=True)
    (1, 1)
    """
    source = "host_threads"
    if requested is None and os.environ.get(THREADS_ENV, "").strip():
        source, requested = f"${THREADS_ENV}", os.environ[THREADS_ENV].strip()
    limit = numba.config.NUMBA_NUM_THREADS
    if requested is None:
        requested = 1
        if alone:
            omp = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
            cores = min(limit, int(omp)) if omp.isdigit() and int(omp) > 0 else limit
            requested = cores if cores >= THREADS_MIN_CORES else 1
    try:
        count = int(requested)
    except (TypeError, ValueError):
        count = 0
    if str(count) != str(requested).strip() or not 1 <= count <= limit:
        raise ConfigError(f"{source}={requested!r}: give a whole number of threads from 1 to {limit} (numba's "
                          f"thread pool, NUMBA_NUM_THREADS, set before Python starts)")
    return max(1, min(count, n_chips))


class ThreadChoice:
    """Whether a host's next kernel call steps its chips on its threads or on one: the way
    that ran the recent calls faster per step (the results are the same either way — on a
    busy machine a second thread may find no free core and only add waiting), the other
    tried again every ``probe_every`` calls. A host with threads splits its runs into calls
    of at most ``WINDOWS_PER_CALL`` windows to have calls to compare.

    >>> choice = ThreadChoice(probe_every=4)
    >>> [choice.pick() for _ in range(1)], choice.record(True, 2.0, 10)
    ([True], None)
    >>> choice.pick(), choice.record(False, 1.0, 10)
    (False, None)
    >>> [choice.pick() for _ in range(4)]  # one thread was faster; threads again at every 4th
    [False, True, False, False]
    """

    WINDOWS_PER_CALL = 128

    def __init__(self, probe_every: int = 8) -> None:
        self.probe_every = probe_every
        self.seconds_per_step = {True: None, False: None}  # recent calls, averaged
        self.calls = {True: 0, False: 0}
        self._picks = 0

    def pick(self) -> bool:
        self._picks += 1
        par, one = self.seconds_per_step[True], self.seconds_per_step[False]
        if par is None or one is None:
            return par is None
        best = par <= one
        return best != (self._picks % self.probe_every == 0)

    def record(self, parallel: bool, seconds: float, steps: int) -> None:
        per_step = seconds / max(1, steps)
        old = self.seconds_per_step[parallel]
        self.seconds_per_step[parallel] = per_step if old is None else 0.5 * (old + per_step)
        self.calls[parallel] += 1


_parallel_gate = threading.Lock()  # one parallel call at a time per process
_parallel_pid: int | None = None  # the process that first ran a parallel call


@contextmanager
def parallel_section(threads: int):
    """Yields whether a ``run_windows`` call may integrate its chips on ``threads`` threads
    (``numba.set_num_threads`` of the calling thread, restored afterwards). Serial — with
    the same results — when ``threads`` is 1, while another thread of this process is in a
    parallel call (numba's ``workqueue`` layer allows one at a time, and two would share the
    cores anyway), and in a process forked from one that ran a parallel call (GNU OpenMP, the
    ``omp`` layer, does not survive a fork)."""
    global _parallel_pid
    if threads <= 1 or _parallel_pid not in (None, os.getpid()) or not _parallel_gate.acquire(blocking=False):
        yield False
        return
    try:
        _parallel_pid = os.getpid()
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            yield True
        finally:
            numba.set_num_threads(before)
    finally:
        _parallel_gate.release()


settle_threading_layer()
