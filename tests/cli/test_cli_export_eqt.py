"""``tianshan catalog export --format eqt``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from tianshan.cli.main import main
from tianshan.core import Event, Magnitude, Origin
from tianshan.io.eqt import read_eqt
from tianshan.store import EventStore


def test_export_eqt(tmp_path, capsys):
    data_dir = tmp_path / "data"
    t0 = datetime(2024, 1, 22, 18, 9, 4, tzinfo=timezone.utc)
    with EventStore.open(data_dir=data_dir) as store:
        for i, (mag, place) in enumerate(((7.1, "新疆阿克苏地区乌什县"), (3.4, "新疆喀什地区伽师县"))):
            ev = Event(region_name=place).with_origin(Origin(t0.replace(day=22 + i), 41.26 - i, 78.63 - i, 22_000.0))
            store.save_event(ev.with_magnitude(Magnitude("ML", mag)))
    out = tmp_path / "cat.eqt"
    assert main(["catalog", "export", "--data-dir", str(data_dir), "--format", "eqt", "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"format": "eqt", "path": str(out), "events": 2}
    recs = read_eqt(out)
    assert [r.place for r in recs] == ["新疆阿克苏地区乌什县", "新疆喀什地区伽师县"]
    assert recs[0].time == datetime(2024, 1, 23, 2, 9, 4) and recs[0].magnitude == 7.1 and recs[0].depth_km == 22
    assert main(["catalog", "export", "--data-dir", str(data_dir), "--format", "eqt", "-o", str(out)]) == 0
    assert "wrote 2 events" in capsys.readouterr().out
