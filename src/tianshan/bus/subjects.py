"""Subjects of the Tianshan message bus, and NATS-style subject matching.

Subjects are dot-separated tokens, as in NATS (https://docs.nats.io/nats-concepts/subjects):
a token is one or more characters other than ``.``, ``*``, ``>`` and white space.
A subscription pattern may use ``*`` (exactly one token) and ``>`` (one or more
tokens, last token only). Both buses (in-process and NATS) follow these rules, so a
pattern means the same thing either way.

Payloads (JSON, see :mod:`tianshan.bus.codec`):

=================================  ============================================
``tianshan.picks``                 a :class:`~tianshan.core.Pick`
``tianshan.origins``               an :class:`~tianshan.core.Origin` (+ event id)
``tianshan.magnitudes``            a :class:`~tianshan.core.Magnitude` (+ event id)
``tianshan.events``                an :class:`~tianshan.core.Event` (each new version)
``tianshan.qc``                    a :class:`~tianshan.core.QCRecord`
``tianshan.clock``                 ``{"source": ..., "data_time": ISO 8601}``: a stage's data-time frontier
``tianshan.products``              ``{"kind": ..., "event_id": ..., "version": ...}``: a product version was stored
``tianshan.packets.<net>.<sta>``   raw miniSEED records of one station (bytes)
``tianshan.alerts``                an early-warning alert/update/cancel message (``tianshan-eew-alert/1`` JSON)
=================================  ============================================
"""

from __future__ import annotations

import re

from tianshan.core.errors import InputError

#: Root token of every Tianshan subject; the default NATS stream covers ``ROOT + ".>"``.
ROOT = "tianshan"
PICKS = f"{ROOT}.picks"
ORIGINS = f"{ROOT}.origins"
MAGNITUDES = f"{ROOT}.magnitudes"
EVENTS = f"{ROOT}.events"
QC = f"{ROOT}.qc"
#: Data-time heartbeat: the newest data time a stage has processed (lets other processes advance their clock).
CLOCK = f"{ROOT}.clock"
#: Product versions stored (intensity maps, loss reports): JSON objects naming kind, event and version.
PRODUCTS = f"{ROOT}.products"
PACKETS = f"{ROOT}.packets"
#: Early-warning messages (:mod:`tianshan.stages.eew`; JSON of :class:`~tianshan.products.alerts.AlertMessage`).
ALERTS = f"{ROOT}.alerts"
#: Every subject of the system (default subjects of the NATS stream).
ALL = f"{ROOT}.>"

_BAD_TOKEN = re.compile(r"[\s.*>]")


def packets(network: str, station: str) -> str:
    """Subject of the raw data packets of one station: ``tianshan.packets.<net>.<sta>``."""
    for name, code in (("network", network), ("station", station)):
        if not code or _BAD_TOKEN.search(code):
            raise InputError(f"invalid {name} code {code!r} for a subject", field="subject")
    return f"{PACKETS}.{network}.{station}"


def check_subject(subject: str) -> str:
    """Return ``subject`` if it is a valid publish subject (no wildcards), else raise InputError."""
    if not isinstance(subject, str) or not subject:
        raise InputError(f"empty or non-text subject {subject!r}", field="subject")
    for token in subject.split("."):
        if not token or _BAD_TOKEN.search(token):
            raise InputError(f"invalid subject {subject!r} (empty token, wildcard or white space)",
                             field="subject")
    return subject


def check_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid subscription pattern, else raise InputError."""
    if not isinstance(pattern, str) or not pattern:
        raise InputError(f"empty or non-text subject pattern {pattern!r}", field="subject")
    tokens = pattern.split(".")
    for i, token in enumerate(tokens):
        if token in ("*", ">"):
            if token == ">" and i != len(tokens) - 1:
                raise InputError(f"invalid pattern {pattern!r}: '>' must be the last token", field="subject")
            continue
        if not token or _BAD_TOKEN.search(token):
            raise InputError(f"invalid subject pattern {pattern!r}", field="subject")
    return pattern


def matches(pattern: str, subject: str) -> bool:
    """True if ``subject`` matches ``pattern`` under NATS wildcard rules.

    >>> matches("tianshan.packets.*.*", "tianshan.packets.XJ.AKS")
    True
    >>> matches("tianshan.>", "tianshan")
    False
    """
    p = pattern.split(".")
    s = subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s):
            return False
        if token != "*" and token != s[i]:
            return False
    return len(p) == len(s)
