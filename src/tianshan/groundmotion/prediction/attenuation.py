"""Elliptical seismic-intensity attenuation of Chinese practice (Chinese intensity scale), with the long axis
along the rupture or the nearest mapped fault.

Model
-----
Along the long (a) and short (b) axes of the isoseismals (Yu, Li & Xiao 2013, the intensity
relations behind China's 2015 seismic ground-motion parameter zonation map GB 18306-2015)::

    I_a = A_a + B M_s + C_a lg(R_a + R0_a)
    I_b = A_b + B M_s + C_b lg(R_b + R0_b)

``I`` on the Chinese intensity scale, ``M_s`` surface-wave magnitude, ``R`` epicentral distance
along the axis in km, ``lg`` base-10 logarithm. An isoseismal of intensity ``I`` is the
ellipse with semi-axes ``R_a(I)`` and ``R_b(I)`` (the inverses of the two lines), so the
intensity at a site at ``(x, y)`` km along / across the long axis is the ``I`` with
``(x / R_a(I))^2 + (y / R_b(I))^2 = 1``, found by bisection (:func:`elliptical_intensity`;
``R_a`` and ``R_b`` both decrease as ``I`` increases, so the root is unique). At the
epicentre the two lines give the same intensity (the coefficients are fitted that way, see
below), which caps ``I``.

Coefficients (:data:`YU_2013_INTENSITY`): Yu Yanxiang, Li Shanyou, Xiao Liang (2013),
"Development of ground motion attenuation relations for the new seismic hazard map of China"
(为新区划图编制所建立的地震动衰减关系), Technology for Earthquake Disaster Prevention
(震灾防御技术) 8(1): 24-33, Table "Seismic intensity attenuation relation coefficients for each
sub-region", as reproduced (with the source named) at
http://ftp.nowpublishers.com/view-large/103355422 -- four regions: eastern strong-earthquake
region, moderate-to-strong earthquake region, **Xinjiang region**, Qinghai-Tibet region;
sigma 0.5826, 0.5200, 0.5924, 0.6636. That copy lists only six of the eight ``R0`` values
("25 13 15 25 13 25"): the two single-digit cells are missing. They were restored from the
joint-ellipse constraint that both axes give the same epicentral intensity
(``A_a + C_a lg R0_a = A_b + C_b lg R0_b``): with ``R0_a`` = 25, 15, 25, 25 the constraint
gives ``R0_b`` = 13.0005, 6.998, 12.9999, 8.9993, i.e. 13, **7**, 13, **9**; the Xinjiang pair
(25, 13) is read directly. The paper itself could not be read here; the table is taken on the
reproduction's word.

Magnitude: the relations use Ms. :func:`tianshan.groundmotion.prediction.gmpe.ms_from_mw`
(Cheng et al. 2017, as in hazardlib's ``YuEtAl2013Mw``) converts Mw when that is all there is.

Long axis (:func:`long_axis_strike_deg`): along the rupture (strike of its longest top edge)
when a rupture is known; else along the nearest mapped fault (local azimuth of the closest
segment of the nearest :class:`tianshan.regions.Fault` trace, within ``max_fault_km``); else
none (the caller decides; :func:`predict_intensity` then uses a circle of the mean radius).
Centre: the epicentre, or the midpoint of the rupture's top-edge trace when a rupture is known
(the macroseismic epicentre of a large rupture lies near the middle of its trace); see
:func:`predict_intensity` for the optional line-source variant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError

__all__ = ["IntensityAttenuation", "YU_2013_INTENSITY", "intensity_on_axis", "radius_for_intensity",
           "elliptical_intensity", "long_axis_strike_deg", "predict_intensity", "IntensityField"]


@dataclass(frozen=True, slots=True)
class IntensityAttenuation:
    """One region's long/short-axis coefficients (module docstring); ``sigma`` in intensity units."""

    region: str
    a_long: float
    c_long: float
    r0_long_km: float
    a_short: float
    c_short: float
    r0_short_km: float
    b: float
    sigma: float

    def epicentral_intensity(self, ms: float) -> float:
        """Intensity at R = 0 (the mean of the two axes, which agree to ~1e-3 by construction)."""
        return 0.5 * (self.a_long + self.c_long * math.log10(self.r0_long_km)
                      + self.a_short + self.c_short * math.log10(self.r0_short_km)) + self.b * ms


