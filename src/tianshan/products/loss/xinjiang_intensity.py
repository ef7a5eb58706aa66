"""Scenario intensity from the project's own Xinjiang prediction: Chinese-practice elliptical attenuation -> MMI.

The loss chain's second intensity option (``run_scenario(..., intensity="xinjiang")``,
``tianshan scenario run --gmm xinjiang``), beside :mod:`.simple_intensity`. Chain:

1. **Intensity on the Chinese scale** -- the Xinjiang-region elliptical intensity attenuation
   of Yu, Li & Xiao (2013), Technology for Earthquake Disaster Prevention 8(1): 24-33 (the
   relations behind GB 18306-2015), as implemented in
   :func:`tianshan.groundmotion.prediction.attenuation.predict_intensity`:
   ``I = A + B Ms + C lg(R + R0)`` along the long and short axes, isoseismals as ellipses,
   sigma 0.5924 degrees. Long axis along ``strike_deg`` -- the scenario's strike or the strike
   of the fault trace nearest the epicentre (``run_scenario`` with ``fault="nearest"``);
   without one the isoseismals are circles of the geometric-mean radius (the attenuation
   module's documented fallback). Epicentral distance only: the relation has no depth term.
2. **Magnitude** -- the relation uses Ms. ``ms`` when given (e.g. the catalogue's Ms);
   otherwise Ms from the scenario's Mw by :func:`tianshan.groundmotion.prediction.gmpe.ms_from_mw`
   (Cheng et al. 2017, bilinear, as hazardlib's ``YuEtAl2013Mw``).
3. **Chinese intensity -> MMI** (``to_mmi``):

   * ``"equal"`` (default): ``MMI = I_CN``. The Chinese scale (1980; GB/T 17742-1999, -2008,
     -2020) was drawn up degree for degree after the MMI/MSK family (12 degrees with the same
     anchor effects: VI slight damage, VIII heavy damage and some collapse of ordinary houses,
     X widespread collapse), and the Yu et al. (2013) relation was fitted to *macroseismic*
     isoseismal maps surveyed with that scale, i.e. to observed effects, which is what
     PAGER's MMI-based fatality model consumes. Chosen on this ground before any back-test
     was run, not fitted to it.
   * ``"pgv"``: through the ground motion, GB/T 17742-2020 Appendix A ``I_V = 3.00 lg PGV + 9.77``
     inverted to PGV and Worden et al. (2012) ``MMI(PGV)``
     (:func:`tianshan.groundmotion.intensity.mmi.mmi_from_cn`). This maps the *instrumental*
     Chinese scale, which is about 0.6-0.7 degree higher than Worden's MMI for the same PGV at
     VII-X (e.g. I_CN 8 -> MMI 7.35); a sensitivity option, since the attenuation relation
     predicts macroseismic, not instrumental, intensity.

   The standard deviation is Yu et al.'s 0.5924 (times ``dMMI/dI_CN`` for ``"pgv"``).
4. **Site** (optional, ``vs30``): an object with ``vs30_at(latitude_deg, longitude_deg[, default])``
   (m/s; ``default`` -- where a raster has no value -- is set to the reference), e.g.
   :class:`~tianshan.groundmotion.prediction.site.ConstantVs30` or
   :func:`tianshan.groundmotion.prediction.site.slope_vs30_layer` from a DEM and the
   slope tables (Wald & Allen 2007; Allen & Wald 2009; ``vs30_slope_tables.csv``). The
   intensity relation has no site term and its data are the intensities of inhabited places,
   taken to stand on ``reference_vs30_m_s`` (400 m/s, the alluvial-basin assumption of
   :mod:`.simple_intensity`, not calibrated). The correction is the BSSA14 linear PGV site
   term (Seyhan & Stewart 2014, Earthquake Spectra 30(3): 1241-1256;
   ``F = c ln(min(Vs30, Vc) / Vref)``, ``c`` and ``Vc`` read from hazardlib's ``BooreEtAl2014``
   PGV coefficients: -0.84, 1300 m/s) turned into intensity by the GB/T 17742-2020 slope
   ``dI/dlg PGV = 3.00``: ``dI = 3.00 c lg(min(Vs30, Vc) / Vref)``. The nonlinear term (less
   amplification on soft soil under strong shaking) is ignored, so soft sites are
   over-amplified at VIII and above. Without ``vs30`` (no DEM available: the Xinjiang data
   folder has none) no correction is applied -- every site is at the reference.

Grid: as :func:`.simple_intensity.grid_around`, half-width the long-axis radius of Chinese
intensity 3.5 (at least :func:`.simple_intensity.default_radius_km`, at most 600 km).
"""

