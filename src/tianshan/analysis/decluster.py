"""Declustering: window (Gardner-Knopoff and variants), Reasenberg, and nearest-neighbour methods.

Every method returns a :class:`Declustered` result over the events of a
:class:`~tianshan.analysis.catalog.SeismicCatalog`: a cluster number per event (0 = in no
cluster) and the **background** (declustered) events: events in no cluster plus the largest
event ("mainshock") of each cluster. Distances are epicentral great-circle distances (km) unless
a method says otherwise; times are origin times.

Window method (:func:`gardner_knopoff`; Gardner & Knopoff 1974, BSSA 64(5) 1363-1367)
    Events are taken in decreasing magnitude; an event not yet in a cluster opens a cluster with
    every unassigned event within its distance window ``L(M)`` and within ``T(M)`` after it
    (and ``fs_time_prop * T(M)`` before it, for foreshocks: 1 by default, a symmetric window; 0
    for aftershocks only). Window functions (:func:`window`; van Stiphout, Zhuang & Marsan 2012,
    Seismicity declustering, CORSSA, doi:10.5078/corssa-52382934), M = magnitude:

    * ``"gardner-knopoff"``: L = 10^(0.1238 M + 0.983) km; T = 10^(0.032 M + 2.7389) days for
      M >= 6.5, else 10^(0.5409 M - 0.547) days (the fit to Gardner & Knopoff's table 1 given by
      van Stiphout et al. 2012);
    * ``"gruenthal"`` (Gruenthal, pers. comm., in van Stiphout et al. 2012):
      L = exp(1.77 + sqrt(0.037 + 1.02 M)) km; T = |exp(-3.95 + sqrt(0.62 + 17.32 M))| days for
      M < 6.5, else 10^(2.8 + 0.024 M) days;
    * ``"uhrhammer"`` (Uhrhammer 1986, EOS 67, 1155): L = exp(-1.024 + 0.804 M) km,
      T = exp(-2.87 + 1.235 M) days.

Reasenberg (:func:`reasenberg`; Reasenberg 1985, JGR 90(B7) 5479-5495, as implemented in ZMAP,
Wiemer 2001, SRL 72(3) 373-382)
    Events in time order. Each event has an interaction radius ``r(M) = 0.011 10^(0.4 M)`` km
    (the source radius of Kanamori & Anderson 1975 used by Reasenberg). An event links the later
    events within its look-ahead time ``tau`` that lie within ``rfact r(M_i)`` of it or, for a
    clustered event, within ``r(M_big)`` of the cluster's largest event. ``tau = tau_min`` for an
    event in no cluster or the largest of its cluster, else (Reasenberg 1985)
    ``tau = -ln(1 - P) t / 10^(2 (dM - 1) / 3)``, ``dM = (1 - xk) M_big - xmeff``, ``t`` the time
    since the largest event, clipped to ``[tau_min, tau_max]``. Linked clusters merge.
    Hypocentral distances are reduced by the location errors (``err_km`` horizontally,
    ``derr_km`` in depth; unknown depths count as equal). Published parameters (Reasenberg 1985;
    van Stiphout et al. 2012): ``tau_min`` 1 day, ``tau_max`` 10 days, ``P`` 0.95,
    ``xk`` 0.5, ``xmeff`` 1.5 (his catalog's cut-off; here by default the smallest magnitude of
    the catalog, the role xmeff plays), ``rfact`` 10 -- also the defaults of ZMAP.

Nearest neighbour (:func:`zaliapin_ben_zion`; Zaliapin & Ben-Zion 2013, JGR 118, 2847-2864;
Baiesi & Paczuski 2004, PRE 69, 066106)
    For each event j its parent is the earlier event i minimising
    ``eta_ij = t_ij r_ij^df 10^(-b m_i)`` (t in years, r in km, ``df = 1.6``, ``b = 1``), with
    rescaled time ``T = t 10^(-q b m_i)`` and distance ``R = r^df 10^(-(1-q) b m_i)``, ``q = 0.5``
    (eta = T R). Links with ``log10 eta < log10 eta0`` are cluster links; families are the trees
    they form. ``eta0`` separates the two modes of the distribution of ``log10 eta``: by default
    the equal-posterior point of a two-component Gaussian mixture fitted by EM (the procedure of
    Zaliapin & Ben-Zion 2013, after Hicks 2011), or a fixed ``log10 eta0`` given by the user.
    Epicentral distances below ``min_distance_km`` are raised to it (catalog locations are
    rounded; r = 0 would make eta = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tianshan.analysis.catalog import SeismicCatalog
from tianshan.analysis.stats import haversine_km
from tianshan.core.errors import InputError

DAY_S = 86400.0
YEAR_S = 365.25 * DAY_S
WINDOWS = ("gardner-knopoff", "gruenthal", "uhrhammer")
METHODS = WINDOWS + ("reasenberg", "zaliapin")


@dataclass(frozen=True)
class Declustered:
    """Result of a declustering: ``cluster_id`` (0 = no cluster), ``mainshock`` (largest event of each
    cluster), ``background`` (no cluster, or mainshock), ``params`` used, method ``details``."""

    method: str
    cluster_id: np.ndarray
    mainshock: np.ndarray
    background: np.ndarray
    params: dict
    details: dict = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.cluster_id.size)

    @property
    def n_background(self) -> int:
        return int(self.background.sum())

    @property
    def n_clusters(self) -> int:
        return int(self.mainshock.sum())

    @property
    def n_clustered(self) -> int:
        """Events removed by declustering (cluster members other than the mainshocks)."""
        return self.n_events - self.n_background

    def summary(self) -> dict:
        return {"method": self.method, "n_events": self.n_events, "n_background": self.n_background,
                "n_clusters": self.n_clusters, "n_removed": self.n_clustered, "params": self.params,
                **{k: v for k, v in self.details.items() if not isinstance(v, np.ndarray)}}


def _finish(method: str, cluster_id: np.ndarray, mags: np.ndarray, params: dict, details=None) -> Declustered:
    """Renumber clusters 1..K in order of first event and mark the largest event of each."""
    n = cluster_id.size
    labels = np.zeros(n, np.int64)
    mainshock = np.zeros(n, bool)
    multi = {}
    for i in range(n):
        c = cluster_id[i]
        if c:
            multi.setdefault(c, []).append(i)
    k = 0
    for members in sorted(multi.values(), key=lambda v: v[0]):
        if len(members) < 2:
            continue
        k += 1
        labels[members] = k
        big = members[int(np.argmax(mags[members]))]  # first of equal maxima
        mainshock[big] = True
    background = (labels == 0) | mainshock
    return Declustered(method=method, cluster_id=labels, mainshock=mainshock, background=background,
                       params=params, details=details or {})


# ------------------------------------------------------------------------------------- windows

def window(magnitude, variant: str = "gardner-knopoff") -> tuple[np.ndarray, np.ndarray]:
    """Distance (km) and time (days) windows of ``variant`` (module docstring)."""
    m = np.asarray(magnitude, float)
    if variant == "gardner-knopoff":
        dist = 10.0 ** (0.1238 * m + 0.983)
        days = np.where(m >= 6.5, 10.0 ** (0.032 * m + 2.7389), 10.0 ** (0.5409 * m - 0.547))
    elif variant == "gruenthal":
        dist = np.exp(1.77 + np.sqrt(0.037 + 1.02 * m))
        days = np.where(m < 6.5, np.abs(np.exp(-3.95 + np.sqrt(np.clip(0.62 + 17.32 * m, 0.0, None)))),
                        10.0 ** (2.8 + 0.024 * m))
    elif variant == "uhrhammer":
        dist = np.exp(-1.024 + 0.804 * m)
        days = np.exp(-2.87 + 1.235 * m)
    else:
        raise InputError(f"unknown window {variant!r} ({', '.join(WINDOWS)})", field="window")
    return dist, days


def _sorted_catalog(cat: SeismicCatalog) -> tuple[np.ndarray, np.ndarray]:
    if len(cat) == 0:
        raise InputError("empty catalog", source=cat.source or None)
    order = np.argsort(cat.time_s, kind="stable")
    return order, np.argsort(order)


def gardner_knopoff(cat: SeismicCatalog, variant: str = "gardner-knopoff", fs_time_prop: float = 1.0,
                    max_days: float | None = None) -> Declustered:
    """Window declustering (module docstring). ``fs_time_prop`` is the fraction of the time window
    searched before the mainshock (0 = aftershocks only); ``max_days`` caps the time window."""
    if not 0.0 <= fs_time_prop <= 1.0:
        raise InputError("fs_time_prop must be within [0, 1]", field="fs_time_prop")
    order, inverse = _sorted_catalog(cat)
    t = cat.time_s[order] / DAY_S
    lon, lat, m = cat.longitude_deg[order], cat.latitude_deg[order], cat.magnitude[order]
    dist, days = window(m, variant)
    if max_days is not None:
        days = np.minimum(days, float(max_days))
    cid = np.zeros(t.size, np.int64)
    next_id = 0
    for i in np.argsort(-m, kind="stable"):
        if cid[i]:
            continue
        lo = np.searchsorted(t, t[i] - fs_time_prop * days[i], "left")
        hi = np.searchsorted(t, t[i] + days[i], "right")
        cand = np.arange(lo, hi)
        cand = cand[(cid[cand] == 0) & (cand != i)]
        if cand.size == 0:
            continue
        near = cand[haversine_km(lon[i], lat[i], lon[cand], lat[cand]) <= dist[i]]
        if near.size == 0:
            continue
        next_id += 1
        cid[near] = next_id
        cid[i] = next_id
    res = _finish(variant, cid, m, {"window": variant, "fs_time_prop": fs_time_prop, "max_days": max_days})
    return _unsort(res, inverse)


def _unsort(res: Declustered, inverse: np.ndarray) -> Declustered:
    """Back to the catalog's row order (clusters keep their time-order numbering)."""
    return Declustered(method=res.method, cluster_id=res.cluster_id[inverse], mainshock=res.mainshock[inverse],
                       background=res.background[inverse], params=res.params,
                       details={k: (v[inverse] if isinstance(v, np.ndarray) and v.size == inverse.size else v)
                                for k, v in res.details.items()})