#: Yu, Li & Xiao (2013) intensity relations by region (module docstring).
YU_2013_INTENSITY: dict[str, IntensityAttenuation] = {
    "east": IntensityAttenuation("eastern strong-earthquake region", 5.7123, -4.2903, 25.0, 3.6588, -3.5406, 13.0,
                                 1.3626, 0.5826),
    "moderate": IntensityAttenuation("moderate-to-strong earthquake region", 5.8410, -3.6570, 15.0, 3.9440,
                                     -2.8450, 7.0, 1.0710, 0.5200),
    "xinjiang": IntensityAttenuation("Xinjiang region", 5.6018, -4.4899, 25.0, 3.6113, -3.8477, 13.0,
                                     1.4347, 0.5924),
    "tibet": IntensityAttenuation("Qinghai-Tibet region", 6.4580, -4.4709, 25.0, 3.3682, -3.3119, 9.0,
                                  1.2746, 0.6636),
}


def _model(model: IntensityAttenuation | str) -> IntensityAttenuation:
    if isinstance(model, IntensityAttenuation):
        return model
    try:
        return YU_2013_INTENSITY[str(model).lower()]
    except KeyError:
        raise InputError(f"unknown region {model!r}; one of {', '.join(YU_2013_INTENSITY)}", field="model") from None


def intensity_on_axis(model, ms: float, r_km, axis: str = "long"):
    """``I = A + B Ms + C lg(R + R0)`` along one axis (``"long"`` or ``"short"``)."""
    import numpy as np

    m = _model(model)
    r = np.asarray(r_km, dtype=np.float64)
    if axis == "long":
        return m.a_long + m.b * ms + m.c_long * np.log10(r + m.r0_long_km)
    if axis == "short":
        return m.a_short + m.b * ms + m.c_short * np.log10(r + m.r0_short_km)
    raise InputError(f"axis must be 'long' or 'short', got {axis!r}", field="axis")


def radius_for_intensity(model, ms: float, intensity, axis: str = "long"):
    """Semi-axis (km) of the isoseismal ``intensity``: the inverse of :func:`intensity_on_axis` (>= 0)."""
    import numpy as np

    m = _model(model)
    i = np.asarray(intensity, dtype=np.float64)
    if axis == "long":
        r = 10.0 ** ((i - m.a_long - m.b * ms) / m.c_long) - m.r0_long_km
    elif axis == "short":
        r = 10.0 ** ((i - m.a_short - m.b * ms) / m.c_short) - m.r0_short_km
    else:
        raise InputError(f"axis must be 'long' or 'short', got {axis!r}", field="axis")
    return np.maximum(r, 0.0)


def elliptical_intensity(model, ms: float, along_km, across_km, iterations: int = 50):
    """Intensity at sites ``along_km``/``across_km`` from the centre along/across the long axis (bisection).

    Unclipped and unrounded (clip to the scale's 1-12 for display); equals the epicentral
    intensity at the centre.
    """
    import numpy as np

    m = _model(model)
    x = np.abs(np.asarray(along_km, dtype=np.float64))
    y = np.abs(np.asarray(across_km, dtype=np.float64))
    hi = np.full(np.broadcast(x, y).shape, m.epicentral_intensity(ms))
    lo = hi - 20.0                                  # 20 degrees below the epicentre: far beyond any map
    for _ in range(int(iterations)):
        mid = 0.5 * (lo + hi)
        ra = np.maximum(radius_for_intensity(m, ms, mid, "long"), 1e-9)
        rb = np.maximum(radius_for_intensity(m, ms, mid, "short"), 1e-9)
        outside = (x / ra) ** 2 + (y / rb) ** 2 > 1.0   # the site lies outside the isoseismal of mid
        hi = np.where(outside, mid, hi)
        lo = np.where(outside, lo, mid)
    return 0.5 * (lo + hi)


def _segment_nearest(lat0: float, lon0: float, coords) -> tuple[float, float]:
    """(distance_km, azimuth_deg) of the nearest segment of a (lon, lat) polyline to (lat0, lon0)."""
    import numpy as np

    from tianshan.groundmotion.prediction.distances import project

    lon = np.array([c[0] for c in coords])
    lat = np.array([c[1] for c in coords])
    x, y = project(lat0, lon0, lat, lon)
    best = (math.inf, 0.0)
    for i in range(len(x) - 1):
        ax, ay, bx, by = x[i], y[i], x[i + 1], y[i + 1]
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / L2))
        d = math.hypot(ax + t * dx, ay + t * dy)
        if d < best[0] and L2 > 0:
            best = (d, math.degrees(math.atan2(dx, dy)) % 180.0)
    return best


