"""numba's on-disk cache, kept in step with the sources compiled into it.

numba keys a cached function to the file that defines it (its modification time and size)
and to nothing else, while a compiled function holds the njit functions and module
constants it calls or reads compiled in: after an edit of ``libm_exp.py`` alone, the cached
``kernels.integrate_steps`` still runs the old ``exp`` (numba issue #6845). So on import of
the package, before anything compiled is loaded, ``drop_stale_caches`` deletes every cached
function of the package when any source that can be compiled in changed since the caches
were written: the modules that use numba, and the constants' modules ``COMPILED_CONSTANTS``
(a compiled module takes its constants from these or from its own kind). The digest of those
files is kept beside the caches. Best effort: a cache that cannot be read or written is
numba's to handle; caches outside the package (``NUMBA_CACHE_DIR``) are numba's as well.
"""

from __future__ import annotations

import glob
import hashlib
import os

COMPILED_CONSTANTS = ("protocol/coordinates.py", "units.py")
STAMP = os.path.join("__pycache__", "jit-sources.digest")


def compiled_sources(root: str) -> list[str]:
    """The package's files under ``root`` whose content can be compiled into a cached
    function, in a fixed order."""
    out = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        with open(path, "rb") as fh:
            if rel in COMPILED_CONSTANTS or b"numba" in fh.read():
                out.append(path)
    return out


def drop_stale_caches(root: str = os.path.dirname(os.path.abspath(__file__))) -> bool:
    """Delete numba's cache files (``*.nbi``, ``*.nbc``) under ``root`` when the digest of
    ``compiled_sources(root)`` differs from the one recorded at the last deletion (or none
    was); returns whether it did."""
    try:
        digest = hashlib.sha256()
        for path in compiled_sources(root):
            digest.update(os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as fh:
                digest.update(fh.read())
        stamp = os.path.join(root, STAMP)
        old = None
        if os.path.exists(stamp):
            with open(stamp) as fh:
                old = fh.read()
        if old == digest.hexdigest():
            return False
        for f in glob.glob(os.path.join(root, "**", "__pycache__", "*.nb[ic]"), recursive=True):
            os.remove(f)
        os.makedirs(os.path.dirname(stamp), exist_ok=True)
        with open(stamp, "w") as fh:
            fh.write(digest.hexdigest())
        return True
    except OSError:
        return False
