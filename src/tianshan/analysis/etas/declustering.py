"""Stochastic declustering and the kernel-smoothed background rate (Zhuang, Ogata & Vere-Jones 2002).

Background (Zhuang et al. 2002, J. Am. Stat. Assoc. 97:369, eq. 12; R ETAS ``cxxdeclust``):

    u(x, y) = 1/(T2 - T1) sum_j phi_j Z_{h_j}(x - x_j, y - y_j)

with ``Z_h`` the isotropic Gaussian kernel of standard deviation ``h``,
``phi_j = mu u(x_j, y_j) / lambda(t_j, x_j, y_j)`` the probability that event j is a
background event, and the sum over **all** events of the catalog (target and
complementary), divided by the study length T2 - T1 as R does. The bandwidth of event j is
the distance to its ``nnp``-th nearest neighbour (all events, flat-map units), at least
``bwm`` (Zhuang et al. 2002 sec. 3.2; R ``etas(nnp=5, bwm=0.05)``; ``bwm`` is in degrees
and is converted to km by 6371.3 pi/180 for ``dist_unit="km"``).

``integ0 = sum_j phi_j int_S Z_{h_j}(x - x_j)`` is the space-time integral of u over the study
window; each event's Gaussian mass inside the polygon S is computed once with R's own polar
Simpson rule, and the kernel weights once as a sparse matrix (the bandwidths do not change
during a fit; terms beyond 10 bandwidths, below exp(-50) of the peak, are dropped).

One declustering pass (R ``decluster``) updates all events at once from the previous
probabilities (a Jacobi update): u and ``integ0`` from phi_old, then
``lambda_j = mu u_j + trigger_j`` and ``phi_new = mu u_j / lambda_j``. The triggering part
depends only on the parameters and is computed once per parameter vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Kernel terms beyond this many bandwidths (< exp(-50) of the peak) are left out of the sums.
KERNEL_CUTOFF = 10.0
#: R ETAS converts the minimum bandwidth (degrees) to km with this factor.
KM_PER_DEGREE = 6371.3 * math.pi / 180.0


def bandwidths(x, y, nnp: int = 5, bwm: float = 0.05) -> np.ndarray:
    """Variable bandwidths: distance to the ``nnp``-th nearest other event, floored at ``bwm``
    (spatstat ``nndist(k=nnp)`` as in R ETAS; coincident events are neighbours at distance 0)."""
    from scipy.spatial import cKDTree

    pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    if nnp < 1:
        raise ValueError("nnp must be >= 1")
    k = min(nnp + 1, len(pts))
    if k < 2:
        return np.full(len(pts), float(bwm))
    dist, _ = cKDTree(pts).query(pts, k=k)
    return np.maximum(dist[:, -1], float(bwm))


def distance_to_boundary(x, y, polygon_xy) -> np.ndarray:
    """Distance from each point to the nearest edge of a closed polygon (first vertex repeated)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    poly = np.asarray(polygon_xy, float)
    best = np.full(x.shape, np.inf)
    for (x1, y1), (x2, y2) in zip(poly[:-1], poly[1:]):
        ex, ey = x2 - x1, y2 - y1
        ll = ex * ex + ey * ey
        s = np.clip(((x - x1) * ex + (y - y1) * ey) / ll, 0.0, 1.0) if ll > 0 else np.zeros_like(x)
        best = np.minimum(best, np.hypot(x - (x1 + s * ex), y - (y1 + s * ey)))
    return best


def gaussian_polygon_integrals(catalog, bandwidth, ndiv: int = 1000) -> np.ndarray:
    """Mass of each event's Gaussian kernel inside the study polygon.

    Events farther than :data:`KERNEL_CUTOFF` bandwidths from the boundary get exactly 1
    (inside) or 0 (outside): the mass across the boundary is below exp(-50). The others use
    R's polar Simpson rule with ``ndiv`` pieces per edge.
    """
    from tianshan.analysis.etas.data import points_in_polygon
    from tianshan.analysis.etas.model import r_scheme_integrals

    bw = np.asarray(bandwidth, float)
    poly = np.asarray(catalog.polygon_xy, float)
    out = points_in_polygon(catalog.x, catalog.y, poly[:-1, 0], poly[:-1, 1]).astype(float)
    near = np.flatnonzero(distance_to_boundary(catalog.x, catalog.y, poly) <= KERNEL_CUTOFF * bw)
    if near.size:
        out[near] = r_scheme_integrals(catalog.x[near], catalog.y[near], poly, bw[near], kind="gauss", ndiv=ndiv)
    return out


