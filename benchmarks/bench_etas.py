"""ETAS fit speed (issue 8 benchmark): ~4,600 target + ~5,400 complementary events.

Simulates a space-time ETAS catalogue (branching simulation, Zhuang et al. 2004, J. Geophys.
Res. 109:B05301, Algorithm 1; Iran-like parameters of the R ETAS reference fit) in a
20 x 20 degree box about (55E, 32N), writes it in the R ETAS layout, and times
``read_etas_csv`` + ``make_catalog`` + ``fit_etas`` with a 14.6 x 14.6 degree square study
polygon and study period after the first 2,000 of 12,000 days. The first run in a fresh
checkout also compiles the numba kernels (cached afterwards); compile time is reported
separately by a warm-up fit on a small catalogue.

The estimates are printed next to the simulation's truth. With R's default smoothing
(``nnp=5``, ``bwm=0.05``) the kernel background follows the clusters closely and takes up
part of the triggered seismicity (lower A, higher p than simulated); a wider smoother
(``--nnp 50 --bwm 0.5``) gives A, c, alpha, p close to the truth. The likelihood itself
recovers the truth when the true (uniform) background is supplied.

    .venv/bin/python benchmarks/bench_etas.py [--seed N] [--csv OUT.csv]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

TRUE = dict(mu=1.0, A=0.186, c=0.047, alpha=2.7, p=1.155, D=0.016, q=2.32, gamma=0.024)
BETA = 5.6
M0 = 4.5
LON_C, LAT_C = 55.0, 32.0
HALF_BOX = 10.0          # projected degrees
HALF_POLY = 7.3
T_TOTAL, T_STUDY = 12_000.0, 2_000.0


def simulate(seed: int, n_background: int) -> tuple[np.ndarray, ...]:
    """Branching simulation in projected coordinates; returns t (days), x, y, magnitude, sorted."""
    rng = np.random.default_rng(seed)
    p = TRUE

    def mags(n):
        return np.minimum(M0 + rng.exponential(1.0 / BETA, n), 8.5)

    n0 = rng.poisson(n_background)
    gen = [rng.uniform(0, T_TOTAL, n0), rng.uniform(-HALF_BOX, HALF_BOX, n0),
           rng.uniform(-HALF_BOX, HALF_BOX, n0), mags(n0)]
    out = [list(a) for a in gen]
    while gen[0].size:
        t, x, y, m = gen
        k = rng.poisson(p["A"] * np.exp(p["alpha"] * (m - M0)))
        parent = np.repeat(np.arange(t.size), k)
        n = parent.size
        if n == 0:
            break
        tau = p["c"] * ((1.0 - rng.uniform(size=n)) ** (1.0 / (1.0 - p["p"])) - 1.0)
        sig = p["D"] * np.exp(p["gamma"] * (m[parent] - M0))
        r = np.sqrt(sig * ((1.0 - rng.uniform(size=n)) ** (1.0 / (1.0 - p["q"])) - 1.0))
        ang = rng.uniform(0, 2 * math.pi, n)
        ct, cx, cy = t[parent] + tau, x[parent] + r * np.cos(ang), y[parent] + r * np.sin(ang)
        ok = (ct < T_TOTAL) & (np.abs(cx) < HALF_BOX) & (np.abs(cy) < HALF_BOX)
        gen = [ct[ok], cx[ok], cy[ok], mags(int(ok.sum()))]
        for a, b in zip(out, gen):
            a.extend(b)
    t, x, y, m = (np.asarray(a) for a in out)
    order = np.argsort(t)
    return t[order], x[order], y[order], m[order]


def write_r_layout(path: Path, t, x, y, m) -> None:
    t0 = datetime(1980, 1, 1, tzinfo=timezone.utc)
    lon = LON_C + x / math.cos(math.radians(LAT_C))
    lat = LAT_C + y
    with path.open("w") as fh:
        fh.write("date,time,long,lat,mag\n")
        for ti, lo, la, mi in zip(t, lon, lat, m):
            d = t0 + timedelta(days=float(ti))
            fh.write(f"{d:%Y-%m-%d},{d:%H:%M:%S}.{d.microsecond // 10000:02d},{lo:.4f},{la:.4f},{mi:.1f}\n")


def polygon_text() -> str:
    c = math.cos(math.radians(LAT_C))
    corners = [(-HALF_POLY, -HALF_POLY), (HALF_POLY, -HALF_POLY), (HALF_POLY, HALF_POLY), (-HALF_POLY, HALF_POLY)]
    return ";".join(f"{LAT_C + yy},{LON_C + xx / c}" for xx, yy in corners)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--background", type=int, default=7_150, help="expected background events in the box")
    ap.add_argument("--csv", type=Path, help="keep the simulated catalogue here")
    ap.add_argument("--nnp", type=int, default=5, help="background smoothing neighbour rank (R default 5)")
    ap.add_argument("--bwm", type=float, default=0.05, help="minimum bandwidth, degrees (R default 0.05)")
    args = ap.parse_args()

    from tianshan.analysis.etas.data import make_catalog, read_etas_csv
    from tianshan.analysis.etas.fit import fit_etas
    from tianshan.analysis.etas.model import EtasParams

    t, x, y, m = simulate(args.seed, args.background)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv or Path(tmp) / "sim.csv"
        write_r_layout(path, t, x, y, m)
        start = datetime(1980, 1, 1) + timedelta(days=T_STUDY)
        end = datetime(1980, 1, 1) + timedelta(days=T_TOTAL)

        # Warm-up: compile (or load cached) kernels on a small slice.
        a = time.perf_counter()
        small = make_catalog(read_etas_csv(path), study_start=start, study_end=start + timedelta(days=300),
                             mag_threshold=M0, polygon=polygon_text())
        fit_etas(small, EtasParams(**TRUE), max_iter=1)
        warm = time.perf_counter() - a

        a = time.perf_counter()
        cat = make_catalog(read_etas_csv(path), study_start=start, study_end=end, mag_threshold=M0,
                           polygon=polygon_text())
        lines: list[str] = []
        fit = fit_etas(cat, EtasParams(0.5, 0.2, 0.05, 2.5, 1.2, 0.02, 2.0, 0.05), nnp=args.nnp, bwm=args.bwm,
                       progress=lambda s: lines.append(f"  {time.perf_counter() - a:7.1f} s {s}"))
        total = time.perf_counter() - a
    print("\n".join(lines))
    print(f"simulated events {t.size}; target {cat.n_target}, complementary {cat.n_complementary}")
    print(f"kernel warm-up (compile or cache load + small fit): {warm:.1f} s")
    print(f"read + select + fit: {total:.1f} s ({fit.iterations} iterations, converged {fit.converged}); "
          f"fit runtime_s {fit.runtime_s:.1f}")
    print(f"{'param':6s} {'true':>9s} {'estimate':>9s} {'stderr':>9s}")
    for k, v in TRUE.items():
        print(f"{k:6s} {v:9.4f} {getattr(fit.params, k):9.4f} {fit.stderr[k]:9.4f}")
    print(f"beta   {BETA:9.4f} {fit.beta:9.4f} {fit.beta_stderr:9.4f}")
    print(f"loglik {fit.loglik:.3f}  AIC {fit.aic:.3f}")


if __name__ == "__main__":
    main()
