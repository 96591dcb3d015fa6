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


# --- what pynn.brainscales2's ``helper`` loads (chip configurations) ---------------------

def chip_from_portable_binary(data: bytes):
    """The ``lola.Chip`` of bytes written by ``stadls.to_portablebinary``."""
    from . import stadls

    dumper = stadls.DumperDone()
    stadls.from_portablebinary(dumper, data)
    return stadls.convert_to_chip(dumper)


def chip_from_file(path):
    """The ``lola.Chip`` stored in the file ``path`` (``stadls.to_portablebinary``'s format)."""
    from pathlib import Path

    from ..errors import ConfigError

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read a chip configuration from {str(path)!r}: {err.strerror or err}; "
                          f"for the emulated chip's nightly calibration use helper.chip_from_nightly()") from None
    return chip_from_portable_binary(data)


def nightly_calib_path():
    """The file of the emulated chip's nightly calibration (``spiking_cocolist.pbin`` in
    bss2emu's calibration store, written on first use — calibrating the chip once)."""
    from ..calib.models import model_fingerprint
    from ..calib.result import CalibrationStore
    from . import calix, hxcomm, stadls

    serial, ideal = hxcomm.chip_identity()
    # keyed by the model's fingerprint, as the store's results: a changed model calibrates anew
    path = CalibrationStore().directory / "nightly" / hxcomm.unique_identifier(serial, ideal) / \
        model_fingerprint() / "spiking_cocolist.pbin"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(stadls.to_portablebinary(calix.nightly_chip(serial, ideal)))
        tmp.replace(path)
    return path


def chip_from_nightly():
    """The emulated chip's nightly calibration as a ``lola.Chip``."""
    from . import calix

    return calix.nightly_chip()
