"""Structured logging through the host, which tags each line with the plugin's name.

``weft.log.info("mirrored", copies=3)`` sends a line with fields. The standard :mod:`logging`
module is routed to the host too (its root logger gets a handler that does this), and so is
``print``, as unstructured lines.
"""

import logging

from wit_world.imports.logging import Level
from wit_world.imports.logging import log as _log


def trace(message: str, **fields: object) -> None:
    _send(Level.TRACE, message, fields)


def debug(message: str, **fields: object) -> None:
    _send(Level.DEBUG, message, fields)


def info(message: str, **fields: object) -> None:
    _send(Level.INFO, message, fields)


def warn(message: str, **fields: object) -> None:
    _send(Level.WARN, message, fields)


def error(message: str, **fields: object) -> None:
    _send(Level.ERROR, message, fields)


def _send(level: Level, message: str, fields: dict[str, object]) -> None:
    _log(level, message, [(k, str(v)) for k, v in fields.items()])


class HostHandler(logging.Handler):
    """Sends :mod:`logging` records to the host, with the logger's name as a field."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            level = Level.ERROR
        elif record.levelno >= logging.WARNING:
            level = Level.WARN
        elif record.levelno >= logging.INFO:
            level = Level.INFO
        else:
            level = Level.DEBUG
        try:
            _send(level, self.format(record), {"logger": record.name})
        except Exception:
            self.handleError(record)


# The host filters by level, so the root logger passes everything on; level and logger name travel
# as the line's level and a field, so the message stays bare.
logging.basicConfig(level=logging.DEBUG, handlers=[HostHandler()], format="%(message)s", force=True)