from __future__ import annotations

import inspect
import math

from tianshan.core.errors import InputError
from tianshan.products.loss.shaking import ShakingGrid
from tianshan.products.loss.simple_intensity import check_ranges

__all__ = ["predict_shaking", "TO_MMI", "MODEL_NAME", "DEFAULT_REFERENCE_VS30_M_S", "site_intensity_correction"]

TO_MMI = ("equal", "pgv")
#: Vs30 (m/s) the macroseismic data are taken to stand on (module docstring, item 4).
DEFAULT_REFERENCE_VS30_M_S = 400.0
#: GB/T 17742-2020 Appendix A: I_V = 3.00 lg(PGV) + 9.77 -- intensity per decade of PGV.
GBT17742_PGV_SLOPE = 3.00
#: Chinese intensity at which the grid's half-width is taken (long axis).
GRID_EDGE_INTENSITY = 3.5
MODEL_NAME = ("Yu et al. (2013) Xinjiang elliptical intensity (Ms {ms:.1f}, long axis {axis}) -> MMI ({to_mmi})"
              "{site}")


def _bssa14_pgv_site_coefficients() -> tuple[float, float]:
    """(c, Vc m/s) of BSSA14's linear PGV site term, from hazardlib (Seyhan & Stewart 2014)."""
    from openquake.hazardlib import imt
    from openquake.hazardlib.gsim.boore_2014 import BooreEtAl2014

    row = BooreEtAl2014.COEFFS[imt.PGV()]
    return float(row["c"]), float(row["Vc"])


def site_intensity_correction(vs30_m_s, reference_vs30_m_s: float = DEFAULT_REFERENCE_VS30_M_S):
    """Intensity change at sites of Vs30 ``vs30_m_s`` (m/s) relative to ``reference_vs30_m_s`` (module docstring)."""
    import numpy as np

    c, vc = _bssa14_pgv_site_coefficients()
    v = np.asarray(vs30_m_s, dtype=np.float64)
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise InputError("Vs30 must be finite and > 0 m/s", field="vs30")
    ref = float(reference_vs30_m_s)
    if not (math.isfinite(ref) and ref > 0):
        raise InputError(f"must be > 0 m/s, got {reference_vs30_m_s!r}", field="reference_vs30_m_s")
    ln_amp = c * (np.log(np.minimum(v, vc)) - math.log(min(ref, vc)))
    return GBT17742_PGV_SLOPE * ln_amp / math.log(10.0)


def _check(latitude_deg, longitude_deg, magnitude, ms) -> None:
    checks = [("latitude_deg", latitude_deg, -90.0, 90.0), ("longitude_deg", longitude_deg, -180.0, 180.0),
              ("magnitude", magnitude, 3.0, 9.5)]
    if ms is not None:
        checks.append(("ms", ms, 3.0, 9.5))
    check_ranges(checks)


