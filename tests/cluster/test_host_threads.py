"""A host steps its chips on several threads (``host_kernel.run_windows(parallel=True)``):
the results are those of one thread, bit for bit; the thread count is validated where the
user gives it; chips that share an array the kernel writes, a second parallel caller, and
one thread fall back to the serial loop."""

from __future__ import annotations

import contextlib
import threading
from unittest import mock

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bss2emu
from bss2emu.cluster import host as H
from bss2emu.cluster import host_kernel as HK
from bss2emu.cluster import host_threads as HT
from bss2emu.errors import ConfigError

from test_multichip import CHAIN

TWO = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread here (NUMBA_NUM_THREADS)")

# every chip's 512 neurons fire every few steps for 6000 steps in one window (no route
# between the chips: the window is max_window_steps long): each chip's output overflows its
# window buffer several times, so the parts and the grown buffers are exercised
BUSY = {"name": "busy", "seed": 5, "runtime_us": 600, "chip": {"ideal": True},
        "populations": [{"name": f"p{k}", "size": 512, "chip": k, "params": {"i_const": 1000 - 40 * k}}
                        for k in range(4)]}


def _run_counting_parallel(exp, threads: int, alternate: bool = False) -> tuple[bss2emu.Results, list[bool]]:
    """``bss2emu.run`` with ``host_threads``, and whether each kernel call ran in parallel
    (``alternate``: the calls take turns, threads and one, whichever is faster)."""
    seen = []
    real = HT.parallel_section

    @contextlib.contextmanager
    def watched(n):
        with real(n) as parallel:
            seen.append(parallel)
            yield parallel

    turns = iter(range(1 << 20))
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(HT, "parallel_section", watched))
        if alternate:
            stack.enter_context(mock.patch.object(HT.ThreadChoice, "pick", lambda self: next(turns) % 2 == 0))
        res = bss2emu.run(exp, system="cube-4", host_threads=threads, max_window_steps=6000)
    return res, seen


LONG_CHAIN = {**CHAIN, "runtime_us": 400}  # 667 windows: 6 calls of at most 128


@TWO
@pytest.mark.parametrize("exp, alternate", [(CHAIN, False), (BUSY, False), (LONG_CHAIN, True)],
                         ids=["chain", "busy", "chain-threads-and-one-by-turns"])
def test_two_threads_give_the_results_of_one_bit_for_bit(exp, alternate):
    one, serial = _run_counting_parallel(exp, 1)
    two, parallel = _run_counting_parallel(exp, 2, alternate)
    assert serial and not any(serial) and parallel[0]
    assert parallel == [i % 2 == 0 for i in range(len(parallel))] if alternate else all(parallel)
    assert len(parallel) > 4 or not alternate
    assert one.metadata["host_threads"] == [1] and two.metadata["host_threads"] == [2]
    assert one.spikes.num_rows > 0
    for name in one.tables:
        assert two.tables[name].equals(one.tables[name]), name
    for key in ("inter_chip_events", "windows", "madc"):
        assert two.metadata.get(key) == one.metadata.get(key), key


def test_a_host_goes_on_with_the_faster_way_and_tries_the_other_now_and_then():
    choice = HT.ThreadChoice(probe_every=5)
    picks = []
    for call in range(20):
        parallel = choice.pick()
        picks.append(parallel)
        busy_machine = call >= 10  # threads first twice as fast, then twice as slow
        choice.record(parallel, (2.0 if parallel == busy_machine else 1.0) * 100, 100)
    assert picks[:2] == [True, False]  # each way measured once
    assert picks[2:10] == [True, True, False, True, True, True, True, False]  # probes at calls 5, 10
    assert picks[-5:] == [False, False, False, False, True]
    assert choice.calls == {True: picks.count(True), False: picks.count(False)}


