"""1-D travel times: a fast layered-Earth solver and an ObsPy TauP reference.

* :mod:`tianshan.traveltime.layered` -- :class:`LayeredTravelTime`, exact ray
  theory in constant-velocity spherical shells (earth-flattening, Mueller 1977),
  vectorised over distances; no heavy imports.
* :mod:`tianshan.traveltime.table` -- :class:`TravelTimeTable`, a depth x distance grid
  with slope-aware interpolation for many calls.
* :mod:`tianshan.traveltime.taup` -- :func:`taup_model` / :func:`taup_first_arrivals`,
  the same :class:`~tianshan.core.velocity.VelocityModel` built as an ObsPy TauP
  model (imports ObsPy when called).

Nothing is imported eagerly: ``import tianshan.traveltime`` is cheap.
"""

from __future__ import annotations

__all__ = ["LayeredTravelTime", "FirstArrivals", "TravelTimeTable", "taup_model", "taup_first_arrivals",
           "taup_nd_text"]


def __getattr__(name: str):
    if name in ("LayeredTravelTime", "FirstArrivals"):
        from tianshan.traveltime import layered
        return getattr(layered, name)
    if name == "TravelTimeTable":
        from tianshan.traveltime.table import TravelTimeTable
        return TravelTimeTable
    if name in ("taup_model", "taup_first_arrivals", "taup_nd_text"):
        from tianshan.traveltime import taup
        return getattr(taup, name)
    raise AttributeError(f"module 'tianshan.traveltime' has no attribute {name!r}")
