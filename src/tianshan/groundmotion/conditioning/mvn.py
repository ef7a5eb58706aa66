"""Multivariate-normal conditioning of a ground-motion model on observations (ShakeMap v4).

The model
---------
Worden, Thompson, Baker, Bradley, Luco & Wald (2018), "Spatial and spectral interpolation of
ground-motion intensity measure observations", BSSA 108(2), 866-875: the ln ground motions
(or intensities) at observation sites and at prediction sites are jointly normal. At site
``i`` an IMT's value is ``Y_i = mu_i + tau_i H_k(i) + W_i`` with

* ``mu``: the model mean, ``tau``/``phi``: its between-/within-event standard deviations;
* ``H``: standard-normal event terms, one per IMT, correlated across IMTs by the correlation
  model at zero separation (``Sigma_HH``);
* ``W``: within-event residuals, ``cov(W_i, W_j) = phi_i phi_j rho(h_ij, T_i, T_j)``
  (:mod:`.correlation`);
* observation ``j`` may carry an extra, independent error ``sigma_eps_j`` (converted or
  macroseismic data), added to the diagonal of the data covariance as ShakeMap 4.1+ does
  ("Weighting of Residuals" in its manual) instead of Worden et al.'s omega factors.

Conditioning (non-iterative event term): Engler, Worden, Thompson & Jaiswal (2022),
"Partitioning ground motion uncertainty when conditioned on station data", BSSA 112(2),
1060-1079, Appendix B (eqs. B8, B9 and the conditional mean and covariance; notation of the
ShakeMap 4 manual, "Computing the MVN"). With ``D`` the data, ``W_DD`` the within-event data
covariance (extra variances on the diagonal), ``T_D`` the n x K matrix holding ``tau_j`` in the
column of observation j's IMT, and ``r = y_D - mu_D``::

    Sigma_H|y = (T_D' W_DD^-1 T_D + Sigma_HH^-1)^-1             (B9)
    mu_H|y    = Sigma_H|y T_D' W_DD^-1 r                        (B8)
    C         = T_Y0 - Sigma_WY,WD W_DD^-1 T_D
    mu_Y|y    = mu_Y + C mu_H|y + Sigma_WY,WD W_DD^-1 r
    var_Y|y   = [phi_Y^2 - diag(Sigma_WY,WD W_DD^-1 Sigma_WD,WY)] + diag(C Sigma_H|y C')

The first bracket is the conditional within-event variance, the second the conditional
between-event variance; their sum is the total. ``T_Y0`` holds ``tau_Y`` in the target IMT's
column. ``Sigma_H|y`` is evaluated as ``(I + Sigma_HH A)^-1 Sigma_HH`` with
``A = T_D' W_DD^-1 T_D``, which equals B9 and needs no inverse of ``Sigma_HH`` (singular when
two IMTs share a pseudo-period). The event term ("bias") of the target IMT at a site is
``tau_Y mu_H|y[target]``. These are exactly the conditional moments of the joint normal
(tested against a direct dense conditioning of the full covariance).

``W_DD^-1`` is the Moore-Penrose pseudo-inverse (eigen-decomposition, eigenvalues below
``rcond`` x the largest dropped), as ShakeMap uses ``numpy.linalg.pinv``: co-located
observations without extra error make ``W_DD`` singular and then act as one observation of
their mean (verification tests 4 and 5).

``jitter`` (default 0): a variance of ``jitter`` x phi_j^2 added to every observation j, an
observation-error floor. With 0 the conditioning is ShakeMap's (pseudo-inverse); event maps
(:mod:`.pipeline`) use 1e-3 (an error of ~3 % of phi, ~0.02 ln units) so that their
leave-one-out validation (:mod:`.loo`), which needs an invertible covariance, is the same
computation (co-located stations without extra error make the covariance singular).

Outliers (:func:`outlier_mask`): ShakeMap 4's rule -- an observation whose residual exceeds
``max_deviation`` (3) times the model's total standard deviation is flagged and not used;
ShakeMap applies it when the rupture is finite or M <= 6.5 (``outlier.max_mag`` in its
``modelspec.conf``); :mod:`.pipeline` does the same.

Distances between sites are great-circle distances on a sphere of radius 6371.0088 km.
Distinct sites (``Observations.site_id``) with identical coordinates -- real station lists
round coordinates (82 shared coordinates among the Wenchuan stations, e.g. 051BXD, 051BXY
and 051BXZ, whose PGA differ by a factor of 2) -- are given a separation of 1e-5 km: the
correlation model's nugget (Loth & Baker's ``B3``, site-scale variability) then applies only
within one site, as it should, and such stations are not treated as one measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tianshan.core.errors import InputError

__all__ = ["Observations", "Conditioner", "ConditionedPoints", "great_circle_km", "outlier_mask", "pinvh"]

_R_KM = 6371.0088
#: Separation given to distinct sites with identical coordinates (km): above the nugget's zero.
_DISTINCT_KM = 1e-5


def great_circle_km(lat1, lon1, lat2, lon2):
    """Haversine distance (km) with broadcasting (Sinnott 1984, Sky & Telescope 68(2), 159)."""
    import numpy as np

    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    return 2.0 * _R_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def pinvh(matrix, rcond: float = 1e-12):
    """Pseudo-inverse of a symmetric positive semi-definite matrix by eigen-decomposition."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float64)
    if m.size == 0:
        return m.copy()
    lam, vec = np.linalg.eigh(0.5 * (m + m.T))
    keep = lam > rcond * max(float(lam.max()), 0.0)
    inv = np.zeros_like(lam)
    inv[keep] = 1.0 / lam[keep]
    return (vec * inv) @ vec.T


