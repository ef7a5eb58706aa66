"""A thin adapter over OpenQuake hazardlib ground-motion models: mean ln, tau and phi for a rupture and sites.

Models
------
Any hazardlib GSIM by name (``"BooreEtAl2014"``, ``"ChiouYoungs2014"``, ``"YuEtAl2013Mw"``...)
or instance. The ones this project is built around:

* ``BooreEtAl2014`` -- Boore, Stewart, Seyhan & Atkinson (2014), Earthq. Spectra 30(3),
  1057-1085 (BSSA14; RotD50; Rjb; Vs30 site term of Seyhan & Stewart 2014).
* ``ChiouYoungs2014`` -- Chiou & Youngs (2014), Earthq. Spectra 30(3), 1117-1153 (CY14;
  Rrup, Rjb, Rx, Ztor, dip; Vs30; z1.0 left at hazardlib's "unknown" -999 = no basin term).
* ``YuEtAl2013Mw`` and variants -- Yu, Li & Xiao (2013), 震灾防御技术 8(1), 24-33, the
  elliptical PGA/PGV models of China's 2015 hazard map (GB 18306-2015), with hazardlib's Mw->Ms
  conversion of Cheng et al. (2017). hazardlib's docstrings do not name the regions of the
  four classes; from the magnitude scaling of the paper's intensity relations (see
  :mod:`.attenuation`: B = 1.4347 Xinjiang > 1.3626 east > 1.2746 Tibet > 1.0710
  moderate-to-strong, the same order as the classes' ``b`` = 1.656, 1.5433, 1.4835, 1.1454)
  the base class is the **Xinjiang region**, ``...Tibet`` Qinghai-Tibet, ``...Eastern`` the
  eastern strong-earthquake region and ``...Stable`` the moderate-to-strong region. This is
  an inference, not a statement of hazardlib or the paper. PGA and PGV only, total sigma only,
  no site term, geometric mean component. Its ``azimuth`` is the angle from the ellipse's
  long axis (:func:`tianshan.groundmotion.prediction.attenuation.long_axis_strike_deg`).

Units: hazardlib returns ln(g) for PGA and PSA and ln(cm/s) for PGV; :meth:`GroundMotionModel.predict`
returns **ln of SI units** (m/s^2, m/s), the units of the station observations.

Component: ShakeMap station lists report the larger of the two horizontal components.
``component="larger"`` (default) converts the model's own component to it with hazardlib's
factors (:func:`openquake.hazardlib.const.apply_conversion`: Beyer & Bommer 2006 and Boore &
Kishida 2017 ratios to the geometric mean; for PGV hazardlib's factor is 1, i.e. no
conversion). ``component="model"`` leaves the model's component. Sigmas are not converted.

Standard deviations: GSIMs that give only a total sigma are split as ShakeMap v4 does
(``model.py``, ``SM_CONSTS['default_stddev_inter']``): tau = 0.35, phi = sqrt(sigma^2 - tau^2).

Site term for models without one (Yu 2013): ``site_term="bssa14"`` adds the BSSA14 site
amplification ``ln F(Vs30) - ln F(Vref)`` (linear and nonlinear terms of Seyhan & Stewart 2014,
computed by hazardlib's BSSA14 for the same rupture and Rjb, so its nonlinearity sees the
BSSA14 rock PGA); ``reference_vs30`` (default 760 m/s) is the assumed site condition of the
model (Yu et al. 2013 is for "bedrock"; the 760 m/s is our assumption, not the paper's).

Yu et al. (2013) is evaluated here (:func:`_yu2013`) with hazardlib's coefficient tables and
its module functions (``gc``, ``rbf``, ``fnc``), not through ``compute``, for two reasons:

1. **A sign error in hazardlib 3.23** (``yu_2013.py``): the ellipse combination
   ``mean1 * mean2 / sqrt((mean1 sin az)^2 + (mean2 cos az)^2)`` is applied to ln values in
   cm/s^2 or cm/s; as ``mean1`` and ``mean2`` are (nearly) equal by construction this is
   ``|ln Y|``, so below 1 cm/s^2 (PGA) or 1 cm/s (PGV) the model turns *up* with distance
   (for Mw 6.7 beyond ~220 km on the long axis; shown in the tests). We keep the sign:
   the same expression times ``sign(mean1)`` when both terms share a sign, and
   ``mean1 cos^2 + mean2 sin^2`` in the thin band where they do not.
2. **Speed and range**: hazardlib solves the ellipse through each site by a scalar
   bisection in Python (~3 ms a site, semi-axis limited to 0-400 km); we run the same
   equation (``fnc(ra) = 0``) as a vectorised bisection on 0-5000 km.

Where ln Y > 0 and repi < 290 km the values equal hazardlib's ``compute`` to 1e-4 (tested;
the difference is hazardlib's bisection tolerance of 1e-3 km).

MMI (:func:`predict_mmi`): ShakeMap's "virtual IPE": Worden et al. (2012) applied to the PGV
prediction (with its distance and magnitude terms), tau_MMI = |dMMI/dlnPGV| tau and
phi_MMI = sqrt((dMMI/dlnPGV phi)^2 + sigma_GMICE^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError
from tianshan.groundmotion.prediction.distances import Distances, Rupture, site_distances

__all__ = ["Prediction", "GroundMotionModel", "hazardlib_imt", "predict_mmi", "DEFAULT_TAU_TOTAL_ONLY",
           "si_log_offset", "ms_from_mw"]

#: ShakeMap v4's stand-in for tau when a GMPE gives only the total sigma.
DEFAULT_TAU_TOTAL_ONLY = 0.35
_LN_G = math.log(9.80665)
_LN_CM = math.log(0.01)


def hazardlib_imt(key: str):
    """The hazardlib IMT of ``"pga"``, ``"pgv"`` or ``"psa<T>"`` (e.g. ``"psa1.0"``)."""
    from openquake.hazardlib import imt as oqimt

    k = str(key).lower()
    if k == "pga":
        return oqimt.PGA()
    if k == "pgv":
        return oqimt.PGV()
    if k.startswith("psa") or k.startswith("sa("):
        txt = k[3:] if k.startswith("psa") else k[3:].rstrip(")")
        try:
            period = float(txt)
        except ValueError:
            raise InputError(f"not a spectral period: {key!r}", field="imt") from None
        if not period > 0:
            raise InputError(f"spectral period must be > 0, got {key!r}", field="imt")
        return oqimt.SA(period)
    raise InputError(f"unknown intensity measure {key!r} (pga, pgv, psa<T>)", field="imt")


def si_log_offset(key: str) -> float:
    """Add to a hazardlib ln value to get ln of SI units: ln(g) -> ln(m/s^2), ln(cm/s) -> ln(m/s)."""
    return _LN_CM if str(key).lower() == "pgv" else _LN_G


@dataclass(frozen=True, slots=True)
class Prediction:
    """Model prediction at sites: ``mean_ln`` (ln SI units, or MMI for ``imt="mmi"``), ``tau``, ``phi``."""

    imt: str
    mean_ln: object
    tau: object
    phi: object

    @property
    def sigma(self):
        import numpy as np

        return np.sqrt(np.asarray(self.tau) ** 2 + np.asarray(self.phi) ** 2)


def _resolve(gsim):
    if not isinstance(gsim, str):
        return gsim
    import openquake.hazardlib.gsim  # noqa: F401 - fills the registry
    from openquake.hazardlib.valid import gsim as parse

    try:
        return parse(gsim)
    except ValueError as err:
        raise InputError(str(err), field="gsim") from None


class GroundMotionModel:
    """A hazardlib GSIM with this project's units, component and sigma conventions (module docstring)."""

    def __init__(self, gsim="BooreEtAl2014", component: str = "larger", site_term: str | None = "auto",
                 reference_vs30: float = 760.0, tau_total_only: float = DEFAULT_TAU_TOTAL_ONLY) -> None:
        self.gsim = _resolve(gsim)
        if component not in ("larger", "model"):
            raise InputError(f"must be 'larger' or 'model', got {component!r}", field="component")
        self.component = component
        needs_vs30 = "vs30" in self.gsim.REQUIRES_SITES_PARAMETERS
        if site_term == "auto":
            site_term = None if needs_vs30 else "bssa14"
        if site_term not in (None, "bssa14"):
            raise InputError(f"must be None, 'auto' or 'bssa14', got {site_term!r}", field="site_term")
        self.site_term = site_term
        if not (math.isfinite(reference_vs30) and reference_vs30 > 0):
            raise InputError(f"must be > 0 m/s, got {reference_vs30!r}", field="reference_vs30")
        self.reference_vs30 = float(reference_vs30)
        self.tau_total_only = float(tau_total_only)
        self._bssa = None

    @property
    def name(self) -> str:
        return type(self.gsim).__name__

    def __repr__(self) -> str:
        return f"GroundMotionModel({self.name}, component={self.component}, site_term={self.site_term})"

    @property
    def total_only(self) -> bool:
        from openquake.hazardlib import const

        return const.StdDev.INTER_EVENT not in self.gsim.DEFINED_FOR_STANDARD_DEVIATION_TYPES

    def _defined(self) -> set[str]:
        return {getattr(t, "__name__", str(t)) for t in self.gsim.DEFINED_FOR_INTENSITY_MEASURE_TYPES}

    def supports(self, key: str) -> bool:
        """True when the GSIM defines the intensity measure ``key`` (and has coefficients for it)."""
        if str(key).lower() == "mmi":
            return False
        im = hazardlib_imt(key)
        if im.string.split("(")[0] not in self._defined():
            return False
        if _is_yu2013(self.gsim):
            return im.string in ("PGA", "PGV")
        table = getattr(self.gsim, "COEFFS", None)
        if table is not None:
            try:
                table[im]
            except (KeyError, ValueError, IndexError):
                return False
        return True

    def _component_offset(self, im) -> float:
        if self.component == "model":
            return 0.0
        from openquake.hazardlib import const

        imc = self.gsim.DEFINED_FOR_INTENSITY_MEASURE_COMPONENT
        if not imc or imc == const.IMC.GREATER_OF_TWO_HORIZONTAL:
            return 0.0
        try:
            to_gm = 1.0 if imc.name == "GEOMETRIC_MEAN" else float(const.apply_conversion(imc, im)[0])
            larger = float(const.apply_conversion(const.IMC.GREATER_OF_TWO_HORIZONTAL, im)[0])
        except (KeyError, AttributeError):
            return 0.0
        return math.log(larger / to_gm)

    def _context(self, rupture: Rupture, dist: Distances, vs30, sl: slice):
        import numpy as np
        from openquake.hazardlib import contexts

        ctx = contexts.RuptureContext()
        n = sl.stop - sl.start
        ctx.sids = np.arange(n)
        ctx.mag = float(rupture.magnitude)
        ctx.rake = float(rupture.rake_deg)
        ctx.dip = float(rupture.dip_deg)
        ctx.ztor = rupture.ztor_m / 1000.0
        ctx.hypo_depth = rupture.depth_m / 1000.0
        ctx.width = rupture.width_m / 1000.0
        for name in ("rrup", "rjb", "rx", "ry0", "repi", "rhypo"):
            setattr(ctx, name, np.asarray(getattr(dist, f"{name}_m"))[sl] / 1000.0)
        ctx.rvolc = np.zeros(n)
        ctx.vs30 = np.asarray(vs30, dtype=np.float64)[sl]
        ctx.vs30measured = np.zeros(n, dtype=bool)
        ctx.z1pt0 = np.full(n, -999.0)
        ctx.z2pt5 = np.full(n, -999.0)
        return ctx

    def _raw(self, gsim, ctx, ims):
        """hazardlib (mean, sig, tau, phi), each (M, N)."""
        from openquake.hazardlib import contexts

        out = contexts.get_mean_stds(gsim, ctx, ims)
        return out[0], out[1], out[2], out[3]

    def predict(self, rupture: Rupture, latitude_deg, longitude_deg, imts, vs30=760.0,
                distances: Distances | None = None, long_axis_strike_deg: float | None = None,
                chunk: int = 200_000) -> dict[str, Prediction]:
        """Predictions at sites for each IMT key (``"pga"``, ``"pgv"``, ``"psa1.0"``...).

        ``vs30``: a number or an array per site (m/s). ``distances``: precomputed
        :func:`site_distances` (computed here when None). ``long_axis_strike_deg``: for Yu 2013's
        ellipse (default: the rupture's strike, else 0 = north, with a note in the docstring).
        """
        import numpy as np

        lat = np.atleast_1d(np.asarray(latitude_deg, dtype=np.float64)).ravel()
        lon = np.atleast_1d(np.asarray(longitude_deg, dtype=np.float64)).ravel()
        if distances is None:
            distances = site_distances(rupture, lat, lon)
        n = lat.size
        vs = np.broadcast_to(np.asarray(vs30, dtype=np.float64), (n,)).copy()
        if not (np.all(np.isfinite(vs)) and np.all(vs > 0)):
            raise InputError("Vs30 must be finite and > 0 m/s", field="vs30")
        keys = [str(k).lower() for k in imts]
        ims = [hazardlib_imt(k) for k in keys]
        defined = self._defined()
        for k, im in zip(keys, ims):
            if im.string.split("(")[0] not in defined:
                raise InputError(f"{self.name} does not define {k}", field="imt")
        means = np.empty((len(keys), n))
        sigs = np.empty((len(keys), n))
        taus = np.empty((len(keys), n))
        phis = np.empty((len(keys), n))
        strike = long_axis_strike_deg if long_axis_strike_deg is not None else (rupture.strike_deg or 0.0)
        az_rel = np.asarray(distances.azimuth_deg) - float(strike)
        yu = _is_yu2013(self.gsim)
        for s in range(0, n, max(1, int(chunk))):
            sl = slice(s, min(n, s + chunk))
            if yu:
                mu, sg, ta, ph = _yu2013(self.gsim, rupture.magnitude, np.asarray(distances.repi_m)[sl] / 1000.0,
                                         az_rel[sl], ims)
            else:
                ctx = self._context(rupture, distances, vs, sl)
                ctx.azimuth = az_rel[sl] % 360.0
                mu, sg, ta, ph = self._raw(self.gsim, ctx, ims)
            means[:, sl], sigs[:, sl], taus[:, sl], phis[:, sl] = mu, sg, ta, ph
        if self.total_only:
            taus[:] = self.tau_total_only
            phis[:] = np.sqrt(np.maximum(sigs ** 2 - self.tau_total_only ** 2, 0.0))
        if self.site_term == "bssa14":
            means += self._bssa_site_term(rupture, distances, vs, ims, chunk)
        out = {}
        for m, (k, im) in enumerate(zip(keys, ims)):
            mean = means[m] + si_log_offset(k) + self._component_offset(im)
            out[k] = Prediction(imt=k, mean_ln=mean, tau=taus[m].copy(), phi=phis[m].copy())
        return out

    def _bssa_site_term(self, rupture, dist, vs, ims, chunk):
        """BSSA14 ln F(Vs30) - ln F(Vref), (M, N) (module docstring)."""
        import numpy as np

        if self._bssa is None:
            self._bssa = _resolve("BooreEtAl2014")
        n = vs.size
        out = np.zeros((len(ims), n))
        ref = np.full(n, self.reference_vs30)
        for s in range(0, n, max(1, int(chunk))):
            sl = slice(s, min(n, s + chunk))
            ctx = self._context(rupture, dist, vs, sl)
            site = self._raw(self._bssa, ctx, ims)[0]
            ctx.vs30 = ref[sl]
            rock = self._raw(self._bssa, ctx, ims)[0]
            out[:, sl] = site - rock
        return out


