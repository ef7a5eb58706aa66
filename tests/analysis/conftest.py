"""Fixtures for the analysis tests: a small simulated ETAS catalogue in the R ETAS layout."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

#: Truth of the small simulated catalogue (R ETAS parameterisation, degrees, days).
SMALL_TRUTH = dict(A=0.3, c=0.02, alpha=1.5, p=1.2, D=0.005, q=2.0, gamma=0.5)
SMALL_POLYGON = "30.5,50.5;30.5,53.5;33.5,53.5;33.5,50.5"
T0 = datetime(2000, 1, 1, tzinfo=timezone.utc)


def simulate_small(seed: int = 7, n_background: int = 260, days: float = 4000.0):
    """Branching simulation of ETAS in the box 50-54E x 30-34N (m0 = 3, beta = ln 10)."""
    rng = np.random.default_rng(seed)
    p = SMALL_TRUTH
    n = rng.poisson(n_background)
    gen = (rng.uniform(0, days, n), rng.uniform(50, 54, n), rng.uniform(30, 34, n),
           3.0 + rng.exponential(1 / math.log(10), n))
    out = [list(a) for a in gen]
    while gen[0].size:
        t, lon, lat, m = gen
        k = rng.poisson(p["A"] * np.exp(p["alpha"] * (m - 3.0)))
        par = np.repeat(np.arange(t.size), k)
        if par.size == 0:
            break
        tau = p["c"] * ((1 - rng.uniform(size=par.size)) ** (1 / (1 - p["p"])) - 1)
        sig = p["D"] * np.exp(p["gamma"] * (m[par] - 3.0))
        r = np.sqrt(sig * ((1 - rng.uniform(size=par.size)) ** (1 / (1 - p["q"])) - 1))
        ang = rng.uniform(0, 2 * math.pi, par.size)
        ct = t[par] + tau
        clat = lat[par] + r * np.sin(ang)
        clon = lon[par] + r * np.cos(ang) / math.cos(math.radians(32.0))
        ok = (ct < days) & (clon > 50) & (clon < 54) & (clat > 30) & (clat < 34)
        gen = (ct[ok], clon[ok], clat[ok], 3.0 + rng.exponential(1 / math.log(10), int(ok.sum())))
        for a, b in zip(out, gen):
            a.extend(b)
    t, lon, lat, m = (np.asarray(a) for a in out)
    o = np.argsort(t)
    return t[o], lon[o], lat[o], m[o]


def write_r_layout(path: Path, t, lon, lat, m) -> Path:
    rows = ["date,time,long,lat,mag"]
    for ti, lo, la, mi in zip(t, lon, lat, m):
        d = T0 + timedelta(days=float(ti))
        rows.append(f"{d:%Y-%m-%d},{d:%H:%M:%S}.{d.microsecond // 10000:02d},{lo:.4f},{la:.4f},{mi:.2f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_catalog_csv(tmp_path_factory) -> Path:
    """A ~400-event simulated catalogue (R ETAS layout) over 2000-01-01 + 4000 days."""
    return write_r_layout(tmp_path_factory.mktemp("etas") / "small.csv", *simulate_small())


@pytest.fixture(scope="session")
def small_polygon() -> str:
    """The study polygon of the small catalogue ("lat,lon;..."), inside its 50-54E x 30-34N box."""
    return SMALL_POLYGON
