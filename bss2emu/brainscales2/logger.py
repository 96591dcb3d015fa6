"""``pynn.logger``: pylogging's interface (``default_config``, ``get``, ``set_loglevel``,
``LogLevel``, loggers with ``TRACE``…``FATAL`` methods) over Python's ``logging``."""

from __future__ import annotations

import enum
import logging
import sys


class LogLevel(enum.IntEnum):
    """pylogging's levels, as Python ``logging`` levels."""

    ALL = 1
    TRACE = 5
    DEBUG = logging.DEBUG
    INFO = logging.INFO
    WARN = logging.WARNING
    ERROR = logging.ERROR
    FATAL = logging.CRITICAL


class Logger:
    """A named logger with pylogging's methods (``log.INFO("text")``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._log = logging.getLogger(f"bss2emu.brainscales2.{name}")

    def _emit(self, level: LogLevel, *message) -> None:
        self._log.log(int(level), " ".join(str(m) for m in message))

    def TRACE(self, *message):  # noqa: N802 - pylogging's names
        self._emit(LogLevel.TRACE, *message)

    def DEBUG(self, *message):  # noqa: N802
        self._emit(LogLevel.DEBUG, *message)

    def INFO(self, *message):  # noqa: N802
        self._emit(LogLevel.INFO, *message)

    def WARN(self, *message):  # noqa: N802
        self._emit(LogLevel.WARN, *message)

    def ERROR(self, *message):  # noqa: N802
        self._emit(LogLevel.ERROR, *message)

    def FATAL(self, *message):  # noqa: N802
        self._emit(LogLevel.FATAL, *message)

    # Python-style names, which pylogging's loggers also answer to
    trace, debug, info, warn, error, fatal = TRACE, DEBUG, INFO, WARN, ERROR, FATAL


_ROOT = logging.getLogger("bss2emu.brainscales2")


def get(name: str) -> Logger:
    """The logger called ``name``."""
    return Logger(name)


def set_loglevel(logger: Logger, level: LogLevel) -> None:
    """Show ``logger``'s messages from ``level`` on."""
    logger._log.setLevel(int(level))


def default_config(level: LogLevel = LogLevel.WARN, fname: str = "", print_location: bool = False,
                   color: bool = True, date_format: str = "RELATIVE") -> None:
    """Log from ``level`` on to stderr (or the file ``fname``); ``print_location``, ``color``
    and ``date_format`` only change how messages look on the real stack and are accepted."""
    handler = logging.FileHandler(fname) if fname else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    _ROOT.handlers[:] = [handler]
    _ROOT.setLevel(int(level))
    _ROOT.propagate = False


def reset() -> None:
    """Back to Python's default handling (pylogging's ``reset``)."""
    _ROOT.handlers[:] = []
    _ROOT.setLevel(logging.NOTSET)
    _ROOT.propagate = True
