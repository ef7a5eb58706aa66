"""The demo's real-time stage: a small scenario replayed through the SeedLink server into ``tianshan run``.

Real components end to end (SeedLink server on loopback, the daemon in-process with every role,
the SQLite store): the stage leaves its own store ``realtime.sqlite`` with one event, its
origin/magnitude versions and its timeline; the report page shows the real-time section.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
import pytest

from tianshan.core.errors import InputError

LAT, LON, DEPTH_M, MW = 41.95, 84.30, 12_000.0, 5.0
ORIGIN = datetime(2026, 7, 15, 8, 30, 0, tzinfo=timezone.utc)
N_STATIONS = 8


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """region -> small simulate (8 nearest stations, 150 s) -> realtime (speed 20) -> report."""
    from tianshan.demo.pipeline import DemoConfig, StageRecord
    from tianshan.demo.stages import RealtimeStage, RegionStage, ReportStage
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source
    from tianshan.sim.writer import write_scenario

    out = tmp_path_factory.mktemp("rt-demo")
    data = tmp_path_factory.mktemp("rt-data")
    config = DemoConfig(out_dir=out, data_dir=data, duration_s=150.0)
    done: dict = {}

    def record(stage, result, summary):
        done[stage.name] = StageRecord(stage.name, stage.title, 0.0, result, summary)

    region = RegionStage()
    record(region, *region.run(config, done))
    profile = done["region"].result

    def dist(s):
        return math.hypot(s.latitude_deg - LAT, (s.longitude_deg - LON) * math.cos(math.radians(LAT)))

    stations = sorted(profile.stations, key=dist)[:N_STATIONS]
    res = simulate_scenario(Source(LAT, LON, DEPTH_M, MW, ORIGIN), stations, profile.velocity_model,
                            duration_s=config.duration_s, rng=11)
    paths = write_scenario(res, out / "scenario")
    done["simulate"] = StageRecord("simulate", "simulate", 0.0, (res, paths), {})
    rt_stage = RealtimeStage(speed=20.0, idle_s=2.0)
    record(rt_stage, *rt_stage.run(config, done))
    report = ReportStage()
    record(report, *report.run(config, done))
    return out, data, done, [s.code for s in stations]


def test_realtime_stage_stores_its_own_event_and_timeline(small_demo):
    from tianshan.core.timeline import STEPS
    from tianshan.store.repository import EventStore

    out, data, done, codes = small_demo
    rt = done["realtime"].result
    summary = done["realtime"].summary
    # its own store in the output folder, never the demo's store
    assert rt.store_file == out / "realtime.sqlite" and rt.store_file.is_file()
    assert not (rt.folder / "tianshan.sqlite").exists() and not (data / "tianshan.sqlite").exists()
    # every record of the scenario's seismometer channels came through the server and was archived
    counters = rt.counters
    assert counters["gate"]["accepted"] == counters["gate"]["received"] > 0
    assert counters["acquisition"]["archive_records_written"] == counters["gate"]["accepted"]
    assert sorted(p.parent.name for p in (rt.folder / "archive").rglob("HHZ.D")) == sorted(codes)
    assert not list((rt.folder / "archive").rglob("HN?.D"))  # accelerometers not requested

    with EventStore.open(f"sqlite:///{rt.store_file}") as store:
        events = store.events()
        assert len(events) == 1
        ev = store.get_event(events[0].id)
        steps = [e.step for e in store.timeline(ev.id)]
    o = ev.preferred_origin
    assert abs((o.time - ORIGIN).total_seconds()) < 2.0
    assert math.hypot((o.latitude_deg - LAT) * 111.2,
                      (o.longitude_deg - LON) * 111.2 * math.cos(math.radians(LAT))) < 15.0
    assert {p.stream_id.station for p in ev.picks} <= set(codes)
    # the timeline: every step, in order, as the stages recorded it
    assert steps == [s for s in STEPS if s in steps]
    assert steps[:4] == ["origin_time", "first_pick", "locatable_pick", "first_origin"] and steps[-1] == "final"
    assert "first_magnitude" in steps and ev.magnitudes

    # the JSON figures carry the same timeline and versions
    assert summary["events"] == 1 and summary["event_id"] == ev.id
    assert list(summary["timeline"]) == steps
    assert summary["origin_versions"] == len(ev.origins) and summary["magnitude_versions"] == len(ev.magnitudes)
    assert summary["timeline"]["origin_time"]["data_s"] == pytest.approx(
        (ev.origins[0].time - ORIGIN).total_seconds(), abs=1e-3)
    first_pick_s = summary["timeline"]["first_pick"]["data_s"]
    assert 0.0 < first_pick_s < 30.0  # the P at the nearest station
    assert summary["final"]["epicentre_error_km"] < 15.0
    assert summary["speed"] == 20.0
    # the settings file reproduces the run: tianshan run's own loader reads it
    from tianshan.runtime.config import load_run_config

    cfg = load_run_config(rt.config_file, env={})
    assert cfg.store_url == f"sqlite:///{rt.store_file}"
    assert cfg.archive_root == rt.folder / "archive" and cfg.all_roles and cfg.bus_url is None


def test_realtime_section_on_the_page(small_demo):
    out, _, done, _ = small_demo
    rt = done["realtime"].result
    ev = rt.events[0]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "实时处理时间线 / Real-time timeline" in page
    section = page.split("实时处理时间线 / Real-time timeline", 1)[1]
    # the timeline table: one row per stored step, with its bilingual name
    for zh, en in (("发震时刻", "origin time"), ("首个震相", "first pick"), ("可定位震相", "locatable pick"),
                   ("首次定位", "first origin"), ("最终结果", "final")):
        assert f"<td class=l>{zh} {en}</td>" in section
    assert "Replay wall s after origin" in section and "20× real time" in section
    assert "realtime.sqlite" in section
    # origin and magnitude versions, and the comparison with the truth
    assert "Origin versions" in section and "Magnitude versions" in section
    versions = section.split("Origin versions", 1)[1].split("</table>", 1)[0]
    assert versions.count("<tr>") == len(ev.origins) + 1  # header + one row per version
    assert "真实震源 True source" in section and "实时最终结果 Real-time final" in section
    # no batch catalog in this run: no batch row
    assert "批处理目录 Batch catalog" not in section
    # the stage and its files are listed
    assert "realtime/tianshan.toml" in page and 'href="realtime.sqlite"' in page


def test_bad_speed_and_missing_archive_are_user_errors(tmp_path):
    from tianshan.demo.realtime import run_realtime

    with pytest.raises(InputError, match="speed"):
        run_realtime(tmp_path, tmp_path, inventory=tmp_path / "x.xml", begin=ORIGIN, speed=0.0)
    with pytest.raises(InputError, match="not found"):
        run_realtime(tmp_path / "nope", tmp_path, inventory=tmp_path / "x.xml", begin=ORIGIN)
    assert not (tmp_path / "realtime").exists()  # nothing started, nothing written


def test_clear_previous_removes_only_the_realtime_outputs(tmp_path):
    from tianshan.demo.realtime import clear_previous

    (tmp_path / "realtime" / "archive").mkdir(parents=True)
    (tmp_path / "realtime" / "run.log").write_text("x")
    for name in ("realtime.sqlite", "realtime.sqlite-wal", "index.html"):
        (tmp_path / name).write_text("x")
    (tmp_path / "scenario").mkdir()
    clear_previous(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "scenario"]


def test_cli_rejects_a_bad_realtime_speed(tmp_path, capsys):
    from tianshan.cli.main import main

    code = main(["demo", "--out", str(tmp_path / "o"), "--realtime-speed", "0"])
    assert code == 2
    assert "--realtime-speed" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
