"""EEW alert policy: thresholds per target, alert/update/cancel with sequence numbers, teleseism and
single-station-glitch suppression, network support; and a synthetic teleseismic plane wave fed
through the real engine, which must not raise an alert."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.eew.event import EEWEvent
from tianshan.eew.policy import (AlertPolicy, PolicyConfig, Support, corroborated, count_sites, plane_wave_fit,
                                 teleseism_test)
from tianshan.eew.replay import generic_crust
from tianshan.eew.targets import OnsiteObservation, Target, TargetPredictor

T0 = datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc)
LAT, LON = 42.0, 86.0
KM = 1.0 / 111.19


def _at(north_km: float, east_km: float = 0.0) -> tuple[float, float]:
    return LAT + north_km * KM, LON + east_km * KM / math.cos(math.radians(LAT))


def _event(magnitude=5.5, version=1, n=5, n_mag=3, lat=LAT, lon=LON, dt_s=8.0, eid="eewtest0001") -> EEWEvent:
    return EEWEvent(event_id=eid, version=version, origin_time=T0, latitude_deg=lat, longitude_deg=lon,
                    depth_m=10_000.0, horizontal_uncertainty_m=2_000.0, depth_uncertainty_m=5_000.0,
                    origin_time_uncertainty_s=0.3, rms_s=0.2, magnitude=magnitude, magnitude_uncertainty=0.2,
                    magnitude_pd=magnitude, magnitude_taup=None, magnitude_lower_bound=False, n_stations=n,
                    n_magnitude_stations=n_mag, station_ids=tuple(f"XX.S{i}" for i in range(n)),
                    first_trigger_time=T0 + timedelta(seconds=3), data_time=T0 + timedelta(seconds=dt_s),
                    wall_time=T0 + timedelta(seconds=dt_s), declared_data_time=T0 + timedelta(seconds=8))


@pytest.fixture(scope="module")
def predictor():
    targets = [Target("Near", *_at(30)), Target("Mid", *_at(0, 90)), Target("Far", *_at(-400))]
    return TargetPredictor(targets, generic_crust())


def _local_onsets(n=5):
    """Onsets of a local event at (LAT, LON): stations on a ring of 20-80 km, 6 km/s."""
    out = []
    for i in range(n):
        d = 20.0 + 15.0 * i
        az = math.radians(72.0 * i)
        lat, lon = _at(d * math.cos(az), d * math.sin(az))
        out.append((lat, lon, T0.timestamp() + math.hypot(d, 10.0) / 6.0))
    return out


def _plane_onsets(v_km_s=15.0, n=6, baz_deg=300.0):
    """A plane wave crossing stations spread over ~150 km from back azimuth ``baz_deg``."""
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        x, y = rng.uniform(-75, 75, 2)
        s = -np.array([math.sin(math.radians(baz_deg)), math.cos(math.radians(baz_deg))]) / v_km_s
        lat, lon = _at(y, x)
        out.append((lat, lon, T0.timestamp() + 600.0 + float(s @ [x, y])))
    return out


def test_config_is_validated():
    with pytest.raises(InputError):
        PolicyConfig(alert_degree=0)
    with pytest.raises(InputError):
        PolicyConfig(update_distance_m=-5.0)
    with pytest.raises(InputError):
        PolicyConfig(teleseism_max_velocity_m_s=5_000.0)


def test_alert_then_update_then_nothing_with_sequences_and_references(predictor):
    from tianshan.products.alerts import message_from_json
    from tianshan.products.alerts.cap import to_cap_xml

    pol = AlertPolicy(predictor)
    d1 = pol.evaluate(_event(5.5), onsets=_local_onsets(), tau_c_s=[0.4] * 5)
    assert d1.action == "alert" and d1.message.sequence == 1 and d1.message.msg_type.value == "alert"
    names = [t.place for t in d1.message.alert.targets]
    assert "Near" in names and "Far" not in names          # Far: 400 km, below IV
    assert set(d1.alerted) == set(names)
    near = next(p for p in d1.predictions if p.target.name == "Near")
    assert near.degree >= 4 and near.warning_time_s == pytest.approx(
        float(predictor.s_travel_time(10_000.0, near.distance_m)) - 8.0, abs=0.05)
    # the message round-trips through the JSON schema and renders as CAP 1.2
    back = message_from_json(d1.message.to_json())
    assert back.sequence == 1 and back.alert.targets[0].place == d1.message.alert.targets[0].place
    assert b"<alert" in to_cap_xml(d1.message)
    assert d1.message.alert.test is False and "地震预警" in d1.message.alert.message_zh
    # the same estimate a second later: no message
    d2 = pol.evaluate(_event(5.55, version=2, dt_s=9.0), onsets=_local_onsets(), tau_c_s=[0.4] * 5)
    assert d2.action == "none" and d2.message is None
    # the magnitude grows by 0.4: update, sequence 2, referencing the alert
    d3 = pol.evaluate(_event(5.95, version=3, dt_s=10.0), onsets=_local_onsets(), tau_c_s=[0.4] * 5)
    assert d3.action == "update" and d3.message.sequence == 2
    assert [r.identifier for r in d3.message.references] == [d1.message.identifier]
    assert pol.counters.alerts == 1 and pol.counters.updates == 1 and pol.counters.unchanged == 1


def test_thresholds_magnitude_floor_and_station_counts(predictor):
    pol = AlertPolicy(predictor)
    d = pol.evaluate(_event(4.2), onsets=_local_onsets())
    assert d.action == "none" and "magnitude" in d.reason
    d = pol.evaluate(_event(5.5, n_mag=1, eid="eewtest0002"), onsets=_local_onsets())
    assert d.action == "none" and pol.counters.too_few_stations == 1
    d = pol.evaluate(replace(_event(5.5, eid="eewtest0003"), magnitude=None))
    assert d.action == "none"
    # a higher target threshold: M 5.5 reaches no target at VIII
    strict = AlertPolicy(predictor, PolicyConfig(alert_degree=8))
    assert strict.evaluate(_event(5.5), onsets=_local_onsets()).action == "none"
    assert strict.counters.below_threshold == 1


def test_array_elements_count_as_one_site(predictor):
    """Ten elements within 2 km (as the XJ HTTZ array at Hotan) are one site: no alert from them alone."""
    array = [(*_at(0.15 * math.cos(k), 0.15 * k), T0.timestamp() + 10.0 + 0.01 * k) for k in range(10)]
    assert count_sites(array, 5_000.0) == 1
    assert count_sites(array + _local_onsets(3), 5_000.0) == 4
    pol = AlertPolicy(predictor)
    d = pol.evaluate(_event(6.0, n=10), onsets=array, tau_c_s=[0.5] * 10)
    assert d.action == "none" and "1 sites" in d.reason and pol.counters.too_few_stations == 1
    assert AlertPolicy(predictor).evaluate(_event(6.0, n=13), onsets=array + _local_onsets(3)).action == "alert"


def test_plane_wave_fit_recovers_speed_and_direction():
    vel, baz, rms, aperture = plane_wave_fit(_plane_onsets(15.0, baz_deg=300.0))
    assert vel == pytest.approx(15_000.0, rel=0.01) and baz == pytest.approx(300.0, abs=0.5)
    assert rms < 0.01 and aperture > 80_000.0
    with pytest.raises(InputError):
        plane_wave_fit(_plane_onsets()[:2])


def test_teleseism_needs_fast_planar_moveout_and_long_periods():
    assert teleseism_test(_plane_onsets(15.0), [2.0] * 6).teleseism
    assert not teleseism_test(_plane_onsets(15.0), [0.4] * 6).teleseism          # short periods: local
    assert not teleseism_test(_plane_onsets(7.0), [2.0] * 6).teleseism           # Pn-like speed: regional
    assert not teleseism_test(_local_onsets(), [2.0] * 5).teleseism              # local cone, large event
    assert not teleseism_test(_plane_onsets(15.0)[:3], [2.0] * 3).teleseism      # too few stations
    assert not teleseism_test(_plane_onsets(15.0), [None] * 6).teleseism         # no period measured


def test_teleseism_cancels_an_alerted_event_and_silences_it(predictor):
    pol = AlertPolicy(predictor)
    d1 = pol.evaluate(_event(5.5), onsets=_local_onsets(), tau_c_s=[0.4] * 5)
    assert d1.action == "alert"
    d2 = pol.evaluate(_event(5.6, version=2, n=6, dt_s=12.0), onsets=_plane_onsets(15.0), tau_c_s=[2.0] * 6)
    assert d2.action == "cancel" and d2.message.sequence == 2 and d2.message.alert.cancelled
    assert d2.message.msg_type.value == "cancel" and d2.teleseism.teleseism
    d3 = pol.evaluate(_event(6.5, version=3, n=7, dt_s=14.0), onsets=_local_onsets(), tau_c_s=[0.4] * 5)
    assert d3.action == "none" and pol.counters.after_cancel == 1
    # a teleseism never alerted in the first place makes no message at all
    pol2 = AlertPolicy(predictor)
    d = pol2.evaluate(_event(5.5), onsets=_plane_onsets(15.0), tau_c_s=[2.0] * 6)
    assert d.action == "none" and d.message is None and pol2.counters.teleseism == 1


def test_unsupported_event_is_not_alerted_and_an_alerted_one_is_cancelled(predictor):
    pol = AlertPolicy(predictor)
    d = pol.evaluate(_event(5.5), onsets=_local_onsets(), support=Support(expected=6, triggered=1))
    assert d.action == "none" and "unsupported" in d.reason
    pol2 = AlertPolicy(predictor)
    assert pol2.evaluate(_event(5.5), support=Support(6, 5)).action == "alert"
    d = pol2.evaluate(_event(5.5, version=2, dt_s=12.0), support=Support(8, 2))
    assert d.action == "cancel" and pol2.counters.cancels == 1
    # too few expected stations to judge: no veto
    assert AlertPolicy(predictor).evaluate(_event(5.5), support=Support(2, 0)).action == "alert"


def test_single_station_glitch_cannot_raise_a_plum_alert(predictor):
    # M 4.6 at 400 km south of "Far"... the event is far from every target: no attenuation alert
    lat, lon = _at(-700)
    ev = _event(4.6, lat=lat, lon=lon)
    glitch = OnsiteObservation("XX.G1", *_at(-395), 8.0, 0.8, 9.5, T0)   # next to "Far", alone
    pol = AlertPolicy(predictor)
    d = pol.evaluate(ev, observations=[glitch])
    assert d.action == "none" and d.onsite_dropped == ("XX.G1",) and pol.counters.glitch_dropped == 1
    # a second strong reading 20 km away corroborates it: the PLUM term alerts "Far"
    friend = OnsiteObservation("XX.G2", *_at(-415), 6.0, 0.6, 9.0, T0)
    pol2 = AlertPolicy(predictor)
    d2 = pol2.evaluate(ev, observations=[glitch, friend])
    assert d2.action == "alert" and "Far" in d2.alerted
    far = next(p for p in d2.predictions if p.target.name == "Far")
    assert far.source == "onsite:XX.G1" and far.intensity == pytest.approx(9.5)


def test_corroboration_rules():
    a = OnsiteObservation("A", *_at(0), 1.0, 0.1, 8.0, T0)
    b = OnsiteObservation("B", *_at(50), 1.0, 0.1, 6.5, T0)     # within 60 km, 1.5 below: corroborates A
    c = OnsiteObservation("C", *_at(200), 1.0, 0.1, 8.0, T0)    # alone
    kept, dropped = corroborated([a, b, c], {"A": 4.0, "B": 4.0, "C": 4.0})
    assert [o.station_id for o in kept] == ["A", "B"] and [o.station_id for o in dropped] == ["C"]
    kept, dropped = corroborated([c], {"C": 7.0})                 # consistent with the event's prediction
    assert kept == [c] and dropped == []


def _plane_wave_traces(stations, t_start, duration_s, v_m_s, baz_deg, rng):
    """Broadband counts: noise plus a long-period P wavelet crossing the stations as a plane wave."""
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.eew.locate import EARTH_RADIUS_M

    lat0 = float(np.mean([s.latitude_deg for s in stations]))
    lon0 = float(np.mean([s.longitude_deg for s in stations]))
    sx, sy = (-math.sin(math.radians(baz_deg)) / v_m_s, -math.cos(math.radians(baz_deg)) / v_m_s)
    fs = 100.0
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    st = Stream()
    for s in stations:
        x = math.radians(s.longitude_deg - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        y = math.radians(s.latitude_deg - lat0) * EARTH_RADIUS_M
        ta = 30.0 + sx * x + sy * y
        tau = np.clip(t - ta, 0.0, None)
        env = (1 - np.exp(-tau / 0.3)) * np.exp(-tau / 15.0) * (t >= ta)
        vel = 2e-4 * env * (np.sin(2 * np.pi * 0.4 * tau) + 0.3 * np.sin(2 * np.pi * 1.5 * tau + 1.0))
        for ch in s.channels:
            noise = rng.normal(0.0, 2e-8, n)
            data = (vel if ch.stream_id.channel.endswith("Z") else 0.3 * vel) + noise
            st.append(Trace((data * ch.gain.value).astype(np.int32),
                            header={"network": ch.stream_id.network, "station": ch.stream_id.station,
                                    "location": ch.stream_id.location, "channel": ch.stream_id.channel,
                                    "sampling_rate": fs, "starttime": UTCDateTime(t_start)}))
    return st


def test_teleseismic_plane_wave_through_the_engine_raises_no_alert():
    """Broadband stations of the demo region hit by a long-period plane wave at 14 km/s: the engine
    declares an event (consistent triggers, a location at the grid edge), the policy must not alert."""
    from tianshan.eew.locate import haversine_m
    from tianshan.eew.replay import replay_stream
    from tianshan.eew.targets import targets_from_places
    from tianshan.regions.demo import demo_region

    region = demo_region()
    near = sorted(region.stations, key=lambda s: float(haversine_m(41.8, 85.3, s.latitude_deg, s.longitude_deg)))[:10]
    stations = [replace(s, channels=tuple(c for c in s.channels if c.stream_id.channel.startswith("HH")))
                for s in near]
    st = _plane_wave_traces(stations, T0, 70.0, 14_000.0, 250.0, np.random.default_rng(7))
    decisions = []
    rep = replay_stream(st, stations, region.velocity_model, targets=targets_from_places(region.places),
                        on_decision=decisions.append)
    assert rep.counters["engine"]["triggers"] >= 4
    assert not rep.alerts and all(d.message is None for d in decisions)
    assert decisions, "the engine should declare the plane wave (consistent triggers)"
    assert rep.counters["policy"]["teleseism"] == len(decisions), [d.reason for d in decisions]
    # the same records with the period test switched off: the event would have been alerted
    blind = replay_stream(st, stations, region.velocity_model, targets=targets_from_places(region.places),
                          policy_config=PolicyConfig(teleseism_min_tau_c_s=100.0))
    assert blind.alerts and blind.alerts[0].msg_type == "alert"
