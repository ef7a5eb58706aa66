"""The demo's real-time run: its scenario replayed through the SeedLink server into ``tianshan run``.

Issue 4, item 8: "the demo replays its simulated scenario through the SeedLink server into
``tianshan run``, so the same output folder now shows the real-time timeline of the event".

How the run is set up (:func:`run_realtime`)
--------------------------------------------
* A :class:`~tianshan.stream.seedlink_server.SeedLinkServer` on an ephemeral loopback port
  serves the scenario's SDS archive. Its station rings are created first (``load_sds``), so
  the client can select the stations before any record is released.
* The real daemon (:class:`~tianshan.runtime.daemon.Daemon`, every role, in-process bus) runs
  in this process's event loop, from a settings file written to ``<out>/realtime/tianshan.toml``
  (so ``tianshan run --config realtime/tianshan.toml`` runs the same configuration against a
  server of one's own; the port in the file is the one of the demo's server, gone after the
  demo). In-process rather than as a subprocess: no start-up of a second interpreter, and an
  error comes back as an exception naming the stage; the ``tianshan run --config`` path is
  tested by the runtime tests.
* Its own event store, ``<out>/realtime.sqlite`` (SQLite), never the demo's store: the batch
  catalog stage already stored its automatic event there, and the real-time chain would add a
  second automatic event for the same earthquake. Its archive is ``<out>/realtime/archive``
  (the live archive written as records arrive), its products ``<out>/realtime/products``, its
  structured log ``<out>/realtime/run.log`` (JSON lines). A re-run of the demo removes the
  previous real-time outputs first (the resume state of a former run would otherwise ask the
  new server for sequence numbers it never had).
* The replay starts once the daemon's SeedLink client is streaming, at ``speed`` times real
  time from the first sample of the scenario (``begin``). The replay clock maps data time
  ``t`` to wall time ``wall_start + (t - begin) / speed``: that is when the server releases a
  record ending at ``t`` (to within the few milliseconds between the call and the replay task's
  first step). :meth:`RealtimeResult.replay_wall` applies it.
* The run ends when the server has released its last record and the daemon has received no
  packet for ``idle_s`` seconds: the daemon is then stopped with a flush (the end of a replay,
  as ``tianshan run --until-idle``: the picker picks every sensor's data to its end, open
  events are finalised, magnitudes and reports computed), and shuts down gracefully. Stopping
  on idleness only after the replay is done keeps a slow start from ending the run early.

Two clocks
----------
Data time (the time in the waveforms) is what the replay reproduces exactly; wall time is the
computer's clock. At ``speed`` 10 the data arrive ten times faster than recorded, so in wall
time the *waiting for data* is compressed tenfold, while the *processing* (picking,
association, location, magnitudes, reports) runs at its real speed: wall delays between steps
that do not wait for data (locatable pick -> first origin, first origin -> first magnitude ->
first product) are real processing latencies; those that wait for more data are not.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from tianshan.core.errors import InputError

log = logging.getLogger(__name__)

#: Default replay speed of the demo (x real time).
DEFAULT_SPEED = 10.0
#: Seconds without packets, after the last record was released, that end the run.
DEFAULT_IDLE_S = 2.0
#: Name of the real-time run's own event store, in the demo's output folder.
STORE_NAME = "realtime.sqlite"
#: Folder of the real-time run (settings, archive, products, log), in the demo's output folder.
FOLDER_NAME = "realtime"


@dataclass(frozen=True)
class RealtimeResult:
    """What the real-time run left: the events read back from its store, and the replay's clocks.

    ``data_start``/``wall_start``: the replay clock's origin (data time of the first sample,
    wall time the replay started); ``replay_wall_s``: wall seconds until the server had released
    the last record; ``run_wall_s``: wall seconds from the daemon's start to the end of its
    shutdown; ``connect_wall_s``: from the daemon's start to its client streaming;
    ``intake_lag_s``: how long after the server released the last record the daemon received its
    last one (> a record's duration at ``speed``: the daemon did not keep up with the replay).
    ``events`` (full events with every origin and magnitude version) and ``timelines`` (per
    event id, in step order) come from the run's store; ``counters`` is the daemon's summary.
    """

    speed: float
    config_file: Path
    store_file: Path
    folder: Path
    data_start: datetime
    wall_start: datetime
    replay_wall_s: float
    run_wall_s: float
    connect_wall_s: float
    intake_lag_s: float | None = None
    events: tuple = ()
    timelines: Mapping[str, tuple] = field(default_factory=dict)
    counters: Mapping[str, Any] = field(default_factory=dict)

    def replay_wall(self, data_time: datetime) -> datetime:
        """Wall time at which the replay released the data of ``data_time`` (module docstring)."""
        return self.wall_start + (data_time - self.data_start) / self.speed

    def wall_after_s(self, wall_time: datetime, data_time: datetime) -> float:
        """Seconds of wall time from the release of ``data_time``'s data to ``wall_time``."""
        return (wall_time - self.replay_wall(data_time)).total_seconds()

    def nearest_event(self, origin_time: datetime):
        """The located event whose preferred origin time is closest to ``origin_time`` (None if none)."""
        located = [e for e in self.events if e.preferred_origin is not None]
        if not located:
            return None
        return min(located, key=lambda e: abs((e.preferred_origin.time - origin_time).total_seconds()))


def _toml_str(value: str) -> str:
    """A TOML basic string (paths, hosts)."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def realtime_settings_text(*, store_file: Path, inventory: Path, velocity_model: Path | None, port: int,
                           begin: datetime, selectors: Sequence[str] = ("TS_*",)) -> str:
    """The ``tianshan run`` settings of the demo's real-time run (TOML; paths absolute).

    Every role in one process on the in-process bus; the network is the scenario's StationXML
    (as the batch catalog stage uses) with the region's velocity model; the SeedLink source
    asks the demo's server for the whole scenario from ``begin``; HTTP on any free port.
    """
    stamp = begin.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lines = ["# tianshan run settings of the demo's real-time run (written by `tianshan demo`).",
             "# The SeedLink port is the demo's replay server, which stops with the demo.",
             'data_dir = "."',
             f"database_url = {_toml_str('sqlite:///' + str(store_file.absolute()))}",
             "",
             "[run]",
             'role = "all"',
             'bus = "memory"',
             f"inventory = {_toml_str(str(inventory.absolute()))}"]
    if velocity_model is not None:
        lines.append(f"velocity_model = {_toml_str(str(velocity_model.absolute()))}")
    lines += ['archive = "archive"',
              'log_format = "json"',
              "",
              "[[run.seedlink]]",
              'host = "127.0.0.1"',
              f"port = {int(port)}",
              "selectors = [" + ", ".join(_toml_str(s) for s in selectors) + "]",
              f"begin_time = {stamp}",
              "",
              "[run.http]",
              'host = "127.0.0.1"',
              "port = 0",
              ""]
    return "\n".join(lines)


def clear_previous(out_dir: Path) -> None:
    """Remove the outputs of a former real-time run of the demo in ``out_dir`` (module docstring)."""
    shutil.rmtree(out_dir / FOLDER_NAME, ignore_errors=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        (out_dir / (STORE_NAME + suffix)).unlink(missing_ok=True)


@contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """Send the ``tianshan`` loggers' INFO records to ``path`` (JSON lines) for the duration of the run."""
    from tianshan.runtime.logs import QUIET, JsonFormatter

    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.INFO)
    top = logging.getLogger("tianshan")
    quiet = [logging.getLogger(n) for n in QUIET]
    saved = (top.level, [q.level for q in quiet])
    top.addHandler(handler)
    if top.getEffectiveLevel() > logging.INFO:
        top.setLevel(logging.INFO)
    for q in quiet:
        q.setLevel(logging.WARNING)
    try:
        yield
    finally:
        top.removeHandler(handler)
        handler.close()
        top.setLevel(saved[0])
        for q, level in zip(quiet, saved[1]):
            q.setLevel(level)


