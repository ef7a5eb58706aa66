"""Issue 3 acceptance: the NonLinLoc Anchorage sample relocated within 1 km horizontally and 3 km in
depth of NonLinLoc's own maximum-likelihood hypocentres (benchmarks/validate_locate_anchorage.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "validate_locate_anchorage.py"


def test_anchorage_events_match_nonlinloc(shared_data):
    spec = importlib.util.spec_from_file_location("validate_locate_anchorage", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rows = mod.compare(shared_data / "location" / "nonlinloc_anchorage")
    assert len(rows) == 7
    for r in rows:
        assert r["dh_km"] < 1.0 and abs(r["dz_km"]) < 3.0, r
        assert abs(r["dt_s"]) < 0.5, r                      # origin time
        assert abs(r["rms_s"] - r["nlloc_rms_s"]) < 0.35, r
        assert abs(r["gap_deg"] - r["nlloc_gap_deg"]) < 10.0, r