# ------------------------------------------------------------------------------------- Reasenberg

def interaction_radius_km(magnitude) -> np.ndarray:
    """Reasenberg's (1985) interaction radius ``0.011 10^(0.4 M)`` km."""
    return 0.011 * 10.0 ** (0.4 * np.asarray(magnitude, float))


def look_ahead_days(t_since_largest_days: float, m_largest: float, *, xk: float = 0.5, xmeff: float = 1.5,
                    p: float = 0.95, tau_min: float = 1.0, tau_max: float = 10.0) -> float:
    """Reasenberg (1985) look-ahead time (days) for a clustered event (module docstring)."""
    dm = max(0.0, (1.0 - xk) * m_largest - xmeff)
    tau = -math.log(1.0 - p) * t_since_largest_days / 10.0 ** (2.0 * (dm - 1.0) / 3.0)
    return min(max(tau, tau_min), tau_max)


def reasenberg(cat: SeismicCatalog, *, rfact: float = 10.0, xmeff: float | None = None, xk: float = 0.5,
               tau_min_days: float = 1.0, tau_max_days: float = 10.0, p: float = 0.95, err_km: float = 1.5,
               derr_km: float = 2.0) -> Declustered:
    """Reasenberg (1985) cluster identification (module docstring)."""
    if not 0.0 < p < 1.0 or tau_min_days <= 0 or tau_max_days < tau_min_days or rfact <= 0:
        raise InputError("need 0 < p < 1, 0 < tau_min <= tau_max and rfact > 0", field="reasenberg")
    order, inverse = _sorted_catalog(cat)
    t = cat.time_s[order] / DAY_S
    lon, lat, m = cat.longitude_deg[order], cat.latitude_deg[order], cat.magnitude[order]
    z = np.nan_to_num(cat.depth_km[order], nan=0.0)
    xmeff = float(np.min(m)) if xmeff is None else float(xmeff)
    r_main = interaction_radius_km(m)
    r_link = rfact * r_main
    n = t.size
    cid = np.zeros(n, np.int64)
    big: dict[int, int] = {}  # cluster -> index of its largest event
    next_id = 0

    def dist(a: int, idx: np.ndarray) -> np.ndarray:
        h = np.maximum(haversine_km(lon[a], lat[a], lon[idx], lat[idx]) - err_km, 0.0)
        v = np.maximum(np.abs(z[idx] - z[a]) - derr_km, 0.0)
        return np.hypot(h, v)

    for i in range(n - 1):
        k = int(cid[i])
        if k and m[i] >= m[big[k]]:
            big[k] = i
        if k and big[k] != i:
            tau = look_ahead_days(t[i] - t[big[k]], m[big[k]], xk=xk, xmeff=xmeff, p=p, tau_min=tau_min_days,
                                  tau_max=tau_max_days)
        else:
            tau = tau_min_days
        hi = np.searchsorted(t, t[i] + tau, "left")  # strictly within tau
        cand = np.arange(i + 1, max(hi, i + 1))
        if k:
            cand = cand[cid[cand] != k]
        if cand.size == 0:
            continue
        linked = dist(i, cand) <= r_link[i]
        if k and big[k] != i:
            linked |= dist(big[k], cand) <= r_main[big[k]]
        hit = cand[linked]
        if hit.size == 0:
            continue
        others = sorted({int(c) for c in cid[hit] if c} | ({k} if k else set()))
        if others:
            target = others[0]
            for c in others[1:]:  # merge into the smallest cluster number
                members = cid == c
                cid[members] = target
                if m[big[c]] > m[big[target]]:
                    big[target] = big[c]
                del big[c]
            if cid[i] == 0:
                cid[i] = target
                if m[i] > m[big[target]]:
                    big[target] = i
        else:
            next_id += 1
            target = next_id
            cid[i] = target
            big[target] = i
        cid[hit[cid[hit] == 0]] = target  # a new member becomes the largest when it is reached (ZMAP rule)
    params = {"rfact": rfact, "xmeff": xmeff, "xk": xk, "tau_min_days": tau_min_days, "tau_max_days": tau_max_days,
              "p": p, "err_km": err_km, "derr_km": derr_km}
    return _unsort(_finish("reasenberg", cid, m, params), inverse)