def run_realtime(sds_root: Path, out_dir: Path, *, inventory: Path, begin: datetime,
                 velocity_model: Path | None = None, speed: float = DEFAULT_SPEED,
                 idle_s: float = DEFAULT_IDLE_S, timeout_s: float = 900.0,
                 selectors: Sequence[str] = ("TS_*",)) -> RealtimeResult:
    """Replay ``sds_root`` through a SeedLink server into an in-process ``tianshan run`` (module docstring).

    ``begin``: data time the replay starts from (the scenario's first sample); ``speed`` x real
    time (> 0); ``timeout_s``: the whole run's wall-time limit (the daemon is stopped and
    :class:`TimeoutError` raised past it). Raises :class:`InputError` for a bad speed or a
    missing archive. Blocks; runs its own event loop (call it outside one).
    """
    if not (isinstance(speed, (int, float)) and speed > 0 and speed != float("inf")):
        raise InputError(f"replay speed must be a finite number > 0, got {speed!r}", field="--realtime-speed")
    if not Path(sds_root).is_dir():
        raise InputError("SDS archive to replay not found", source=str(sds_root))
    out_dir = Path(out_dir)
    clear_previous(out_dir)
    folder = out_dir / FOLDER_NAME
    folder.mkdir(parents=True)
    store_file = out_dir / STORE_NAME
    with _log_to(folder / "run.log"):
        return asyncio.run(_run(Path(sds_root), folder, store_file, inventory=Path(inventory), begin=begin,
                                velocity_model=velocity_model, speed=float(speed), idle_s=float(idle_s),
                                timeout_s=float(timeout_s), selectors=tuple(selectors)))