def predict_mmi(pgv: Prediction, rrup_m, magnitude: float) -> Prediction:
    """MMI from a PGV prediction through Worden et al. (2012) (module docstring; ShakeMap's virtual IPE)."""
    import numpy as np

    from tianshan.groundmotion.intensity import mmi as wgrw

    mu = np.asarray(pgv.mean_ln, dtype=np.float64)
    r = np.asarray(rrup_m, dtype=np.float64)
    mmi = wgrw.mmi_from_motion(np.exp(mu), "pgv", r, magnitude, clip=True)
    c = wgrw.WORDEN_2012["pgv"]
    ly = mu / math.log(10.0) + math.log10(100.0)          # log10 of cm/s
    slope = np.where(ly <= c.t1, c.c2, c.c4) / math.log(10.0)
    unclipped = wgrw.mmi_from_motion(np.exp(mu), "pgv", r, magnitude, clip=False)
    slope = np.where((unclipped > wgrw.MMI_RANGE[0]) & (unclipped < wgrw.MMI_RANGE[1]), slope, 0.0)
    s_g = wgrw.sigma_mmi("pgv")
    tau = np.abs(slope) * np.asarray(pgv.tau)
    phi = np.sqrt((slope * np.asarray(pgv.phi)) ** 2 + s_g ** 2)
    return Prediction(imt="mmi", mean_ln=np.atleast_1d(mmi), tau=np.atleast_1d(tau), phi=np.atleast_1d(phi))