def test_busy_chips_overflow_their_window_buffers():
    """The premise of the ``busy`` case: more output per chip and window than a buffer part."""
    res = bss2emu.run(BUSY, system="cube-4", host_threads=1, max_window_steps=6000)
    per_chip = np.bincount(res.spikes["chip"].to_numpy(), minlength=4)
    part = 4 * (8 * (100 // 4 + 1) + 512) + 4096  # run_windows' part of a window without input
    assert res.metadata["windows"] == 1 and (per_chip > 3 * part).all()


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(-3, 2 * numba.config.NUMBA_NUM_THREADS + 3), st.booleans(),
                 st.sampled_from(["2", "two", "1.5", "", " 1"])))
def test_host_threads_accepts_whole_numbers_up_to_numbas_pool(value):
    limit = numba.config.NUMBA_NUM_THREADS
    ok = (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= limit) or (
        isinstance(value, str) and value.strip().isdigit() and 1 <= int(value) <= limit)
    if ok:
        assert HT.host_threads(value, 64, alone=False) == int(value)
        assert HT.host_threads(value, 1, alone=False) == 1  # never more than one per chip
    else:
        with pytest.raises(ConfigError, match=r"host_threads=.*from 1 to"):
            HT.host_threads(value, 64, alone=False)


def test_a_bad_thread_count_fails_before_the_run():
    with pytest.raises(ConfigError, match=rf"host_threads=0: .* from 1 to {numba.config.NUMBA_NUM_THREADS}"):
        bss2emu.run(CHAIN, system="cube-4", host_threads=0)


def test_the_default_is_the_cores_alone_and_one_beside_others(monkeypatch):
    monkeypatch.delenv(HT.THREADS_ENV, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    limit = numba.config.NUMBA_NUM_THREADS
    assert HT.host_threads(None, 64, alone=True) == (limit if limit >= HT.THREADS_MIN_CORES else 1)
    assert HT.host_threads(None, 64, alone=False) == 1
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 8)  # (read at each call)
    assert HT.host_threads(None, 64, alone=True) == 8 and HT.host_threads(None, 5, alone=True) == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # fewer cores granted: as many threads
    assert HT.host_threads(None, 64, alone=True) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # two cores: one thread (the fork and join cost what they save)
    assert HT.host_threads(None, 64, alone=True) == 1 and HT.host_threads(2, 64, alone=True) == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    assert HT.host_threads(None, 64, alone=True) == 1
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", limit)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as Ray sets it in a worker
    assert HT.host_threads(None, 64, alone=True) == 1
    monkeypatch.setenv(HT.THREADS_ENV, "1")
    assert HT.host_threads(None, 64, alone=True) == 1 and HT.host_threads(None, 64, alone=False) == 1
    monkeypatch.setenv(HT.THREADS_ENV, "lots")
    with pytest.raises(ConfigError, match=r"\$BSS2EMU_HOST_THREADS='lots'"):
        HT.host_threads(None, 64, alone=True)


@TWO
def test_a_second_caller_and_one_thread_run_serially():
    with HT.parallel_section(1) as one:
        assert not one
    with HT.parallel_section(2) as first:
        assert first and numba.get_num_threads() == 2
        inner = []
        t = threading.Thread(target=lambda: inner.append(HT.parallel_section(2).__enter__()))
        t.start()
        t.join()
        assert inner == [False]  # another thread is in a parallel call: this one goes serial
    with HT.parallel_section(2) as again:
        assert again  # the gate is free again


def test_chips_sharing_a_written_array_are_not_stepped_apart():
    per_chip = [[np.zeros(4) for _ in HK.FIELDS] for _ in range(2)]
    assert H._written_apart([a for arrays in per_chip for a in arrays], 2)
    shared = np.zeros(8)
    nstate = next(f for f, (name, _, _) in enumerate(HK.FIELDS) if name == "nstate")
    per_chip[0][nstate], per_chip[1][nstate] = shared[:5], shared[4:]  # one element in common
    assert not H._written_apart([a for arrays in per_chip for a in arrays], 2)
    coef = next(f for f, (name, _, _) in enumerate(HK.FIELDS) if name == "coef")
    per_chip[0][nstate], per_chip[1][nstate] = np.zeros(4), np.zeros(4)
    per_chip[0][coef] = per_chip[1][coef] = shared  # read only: may be shared
    assert H._written_apart([a for arrays in per_chip for a in arrays], 2)
