"""Time from a scenario to its bilingual loss report (HTML + PDF + map + JSON), demo region.

Plain script (no assertions)::

    .venv/bin/python benchmarks/bench_loss_report.py [--region demo|DIR] [--out DIR] [--repeat 2]

The scenario is the demo earthquake (:mod:`tianshan.demo.stages`: Mw 6.5, 12 km deep, 41.95 N
84.30 E north of Luntai, strike 85, dip 40, rake 90) on the built-in demo exposure (GeoNames
towns), or ``--region DIR`` (e.g. ``../shared/data/xinjiang``). In one fresh process it times:

* ``load`` -- the region context (:func:`tianshan.products.loss.scenario.load_context`);
* ``scenario`` -- the loss chain with its intensity prediction (first call: imports of
  hazardlib included, as a fresh ``tianshan scenario run`` pays them);
* ``report`` -- :func:`tianshan.products.reports.loss.write_loss_report` (map, HTML, PDF,
  JSON; first call: matplotlib/WeasyPrint imports and font loading included);
* ``report_again`` -- ``--repeat`` more reports (a re-issued version: what the real-time stage
  pays per new intensity-map version, the process already warm).

Prints one JSON object and a line with the total (target: under 60 s from a cold start).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default="demo")
    ap.add_argument("--out", default=None, help="Folder for the reports (default: a temporary folder).")
    ap.add_argument("--repeat", type=int, default=2, help="Re-issued reports to time after the first.")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    from tianshan.demo.stages import (DEMO_DEPTH_M, DEMO_DIP_DEG, DEMO_LATITUDE_DEG, DEMO_LONGITUDE_DEG, DEMO_MW,
                                      DEMO_RAKE_DEG, DEMO_STRIKE_DEG)
    from tianshan.products.loss.scenario import Scenario, load_context, run_scenario
    from tianshan.products.reports.loss import write_loss_report
    from tianshan.products.reports.render import cjk_font_family, pdf_font_names

    ctx = load_context(args.region)
    t1 = time.perf_counter()
    sc = Scenario(DEMO_LATITUDE_DEG, DEMO_LONGITUDE_DEG, DEMO_DEPTH_M / 1000.0, DEMO_MW, name="demo",
                  strike_deg=DEMO_STRIKE_DEG, dip_deg=DEMO_DIP_DEG, rake_deg=DEMO_RAKE_DEG)
    res = run_scenario(sc, ctx.exposure, faults=ctx.faults, historical=ctx.historical)
    t2 = time.perf_counter()
    out = args.out or tempfile.mkdtemp(prefix="tianshan-loss-report-")
    files = write_loss_report(res, os.path.join(out, "v1"), faults=ctx.faults, event_label="轮台 Luntai (demo)")
    t3 = time.perf_counter()
    again = []
    for k in range(args.repeat):
        s = time.perf_counter()
        write_loss_report(res, os.path.join(out, f"v{k + 2}"), faults=ctx.faults, event_label="轮台 Luntai (demo)",
                          version=k + 2)
        again.append(round(time.perf_counter() - s, 2))
    fonts = sorted(pdf_font_names(files["pdf"]))
    doc = {"region": args.region, "cpus": os.cpu_count(), "load_s": round(t1 - t0, 2), "scenario_s": round(t2 - t1, 2),
           "report_s": round(t3 - t2, 2), "scenario_plus_report_s": round(t3 - t0, 2), "report_again_s": again,
           "pdf_bytes": files["pdf"].stat().st_size, "html_bytes": files["html"].stat().st_size,
           "pdf_fonts": fonts, "cjk_font": cjk_font_family(), "pager_alert": res.pager_alert,
           "response_level": res.response_level, "out": out}
    print(json.dumps(doc, ensure_ascii=False))
    print(f"demo scenario + report: {t3 - t0:.1f} s (load {t1 - t0:.1f}, scenario {t2 - t1:.1f}, report {t3 - t2:.1f}); "
          f"re-issued report: {', '.join(f'{a:.1f}' for a in again)} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
