"""A deliberately simple intensity prediction for scenarios and tests (to be replaced).

The loss chain takes an intensity field as input (:mod:`.shaking`). Until the project's
ground-motion prediction and ShakeMap conditioning modules are wired in, scenarios get
their field from :func:`predict_shaking`, the only function here meant to be called from
outside -- swap it for the real prediction in :mod:`.scenario` (``intensity=`` argument).

Chain (each step cited):

1. **Rupture size** -- Wells & Coppersmith (1994), BSSA 84(4):974-1002, Table 2A, all slip
   types: subsurface rupture length ``log10 RLD = -2.44 + 0.59 M`` and down-dip width
   ``log10 RW = -1.01 + 0.32 M`` (km). The rupture is a rectangle centred on the
   hypocentre (along strike and down dip); its top is clipped at the surface (``ztor >= 0``).
2. **Distance** -- Joyner-Boore distance ``Rjb`` to the rupture's surface projection, in a
   local equirectangular projection about the epicentre (adequate within the few hundred
   km the grid spans). ``Rrup`` for the Worden terms is approximated as
   ``sqrt(Rjb^2 + ztor^2)`` (exact for a vertical fault).
3. **Unknown orientation** -- with no strike, the prediction is the average over six
   strikes 0, 30, ..., 150 deg of the per-strike MMI, the idea of ShakeMap's
   point-source-to-finite-fault correction (Thompson & Worden 2018, BSSA 108(1):465-477:
   average over unknown rupture orientations) without its tables.
4. **PGV** -- Boore, Stewart, Seyhan & Atkinson (2014), Earthquake Spectra 30(3):1057-1085
   (``BooreEtAl2014`` in OpenQuake hazardlib), RotD50 PGV with the given Vs30 (default
   400 m/s, an *assumption* for the alluvial basins where Xinjiang's people live; no Vs30
   map is used here) and the given rake (default 90, reverse, the dominant mechanism of the
   Tian Shan and Kunlun foreland thrusts). The RotD50 -> larger-horizontal conversion that
   ShakeMap applies before Worden's relation is not applied (about +10 % in PGV, +0.1 MMI).
5. **MMI** -- Worden, Gerstenberger, Rhoades & Wald (2012), BSSA 102(1):204-221, PGV relation
   with their distance/magnitude terms (:func:`tianshan.groundmotion.intensity.mmi.mmi_from_motion`).
   Standard deviation: ``sqrt((dMMI/dlnPGV * sigma_lnPGV)^2 + sigma_Worden^2)`` with BSSA14's
   total sigma and Worden's 0.63 MMI.

Grid: centred on the epicentre, half-width ``radius_km`` (default ``60 * 2^(M-5)`` km, at most
600 km, which reaches about MMI IV), spacing chosen for about 300 nodes across (at least 0.01 deg).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError
from tianshan.products.loss.shaking import EARTH_RADIUS_KM, ShakingGrid

#: Wells & Coppersmith (1994) Table 2A, all slip types: (a, b) in log10(X km) = a + b M.
WC94_RUPTURE_LENGTH = (-2.44, 0.59)
WC94_RUPTURE_WIDTH = (-1.01, 0.32)
#: Strikes averaged over when the orientation is unknown (deg).
UNKNOWN_STRIKES_DEG = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)
DEFAULT_VS30_M_S = 400.0
DEFAULT_RAKE_DEG = 90.0
MAX_RADIUS_KM = 600.0
MODEL_NAME = "BSSA14 PGV (Vs30 {vs30:g} m/s) -> Worden et al. (2012) MMI; Wells & Coppersmith (1994) rupture"


@dataclass(frozen=True, slots=True)
class RuptureGuess:
    """The rectangle used for distances (module docstring), km and degrees."""

    length_km: float
    width_km: float
    ztor_km: float
    strike_deg: float | None
    dip_deg: float
    rake_deg: float


def rupture_length_km(magnitude: float) -> float:
    """Wells & Coppersmith (1994) subsurface rupture length, all slip types (km)."""
    a, b = WC94_RUPTURE_LENGTH
    return 10.0 ** (a + b * magnitude)


def rupture_width_km(magnitude: float) -> float:
    """Wells & Coppersmith (1994) down-dip rupture width, all slip types (km)."""
    a, b = WC94_RUPTURE_WIDTH
    return 10.0 ** (a + b * magnitude)


def default_radius_km(magnitude: float) -> float:
    """Half-width of the prediction grid: ``60 * 2^(M-5)`` km, at most 600 km."""
    return min(MAX_RADIUS_KM, 60.0 * 2.0 ** (magnitude - 5.0))


def grid_around(latitude_deg: float, longitude_deg: float, radius_km: float, spacing_deg: float | None = None):
    """The prediction grid (module docstring): ``(lats, lons, glat, glon)`` -- 1-D latitudes (descending)
    and longitudes (ascending), degrees, and their 2-D mesh -- centred on the epicentre, half-width
    ``radius_km``; ``spacing_deg`` None gives about 300 nodes across (at least 0.01 deg)."""
    import numpy as np

    lat0, lon0 = float(latitude_deg), float(longitude_deg)
    try:
        radius = float(radius_km)
    except (TypeError, ValueError):
        raise InputError(f"must be a number, got {radius_km!r}", field="radius_km") from None
    if not (math.isfinite(radius) and 1.0 <= radius <= 2000.0):
        raise InputError(f"must be within [1, 2000] km, got {radius_km!r}", field="radius_km")
    spacing = spacing_deg if spacing_deg is not None else max(0.01, round(2 * radius / 300.0 / 111.0, 3))
    if not (math.isfinite(spacing) and 0.001 <= spacing <= 1.0):
        raise InputError(f"must be within [0.001, 1] deg, got {spacing_deg!r}", field="spacing_deg")
    coslat = max(math.cos(math.radians(lat0)), 0.05)
    dlat = math.degrees(radius / EARTH_RADIUS_KM)
    dlon = min(dlat / coslat, 179.0)
    n_lat = int(math.ceil(dlat / spacing))
    n_lon = int(math.ceil(dlon / spacing))
    lats = np.clip(lat0 + spacing * np.arange(n_lat, -n_lat - 1, -1), -90.0, 90.0)
    lats = np.unique(lats)[::-1]
    lons = lon0 + spacing * np.arange(-n_lon, n_lon + 1)
    lons = lons[(lons >= -180.0) & (lons <= 180.0)]
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    return lats, lons, glat, glon


def _check(latitude_deg, longitude_deg, depth_km, magnitude, dip_deg, vs30_m_s) -> None:
    check_ranges((
        ("latitude_deg", latitude_deg, -90.0, 90.0), ("longitude_deg", longitude_deg, -180.0, 180.0),
        ("depth_km", depth_km, 0.0, 700.0), ("magnitude", magnitude, 3.0, 9.5), ("dip_deg", dip_deg, 1.0, 90.0),
        ("vs30_m_s", vs30_m_s, 100.0, 3000.0)))


def check_ranges(checks) -> None:
    """Each ``(field, value, lo, hi)`` of ``checks``: ``value`` a finite number within ``[lo, hi]``, else
    :class:`InputError` naming the field (the first failing one, in order)."""
    for name, value, lo, hi in checks:
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(f"must be a number, got {value!r}", field=name) from None
        if not (math.isfinite(v) and lo <= v <= hi):
            raise InputError(f"must be within [{lo:g}, {hi:g}], got {value!r}", field=name)


def rupture_for(magnitude: float, depth_km: float, strike_deg: float | None = None, dip_deg: float = 90.0,
                rake_deg: float = DEFAULT_RAKE_DEG) -> RuptureGuess:
    """The Wells & Coppersmith rectangle centred on the hypocentre (module docstring)."""
    length = rupture_length_km(magnitude)
    width = rupture_width_km(magnitude)
    ztor = max(0.0, depth_km - 0.5 * width * math.sin(math.radians(dip_deg)))
    return RuptureGuess(length, width, ztor, None if strike_deg is None else float(strike_deg) % 360.0,
                        float(dip_deg), float(rake_deg))


def joyner_boore_km(rupture: RuptureGuess, depth_km: float, x_km, y_km, strike_deg: float):
    """Rjb (km) from sites at local east/north offsets ``x_km, y_km`` to the rupture's surface
    projection, for the given strike (clockwise from north)."""
    import numpy as np

    s = math.radians(strike_deg)
    u = x_km * math.sin(s) + y_km * math.cos(s)            # along strike
    v = x_km * math.cos(s) - y_km * math.sin(s)            # horizontal, down-dip side positive
    dip = math.radians(rupture.dip_deg)
    if rupture.dip_deg >= 89.999:
        v_lo = v_hi = 0.0
    else:
        bottom = rupture.ztor_km + rupture.width_km * math.sin(dip)
        v_lo = -(depth_km - rupture.ztor_km) / math.tan(dip)
        v_hi = (bottom - depth_km) / math.tan(dip)
    du = np.maximum(np.abs(u) - 0.5 * rupture.length_km, 0.0)
    dv = np.maximum(np.maximum(v_lo - v, v - v_hi), 0.0)
    return np.hypot(du, dv)


def _mmi_and_sigma(pgv_ln, sigma_ln, rrup_km, magnitude):
    import numpy as np

    from tianshan.groundmotion.intensity import mmi as wgrw

    r_m = rrup_km * 1000.0
    mmi = wgrw.mmi_from_motion(np.exp(pgv_ln), "pgv", r_m, magnitude, clip=True)
    step = 0.01
    up = wgrw.mmi_from_motion(np.exp(pgv_ln + step), "pgv", r_m, magnitude, clip=True)
    slope = (up - mmi) / step
    sigma = np.sqrt((slope * sigma_ln) ** 2 + wgrw.sigma_mmi("pgv") ** 2)
    return mmi, sigma


def _bssa14_pgv(magnitude: float, rake_deg: float, rjb_km, vs30_m_s: float):
    """ln PGV (m/s) and its total sigma from hazardlib's BooreEtAl2014."""
    import numpy as np
    from openquake.hazardlib import contexts, imt
    from openquake.hazardlib.gsim.boore_2014 import BooreEtAl2014

    n = rjb_km.size
    ctx = contexts.RuptureContext()
    ctx.sids = np.arange(n)
    ctx.mag = float(magnitude)
    ctx.rake = float(rake_deg)
    ctx.rjb = np.asarray(rjb_km, dtype=np.float64)
    ctx.vs30 = np.full(n, float(vs30_m_s))
    ctx.z1pt0 = np.full(n, -999.0)
    mean, sig = contexts.get_mean_stds(BooreEtAl2014(), ctx, [imt.PGV()])[:2]
    return mean[0] + math.log(0.01), sig[0]      # hazardlib PGV is cm/s