def long_axis_strike_deg(latitude_deg: float, longitude_deg: float, rupture=None, faults=(),
                         max_fault_km: float = 50.0) -> tuple[float | None, str]:
    """Azimuth (deg, 0-180) of the isoseismals' long axis and where it came from (module docstring).

    Returns ``(strike, "rupture")``, ``(strike, "fault:<name> (<d> km)")`` or ``(None, "none")``.
    """
    if rupture is not None and not rupture.is_point and rupture.strike_deg is not None:
        return float(rupture.strike_deg) % 180.0, "rupture"
    if rupture is not None and rupture.is_point and rupture.point_strike_deg is not None:
        return float(rupture.point_strike_deg) % 180.0, "given strike"
    best = (math.inf, None, "")
    for f in faults:
        d, az = _segment_nearest(latitude_deg, longitude_deg, f.coordinates)
        if d < best[0]:
            best = (d, az, f.name or "(unnamed)")
    if best[1] is not None and best[0] <= max_fault_km:
        return best[1], f"fault:{best[2]} ({best[0]:.1f} km)"
    return None, "none"


@dataclass(frozen=True, slots=True)
class IntensityField:
    """Predicted Chinese-scale intensity at sites, with the ellipse used."""

    intensity: object
    sigma: float
    strike_deg: float | None
    strike_source: str
    center_lat_deg: float
    center_lon_deg: float
    ms: float


def _trace_frame(rupture):
    """(centre lat, centre lon, strike deg, length km) of the line through the two farthest trace points."""
    import numpy as np

    from tianshan.groundmotion.prediction.distances import project

    tr = rupture.trace
    lon = np.array([p[0] for p in tr])
    lat = np.array([p[1] for p in tr])
    x, y = project(rupture.latitude_deg, rupture.longitude_deg, lat, lon)
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    i, j = np.unravel_index(int(np.argmax(dx * dx + dy * dy)), dx.shape)
    length = float(math.hypot(dx[i, j], dy[i, j]))
    strike = math.degrees(math.atan2(x[j] - x[i], y[j] - y[i])) % 180.0
    return float((lat[i] + lat[j]) / 2), float((lon[i] + lon[j]) / 2), strike, length


def predict_intensity(model, latitude_deg, longitude_deg, epicentre_lat_deg: float, epicentre_lon_deg: float,
                      ms: float, rupture=None, faults=(), max_fault_km: float = 50.0,
                      line_source: bool = False) -> IntensityField:
    """Chinese-scale intensity at sites from the elliptical relation (module docstring).

    With a finite rupture the ellipse is centred on the middle of the rupture trace (the line
    through its two farthest top-edge points) with its long axis along that line. With
    ``line_source=True`` the along-axis distance is instead measured from the ends of the
    trace (the ellipses stretched by the rupture length, "stadiums") -- our extension, not part
    of Yu et al. (2013), and off by default: the published long-axis coefficients were fitted
    to isoseismals of real, elongated ruptures with epicentral distances, so stretching them
    again double-counts (on the 2008 Wenchuan stations it over-predicts by 1.3 degrees within
    400 km, against 0.6 for the plain ellipse).

    Without a long axis (no rupture, no fault within ``max_fault_km``) the isoseismals are
    circles with the geometric mean of the two semi-axes (an assumption, stated in
    ``strike_source="none (circular)"``).
    """
    import numpy as np

    from tianshan.groundmotion.prediction.distances import project

    m = _model(model)
    if not math.isfinite(ms):
        raise InputError(f"magnitude must be finite, got {ms!r}", field="ms")
    lat0, lon0 = float(epicentre_lat_deg), float(epicentre_lon_deg)
    strike, source = long_axis_strike_deg(epicentre_lat_deg, epicentre_lon_deg, rupture, faults, max_fault_km)
    half = 0.0
    if rupture is not None and not rupture.is_point:
        lat0, lon0, tr_strike, length = _trace_frame(rupture)
        if line_source:
            strike, half, source = tr_strike, length / 2.0, "rupture trace"
    x, y = project(lat0, lon0, latitude_deg, longitude_deg)
    if strike is None:
        r = np.hypot(x, y)
        # circular: solve I with R_a(I) * R_b(I) = r^2 (geometric-mean radius) by the same bisection
        hi = np.full(r.shape, m.epicentral_intensity(ms))
        lo = hi - 20.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            rg = np.sqrt(radius_for_intensity(m, ms, mid, "long") * radius_for_intensity(m, ms, mid, "short"))
            out = r > rg
            hi = np.where(out, mid, hi)
            lo = np.where(out, lo, mid)
        inten = 0.5 * (lo + hi)
        source = "none (circular)"
    else:
        s = math.radians(strike)
        along = np.maximum(np.abs(x * math.sin(s) + y * math.cos(s)) - half, 0.0)
        across = x * math.cos(s) - y * math.sin(s)
        inten = elliptical_intensity(m, ms, along, across)
    return IntensityField(intensity=inten, sigma=m.sigma, strike_deg=strike, strike_source=source,
                          center_lat_deg=lat0, center_lon_deg=lon0, ms=float(ms))
