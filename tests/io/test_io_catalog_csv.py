"""Catalog CSV writer."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

from tianshan.core import Event, EventType, Magnitude, Origin
from tianshan.io.catalog_csv import COLUMNS, write_catalog_csv

UTC = timezone.utc


def test_one_row_per_event_with_preferred_solution(tmp_path):
    o1 = Origin(datetime(2024, 1, 22, 18, 9, 4, 123456, tzinfo=UTC), 41.26, 78.63, 22_000.0, version=1)
    o2 = Origin(datetime(2024, 1, 22, 18, 9, 5, 7, tzinfo=UTC), 41.27, 78.65, 13_500.0, rms_s=0.85,
                azimuthal_gap_deg=61.5, phase_count=48, evaluation_mode="manual", evaluation_status="reviewed",
                version=2)
    m1 = Magnitude("Ms", 7.1, origin_id=o2.id)
    m2 = Magnitude("ML", 6.9, origin_id=o1.id)
    big = Event(origins=(o1, o2), magnitudes=(m1, m2), preferred_origin_id=o2.id, preferred_magnitude_id=m1.id)
    blast = Event(type=EventType.QUARRY_BLAST, origins=(o1,), id="smi:org.tianshan/event/blast")
    empty = Event(type=None, id="no-solution")
    path = write_catalog_csv([big, blast, empty], tmp_path / "out" / "catalog.csv")
    text = path.read_text()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert COLUMNS == ("event_id", "time", "latitude", "longitude", "depth_km", "magnitude", "magnitude_type",
                       "event_type", "evaluation_mode", "evaluation_status", "origin_version", "phase_count",
                       "azimuthal_gap", "rms")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 3
    r = rows[0]
    assert r["event_id"] == big.id
    assert r["time"] == "2024-01-22T18:09:05.000007Z"
    assert (r["latitude"], r["longitude"], r["depth_km"]) == ("41.27", "78.65", "13.5")
    assert (r["magnitude"], r["magnitude_type"], r["event_type"]) == ("7.1", "Ms", "earthquake")
    assert (r["evaluation_mode"], r["evaluation_status"], r["origin_version"]) == ("manual", "reviewed", "2")
    assert (r["phase_count"], r["azimuthal_gap"], r["rms"]) == ("48", "61.5", "0.85")
    r = rows[1]
    assert r["time"] == "2024-01-22T18:09:04.123456Z" and r["depth_km"] == "22.0"
    assert r["magnitude"] == "" and r["event_type"] == "quarry blast" and r["rms"] == ""
    assert rows[2] == {**{c: "" for c in COLUMNS}, "event_id": "no-solution"}
    assert not list(path.parent.glob("*.part"))
