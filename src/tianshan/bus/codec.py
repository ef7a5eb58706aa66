"""JSON encoding of domain objects for the bus: lossless, versioned, readable.

An encoded message is a UTF-8 JSON object ``{"type": "pick", "v": 1, "data": {...}, ...meta}``:
``type`` names the class (``pick``, ``origin``, ``magnitude``, ``event``, ``qc_record``,
``amplitude``), ``v`` the format version, ``data`` the object's fields under their own
names. Times are ISO 8601 UTC with microseconds (``2024-01-22T18:09:04.123456+00:00``),
stream ids ``NET.STA.LOC.CHA``, enums their value, nested objects (arrivals, ellipse,
station magnitudes, an event's origins...) nested objects. Floats are written with
Python's shortest round-trip repr, so ``decode(encode(x)) == x`` exactly. Extra
keyword arguments of :func:`encode` (``event_id=...``) travel beside ``data`` and come
back from :func:`decode_with_meta`.

A payload that is not such an object raises :class:`~tianshan.core.errors.InputError`
naming the field; the buses count it as a bad payload and drop it.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from enum import Enum
from functools import lru_cache

from tianshan.core import (Amplitude, Arrival, ErrorEllipse, Event, Magnitude, Origin, Pick, QCRecord,
                           StationMagnitude, StreamID)
from tianshan.core.errors import DomainError, InputError
from tianshan.core.timeutil import as_utc

#: Format version written in every message.
VERSION = 1

#: Top-level types a message may carry.
TYPES: dict[str, type] = {"pick": Pick, "origin": Origin, "magnitude": Magnitude, "event": Event,
                          "qc_record": QCRecord, "amplitude": Amplitude}
_NAMES = {cls: name for name, cls in TYPES.items()}
_NESTED = (Arrival, ErrorEllipse, StationMagnitude, Pick, Amplitude, Origin, Magnitude)
_SOURCE = "bus payload"


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _strip_optional(hint):
    """``X | None`` -> (X, True); anything else -> (hint, False)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _to_json(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, StreamID):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_to_json(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot encode {type(value).__name__} for the bus")


def _from_json(hint, value, where: str):
    hint, optional = _strip_optional(hint)
    if value is None:
        if optional:
            return None
        raise InputError("missing value", source=_SOURCE, field=where)
    try:
        if hint is datetime:
            return as_utc(value, where) if isinstance(value, str) else _bad(where, value)
        if hint is StreamID:
            return StreamID.parse(value) if isinstance(value, str) else _bad(where, value)
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(value)
        if typing.get_origin(hint) is tuple:
            item = typing.get_args(hint)[0]
            if not isinstance(value, list):
                _bad(where, value)
            return tuple(_from_json(item, v, f"{where}[{i}]") for i, v in enumerate(value))
        if hint in _NESTED or hint in TYPES.values():
            return _build(hint, value, where)
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                _bad(where, value)
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                _bad(where, value)
            return value
        if hint is str:
            return value if isinstance(value, str) else _bad(where, value)
        if hint is bool:
            return value if isinstance(value, bool) else _bad(where, value)
    except (DomainError, ValueError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(str(err), source=_SOURCE, field=where) from None
    raise TypeError(f"codec: no rule for field type {hint!r} ({where})")


def _bad(where: str, value):
    raise InputError(f"unexpected value {value!r}", source=_SOURCE, field=where)


def _build(cls: type, data, where: str):
    if not isinstance(data, dict):
        _bad(where, data)
    hints = _hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - fields
    if unknown:
        raise InputError(f"unknown field(s) {sorted(unknown)} for {cls.__name__}", source=_SOURCE, field=where)
    kwargs = {name: _from_json(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (DomainError, TypeError) as err:
        raise InputError(str(err), source=_SOURCE, field=where) from None


def to_dict(obj, **meta) -> dict:
    """The message dict of a domain object (``type``, ``v``, ``data`` and any ``meta``)."""
    name = _NAMES.get(type(obj))
    if name is None:
        raise TypeError(f"codec: cannot encode {type(obj).__name__} (known: {', '.join(TYPES)})")
    clash = set(meta) & {"type", "v", "data"}
    if clash:
        raise ValueError(f"codec: meta keys {sorted(clash)} are reserved")
    return {"type": name, "v": VERSION, "data": _to_json(obj), **{k: _to_json(v) for k, v in meta.items()}}


def from_dict(message: dict):
    """The domain object of a message dict (see :func:`to_dict`)."""
    return _from_message(message)[0]


def _from_message(message) -> tuple[object, dict]:
    if not isinstance(message, dict):
        raise InputError(f"expected a JSON object, got {type(message).__name__}", source=_SOURCE)
    name = message.get("type")
    cls = TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise InputError(f"unknown type {name!r} (known: {', '.join(TYPES)})", source=_SOURCE, field="type")
    if message.get("v") != VERSION:
        raise InputError(f"unsupported version {message.get('v')!r} (this reader: {VERSION})",
                         source=_SOURCE, field="v")
    if "data" not in message:
        raise InputError("missing data", source=_SOURCE, field="data")
    meta = {k: v for k, v in message.items() if k not in ("type", "v", "data")}
    return _build(cls, message["data"], name), meta


def encode(obj, **meta) -> bytes:
    """UTF-8 JSON bytes of a Pick, Origin, Magnitude, Event, QCRecord or Amplitude."""
    return json.dumps(to_dict(obj, **meta), separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _load(data: bytes | str | dict):
    if isinstance(data, dict):
        return data
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray, memoryview)) else data
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as err:
        raise InputError(f"not UTF-8 JSON: {err}", source=_SOURCE) from None


def decode(data: bytes | str | dict):
    """The domain object encoded by :func:`encode` (bytes, text or an already parsed dict)."""
    return _from_message(_load(data))[0]


def decode_with_meta(data: bytes | str | dict) -> tuple[object, dict]:
    """``(object, meta)``: the object and the extra keys given to :func:`encode`."""
    return _from_message(_load(data))
