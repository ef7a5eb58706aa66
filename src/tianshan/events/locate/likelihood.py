"""Location likelihoods: equal differential time (EDT) and L2 with the origin time removed.

Both work on arrays: ``observed_s`` (A,) arrival times relative to any reference,
``travel_s`` (M, A) predicted travel times at M trial hypocentres and ``sigma_s`` (M, A) or (A,)
the total time uncertainty of each arrival (pick error and model error combined in
quadrature). They return the natural log of the (unnormalised) likelihood at each node, (M,).

* **EDT** (Zhou 1994, PEPI 86, 7-18; Font et al. 2004, GJI 158, 655-675; in the form of
  Lomax 2005, BSSA 95, 861-877, as NonLinLoc's ``LOCMETH EDT`` evaluates it)::

      L(x) = [ sum_{a<b} 1/sqrt(s_a^2 + s_b^2) exp(-1/2 ((o_a - o_b) - (t_a - t_b))^2 / (s_a^2 + s_b^2)) ]^N

  with ``o`` observed arrival times, ``t`` travel times and ``N`` the number of arrivals.
  Only differences of arrival times enter, so the origin time drops out exactly; a pick
  with a gross error only spoils the pairs it belongs to, so the sum stays large where the
  other picks agree: the EDT likelihood is robust to outliers. For small residuals the
  curvature of ``ln L`` matches the L2 one below, so posterior widths are comparable.
* **EDT with origin-time weighting** (NonLinLoc ``EDT_OT_WT``): ``ln L`` gains the term
  ``max(-var(OT) / mean(s^2), ln 1e-5)``, where ``var(OT)`` is the variance of the
  per-arrival origin times ``o_a - t_a`` weighted by each arrival's EDT pair sum. It
  penalises nodes whose arrivals agree on differences but not on one origin time, which
  makes the posterior more compact. (NonLinLoc weights each arrival by the pairs with the
  arrivals listed after it; here by all its pairs, so the result does not depend on the
  order of the picks.)
* **L2** (Tarantola & Valette 1982, J. Geophys. 50, 159-170; Moser et al. 1992, BSSA 82,
  2474-2490): Gaussian errors, and the origin time, with a uniform prior, integrated out
  analytically. With weights ``w = 1/s^2``, residuals ``r = o - t`` and the weighted mean
  ``r_bar`` (the maximum-likelihood origin time)::

      ln L(x) = -1/2 sum w (r - r_bar)^2 - sum ln s - 1/2 ln sum w

  (the last two terms matter only when ``s`` depends on the node, as with travel-time
  dependent model errors).

Each kernel has a slow, loop-based reference implementation (``*_reference``) the tests
compare it with.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["edt_loglike", "edt_ot_loglike", "l2_loglike", "edt_weights", "origin_times", "origin_time_mode",
           "edt_loglike_reference", "edt_ot_loglike_reference", "l2_loglike_reference"]

#: Floor of the origin-time weighting term (NonLinLoc's EDT_OT_WT_FLOOR, ln 1e-5).
OT_WEIGHT_FLOOR = math.log(1e-5)


def _prep(observed_s, travel_s, sigma_s) -> tuple[np.ndarray, np.ndarray]:
    o = np.asarray(observed_s, dtype=float)
    t = np.atleast_2d(np.asarray(travel_s, dtype=float))
    s = np.broadcast_to(np.asarray(sigma_s, dtype=float), t.shape)
    return o[None, :] - t, s


def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, k=1)


def _pair_terms(r: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ln of each pair term (M, P) and the pair indices."""
    ia, ib = _pairs(r.shape[1])
    var = s[:, ia] ** 2 + s[:, ib] ** 2
    d = r[:, ia] - r[:, ib]
    return -0.5 * (d**2) / var - 0.5 * np.log(var), ia, ib


def edt_loglike(observed_s, travel_s, sigma_s) -> np.ndarray:
    """ln of the EDT likelihood (module docstring) at each of the M nodes."""
    r, s = _prep(observed_s, travel_s, sigma_s)
    n = r.shape[1]
    if n < 2:
        return np.zeros(r.shape[0])
    terms, _, _ = _pair_terms(r, s)
    top = terms.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))
    return n * lse


def edt_ot_loglike(observed_s, travel_s, sigma_s) -> np.ndarray:
    """ln of the EDT likelihood with origin-time weighting (module docstring)."""
    r, s = _prep(observed_s, travel_s, sigma_s)
    m, n = r.shape
    if n < 2:
        return np.zeros(m)
    terms, ia, ib = _pair_terms(r, s)
    top = terms.max(axis=1, keepdims=True)
    e = np.exp(terms - top)
    lse = top[:, 0] + np.log(e.sum(axis=1))
    w = np.zeros((m, n))
    for idx in (ia, ib):
        np.add.at(w, (slice(None), idx), e)
    w /= w.sum(axis=1, keepdims=True)
    mean = (w * r).sum(axis=1)
    var = (w * (r - mean[:, None]) ** 2).sum(axis=1)
    ot_term = np.maximum(-var / (s**2).mean(axis=1), OT_WEIGHT_FLOOR)
    return n * lse + ot_term


