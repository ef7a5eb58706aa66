"""Compiled inner loops (numba) of the ETAS likelihood, declustering and polygon integrals.

Imported only from inside functions of :mod:`tianshan.analysis.etas` (numba is slow to
import and compile); compiled code is cached on disk (``cache=True``). The formulas are
those of :mod:`tianshan.analysis.etas.model`, which cites their sources; every kernel
has a slow pure-Python counterpart in the tests.

Parameter vector order everywhere: ``(mu, A, c, alpha, p, D, q, gamma)`` (R ETAS).

Load balance: the triggering sums over earlier events grow with the event index, so the
parallel loops process index ``k`` together with ``n - 1 - k``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

TWO_PI = 2.0 * math.pi
#: R ETAS ``mloglik``: a target whose intensity is <= 1e-25 contributes log = -100.
LAMBDA_FLOOR = 1.0e-25
#: Most panels one polar integral over one edge can need (t up to 2**MAX_PANELS).
MAX_PANELS = 1100


# --------------------------------------------------------------------------------------------
# Polygon integrals of radial functions (polar coordinates about the event)
# --------------------------------------------------------------------------------------------

@nb.njit(cache=True)
def _positive_panels(a, b, lo, hi, k):
    """Append panels covering [a, b] (0 <= a < b), breaking at t = 1, 2, 4, 8, ...; return count."""
    lv = 1.0
    while lv <= a:
        lv *= 2.0
    cur = a
    while k < lo.size:
        nxt = lv if lv < b else b
        lo[k] = cur
        hi[k] = nxt
        k += 1
        if nxt >= b:
            break
        cur = nxt
        lv *= 2.0
    return k


@nb.njit(cache=True)
def _edge_panels(cx, cy, x1, y1, x2, y2, lo, hi):
    """Geometry of one polygon edge seen from (cx, cy).

    Returns (n_panels, h, sign, dtheta): the panels (in lo/hi) cover the edge in the
    variable t = s/h (s: position along the edge from the foot of the perpendicular, h: the
    distance to the edge's line); sign is that of R's ``det`` (+1 when the edge turns
    anticlockwise about the point); dtheta the signed angle the edge subtends.
    """
    ex = x2 - x1
    ey = y2 - y1
    length = math.sqrt(ex * ex + ey * ey)
    det = (x1 - cx) * (y2 - cy) - (x2 - cx) * (y1 - cy)
    if length == 0.0 or abs(det) <= 1.0e-12 * length * length:
        return 0, 0.0, 0.0, 0.0
    h = abs(det) / length
    sign = 1.0 if det > 0.0 else -1.0
    s1 = ((x1 - cx) * ex + (y1 - cy) * ey) / length
    t1 = s1 / h
    t2 = (s1 + length) / h
    dtheta = sign * (math.atan(t2) - math.atan(t1))
    k = 0
    if t2 <= 0.0:
        k = _positive_panels(-t2, -t1, lo, hi, k)
    elif t1 >= 0.0:
        k = _positive_panels(t1, t2, lo, hi, k)
    else:
        k = _positive_panels(0.0, -t1, lo, hi, k)
        k = _positive_panels(0.0, t2, lo, hi, k)
    return k, h, sign, dtheta


@nb.njit(cache=True)
def build_polar_nodes(x, y, px, py, gl_x, gl_w):
    """Quadrature nodes for polygon integrals of radial functions about each event.

    For a radial density with radial integral F(R) = (1 - H(R^2)) / (2 pi), the integral
    over the polygon about event i is (wind_i - sum_n w_n H(u_n)) / (2 pi), sum over
    nodes ptr[i] <= n < ptr[i+1]; ``u`` are squared distances R^2 and ``wind`` is the
    winding angle (2 pi inside, 0 outside). Composite Gauss-Legendre in t = tan(theta)
    on panels graded geometrically (the integrand is H(h^2 (1 + t^2)) / (1 + t^2)).
    ``px, py``: closed polygon (first vertex repeated).
    """
    n = x.size
    ne = px.size - 1
    ng = gl_x.size
    lo = np.empty(MAX_PANELS)
    hi = np.empty(MAX_PANELS)
    counts = np.zeros(n, np.int64)
    for i in range(n):
        c = 0
        for e in range(ne):
            k, h, sign, dth = _edge_panels(x[i], y[i], px[e], py[e], px[e + 1], py[e + 1], lo, hi)
            c += k * ng
        counts[i] = c
    ptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + counts[i]
    u = np.empty(ptr[n])
    w = np.empty(ptr[n])
    wind = np.zeros(n)
    for i in range(n):
        pos = ptr[i]
        for e in range(ne):
            k, h, sign, dth = _edge_panels(x[i], y[i], px[e], py[e], px[e + 1], py[e + 1], lo, hi)
            wind[i] += dth
            for b in range(k):
                mid = 0.5 * (lo[b] + hi[b])
                half = 0.5 * (hi[b] - lo[b])
                for g in range(ng):
                    t = mid + half * gl_x[g]
                    one_t2 = 1.0 + t * t
                    u[pos] = h * h * one_t2
                    w[pos] = sign * half * gl_w[g] / one_t2
                    pos += 1
    return ptr, u, w, wind


@nb.njit(cache=True)
def _radial_F(r, kind, a, q):
    """Radial integral F(r) = int_0^r f(s) s ds of the kernels (kind 0 Gaussian sd a, 1 power sigma a)."""
    if kind == 0:
        return (1.0 - math.exp(-(r * r) / (2.0 * a * a))) / TWO_PI
    return (1.0 - math.pow(1.0 + r * r / a, 1.0 - q)) / TWO_PI


@nb.njit(parallel=True, cache=True)
def r_scheme_polygon_integrals(x, y, px, py, ndiv, kind, a, q):
    """R ETAS's polygon integral (``polyinteg``/``cxxdeclust``): each edge cut in ``ndiv``
    pieces, Simpson's rule in the polar angle with the middle node where the angle
    bisector meets the piece. kind 0: Gaussian kernel with sd a[i]; kind 1: ETAS power
    kernel with sigma a[i] and exponent q."""
    n = x.size
    out = np.zeros(n)
    for i in nb.prange(n):
        cx = x[i]
        cy = y[i]
        s = 0.0
        for e in range(px.size - 1):
            dpx = (px[e + 1] - px[e]) / ndiv
            dpy = (py[e + 1] - py[e]) / ndiv
            for l in range(ndiv):
                x1 = px[e] + dpx * l
                y1 = py[e] + dpy * l
                x2 = px[e] + dpx * (l + 1)
                y2 = py[e] + dpy * (l + 1)
                det = (x1 * y2 + y1 * cx + x2 * cy) - (x2 * y1 + y2 * cx + x1 * cy)
                if abs(det) < 1.0e-10:
                    continue
                r1 = math.sqrt((x1 - cx) ** 2 + (y1 - cy) ** 2)
                r2 = math.sqrt((x2 - cx) ** 2 + (y2 - cy) ** 2)
                phi = (r1 * r1 + r2 * r2 - ((x1 - x2) ** 2 + (y1 - y2) ** 2)) / (2.0 * r1 * r2)
                if abs(phi) > 1.0:
                    phi = 1.0 - 1.0e-10
                phi = math.acos(phi)
                if r1 + r2 > 1.0e-20:
                    fr = r1 / (r1 + r2)
                    r0 = math.sqrt((x1 + fr * (x2 - x1) - cx) ** 2 + (y1 + fr * (y2 - y1) - cy) ** 2)
                    val = (_radial_F(r1, kind, a[i], q) / 6.0 + _radial_F(r0, kind, a[i], q) * 2.0 / 3.0
                           + _radial_F(r2, kind, a[i], q) / 6.0) * phi
                    s += val if det >= 0.0 else -val
        out[i] = s
    return out


# --------------------------------------------------------------------------------------------
# Likelihood
# --------------------------------------------------------------------------------------------

@nb.njit(cache=True, inline="always")
def _target_sums(j, t, x, y, m, sig, kfac, c, p, q):
    """Triggering sum at event j over all earlier events and its parameter sums."""
    s0 = 0.0
    sm = 0.0
    sc = 0.0
    sp = 0.0
    sr = 0.0
    smr = 0.0
    sq = 0.0
    tj = t[j]
    xj = x[j]
    yj = y[j]
    for i in range(j):
        dt = tj - t[i]
        dx = xj - x[i]
        dy = yj - y[i]
        r2 = dx * dx + dy * dy
        lt = math.log1p(dt / c)
        ls = math.log1p(r2 / sig[i])
        term = kfac[i] * math.exp(-p * lt - q * ls)
        tm = term * m[i]
        rho = r2 / (r2 + sig[i])
        s0 += term
        sm += tm
        sc += term / (c + dt)
        sp += term * lt
        sr += term * rho
        smr += tm * rho
        sq += term * ls
    return s0, sm, sc, sp, sr, smr, sq


@nb.njit(cache=True, inline="always")
def _fill_target(row, s, bk, A, c, p, D, q):
    s0, sm, sc, sp, sr, smr, sq = s
    row[1] = bk
    row[2] = s0 / A
    row[3] = (p - 1.0) / c * s0 - p * sc
    row[4] = sm
    row[5] = s0 / (p - 1.0) - sp
    row[6] = (q * sr - s0) / D
    row[7] = s0 / (q - 1.0) - sq
    row[8] = q * smr - sm
    return s0


@nb.njit(cache=True)
def _one_target(kk, targets, t, x, y, m, sig, kfac, bk_t, mu, A, c, p, D, q, part1):
    s = _target_sums(targets[kk], t, x, y, m, sig, kfac, c, p, q)
    s0 = _fill_target(part1[kk], s, bk_t[kk], A, c, p, D, q)
    part1[kk, 0] = mu * bk_t[kk] + s0


@nb.njit(cache=True, inline="always")
def _event_integral(j, t, m, sig, t_start, t_end, ptr, nu, nw, wind, A, alpha, c, p, q, D, row):
    """kappa_j * G_j * S_j (expected offspring of event j in the study space-time window) and
    its derivatives, written to row[0..8]."""
    kap = A * math.exp(alpha * m[j])
    tau = t_end - t[j]
    lg = math.log1p(tau / c)
    v = math.exp((1.0 - p) * lg)
    G = 1.0 - v
    dGc = (1.0 - p) * v * tau / (c * (c + tau))
    dGp = v * lg
    if t[j] <= t_start:
        tau0 = t_start - t[j]
        lg0 = math.log1p(tau0 / c)
        v0 = math.exp((1.0 - p) * lg0)
        G -= 1.0 - v0
        dGc -= (1.0 - p) * v0 * tau0 / (c * (c + tau0))
        dGp -= v0 * lg0
    sg = sig[j]
    acc = 0.0
    accs = 0.0
    accq = 0.0
    for n in range(ptr[j], ptr[j + 1]):
        u = nu[n]
        lv = math.log1p(u / sg)
        wv = nw[n] * math.exp((1.0 - q) * lv)
        acc += wv
        accs += wv * u / (sg + u)
        accq += wv * lv
    S = (wind[j] - acc) / TWO_PI
    dS_dsig = (1.0 - q) * accs / (sg * TWO_PI)
    dS_dq = accq / TWO_PI
    val = kap * G * S
    row[0] = val
    row[2] = val / A
    row[3] = kap * dGc * S
    row[4] = val * m[j]
    row[5] = kap * dGp * S
    row[6] = kap * G * dS_dsig * sg / D
    row[7] = kap * G * dS_dq
    row[8] = kap * G * dS_dsig * sg * m[j]


@nb.njit(parallel=True, cache=True)
def nll_and_grad(theta, t, x, y, m, targets, bk_t, t_start, t_end, integ0, ptr, nu, nw, wind):
    """Minus log-likelihood of R ETAS (``mloglikGr``) and its gradient in natural parameters.

    -l = -sum_{targets j} log(mu bk_j + sum_{i<j} kappa_i g_ij f_ij)
         + mu integ0 + sum_{all events j} kappa_j G_j S_j
    """
    mu = theta[0]
    A, c, alpha, p = theta[1], theta[2], theta[3], theta[4]
    D, q, gamma = theta[5], theta[6], theta[7]
    n = t.size
    sig = np.empty(n)
    kfac = np.empty(n)
    for i in range(n):
        sig[i] = D * math.exp(gamma * m[i])
        kfac[i] = A * math.exp(alpha * m[i]) * (p - 1.0) / c * (q - 1.0) / (math.pi * sig[i])
    nt = targets.size
    part1 = np.zeros((nt, 9))
    for k in nb.prange((nt + 1) // 2):
        _one_target(k, targets, t, x, y, m, sig, kfac, bk_t, mu, A, c, p, D, q, part1)
        if nt - 1 - k != k:
            _one_target(nt - 1 - k, targets, t, x, y, m, sig, kfac, bk_t, mu, A, c, p, D, q, part1)
    part2 = np.zeros((n, 9))
    for j in nb.prange(n):
        _event_integral(j, t, m, sig, t_start, t_end, ptr, nu, nw, wind, A, alpha, c, p, q, D, part2[j])
    f = mu * integ0
    grad = np.zeros(8)
    grad[0] = integ0
    for j in range(n):
        f += part2[j, 0]
        for a in range(1, 8):
            grad[a] += part2[j, a + 1]
    for k in range(nt):
        lam = part1[k, 0]
        if lam > LAMBDA_FLOOR:
            f -= math.log(lam)
            for a in range(8):
                grad[a] -= part1[k, a + 1] / lam
        else:
            f += 100.0
    return f, grad


@nb.njit(cache=True)
def _trigger_at(j, t, x, y, sig, kfac, c, p, q):
    s = 0.0
    for i in range(j):
        dt = t[j] - t[i]
        r2 = (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2
        s += kfac[i] * math.exp(-p * math.log1p(dt / c) - q * math.log1p(r2 / sig[i]))
    return s


@nb.njit(parallel=True, cache=True)
def trigger_sums(theta, t, x, y, m):
    """sum_{i<j} kappa_i g(t_j - t_i) f(r_ij | m_i) at every event j (R ``cxxdeclust``'s ``lam`` minus
    the background)."""
    A, c, alpha, p, D, q, gamma = theta[1], theta[2], theta[3], theta[4], theta[5], theta[6], theta[7]
    n = t.size
    sig = np.empty(n)
    kfac = np.empty(n)
    for i in range(n):
        sig[i] = D * math.exp(gamma * m[i])
        kfac[i] = A * math.exp(alpha * m[i]) * (p - 1.0) / c * (q - 1.0) / (math.pi * sig[i])
    out = np.zeros(n)
    for k in nb.prange((n + 1) // 2):
        out[k] = _trigger_at(k, t, x, y, sig, kfac, c, p, q)
        if n - 1 - k != k:
            out[n - 1 - k] = _trigger_at(n - 1 - k, t, x, y, sig, kfac, c, p, q)
    return out


@nb.njit(cache=True)
def _gauss_columns(x, y, bw, order, xs, cutoff, indices, values, counts, fill):
    """Scan, for each source event j, the events within cutoff * bw[j] (x-sorted window)."""
    n = x.size
    for j in range(n):
        rad = cutoff * bw[j]
        rad2 = rad * rad
        inv = 1.0 / (2.0 * bw[j] * bw[j])
        coef = 1.0 / (TWO_PI * bw[j] * bw[j])
        lo = np.searchsorted(xs, x[j] - rad)
        hi = np.searchsorted(xs, x[j] + rad, side="right")
        c = 0
        pos = counts[j]
        for k in range(lo, hi):
            i = order[k]
            r2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
            if r2 <= rad2:
                if fill:
                    indices[pos + c] = i
                    values[pos + c] = coef * math.exp(-r2 * inv)
                c += 1
        if not fill:
            counts[j] = c


def gaussian_kernel_columns(x, y, bw, cutoff):
    """Sparse (CSC) matrix K[i, j] = exp(-r_ij^2 / (2 bw_j^2)) / (2 pi bw_j^2) for r_ij <= cutoff * bw_j.

    With cutoff 10 the dropped terms are below exp(-50) ~ 2e-22 of the kernel's peak.
    Returns (indptr, indices, values) of the columns (source events j).
    """
    order = np.argsort(x, kind="stable")
    xs = np.ascontiguousarray(x[order])
    n = x.size
    counts = np.zeros(n, np.int64)
    dummy_i = np.empty(0, np.int64)
    dummy_v = np.empty(0)
    _gauss_columns(x, y, bw, order, xs, cutoff, dummy_i, dummy_v, counts, False)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], np.int64)
    values = np.empty(indptr[-1])
    _gauss_columns(x, y, bw, order, xs, cutoff, indices, values, indptr[:-1].copy(), True)
    return indptr, indices, values


@nb.njit(parallel=True, cache=True)
def gaussian_kernel_grid(weights, x, y, bw, gx, gy):
    """The same sum at arbitrary points (gx[k], gy[k])."""
    n = x.size
    out = np.zeros(gx.size)
    for k in nb.prange(gx.size):
        s = 0.0
        for j in range(n):
            r2 = (gx[k] - x[j]) ** 2 + (gy[k] - y[j]) ** 2
            s += weights[j] * math.exp(-r2 / (2.0 * bw[j] * bw[j])) / (TWO_PI * bw[j] * bw[j])
        out[k] = s
    return out