# ------------------------------------------------------------------------------------- nearest neighbour

@dataclass(frozen=True)
class NearestNeighbours:
    """Nearest-neighbour proximities (Zaliapin & Ben-Zion 2013), rows in time order: ``parent`` index
    (-1 for the first event), ``log10_eta``, ``log10_T``, ``log10_R``; ``order`` maps them back to the
    catalog rows (row k here is catalog row ``order[k]``)."""

    parent: np.ndarray
    log10_eta: np.ndarray
    log10_T: np.ndarray
    log10_R: np.ndarray
    order: np.ndarray


def nearest_neighbours(cat: SeismicCatalog, *, df: float = 1.6, b: float = 1.0, q: float = 0.5,
                       min_distance_km: float = 1.0, chunk: int = 256) -> NearestNeighbours:
    """Nearest-neighbour parent and proximity of every event (module docstring); O(n^2) in chunks."""
    order, _ = _sorted_catalog(cat)
    t = cat.time_s[order] / YEAR_S
    lon, lat, m = cat.longitude_deg[order], cat.latitude_deg[order], cat.magnitude[order]
    n = t.size
    parent = np.full(n, -1, np.int64)
    log_eta = np.full(n, np.inf)
    log_t = np.full(n, np.nan)
    log_r = np.full(n, np.nan)
    for start in range(1, n, chunk):
        j = np.arange(start, min(n, start + chunk))
        jmax = int(j[-1])
        dt = t[j][:, None] - t[None, :jmax]
        r = np.maximum(haversine_km(lon[j][:, None], lat[j][:, None], lon[None, :jmax], lat[None, :jmax]),
                       min_distance_km)
        with np.errstate(divide="ignore", invalid="ignore"):
            le = np.log10(dt) + df * np.log10(r) - b * m[None, :jmax]
        le[~(dt > 0)] = np.inf  # only earlier events (equal times are not parents)
        best = np.argmin(le, axis=1)
        rows = np.arange(j.size)
        ok = np.isfinite(le[rows, best])
        parent[j[ok]] = best[ok]
        log_eta[j[ok]] = le[rows, best][ok]
        mi = m[best[ok]]
        log_t[j[ok]] = np.log10(dt[rows, best][ok]) - q * b * mi
        log_r[j[ok]] = df * np.log10(r[rows, best][ok]) - (1.0 - q) * b * mi
    return NearestNeighbours(parent=parent, log10_eta=log_eta, log10_T=log_t, log10_R=log_r, order=order)


