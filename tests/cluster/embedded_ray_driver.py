"""A driver with an embedded Ray and live chip-host actors, for tests that kill it.

Runs a small 2-chip experiment in the per-chip placement (its host actors stay up, kept for a
next run), then prints one JSON line — the Ray processes under this driver, with their
listening TCP addresses — and sleeps until killed."""

from __future__ import annotations

import json
import os
import sys
import time

import bss2emu
from bss2emu.cluster import _reaper
from bss2emu.cluster.ray_runtime import ray_process_ids

EXP = {"runtime_us": 5, "chip": {"ideal": True},
       "populations": [{"name": "a", "size": 4, "chip": 0, "params": {"i_const": 900}},
                       {"name": "b", "size": 4, "chip": 1}],
       "projections": [{"pre": "a", "post": "b", "weight": 63}]}


def listening(pids: set[int]) -> list[str]:
    """Local addresses of the TCP sockets these processes listen on (from /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in fh.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # state LISTEN
                    found.append(cols[1].split(":")[0])
    return found


if __name__ == "__main__":
    res = bss2emu.run(EXP, chips=2, placement="per-chip")
    tracked = {pid: _reaper._start_time(pid) for pid in ray_process_ids()}
    _reaper._note(tracked)
    print(json.dumps({"pids": tracked, "listen_hex": listening(set(tracked) | {os.getpid()}),
                      "windows": res.metadata["windows"]}), flush=True)
    time.sleep(600)
    sys.exit(1)