def predict_shaking(latitude_deg: float, longitude_deg: float, depth_km: float, magnitude: float, *,
                    strike_deg: float | None = None, dip_deg: float = 90.0, rake_deg: float = DEFAULT_RAKE_DEG,
                    vs30_m_s: float = DEFAULT_VS30_M_S, radius_km: float | None = None,
                    spacing_deg: float | None = None) -> ShakingGrid:
    """MMI grid around an epicentre from the simple chain in the module docstring.

    ``magnitude`` is moment magnitude (BSSA14's). ``strike_deg`` None: orientation unknown,
    average over :data:`UNKNOWN_STRIKES_DEG`.
    """
    import numpy as np

    _check(latitude_deg, longitude_deg, depth_km, magnitude, dip_deg, vs30_m_s)
    if strike_deg is not None and not math.isfinite(float(strike_deg)):
        raise InputError(f"must be finite, got {strike_deg!r}", field="strike_deg")
    lat0, lon0, mag, depth = float(latitude_deg), float(longitude_deg), float(magnitude), float(depth_km)
    radius = default_radius_km(mag) if radius_km is None else radius_km
    lats, lons, glat, glon = grid_around(lat0, lon0, radius, spacing_deg)
    y_km = np.radians(glat - lat0) * EARTH_RADIUS_KM
    x_km = np.radians(glon - lon0) * EARTH_RADIUS_KM * np.cos(np.radians(0.5 * (glat + lat0)))
    rup = rupture_for(mag, depth, strike_deg, dip_deg, rake_deg)
    strikes = UNKNOWN_STRIKES_DEG if rup.strike_deg is None else (rup.strike_deg,)
    mmi_sum = np.zeros(glat.size)
    sig_sum = np.zeros(glat.size)
    for s in strikes:
        rjb = joyner_boore_km(rup, depth, x_km.ravel(), y_km.ravel(), s)
        ln_pgv, sig_ln = _bssa14_pgv(mag, rake_deg, rjb, vs30_m_s)
        rrup = np.hypot(rjb, rup.ztor_km)
        m, sg = _mmi_and_sigma(ln_pgv, sig_ln, rrup, mag)
        mmi_sum += m
        sig_sum += sg
    mmi = (mmi_sum / len(strikes)).reshape(glat.shape)
    sig = (sig_sum / len(strikes)).reshape(glat.shape)
    return ShakingGrid(lats, lons, mmi, sig, source=MODEL_NAME.format(vs30=vs30_m_s))
