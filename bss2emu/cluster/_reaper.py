"""Watchdog for an embedded Ray: ends Ray's processes when the driver dies, however it dies.

Run as a separate process (``python -I _reaper.py ROOT_PID...``) with a pipe from the
driver on stdin. While the pipe is open it notes, every ``POLL_S``, the processes that
descend from the Ray processes the driver started (GCS, raylet, monitors — and, below the
raylet, the agents and workers), with their start times. When the pipe closes — the driver
exited or was killed with SIGKILL — it sends SIGTERM to every noted process that still runs
(same pid *and* start time, so a reused pid is never hit), waits ``GRACE_S``, then SIGKILL.

Ray's own fate sharing (``PR_SET_PDEATHSIG``) covers only the driver's direct children: the
raylet's agents and workers outlive it for minutes. Imports nothing of bss2emu (or Ray), so
it starts in milliseconds. Linux only (``/proc``); elsewhere it exits at once.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

POLL_S = 0.5
GRACE_S = 2.0


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2:].split()[19])


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _note(tracked: dict[int, int]) -> None:
    """Add the living descendants of the tracked processes (and drop the dead)."""
    kids = _children()
    stack = list(tracked)
    while stack:
        pid = stack.pop()
        for child in kids.get(pid, ()):
            if child not in tracked and child != os.getpid():
                started = _start_time(child)
                if started is not None:
                    tracked[child] = started
                    stack.append(child)
    for pid in [p for p, t in tracked.items() if _start_time(p) != t]:
        del tracked[pid]


def _signal_all(tracked: dict[int, int], sig: int) -> int:
    alive = 0
    for pid, started in tracked.items():
        if _start_time(pid) == started:
            alive += 1
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    return alive


def main(argv: list[str]) -> int:
    if not os.path.isdir("/proc"):
        return 0
    tracked = {pid: t for pid in map(int, argv) if (t := _start_time(pid)) is not None}
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], POLL_S)
        if ready and not os.read(stdin.fileno(), 4096):
            break  # EOF: the driver is gone
        _note(tracked)
    _note(tracked)
    if _signal_all(tracked, signal.SIGTERM):
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and _signal_all(tracked, 0):
            time.sleep(0.1)
        _signal_all(tracked, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for the driver's terminal is not for us
    sys.exit(main(sys.argv[1:]))
