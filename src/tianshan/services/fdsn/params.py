"""Validation of FDSN requests against the spec tables (:mod:`.spec`): GET query strings and POST bodies.

Rules (FDSN Web Service Specifications 1.2, "Parameter conventions" and each service's
"POST" section):

* names are the long names or their aliases, lower case; an unknown name, a name given
  twice (also as long name + alias) or an empty value is a 400;
* times are UTC, ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM:SS`` or with a fraction of up to
  six digits (more are truncated to microseconds); a trailing ``Z`` is accepted;
* booleans are ``true`` / ``false`` (any case); choices are compared without case;
* code lists are comma-separated; codes are letters, digits, ``*``, ``?`` (and ``-``
  in ``--``, the empty location code);
* a POST body is ``key=value`` lines (only parameters marked ``post`` in the spec),
  then one ``NET STA LOC CHA START END`` line per selection; blank lines and lines
  starting with ``#`` are skipped.

Cross-parameter checks: ``starttime`` after ``endtime``, ``minlatitude`` above
``maxlatitude``, min above max for depth, magnitude and radius are 400s.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Mapping

from tianshan.services.fdsn.errors import BadRequest, TooLarge
from tianshan.services.fdsn.spec import Param, Service

_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?Z?$")
_CODE = re.compile(r"^[A-Za-z0-9*?]*$")
#: Upper bound on request lines of one POST body (a longer request is a 413).
MAX_POST_LINES = 10_000


@dataclass(frozen=True)
class Query:
    """Validated parameters: every parameter of the service (defaults filled in) and the names given."""

    values: Mapping[str, object]
    given: frozenset[str]

    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        value = self.values.get(name)
        return default if value is None else value

    def has(self, *names: str) -> bool:
        """Whether any of ``names`` was given in the request."""
        return any(n in self.given for n in names)


@dataclass(frozen=True)
class Selection:
    """One request line: code patterns (lists, wildcards) and an optional time window."""

    network: tuple[str, ...]
    station: tuple[str, ...]
    location: tuple[str, ...]
    channel: tuple[str, ...]
    start: datetime | None
    end: datetime | None


def parse_time(text: str, name: str) -> datetime:
    """An FDSN time (see the module docstring) as an aware UTC datetime; 400 otherwise."""
    m = _TIME.match(text.strip())
    if m is None:
        raise BadRequest(f"{name}: not a time (expected YYYY-MM-DDTHH:MM:SS[.ssssss]): {text!r}")
    year, month, day, hour, minute, second, frac = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro,
                        tzinfo=timezone.utc)
    except ValueError as err:
        raise BadRequest(f"{name}: not a valid time: {text!r} ({err})") from None


def _number(p: Param, text: str) -> float | int:
    try:
        value = int(text) if p.type == "int" else float(text)
    except ValueError:
        raise BadRequest(f"{p.name}: expected {'an integer' if p.type == 'int' else 'a number'}, got {text!r}") \
            from None
    if p.type == "float" and not math.isfinite(value):
        raise BadRequest(f"{p.name}: expected a finite number, got {text!r}")
    if p.minimum is not None and value < p.minimum or p.maximum is not None and value > p.maximum:
        lo = "" if p.minimum is None else f"{p.minimum:g} <= "
        hi = "" if p.maximum is None else f" <= {p.maximum:g}"
        raise BadRequest(f"{p.name}: expected {lo}{p.name}{hi}, got {text!r}")
    return value


def _codes(p: Param, text: str) -> tuple[str, ...]:
    out = []
    for item in text.split(","):
        code = item.strip()
        if p.name == "location" and code == "--":
            code = ""
        elif not code:
            raise BadRequest(f"{p.name}: empty code in {text!r}")
        if not _CODE.match(code) or len(code) > 8:
            raise BadRequest(f"{p.name}: not a code pattern (letters, digits, * and ?): {item.strip()!r}")
        out.append(code)
    return tuple(dict.fromkeys(out))


def convert(p: Param, text: str):
    """The value of ``p`` written as ``text``, converted and checked; 400 if unusable."""
    text = text.strip()
    if not text:
        raise BadRequest(f"{p.name}: empty value")
    if p.type == "time":
        return parse_time(text, p.name)
    if p.type in ("int", "float"):
        return _number(p, text)
    if p.type == "bool":
        low = text.lower()
        if low not in ("true", "false"):
            raise BadRequest(f"{p.name}: expected true or false, got {text!r}")
        return low == "true"
    if p.type == "choice":
        for allowed in p.allowed:
            if text.lower() == allowed.lower():
                return allowed
        raise BadRequest(f"{p.name}: expected one of {', '.join(p.allowed)}, got {text!r}")
    if p.multiple:
        if p.name in ("network", "station", "location", "channel"):
            return _codes(p, text)
        return tuple(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
    return text


def _default(p: Param):
    if p.multiple and p.default is None and p.name in ("network", "station", "location", "channel"):
        return ("*",)
    if p.type == "choice" and p.default is not None:
        return str(p.default)
    return p.default


def parse_items(service: Service, items: Iterable[tuple[str, str]], post: bool = False) -> Query:
    """Validate ``(name, value)`` pairs against ``service``; the :class:`Query` with defaults filled in."""
    given: dict[str, object] = {}
    for raw_name, text in items:
        name = raw_name.strip()
        try:
            p = service.param(name)
        except KeyError:
            raise BadRequest(f"unknown parameter {name!r} (see {service.path}application.wadl)") from None
        if post and not p.post:
            raise BadRequest(f"{p.name}: not allowed as key=value in a POST body (give it in the request lines)")
        if p.name in given:
            raise BadRequest(f"{p.name}: given more than once")
        given[p.name] = convert(p, text)
    values = {p.name: given.get(p.name, _default(p)) for p in service.params}
    query = Query(values, frozenset(given))
    _check_ranges(query)
    return query


def _check_ranges(q: Query) -> None:
    v = q.values
    pairs = (("starttime", "endtime"), ("minlatitude", "maxlatitude"), ("mindepth", "maxdepth"),
             ("minmagnitude", "maxmagnitude"), ("minradius", "maxradius"))
    for lo, hi in pairs:
        if v.get(lo) is not None and v.get(hi) is not None and v[lo] > v[hi]:
            raise BadRequest(f"{lo} must not be greater than {hi}")


def parse_post(service: Service, body: bytes, open_times: bool) -> tuple[Query, list[Selection]]:
    """A POST body: its ``key=value`` header as a :class:`Query` and its request lines.

    ``open_times`` allows ``*`` for the start or end of a line (station); otherwise both
    are required times (dataselect). Raises 400 for a malformed body and 413 beyond
    :data:`MAX_POST_LINES` request lines.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("POST body is not UTF-8 text") from None
    items: list[tuple[str, str]] = []
    lines: list[Selection] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            if lines:
                raise BadRequest(f"POST line {number}: key=value lines must come before the request lines")
            key, _, value = line.partition("=")
            items.append((key.strip(), value.strip()))
            continue
        lines.append(_post_line(service, line, number, open_times))
        if len(lines) > MAX_POST_LINES:
            raise TooLarge(f"more than {MAX_POST_LINES} request lines in one POST; split the request")
    if not lines:
        raise BadRequest("POST body has no request lines (NET STA LOC CHA START END)")
    return parse_items(service, items, post=True), lines


def _post_line(service: Service, line: str, number: int, open_times: bool) -> Selection:
    fields = line.split()
    if len(fields) != 6:
        raise BadRequest(f"POST line {number}: expected NET STA LOC CHA START END, got {line!r}")
    codes = [convert(service.param(name), value) for name, value in
             zip(("network", "station", "location", "channel"), fields[:4])]
    times: list[datetime | None] = []
    for name, value in zip(("starttime", "endtime"), fields[4:]):
        if value == "*" and open_times:
            times.append(None)
        else:
            times.append(parse_time(value, f"POST line {number} {name}"))
    if times[0] is not None and times[1] is not None and times[0] > times[1]:
        raise BadRequest(f"POST line {number}: start is after end")
    return Selection(*codes, times[0], times[1])


def get_selection(q: Query) -> Selection:
    """The single selection of a GET request (codes and time window from its parameters)."""
    return Selection(q["network"], q["station"], q["location"], q["channel"], q.get("starttime"), q.get("endtime"))