def predict_shaking(latitude_deg: float, longitude_deg: float, depth_km: float, magnitude: float, *,
                    strike_deg: float | None = None, dip_deg: float = 90.0, rake_deg: float = 90.0,
                    ms: float | None = None, to_mmi: str = "equal", vs30=None,
                    reference_vs30_m_s: float = DEFAULT_REFERENCE_VS30_M_S, region: str = "xinjiang",
                    radius_km: float | None = None, spacing_deg: float | None = None) -> ShakingGrid:
    """MMI grid around an epicentre from the chain in the module docstring.

    Same call as :func:`.simple_intensity.predict_shaking` (``magnitude`` is Mw, ``depth_km``,
    ``dip_deg`` and ``rake_deg`` are accepted for that and unused: the relation has no depth or
    mechanism term). ``region`` picks the Yu et al. (2013) coefficient set (default Xinjiang).
    """
    import numpy as np

    from tianshan.groundmotion.intensity import mmi as wgrw
    from tianshan.groundmotion.prediction import attenuation
    from tianshan.groundmotion.prediction.distances import Rupture
    from tianshan.groundmotion.prediction.gmpe import ms_from_mw
    from tianshan.products.loss import simple_intensity

    _check(latitude_deg, longitude_deg, magnitude, ms)
    if to_mmi not in TO_MMI:
        raise InputError(f"must be one of {', '.join(TO_MMI)}, got {to_mmi!r}", field="to_mmi")
    if strike_deg is not None and not math.isfinite(float(strike_deg)):
        raise InputError(f"must be finite, got {strike_deg!r}", field="strike_deg")
    check_ranges((("depth_km", depth_km, 0.0, 700.0),))
    depth = float(depth_km)
    model = attenuation.YU_2013_INTENSITY.get(str(region).lower())
    if model is None:
        raise InputError(f"unknown region {region!r}; one of {', '.join(attenuation.YU_2013_INTENSITY)}",
                         field="region")
    lat0, lon0, mw = float(latitude_deg), float(longitude_deg), float(magnitude)
    ms_val = float(ms) if ms is not None else float(ms_from_mw(mw))
    if radius_km is None:
        r_edge = float(attenuation.radius_for_intensity(model, ms_val, GRID_EDGE_INTENSITY, "long"))
        radius_km = min(simple_intensity.MAX_RADIUS_KM, max(simple_intensity.default_radius_km(mw), r_edge))
    lats, lons, glat, glon = simple_intensity.grid_around(lat0, lon0, radius_km, spacing_deg)
    rupture = Rupture(magnitude=mw, latitude_deg=lat0, longitude_deg=lon0, depth_m=depth * 1000.0,
                      point_strike_deg=None if strike_deg is None else float(strike_deg) % 360.0)
    field = attenuation.predict_intensity(model, glat.ravel(), glon.ravel(), lat0, lon0, ms_val, rupture=rupture)
    i_cn = np.asarray(field.intensity, dtype=np.float64)
    site = ""
    if vs30 is not None:
        takes_default = "default" in inspect.signature(vs30.vs30_at).parameters   # RasterLayer: outside -> default
        kw = {"default": float(reference_vs30_m_s)} if takes_default else {}
        v = np.broadcast_to(np.asarray(vs30.vs30_at(glat.ravel(), glon.ravel(), **kw), dtype=np.float64),
                            glat.ravel().shape)
        i_cn = i_cn + site_intensity_correction(v, reference_vs30_m_s)
        site = f"; Vs30 site term vs {float(reference_vs30_m_s):g} m/s"
    i_cn = np.clip(i_cn, 1.0, 12.0)
    sigma = np.full(i_cn.shape, float(field.sigma))
    if to_mmi == "equal":
        mmi = i_cn
    else:
        mmi = np.asarray(wgrw.mmi_from_cn(i_cn, via="pgv", clip=True), dtype=np.float64)
        step = 0.01
        up = np.asarray(wgrw.mmi_from_cn(np.minimum(i_cn + step, 12.0), via="pgv", clip=True), dtype=np.float64)
        down = np.asarray(wgrw.mmi_from_cn(np.maximum(i_cn - step, 1.0), via="pgv", clip=True), dtype=np.float64)
        width = np.minimum(i_cn + step, 12.0) - np.maximum(i_cn - step, 1.0)
        sigma = sigma * np.abs(up - down) / width
    axis = "circular" if field.strike_deg is None else f"{field.strike_deg:.0f} deg"
    source = MODEL_NAME.format(ms=ms_val, axis=axis, to_mmi=to_mmi, site=site)
    return ShakingGrid(lats, lons, mmi.reshape(glat.shape), sigma.reshape(glat.shape), source=source)
