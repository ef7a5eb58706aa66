"""Conversions shared by the ObsPy adapters (private): times, Tianshan ``extra`` fields, resource ids.

Only the io adapters import this module; it imports ObsPy at call time.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime

from tianshan.core.timeutil import UTC, as_utc

#: XML namespace of Tianshan fields that QuakeML / StationXML have no element for.
NS = "https://tianshan.org/xmlns/1.0"
NSMAP = {"tianshan": NS}

# QuakeML 1.2 ResourceReference pattern (QuakeML BED 1.2, sec. 3.1; same as ObsPy's check).
_QUAKEML_URI = re.compile(r"^(smi|quakeml):[\w\d][\w\d\-\.\*\(\)_~']{2,}/"
                          r"[\w\d\-\.\*\(\)_~'][\w\d\-\.\*\(\)\+\?_~'=,;#/&]*$")
_PREFIX = "smi:org.tianshan/"
_ID_B64 = _PREFIX + "b64/"


def to_utc_datetime(value: datetime):
    """An aware datetime as an ObsPy ``UTCDateTime`` (microseconds kept exactly)."""
    from obspy import UTCDateTime

    return UTCDateTime(as_utc(value).astimezone(UTC).replace(tzinfo=None))


def from_utc_datetime(value) -> datetime | None:
    """An ObsPy ``UTCDateTime`` (or None) as an aware UTC datetime (microsecond resolution)."""
    return None if value is None else as_utc(value.datetime)


def set_extra(obj, name: str, value: object) -> None:
    """Store ``value`` (written as text) as element ``tianshan:<name>`` on an ObsPy object."""
    from obspy.core.util import AttribDict

    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    extra = getattr(obj, "extra", None)
    if extra is None:
        extra = AttribDict()
    extra[name] = AttribDict({"value": text, "namespace": NS})
    obj.extra = extra


def get_extra(obj, name: str) -> str | None:
    """Text of ``tianshan:<name>`` on an ObsPy object, or None."""
    extra = getattr(obj, "extra", None)
    if not extra or name not in extra:
        return None
    item = extra[name]
    if isinstance(item, Mapping) and item.get("namespace") not in (None, NS):
        return None
    value = item.get("value") if isinstance(item, Mapping) else item
    return None if value is None else str(value)


def extra_bool(obj, name: str) -> bool | None:
    text = get_extra(obj, name)
    if text is None:
        return None
    return text.strip().lower() in ("true", "1")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None


def id_to_uri(resource_id: str) -> str:
    """A domain id as a valid QuakeML URI, reversibly (see :func:`id_from_uri`).

    Ids that already are QuakeML URIs (all ids made by ``new_resource_id``) pass
    unchanged; anything else is base64-wrapped under ``smi:org.tianshan/b64/`` so
    ObsPy neither rewrites nor rejects it and references stay consistent.
    """
    if _QUAKEML_URI.match(resource_id) and not resource_id.startswith(_ID_B64):
        return resource_id
    return _ID_B64 + _b64(resource_id)


def id_from_uri(uri) -> str | None:
    """Inverse of :func:`id_to_uri` (accepts an ObsPy ``ResourceIdentifier`` or None)."""
    if uri is None:
        return None
    text = str(uri)
    if text.startswith(_ID_B64):
        decoded = _unb64(text[len(_ID_B64):])
        if decoded is not None:
            return decoded
    return text


def label_to_uri(kind: str, label: str) -> str | None:
    """A free-text label (method, earth model) as a QuakeML URI ``smi:org.tianshan/<kind>/<label>``.

    Empty labels give None; labels that already are URIs of another authority pass unchanged.
    """
    if not label:
        return None
    if _QUAKEML_URI.match(label) and not label.startswith(_PREFIX):
        return label
    readable = f"{_PREFIX}{kind}/{label}"
    if _QUAKEML_URI.match(readable) and not label.startswith(_PREFIX):
        return readable
    return f"{_PREFIX}{kind}-b64/{_b64(label)}"


def label_from_uri(kind: str, uri) -> str:
    """Inverse of :func:`label_to_uri`; foreign URIs are kept whole."""
    if uri is None:
        return ""
    text = str(uri)
    encoded = f"{_PREFIX}{kind}-b64/"
    if text.startswith(encoded):
        decoded = _unb64(text[len(encoded):])
        if decoded is not None:
            return decoded
    readable = f"{_PREFIX}{kind}/"
    if text.startswith(readable):
        return text[len(readable):]
    return text