def outlier_mask(residual, sigma_total, max_deviation: float = 3.0):
    """True where ``|residual| > max_deviation * sigma_total`` (ShakeMap 4's outlier rule)."""
    import numpy as np

    r = np.asarray(residual, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.abs(r) > float(max_deviation) * np.asarray(sigma_total, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Observations:
    """Residual data for one conditioning: one row per observation (arrays of equal length).

    ``imt``: the IMT key of each observation (``"pga"``, ``"psa1.0"``, ``"mmi"``...);
    ``period_s``: its pseudo-period (:func:`.correlation.pseudo_period`); ``residual``: observed
    minus model mean (ln SI units, or intensity units for MMI); ``tau``/``phi``: the model's
    standard deviations for that IMT at that site; ``extra_sd``: the observation's own error;
    ``site_id`` (optional): which rows come from the same site (module docstring: distinct sites
    with identical coordinates); None treats rows at identical coordinates as one site.
    """

    latitude_deg: object
    longitude_deg: object
    imt: tuple[str, ...]
    period_s: object
    residual: object
    tau: object
    phi: object
    extra_sd: object
    site_id: object = None

    def __post_init__(self) -> None:
        import numpy as np

        if self.site_id is not None:
            sid = np.atleast_1d(np.asarray(self.site_id)).ravel()
            if sid.size != np.size(self.residual):
                raise InputError("site_id must have one entry per observation", field="site_id")
            object.__setattr__(self, "site_id", sid)
        arrays = {}
        for name in ("latitude_deg", "longitude_deg", "period_s", "residual", "tau", "phi", "extra_sd"):
            a = np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64)).ravel()
            if not np.all(np.isfinite(a)):
                raise InputError("must be finite", field=name)
            arrays[name] = a
        n = arrays["residual"].size
        if any(a.size != n for a in arrays.values()) or len(self.imt) != n:
            raise InputError("observation arrays differ in length", field="observations")
        if np.any(arrays["tau"] < 0) or np.any(arrays["phi"] <= 0) or np.any(arrays["extra_sd"] < 0):
            raise InputError("need tau >= 0, phi > 0 and extra_sd >= 0", field="tau, phi, extra_sd")
        for k, a in arrays.items():
            object.__setattr__(self, k, a)
        object.__setattr__(self, "imt", tuple(str(i).lower() for i in self.imt))

    def __len__(self) -> int:
        return int(self.residual.size)

    def subset(self, index) -> "Observations":
        """The observations at ``index`` (boolean mask or integer indices)."""
        import numpy as np

        idx = np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return Observations(latitude_deg=self.latitude_deg[idx], longitude_deg=self.longitude_deg[idx],
                            imt=tuple(self.imt[i] for i in idx), period_s=self.period_s[idx],
                            residual=self.residual[idx], tau=self.tau[idx], phi=self.phi[idx],
                            extra_sd=self.extra_sd[idx], site_id=None if self.site_id is None else self.site_id[idx])

    @classmethod
    def empty(cls) -> "Observations":
        return cls(latitude_deg=[], longitude_deg=[], imt=(), period_s=[], residual=[], tau=[], phi=[], extra_sd=[])