def _is_yu2013(gsim) -> bool:
    from openquake.hazardlib.gsim.yu_2013 import YuEtAl2013Ms

    return isinstance(gsim, YuEtAl2013Ms)


def ms_from_mw(mw):
    """Ms from Mw as hazardlib's ``YuEtAl2013Mw`` converts (Cheng et al. 2017): bilinear, break at Mw 6.58."""
    import numpy as np

    mw = np.asarray(mw, dtype=np.float64)
    return np.where(mw < 6.58, (mw - 0.59) / 0.86, (mw + 2.42) / 1.28)


def _yu2013(gsim, magnitude: float, repi_km, azimuth_deg, ims):
    """Yu et al. (2013) mean ln (hazardlib units), sigma, tau=0, phi=0 -- module docstring."""
    import numpy as np
    from openquake.hazardlib.gsim import yu_2013 as yu
    from scipy.constants import g as g_si

    repi = np.asarray(repi_km, dtype=np.float64)
    theta = np.asarray(azimuth_deg, dtype=np.float64)
    mag = float(ms_from_mw(magnitude)) if isinstance(gsim, yu.YuEtAl2013Mw) else float(magnitude)
    n = repi.size
    mean = np.empty((len(ims), n))
    sig = np.empty((len(ims), n))
    s2, c2 = np.sin(np.radians(theta)) ** 2, np.cos(np.radians(theta)) ** 2
    for m, im in enumerate(ims):
        if im.string not in ("PGA", "PGV"):
            raise InputError(f"Yu et al. (2013) defines PGA and PGV only, not {im.string}", field="imt")
        coeff = gsim.COEFFS[im]
        lo, hi = np.zeros(n), np.full(n, 5000.0)
        for _ in range(60):                      # fnc is increasing in ra; 5000 km / 2^60 is exact enough
            mid = 0.5 * (lo + hi)
            pos = yu.fnc(mid, repi, theta, mag, coeff) > 0
            hi = np.where(pos, mid, hi)
            lo = np.where(pos, lo, mid)
        ras = 0.5 * (lo + hi)
        rbs = yu.rbf(ras, coeff, mag)
        a1, b1, c1, d1, e1, a2, b2, c2_, d2, e2 = yu.gc(coeff, mag)
        m1 = a1 + b1 * mag + c1 * np.log(np.sqrt(ras ** 2 + 225.0) + d1 * np.exp(e1 * mag))
        m2 = a2 + b2 * mag + c2_ * np.log(np.sqrt(rbs ** 2 + 225.0) + d2 * np.exp(e2 * mag))
        same = m1 * m2 > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            ell = m1 * m2 / np.sqrt((m1 ** 2) * s2 + (m2 ** 2) * c2) * np.sign(m1)
        mu = np.where(same, ell, m1 * c2 + m2 * s2)
        mean[m] = mu - math.log(g_si * 100.0) if im.string == "PGA" else mu
        sig[m] = coeff["sigma"]
    zeros = np.zeros((len(ims), n))
    return mean, sig, zeros, zeros.copy()