async def _run(sds_root: Path, folder: Path, store_file: Path, *, inventory: Path, begin: datetime,
               velocity_model: Path | None, speed: float, idle_s: float, timeout_s: float,
               selectors: tuple[str, ...]) -> RealtimeResult:
    from tianshan.io.atomic import atomic_write_text
    from tianshan.runtime.config import load_run_config
    from tianshan.runtime.daemon import Daemon
    from tianshan.stream.seedlink_server import SeedLinkServer

    deadline = time.monotonic() + timeout_s
    server = await SeedLinkServer("127.0.0.1", 0).start()
    daemon = task = None
    try:
        server.load_sds(sds_root)  # creates the station rings the client selects; records come with the replay
        config_file = atomic_write_text(folder / "tianshan.toml", realtime_settings_text(
            store_file=store_file, inventory=inventory, velocity_model=velocity_model, port=server.port,
            begin=begin, selectors=selectors))
        config = load_run_config(config_file, env={})
        daemon = Daemon(config)
        t_run = time.monotonic()
        task = asyncio.create_task(daemon.run(install_signals=False), name="demo-realtime-daemon")
        await _until(lambda: _streaming(daemon), task, deadline, "the daemon's SeedLink client to stream")
        connect_s = time.monotonic() - t_run
        begin_ns = round(begin.timestamp() * 1e9)
        server.replay_sds(sds_root, start_ns=begin_ns, speed=speed)
        wall_start = datetime.now(timezone.utc)
        t_replay = time.monotonic()
        await _until(server.replay_done.is_set, task, deadline, "the replay to end")
        replay_end = time.monotonic()
        replay_s = replay_end - t_replay
        await _until(lambda: daemon.activity.idle_s() >= idle_s, task, deadline, "the daemon to go idle")
        last = daemon.activity.last_packet_mono
        intake_lag_s = None if last is None else max(0.0, last - replay_end)
        daemon.request_stop(flush=True)
        remaining = max(1.0, deadline - time.monotonic())
        try:
            await asyncio.wait_for(asyncio.shield(task), remaining)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the real-time run did not shut down within {timeout_s:.0f} s") from None
        run_s = time.monotonic() - t_run
    finally:
        if task is not None and not task.done():
            daemon.request_stop()
            try:
                await asyncio.wait_for(task, 60.0)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - the first error is the one reported
                log.exception("real-time demo: daemon shutdown after an error failed")
        await server.close()
    counters = daemon.summary()
    events, timelines = await asyncio.to_thread(read_store, store_file)
    return RealtimeResult(speed, config_file, store_file, folder, begin, wall_start, replay_s, run_s, connect_s,
                          intake_lag_s, events, timelines, counters)


