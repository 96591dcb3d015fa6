"""The runtime's modules import one way: no import circle in ``bss2emu.cluster``, counting
imports inside functions too (issue 16: backends → ray_backend → coordinator → backends was
one)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_pynn_structure", Path(__file__).resolve().parent.parent / "pynn" / "test_structure.py")
_structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_structure)


def test_cluster_has_no_import_circle():
    graph = _structure._imports("cluster")
    assert {"coordinator", "ray_backend", "backends", "peer_exchange", "host"} <= set(graph)
    assert _structure.find_cycle(graph) is None, _structure.find_cycle(graph)
