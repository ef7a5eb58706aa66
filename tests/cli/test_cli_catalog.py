"""``tianshan catalog list`` / ``export`` on a SQLite store."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone

import pytest

from tianshan.cli.main import main
from tianshan.core import Event, Magnitude, Origin
from tianshan.store import EventStore

T0 = datetime(2024, 1, 22, 18, 9, 4, 250000, tzinfo=timezone.utc)


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    with EventStore.open(data_dir=d) as store:
        for i, mag in enumerate((3.1, 5.0, 4.2)):
            ev = Event(region_name=f"区域 {i}").with_origin(
                Origin(T0 + timedelta(days=i), 41.0 + i, 80.0 + i, 10_000.0 + i))
            ev = ev.with_origin(Origin(T0 + timedelta(days=i, seconds=1), 41.1 + i, 80.1 + i, 12_000.0))
            store.save_event(ev.with_magnitude(Magnitude("ML", mag)))
    return str(d)


def test_list_json_and_filters(data_dir, capsys):
    assert main(["catalog", "list", "--data-dir", data_dir, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["magnitude"] for r in rows] == [3.1, 5.0, 4.2]
    assert rows[0]["origin_versions"] == 2 and rows[0]["depth_m"] == 12_000.0
    assert rows[0]["time"] == (T0 + timedelta(seconds=1)).isoformat() and rows[0]["region_name"] == "区域 0"
    assert main(["catalog", "list", "--data-dir", data_dir, "--json", "--min-mag", "4",
                 "--start", "2024-01-23", "--limit", "1"]) == 0
    assert [r["magnitude"] for r in json.loads(capsys.readouterr().out)] == [5.0]


def test_list_table(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")  # rich wraps at the terminal width
    assert main(["catalog", "list", "--data-dir", data_dir]) == 0
    out = capsys.readouterr().out
    assert "3 events" in out and "2024-01-22 18:09:05.25" in out and "5.0 ML" in out


def test_export_csv_and_quakeml(data_dir, tmp_path, capsys):
    out_csv = tmp_path / "out" / "cat.csv"
    assert main(["catalog", "export", "--data-dir", data_dir, "--format", "csv", "--output", str(out_csv),
                 "--end", "2024-01-24T00:00:00Z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"format": "csv", "path": str(out_csv), "events": 2}
    with open(out_csv, newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 2

    from tianshan.io.quakeml import read_quakeml

    out_xml = tmp_path / "cat.xml"
    assert main(["catalog", "export", "--data-dir", data_dir, "--format", "quakeml", "-o", str(out_xml)]) == 0
    assert "wrote 3 events" in capsys.readouterr().out
    back = read_quakeml(out_xml)
    with EventStore.open(data_dir=data_dir) as store:
        stored = store.events()
    assert [e.preferred_origin.time for e in back] == [e.preferred_origin.time for e in stored]
    assert [len(e.origins) for e in back] == [2, 2, 2]


def test_errors_are_one_line_exit_2(data_dir, tmp_path, capsys):
    assert main(["catalog", "list", "--data-dir", data_dir, "--start", "yesterday"]) == 2
    assert "--start: not an ISO-8601 time" in capsys.readouterr().err
    assert main(["catalog", "list", "--url", "sqlite:///" + str(tmp_path / "fresh.sqlite")]) == 2
    assert "tianshan db upgrade" in capsys.readouterr().err
    assert main(["catalog", "export", "--url", "bogus://", "--format", "csv", "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tianshan: error: ") and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()