def gmm_threshold(values, iterations: int = 300) -> tuple[float, dict]:
    """Two-component 1-D Gaussian mixture (EM, Dempster et al. 1977) of ``values``; returns the point
    between the two means where both components have equal posterior weight, and the fit."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if x.size < 10:
        raise InputError(f"{x.size} finite proximities, too few to fit the mixture", field="threshold")
    mu = np.quantile(x, [0.25, 0.75]).astype(float)
    sd = np.full(2, max(np.std(x) / 2.0, 1e-3))
    w = np.array([0.5, 0.5])
    for _ in range(iterations):
        dens = w / (sd * math.sqrt(2 * math.pi)) * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2)
        tot = dens.sum(axis=1, keepdims=True)
        tot[tot == 0] = 1e-300
        g = dens / tot
        nk = g.sum(axis=0)
        if np.any(nk < 1e-9):
            break
        w_new = nk / x.size
        mu_new = (g * x[:, None]).sum(axis=0) / nk
        sd_new = np.sqrt((g * (x[:, None] - mu_new) ** 2).sum(axis=0) / nk).clip(1e-3)
        done = np.allclose(mu_new, mu, atol=1e-9) and np.allclose(sd_new, sd, atol=1e-9)
        w, mu, sd = w_new, mu_new, sd_new
        if done:
            break
    lo, hi = (0, 1) if mu[0] <= mu[1] else (1, 0)
    grid = np.linspace(mu[lo], mu[hi], 2001)
    log_ratio = (np.log(w[lo] / sd[lo]) - 0.5 * ((grid - mu[lo]) / sd[lo]) ** 2
                 - np.log(w[hi] / sd[hi]) + 0.5 * ((grid - mu[hi]) / sd[hi]) ** 2)
    cross = np.flatnonzero(np.diff(np.sign(log_ratio)) != 0)
    thr = float(grid[cross[0]]) if cross.size else float(0.5 * (mu[lo] + mu[hi]))
    fit = {"means": [float(mu[lo]), float(mu[hi])], "stds": [float(sd[lo]), float(sd[hi])],
           "weights": [float(w[lo]), float(w[hi])]}
    return thr, fit


def zaliapin_ben_zion(cat: SeismicCatalog, *, threshold: float | str = "gmm", df: float = 1.6, b: float = 1.0,
                      q: float = 0.5, min_distance_km: float = 1.0) -> Declustered:
    """Nearest-neighbour declustering (module docstring). ``threshold`` is ``"gmm"`` or ``log10 eta0``."""
    nn = nearest_neighbours(cat, df=df, b=b, q=q, min_distance_km=min_distance_km)
    fit = None
    if isinstance(threshold, str):
        if threshold != "gmm":
            raise InputError(f"threshold must be 'gmm' or a number, not {threshold!r}", field="threshold")
        log_eta0, fit = gmm_threshold(nn.log10_eta)
    else:
        log_eta0 = float(threshold)
    n = nn.parent.size
    root = np.arange(n)
    strong = (nn.parent >= 0) & (nn.log10_eta < log_eta0)
    for j in range(n):  # parents are earlier, so their root is final
        if strong[j]:
            root[j] = root[nn.parent[j]]
    sizes = np.bincount(root, minlength=n)
    cid = np.where(sizes[root] > 1, root + 1, 0)
    m = cat.magnitude[nn.order]
    params = {"threshold_log10_eta": log_eta0, "threshold_method": "gmm" if fit else "given", "df": df, "b": b,
              "q": q, "min_distance_km": min_distance_km, "time_unit": "year", "distance_unit": "km"}
    details = {"gmm": fit, "n_strong_links": int(strong.sum()),
               "log10_eta": nn.log10_eta, "parent_row": np.where(nn.parent >= 0, nn.order[nn.parent], -1)}
    res = _finish("zaliapin", cid, m, params, details)
    inverse = np.argsort(nn.order)
    return _unsort(res, inverse)


def decluster(cat: SeismicCatalog, method: str, **kw) -> Declustered:
    """Run ``method``: one of :data:`METHODS` (the three window variants, ``reasenberg``, ``zaliapin``)."""
    if method in WINDOWS:
        return gardner_knopoff(cat, method, **kw)
    if method == "reasenberg":
        return reasenberg(cat, **kw)
    if method == "zaliapin":
        return zaliapin_ben_zion(cat, **kw)
    raise InputError(f"unknown declustering method {method!r} ({', '.join(METHODS)})", field="method")
