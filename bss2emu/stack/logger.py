"""pylogging / ``dlens_vx_v3.logger``: the real stack's logging calls over Python's
``logging`` (loggers under ``bss2emu.stack.<name>``).

>>> from bss2emu.stack import logger
>>> logger.default_config(level=logger.LogLevel.WARN)
>>> log = logger.get("demo")
>>> logger.set_loglevel(log, logger.LogLevel.INFO)
>>> log.INFO("hello")  # goes to the logging handlers
"""

from __future__ import annotations

import enum
import logging

_ROOT = "bss2emu.stack"


class LogLevel(enum.IntEnum):
    """pylogging's levels, valued as Python's."""

    ALL = 1
    TRACE = 5
    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARN = logging.WARNING
    ERROR = logging.ERROR
    FATAL = logging.CRITICAL
    OFF = logging.CRITICAL + 10


class Logger:
    """A named logger with pylogging's methods ``TRACE`` … ``FATAL``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._log = logging.getLogger(f"{_ROOT}.{name}" if name else _ROOT)

    def _emit(self, level: LogLevel, *parts) -> None:
        self._log.log(int(level), " ".join(str(p) for p in parts))

    def TRACE(self, *parts): self._emit(LogLevel.TRACE, *parts)  # noqa: E704,N802
    def DEBUG(self, *parts): self._emit(LogLevel.DEBUG, *parts)  # noqa: E704,N802
    def INFO(self, *parts): self._emit(LogLevel.INFO, *parts)  # noqa: E704,N802
    def WARN(self, *parts): self._emit(LogLevel.WARN, *parts)  # noqa: E704,N802
    def ERROR(self, *parts): self._emit(LogLevel.ERROR, *parts)  # noqa: E704,N802
    def FATAL(self, *parts): self._emit(LogLevel.FATAL, *parts)  # noqa: E704,N802

    # Python-style names, which pylogging's loggers also answer to
    trace, debug, info, warn, error, fatal = TRACE, DEBUG, INFO, WARN, ERROR, FATAL


def get(name: str) -> Logger:
    return Logger(name)


def get_root() -> Logger:
    return Logger("")


def set_loglevel(logger: Logger, level: LogLevel) -> None:
    logger._log.setLevel(int(level))


def default_config(level: LogLevel = LogLevel.WARN, fname: str = "", print_location: bool = False,
                   color: bool = True, date_format: str = "RELATIVE", **_) -> None:
    """Log at ``level`` and above to stderr (or to ``fname``)."""
    root = logging.getLogger(_ROOT)
    reset()  # a new configuration replaces the last one, as pylogging's does
    root.setLevel(int(level))
    handler = logging.FileHandler(fname) if fname else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler._bss2emu_stack = True
    root.addHandler(handler)


def reset() -> None:
    """Back to Python's default handling (pylogging's ``reset``)."""
    root = logging.getLogger(_ROOT)
    for h in [h for h in root.handlers if getattr(h, "_bss2emu_stack", False)]:
        root.removeHandler(h)
        h.close()
    root.setLevel(logging.NOTSET)


__all__ = ["LogLevel", "Logger", "get", "get_root", "set_loglevel", "default_config", "reset"]


def __getattr__(name: str):
    from . import missing_attribute

    raise missing_attribute("logger", name, __all__)
