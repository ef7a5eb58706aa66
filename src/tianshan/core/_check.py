"""Field checks shared by the domain objects (private)."""

from __future__ import annotations

import math

from tianshan.core.errors import DomainError


def finite(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DomainError(f"{name}: not a number: {value!r}") from None
    if not math.isfinite(v):
        raise DomainError(f"{name}: not finite: {value!r}")
    return v


def in_range(name: str, value: float, lo: float, hi: float, unit: str = "") -> float:
    v = finite(name, value)
    if not lo <= v <= hi:
        raise DomainError(f"{name}: {value!r}{unit} is outside [{lo}, {hi}]{unit}")
    return v


def optional_nonneg(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    v = finite(name, value)
    if v < 0:
        raise DomainError(f"{name}: must be >= 0, got {value!r}")
    return v


def latitude(name: str, value: float) -> float:
    return in_range(name, value, -90.0, 90.0, " deg")


def longitude(name: str, value: float) -> float:
    return in_range(name, value, -180.0, 180.0, " deg")
