"""ShakeMapStage: intensity-map versions from the bus (first, magnitude change, no change, final), flagged
records, loss estimate and report, restart from the store, the magnitude threshold."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from tianshan.bus import codec, subjects
from tianshan.bus.memory import InProcessBus
from tianshan.stages.shakemap import MAP_KIND, ShakeMapStage, event_folder_name, map_grid, station_windows
from tianshan.stages.waveforms import BufferWaveforms
from tianshan.store import EventStore
from tianshan.stream.buffers import BufferSet


def _dead_station(sc) -> str:
    """The farthest station with picks: its records are made constant (a dead sensor)."""
    o = sc.event.preferred_origin
    with_picks = {p.stream_id.station_id for p in sc.event.picks}
    cands = [s for s in sc.network.stations if s.station_id in with_picks]
    return max(cands, key=lambda s: math.hypot(s.latitude_deg - o.latitude_deg,
                                               s.longitude_deg - o.longitude_deg)).station_id


def _buffers(sc, dead: str) -> BufferSet:
    buffers = BufferSet(capacity_s=900.0)
    for tr in sc.result.stream:
        tr = tr.copy()
        if f"{tr.stats.network}.{tr.stats.station}" == dead:
            tr.data = np.full(tr.stats.npts, 1234.0)
        buffers.ingest_trace(tr)
    return buffers


async def _until(cond, timeout_s=90.0):
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.02)


def _stage(bus, store, buffers, sc, folder, **kw):
    opts = dict(folder=folder, region="demo", half_width_deg=2.0, grid_step_deg=0.1, min_interval_s=0.0,
                records_poll_s=0.2, poll_s=0.05, final_wait_s=600.0, report_formats=("html",))
    opts.update(kw)
    return ShakeMapStage(bus, store, BufferWaveforms(buffers), sc.network, **opts)


def test_station_windows_cover_s_and_coda(sc):
    o = sc.event.preferred_origin
    spec = map_grid(o.latitude_deg, o.longitude_deg, 2.0, 0.1)
    from tianshan.traveltime.layered import LayeredTravelTime

    win = station_windows(o, 4.5, sc.network.stations, spec, LayeredTravelTime(sc.network.model))
    assert win and set(win) <= {s.station_id for s in sc.network.stations}
    for sid, (ids, t0, t1, dist_km) in win.items():
        assert all(i.startswith(sid + ".") for i in ids)
        # no S wave travels faster than 4.8 km/s, no P wave faster than 8.5 km/s or slower than 4 km/s
        assert (t1 - o.time).total_seconds() >= dist_km / 4.8 + 30.0
        assert dist_km / 8.5 - 20.0 <= (t0 - o.time).total_seconds() <= math.hypot(dist_km, 10.0) / 4.0 - 20.0
    assert event_folder_name("smi:org.tianshan/event/abc123") == "abc123"
    assert event_folder_name("a/b c") == "b_c"


def test_versions_records_loss_and_restart(tmp_path, sc):
    event, eid = sc.event, sc.event.id
    dead = _dead_station(sc)
    buffers = _buffers(sc, dead)
    timeline, products_msgs = [], []
    folder = tmp_path / "products"
    report_module = importlib.util.find_spec("tianshan.products.reports.loss") is not None

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        mag = store.add_magnitude(eid, replace(sc.batch.preferred, value=4.5), preferred=True)

        async def on_product(msg):
            products_msgs.append(json.loads(msg.data))

        await bus.subscribe(subjects.PRODUCTS, on_product)
        stage = _stage(bus, store, buffers, sc, folder, on_timeline=lambda *a: timeline.append(a))
        await stage.start()
        c = stage.counters
        # 1. the first event message: version 1, with the station records
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: c.versions == 1)
        # 2. an event version that changes nothing: no new version
        looks = c.looks
        await bus.publish(subjects.EVENTS, codec.encode(event, change="updated"))
        await _until(lambda: c.looks > looks and not stage._busy)
        assert c.versions == 1 and c.unchanged >= 1
        # 3. the magnitude moves by 0.3: version 2
        m2 = store.add_magnitude(eid, replace(mag, value=4.8, id=f"{mag.id}-2"), preferred=True)
        await bus.publish(subjects.MAGNITUDES, codec.encode(m2, event_id=eid, preferred=True, final=False))
        await _until(lambda: c.versions == 2)
        # 4. final: the final version, then the event is done
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await bus.publish(subjects.MAGNITUDES, codec.encode(m2, event_id=eid, preferred=True, final=True))
        await _until(lambda: c.finals == 1)
        ignored = c.events_ignored
        await bus.publish(subjects.EVENTS, codec.encode(event, change="updated"))
        await _until(lambda: c.events_ignored > ignored)
        timings = list(stage.timings)
        counters = c.as_dict()
        await stage.close()
        # 5. a restarted stage reads the stored versions: the final one is there, nothing new
        again = _stage(bus, store, buffers, sc, folder)
        await again.start()
        await bus.publish(subjects.MAGNITUDES, codec.encode(m2, event_id=eid, preferred=True, final=False))
        await _until(lambda: again.counters.looks == 1 and not again._busy)
        await again.close()
        stored = store.products(eid)
        store.close()
        await bus.close()
        return counters, again.counters, timings, stored

    counters, again, timings, stored = asyncio.run(main())
    assert counters["versions"] == 3 and counters["finals"] == 1 and counters["build_errors"] == 0
    assert again.versions == 0 and again.events_stopped == 0

    maps = [p for p in stored if p.kind == MAP_KIND]
    assert sorted({p.version for p in maps}) == [1, 2, 3]
    summaries = {p.version: p for p in maps if p.properties["name"] == "summary.json"}
    assert [summaries[v].properties["final"] for v in (1, 2, 3)] == [False, False, True]
    assert summaries[1].properties["magnitude"] == 4.5 and summaries[2].properties["magnitude"] == 4.8
    assert any("magnitude changed" in r for r in summaries[2].properties["reasons"])
    assert summaries[1].properties["records_used"] >= 3 and summaries[1].properties["records_flagged"] == 1
    assert dead not in summaries[1].properties["station_ids"]

    base = folder / event_folder_name(eid)
    for v in (1, 2, 3):
        d = base / "shakemap" / f"v{v}"
        for name in ("intensity_cn.tif", "mmi.tif", "contours_cn.geojson", "stations.geojson", "grid.xml",
                     "map.png", "summary.json", "station_motions.json"):
            assert (d / name).is_file() and (d / name).stat().st_size > 0, (v, name)
    # the dead station is in the map's station file, flagged and unused; the others are used
    feats = json.loads((base / "shakemap" / "v1" / "stations.geojson").read_text())["features"]
    by_id = {f["properties"]["station_id"]: f["properties"] for f in feats}
    assert "dead_channel" in by_id[dead]["flags"] and not by_id[dead]["used"]
    assert sum(1 for p in by_id.values() if p["used"]) == summaries[1].properties["records_used"]
    motions = json.loads((base / "shakemap" / "v1" / "station_motions.json").read_text())["stations"]
    good = [m for m in motions if m["usable"]]
    assert good and all(1.0 <= m["gbt17742"]["intensity"] <= 12.0 for m in good)

    # loss estimate of each version, and its report when the report module is installed
    assert counters["losses"] == 3 and counters["loss_errors"] == 0
    loss = json.loads((base / "report" / "v1" / "loss.json").read_text())
    assert loss["map"]["version"] == 1 and loss["pager_alert"] in ("green", "yellow", "orange", "red")
    assert [p.version for p in stored if p.kind == "loss_estimate"] == [1, 2, 3]
    if report_module:
        assert counters["reports"] == 3 and list((base / "report" / "v1").glob("*.html"))
        assert {p.version for p in stored if p.kind == "loss_report"} == {1, 2, 3}
    else:
        assert counters["reports_skipped"] == 3 and not [p for p in stored if p.kind == "loss_report"]

    # bus messages, timeline
    maps_msgs = [m for m in products_msgs if m["kind"] == MAP_KIND]
    assert [m["version"] for m in maps_msgs] == [1, 2, 3] and maps_msgs[-1]["final"] is True
    assert [m["version"] for m in products_msgs if m["kind"] == "loss_report"] == [1, 2, 3]
    assert [a[1] for a in timeline] == ["first_intensity_map"]
    assert [t["version"] for t in timings] == [1, 2, 3] and all(t["map"] > 0 for t in timings)


def test_events_below_the_threshold_get_no_map(tmp_path, sc):
    event, eid = sc.event, sc.event.id

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        store.add_magnitude(eid, replace(sc.batch.preferred, value=3.2), preferred=True)
        stage = _stage(bus, store, BufferSet(capacity_s=60.0), sc, tmp_path / "products")
        await stage.start()
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: stage.counters.looks == 1 and not stage._busy)
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await stage.flush()
        counters = stage.counters
        await stage.close()
        stored = store.products(eid)
        store.close()
        await bus.close()
        return counters, stored

    counters, stored = asyncio.run(main())
    assert counters.versions == 0 and counters.below_threshold == 2 and stored == []
    assert not (tmp_path / "products").exists()


def test_bad_settings_and_payloads_are_refused(tmp_path, sc):
    from tianshan.core.errors import InputError

    with pytest.raises(InputError, match="min_magnitude"):
        ShakeMapStage(InProcessBus(), object(), None, sc.network, folder=tmp_path, min_magnitude=-1)
    with pytest.raises(InputError, match="grid_step_deg"):
        ShakeMapStage(InProcessBus(), object(), None, sc.network, folder=tmp_path, grid_step_deg=3.0)
    with pytest.raises(InputError, match="event store"):
        ShakeMapStage(InProcessBus(), None, None, sc.network, folder=tmp_path)

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        stage = _stage(bus, store, BufferSet(capacity_s=60.0), sc, tmp_path / "products")
        await stage.start()
        await bus.publish(subjects.MAGNITUDES, {"type": "magnitude", "v": 1, "data": {}})
        await bus.publish(subjects.EVENTS, codec.encode(sc.event, change="exploded"))
        await _until(lambda: stage.counters.bad_payloads == 2)
        await stage.close()
        store.close()
        await bus.close()
        return stage.counters

    c = asyncio.run(main())
    assert c.bad_payloads == 2 and c.looks == 0


def test_run_settings_wire_the_stage_into_the_products_role(tmp_path, sc):
    from tianshan.core.errors import InputError
    from tianshan.runtime.config import load_run_config
    from tianshan.runtime.daemon import build_products

    def cfg(block: str):
        path = tmp_path / "tianshan.toml"
        path.write_text(f'data_dir = "data"\nregion = "demo"\n[run.shakemap]\n{block}\n', encoding="utf-8")
        return load_run_config(path, env={})

    c = cfg("min_magnitude = 4.0\ngrid_step_deg = 0.05\nreport_formats = ['html']")
    store = EventStore.open(data_dir=tmp_path)
    role = build_products(c, InProcessBus(), store, sc.network, BufferSet(capacity_s=60.0), None, use_archive=False)
    stage = role.stages[-1]
    assert isinstance(stage, ShakeMapStage) and stage.min_magnitude == 4.0 and stage.grid_step_deg == 0.05
    assert stage.report_formats == ("html",) and stage.region == "demo" and stage.processes == 1
    assert stage.folder == tmp_path / "data" / "products"
    off = build_products(cfg("enabled = false"), InProcessBus(), store, sc.network, BufferSet(capacity_s=60.0), None,
                         use_archive=False)
    assert not any(isinstance(s, ShakeMapStage) for s in off.stages)
    store.close()
    for bad, what in (("grid_step_deg = 3.0", "grid_step_deg"), ("layers = ['mmi', 'pga']", "pgv"),
                      ("report_formats = ['docx']", "report_formats"), ("threshold = 4", "threshold")):
        with pytest.raises(InputError, match=what):
            cfg(bad)
