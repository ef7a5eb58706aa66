"""Read TOML files with errors that name the file, line and column.

Python 3.11's :mod:`tomllib` reports positions only inside the message text
(``"... (at line 3, column 7)"`` or ``"... (at end of document)"``); this
module turns that into an :class:`~tianshan.core.errors.InputError` with the
file and line set, and offers a best-effort lookup of the line that defines a
key (for messages about values that parse but do not validate).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tianshan.core.errors import InputError

_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_END = re.compile(r"\s*\(at end of document\)\s*$")


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML ``text``; a syntax error becomes :class:`InputError` ``source:line: ... (column c)``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = _POS.search(msg)
        if m:
            line, col = int(m.group(1)), int(m.group(2))
            msg = msg[: m.start()]
        else:
            lines = text.splitlines() or [""]
            line, col = len(lines), len(lines[-1]) + 1
            msg = _END.sub("", msg) + " at end of file"
        raise InputError(f"malformed TOML: {msg} (line {line}, column {col})", source, line) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (UTF-8). Missing/unreadable file or bad syntax: :class:`InputError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a TOML file", str(path)) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text ({err.reason} at byte {err.start})", str(path)) from None
    return parse_toml(text, str(path))


def find_key_line(text: str, dotted_key: tuple[str | int, ...]) -> int | None:
    """Best-effort 1-based line where ``dotted_key`` (e.g. ``("simulation", "seed")``) is assigned.

    Handles ``[table]`` headers, ``key = ...`` and ``table.key = ...`` forms;
    returns ``None`` when the key is not found that way (e.g. inline tables).
    """
    keys = [str(k) for k in dotted_key if not isinstance(k, int)]
    if not keys:
        return None
    table: list[str] = []
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    assign = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")
    for i, raw in enumerate(text.splitlines(), start=1):
        h = header.match(raw)
        if h:
            table = [p.strip().strip("\"'") for p in h.group(1).split(".")]
            if table == keys:
                return i
            continue
        a = assign.match(raw)
        if a:
            name = [p.strip().strip("\"'") for p in a.group(1).split(".")]
            full = table + name
            if full == keys or full == keys[: len(full)]:
                return i
    return None
