"""PyOcto association: travel-time tables, synthetic catalogues on the real XJ network, the demo scenario.

Synthetic picks are theoretical first arrivals from :class:`LayeredTravelTime` (itself verified against
ObsPy TauP) plus the station-elevation delay, Gaussian noise, missed picks and random false picks.
"""

from __future__ import annotations

import dataclasses
import struct
from collections import Counter
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core import InputError, Pick, Station, StreamID
from tianshan.core.velocity import VelocityModel
from tianshan.events.associate import (AssociatorConfig, associate, associate_picks, azimuthal_gap_deg,
                                       phase_family)
from tianshan.events.associate.geometry import sphere_dist_az as _sphere_dist_az
from tianshan.events.associate.tables import pyocto_table, read_table, table_bytes, travel_time_grid
from tianshan.regions.demo import xinjiang_velocity_model
from tianshan.traveltime.layered import LayeredTravelTime

XJ_MODEL = xinjiang_velocity_model()
T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
KM_PER_DEG = 6371.0 * np.pi / 180.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("pyocto-tables")


@pytest.fixture(scope="module")
def xj_stations(shared_data):
    from tianshan.regions.stations_csv import read_stations_csv

    return read_stations_csv(shared_data / "xinjiang" / "stations_xj.csv")


def synthetic_picks(stations, model, sources, rng, noise_s=0.1, max_dist_m=300e3, p_miss=0.1, false_frac=0.2):
    """Picks of ``sources`` ((lat, lon, depth_m, origin_time), ...) at stations within ``max_dist_m``.

    Returns ``(picks, truth)``: ``truth[pick.id]`` is the source index, ``None`` for a false pick.
    """
    solver = LayeredTravelTime(model)
    lat = np.array([s.latitude_deg for s in stations])
    lon = np.array([s.longitude_deg for s in stations])
    elev = np.array([s.elevation_m for s in stations])
    top = model.layers[0]
    picks, truth = [], {}
    for k, (elat, elon, depth, ot) in enumerate(sources):
        dist_m = np.radians(_sphere_dist_az(elat, elon, lat, lon)[0]) * 6_371_000.0
        near = np.flatnonzero(dist_m <= max_dist_m)
        for phase, v_surface, cha in (("P", top.vp_m_s, "HHZ"), ("S", top.vs_m_s, "HHN")):
            times = solver.first_arrival(phase, depth, dist_m[near])[0] + elev[near] / v_surface
            for i, t in zip(near, times):
                if rng.random() < p_miss:
                    continue
                st = stations[i]
                when = ot + timedelta(seconds=float(t + rng.normal(0, noise_s)))
                p = Pick(StreamID(st.network, st.code, "", cha), when, phase, time_uncertainty_s=noise_s)
                picks.append(p)
                truth[p.id] = k
    t_lo = min(s[3] for s in sources) - timedelta(seconds=60)
    width = (max(s[3] for s in sources) - t_lo).total_seconds() + 300.0
    for _ in range(int(round(false_frac * len(picks)))):
        st = stations[int(rng.integers(len(stations)))]
        phase = "P" if rng.random() < 0.5 else "S"
        p = Pick(StreamID(st.network, st.code, "", "HHZ" if phase == "P" else "HHE"),
                 t_lo + timedelta(seconds=float(rng.uniform(0, width))), phase)
        picks.append(p)
        truth[p.id] = None
    return [picks[i] for i in rng.permutation(len(picks))], truth


def covered_sources(stations, rng, n, start, spacing_s, min_stations=6, radius_m=300e3):
    """``n`` sources in Xinjiang with at least ``min_stations`` stations within ``radius_m``."""
    lat = np.array([s.latitude_deg for s in stations])
    lon = np.array([s.longitude_deg for s in stations])
    out = []
    while len(out) < n:
        la, lo = rng.uniform(36.0, 48.0), rng.uniform(74.0, 96.0)
        d_m = np.radians(_sphere_dist_az(la, lo, lat, lon)[0]) * 6_371_000.0
        if np.count_nonzero(d_m <= radius_m) >= min_stations:
            ot = start + timedelta(seconds=spacing_s * len(out) + float(rng.uniform(0, spacing_s / 4)))
            out.append((la, lo, float(rng.uniform(2e3, 30e3)), ot))
    return out