@dataclass(frozen=True)
class BackgroundSmoother:
    """The variable-bandwidth Gaussian smoother of one catalog, built once per fit.

    ``kernel`` is the sparse matrix Z_{h_j}(x_i - x_j) (rows i, columns j; terms beyond
    :data:`KERNEL_CUTOFF` bandwidths dropped, a relative change below 1e-20 per term);
    ``polygon_mass[j]`` the mass of kernel j inside the study polygon.
    """

    bandwidth: np.ndarray
    kernel: object
    polygon_mass: np.ndarray
    study_length: float

    @classmethod
    def build(cls, catalog, bandwidth, ndiv: int = 1000) -> "BackgroundSmoother":
        from scipy.sparse import csc_matrix

        from tianshan.analysis.etas import _kernels

        bw = np.ascontiguousarray(bandwidth, float)
        indptr, indices, values = _kernels.gaussian_kernel_columns(
            np.ascontiguousarray(catalog.x, float), np.ascontiguousarray(catalog.y, float), bw, KERNEL_CUTOFF)
        n = catalog.n_events
        kernel = csc_matrix((values, indices, indptr), shape=(n, n)).tocsr()
        return cls(bandwidth=bw, kernel=kernel, polygon_mass=gaussian_polygon_integrals(catalog, bw, ndiv),
                   study_length=float(catalog.study_length))

    def background(self, prob_background) -> np.ndarray:
        """u at every event: sum_j phi_j Z_{h_j}(x_i - x_j) / (T2 - T1)."""
        return self.kernel @ np.asarray(prob_background, float) / self.study_length

    def integral(self, prob_background) -> float:
        """integ0 = sum_j phi_j (mass of Z_{h_j} inside the polygon)."""
        return float(np.dot(np.asarray(prob_background, float), self.polygon_mass))


@dataclass(frozen=True)
class DeclusterPass:
    """Result of one declustering pass.

    ``background``: u at each event (from the previous probabilities); ``integ0``: its
    integral over the study window; ``intensity``: lambda at each event;
    ``prob_background``: the new probabilities phi = mu u / lambda.
    """

    background: np.ndarray
    integ0: float
    intensity: np.ndarray
    prob_background: np.ndarray


def trigger_at_events(theta, catalog) -> np.ndarray:
    """The triggering part of lambda at every event (sum over all earlier events)."""
    from tianshan.analysis.etas import _kernels

    return _kernels.trigger_sums(np.asarray(theta, float), np.ascontiguousarray(catalog.t, float),
                                 np.ascontiguousarray(catalog.x, float), np.ascontiguousarray(catalog.y, float),
                                 np.ascontiguousarray(catalog.m, float))


def decluster_pass(mu: float, trigger: np.ndarray, prob_background: np.ndarray,
                   smoother: BackgroundSmoother) -> DeclusterPass:
    """One Jacobi declustering pass (module docstring)."""
    bk = smoother.background(prob_background)
    integ0 = smoother.integral(prob_background)
    lam = mu * bk + trigger
    with np.errstate(divide="ignore", invalid="ignore"):
        pb_new = np.where(lam > 0.0, mu * bk / lam, 1.0)
    return DeclusterPass(background=bk, integ0=integ0, intensity=lam, prob_background=pb_new)


def background_density(catalog, prob_background, bandwidth, x, y) -> np.ndarray:
    """u(x, y) at arbitrary flat-map points (events/day per unit area, before the factor mu).

    ``mu * background_density(...)`` is the background (declustered) rate density used for
    background-rate maps; divide by the area unit to convert.
    """
    from tianshan.analysis.etas import _kernels

    gx = np.ascontiguousarray(np.ravel(x), float)
    gy = np.ascontiguousarray(np.ravel(y), float)
    out = _kernels.gaussian_kernel_grid(np.ascontiguousarray(prob_background, float),
                                        np.ascontiguousarray(catalog.x, float),
                                        np.ascontiguousarray(catalog.y, float),
                                        np.ascontiguousarray(bandwidth, float), gx, gy)
    return (out / catalog.study_length).reshape(np.shape(x))
