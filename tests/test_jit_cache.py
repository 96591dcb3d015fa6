"""The package's numba caches are dropped when a source compiled into them changes
(``bss2emu._jit_cache``), and only then."""

from __future__ import annotations

import os

import bss2emu
from bss2emu import _jit_cache as J


def _package(root) -> None:
    for rel, text in {
        "chip_actor/kernels.py": "from numba import njit\n",
        "chip_actor/libm_exp.py": "import numba\n",
        "protocol/coordinates.py": "ROWS = 256\n",
        "units.py": "NS_PER_TICK = 8\n",
        "service/app.py": "print('no compiled code here')\n",
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _caches(root) -> list:
    out = []
    for d in ("chip_actor", "cluster"):
        cache = root / d / "__pycache__"
        cache.mkdir(parents=True, exist_ok=True)
        for name in ("m.f-1.py311.nbi", "m.f-1.py311.1.nbc"):
            (cache / name).write_bytes(b"x")
            out.append(cache / name)
    return out


def test_the_sources_are_the_compiled_modules_and_the_constants(tmp_path):
    _package(tmp_path)
    got = [os.path.relpath(p, tmp_path).replace(os.sep, "/") for p in J.compiled_sources(str(tmp_path))]
    assert got == ["chip_actor/kernels.py", "chip_actor/libm_exp.py", "protocol/coordinates.py", "units.py"]


def test_the_installed_package_lists_its_kernels():
    root = os.path.dirname(bss2emu.__file__)
    got = {os.path.relpath(p, root).replace(os.sep, "/") for p in J.compiled_sources(root)}
    assert {"chip_actor/kernels.py", "chip_actor/libm_exp.py", "chip_actor/pre_times.py", "cluster/host_kernel.py",
            "routing/interconnect.py", "protocol/coordinates.py", "units.py"} <= got
    assert "service/app.py" not in got


def test_a_changed_compiled_source_drops_every_cache_and_nothing_else_does(tmp_path):
    _package(tmp_path)
    assert J.drop_stale_caches(str(tmp_path))  # no digest yet: dropped
    caches = _caches(tmp_path)
    assert not J.drop_stale_caches(str(tmp_path))  # nothing changed
    assert all(c.exists() for c in caches)
    (tmp_path / "service" / "app.py").write_text("print('changed, not compiled')\n")
    assert not J.drop_stale_caches(str(tmp_path))
    assert all(c.exists() for c in caches)
    # a module compiled into another's cache (libm_exp into kernels): every cache goes
    (tmp_path / "chip_actor" / "libm_exp.py").write_text("import numba\nX = 1\n")
    assert J.drop_stale_caches(str(tmp_path))
    assert not any(c.exists() for c in caches)
    caches = _caches(tmp_path)
    assert not J.drop_stale_caches(str(tmp_path))
    (tmp_path / "protocol" / "coordinates.py").write_text("ROWS = 128\n")  # a constant compiled in
    assert J.drop_stale_caches(str(tmp_path))
    assert not any(c.exists() for c in caches)


def test_an_unwritable_cache_is_left_to_numba(tmp_path, monkeypatch):
    _package(tmp_path)

    def refuse(*a, **k):
        raise PermissionError("read-only")

    monkeypatch.setattr(J.os, "makedirs", refuse)
    assert J.drop_stale_caches(str(tmp_path)) is False  # no exception