def score(result, truth, n_sources):
    """Event and pick recall/precision of an association result against the truth."""
    matched: dict[int, object] = {}
    false_events = split = right = 0
    for a in result.associations:
        ks = [truth[p.id] for p in a.picks if truth[p.id] is not None]
        if not ks:
            false_events += 1
            continue
        k = max(set(ks), key=ks.count)
        if k in matched:
            split += 1
            continue
        matched[k] = a
        right += ks.count(k)
    n_true = sum(v is not None for v in truth.values())
    n_assoc = result.n_associated_picks
    return {"events": len(matched), "n_sources": n_sources, "false_events": false_events, "split": split,
            "pick_recall": right / n_true, "pick_precision": right / n_assoc if n_assoc else 1.0,
            "matched": matched}


def epicentral_error_km(origin, source):
    return float(_sphere_dist_az(source[0], source[1], origin.latitude_deg, origin.longitude_deg)[0]) * KM_PER_DEG


# -- small pieces -------------------------------------------------------------------------------------

def test_phase_family():
    assert [phase_family(p) for p in ("P", "Pg", "Pn", "p", "S", "Sg", "Sn", "s", "Lg", "", " ")] == \
        ["P", "P", "P", "P", "S", "S", "S", "S", None, None, None]


def test_azimuthal_gap():
    assert azimuthal_gap_deg([0, 90, 180, 270]) == pytest.approx(90.0)
    assert azimuthal_gap_deg([350, 10, 20]) == pytest.approx(330.0)
    assert azimuthal_gap_deg([45]) == 360.0
    assert azimuthal_gap_deg([]) is None


def test_sphere_distance_and_azimuth_match_pyproj():
    from pyproj import Geod

    geod = Geod(a=6_371_000.0, b=6_371_000.0)
    for lat2, lon2 in ((44.0, 80.0), (38.0, 90.0), (41.0, 76.0)):
        az, _, d = geod.inv(84.0, 42.0, lon2, lat2)
        dist, azim = _sphere_dist_az(42.0, 84.0, lat2, lon2)
        assert float(dist) * KM_PER_DEG * 1000 == pytest.approx(d, rel=1e-9)
        assert float(azim) == pytest.approx(az % 360.0, abs=1e-6)


