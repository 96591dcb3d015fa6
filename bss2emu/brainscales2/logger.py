"""``pynn.logger``: pylogging's interface (``default_config``, ``get``, ``set_loglevel``,
``LogLevel``, loggers with ``TRACE``…``FATAL`` methods) — the one that ``bss2emu.stack``
serves as pylogging and ``dlens_vx_v3.logger``."""

from ..stack.logger import LogLevel, Logger, default_config, get, get_root, reset, set_loglevel

__all__ = ["LogLevel", "Logger", "get", "get_root", "set_loglevel", "default_config", "reset"]
