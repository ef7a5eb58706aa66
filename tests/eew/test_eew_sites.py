"""Declaration counts sites, not stations: array elements and co-located stations are one site.

The records are synthetic: noise plus a 6 Hz P wavelet arriving at each station at the origin
time plus the 1-D travel time of the demo region's model, so every station triggers on time;
what is tested is only how the engine counts them.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station
from tianshan.eew.config import EEWConfig, EventConfig
from tianshan.eew.event import EEWEngine, station_sites
from tianshan.eew.locate import EARTH_RADIUS_M, haversine_m

T0 = datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc)
EPI = (41.80, 85.30, 10_000.0)
RATE = 100.0


def _station(code: str, lat: float, lon: float, location: str = "00", bands: str = "HH") -> Station:
    from tianshan.regions.demo import BROADBAND_GAIN

    chans = tuple(Channel(StreamID("XJ", code, loc, band + "Z"), lat, lon, 0.0, RATE, dip_deg=-90.0,
                          kind=InstrumentKind.BROADBAND, gain=BROADBAND_GAIN)
                  for loc in location.split(",") for band in bands.split(","))
    return Station("XJ", code, lat, lon, 0.0, channels=chans)


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    return (lat + math.degrees(north_m / EARTH_RADIUS_M),
            lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat)))))


def _array(code: str, lat: float, lon: float) -> list[Station]:
    """Seven elements: a centre and a ring of 0.8 km radius (nearest-neighbour spacing 0.8 km)."""
    out = [_station(f"{code}0", lat, lon)]
    for k in range(6):
        a = math.radians(60 * k)
        out.append(_station(f"{code}{k + 1}", *_offset(lat, lon, 800 * math.sin(a), 800 * math.cos(a))))
    return out


def _run(stations: list[Station], config: EEWConfig | None = None, seconds: int = 50) -> EEWEngine:
    """1-s packets of every channel, interleaved, ``update()`` after each second."""
    from tianshan.regions.demo import demo_region

    model = demo_region().velocity_model
    eng = EEWEngine(stations, model, config)
    rng = np.random.default_rng(3)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    t0_ns = int(T0.timestamp()) * 1_000_000_000
    records = []
    for st in stations:
        d = float(haversine_m(EPI[0], EPI[1], st.latitude_deg, st.longitude_deg))
        tp = 10.0 + float(eng.locator.travel_time("P", EPI[2], d))
        tau = np.clip(t - tp, 0.0, None)
        vel = 2e-5 * (t >= tp) * (1 - np.exp(-tau / 0.05)) * np.exp(-tau / 4.0) * np.sin(2 * np.pi * 6.0 * tau)
        for ch in st.channels:
            records.append((ch.stream_id, np.rint((vel + rng.normal(0.0, 1e-8, n)) * ch.gain.value)))
    for k in range(seconds):
        i0 = int(k * RATE)
        for sid, counts in records:
            eng.process(sid, t0_ns + i0 * 10_000_000, RATE, counts[i0:i0 + int(RATE)])
        eng.update()
    return eng


def test_station_sites_single_linkage():
    arr = _array("AR", 41.95, 85.30)
    far = [_station("B", 41.50, 85.00), _station("C", 42.10, 85.70)]
    sites = station_sites(arr + far, 1_500.0)
    assert len({sites[s.station_id] for s in arr}) == 1          # ring of 0.8 km: one site
    assert len(set(sites.values())) == 3
    assert len(set(station_sites(arr + far, 0.0).values())) == 9  # no linking: every station alone
    # a chain links transitively (A-B 1.2 km, B-C 1.2 km, A-C 2.4 km)
    chain = [_station("X1", 42.0, 85.0), _station("X2", *_offset(42.0, 85.0, 1200, 0)),
             _station("X3", *_offset(42.0, 85.0, 2400, 0))]
    assert len(set(station_sites(chain, 1_500.0).values())) == 1
    assert len(set(station_sites(chain, 1_000.0).values())) == 3


def test_an_array_and_two_stations_do_not_declare_an_event():
    stations = _array("AR", 41.95, 85.30) + [_station("B", 41.50, 85.00), _station("C", 42.10, 85.70)]
    eng = _run(stations)
    triggered = {t.station_id for t in eng.triggers}
    assert len(triggered) == 9, triggered                           # every element triggered on the P
    assert eng.counters.declarations == 0 and not eng.history       # 3 sites < 4
    # the defect this guards against: counted as stations, the same triggers declare an event
    old = _run(stations, EEWConfig(event=EventConfig(site_separation_m=0.0)))
    assert old.counters.declarations == 1 and old.history[0].n_stations >= 4


def test_four_sites_declare_and_versions_report_sites():
    stations = (_array("AR", 41.95, 85.30)
                + [_station("B", 41.50, 85.00), _station("C", 42.10, 85.70), _station("D", 41.55, 85.75)])
    eng = _run(stations)
    assert eng.counters.declarations == 1
    ev = eng.history[-1]
    assert ev.n_sites == 4 and ev.n_stations == 10
    assert float(haversine_m(ev.latitude_deg, ev.longitude_deg, EPI[0], EPI[1])) < 10_000.0


def test_several_location_codes_and_sensors_of_one_station_are_one_site():
    # four stations, each with two location codes and two bands: 16 sensors, 4 stations, 4 sites
    codes = [("B", 41.50, 85.00), ("C", 42.10, 85.70), ("D", 41.55, 85.75), ("E", 41.95, 85.30)]
    stations = [_station(c, la, lo, location="00,10", bands="HH,BH") for c, la, lo in codes]
    eng = _run(stations[:3])
    assert len(eng.triggers) >= 6 and eng.counters.declarations == 0   # 3 stations, many sensors
    eng = _run(stations)
    assert eng.counters.declarations == 1 and eng.history[-1].n_sites == 4


def test_site_separation_is_validated():
    from tianshan.core.errors import InputError

    with pytest.raises(InputError, match="site_separation_m"):
        EventConfig(site_separation_m=-1.0)
    assert replace(EventConfig(), site_separation_m=0.0).site_separation_m == 0.0
