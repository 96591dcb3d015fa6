"""hxcomm: connections to a chip — here to an emulated one. ``ManagedConnection()`` opens
the chip named by ``$BSS2EMU_CHIP_SERIAL`` (default 0; its fixed-pattern mismatch) or, with
``$BSS2EMU_CHIP_IDEAL=1``, an ideal chip without mismatch; ``bss2emu exec --serial N``
sets them for a script.

>>> from bss2emu.stack import hxcomm
>>> with hxcomm.ManagedConnection() as connection:
...     connection.get_unique_identifier()
['bss2emu_chip0']
"""

from __future__ import annotations

import os

from ..errors import ConfigError
from .emulated import EmulatedChip

ENV_SERIAL = "BSS2EMU_CHIP_SERIAL"
ENV_IDEAL = "BSS2EMU_CHIP_IDEAL"


def chip_identity() -> tuple[int, bool]:
    """(serial, ideal) of the emulated chip that connections and the nightly calibration use."""
    raw = os.environ.get(ENV_SERIAL, "0")
    try:
        serial = int(raw)
    except ValueError:
        raise ConfigError(f"${ENV_SERIAL}={raw!r} is not a chip serial number; set an integer >= 0") from None
    if serial < 0:
        raise ConfigError(f"${ENV_SERIAL}={serial} is negative; chip serial numbers are >= 0")
    ideal = os.environ.get(ENV_IDEAL, "0").strip().lower() in ("1", "true", "yes", "on")
    return serial, ideal


def unique_identifier(serial: int, ideal: bool) -> str:
    """The identifier a connection reports for a chip (the nightly calibration's key)."""
    return "bss2emu_ideal" if ideal else f"bss2emu_chip{int(serial)}"


class Connection:
    """A connection to an emulated chip; programs run on ``emulated_chip``."""

    def __init__(self, serial: int | None = None, ideal: bool | None = None) -> None:
        env_serial, env_ideal = chip_identity()
        self.serial = env_serial if serial is None else int(serial)
        self.ideal = env_ideal if ideal is None else bool(ideal)
        self.emulated_chip = EmulatedChip(self.serial, self.ideal)

    def get_unique_identifier(self) -> list[str]:
        return [unique_identifier(self.serial, self.ideal)]

    def get_hwdb_entry(self) -> list:
        """The setup's hardware-database entries (one emulated setup; its content is not used)."""
        return [{"identifier": unique_identifier(self.serial, self.ideal)}]

    def get_time_info(self) -> dict:
        return {"execution_duration_ns": self.emulated_chip.time_ns}

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        return None


def ManagedConnection(serial: int | None = None, ideal: bool | None = None) -> Connection:  # noqa: N802
    """Open a connection to the emulated chip (use as a context manager)."""
    return Connection(serial, ideal)


ConnectionHandle = Connection
SimConnection = ZeroMockConnection = ARQConnection = AxiConnection = QuiggeldyConnection = Connection

__all__ = ["ManagedConnection", "Connection", "ConnectionHandle", "chip_identity", "unique_identifier",
           "ENV_SERIAL", "ENV_IDEAL"]


def __getattr__(name: str):
    from . import missing_attribute

    raise missing_attribute("hxcomm", name, __all__)
