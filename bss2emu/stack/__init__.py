"""The real BSS-2 stack's lower layers (halco, lola, haldls, stadls, hxcomm, calix) as thin
views of bss2emu: coordinates and containers translate names at the edge, programs run on
the emulated chip. ``bss2emu exec`` binds them to the real module names (``dlens_vx_v3``, …)."""

from __future__ import annotations

import difflib


def missing_attribute(real_module: str, name: str, available) -> AttributeError:
    """The error for a name of the real stack that bss2emu's layer does not have: what it
    has that comes closest (module ``__getattr__`` hooks raise it)."""
    if name.startswith("__"):
        return AttributeError(name)
    close = difflib.get_close_matches(name, list(available), n=3, cutoff=0.5)
    return AttributeError(
        f"{real_module}.{name} is not emulated by bss2emu"
        + (f"; closest it has: {', '.join(close)}" if close else f"; it has {', '.join(sorted(available)[:12])}, …"))
