"""Spherical geometry for association: distances, azimuths, azimuthal gap (sphere of radius 6371 km)."""

from __future__ import annotations

import numpy as np


def sphere_dist_az(lat1, lon1, lat2, lon2) -> tuple[np.ndarray, np.ndarray]:
    """Great-circle distance (deg, haversine: Sinnott 1984) and azimuth from point 1 to 2 (deg from north,
    spherical forward azimuth, e.g. Snyder 1987 eq. 5-4b)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    dist = np.degrees(2 * np.arcsin(np.minimum(1.0, np.sqrt(a))))
    az = np.degrees(np.arctan2(np.sin(dl) * np.cos(p2),
                               np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl))) % 360.0
    return dist, az


def azimuthal_gap_deg(azimuths_deg) -> float | None:
    """Largest azimuthal gap (deg) between the station azimuths seen from the epicentre."""
    az = np.sort(np.asarray(azimuths_deg, dtype=float) % 360.0)
    if az.size == 0:
        return None
    if az.size == 1:
        return 360.0
    gaps = np.diff(np.concatenate([az, [az[0] + 360.0]]))
    return float(min(360.0, gaps.max()))
