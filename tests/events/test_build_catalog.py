"""End-to-end batch cataloging on a small simulated scenario (8 demo-region stations, 6 minutes).

Needs the other stages of the chain (QC, association; location, magnitudes and event type
for the event-level checks); each test skips naming the module that is missing.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pytest

START = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
END = datetime(2024, 5, 1, 10, 6, tzinfo=timezone.utc)
ORIGIN = datetime(2024, 5, 1, 10, 2, tzinfo=timezone.utc)
SOURCE_LAT, SOURCE_LON, SOURCE_DEPTH_M, SOURCE_MW = 41.9, 86.2, 10_000.0, 3.5
CODES = ("KORL", "SISH", "YULI", "BALU", "HEJI", "TEWU", "LUNT", "XINH")
RUN = dict(chunk_s=120.0, overlap_s=30.0)


#: What each stage needs, as (module, attribute).
STAGES = {"qc": ("tianshan.qc", "check_stream"), "associate": ("tianshan.events.associate", "associate"),
          "locate": ("tianshan.events.locate", "locate"),
          "magnitude": ("tianshan.events.magnitude", "compute_magnitudes"),
          "classify": ("tianshan.events.classify", "classify_event"), "dask": ("distributed", "LocalCluster")}


def _need(*stages: str) -> None:
    """Skip, naming the missing module, while another part of issue 3 is not there yet."""
    for stage in stages:
        module, attr = STAGES[stage]
        mod = pytest.importorskip(module, reason=f"{module} (another part of issue 3) is not available yet")
        if not hasattr(mod, attr):
            pytest.skip(f"{module}.{attr} (another part of issue 3) is not available yet")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source
    from tianshan.sim.writer import write_scenario

    region = demo_region()
    stations = [replace(s, channels=tuple(c for c in s.channels if c.stream_id.channel.startswith("HH")))
                for s in region.stations if s.code in CODES]
    source = Source(SOURCE_LAT, SOURCE_LON, SOURCE_DEPTH_M, SOURCE_MW, ORIGIN)
    result = simulate_scenario(source, stations, region.velocity_model, start=START, duration_s=360.0, rng=11)
    out = tmp_path_factory.mktemp("scenario")
    paths = write_scenario(result, out)
    return {"out": out, "sds": paths.sds_root, "xml": paths.stationxml, "result": result}


def _store(path):
    from tianshan.store import EventStore

    return EventStore.open(data_dir=path)


def _content(picks):
    return sorted((str(p.stream_id), p.phase, p.time, p.time_uncertainty_s, p.probability, p.method, p.id)
                  for p in picks)


def _epicentral_km(lat, lon):
    from tianshan.regions.model import haversine_m

    return haversine_m(lat, lon, SOURCE_LAT, SOURCE_LON) / 1000.0


def test_serial_build_finds_the_event_and_resumes(scenario, tmp_path):
    _need("qc", "associate")
    from tianshan.events.build import build_catalog

    with _store(tmp_path) as store:
        s = build_catalog(scenario["sds"], scenario["xml"], START, END, store, scheduler="serial", **RUN)
        assert s.chunks == 3 and s.chunks_processed == 3 and s.chunks_failed == 0
        assert s.picks_by_phase.get("P", 0) >= 6
        assert s.events_stored == 1, s.as_dict()
        ev = store.get_event(s.event_ids[0])
        assert ev.origins[0].version == 1 and len(ev.picks) >= 6
        first = store.counts()
        again = build_catalog(scenario["sds"], scenario["xml"], START, END, store, scheduler="serial", **RUN)
        assert again.chunks_skipped == 3 and again.chunks_processed == 0
        assert again.events_stored == 0 and again.events_existing == 1 and again.event_ids == s.event_ids
        assert again.picks == s.picks
        assert store.counts() == first


def test_located_event_with_magnitude_and_type(scenario, tmp_path):
    _need("qc", "associate", "locate", "magnitude", "classify")
    from tianshan.events.build import build_catalog

    with _store(tmp_path) as store:
        s = build_catalog(scenario["sds"], scenario["xml"], START, END, store, scheduler="serial", **RUN)
        assert s.events_stored == 1 and s.located == 1, s.as_dict()
        ev = store.get_event(s.event_ids[0])
        assert [o.version for o in ev.origins] == [1, 2]
        o = ev.preferred_origin
        assert o.id == ev.origins[1].id
        # 8 stations within ~150 km, true epicentre inside the network: a few km.
        assert _epicentral_km(o.latitude_deg, o.longitude_deg) < 10.0
        assert abs((o.time - ORIGIN).total_seconds()) < 1.5
        m = ev.preferred_magnitude
        assert m is not None and abs(m.value - SOURCE_MW) < 0.7
        assert ev.type is not None


def test_dask_run_equals_serial_run(scenario, tmp_path):
    _need("qc", "associate", "dask")
    from distributed import Client, LocalCluster

    from tianshan.events.build import build_catalog

    with _store(tmp_path / "serial") as store:
        serial = build_catalog(scenario["sds"], scenario["xml"], START, END, store, scheduler="serial", **RUN)
        ev_serial = [store.get_event(i) for i in serial.event_ids]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client, _store(tmp_path / "dask") as store:
        par = build_catalog(scenario["sds"], scenario["xml"], START, END, store, scheduler=client, **RUN)
        ev_par = [store.get_event(i) for i in par.event_ids]
    assert par.scheduler.startswith("dask")
    assert par.event_ids == serial.event_ids and par.picks == serial.picks
    for a, b in zip(ev_serial, ev_par):
        assert _content(a.picks) == _content(b.picks)
        for oa, ob in zip(a.origins, b.origins):
            assert (oa.time, oa.latitude_deg, oa.longitude_deg, oa.depth_m) == \
                   (ob.time, ob.latitude_deg, ob.longitude_deg, ob.depth_m)
        assert [(m.type, m.value) for m in a.magnitudes] == [(m.type, m.value) for m in b.magnitudes]


def _faulty_archive(scenario, folder):
    """The scenario as loose miniSEED files with every kind of bad input added."""
    from obspy import Stream, read_inventory

    from tianshan.io.sds import read_sds

    rng = np.random.default_rng(5)
    folder.mkdir()
    st = read_sds(scenario["sds"], ["*.*.*.*"], START, END)
    for tr in st:
        tr.write(str(folder / f"{tr.id}.mseed"), format="MSEED", reclen=512, encoding="STEIM2")
    # 1. corrupt records in KORL HHZ (garbled bytes in the middle of the file)
    path = folder / "TS.KORL.00.HHZ.mseed"
    data = bytearray(path.read_bytes())
    for r in (30, 31, 32):
        data[r * 512 + 60:r * 512 + 500] = rng.integers(0, 256, 440, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    # 2. a station missing from the inventory
    ghost = st.select(station="YULI")[0].copy()
    ghost.stats.station = "GHOST"
    ghost.write(str(folder / "ghost.mseed"), format="MSEED")
    # 3. mixed sample rates: a 50 Hz record of a 100 Hz channel
    half = st.select(station="TEWU", channel="HHN")[0].copy().slice(ghost.stats.starttime + 30,
                                                                  ghost.stats.starttime + 90)
    half.data = half.data[::2].copy()
    half.stats.sampling_rate = 50.0
    half.write(str(folder / "tewu_50hz.mseed"), format="MSEED")
    # 4. overlapping traces: a second copy of part of BALU HHE
    dup = st.select(station="BALU", channel="HHE")[0].slice(ghost.stats.starttime + 100, ghost.stats.starttime + 160)
    Stream([dup.copy()]).write(str(folder / "balu_dup.mseed"), format="MSEED")
    # 5. missing responses: HEJI's channels lose theirs
    inv = read_inventory(str(scenario["xml"]))
    for net in inv:
        for sta in net:
            if sta.code == "HEJI":
                for cha in sta:
                    cha.response = None
    xml = folder.parent / "stations_noresp.xml"
    inv.write(str(xml), format="STATIONXML")
    return xml, ghost.id


def test_bad_input_is_skipped_counted_and_nothing_else_lost(scenario, tmp_path):
    _need("qc", "associate")
    from tianshan.events.build import build_catalog

    xml, ghost_id = _faulty_archive(scenario, tmp_path / "files")
    with _store(tmp_path / "clean") as store:
        clean = build_catalog(scenario["sds"], scenario["xml"], START, END, store, scheduler="serial", **RUN)
        clean_picks = [p for i in clean.event_ids for p in store.get_event(i).picks]
    with _store(tmp_path / "bad") as store:
        bad = build_catalog(tmp_path / "files", xml, START, END, store, scheduler="serial", **RUN)
        bad_picks = [p for i in bad.event_ids for p in store.get_event(i).picks]
    w = bad.warnings
    assert w.get("corrupt_records", 0) >= 3
    assert w.get("trace_not_in_inventory", 0) >= 1
    assert [s for s in bad.skipped_streams if ".GHOST." in s] == [ghost_id]
    assert w.get("sample_rate_mismatch", 0) >= 1
    assert w.get("overlapping_traces", 0) >= 1
    assert w.get("channel_without_response") == 3
    assert bad.chunks_failed == 0 and bad.events_stored == 1
    # Only the station with corrupt records may differ; every other pick is identical.
    keep = lambda picks: _content([p for p in picks if p.stream_id.station != "KORL"])  # noqa: E731
    assert keep(bad_picks) == keep(clean_picks)


def test_bad_arguments_are_input_errors(scenario, tmp_path):
    from tianshan.core.errors import InputError
    from tianshan.events.build import build_catalog

    with _store(tmp_path) as store:
        with pytest.raises(InputError, match="end must be after start"):
            build_catalog(scenario["sds"], scenario["xml"], END, START, store)
        with pytest.raises(InputError, match="unknown picker"):
            build_catalog(scenario["sds"], scenario["xml"], START, END, store, picker="magic")
        with pytest.raises(InputError, match="not both"):
            build_catalog(scenario["sds"], scenario["xml"], START, END, store, region="demo")
        with pytest.raises(InputError, match="not found"):
            build_catalog(tmp_path / "none", scenario["xml"], START, END, store)
    assert not math.isnan(SOURCE_MW)
    shutil.rmtree(tmp_path, ignore_errors=True)
