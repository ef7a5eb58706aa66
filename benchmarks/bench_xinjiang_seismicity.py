"""Xinjiang seismicity figures of issue 8: Mc and b-value (both estimators) with uncertainties, the declustered
background rate map, and the 30-day ETAS forecast after the largest event since 1970.

Data: ``../shared/data/catalogs/china_mw_1900_2016.csv`` (homogenised Mw, igp-gravity/geoist), the Xinjiang
box :data:`tianshan.analysis.catalog.XINJIANG_BOX` = 73-97E x 34-50N (the data README gives no box; this
one covers Xinjiang 73.5-96.4E, 34.4-49.2N with its borders), events since 1970-01-01.

* Mc: maximum curvature +0.2, goodness of fit (95 %, else 90 %), b-value stability, each with the
  standard deviation of ``--n-boot`` bootstrap resamplings (Woessner & Wiemer 2005);
* b at MAXC+0.2 and at the GFT Mc by both estimators -- the classic MLE (Tinti-Mulargia; Aki-Utsu) and
  b-positive (van der Elst 2021) -- with the Shi & Bolt (1982) standard deviation and a bootstrap one;
* background rate map: Gardner-Knopoff declustering, events >= the GFT Mc, 0.5-degree cells, Frankel
  (1995) smoothing 50 km; written as GeoTIFF and PNG into ``--out``;
* ETAS: the forecast of :func:`tianshan.products.reports.consult.etas_forecast_after` (fit 1970 ..
  mainshock, study from 1975, m0 = GFT Mc - 0.05, events of the box widened by 2 degrees as
  complementary events, Mmax 8.5), history = fitted catalogue + the mainshock, ``--n-sims`` catalogues of
  the next 30 days; expected numbers, P(M>=5), P(M>=6), and the observed counts.

    .venv/bin/python benchmarks/bench_xinjiang_seismicity.py [--n-sims 10000] [--n-boot 200] [--out DIR]
                                                            [--json-out PATH]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT.parent / "shared" / "data" / "catalogs" / "china_mw_1900_2016.csv"
UTC = timezone.utc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=10_000)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2001)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "tianshan-bench-xinjiang-seismicity")
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args()
    if not CATALOG.is_file():
        raise SystemExit(f"missing {CATALOG} (the shared reference data)")

    from tianshan.analysis import decluster as dc
    from tianshan.analysis import ratemap as rm
    from tianshan.analysis import stats as st
    from tianshan.analysis.catalog import XINJIANG_BOX, read_csv_catalog, select
    from tianshan.analysis.etas.forecast import GENERIC_CALIFORNIA
    from tianshan.products.reports.consult import etas_forecast_after

    west, south, east, north = XINJIANG_BOX
    full = read_csv_catalog(CATALOG)
    box = select(full, bbox=XINJIANG_BOX, start="1970-01-01").sorted()
    years = float(np.ptp(box.time_s)) / (365.25 * 86400)
    print(f"Xinjiang box {west:g}-{east:g}E x {south:g}-{north:g}N: {len(box)} events since 1970 "
          f"({years:.1f} years, Mw {box.magnitude.min():.1f}-{box.magnitude.max():.1f})")
    doc: dict = {"box": XINJIANG_BOX, "n_events": len(box)}

    # --- completeness and b-values
    t = time.perf_counter()
    mcs = {}
    for method in st.MC_METHODS:
        c = st.estimate_mc(box.magnitude, method=method)
        bt = st.mc_bootstrap(box.magnitude, method=method, n_boot=args.n_boot, seed=args.seed)
        mcs[method] = (c, bt)
        print(f"Mc {method:12s} {c.mc:.1f} ± {bt.mc_std:.2f} (bootstrap {bt.n}, mean {bt.mc_mean:.2f})")
    doc["mc"] = {m: {"mc": c.mc, "bootstrap_std": bt.mc_std, "bootstrap_mean": bt.mc_mean}
                 for m, (c, bt) in mcs.items()}
    doc["b"] = {}
    rng = np.random.default_rng(args.seed)
    for label in ("maxc", "gft"):
        mc = mcs[label][0].mc
        classic = st.b_value(box.magnitude, mc)
        utsu = st.b_value(box.magnitude, mc, method="utsu")
        pos = st.b_positive(box.magnitude, box.time_s, mc)
        boot_c, boot_p = [], []
        for _ in range(args.n_boot):  # resample events (keeping time order for b-positive)
            idx = np.sort(rng.integers(0, len(box), len(box)))
            boot_c.append(st.b_value(box.magnitude[idx], mc).b)
            boot_p.append(st.b_positive(box.magnitude[idx], None, mc).b)
        print(f"b at Mc {mc:.1f} ({label}): MLE (Tinti-Mulargia) {classic.b:.3f} ± {classic.std:.3f} (Shi-Bolt), "
              f"± {np.std(boot_c, ddof=1):.3f} (bootstrap), n={classic.n}; MLE (Utsu) {utsu.b:.3f} ± {utsu.std:.3f}; "
              f"b-positive {pos.b:.3f} ± {pos.std:.3f} (Shi-Bolt), ± {np.std(boot_p, ddof=1):.3f} (bootstrap), "
              f"n={pos.n} differences")
        doc["b"][label] = {"mc": mc, "tinti": classic.as_dict(), "utsu": utsu.as_dict(), "positive": pos.as_dict(),
                           "tinti_bootstrap_std": float(np.std(boot_c, ddof=1)),
                           "positive_bootstrap_std": float(np.std(boot_p, ddof=1))}
    print(f"(statistics {time.perf_counter() - t:.1f} s)")

    # --- declustered background rate map
    mc = mcs["gft"][0].mc
    t = time.perf_counter()
    decl = dc.gardner_knopoff(box)
    grid = rm.background_rate_map(box, bbox=XINJIANG_BOX, spacing_deg=0.5, declustered=decl, min_magnitude=mc,
                                  smoothing_km=50.0)
    raw = rm.background_rate_map(box, bbox=XINJIANG_BOX, spacing_deg=0.5, declustered=decl, min_magnitude=mc)
    args.out.mkdir(parents=True, exist_ok=True)
    tif = grid.write_geotiff(args.out / "xinjiang_background_rate.tif")
    png = rm.plot_rate_map(grid, args.out / "xinjiang_background_rate.png", lon=box.longitude_deg,
                           lat=box.latitude_deg, polygon=((south, west), (south, east), (north, east), (north, west)))
    s, r = grid.summary(), raw.summary()
    reas = dc.reasenberg(select(box, min_magnitude=mc))
    print(f"declustering (Gardner-Knopoff, all {len(box)} events): {decl.n_background} background, "
          f"{decl.n_clusters} clusters, {decl.n_clustered} removed; Reasenberg on M>={mc:.1f}: "
          f"{reas.n_background} of {reas.n_events} background")
    print(f"background rate M>={mc:.1f}: {s['n_background']} of {s['n_events']} events -> "
          f"{s['background_per_year']:.2f} per year over {s['total_area_km2']:.3g} km² "
          f"(mean {s['mean_rate_per_year_km2']:.3g} /yr/km²); largest 0.5° cell {r['max_rate_per_year_km2']:.3g} "
          f"/yr/km² at {r['max_cell_lon_deg']:.2f}E {r['max_cell_lat_deg']:.2f}N (raw), "
          f"{s['max_rate_per_year_km2']:.3g} at {s['max_cell_lon_deg']:.2f}E {s['max_cell_lat_deg']:.2f}N "
          f"(smoothed 50 km); {r['cells_with_events']} of {grid.nx * grid.ny} cells with events "
          f"({time.perf_counter() - t:.1f} s) -> {tif}, {png}")
    doc["rate_map"] = {"smoothed": s, "raw": r, "reasenberg_background": reas.n_background}

    # --- 30-day ETAS forecast after the largest event
    k = int(np.argmax(box.magnitude))
    ms_t = datetime.fromtimestamp(float(box.time_s[k]), tz=UTC)
    ms_m, ms_lat, ms_lon = float(box.magnitude[k]), float(box.latitude_deg[k]), float(box.longitude_deg[k])
    print(f"largest event since 1970: {ms_t:%Y-%m-%d %H:%M:%S} UTC {ms_lat:.2f}N {ms_lon:.2f}E Mw {ms_m:.1f}")
    wide = select(full, bbox=(west - 2, south - 2, east + 2, north + 2), start="1970-01-01")
    polygon = ((south, west), (south, east), (north, east), (north, west))
    t = time.perf_counter()
    res = etas_forecast_after(wide, polygon, mc=mc, start=ms_t, days=args.days,
                              time_begin=datetime(1970, 1, 1, tzinfo=UTC), warmup_years=5.0,
                              magnitudes=(5.0, 6.0, 7.0), n_sims=args.n_sims, seed=args.seed, mmax=8.5,
                              extra_history=([ms_t.timestamp()], [ms_lon], [ms_lat], [ms_m]))
    fit, fc = res["fit"], res["forecast"]
    print(f"ETAS fit: {fit.n_target} target + {fit.n_complementary} complementary events (M>={mc:.1f}), "
          f"{fit.iterations} iterations, converged {fit.converged}, {fit.runtime_s:.1f} s; "
          + ", ".join(f"{n}={v:.4g}" for n, v in {"beta": fit.beta, **fit.params.as_dict()}.items())
          + f"; branching ratio {res['branching_ratio']:.3f}, {res['window_branching_ratio']:.3f} in {args.days:g} d")
    after = select(box, start=ms_t + timedelta(seconds=1), end=ms_t + timedelta(days=args.days))
    obs = {x: int(np.sum(after.magnitude >= x - 1e-6)) for x in (mc, 5.0, 6.0, 7.0)}
    print(f"30-day forecast ({args.n_sims} simulations, {time.perf_counter() - t:.1f} s incl. fit): expected "
          f"M>={mc:.1f} {fc.expected_total:.1f} (background {fc.n_background_mean:.2f}), observed {obs[mc]}")
    doc["etas"] = {"fit": fit.as_dict(), "branching_ratio": res["branching_ratio"],
                   "mainshock": {"time": ms_t.isoformat(), "lat": ms_lat, "lon": ms_lon, "mag": ms_m},
                   "forecast": fc.with_observed({x: obs[x] for x in (5.0, 6.0, 7.0)}).as_dict()}
    for f in fc.by_magnitude:
        rj_n = GENERIC_CALIFORNIA.expected_number(ms_m, f.min_magnitude, 0.0, args.days)
        print(f"  M>={f.min_magnitude:.0f}: expected {f.expected:.2f} (5-95% {f.quantiles[0]:.0f}-{f.quantiles[2]:.0f}), "
              f"P(>=1) {f.probability:.3f} ± {f.probability_stderr:.3f}; observed {obs[f.min_magnitude]}; "
              f"Reasenberg-Jones generic {rj_n:.2f}, P {GENERIC_CALIFORNIA.probability(ms_m, f.min_magnitude, 0, args.days):.3f}")
    if args.json_out:
        args.json_out.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
