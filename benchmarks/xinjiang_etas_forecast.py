"""30-day ETAS forecast after the largest Xinjiang event since 1970, and its CSEP evaluation (issue 8).

Data: ``../shared/data/catalogs/china_mw_1900_2016.csv`` (Mw), the Xinjiang box
:data:`tianshan.analysis.catalog.XINJIANG_BOX` (73-97E, 34-50N), events since 1970-01-01.

Set-up (printed by the script):

* completeness from :mod:`tianshan.analysis.stats`: MAXC+0.2 and the goodness-of-fit Mc (95 %
  level, else 90 %) of the whole 1970-2016 box catalogue; m0 is the GFT value (the larger,
  conservative one), applied as ``mag_threshold = Mc - 0.05`` because magnitudes are
  reported in 0.1 steps (a reported Mc stands for true magnitudes >= Mc - 0.05; this is also
  the binning-corrected beta of Utsu 1965);
* the mainshock is the largest event in the box since 1970; ETAS is fitted on the catalogue
  *before* it: time_begin 1970-01-01, study period 1975-01-01 .. mainshock - 1 s, study
  polygon = the box, events in the box widened by 2 degrees as complementary events,
  distances in degrees, R ETAS defaults otherwise;
* the forecast history is the fitted catalogue plus the mainshock; 10,000 catalogues of the
  next 30 days are simulated with the Gutenberg-Richter law truncated at Mmax 8.5;
* observed: events of the box with M >= Mc in the 30 days after the mainshock;
* CSEP: 0.5-degree cells over the box, magnitude bins Mc .. 8.0 (0.1), pyCSEP N, M, S, L, CL
  tests, the catalogue-based N-test from the simulated counts, and T/W comparisons against
  the fit's time-independent background forecast for the same 30 days.

    .venv/bin/python benchmarks/xinjiang_etas_forecast.py [--n-sims N] [--seed S] [--json-out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT.parent / "shared" / "data" / "catalogs" / "china_mw_1900_2016.csv"
MARGIN_DEG = 2.0
MMAX = 8.5
UTC = timezone.utc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=2001)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--json-out", type=Path, default=None)
    args = ap.parse_args()

    from tianshan.analysis import csep as cs
    from tianshan.analysis.catalog import XINJIANG_BOX, read_csv_catalog, select
    from tianshan.analysis.etas.data import EtasCsv, make_catalog
    from tianshan.analysis.etas.fit import fit_etas
    from tianshan.analysis.etas.forecast import (GENERIC_CALIFORNIA, Mainshock, aftershock_bulletin,
                                                 background_per_cell, etas_forecast, forecast_grid)
    from tianshan.analysis.etas.simulate import EtasHistory, branching_ratio, window_branching_ratio
    from tianshan.analysis.stats import estimate_mc

    west, south, east, north = XINJIANG_BOX
    full = read_csv_catalog(CATALOG)
    box = select(full, bbox=XINJIANG_BOX, start="1970-01-01")
    mc_maxc = estimate_mc(box.magnitude, method="maxc")
    mc_gft = estimate_mc(box.magnitude, method="gft")
    mc = mc_gft.mc
    m0 = round(mc - 0.05, 2)
    print(f"Xinjiang box {XINJIANG_BOX}: {len(box)} events since 1970")
    print(f"Mc: MAXC+0.2 = {mc_maxc.mc:.1f} (b {mc_maxc.b.b:.2f}), GFT = {mc_gft.mc:.1f} (b {mc_gft.b.b:.2f}) "
          f"-> Mc {mc:.1f}, ETAS m0 = {m0:.2f}")

    k = int(np.argmax(box.magnitude))
    ms = Mainshock(time=datetime.fromtimestamp(float(box.time_s[k]), tz=UTC), latitude_deg=float(box.latitude_deg[k]),
                   longitude_deg=float(box.longitude_deg[k]), magnitude=float(box.magnitude[k]))
    print(f"largest event: {ms.time:%Y-%m-%d %H:%M:%S} UTC {ms.latitude_deg:.2f}N {ms.longitude_deg:.2f}E "
          f"Mw {ms.magnitude:.1f}")

    wide = select(full, bbox=(west - MARGIN_DEG, south - MARGIN_DEG, east + MARGIN_DEG, north + MARGIN_DEG),
                  start="1970-01-01", end=ms.time, min_magnitude=mc)
    data = EtasCsv(source=str(CATALOG), time_s=wide.time_s, longitude_deg=wide.longitude_deg,
                   latitude_deg=wide.latitude_deg, magnitude=wide.magnitude, depth_km=wide.depth_km,
                   line=wide.line)
    polygon = [(south, west), (south, east), (north, east), (north, west)]
    cat = make_catalog(data, time_begin="1970-01-01", study_start="1975-01-01",
                       study_end=ms.time - timedelta(seconds=1), mag_threshold=m0, polygon=polygon)
    print(f"fit catalogue: {cat.n_target} target + {cat.n_complementary} complementary events (M >= {mc:.1f})")
    t = time.perf_counter()
    fit = fit_etas(cat, progress=lambda line: None)
    t_fit = time.perf_counter() - t
    p = fit.params
    n_br = branching_ratio(p, fit.beta, MMAX - m0)
    n_win = window_branching_ratio(p, fit.beta, args.days, MMAX - m0)
    print(f"ETAS fit ({t_fit:.1f} s, {fit.iterations} iterations, converged {fit.converged}): "
          + ", ".join(f"{k}={v:.4g}" for k, v in {"beta": fit.beta, **p.as_dict()}.items())
          + f"; loglik {fit.loglik:.2f}; branching ratio {n_br:.3f} (infinite time), {n_win:.3f} within "
          f"{args.days:g} days")

    history = EtasHistory.from_catalog(cat).concat(EtasHistory.from_lonlat(
        cat, [ms.time.timestamp()], [ms.longitude_deg], [ms.latitude_deg], [ms.magnitude]))
    t = time.perf_counter()
    fc, sims = etas_forecast(fit, ms.time, args.days, magnitudes=(5.0, 6.0, 7.0), n_sims=args.n_sims,
                             history=history, mmax=MMAX, seed=args.seed)
    t_sim = time.perf_counter() - t

    after = select(box, start=ms.time + timedelta(seconds=1), end=ms.time + timedelta(days=args.days))
    observed = {x: int(np.sum(after.magnitude >= x - 1e-6)) for x in (mc, 5.0, 6.0, 7.0)}
    fc = fc.with_observed({x: observed[x] for x in (5.0, 6.0, 7.0)})
    print(f"simulation: {args.n_sims} catalogues, {sims.n_events} events, {t_sim:.1f} s")
    print(f"expected M>={mc:.1f}: {fc.expected_total:.1f} (background {fc.n_background_mean:.2f}); "
          f"observed {observed[mc]}")
    rows = []
    for f in fc.by_magnitude:
        t1, t2 = 0.0, args.days
        rj_n = GENERIC_CALIFORNIA.expected_number(ms.magnitude, f.min_magnitude, t1, t2)
        rj_p = GENERIC_CALIFORNIA.probability(ms.magnitude, f.min_magnitude, t1, t2)
        rows.append({**f.as_dict(), "rj_expected": rj_n, "rj_probability": rj_p})
        print(f"M>={f.min_magnitude:.0f}: ETAS expected {f.expected:.2f} (5-95% {f.quantiles[0]:.0f}-"
              f"{f.quantiles[2]:.0f}), P(>=1) {f.probability:.3f} +- {f.probability_stderr:.3f}; "
              f"R&J generic expected {rj_n:.2f}, P {rj_p:.3f}; observed {f.observed}")
    print()
    print(aftershock_bulletin(fc, mainshock=replace(ms, name="2001 Kunlun / 昆仑山口西地震"),
                              region="新疆及邻区 / Xinjiang box 73–97°E, 34–50°N",
                              fit_summary=f"m0={m0:.2f}, beta={fit.beta:.2f}, alpha={p.alpha:.2f}, p={p.p:.3f}"))

    # CSEP evaluation.
    bbox = (west, south, east, north)
    grid = forecast_grid(sims, fit, bbox, 0.5, magnitudes=(5.0, 6.0))
    bins = cs.magnitude_bins(mc, 8.0, 0.1)
    etas_f = cs.to_csep_forecast(grid, bins, name="ETAS", delta_m=0.1)
    bg_grid = replace(grid, expected=background_per_cell(fit, west, south, 0.5, grid.nx, grid.ny, args.days))
    bg_f = cs.to_csep_forecast(bg_grid, bins, name="ETAS background", delta_m=0.1, region=etas_f.region)
    obs = cs.observed_catalog(box, etas_f.region, fc.start + timedelta(seconds=1), fc.end, name="observed")
    print(f"CSEP: {grid.nx}x{grid.ny} cells of 0.5 deg, {len(bins)} magnitude bins; forecast "
          f"{etas_f.event_count:.1f} events, background-only {bg_f.event_count:.2f}; observed {obs.event_count}")
    res = cs.consistency_tests(etas_f, obs, seed=args.seed)
    res_bg = cs.consistency_tests(bg_f, obs, tests=("N", "L"), seed=args.seed)
    nsim = cs.simulated_number_test(fc.counts, obs.event_count)
    comp = cs.comparison_tests(etas_f, bg_f, obs)
    print("ETAS forecast:")
    print(cs.format_results(res + (nsim,)))
    print("background-only forecast:")
    print(cs.format_results(res_bg))
    print("ETAS vs background-only:")
    print(cs.format_results(comp))
    if args.json_out:
        doc = {"mc": {"maxc": mc_maxc.mc, "gft": mc_gft.mc, "used": mc, "m0": m0},
               "mainshock": {"time": ms.time.isoformat(), "lat": ms.latitude_deg, "lon": ms.longitude_deg,
                             "mag": ms.magnitude},
               "fit": {**fit.as_dict(), "branching_ratio": n_br, "window_branching_ratio": n_win,
                       "runtime_s": t_fit},
               "forecast": {**fc.as_dict(), "rows": rows, "runtime_s": t_sim}, "observed": observed,
               "csep": [r.as_dict() for r in res + (nsim,)], "csep_background": [r.as_dict() for r in res_bg],
               "comparison": [r.as_dict() for r in comp]}
        args.json_out.write_text(json.dumps(doc, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