def edt_weights(observed_s, travel_s, sigma_s) -> np.ndarray:
    """Relative weight of each arrival in the EDT sum at each node, (M, A), mean 1 per node.

    An arrival's weight is the sum of the pair terms it takes part in (as NonLinLoc reports
    it in its phase table); outliers get weights near 0.
    """
    r, s = _prep(observed_s, travel_s, sigma_s)
    m, n = r.shape
    if n < 2:
        return np.ones((m, n))
    ia, ib = _pairs(n)
    var = s[:, ia] ** 2 + s[:, ib] ** 2
    d = r[:, ia] - r[:, ib]
    terms = np.exp(-0.5 * (d**2) / var) / np.sqrt(var)
    w = np.zeros((m, n))
    for idx in (ia, ib):
        np.add.at(w, (slice(None), idx), terms)
    total = w.sum(axis=1, keepdims=True)
    return np.where(total > 0, w * n / np.where(total > 0, total, 1.0), 1.0)


def l2_loglike(observed_s, travel_s, sigma_s) -> np.ndarray:
    """ln of the L2 likelihood with the origin time integrated out (module docstring)."""
    r, s = _prep(observed_s, travel_s, sigma_s)
    w = 1.0 / s**2
    sw = w.sum(axis=1)
    rbar = (w * r).sum(axis=1) / sw
    chi2 = (w * (r - rbar[:, None]) ** 2).sum(axis=1)
    return -0.5 * chi2 - np.log(s).sum(axis=1) - 0.5 * np.log(sw)


def origin_times(observed_s, travel_s, sigma_s, weights=None) -> np.ndarray:
    """Weighted mean of ``observed - travel`` at each node (the maximum-likelihood origin time
    for Gaussian errors), with weights ``weights / sigma^2``."""
    r, s = _prep(observed_s, travel_s, sigma_s)
    w = 1.0 / s**2
    if weights is not None:
        w = w * np.asarray(weights, dtype=float)
    return (w * r).sum(axis=1) / w.sum(axis=1)


def origin_time_mode(observed_s, travel_s, sigma_s, weights=None, iterations: int = 20) -> float:
    """Most likely origin time at one node for the EDT likelihoods: the mode of the
    per-arrival estimates ``o_a - t_a`` under Gaussian kernels of width ``s_a`` weighted by
    ``weights`` (the arrivals' EDT weights), found from the best estimate by mean-shift
    iterations (Comaniciu & Meer 2002, IEEE TPAMI 24, eq. 20). Unlike the weighted mean it
    ignores a minority of inconsistent arrivals, as NonLinLoc's maximum-likelihood origin
    time does."""
    ots = np.ravel(np.asarray(observed_s, dtype=float) - np.asarray(travel_s, dtype=float))
    s2 = np.ravel(np.broadcast_to(np.asarray(sigma_s, dtype=float), ots.shape)) ** 2
    w = np.ones_like(ots) if weights is None else np.ravel(np.asarray(weights, dtype=float))
    dens = (w[None, :] / np.sqrt(s2)[None, :] * np.exp(-0.5 * (ots[:, None] - ots[None, :]) ** 2 / s2[None, :])).sum(1)
    t = float(ots[int(np.argmax(dens))])
    for _ in range(iterations):
        k = w / s2 * np.exp(-0.5 * (t - ots) ** 2 / s2)
        if k.sum() <= 0:
            break
        t_new = float((k * ots).sum() / k.sum())
        if abs(t_new - t) < 1e-6:
            return t_new
        t = t_new
    return t


# -- slow references (one node at a time, plain loops) ----------------------------------
def edt_loglike_reference(observed_s, travel_s, sigma_s) -> float:
    """Loop version of :func:`edt_loglike` for one node (1-D ``travel_s`` and ``sigma_s``)."""
    o, t, s = (list(map(float, np.ravel(a))) for a in (observed_s, travel_s, sigma_s))
    n = len(o)
    total = 0.0
    for a in range(n):
        for b in range(a + 1, n):
            var = s[a] ** 2 + s[b] ** 2
            d = (o[a] - o[b]) - (t[a] - t[b])
            total += math.exp(-0.5 * d * d / var) / math.sqrt(var)
    return n * math.log(total)


def edt_ot_loglike_reference(observed_s, travel_s, sigma_s) -> float:
    """Loop version of :func:`edt_ot_loglike` for one node."""
    o, t, s = (list(map(float, np.ravel(a))) for a in (observed_s, travel_s, sigma_s))
    n = len(o)
    weight = [0.0] * n
    for a in range(n):
        for b in range(n):
            if a != b:
                var = s[a] ** 2 + s[b] ** 2
                d = (o[a] - o[b]) - (t[a] - t[b])
                weight[a] += math.exp(-0.5 * d * d / var) / math.sqrt(var)
    total = sum(weight)
    ots = [o[a] - t[a] for a in range(n)]
    mean = sum(w * x for w, x in zip(weight, ots)) / total
    var_ot = sum(w * (x - mean) ** 2 for w, x in zip(weight, ots)) / total
    ot_term = max(-var_ot / (sum(x * x for x in s) / n), OT_WEIGHT_FLOOR)
    return edt_loglike_reference(observed_s, travel_s, sigma_s) + ot_term


def l2_loglike_reference(observed_s, travel_s, sigma_s) -> float:
    """Loop version of :func:`l2_loglike` for one node."""
    o, t, s = (list(map(float, np.ravel(a))) for a in (observed_s, travel_s, sigma_s))
    w = [1.0 / x**2 for x in s]
    r = [a - b for a, b in zip(o, t)]
    rbar = sum(wi * ri for wi, ri in zip(w, r)) / sum(w)
    chi2 = sum(wi * (ri - rbar) ** 2 for wi, ri in zip(w, r))
    return -0.5 * chi2 - sum(math.log(x) for x in s) - 0.5 * math.log(sum(w))
