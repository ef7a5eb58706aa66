"""compute_magnitudes end to end on simulated scenarios (tianshan.sim) with demo-region stations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tianshan.core import Origin, Pick, StreamID
from tianshan.events.magnitude import MagnitudeConfig, compute_magnitudes

LAT, LON, DEPTH = 41.8, 84.3, 10_000.0


@pytest.fixture(scope="module")
def region():
    from tianshan.regions.demo import demo_region

    return demo_region()


@pytest.fixture(scope="module")
def near_stations(region):
    from obspy.geodetics import gps2dist_azimuth

    return sorted(region.stations,
                  key=lambda s: gps2dist_azimuth(LAT, LON, s.latitude_deg, s.longitude_deg)[0])[:6]


def _scenario(region, stations, mw, seed=1):
    from tianshan.io.stationxml import stations_to_inventory
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    src = Source(LAT, LON, DEPTH, mw, datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc))
    res = simulate_scenario(src, stations, region.velocity_model, duration_s=200.0, rng=seed)
    origin = Origin(src.origin_time, LAT, LON, DEPTH)
    return res, stations_to_inventory(res.stations, res.responses), origin


@pytest.fixture(scope="module")
def runs(region, near_stations):
    out = {}
    for mw in (3.0, 4.5, 6.0):
        res, inv, origin = _scenario(region, near_stations, mw)
        out[mw] = (res, inv, origin, compute_magnitudes(origin, [], res.stream, inv, res.stations))
    return out


def test_small_event_ml_close_to_mw(runs):
    *_, r = runs[3.0]
    ml = r.get("ML")
    assert ml is not None and abs(ml.value - 3.0) <= 0.3          # measured 3.06
    assert r.get("Mw") is None                                      # below mw_min_ml
    assert r.preferred is ml
    assert ml.station_count >= 4 and ml.uncertainty is not None and ml.uncertainty < 0.3


def test_m45_spectral_mw_preferred(runs):
    *_, r = runs[4.5]
    mw, ml = r.get("Mw"), r.get("ML")
    assert abs(mw.value - 4.5) <= 0.2                               # measured 4.45
    assert abs(ml.value - 4.5) <= 0.5                               # measured 4.85 (see report)
    assert r.preferred is mw


def test_m6_mw_and_clipped_sensor_falls_back(runs):
    res, inv, origin, r = runs[6.0]
    assert abs(r.get("Mw").value - 6.0) <= 0.3                      # measured 5.76 (two-corner source)
    assert r.skipped.get("clipped", 0) >= 1                         # the broadband next to the source
    ml_stations = {sm.stream_id.station for sm in r.get("ML").station_magnitudes}
    assert len(ml_stations) == len(res.stations)                    # ... measured on its accelerometer


def test_amplitudes_link_to_station_magnitudes(runs):
    *_, r = runs[4.5]
    ids = {a.id: a for a in r.amplitudes}
    for mag in r.magnitudes:
        for sm in mag.station_magnitudes:
            assert sm.amplitude_id in ids
            assert sm.residual == pytest.approx(sm.value - mag.value)
        assert mag.origin_id is not None
    aml = [a for a in r.amplitudes if a.type == "AML"]
    assert aml and all(a.unit == "m" and a.value > 0 for a in aml)


def test_s_picks_are_used(region, runs):
    res, inv, origin, base = runs[3.0]
    picks = [Pick(StreamID(t.network, t.station, "00", "HHN"), t.s_time, "S") for t in res.truth if t.s_time]
    r = compute_magnitudes(origin, picks, res.stream, inv, res.stations)
    assert abs(r.get("ML").value - base.get("ML").value) < 0.15
    assert {a.pick_id for a in r.amplitudes if a.type == "AML"} <= {p.id for p in picks}


def test_missing_response_and_missing_data_are_skipped(runs, near_stations):
    from tianshan.io.stationxml import stations_to_inventory

    res, _, origin, base = runs[3.0]
    drop = res.stations[1].station_id
    responses = {sid: resp for sid, resp in res.responses.items() if sid.station_id != drop}
    inv = stations_to_inventory(res.stations, responses)
    st = res.stream.copy()
    for tr in st.select(station=res.stations[2].code):
        st.remove(tr)
    r = compute_magnitudes(origin, [], st, inv, res.stations)
    assert r.skipped.get("no response", 0) >= 1
    assert r.get("ML").station_count >= base.get("ML").station_count - 2
    stations_used = {sm.stream_id.station_id for sm in r.get("ML").station_magnitudes}
    assert drop not in stations_used and res.stations[2].station_id not in stations_used


def test_calibration_from_config_path(tmp_path, runs):
    res, inv, origin, base = runs[3.0]
    p = tmp_path / "r.csv"
    # the default table shifted by +0.5: every station ML moves by +0.5
    from tianshan.events.magnitude.ml_gb17740 import load_calibration

    t = load_calibration()
    rows = "\n".join(f"{d:g},{v + 0.5:.4f}" for d, v in zip(t.distances_km, t.values))
    p.write_text(f"# distance: hypocentral\ndistance_km,r\n{rows}\n")
    r = compute_magnitudes(origin, [], res.stream, inv, res.stations, MagnitudeConfig(ml_calibration=p))
    assert r.get("ML").value == pytest.approx(base.get("ML").value + 0.5, abs=1e-3)
