"""The event screen (:mod:`tianshan.events.screen`): quality gates and phases of a larger event.

Synthetic events on the built-in demo region's stations and the Xinjiang 1-D model: picks at
the model's own P and S times (so the screen's travel times are the truth), origins with the
quality figures a locator reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.event import Event
from tianshan.core.origin import ErrorEllipse, Origin
from tianshan.core.pick import Pick
from tianshan.events.screen import (ScreenConfig, explained_fraction, p_and_s_stations, quality_failures,
                                    screen_events)

T0 = datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def region():
    from tianshan.regions.demo import demo_region

    return demo_region()


@pytest.fixture(scope="module")
def solver(region):
    from tianshan.traveltime.layered import LayeredTravelTime

    return LayeredTravelTime(region.velocity_model, 6_371_000.0)


def _dist_m(lat, lon, st):
    from tianshan.regions.model import haversine_m

    return haversine_m(lat, lon, st.latitude_deg, st.longitude_deg)


def _stream(st, comp):
    ch = next((c for c in st.channels if str(c.stream_id).endswith(comp)), st.channels[0])
    return ch.stream_id


def _origin(t, lat, lon, depth_m, semi_m=2_000.0, rms=0.2):
    return Origin(time=t, latitude_deg=lat, longitude_deg=lon, depth_m=depth_m, rms_s=rms,
                  ellipse=ErrorEllipse(semi_m, semi_m / 2, 30.0), method="test")


def _event(region, solver, t, lat, lon, depth_m, max_km, s_km=None, **origin_kw):
    """A located event with P (and S within ``s_km``) at the model times on stations within ``max_km``."""
    picks = []
    s_km = max_km if s_km is None else s_km
    for st in region.stations:
        d = _dist_m(lat, lon, st)
        if d > max_km * 1000:
            continue
        tp = float(solver.first_arrival("P", depth_m, [d])[0][0])
        picks.append(Pick(stream_id=_stream(st, "Z"), time=t + timedelta(seconds=tp), phase="P"))
        if d <= s_km * 1000:
            ts = float(solver.first_arrival("S", depth_m, [d])[0][0])
            picks.append(Pick(stream_id=_stream(st, "E"), time=t + timedelta(seconds=ts), phase="S"))
    o = _origin(t, lat, lon, depth_m, **origin_kw)
    return Event(picks=tuple(picks), origins=(o,), preferred_origin_id=o.id)


def _coda_event(region, solver, big: Event, lag_fractions, max_km):
    """A false event made of picks inside ``big``'s wave train: at each station within ``max_km``,
    a "P" a fraction of the way from its P to its S (P coda, data steps) and an "S" 1 s after its S."""
    o = big.preferred_origin
    picks = []
    for st in region.stations:
        d = _dist_m(o.latitude_deg, o.longitude_deg, st)
        if d > max_km * 1000:
            continue
        tp = float(solver.first_arrival("P", o.depth_m, [d])[0][0])
        ts = float(solver.first_arrival("S", o.depth_m, [d])[0][0])
        for f in lag_fractions:
            picks.append(Pick(stream_id=_stream(st, "Z"), time=o.time + timedelta(seconds=tp + f * (ts - tp)),
                              phase="P"))
        picks.append(Pick(stream_id=_stream(st, "E"), time=o.time + timedelta(seconds=ts + 1.0), phase="S"))
    first = min(p.time for p in picks)
    fo = _origin(first - timedelta(seconds=5), o.latitude_deg + 0.7, o.longitude_deg - 0.9, 15_000.0)
    return Event(picks=tuple(picks), origins=(fo,), preferred_origin_id=fo.id)


def test_a_strong_event_and_its_coda_give_one_event(region, solver):
    big = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=600)
    coda = _coda_event(region, solver, big, (0.4,), max_km=300)
    assert len({p.stream_id.station_id for p in coda.picks}) >= 4
    verdicts = screen_events([big, coda], region.stations, region.velocity_model)
    assert verdicts[0].accepted and verdicts[0].event is big
    assert not verdicts[1].accepted
    assert verdicts[1].reason == "explained" and verdicts[1].explained_by == big.id
    assert verdicts[1].explained_fraction == pytest.approx(1.0)


def test_the_order_of_the_events_does_not_matter(region, solver):
    """The split-off may come first in time (the demo's false event 36 s before the real one)."""
    big = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=600)
    early = _coda_event(region, solver, big, (0.0, 0.3), max_km=400)
    verdicts = screen_events([early, big], region.stations, region.velocity_model)
    assert [v.accepted for v in verdicts] == [False, True]


