"""The demo's EEW, intensity and loss stages, piece by piece (the whole chain runs in test_demo.py)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

import numpy as np
import pytest

T0 = datetime(2026, 7, 15, 8, 30, 0, tzinfo=timezone.utc)


def _acc_stream(network: str, station: str, amplitude_m_s2: float, seconds: float = 40.0, fs: float = 100.0):
    """A 3-component acceleration record (m/s^2): a 2 Hz burst under a Hann window, Z at half amplitude."""
    from obspy import Stream, Trace, UTCDateTime

    n = int(seconds * fs)
    t = np.arange(n) / fs
    burst = np.sin(2 * np.pi * 2.0 * t) * np.hanning(n)
    out = Stream()
    for comp, k in (("Z", 0.5), ("N", 1.0), ("E", 0.8)):
        out += Trace(amplitude_m_s2 * k * burst, header={"network": network, "station": station, "location": "00",
                                                         "channel": f"HN{comp}", "sampling_rate": fs,
                                                         "starttime": UTCDateTime(T0.timestamp())})
    return out


def test_station_records_round_trip_through_the_station_csv(tmp_path):
    from obspy import Stream

    from tianshan.demo.intensity_stage import records_csv, station_records
    from tianshan.groundmotion.intensity.records import stream_motions
    from tianshan.products.shakemap.inputs import read_station_csv
    from tianshan.regions.demo import demo_region

    stations = demo_region().stations
    a, b = stations[0], stations[1]
    st = _acc_stream(a.network, a.code, 0.5) + _acc_stream(b.network, b.code, 0.05)
    st += _acc_stream("XX", "NOWHERE", 0.1)                       # not in the inventory: left out
    dead = _acc_stream(stations[2].network, stations[2].code, 0.1)
    for tr in dead:
        tr.data[:] = 0.0                                           # flagged dead channel: left out
    motions = stream_motions(Stream(st + dead), units="m/s**2")
    assert sum(m.usable for m in motions) == 3
    records = station_records(motions, stations)
    assert [r.station_id for r in records] == sorted([a.station_id, b.station_id])
    path = tmp_path / "records.csv"
    path.write_text(records_csv(records), encoding="utf-8")
    back = {r.station_id: r for r in read_station_csv(path)}
    by_id = {f"{m.network}.{m.station}": m for m in motions}
    coords = {s.station_id: s for s in stations}
    for sid, rec in back.items():
        m = by_id[sid]
        comp = rec.components[0]
        assert comp.get("pga").value_si == pytest.approx(m.pga_max_h_m_s2, rel=1e-5)
        assert comp.get("pgv").value_si == pytest.approx(m.pgv_max_h_m_s, rel=1e-5)
        assert comp.get("psa1.0").value_si == pytest.approx(m.psa_max_h_m_s2[1], rel=1e-5)
        assert (rec.latitude_deg, rec.longitude_deg) == pytest.approx(
            (coords[sid].latitude_deg, coords[sid].longitude_deg), abs=1e-5)
    # the larger horizontal is N (amplitude 1.0 against 0.8 for E): PGA close to the burst's peak
    assert by_id[a.station_id].pga_max_h_m_s2 == pytest.approx(0.5, rel=0.1)


@pytest.fixture(scope="module")
def small_map(tmp_path_factory):
    """A small intensity map (no station) of an M 6 near Luntai, 400 cells, no plot."""
    from tianshan.products.shakemap.build import MapEvent, MapSettings, build_map

    ev = MapEvent("t", 41.95, 84.30, 12_000.0, 6.0, T0)
    return build_map(ev, (), tmp_path_factory.mktemp("map"),
                     settings=MapSettings(max_cells=400, plot=False, layers=("mmi", "pga", "pgv")))


def test_shaking_from_map_is_the_map_mmi_layer(small_map):
    from tianshan.demo.loss_stage import shaking_from_map

    g = small_map.grids
    shaking = shaking_from_map(small_map)
    lats, lons = g.spec.latitudes(), g.spec.longitudes()
    assert lats[0] > lats[-1]                                      # north-up map rows
    i, j = np.unravel_index(np.nanargmax(g.layers["mmi"].mean), g.layers["mmi"].mean.shape)
    m, s = shaking.sample([lats[i], lats[-2]], [lons[j], lons[1]])
    assert m[0] == pytest.approx(float(g.layers["mmi"].mean[i, j]), abs=1e-4)
    assert m[1] == pytest.approx(float(g.layers["mmi"].mean[-2, 1]), abs=1e-4)
    assert s[0] == pytest.approx(float(g.layers["mmi"].sd[i, j]), abs=1e-4)
    assert shaking.max_mmi == pytest.approx(float(np.nanmax(g.layers["mmi"].mean)), abs=1e-4)


def test_loss_report_unavailable_is_logged_and_shown_without_link(tmp_path, monkeypatch, caplog, small_map):
    from tianshan.demo.loss_stage import LossResult, loss_sections, loss_summary, shaking_from_map, write_report
    from tianshan.demo.report import ReportData, write_index_html
    from tianshan.products.loss.scenario import Scenario, assess, load_context

    ctx = load_context("demo")
    ev = small_map.event
    result = assess(shaking_from_map(small_map), ctx.exposure, latitude_deg=ev.latitude_deg,
                    longitude_deg=ev.longitude_deg, magnitude=ev.magnitude,
                    scenario=Scenario(ev.latitude_deg, ev.longitude_deg, 12.0, ev.magnitude))
    monkeypatch.setitem(sys.modules, "tianshan.products.reports.loss", None)   # the module cannot be imported
    with caplog.at_level(logging.WARNING, logger="tianshan.demo.loss_stage"):
        files, status = write_report(result, tmp_path / "report", event_label="test")
    assert files == {} and "cannot be imported" in status
    assert any("cannot be imported" in r.getMessage() for r in caplog.records)
    summary = loss_summary(result.as_json(), "test field", "demo", status, {})
    (section,) = loss_sections(LossResult(result, {}, status, tmp_path, summary), tmp_path)
    assert any(status in p for p in section.paragraphs)
    assert [p for p, _ in section.links] == ["loss/loss.json"]
    assert section.rows[0][1].split()[1] == result.pager_alert
    page = write_index_html(tmp_path / "index.html", ReportData("t", "t", "2026-07-15T08:30:00Z", 41.95, 84.3, 12.0,
                                                                6.0, "demo", [], sections=[section]))
    text = page.read_text(encoding="utf-8")
    assert "灾害损失评估 / Loss estimate" in text and "loss_report.html" not in text
    assert 'href="loss/loss.json"' in text


def test_eew_page_section_without_alert_says_so(tmp_path):
    """Noise only at four demo stations: the engine declares nothing, the page says no alert was issued."""
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.demo.eew_stage import EEWResult, eew_sections, eew_summary
    from tianshan.eew.replay import Truth, replay_stream
    from tianshan.eew.targets import targets_from_places
    from tianshan.regions.demo import demo_region

    region = demo_region()
    stations = region.stations[:4]
    rng = np.random.default_rng(1)
    st = Stream()
    for s in stations:
        for ch in s.channels:
            if ch.stream_id.channel.startswith("HH"):
                st += Trace(rng.normal(0, 50, 2000).astype(np.int32),
                            header={"network": s.network, "station": s.code, "location": ch.stream_id.location,
                                    "channel": ch.stream_id.channel, "sampling_rate": 100.0,
                                    "starttime": UTCDateTime(T0.timestamp())})
    assert len(st) == 12
    targets = targets_from_places(region.places, kinds=None)[:20]
    truth = Truth(T0, 41.95, 84.30, 6.5, 12_000.0)
    report = replay_stream(st, stations, region.velocity_model, truth=truth, targets=targets)
    assert report.first_alert_s is None and not report.alerts
    summary = eew_summary(report, {}, targets, len(stations), (20.0, 0.0))
    assert summary["first_alert_s"] is None and summary["timeline"] == [] and summary["messages"] == 0
    (section,) = eew_sections(EEWResult(report, {}, len(stations), (20.0, 0.0), tmp_path, {}, summary), tmp_path)
    assert section.title == "地震预警 / Earthquake early warning"
    assert any("issued no alert" in p for p in section.paragraphs) and not section.tables
