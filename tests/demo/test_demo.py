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
    assert list(summary) == ["region", "simulate", "store", "catalog", "realtime", "eew", "intensity", "loss", "report"]
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
    records = page.split("<h2>台站记录 Station records</h2>", 1)[1].split("<h2>", 1)[0]
    assert records.count("<tr><td class=l>TS.") == 70
    assert (out / "waveforms.png").stat().st_size > 10_000
    assert "<svg" in page

    _check_eew(out, summary, page)
    _check_intensity(out, summary, page)
    _check_loss(out, summary, page)
    _check_served(out, data, summary)


def _check_eew(out, summary, page):
    """Issue 5.7: the EEW alert timeline and per-city warning times, consistent with the truth."""
    eew = json.loads((out / "eew" / "summary.json").read_text(encoding="utf-8"))
    assert summary["eew"]["first_alert_s"] == eew["first_alert_s"]
    # the first alert comes once 4 stations have 1 s of P (the criterion, 1-s packets)
    assert eew["first_alert_s"] is not None and eew["alert_minus_p4_s"] <= 1.0
    assert abs(eew["magnitude_final"] - 6.5) < 1.0 and eew["epicentral_error_km_final"] < 10.0
    times = [a["t_after_origin_s"] for a in eew["timeline"]]
    assert eew["timeline"][0]["type"] == "alert" and times == sorted(times)
    assert len(eew["alerts"]) == sum(a["type"] != "cancel" for a in eew["timeline"])
    # per place: warning time = true S arrival - first listing; inside the blind zone it is negative
    near = eew["nearest_targets"]
    assert near[0]["name"] == "Luntai" and len(near) == 5
    for t in eew["targets"]:
        if t["warning_time_s"] is None:
            continue
        assert t["warning_time_s"] == pytest.approx(t["s_after_origin_s"] - t["listed_after_origin_s"], abs=0.15)
        if t["listed_after_origin_s"] == pytest.approx(eew["first_alert_s"], abs=0.05) and \
                abs(t["distance_km"] - eew["blind_zone_radius_km"]) > 2.0:   # listed in the first alert
            assert (t["warning_time_s"] < 0) == (t["distance_km"] < eew["blind_zone_radius_km"])
    korla = next(t for t in eew["targets"] if t["name"] == "Korla")
    assert korla["warning_time_s"] > 0 and korla["outcome"] in ("true", "false")
    msgs = (out / "eew" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(msgs) == eew["messages"] and json.loads(msgs[0])["msg_type"] == "alert"
    assert (out / "eew" / "first_alert.cap.xml").read_bytes().startswith(b"<?xml")
    assert "地震预警 / Earthquake early warning" in page and "eew/timeline.png" in page
    assert (out / "eew" / "timeline.png").stat().st_size > 5_000


def _check_intensity(out, summary, page):
    """Issue 6.7: the map predicted from the origin, then conditioned on the records; station table."""
    from tianshan.products.shakemap.inputs import read_station_csv

    doc = json.loads((out / "intensity" / "summary.json").read_text(encoding="utf-8"))
    assert doc["event"].startswith("automatic catalog event")
    records = read_station_csv(out / "intensity" / "records.csv")
    assert len(records) == summary["intensity"]["records"] == doc["conditioned"]["stations"]["used"] >= 20
    for version in ("v1_predicted", "v2_conditioned"):
        for name in ("map.png", "grid.xml", "intensity_cn.tif", "summary.json"):
            assert (out / "intensity" / version / name).stat().st_size > 0
    # an Mw 6.5 at 12 km depth: VII-IX at the epicentre whether predicted or conditioned
    for key in ("predicted", "conditioned"):
        assert 7.0 <= doc[key]["max_intensity_cn"]["value"] <= 10.0
        assert [r["degree"] for r in doc[key]["degrees"]] == sorted((r["degree"] for r in doc[key]["degrees"]),
                                                                    reverse=True)
    luntai = doc["stations"][0]
    assert luntai["station"] == "TS.LUNT" and luntai["distance_km"] < 25
    # the record's intensity, the model's and the conditioned map's agree within one degree at the nearest station
    assert abs(luntai["intensity_record"] - luntai["intensity_predicted"]) < 1.0
    assert abs(luntai["intensity_conditioned"] - luntai["intensity_record"]) < 1.0
    assert "烈度速报 / Intensity map" in page
    assert "intensity/v1_predicted/map.png" in page and "intensity/v2_conditioned/map.png" in page


def _check_loss(out, summary, page):
    """Issue 7.6: the loss estimate on the page, and the report linked when it could be written."""
    doc = json.loads((out / "loss" / "loss.json").read_text(encoding="utf-8"))
    loss = json.loads((out / "loss" / "summary.json").read_text(encoding="utf-8"))
    assert summary["loss"]["response_level"] == doc["response_level"] in ("I", "II", "III", "IV", "none")
    assert summary["loss"]["pager_alert"] == doc["pager_alert"] in ("green", "yellow", "orange", "red")
    assert sum(doc["fatalities"]["bin_probabilities"].values()) == pytest.approx(1.0, abs=0.01)
    assert loss["intensity_field"].startswith("conditioned intensity map")
    assert "灾害损失评估 / Loss estimate" in page
    if loss["report"]["status"] == "written":
        for fmt in ("html", "pdf"):
            rel = loss["report"]["files"][fmt]
            assert (out / rel).stat().st_size > 1_000 and rel in page
    else:
        assert loss["report"]["status"] in page


def _check_served(out, data, summary):
    """`tianshan demo --serve`: the REST API over the demo store lists the event's intensity maps (both
    versions), the loss report and the EEW files, serves the contours, and lists the EEW alerts."""
    from fastapi.testclient import TestClient

    from tianshan.services.api import create_app
    from tianshan.store.database import resolve_url
    from tianshan.store.repository import EventStore

    with EventStore.open(None, data_dir=data) as store:
        (auto,) = [e for e in store.events() if e.id != summary["store"]["event_id"]]
    app = create_app(resolve_url(None, data), region="demo", rate_limit_per_s=None, poll_s=None)
    with TestClient(app) as client:
        ev = client.get(f"/api/v1/events/{auto.id}").json()
        products = ev["products"]
        by = {}
        for p in products:
            by.setdefault((p["kind"], p["version"]), set()).add(p["name"])
        # both map versions, with the files the dashboard looks for (contours overlay, map image)
        for version in (1, 2):
            assert {"contours_cn.geojson", "map.png", "grid.xml", "summary.json"} <= by[("intensity_map", version)]
        assert "records.csv" in by[("intensity_map", 2)]
        n_maps = sum(len(v) for k, v in by.items() if k[0] == "intensity_map")
        assert summary["intensity"]["products_stored"] == n_maps
        assert by[("loss_estimate", 2)] == {"loss.json"}
        loss = json.loads((out / "loss" / "summary.json").read_text(encoding="utf-8"))
        if loss["report"]["status"] == "written":
            assert {"loss_report.html", "loss_report.pdf"} <= by[("loss_report", 2)]
        assert {"alerts.jsonl", "summary.json", "first_alert.cap.xml"} <= by[("eew_replay", 1)]
        contours = next(p for p in products if p["name"] == "contours_cn.geojson" and p["version"] == 2)
        r = client.get(contours["url"])
        assert r.status_code == 200
        assert r.json()["features"] == json.loads(
            (out / "intensity" / "v2_conditioned" / "contours_cn.geojson").read_text(encoding="utf-8"))["features"]
        # the EEW messages, as the alerts of the EEW engine's event
        alerts = client.get("/api/v1/alerts", params={"limit": 1000}).json()["alerts"]
        eew = json.loads((out / "eew" / "summary.json").read_text(encoding="utf-8"))
        assert len(alerts) == summary["eew"]["alerts_stored"] == eew["messages"] >= 1
        first = min(alerts, key=lambda a: a["sequence"])
        assert first["msg_type"] == "alert" and first["targets"]
        assert first["origin"]["magnitude"] == pytest.approx(eew["magnitude_first"], abs=0.01)


def test_demo_bad_config_is_a_user_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("data_dir = [unclosed\n")
    code = main(["demo", "--config", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad.toml" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
