"""The demo runs the whole chain and leaves a consistent set of outputs."""

from __future__ import annotations

import json

import pytest

from tianshan.cli.main import main


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    data = tmp_path_factory.mktemp("data")
    return out, data


def test_demo_end_to_end(demo_run, capsys):
    out, data = demo_run
    code = main(["demo", "--out", str(out), "--data-dir", str(data), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert list(summary) == ["region", "simulate", "store", "catalog", "realtime", "report"]
    assert summary["region"]["stations"] == 70
    # 70 stations x (HH + HN) x 3 components, every channel written
    assert summary["simulate"]["channels"] == 420
    # 300 s records starting 60 s before the origin: stations within ~1,500 km see the P wave
    assert 40 <= summary["simulate"]["stations_with_signal"] <= 70

    # the archive, responses and truth read back
    from tianshan.io.quakeml import read_quakeml
    from tianshan.io.sds import read_sds
    from tianshan.io.stationxml import read_stationxml
    from tianshan.store.repository import EventStore

    truth = read_quakeml(out / "scenario" / "truth.xml")
    assert len(truth) == 1
    ev = truth[0]
    o = ev.preferred_origin
    assert (o.latitude_deg, o.longitude_deg, o.depth_m) == pytest.approx((41.95, 84.30, 12_000.0))
    assert ev.preferred_magnitude.type == "Mw" and ev.preferred_magnitude.value == pytest.approx(6.5)
    # one theoretical P pick per station whose P arrives inside the record
    assert len([p for p in ev.picks if p.phase.upper().startswith("P")]) == summary["simulate"]["stations_with_signal"]

    stations = read_stationxml(out / "scenario" / "stations.xml")
    assert len(stations) == 70 and all(st.simulated for st in stations)
    st = read_sds(out / "scenario" / "sds", ["TS.LUNT.00.HHZ"], o.time, o.time.replace(minute=31))
    assert len(st) >= 1 and st[0].stats.sampling_rate == 100.0

    with EventStore.open(None, data_dir=data) as store:
        stored = store.get_event(summary["store"]["event_id"])
        assert stored.preferred_origin.time == o.time
        assert len(store.stations()) == 70
        kinds = sorted(p.kind for p in store.products(event_id=stored.id))
        assert kinds == ["arrivals", "quakeml", "stationxml"]

    # the automatic chain found the event once, close to the truth
    assert summary["catalog"]["events"] == 1
    with EventStore.open(None, data_dir=data) as store:
        auto = [e for e in store.events() if e.id != summary["store"]["event_id"]]
    assert len(auto) == 1
    ao = auto[0].preferred_origin
    import math
    dlat = (ao.latitude_deg - o.latitude_deg) * 111.2
    dlon = (ao.longitude_deg - o.longitude_deg) * 111.2 * math.cos(math.radians(o.latitude_deg))
    assert math.hypot(dlat, dlon) < 5.0
    assert abs((ao.time - o.time).total_seconds()) < 1.0
    assert abs(auto[0].preferred_magnitude.value - 6.5) < 0.6
    assert len(auto[0].origins) >= 2  # association origin, then the located one

    # the real-time replay (SeedLink -> tianshan run) found the same event, in its own store
    rt = summary["realtime"]
    assert rt["speed"] == 10.0 and rt["events"] == 1 and rt["picker_jobs_dropped"] == 0
    assert rt["store"] == str(out / "realtime.sqlite")
    assert list(rt["timeline"])[:4] == ["origin_time", "first_pick", "locatable_pick", "first_origin"]
    assert list(rt["timeline"])[-1] == "final" and "first_magnitude" in rt["timeline"]
    assert rt["final"]["epicentre_error_km"] < 5.0 and abs(rt["final"]["time_error_s"]) < 1.0
    assert rt["vs_catalog"]["epicentre_km"] < 5.0 and abs(rt["vs_catalog"]["time_s"]) < 1.0
    with EventStore.open(f"sqlite:///{out / 'realtime.sqlite'}") as store:
        (rt_event,) = store.events()
        assert rt_event.id == rt["event_id"] and [e.step for e in store.timeline(rt_event.id)][-1] == "final"

    page = (out / "index.html").read_text(encoding="utf-8")
    assert "实时处理时间线 / Real-time timeline" in page and "Real-time vs batch catalog vs true source" in page
    assert "中国地震台网自动测定" in page and "CENC automatic determination" in page
    assert "轮台" in page and "Luntai" in page
    assert page.count("<tr><td class=l>TS.") == 70
    assert (out / "waveforms.png").stat().st_size > 10_000
    assert "<svg" in page


def test_demo_bad_config_is_a_user_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("data_dir = [unclosed\n")
    code = main(["demo", "--config", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.toml" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
