"""``tianshan catalog timeline EVENT_ID`` on a SQLite store (click's CliRunner)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from tianshan.cli.main import cli, main
from tianshan.core import Event, Magnitude, Origin, TimelineEntry
from tianshan.store import EventStore

T0 = datetime(2024, 1, 22, 18, 9, 4, 250000, tzinfo=timezone.utc)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    with EventStore.open(data_dir=d) as store:
        ev = Event(id="ev-1", region_name="新疆拜城 Baicheng").with_origin(Origin(T0, 41.77, 84.16, 12_000.0))
        store.save_event(ev.with_magnitude(Magnitude("ML", 4.3)))
        store.record_timeline([
            TimelineEntry("ev-1", "origin_time", _at(9.5), data_time=T0),
            TimelineEntry("ev-1", "first_pick", _at(6.0), data_time=_at(4.5), detail="XJ.S01 P"),
            TimelineEntry("ev-1", "locatable_pick", _at(8.0), data_time=_at(6.25), detail="XJ.S04 P"),
            TimelineEntry("ev-1", "first_origin", _at(9.5)),
            TimelineEntry("ev-1", "first_magnitude", _at(15.0)),
            # an event still being stored by the associator: its first pick is already in the timeline
            TimelineEntry("ev-2", "first_pick", _at(60.0), data_time=_at(58.0)),
        ])
    return str(d)


def test_table_is_bilingual_with_delays(data_dir):
    result = CliRunner().invoke(cli, ["catalog", "timeline", "ev-1", "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("事件 / event ev-1  2024-01-22 18:09:04.250 UTC  41.770 84.160  12.0 km  ML 4.3")
    assert "新疆拜城 Baicheng" in out
    for name in ("发震时刻 / origin time", "首个震相 / first pick", "可定位震相 / locatable pick",
                 "首次定位 / first origin", "首个震级 / first magnitude"):
        assert name in out
    assert "首个产品 / first product" not in out.split("间隔")[0]  # steps not reached are not listed
    assert "2024-01-22 18:09:10.250" in out and "+6.000" in out and "XJ.S01 P" in out
    assert "可定位震相 → 首次定位 / locatable pick → first origin: 1.500 s" in out


def test_json_has_entries_and_latencies(data_dir):
    result = CliRunner().invoke(cli, ["catalog", "timeline", "ev-1", "--data-dir", data_dir, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["event_id"] == "ev-1" and doc["event"]["magnitude"] == 4.3
    assert [e["step"] for e in doc["entries"]] == ["origin_time", "first_pick", "locatable_pick", "first_origin",
                                                   "first_magnitude"]
    assert [TimelineEntry.from_dict(e) for e in doc["entries"]][1] == TimelineEntry(
        "ev-1", "first_pick", _at(6.0), data_time=_at(4.5), detail="XJ.S01 P")
    lat = doc["latencies"]
    assert lat["origin_time_to_first_pick_s"] == 6.0 and lat["locatable_pick_to_first_origin_s"] == 1.5
    assert lat["first_origin_to_first_magnitude_s"] == 5.5


def test_timeline_of_an_event_not_stored_yet(data_dir):
    result = CliRunner().invoke(cli, ["catalog", "timeline", "ev-2", "--data-dir", data_dir, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["event"] is None and [e["step"] for e in doc["entries"]] == ["first_pick"]
    result = CliRunner().invoke(cli, ["catalog", "timeline", "ev-2", "--data-dir", data_dir])
    assert "not stored yet" in result.output and "首个震相 / first pick" in result.output


def test_event_without_timeline_and_unknown_event(data_dir, tmp_path):
    with EventStore.open(data_dir=data_dir) as store:
        store.save_event(Event(id="ev-3").with_origin(Origin(T0, 41.0, 84.0, 5_000.0)))
    result = CliRunner().invoke(cli, ["catalog", "timeline", "ev-3", "--data-dir", data_dir])
    assert result.exit_code == 0 and "no timeline recorded" in result.output

    runner = CliRunner()
    with runner.isolation() as (out, err, _):  # through main(): expected errors become exit 2, one line
        code = main(["catalog", "timeline", "nope", "--data-dir", data_dir])
    assert code == 2 and out.getvalue() == b""
    assert err.getvalue().decode() == "tianshan: error: EVENT_ID: event 'nope' is not in the store\n"
    with runner.isolation() as (out, err, _):
        code = main(["catalog", "timeline", "ev-1", "--url", "sqlite:///" + str(tmp_path / "fresh.sqlite")])
    assert code == 2 and "tianshan db upgrade" in err.getvalue().decode()