def _streaming(daemon) -> bool:
    """True once every SeedLink source of the daemon's acquisition is connected and streaming."""
    acq = daemon.roles.get("acquisition")
    if acq is None:
        return False
    sources = acq.health().get("sources", [])
    return bool(sources) and all(s.get("connected") for s in sources)


async def _until(predicate, task: asyncio.Task, deadline: float, what: str) -> None:
    """Poll ``predicate`` until true; raise the daemon's error if it stopped, TimeoutError at ``deadline``."""
    while not predicate():
        if task.done():
            task.result()  # re-raises the daemon's exception
            raise RuntimeError(f"the daemon stopped while waiting for {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def read_store(store_file: Path) -> tuple[tuple, dict[str, tuple]]:
    """Every event of the real-time store (all versions) and its timeline, keyed by event id."""
    from tianshan.store.repository import EventStore

    with EventStore.open(f"sqlite:///{Path(store_file).absolute()}") as store:
        events = tuple(store.get_event(e.id) for e in store.events())
        timelines = {e.id: tuple(store.timeline(e.id)) for e in events}
    return events, timelines


# --------------------------------------------------------------------------- figures

def _seconds(a: datetime | None, b: datetime) -> float | None:
    return None if a is None else (a - b).total_seconds()


def _round(v: float | None, nd: int = 3) -> float | None:
    return None if v is None else round(v, nd)


def solution_figures(origin, magnitude, source) -> dict[str, Any]:
    """An origin (and magnitude) against the true source: errors in time, epicentre, depth."""
    from tianshan.regions.model import haversine_m

    return {"time_error_s": _round(_seconds(origin.time, source.origin_time)),
            "epicentre_error_km": _round(haversine_m(origin.latitude_deg, origin.longitude_deg, source.latitude_deg,
                                                     source.longitude_deg) / 1000.0),
            "latitude_deg": _round(origin.latitude_deg, 4), "longitude_deg": _round(origin.longitude_deg, 4),
            "depth_km": _round(origin.depth_m / 1000.0), "rms_s": _round(origin.rms_s),
            "stations": origin.station_count,
            "magnitude": None if magnitude is None else f"{magnitude.type} {magnitude.value:.2f}"}


def realtime_figures(rt: RealtimeResult, source, catalog_event=None) -> dict[str, Any]:
    """The JSON summary of the real-time run: timeline per step (data and wall seconds after the
    true origin time), processing delays, versions, the final solution against the truth and
    against the batch catalog's event (``catalog_event``, may be None)."""
    from tianshan.core.timeline import latencies, ordered

    ev = rt.nearest_event(source.origin_time)
    c = rt.counters
    out: dict[str, Any] = {
        "speed": rt.speed, "store": str(rt.store_file), "events": len(rt.events),
        "replay_wall_s": round(rt.replay_wall_s, 2), "run_wall_s": round(rt.run_wall_s, 2),
        "connect_wall_s": round(rt.connect_wall_s, 2), "intake_lag_s": _round(rt.intake_lag_s, 2),
        "records": c.get("gate", {}).get("accepted"),
        "picks": c.get("picker", {}).get("picks_published"),
        "picker_jobs_dropped": c.get("picker", {}).get("jobs_dropped")}
    if ev is None:
        return out
    entries = ordered(rt.timelines.get(ev.id, ()))
    out.update(event_id=ev.id, origin_versions=len(ev.origins), magnitude_versions=len(ev.magnitudes),
               type=ev.type.value if ev.type else None)
    out["timeline"] = {e.step: {"data_s": _round(_seconds(e.data_time, source.origin_time)),
                                "wall_s": _round(rt.wall_after_s(e.wall_time, source.origin_time))}
                       for e in entries}
    out["delays_s"] = {k: round(v, 3) for k, v in latencies(entries).items() if not k.startswith("origin_time_to_")}
    out["first"] = solution_figures(ev.origins[0], ev.magnitudes[0] if ev.magnitudes else None, source)
    out["final"] = solution_figures(ev.preferred_origin, ev.preferred_magnitude, source)
    if catalog_event is not None and catalog_event.preferred_origin is not None:
        from tianshan.regions.model import haversine_m

        a, b = ev.preferred_origin, catalog_event.preferred_origin
        ma, mb = ev.preferred_magnitude, catalog_event.preferred_magnitude
        out["vs_catalog"] = {
            "time_s": _round(_seconds(a.time, b.time)),
            "epicentre_km": _round(haversine_m(a.latitude_deg, a.longitude_deg, b.latitude_deg,
                                               b.longitude_deg) / 1000.0),
            "depth_km": _round((a.depth_m - b.depth_m) / 1000.0),
            "magnitude": (None if ma is None or mb is None or ma.type != mb.type
                          else _round(ma.value - mb.value, 2))}
    return out


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _f(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def realtime_sections(rt: RealtimeResult | None, source, catalog_event=None) -> list:
    """The page section "实时处理时间线 / Real-time timeline" (and versions, comparison)."""
    from tianshan.core.timeline import STEP_NAMES, latencies, ordered
    from tianshan.demo.report import Section, Table
    from tianshan.regions.model import haversine_m

    if rt is None:
        return []
    title = "实时处理时间线 / Real-time timeline"
    setup = (f"场景波形经 SeedLink 服务器以 {rt.speed:g} 倍速回放，送入实时守护进程 tianshan run（全部角色，进程内总线）。"
             f"实时结果存入独立的事件库 {rt.store_file.name}，与上文批处理目录所用的事件库分开，避免同一地震出现两个自动事件。 "
             f"The scenario's waveforms were replayed through the SeedLink server at {rt.speed:g}× real time into "
             f"the real-time daemon `tianshan run` (every role, in-process bus). Its results are in their own event "
             f"store, {rt.store_file.name} (settings: {FOLDER_NAME}/tianshan.toml, live archive: "
             f"{FOLDER_NAME}/archive, "
             f"log: {FOLDER_NAME}/run.log), kept apart from the store of the batch catalog above so that the same "
             f"earthquake does not appear as two automatic events.")
    clocks = (f"两种时钟：'数据时间'是波形中的时间，回放精确再现；'回放秒'是计算机时钟，从回放服务器送出发震时刻数据的那一刻算起。"
              f"{rt.speed:g} 倍速下数据到达被压缩为 1/{rt.speed:g}，而处理（拾取、关联、定位、震级、产品）按真实速度进行："
              f"不等待新数据的步骤间隔（可定位震相→首次定位→首个震级→首个产品）是真实处理延迟。 "
              f"Two clocks: data time is the time in the waveforms, which the replay reproduces exactly; replay wall "
              f"seconds are the computer's clock, counted from the moment the server released the data of the true "
              f"origin time. At {rt.speed:g}× the arrival of data is compressed {rt.speed:g}-fold (a live network "
              f"waits {rt.speed:g} times longer for the same waves), while the processing (picking, association, "
              f"location, magnitudes, products) runs at its real speed: the wall delays of steps that do not wait for "
              f"more data (locatable pick → first origin → first magnitude → first product) are real processing "
              f"latencies.")
    lag = rt.intake_lag_s or 0.0
    run = (f"回放 {rt.replay_wall_s:.1f} 秒（墙钟），守护进程运行 {rt.run_wall_s:.1f} 秒；最后一条记录在回放送出后 {lag:.1f} 秒被接收。 "
           f"Replay {rt.replay_wall_s:.1f} s of wall time; the daemon ran {rt.run_wall_s:.1f} s (connect "
           f"{rt.connect_wall_s:.1f} s, then the replay, then the flush at the end of the data and the shutdown) "
           f"and received the last record {lag:.1f} s after the server released it"
           + (" (it did not keep up with the accelerated replay: its wall figures include that backlog)."
              if lag > 1.0 else "."))
    ev = rt.nearest_event(source.origin_time)
    if ev is None:
        return [Section(title, paragraphs=(setup, "实时处理未产生事件。 The real-time chain declared no event.", run))]
    entries = ordered(rt.timelines.get(ev.id, ()))
    lat = latencies(entries)
    prev_wall = None
    rows = []
    for e in entries:
        zh, en = STEP_NAMES[e.step]
        delta = None
        if e.step != "origin_time":  # recorded with the first origin: not a step of its own in wall time
            delta = None if prev_wall is None else (e.wall_time - prev_wall).total_seconds()
            prev_wall = e.wall_time
        rows.append((f"{zh} {en}", "–" if e.data_time is None else _iso(e.data_time),
                     _f(_seconds(e.data_time, source.origin_time), "+.2f"),
                     f"{rt.wall_after_s(e.wall_time, source.origin_time):+.2f}", _f(delta, ".3f"), e.detail))
    timeline = Table(("步骤 Step", "数据时间 Data time (UTC)", "数据秒 Data s after origin",
                      "回放秒 Replay wall s after origin", "Δ 墙钟 Wall Δ (s)", "说明 Detail"), rows,
                     caption=f"事件 Event {ev.id}", left=(0, 1, 5))
    delays = [f"{STEP_NAMES[a][1]} → {STEP_NAMES[b][1]}: {lat[f'{a}_to_{b}_s']:.3f} s"
              for a, b in (("locatable_pick", "first_origin"), ("first_origin", "first_magnitude"),
                           ("first_magnitude", "first_product")) if f"{a}_to_{b}_s" in lat]
    processing = ("处理延迟（墙钟，真实） Processing delays (wall clock, real): " + "; ".join(delays) + ".") if delays else ""
    columns = ("数据秒 = 数据时间减真实发震时刻；回放秒 = 系统时间减回放送出真实发震时刻数据的时刻；Δ = 与上一步骤的墙钟间隔。"
               "发震时刻一行的系统时间是首次定位记录它的时刻。 Data s = data time minus the true origin time; replay "
               "wall s = wall time minus the moment the replay released the data of the true origin time; Δ = wall "
               "time since the previous step. The origin-time row holds the first origin's estimate, recorded (wall "
               "time) with the first origin.")

    pref_o = ev.preferred_origin.id if ev.preferred_origin else None
    o_rows = []
    for o in ev.origins:
        o_rows.append((f"{o.version}{' *' if o.id == pref_o else ''}",
                       f"{rt.wall_after_s(o.created_at, source.origin_time):+.2f}",
                       f"{(o.time - source.origin_time).total_seconds():+.2f}", f"{o.latitude_deg:.3f}",
                       f"{o.longitude_deg:.3f}", f"{o.depth_m / 1000:.1f}", _f(o.rms_s, ".2f"),
                       _f(o.station_count, "d"), _f(o.phase_count, "d"), o.evaluation_status.value))
    origins = Table(("版本 Version", "回放秒 Created, wall s", "时刻 Time − true (s)", "纬度 Lat (°N)",
                     "经度 Lon (°E)", "深度 Depth (km)", "RMS (s)", "台站 Stations", "震相 Phases", "状态 Status"),
                    o_rows, caption="定位版本 Origin versions (* preferred)", left=(9,))
    pref_m = ev.preferred_magnitude.id if ev.preferred_magnitude else None
    m_rows = [(f"{m.version}{' *' if m.id == pref_m else ''}",
               f"{rt.wall_after_s(m.created_at, source.origin_time):+.2f}", m.type, f"{m.value:.2f}", _f(m.station_count, "d"), m.evaluation_status.value)
              for m in ev.magnitudes]
    mags = Table(("版本 Version", "回放秒 Created, wall s", "类型 Type", "震级 Value", "台站 Stations", "状态 Status"),
                 m_rows, caption="震级版本 Magnitude versions (* preferred)", left=(2, 5))

    def solution(label: str, o, m) -> tuple[str, ...]:
        err = haversine_m(o.latitude_deg, o.longitude_deg, source.latitude_deg, source.longitude_deg) / 1000.0
        return (label, f"{(o.time - source.origin_time).total_seconds():+.2f}", f"{o.latitude_deg:.3f}",
                f"{o.longitude_deg:.3f}", f"{err:.1f}", f"{o.depth_m / 1000:.1f}", _f(o.rms_s, ".2f"),
                _f(o.station_count, "d"), "–" if m is None else f"{m.type} {m.value:.2f}")

    c_rows = [("真实震源 True source", "+0.00", f"{source.latitude_deg:.3f}", f"{source.longitude_deg:.3f}", "0.0",
               f"{source.depth_m / 1000:.1f}", "–", "–", f"Mw {source.mw:.2f}")]
    if catalog_event is not None and catalog_event.preferred_origin is not None:
        c_rows.append(solution("批处理目录 Batch catalog", catalog_event.preferred_origin,
                               catalog_event.preferred_magnitude))
    c_rows.append(solution("实时首次定位 Real-time first origin", ev.origins[0],
                           ev.magnitudes[0] if ev.magnitudes else None))
    c_rows.append(solution("实时最终结果 Real-time final", ev.preferred_origin, ev.preferred_magnitude))
    compare = Table(("解 Solution", "时刻 Time − true (s)", "纬度 Lat (°N)", "经度 Lon (°E)", "震中误差 Epicentre error (km)",
                     "深度 Depth (km)", "RMS (s)", "台站 Stations", "震级 Magnitude"), c_rows,
                    caption="实时、批处理与真实震源对比 Real-time vs batch catalog vs true source", left=(0, 8))
    paragraphs = [setup, clocks, run, columns]
    if processing:
        paragraphs.append(processing)
    others = [e for e in rt.events if e.id != ev.id]
    if others:
        paragraphs.append(f"实时库中另有 {len(others)} 个事件。 The real-time store holds {len(others)} other event(s): "
                          + ", ".join(f"{e.id} ({e.type.value if e.type else '–'})" for e in others) + ".")
    c = rt.counters
    pk = c.get("picker", {})
    rows_kv = (("事件类型 Event type", f"{ev.type.value if ev.type else '–'} ({ev.type_certainty or '–'})"),
               ("记录 Records received", f"{c.get('gate', {}).get('accepted', 0)} of "
                                        f"{c.get('gate', {}).get('received', 0)}"),
               ("实时拾取 Picks published", str(pk.get("picks_published", "–"))),
               ("版本 Versions", f"{len(ev.origins)} origins, {len(ev.magnitudes)} magnitudes"))
    return [Section(title, rows=rows_kv, paragraphs=tuple(paragraphs), tables=(timeline, origins, mags, compare))]


__all__ = ["DEFAULT_SPEED", "DEFAULT_IDLE_S", "STORE_NAME", "FOLDER_NAME", "RealtimeResult", "run_realtime",
           "read_store", "realtime_settings_text", "clear_previous", "realtime_figures", "realtime_sections",
           "solution_figures"]
