"""Back-test of the loss chain on Xinjiang earthquakes with recorded deaths (issue 7, "Must show").

Plain script (no assertions)::

    .venv/bin/python benchmarks/backtest_loss_xinjiang.py [--data ../shared/data/xinjiang] [--json out.json]

Events: every row of ``historical_significant_noaa.csv`` (NOAA NCEI) since 1970 whose location
names Xinjiang and that records at least one death (``DEATHS``, else ``TOTAL_DEATHS``; NOAA
leaves unknown counts blank, so blank rows are not "zero deaths" and are left out). Each is
run as a scenario with its catalogue epicentre, focal depth (10 km when blank) and magnitude
(``EQ_MAG_MW``, else ``EQ_PRIMARY``), on the folder's exposure (2020 census distributed by
towns) -- for every event, whatever its year: the population, its housing and the GDP are
2020's, a stated limitation. Two orientations are compared: ``nearest`` (strike of the
fault trace nearest the epicentre within 30 km, as ``--fault nearest``) and ``none``
(orientation unknown, average over strikes).

Per event: recorded deaths, estimated median and p10-p90, the most likely PAGER range, the
probability the model gave the recorded range, whether the recorded number lies in the
predicted (most likely) range and within p10-p90. Summary: hit rates and the mean
log10 ratio estimate/recorded.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tianshan.products.loss import pager  # noqa: E402
from tianshan.products.loss.scenario import Scenario, load_context, run_scenario  # noqa: E402


def _f(text: str) -> float | None:
    try:
        v = float((text or "").strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def events(path: Path, since: int = 1970) -> list[dict]:
    out = []
    for r in csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()):
        year = int(r["YEAR"])
        loc = " ".join(r["LOCATION_NAME"].split())
        if year < since or not ("XINJIAN" in loc.upper() or "XINGJIANG" in loc.upper()):
            continue
        deaths = _f(r.get("DEATHS")) or _f(r.get("TOTAL_DEATHS"))
        if deaths is None or deaths < 1:
            continue
        mag = _f(r.get("EQ_MAG_MW")) or _f(r.get("EQ_PRIMARY"))
        out.append({"date": f"{year}-{int(r['MONTH']):02d}-{int(r['DAY']):02d}", "location": loc,
                    "lat": float(r["LATITUDE"]), "lon": float(r["LONGITUDE"]),
                    "depth": _f(r.get("FOCAL_DEPTH")) or 10.0, "mag": mag, "deaths": int(deaths),
                    "injuries": _f(r.get("INJURIES"))})
    return out


def recorded_range(deaths: float) -> str:
    for label, lo, hi in pager.FATALITY_RANGES:
        if lo <= deaths < hi:
            return label
    return pager.FATALITY_RANGES[-1][0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "xinjiang")
    ap.add_argument("--json", type=Path, default=None, help="write the rows and summary as JSON")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ctx = load_context(args.data)
    t_load = time.perf_counter() - t0
    evs = events(args.data / "historical_significant_noaa.csv")
    rows = []
    for orient in ("nearest", "none"):
        for e in evs:
            sc = Scenario(e["lat"], e["lon"], e["depth"], e["mag"], name=e["date"],
                          fault="nearest" if orient == "nearest" else None)
            t = time.perf_counter()
            res = run_scenario(sc, ctx.exposure, faults=ctx.faults, historical=())
            dt = time.perf_counter() - t
            f = res.fatalities
            rec = recorded_range(e["deaths"])
            best = f.most_likely_range
            rows.append({**e, "orientation": orient, "median": f.median, "p10": f.p10, "p90": f.p90,
                         "predicted_range": best, "recorded_range": rec,
                         "p_recorded_range": f.bin_probabilities[rec], "hit_range": best == rec,
                         "in_p10_p90": f.p10 <= e["deaths"] <= f.p90, "alert": res.pager_alert,
                         "response_level": res.response_level, "max_mmi_at_people": res.exposure.max_mmi,
                         "viii_plus": res.exposure.population_at_least(8), "seconds": dt,
                         "strike_deg": res.rupture.get("strike_deg")})
    summary = {}
    for orient in ("nearest", "none"):
        rs = [r for r in rows if r["orientation"] == orient]
        logs = [math.log10(max(r["median"], 0.1) / r["deaths"]) for r in rs]
        summary[orient] = {"events": len(rs), "hit_range": sum(r["hit_range"] for r in rs),
                           "in_p10_p90": sum(r["in_p10_p90"] for r in rs),
                           "mean_p_recorded_range": sum(r["p_recorded_range"] for r in rs) / len(rs),
                           "mean_log10_ratio": sum(logs) / len(logs),
                           "median_seconds": sorted(r["seconds"] for r in rs)[len(rs) // 2]}
    print(f"exposure: {ctx.exposure.name} ({ctx.exposure.method}), {ctx.exposure.total_population:,.0f} people, "
          f"loaded in {t_load:.1f} s")
    for orient in ("nearest", "none"):
        print(f"\norientation: {orient}")
        print("| date | location | M | depth km | recorded | est. median | p10-p90 | predicted range | "
              "recorded range | P(recorded range) | hit | in p10-p90 | max MMI | alert | level |")
        print("|" + "---|" * 15)
        for r in rows:
            if r["orientation"] != orient:
                continue
            print(f"| {r['date']} | {r['location'][:38]} | {r['mag']:.1f} | {r['depth']:.0f} | {r['deaths']} | "
                  f"{r['median']:.1f} | {r['p10']:.1f}-{r['p90']:.0f} | {r['predicted_range']} | "
                  f"{r['recorded_range']} | {r['p_recorded_range']:.2f} | {'yes' if r['hit_range'] else 'no'} | "
                  f"{'yes' if r['in_p10_p90'] else 'no'} | {r['max_mmi_at_people']:.1f} | {r['alert']} | "
                  f"{r['response_level']} |")
        s = summary[orient]
        print(f"\nrecorded deaths in the predicted (most likely) PAGER range: {s['hit_range']}/{s['events']}; "
              f"within p10-p90: {s['in_p10_p90']}/{s['events']}; mean P(recorded range) "
              f"{s['mean_p_recorded_range']:.2f}; mean log10(estimate/recorded) {s['mean_log10_ratio']:+.2f}; "
              f"median run time {s['median_seconds']:.2f} s per scenario")
    if args.json is not None:
        from tianshan.io.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps({"rows": rows, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