@pytest.mark.parametrize("field, value", [("min_picks", -1), ("min_stations", 2.5), ("tolerance_s", 0.0),
                                          ("max_depth_m", float("nan")), ("min_pick_fraction", 1.5),
                                          ("min_node_size_location_m", 20_000.0), ("n_threads", 0),
                                          ("table_spacing_m", -5.0), ("margin_m", -1.0),
                                          ("location_split_return", 6), ("merge_window_s", -1.0)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(InputError) as err:
        AssociatorConfig(**{field: value})
    assert err.value.field == field


def test_table_file_layout_and_values(tmp_path):
    """The file has PyOcto's layout (struct "iid" header, x-major float64 P then S) and the solver's times."""
    path = pyocto_table(XJ_MODEL, 50_000.0, 20_000.0, 2_000.0, cache_dir=tmp_path)
    raw = path.read_bytes()
    nx, nz, delta_km = struct.unpack_from("iid", raw)
    assert (nx, nz, delta_km) == (27, 12, 2.0)
    assert len(raw) == struct.calcsize("iid") + 2 * 8 * nx * nz
    p, s, spacing = read_table(path)
    solver = LayeredTravelTime(XJ_MODEL)
    for ix, iz in ((0, 0), (5, 3), (26, 11), (13, 7)):
        assert p[ix, iz] == pytest.approx(solver.first_arrival("P", iz * spacing, [ix * spacing])[0][0], abs=1e-9)
        assert s[ix, iz] == pytest.approx(solver.first_arrival("S", iz * spacing, [ix * spacing])[0][0], abs=1e-9)
    assert p[10, 0] == pytest.approx(20.0 / 6.1, abs=1e-3)      # straight Pg at the surface
    # Same bytes as PyOcto's own writer would produce from these arrays.
    pp, ss = travel_time_grid(XJ_MODEL, nx, nz, spacing)
    assert raw == struct.pack("iid", nx, nz, delta_km) + pp.tobytes() + ss.tobytes() == table_bytes(pp, ss, spacing)
    # Cached: a second call returns the same file without rewriting it.
    mtime = path.stat().st_mtime_ns
    assert pyocto_table(XJ_MODEL, 50_000.0, 20_000.0, 2_000.0, cache_dir=tmp_path) == path
    assert path.stat().st_mtime_ns == mtime


def _grid_stations(n_side=5, spacing_deg=0.25, lat0=41.0, lon0=84.0, elevation_m=0.0):
    return [Station("XX", f"G{i}{j}", lat0 + i * spacing_deg, lon0 + j * spacing_deg, elevation_m)
            for i in range(n_side) for j in range(n_side)]


def test_layered_table_agrees_with_pyocto_homogeneous_model(cache):
    """In a half-space, our 1-D table and PyOcto's own homogeneous model (VelocityModel0D) locate alike:
    this checks through PyOcto itself that the table's layout and units are read as intended."""
    import pandas as pd
    import pyocto

    from tianshan.events.associate.associator import _build_associator, _geometry

    half = VelocityModel.from_vp("half-space", [0.0], [6000.0], vp_vs=1.75)
    stations = _grid_stations()
    src = (41.47, 84.61, 8_000.0, T0)
    picks, _ = synthetic_picks(stations, half, [src], np.random.default_rng(5), noise_s=0.0, max_dist_m=1e7,
                               p_miss=0.0, false_frac=0.0)
    config = AssociatorConfig(min_stations=4, min_pick_fraction=0.0, margin_m=30_000.0, max_depth_m=30_000.0,
                              table_spacing_m=500.0)
    ours = associate_picks(picks, stations, half, config, cache_dir=cache)
    assert len(ours.associations) == 1 and len(ours.associations[0].picks) == len(picks)
    o = ours.associations[0].origin
    # PyOcto's homogeneous model on the same projected stations and picks.
    geom = _geometry(stations, config.margin_m)
    tr = geom.transformer()
    x, y = tr.transform([s.longitude_deg for s in stations], [s.latitude_deg for s in stations])
    sdf = pd.DataFrame({"id": [s.station_id for s in stations], "x": x, "y": y, "z": 0.0})
    pdf = pd.DataFrame({"station": [p.stream_id.station_id for p in picks],
                        "time": [p.time.timestamp() for p in picks], "phase": [p.phase for p in picks]})
    ref = _build_associator(config, half, geom, cache)
    ref.velocity_model_association = ref.velocity_model_location = pyocto.VelocityModel0D(6.0, 6.0 / 1.75, 2.0)
    events, _ = ref.associate(pdf, sdf)
    assert len(events) == 1
    lon, lat = tr.transform(events["x"][0], events["y"][0], direction="INVERSE")
    assert epicentral_error_km(o, (lat, lon)) < 1.0
    assert abs(o.depth_m / 1000 - events["z"][0]) < 2.0
    assert abs(o.time.timestamp() - events["time"][0]) < 0.2
    assert epicentral_error_km(o, src) < 1.0 and abs(o.depth_m - src[2]) < 3000.0


def test_merge_splits_kernel(cache):
    """A split event (picks shared out between two candidates 3 s / 30 km apart) is merged back; two
    candidates that share station-phases (two real events) are not."""
    from tianshan.events.associate.merge import Candidate, merge_splits

    stations = _grid_stations(n_side=4, spacing_deg=0.5)
    table = {s.station_id: s for s in stations}
    src = (41.8, 84.8, 10_000.0, T0)
    picks, _ = synthetic_picks(stations, XJ_MODEL, [src], np.random.default_rng(9), noise_s=0.05, max_dist_m=1e7,
                               p_miss=0.0, false_frac=0.0)
    half = len(picks) // 2
    a = Candidate(T0.timestamp(), src[0], src[1], src[2], [(i, 0.0) for i in range(half)])
    b = Candidate(T0.timestamp() + 3.0, src[0] + 0.2, src[1] + 0.2, 30_000.0,
                  [(i, 0.0) for i in range(half, len(picks))])
    shares = {(picks[i].stream_id.station_id, picks[i].phase) for i, _ in a.items} & \
        {(picks[i].stream_id.station_id, picks[i].phase) for i, _ in b.items}
    if shares:   # make the split clean: give b only station-phases that a lacks
        b.items = [(i, r) for i, r in b.items if (picks[i].stream_id.station_id, picks[i].phase) not in shares]
    out = merge_splits([b, a], picks, table, XJ_MODEL, 5.0, 100_000.0, 1.5)
    assert len(out) == 1 and out[0] is a
    assert len(a.items) == half + len(b.items)
    assert max(abs(r) for _, r in a.items) < 0.3          # residuals recomputed for a's hypocentre
    # Same station-phase in both: two distinct events, kept apart; far apart in time: kept apart.
    c = Candidate(T0.timestamp() + 2.0, src[0], src[1], src[2], [(0, 0.0)])
    assert len(merge_splits([a, c], picks, table, XJ_MODEL, 5.0, 100_000.0, 1.5)) == 2
    d = Candidate(T0.timestamp() + 9.0, src[0], src[1], src[2], [(i, 0.0) for i in range(half, len(picks))])
    assert len(merge_splits([Candidate(a.time_s, *src[:3], [(i, 0.0) for i in range(half)]), d], picks,
                            table, XJ_MODEL, 5.0, 100_000.0, 1.5)) == 2


# -- behaviour on synthetic catalogues ----------------------------------------------------------------

@pytest.fixture(scope="module")
def xj_catalogue(xj_stations, cache):
    rng = np.random.default_rng(20240501)
    sources = covered_sources(xj_stations, rng, 20, T0, spacing_s=240.0)
    picks, truth = synthetic_picks(xj_stations, XJ_MODEL, sources, rng)
    result = associate_picks(picks, xj_stations, XJ_MODEL, cache_dir=cache)
    return sources, picks, truth, result


def test_xj_synthetic_catalogue(xj_catalogue):
    sources, picks, truth, result = xj_catalogue
    s = score(result, truth, len(sources))
    assert s["events"] == len(sources)                 # every true event found ...
    assert s["split"] == 0                             # ... exactly once
    assert s["false_events"] <= 1
    assert s["pick_recall"] >= 0.95                    # true picks assigned to the right event
    assert s["pick_precision"] >= 0.95
    errors = [epicentral_error_km(a.origin, sources[k]) for k, a in s["matched"].items()]
    assert np.median(errors) < 5.0
    # Every input pick is either associated once or reported as unassociated.
    ids = [p.id for a in result.associations for p in a.picks] + [p.id for p in result.unassociated]
    assert sorted(ids) == sorted(p.id for p in picks)


def test_origin_fields(xj_catalogue, xj_stations):
    _, _, _, result = xj_catalogue
    by_id = {s.station_id: s for s in xj_stations}
    times = [a.origin.time for a in result.associations]
    assert times == sorted(times)
    for a in result.associations:
        o = a.origin
        assert o.method == "pyocto" and o.earth_model == XJ_MODEL.name
        assert [p.time for p in a.picks] == sorted(p.time for p in a.picks)
        assert [ar.pick_id for ar in o.arrivals] == [p.id for p in a.picks]
        assert o.phase_count == len(a.picks)
        assert o.station_count == len({p.stream_id.station_id for p in a.picks}) >= 4
        assert 0.0 <= o.azimuthal_gap_deg <= 360.0 and o.rms_s < 1.5
        assert o.minimum_distance_deg == pytest.approx(min(ar.distance_deg for ar in o.arrivals))
        ar = o.arrivals[0]
        st = by_id[a.picks[0].stream_id.station_id]
        assert ar.distance_deg == pytest.approx(
            float(_sphere_dist_az(o.latitude_deg, o.longitude_deg, st.latitude_deg, st.longitude_deg)[0]))


def test_residual_sign_is_observed_minus_predicted(xj_catalogue, xj_stations, cache):
    sources, picks, truth, result = xj_catalogue
    a = result.associations[0]
    target = a.picks[len(a.picks) // 2]
    before = next(ar.time_residual_s for ar in a.origin.arrivals if ar.pick_id == target.id)
    shifted = [dataclasses.replace(p, time=p.time + timedelta(seconds=0.8)) if p.id == target.id else p
               for p in a.picks]
    again = associate_picks(shifted, xj_stations, XJ_MODEL, cache_dir=cache).associations
    after = next(ar.time_residual_s for ar in again[0].origin.arrivals if ar.pick_id == target.id)
    assert after - before == pytest.approx(0.8, abs=0.3)


def test_overlapping_events_are_separated(xj_stations, cache):
    """Two events 20 s apart, ~550 km apart: their wavefronts cross the network at the same time."""
    rng = np.random.default_rng(7)
    sources = [(41.8, 84.3, 10e3, T0), (44.0, 88.0, 15e3, T0 + timedelta(seconds=20))]
    picks, truth = synthetic_picks(xj_stations, XJ_MODEL, sources, rng, max_dist_m=400e3, false_frac=0.1)
    result = associate_picks(picks, xj_stations, XJ_MODEL, cache_dir=cache)
    s = score(result, truth, 2)
    assert s["events"] == 2 and s["split"] == 0 and s["false_events"] == 0
    assert s["pick_recall"] >= 0.95
    for k, a in s["matched"].items():
        assert epicentral_error_km(a.origin, sources[k]) < 10.0


def test_station_elevation_is_corrected(cache):
    """Stations 3 km up: with their elevations the picks fit (RMS ~ noise); ignoring them they do not."""
    high = _grid_stations(elevation_m=3000.0)
    src = (41.5, 84.5, 10_000.0, T0)
    picks, _ = synthetic_picks(high, XJ_MODEL, [src], np.random.default_rng(3), noise_s=0.02, max_dist_m=1e7,
                               p_miss=0.0, false_frac=0.0)
    config = AssociatorConfig(min_pick_fraction=0.0, margin_m=50_000.0, max_depth_m=40_000.0)
    with_elev = associate_picks(picks, high, XJ_MODEL, config, cache_dir=cache).associations
    flat = [dataclasses.replace(s, elevation_m=0.0) for s in high]
    without = associate_picks(picks, flat, XJ_MODEL, config, cache_dir=cache).associations
    assert len(with_elev) == 1 and len(with_elev[0].picks) == len(picks)
    o = with_elev[0].origin
    assert o.rms_s < 0.15 and epicentral_error_km(o, src) < 2.0
    assert len(without) == 1 and without[0].origin.rms_s > 1.5 * o.rms_s


def test_demo_scenario_truth_picks(cache):
    """The simulator's true picks (sim writer) for the demo Mw 6.5 across the 70-station demo region,
    Pg/Pb/Pn/Sg/Sb/Sn out to ~1000 km: one event with every pick, near the true hypocentre."""
    from tianshan.demo import stages
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source
    from tianshan.sim.writer import truth_event

    profile = demo_region()
    source = Source(stages.DEMO_LATITUDE_DEG, stages.DEMO_LONGITUDE_DEG, stages.DEMO_DEPTH_M, stages.DEMO_MW,
                    stages.DEMO_ORIGIN_TIME)
    sim = simulate_scenario(source, profile.stations, profile.velocity_model, duration_s=240.0, rng=1,
                            noise=False)
    truth = truth_event(sim)
    assert len(truth.picks) > 100
    assert {p.phase for p in truth.picks} >= {"Pg", "Pn", "Sg", "Sn"}
    result = associate_picks(truth.picks, profile.stations, profile.velocity_model, cache_dir=cache)
    assert len(result.associations) == 1 and not result.unassociated
    o = result.associations[0].origin
    assert len(result.associations[0].picks) == len(truth.picks)
    assert epicentral_error_km(o, (source.latitude_deg, source.longitude_deg)) < 2.0
    assert abs(o.depth_m - source.depth_m) < 3000.0
    assert abs((o.time - source.origin_time).total_seconds()) < 0.3
    assert o.rms_s < 0.2


# -- bad and edge input -------------------------------------------------------------------------------

def test_skipped_and_empty_inputs(xj_catalogue, xj_stations, cache):
    sources, picks, truth, result = xj_catalogue
    strays = [Pick(StreamID("ZZ", "NOPE", "", "HHZ"), T0, "P"),
              Pick(StreamID("XJ", xj_stations[0].code, "", "HHZ"), T0, "Lg"),
              Pick(StreamID("XJ", xj_stations[0].code, "", "HHZ"), T0, "?")]
    mixed = associate_picks(list(picks[:200]) + strays, xj_stations, XJ_MODEL, cache_dir=cache)
    assert mixed.skipped == {"unknown_station": 1, "phase": 2}
    assert all(p in mixed.unassociated for p in strays)
    empty = associate_picks([], xj_stations, XJ_MODEL, cache_dir=cache)
    assert empty.associations == () and empty.unassociated == () and empty.skipped == {}
    only_strays = associate_picks(strays, xj_stations, XJ_MODEL, cache_dir=cache)
    assert only_strays.associations == () and len(only_strays.unassociated) == 3
    with pytest.raises(InputError) as err:
        associate_picks(picks, [], XJ_MODEL)
    assert err.value.field == "stations"


def test_thresholds_are_applied(xj_catalogue, xj_stations, cache):
    sources, picks, truth, result = xj_catalogue
    strict = associate_picks(picks, xj_stations, XJ_MODEL, AssociatorConfig(min_stations=8, min_picks=14),
                             cache_dir=cache)
    assert 0 < len(strict.associations) < len(result.associations)
    for a in strict.associations:
        assert len({p.stream_id.station_id for p in a.picks}) >= 8 and len(a.picks) >= 14
        assert Counter(phase_family(p.phase) for p in a.picks)["S"] >= 2


def test_associate_list_api_and_determinism(xj_catalogue, xj_stations, monkeypatch, cache):
    sources, picks, truth, result = xj_catalogue
    monkeypatch.setenv("TIANSHAN_CACHE_DIR", str(cache))
    events = associate(picks, xj_stations, XJ_MODEL)
    assert [tuple(p.id for p in a.picks) for a in events] == \
        [tuple(p.id for p in a.picks) for a in result.associations]
    assert [(a.origin.time, a.origin.latitude_deg, a.origin.depth_m) for a in events] == \
        [(a.origin.time, a.origin.latitude_deg, a.origin.depth_m) for a in result.associations]
    assert (cache / "pyocto").is_dir()
