"""Evolutionary location with not-yet-arrived stations (Satriano et al. 2008) on the demo region's model."""

from __future__ import annotations

import pytest

from tianshan.eew.locate import Arrival, EvolutionaryLocator, Waiting, haversine_m
from tianshan.regions.demo import demo_region

LAT, LON, DEPTH = 42.05, 86.35, 10_000.0
OT = 1_714_532_400.0  # 2024-05-01T03:00:00Z


@pytest.fixture(scope="module")
def setup():
    region = demo_region()
    stations = sorted(region.stations, key=lambda s: float(haversine_m(s.latitude_deg, s.longitude_deg, LAT, LON)))[:12]
    loc = EvolutionaryLocator(region.velocity_model)
    times = {}
    for s in stations:
        d = float(haversine_m(LAT, LON, s.latitude_deg, s.longitude_deg))
        times[s.station_id] = OT + float(loc.travel_time("P", DEPTH, d))
    return stations, loc, times


def _arr(stations, times, n, shift=None):
    shift = shift or {}
    return [Arrival(s.station_id, s.latitude_deg, s.longitude_deg, times[s.station_id] + shift.get(s.station_id, 0.0))
            for s in stations[:n]]


def _wait(stations, n, until):
    return [Waiting(s.station_id, s.latitude_deg, s.longitude_deg, until) for s in stations[n:]]


def test_four_stations_locate_within_two_km(setup):
    stations, loc, times = setup
    g = loc.grid(stations[0].latitude_deg, stations[0].longitude_deg)
    h = loc.locate(g, _arr(stations, times, 4), _wait(stations, 4, times[stations[3].station_id] + 0.5))
    assert float(haversine_m(LAT, LON, h.latitude_deg, h.longitude_deg)) < 2_000.0
    assert abs(h.origin_time_s - OT) < 0.3
    assert h.rms_s < 0.1 and h.n_arrivals == 4 and h.n_waiting == 8


def test_one_station_voronoi_cell_shrinks_with_time(setup):
    """One trigger: the density is the station's Voronoi cell (closer to it than to any waiting
    station); waiting longer without new triggers makes the cell smaller."""
    stations, loc, times = setup
    first = stations[0]
    g = loc.grid(first.latitude_deg, first.longitude_deg)
    t1 = times[first.station_id]
    early = loc.locate(g, _arr(stations, times, 1), _wait(stations, 1, t1 + 0.2))
    late = loc.locate(g, _arr(stations, times, 1), _wait(stations, 1, times[stations[1].station_id] - 0.5))
    for h in (early, late):
        d_first = float(haversine_m(h.latitude_deg, h.longitude_deg, first.latitude_deg, first.longitude_deg))
        for s in stations[1:]:
            assert d_first < float(haversine_m(h.latitude_deg, h.longitude_deg, s.latitude_deg, s.longitude_deg))
    assert late.horizontal_uncertainty_m < early.horizontal_uncertainty_m
    # without any waiting station there is no constraint: the density fills the whole grid
    free = loc.locate(g, _arr(stations, times, 1), [])
    assert free.horizontal_uncertainty_m > early.horizontal_uncertainty_m


def test_not_yet_arrived_stations_sharpen_a_two_station_solution(setup):
    stations, loc, times = setup
    g = loc.grid(stations[0].latitude_deg, stations[0].longitude_deg)
    now = times[stations[1].station_id] + 1.0
    with_nya = loc.locate(g, _arr(stations, times, 2), _wait(stations, 2, now))
    without = loc.locate(g, _arr(stations, times, 2), [])
    assert with_nya.horizontal_uncertainty_m < 0.5 * without.horizontal_uncertainty_m
    err = float(haversine_m(LAT, LON, with_nya.latitude_deg, with_nya.longitude_deg))
    assert err < with_nya.horizontal_uncertainty_m + 10_000.0


def test_one_wrong_trigger_does_not_drag_the_solution(setup):
    """The EDT sum over pairs is robust: a 5 s error at one of six stations leaves the epicentre."""
    stations, loc, times = setup
    g = loc.grid(stations[0].latitude_deg, stations[0].longitude_deg)
    arr = _arr(stations, times, 6, shift={stations[3].station_id: 5.0})
    h = loc.locate(g, arr, [])
    assert float(haversine_m(LAT, LON, h.latitude_deg, h.longitude_deg)) < 5_000.0
    assert abs(h.residuals_s[stations[3].station_id]) > 3.0


def test_no_arrivals_is_an_input_error(setup):
    from tianshan.core.errors import InputError

    stations, loc, _ = setup
    with pytest.raises(InputError):
        loc.locate(loc.grid(LAT, LON), [])