def test_two_separate_events_are_both_kept(region, solver):
    """A second, smaller event 200 s later and 400 km away: its picks come after the first event's
    wave train has passed (or beyond its reach)."""
    a = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=300)
    b = _event(region, solver, T0 + timedelta(seconds=200), 43.6, 89.0, 8_000.0, max_km=200, s_km=200)
    frac, _ = explained_fraction(b, [a], region.stations, region.velocity_model)
    assert frac < 0.6
    verdicts = screen_events([a, b], region.stations, region.velocity_model)
    assert all(v.accepted for v in verdicts)


def test_an_event_just_before_a_larger_one_is_kept(region, solver):
    """A small event 20 s before a large one nearby: its picks precede the large event's P."""
    big = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=600)
    small = _event(region, solver, T0 - timedelta(seconds=20), 41.9, 86.0, 10_000.0, max_km=120)
    assert len(small.picks) >= 6
    verdicts = screen_events([big, small], region.stations, region.velocity_model)
    assert all(v.accepted for v in verdicts)


def test_lg_and_coda_windows_extend_the_wave_train(region, solver):
    big = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=600)
    late = _coda_event(region, solver, big, (), max_km=400)  # only the S-side picks, 1 s after S ...
    late = Event(picks=tuple(Pick(stream_id=p.stream_id, time=p.time + timedelta(seconds=40), phase="S")
                             for p in late.picks), origins=late.origins, preferred_origin_id=late.preferred_origin_id)
    assert explained_fraction(late, [big], region.stations, region.velocity_model)[0] == 0.0
    cfg = ScreenConfig(lg_min_velocity_m_s=3000.0, coda_factor=1.0)  # ... 41 s after S: in the coda
    assert explained_fraction(late, [big], region.stations, region.velocity_model, cfg)[0] > 0.5


def test_explained_check_can_be_switched_off(region, solver):
    big = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=600)
    coda = _coda_event(region, solver, big, (0.4,), max_km=300)
    verdicts = screen_events([big, coda], region.stations, region.velocity_model, ScreenConfig(explain=False))
    assert all(v.accepted for v in verdicts)


def test_accepted_before_events_explain_new_ones(region, solver):
    big = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=600)
    coda = _coda_event(region, solver, big, (0.4,), max_km=300)
    (v,) = screen_events([coda], region.stations, region.velocity_model, accepted_before=[big])
    assert not v.accepted and v.explained_by == big.id


@pytest.mark.parametrize("kw, gate", [({"semi_m": 300_000.0}, "ellipse"), ({"rms": 3.0}, "rms"),
                                      ({"depth_m": 400_000.0}, "depth")])
def test_quality_gates(region, solver, kw, gate):
    depth = kw.pop("depth_m", 12_000.0)
    ev = _event(region, solver, T0, 41.8, 85.9, depth, max_km=300, **kw)
    assert quality_failures(ev, ScreenConfig()) == [gate]
    (v,) = screen_events([ev], region.stations, region.velocity_model)
    assert not v.accepted and v.reason == f"quality:{gate}"
    off = {"ellipse": "max_semi_major_m", "rms": "max_rms_s", "depth": "max_depth_m"}[gate]
    assert quality_failures(ev, ScreenConfig(**{off: None})) == []


def test_p_only_events_fail_the_p_and_s_gate(region, solver):
    """Picks on a data step come all at once, P only (the simulated archive's record seams)."""
    ev = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=300, s_km=30)
    assert p_and_s_stations(ev) < 2
    assert "p_and_s_stations" in quality_failures(ev, ScreenConfig())
    assert quality_failures(ev, ScreenConfig(min_p_and_s_stations=0)) == []
    good = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=300)
    assert p_and_s_stations(good) >= 2 and quality_failures(good, ScreenConfig()) == []


@pytest.mark.parametrize("kw", [{"max_rms_s": -1.0}, {"max_explained_fraction": 0.0},
                                {"lg_min_velocity_m_s": 0.0}, {"tolerance_s": float("nan")},
                                {"min_p_and_s_stations": True}])
def test_bad_settings_are_input_errors(kw):
    with pytest.raises(InputError):
        ScreenConfig(**kw)


def test_no_larger_event_explains_nothing(region, solver):
    ev = _event(region, solver, T0, 41.8, 85.9, 12_000.0, max_km=300)
    assert explained_fraction(ev, [], region.stations, region.velocity_model) == (0.0, None)
    assert np.isfinite(explained_fraction(ev, [ev], region.stations, region.velocity_model)[0])
