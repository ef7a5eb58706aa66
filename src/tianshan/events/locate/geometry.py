"""Spherical geometry for the locator: a local azimuthal-equidistant frame, distances, azimuths, gap.

All on a sphere of radius :data:`EARTH_RADIUS_M` (6371 km, the radius
:class:`~tianshan.traveltime.layered.LayeredTravelTime` flattens with, so distances and
travel times agree).

* Azimuthal equidistant projection about ``(lat0, lon0)`` (Snyder 1987, *Map Projections
  -- A Working Manual*, USGS PP 1395, eqs. 25-2, 24-2 and for the inverse 20-14, 20-15,
  25-15): ``x = R c sin(az)``, ``y = R c cos(az)`` with ``c`` the angular distance and
  ``az`` the azimuth from the centre. ``x`` is east, ``y`` north, both in metres. Distances
  and azimuths from the centre are exact; near the centre (< 200 km) scale errors stay below
  0.01 %, which is why the locator's covariance and ellipse are computed in this frame.
* Great-circle distance by the haversine formula (Sinnott 1984, Sky & Telescope 68(2) 159)
  and forward azimuth (Snyder 1987, eq. 5-4b).
* Azimuthal gap: the largest angle between azimuths to adjacent stations seen from the
  epicentre (QuakeML ``OriginQuality.azimuthalGap``); the secondary gap is the largest gap
  obtained when any one station is removed (Bondar et al. 2004, GJI 156, 483-496).
"""

from __future__ import annotations

import numpy as np

#: Sphere radius for distances (m); the same as the travel-time solver's default.
EARTH_RADIUS_M = 6_371_000.0


def aeqd_forward(lat0_deg: float, lon0_deg: float, lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthal-equidistant ``(x_east_m, y_north_m)`` of points about ``(lat0, lon0)``."""
    c = great_circle_m(lat0_deg, lon0_deg, lat_deg, lon_deg) / EARTH_RADIUS_M
    az = np.radians(azimuth_deg(lat0_deg, lon0_deg, lat_deg, lon_deg))
    return EARTH_RADIUS_M * c * np.sin(az), EARTH_RADIUS_M * c * np.cos(az)


def aeqd_inverse(lat0_deg: float, lon0_deg: float, x_m, y_m) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude (degrees) of azimuthal-equidistant ``(x_east_m, y_north_m)``."""
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    c = np.hypot(x, y) / EARTH_RADIUS_M
    az = np.arctan2(x, y)
    p0, l0 = np.radians(lat0_deg), np.radians(lon0_deg)
    sin_lat = np.sin(p0) * np.cos(c) + np.cos(p0) * np.sin(c) * np.cos(az)
    lat = np.arcsin(np.clip(sin_lat, -1.0, 1.0))
    lon = l0 + np.arctan2(np.sin(az) * np.sin(c) * np.cos(p0), np.cos(c) - np.sin(p0) * sin_lat)
    lon_deg = (np.degrees(lon) + 180.0) % 360.0 - 180.0
    return np.degrees(lat), lon_deg


def great_circle_m(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Great-circle distance (m) by the haversine formula; arguments broadcast."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dl = np.radians(np.asarray(lon2_deg, dtype=float) - lon1_deg)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def azimuth_deg(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Forward azimuth (degrees clockwise from north, 0-360) from point 1 to point 2."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dl = np.radians(np.asarray(lon2_deg, dtype=float) - lon1_deg)
    az = np.arctan2(np.sin(dl) * np.cos(p2), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl))
    return np.degrees(az) % 360.0


def azimuthal_gaps(azimuths_deg) -> tuple[float, float]:
    """``(gap, secondary_gap)`` in degrees of the station azimuths seen from an epicentre.

    One station gives 360 for both; the secondary gap (Bondar et al. 2004) is the largest
    sum of two adjacent gaps.
    """
    az = np.sort(np.unique(np.asarray(azimuths_deg, dtype=float) % 360.0))
    if az.size < 2:
        return 360.0, 360.0
    gaps = np.diff(np.concatenate([az, [az[0] + 360.0]]))
    secondary = float(np.max(gaps + np.roll(gaps, -1))) if az.size > 2 else 360.0
    return float(gaps.max()), min(secondary, 360.0)
