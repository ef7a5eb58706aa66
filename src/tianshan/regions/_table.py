"""Line-numbered CSV rows with field-level errors (private to the region readers).

Every error is an :class:`~tianshan.core.errors.InputError` naming the file,
the 1-based line number (header included, comment lines counted) and the
column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tianshan.core.errors import InputError


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its source file, line number and values by column name."""

    source: str
    line: int
    values: dict[str, str]

    def has(self, column: str) -> bool:
        return bool(self.values.get(column, "").strip())

    def text(self, column: str, required: bool = True) -> str:
        value = (self.values.get(column) or "").strip()
        if required and not value:
            raise InputError("missing value", self.source, self.line, column)
        return value

    def number(self, column: str, required: bool = True) -> float | None:
        value = self.text(column, required)
        if not value:
            return None
        try:
            v = float(value)
        except ValueError:
            raise InputError(f"not a number: {value!r}", self.source, self.line, column) from None
        if not math.isfinite(v):
            raise InputError(f"not finite: {value!r}", self.source, self.line, column)
        return v

    def integer(self, column: str, required: bool = True) -> int | None:
        value = self.text(column, required)
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            try:
                f = float(value)
            except ValueError:
                f = math.nan
            if math.isfinite(f) and f == int(f):
                return int(f)
            raise InputError(f"not an integer: {value!r}", self.source, self.line, column) from None

    def error(self, message: str, column: str | None = None) -> InputError:
        return InputError(message, self.source, self.line, column)


def read_text(path: Path) -> str:
    """Read a UTF-8 text file (a BOM is tolerated); errors name the file."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, expected a file", str(path)) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text ({err.reason} at byte {err.start})", str(path)) from None


def read_rows(path: str | Path, required: tuple[str, ...] = ()) -> tuple[list[str], Iterator[Row]]:
    """Header and data rows of a CSV file; lines starting with ``#`` and blank lines are skipped.

    Raises :class:`InputError` when the file is empty, a required column is
    missing, or a row has more fields than the header.
    """
    path = Path(path)
    source = str(path)
    lines = read_text(path).splitlines()
    numbered = [(i, ln) for i, ln in enumerate(lines, start=1) if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise InputError("no header line (empty CSV file)", source)
    reader = csv.reader([ln for _, ln in numbered])
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as err:
        raise InputError(f"garbled CSV header: {err}", source, numbered[0][0]) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in header {','.join(header)!r}",
                         source, numbered[0][0])

    def rows() -> Iterator[Row]:
        for (line, _), fields in zip(numbered[1:], _safe(reader, source, numbered)):
            if len(fields) > len(header):
                raise InputError(f"{len(fields)} fields, the header has {len(header)}", source, line)
            yield Row(source, line, dict(zip(header, fields)))

    return header, rows()


def _safe(reader, source: str, numbered: list[tuple[int, str]]) -> Iterator[list[str]]:
    k = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise InputError(f"garbled CSV: {err}", source, numbered[k][0] if k < len(numbered) else None) from None
        k += 1
        yield fields


def comments(path: str | Path) -> list[str]:
    """Text of the ``#`` comment lines of a file, without the ``#``."""
    return [ln.lstrip()[1:].strip() for ln in read_text(Path(path)).splitlines() if ln.lstrip().startswith("#")]