@dataclass(frozen=True, slots=True)
class ConditionedPoints:
    """Conditional moments at prediction sites (arrays): ``mean`` and the total / between / within sds.

    ``event_term``: the between-event part of the conditional mean (``tau_Y mu_H|y[target]``,
    the ShakeMap "bias" for the site's tau).
    """

    mean: object
    sd: object
    sd_between: object
    sd_within: object
    event_term: object


@dataclass(slots=True)
class Conditioner:
    """Engler et al. (2022) conditioning of one target IMT on :class:`Observations` (module docstring).

    Build once per (observation set, target IMT, correlation model); then
    :meth:`predict` at any sites. ``correlation`` is a model of :mod:`.correlation`.
    """

    observations: Observations
    target_imt: str
    correlation: object
    target_period_s: float
    rcond: float = 1e-12
    jitter: float = 0.0
    imts: tuple[str, ...] = field(init=False)
    periods: object = field(init=False)
    w_inv: object = field(init=False)
    alpha: object = field(init=False)
    g: object = field(init=False)
    sigma_h: object = field(init=False)
    mu_h: object = field(init=False)
    t_d: object = field(init=False)

    def __post_init__(self) -> None:
        import numpy as np

        obs = self.observations
        self.target_imt = str(self.target_imt).lower()
        imts = [self.target_imt] + sorted({i for i in obs.imt} - {self.target_imt})
        per = {self.target_imt: float(self.target_period_s)}
        for i, p in zip(obs.imt, obs.period_s):
            per.setdefault(i, float(p))
        self.imts = tuple(imts)
        self.periods = np.array([per[i] for i in imts])
        k = len(imts)
        hh = np.asarray(self.correlation.rho(0.0, self.periods[:, None], self.periods[None, :]), dtype=np.float64)
        n = len(obs)
        col = {m: j for j, m in enumerate(imts)}
        self.t_d = np.zeros((n, k))
        if n:
            self.t_d[np.arange(n), [col[i] for i in obs.imt]] = obs.tau
            w = self.within_covariance(obs)
            self.w_inv = pinvh(w, self.rcond)
            self.alpha = self.w_inv @ obs.residual
            self.g = self.w_inv @ self.t_d
            a = self.t_d.T @ self.g
            self.sigma_h = np.linalg.solve(np.eye(k) + hh @ a, hh)
            self.sigma_h = 0.5 * (self.sigma_h + self.sigma_h.T)
            self.mu_h = self.sigma_h @ (self.t_d.T @ self.alpha)
        else:
            self.w_inv = np.zeros((0, 0))
            self.alpha = np.zeros(0)
            self.g = np.zeros((0, k))
            self.sigma_h = hh
            self.mu_h = np.zeros(k)

    def within_covariance(self, obs: Observations):
        """``W_DD``: phi_i phi_j rho(h_ij, T_i, T_j) plus the extra variances (and the jitter) on the diagonal."""
        import numpy as np

        h = great_circle_km(obs.latitude_deg[:, None], obs.longitude_deg[:, None],
                            obs.latitude_deg[None, :], obs.longitude_deg[None, :])
        if obs.site_id is not None:       # distinct sites are never at zero separation (no nugget)
            h = np.where((h < _DISTINCT_KM) & (obs.site_id[:, None] != obs.site_id[None, :]), _DISTINCT_KM, h)
        rho = self.correlation.rho(h, obs.period_s[:, None], obs.period_s[None, :])
        w = np.outer(obs.phi, obs.phi) * rho
        w[np.diag_indices_from(w)] += obs.extra_sd ** 2 + self.jitter * obs.phi ** 2
        return w

    @property
    def event_term(self) -> float:
        """The target IMT's normalised event term ``mu_H|y`` (multiply by tau for ln units)."""
        return float(self.mu_h[0])

    @property
    def event_term_sd(self) -> float:
        """Standard deviation of the normalised event term (``sqrt(Sigma_H|y[target, target])``)."""
        return float(math.sqrt(max(float(self.sigma_h[0, 0]), 0.0)))

    def cross_within(self, latitude_deg, longitude_deg, phi, index=None):
        """``Sigma_WY,WD`` rows: phi_Y phi_j rho(h, T_target, T_j), (points x observations or ``index``)."""
        import numpy as np

        obs = self.observations
        idx = slice(None) if index is None else index
        h = great_circle_km(np.asarray(latitude_deg, dtype=np.float64)[:, None],
                            np.asarray(longitude_deg, dtype=np.float64)[:, None],
                            obs.latitude_deg[idx][None, :], obs.longitude_deg[idx][None, :])
        rho = self.correlation.rho(h, self.periods[0], obs.period_s[idx][None, :])
        return np.asarray(phi, dtype=np.float64)[:, None] * rho * obs.phi[idx][None, :]

    def moments(self, w, mean, tau, phi, w_inv=None, alpha=None, g=None):
        """Conditional moments from within-event cross-covariances ``w`` (points x obs) -- module docstring.

        ``w_inv``/``alpha``/``g`` default to the full data's; the grid code passes the
        sub-blocks of the observations within the correlation cut-off.
        """
        import numpy as np

        w_inv = self.w_inv if w_inv is None else w_inv
        alpha = self.alpha if alpha is None else alpha
        g = self.g if g is None else g
        mean = np.asarray(mean, dtype=np.float64)
        tau = np.broadcast_to(np.asarray(tau, dtype=np.float64), mean.shape)
        phi = np.broadcast_to(np.asarray(phi, dtype=np.float64), mean.shape)
        c = -(w @ g) if w.shape[1] else np.zeros((mean.size, len(self.imts)))
        c[:, 0] += tau
        mu = mean + c @ self.mu_h + (w @ alpha if w.shape[1] else 0.0)
        var_w = phi ** 2 - (np.einsum("ij,ij->i", w @ w_inv, w) if w.shape[1] else 0.0)
        var_b = np.einsum("ij,ij->i", c @ self.sigma_h, c)
        var_w = np.maximum(var_w, 0.0)
        var_b = np.maximum(var_b, 0.0)
        return ConditionedPoints(mean=mu, sd=np.sqrt(var_w + var_b), sd_between=np.sqrt(var_b),
                                 sd_within=np.sqrt(var_w), event_term=tau * self.mu_h[0])

    def predict(self, latitude_deg, longitude_deg, mean, tau, phi, chunk: int = 20_000) -> ConditionedPoints:
        """Conditional moments at sites (dense over all observations, in chunks of sites).

        ``mean``, ``tau``, ``phi``: the model's values for the target IMT at the sites. For maps
        of millions of sites use :func:`tianshan.groundmotion.conditioning.grid.condition_grid`.
        """
        import numpy as np

        lat = np.atleast_1d(np.asarray(latitude_deg, dtype=np.float64)).ravel()
        lon = np.atleast_1d(np.asarray(longitude_deg, dtype=np.float64)).ravel()
        mu = np.broadcast_to(np.asarray(mean, dtype=np.float64), lat.shape)
        ta = np.broadcast_to(np.asarray(tau, dtype=np.float64), lat.shape)
        ph = np.broadcast_to(np.asarray(phi, dtype=np.float64), lat.shape)
        parts = []
        for s in range(0, lat.size, max(1, int(chunk))):
            sl = slice(s, s + chunk)
            w = self.cross_within(lat[sl], lon[sl], ph[sl]) if len(self.observations) else np.zeros((lat[sl].size, 0))
            parts.append(self.moments(w, mu[sl], ta[sl], ph[sl]))
        if not parts:
            z = np.zeros(0)
            return ConditionedPoints(z, z, z, z, z)
        return ConditionedPoints(*(np.concatenate([getattr(p, f) for p in parts])
                                   for f in ("mean", "sd", "sd_between", "sd_within", "event_term")))
