"""No false alert on noise with spikes, bursts, steps, gaps, clock jumps and a teleseismic P.

A fast version of ``benchmarks/bench_eew_noise24h.py`` (24 h of the XJ layout): 20 minutes at the
30 demo-region stations nearest the network centre (vertical channels), fault rates raised so
that every kind occurs, and one mb 7 teleseism at 35 deg (amplitude x 10, a stress test)
whose P crosses the network as a plane wave at ~13 km/s (:mod:`tianshan.eew.soak`). The same
engine and policy as ``tianshan eew replay`` must issue no alert.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

T0 = datetime(2024, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def report():
    from tianshan.eew.locate import haversine_m
    from tianshan.eew.soak import soak
    from tianshan.eew.targets import targets_from_places
    from tianshan.regions.demo import demo_region

    region = demo_region()
    lat0 = sum(s.latitude_deg for s in region.stations) / len(region.stations)
    lon0 = sum(s.longitude_deg for s in region.stations) / len(region.stations)
    stations = sorted(region.stations, key=lambda s: float(haversine_m(lat0, lon0, s.latitude_deg,
                                                                       s.longitude_deg)))[:30]
    rates = dict(spikes_per_channel_day=300.0, simultaneous_per_day=400.0, steps_per_channel_day=30.0,
                 gaps_per_channel_day=60.0, clock_jumps_per_channel_day=60.0)
    return soak(stations, region.velocity_model, start=T0, hours=1 / 3, seed=4, n_teleseisms=1, components="Z",
                amplitude_factor=10.0, teleseism_mb=(7.0, 7.0), teleseism_distance_deg=(35.0, 35.0),
                targets=targets_from_places(region.places), faults_geo=region.faults, fault_rates=rates)


def test_no_alert(report):
    assert report.alerts == 0, report.alert_messages
    assert report.counters["policy"]["alerts"] == 0


def test_every_fault_kind_was_injected_and_handled(report):
    assert {"spike", "spike_simultaneous", "step", "gap", "clock_jump"} <= set(report.faults)
    st = report.counters["stations"]
    assert st["gaps"] > 0                                    # gaps and forward clock jumps restart channels
    assert st["rejected_spike"] + st["rejected_step"] > 0    # glitches reached the trigger and were refused


def test_the_teleseism_reached_the_trigger(report):
    tele = report.teleseisms[0]
    assert tele["mb"] == 7.0 and tele["distance_deg"] == 35.0
    assert tele["triggers"] >= 4, report.teleseisms          # the engine saw it: the policy had to refuse it
