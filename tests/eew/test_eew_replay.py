"""EEW evaluation harness: simulated scenario replays (scores against the truth), noise with data
faults (no false alert), the real 2018 Mw 7.2 Pinotepa OpenEEW records, and ``tianshan eew replay``.

Measured here (deterministic): demo-region Mw 5.5 at 42.05 N 86.35 E, 10 km, stations within
250 km: first alert 9.0 s after the origin with 4 stations (0.6 km off, M 6.05: the simulator's
P waves read high, see :mod:`tianshan.eew.magnitude`). Mexico 2018-02-16 (catalogue 23:39:39,
16.218 N 98.013 W, M 7.2): first alert at origin + 29.1 s, M 6.43 -> 6.56 (saturated, -0.77 ->
-0.58), final epicentre 10.9 km off; device 006 (66 km) recorded intensity 7.0 (predicted 6.9) but
lies in the 98 km blind zone; Mexico City (OE.000, 367 km) 61.6 s of warning.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from tianshan.core.errors import InputError
from tianshan.eew.replay import Truth, parse_truth

ORIGIN = datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc)
KEYS = ["alerts", "first_alert_s", "magnitude_error_first", "magnitude_error_final", "epicentral_error_km_final"]
ALERT_KEYS = ["t_after_origin_s", "latitude", "longitude", "magnitude", "n_stations"]
MEXICO_TRUTH = "2018-02-16T23:39:39Z 16.218 -98.013 7.2"


def test_parse_truth():
    t = parse_truth("2018-02-16T23:39:39Z 16.218 -98.013 7.2")
    assert t == Truth(datetime(2018, 2, 16, 23, 39, 39, tzinfo=timezone.utc), 16.218, -98.013, 7.2, None)
    assert parse_truth("2018-02-16T23:39:39+00:00 16.2 -98.0 7.2 20").depth_m == 20_000.0
    for bad in ("2018-02-16 16.2 -98.0", "yesterday 16.2 -98.0 7.2", "2018-02-16T23:39:39Z x -98 7.2",
                "2018-02-16T23:39:39Z 96.2 -98.0 7.2", "2018-02-16T23:39:39Z 16.2 -98.0 7.2 -5"):
        with pytest.raises(InputError):
            parse_truth(bad)


@pytest.fixture(scope="module")
def demo():
    from tianshan.regions.demo import demo_region

    return demo_region()


@pytest.fixture(scope="module")
def m55(demo):
    from tianshan.eew.replay import simulate_and_replay
    from tianshan.sim.source import Source

    src = Source(42.05, 86.35, 10_000.0, 5.5, ORIGIN)
    return simulate_and_replay(src, demo, max_station_distance_m=250_000.0, seed=1)


def test_scenario_replay_scores_the_alerts_against_the_truth(m55):
    rep = m55
    s = rep.summary()
    assert list(s) == KEYS and all(list(a) == ALERT_KEYS for a in s["alerts"])
    first = rep.alerts[0]
    assert first.msg_type == "alert" and first.sequence == 1 and first.n_stations >= 4
    assert [a.sequence for a in rep.alerts] == list(range(1, len(rep.alerts) + 1))
    assert s["first_alert_s"] == pytest.approx(first.t_after_origin_s, abs=0.01)
    # first alert at most 1 s (one packet) after the 4th true P has 1 s of data
    assert rep.alert_minus_p4_s is not None and rep.alert_minus_p4_s <= 1.0
    assert 4.0 < rep.first_alert_s < 15.0
    assert rep.epicentral_error_km_final <= 5.0 and rep.epicentral_error_km_first <= 10.0
    assert abs(rep.magnitude_error_final) <= 0.8 and rep.magnitude_error_first == pytest.approx(
        first.magnitude - 5.5, abs=1e-6)
    assert rep.false_alert_events == 0 and rep.missed_events == 0
    # versions over time: increasing data time, the first is the alert's
    ts = [v.t_after_origin_s for v in rep.versions]
    assert ts == sorted(ts) and ts[0] == pytest.approx(first.t_after_origin_s)
    assert rep.blind_zone_radius_km > 0
    assert rep.compute["rounds"] > 50 and rep.compute["p50_s"] is not None


def test_scenario_replay_warning_times_are_true_s_minus_alert(m55, demo):
    from tianshan.eew.targets import TargetPredictor

    rep = m55
    assert sum(rep.target_outcomes.values()) == len(rep.targets) > 50
    alerted = [t for t in rep.targets if t.alerted]
    assert alerted and all(t.warning_time_s == pytest.approx(t.s_after_origin_s - t.alert_after_origin_s)
                           for t in alerted)
    # the true S arrival: the 1-D model from the true hypocentre
    p = TargetPredictor([], demo.velocity_model)
    t0 = min(alerted, key=lambda t: t.distance_km)
    assert t0.s_after_origin_s == pytest.approx(float(p.s_travel_time(10_000.0, t0.distance_km * 1000)), abs=0.05)
    # inside the blind zone the warning is negative ("late"), outside positive
    for t in alerted:
        if t.outcome == "late":
            assert t.warning_time_s < 0 and t.distance_km <= rep.blind_zone_radius_km + 1.0
        if t.distance_km > rep.blind_zone_radius_km + 1.0:
            assert t.warning_time_s > 0
    assert all(t.outcome in ("true", "late", "false", "missed", "correct_none") for t in rep.targets)
    doc = json.loads(json.dumps(rep.to_dict()))
    assert doc["truth"]["magnitude"] == 5.5 and len(doc["targets"]) == len(rep.targets)


def test_noise_with_spikes_gaps_and_tears_raises_no_alert(demo):
    """Four minutes of noise at 12 stations (broadband + strong motion) with data faults: no event."""
    from tianshan.eew.locate import haversine_m
    from tianshan.eew.replay import replay_stream
    from tianshan.eew.targets import targets_from_places
    from tianshan.sim.faults import FaultPlan
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    stations = sorted(demo.stations, key=lambda s: float(haversine_m(41.8, 85.3, s.latitude_deg,
                                                                         s.longitude_deg)))[:12]
    far = Source(20.0, 120.0, 10_000.0, 2.0, ORIGIN)   # beyond the simulator's signal distance: noise only
    plan = FaultPlan(gap_probability=0.3, spike_probability=0.9, spikes_per_trace=(3, 8),
                     spike_amplitude=(50.0, 2000.0), clip_probability=0.0, tear_probability=0.2,
                     dead_probability=0.05)
    res = simulate_scenario(far, stations, demo.velocity_model, start=ORIGIN, duration_s=240.0, rng=11,
                            faults=plan, noise_level=(0.2, 0.9))
    assert any(f.kind.value == "spike" for f in res.faults) and any(f.kind.value == "gap" for f in res.faults)
    rep = replay_stream(res.stream, res.stations, res.model, targets=targets_from_places(demo.places))
    assert rep.alerts == () and rep.counters["events"] == 0
    st = rep.counters["stations"]
    assert st["gaps"] > 0 and st["rejected_spike"] + st["rejected_step"] > 0


def test_cli_scenario_json_has_exactly_the_issue_keys(capsys):
    from tianshan.cli.main import main

    rc = main(["eew", "replay", "--scenario", "42.05 86.35 10 5.0", "--max-station-km", "150", "--json",
               "--origin", "2024-05-01T03:00:00Z"])
    out = capsys.readouterr().out
    assert rc == 0
    doc = json.loads(out)
    assert list(doc) == KEYS and doc["alerts"] and list(doc["alerts"][0]) == ALERT_KEYS
    assert doc["first_alert_s"] > 0 and abs(doc["epicentral_error_km_final"]) < 10


@pytest.mark.parametrize("argv, text", [
    (["eew", "replay"], "exactly one of"),
    (["eew", "replay", "--scenario", "1 2 3 4", "--openeew", "x"], "exactly one of"),
    (["eew", "replay", "--openeew", "x"], "--devices"),
    (["eew", "replay", "--scenario", "42 86 10"], "lat lon depth_km mw"),
    (["eew", "replay", "--scenario", "42 86 10 5", "--truth", MEXICO_TRUTH], "--truth is only"),
    (["eew", "replay", "--scenario", "42 86 10 5", "--region", "/nonexistent/region"], "does not exist"),
    (["eew", "replay", "--openeew", "/nonexistent/day", "--devices", "/nonexistent/d.json"], "not a folder"),
])
def test_cli_bad_input_exits_2_with_one_line(argv, text, capsys):
    from tianshan.cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tianshan: error:") and text in err and "\n" not in err


def test_mexico_m72_openeew_replay(shared_data, capsys, tmp_path):
    from tianshan.cli.main import main

    root = shared_data / "eew" / "openeew_mexico"
    day = root / "2018_2_16"
    if not day.is_dir():
        pytest.skip(f"{day} not found")
    report = tmp_path / "report.json"
    rc = main(["eew", "replay", "--openeew", str(day), "--devices", str(root / "device_locations.json"),
               "--truth", MEXICO_TRUTH, "--json", "--report", str(report)])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == KEYS
    assert 20.0 <= doc["first_alert_s"] <= 35.0          # device 006 at 66 km triggers at + 8.7 s
    mags = [a["magnitude"] for a in doc["alerts"]]
    assert all(6.0 <= m <= 7.0 for m in mags)             # saturated below 7.2, never wildly off
    assert -1.2 <= doc["magnitude_error_first"] <= 0.0 and -1.2 <= doc["magnitude_error_final"] <= 0.0
    assert doc["epicentral_error_km_final"] <= 50.0
    assert all(a["n_stations"] >= 4 for a in doc["alerts"])
    full = json.loads(report.read_text())
    assert full["false_alert_events"] == 0 and full["alerts"][0]["msg_type"] == "alert"
    # targets are the devices, their actual intensity from their own records: 006 (66 km) shook at VII
    by_name = {t["name"]: t for t in full["targets"]}
    assert 6.0 <= by_name["OE.006"]["actual_intensity"] <= 8.0 and by_name["OE.006"]["outcome"] == "late"
    assert by_name["OE.000"]["warning_time_s"] > 50.0     # Mexico City, 367 km
    assert full["versions"][-1]["magnitude_lower_bound"] is True
