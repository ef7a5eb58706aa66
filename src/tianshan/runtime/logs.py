"""Structured logs of the daemon: one JSON object per line on stderr, or plain text.

JSON lines (``--log-format json``, the default of ``tianshan run``) carry ``ts`` (ISO 8601
UTC, milliseconds), ``level``, ``logger``, ``msg`` (the formatted message) and every *extra*
field given to the logging call (``log.info("event declared", extra={"event_id": eid})``),
plus ``exc`` (the traceback text) when an exception is logged. Values that JSON cannot hold
are written as their ``str``. One line per record, whatever the message contains, so a log
shipper (journald, Vector, Loki...) can parse every line.

Text (``--log-format text``): ``2024-05-01T12:00:00.123Z INFO tianshan.runtime: msg key=value``.

Chatty loggers (:data:`QUIET`: the batch picker's per-window "skipped" summary, Alembic's
migration banner) are raised to WARNING unless the level is DEBUG: a daemon running 600
channels would otherwise write tens of lines a second that say nothing about its health.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message", "asctime", "taskName"}
FORMATS = ("json", "text")
#: Loggers kept at WARNING unless the daemon logs at DEBUG (see the module docstring).
QUIET = ("tianshan.picks.base", "alembic.runtime.migration", "alembic.runtime.plugins")


def _ts(record: logging.LogRecord) -> str:
    t = datetime.fromtimestamp(record.created, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _extras(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": _ts(record), "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key, value in _extras(record).items():
            doc.setdefault(key, _jsonable(value))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, allow_nan=True, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``ts LEVEL logger: msg key=value ...`` (extras appended as ``key=value``)."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={_jsonable(v)}" for k, v in _extras(record).items())
        line = f"{_ts(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(fmt: str = "json", level: str | int = "INFO", stream=None) -> logging.Handler:
    """Send every log record to ``stream`` (stderr) in ``fmt``; replaces the root logger's handlers.

    Returns the handler installed (tests remove it with ``logging.getLogger().removeHandler``).
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {fmt!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else str(level).upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING)
    return handler
