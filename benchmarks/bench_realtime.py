"""Benchmark (issue 4): 200 stations x 3 components x 100 Hz replayed in real time into ``tianshan run``.

Set-up (:mod:`realtime_network`): the 69 XJ stations + synthetic stations on a jittered grid over
the Tian Shan box (``--stations``, default 200; HH? at 100 Hz), one continuous simulated archive
of ``--span`` seconds (default 600) holding ``--events`` (default 3) Mw 3.5-5.5 earthquakes inside
the network, made once and cached under ``--keep DIR``.

Run: two separate processes, as in operation --

1. ``tianshan seedlink serve --archive <sds> --speed S --port P`` replays the archive at ``--speed``
   (default 1: real time). Its replay clock starts when it prints "SeedLink server on ..."
   (the replay task starts right after that line): ``t0``. Replay clock at wall time ``t``:
   ``start + S (t - t0)``.
2. ``tianshan run --config <cfg> --until-idle I``: every role in one process (in-process bus),
   classical picker, SQLite store and live SDS archive in a temporary folder, one SeedLink
   source asking for every station from the archive's start (the records the server released
   before the daemon connected come at once: the first seconds are a catch-up). The daemon
   stops by itself ``I`` seconds after the replay's last packet (flushing every stage).

Every ``--sample`` seconds of wall time the benchmark reads the CPU times of both processes
(psutil: user + system of all threads) and the machine's, and scrapes the daemon's ``/health``
(picker data frontier, processed frontier = data-time clock, pending windows) and ``/metrics``
(per-stream SeedLink latency, bus lag, stage counters, packet-to-pick latency quantiles).

Figures (JSON on stdout), over the **steady part**: from ``--warmup`` data seconds after the
replay start (start-up catch-up excluded) to the end of the replay --

* ``cpu``: daemon and server CPU share (CPU seconds / wall seconds; 1.0 = one core busy), the
  largest share over one sample interval, the machine's busy share of all cores (others' load),
  load averages at the start and end;
* ``real_time``: lags behind the server's replay clock: acquisition (the stalest stream's last
  sample: ``max over streams of replay clock - last sample received``; a record is released
  only once its last sample is due, so a few seconds of record length are normal) and
  processing (replay clock - the picker's processed frontier: every window before it is picked;
  includes ``step_s`` and a record length); their maxima, values at the end, and the slope of
  the processing lag against data time over the steady part (least squares; ~0 when keeping
  up, > 0 when falling behind);
  bus lag (messages waiting), pending picker windows, ``jobs_dropped``. ``kept_up`` is true when
  no window was dropped, the stalest stream never lagged more than 30 s, the processing lag
  never exceeded 60 s and its median over the last quarter of the steady samples exceeds that
  over the first quarter by at most 10 s (one ``step_s``: the lag is a saw-tooth of one step
  plus a record, so only a growth beyond that means falling behind);
* ``packet_to_pick_latency_s``: p50/p90/p99/max over the picks published live (the daemon's
  ``tianshan_packet_to_pick_latency_quantile_seconds``, last scrape before the shutdown);
* ``events``: per stored event, its timeline delays (``locatable_pick_to_first_origin_s``: the
  issue's "first origin within 2 s of the pick that makes it locatable"; ``first_pick_to_...``),
  ``origin_to_first_origin_s`` (first origin's wall time minus the wall time at which the replay
  clock passed the true origin time; at ``--speed 1`` the real-time alert delay), and the match
  with the simulated sources (|dt| <= 10 s, <= 100 km);
* ``series``: every sample as columns (replay time, daemon CPU share over the interval, pending
  picker windows, processing and stalest-stream lags, picks, load average).

Run: ``.venv/bin/python benchmarks/bench_realtime.py [--stations 200] [--speed 1] [--span 600]
[--events 3] [--keep DIR] [--warmup 60] [--sample 5]``; smoke: ``--stations 20 --speed 5``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realtime_network import T0, make_case  # noqa: E402

PY = sys.executable


def _log(msg: str) -> None:
    print(f"[{datetime.now(timezone.utc).strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 10.0) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()
    except Exception:  # noqa: BLE001 - 503 while degraded, daemon stopping: no sample
        return None


_WANTED = ("tianshan_seedlink_latency_seconds{", "tianshan_bus_lag{", "tianshan_stage_total{",
           "tianshan_packet_to_pick_latency_quantile_seconds{", "tianshan_packet_to_pick_latency_seconds_count")


def _labels(text: str) -> dict:
    """``a="x",b="y"`` -> dict (label values here hold no quotes or commas)."""
    out = {}
    for part in text.split('",'):
        k, _, v = part.partition('="')
        out[k.strip(",")] = v.rstrip('"')
    return out


def _parse_metrics(text: str) -> dict:
    """The few series the benchmark needs, from Prometheus text (exposition format 0.0.4: one
    ``name{labels} value`` per line); a filter on the line start keeps this cheap on the
    ~4,000 series of a 200-station daemon."""
    out = {"stream_latency_s": [], "bus_lag": 0.0, "stage": {}, "quantiles": {}, "hist_count": None}
    for line in text.splitlines():
        if not line.startswith(_WANTED):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        v = float(value)
        labels = _labels(rest.rstrip("}")) if rest else {}
        if name == "tianshan_seedlink_latency_seconds":
            out["stream_latency_s"].append(v)
        elif name == "tianshan_bus_lag":
            out["bus_lag"] += v
        elif name == "tianshan_stage_total":
            out["stage"][f"{labels.get('role')}.{labels.get('counter')}"] = v
        elif name == "tianshan_packet_to_pick_latency_quantile_seconds":
            out["quantiles"][labels.get("quantile")] = v
        elif name == "tianshan_packet_to_pick_latency_seconds_count":
            out["hist_count"] = v
    return out


def _iso(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


class Sampler:
    """CPU times, health and metrics every ``period_s`` (see the module docstring)."""

    def __init__(self, daemon_pid: int, server_pid: int, t0: float, start: float, speed: float) -> None:
        import psutil

        self.daemon = psutil.Process(daemon_pid)
        self.server = psutil.Process(server_pid)
        self.me = psutil.Process()
        self.t0, self.start, self.speed = t0, start, speed
        self.samples: list[dict] = []
        self.url: str | None = None

    def replay_clock(self, t: float) -> float:
        return self.start + self.speed * (t - self.t0)

    def sample(self) -> dict | None:
        import psutil

        try:
            cd = self.daemon.cpu_times()
            cs = self.server.cpu_times()
            rss = self.daemon.memory_info().rss
        except psutil.Error:
            return None
        cb = self.me.cpu_times()
        m = psutil.cpu_times()
        t = time.time()
        row = {"t": t, "replay_s": self.replay_clock(t) - self.start, "cpu_daemon": cd.user + cd.system,
               "cpu_server": cs.user + cs.system, "cpu_bench": cb.user + cb.system, "machine_busy": sum(m) - m.idle - getattr(m, "iowait", 0.0),
               "machine_total": sum(m), "rss_daemon_mib": rss / 2**20, "load1": os.getloadavg()[0]}
        if self.url is not None:
            body = _get(self.url + "/health")
            if body is not None:
                h = json.loads(body)
                p = h.get("components", {}).get("picker", {})
                clock = self.replay_clock(t)
                front, proc = _iso(p.get("data_frontier")), _iso(p.get("processed_frontier"))
                row.update(status=h.get("status"), pending=p.get("pending"),
                           newest_lag_s=None if front is None else clock - front,
                           processing_lag_s=None if proc is None else clock - proc)
            body = _get(self.url + "/metrics")
            if body is not None:
                m = _parse_metrics(body.decode())
                # per-stream latency = now - last sample; replay lag = that - (now - replay clock)
                offset = t - self.replay_clock(t)
                lat = m["stream_latency_s"]
                row.update(streams=len(lat), stalest_stream_lag_s=(max(lat) - offset) if lat else None,
                           median_stream_lag_s=(statistics.median(lat) - offset) if lat else None,
                           bus_lag=m["bus_lag"], jobs_dropped=m["stage"].get("picker.jobs_dropped"),
                           windows=m["stage"].get("picker.windows"),
                           picks=m["stage"].get("picker.picks_published"), quantiles=m["quantiles"],
                           latency_count=m["hist_count"])
        self.samples.append(row)
        return row


def _slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ys on xs (ordinary linear regression)."""
    if len(xs) < 3:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return None if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


def _round(v, nd=3):
    return None if v is None else round(v, nd)


def steady_figures(samples: list[dict], warmup_s: float, span_s: float, speed: float) -> dict:
    steady = [s for s in samples if warmup_s <= s["replay_s"] <= span_s]
    if len(steady) < 2:
        return {"error": f"only {len(steady)} samples in the steady part"}
    a, b = steady[0], steady[-1]
    wall = b["t"] - a["t"]
    shares = [(y["cpu_daemon"] - x["cpu_daemon"]) / (y["t"] - x["t"]) for x, y in zip(steady, steady[1:])]
    cores = os.cpu_count() or 1

    def series(key):
        return [s[key] for s in steady if s.get(key) is not None]

    proc = [(s["replay_s"], s["processing_lag_s"]) for s in steady if s.get("processing_lag_s") is not None]
    slope = _slope([p[0] for p in proc], [p[1] for p in proc])
    stalest = series("stalest_stream_lag_s")
    dropped = b.get("jobs_dropped") or 0
    proc_lags = [p[1] for p in proc]
    quarter = max(1, len(proc_lags) // 4)
    growth = (statistics.median(proc_lags[-quarter:]) - statistics.median(proc_lags[:quarter])) if proc_lags else None
    kept = (dropped == 0 and bool(stalest) and max(stalest) <= 30.0 and bool(proc_lags) and max(proc_lags) <= 60.0
            and growth is not None and growth <= 10.0)
    return {
        "window": {"from_replay_s": round(a["replay_s"], 1), "to_replay_s": round(b["replay_s"], 1),
                   "wall_s": round(wall, 1), "samples": len(steady)},
        "cpu": {"daemon_share": round((b["cpu_daemon"] - a["cpu_daemon"]) / wall, 3),
                "daemon_share_max_interval": round(max(shares), 3),
                "server_share": round((b["cpu_server"] - a["cpu_server"]) / wall, 3),
                "benchmark_sampler_share": round((b["cpu_bench"] - a["cpu_bench"]) / wall, 3),
                "machine_busy_share_of_all_cores": round((b["machine_busy"] - a["machine_busy"])
                                                         / (b["machine_total"] - a["machine_total"]), 3),
                "cores": cores, "load1_start": round(a["load1"], 2), "load1_end": round(b["load1"], 2),
                "load1_max": round(max(series("load1")), 2),
                "daemon_rss_mib_end": round(b["rss_daemon_mib"]),
                "daemon_cpu_s_per_window": _round((b["cpu_daemon"] - a["cpu_daemon"])
                                                  / max(1.0, (b.get("windows") or 0) - (a.get("windows") or 0)), 4)},
        "real_time": {
            "kept_up": kept,
            "stalest_stream_lag_s": {"max": _round(max(stalest, default=None), 2),
                                     "end": _round(b.get("stalest_stream_lag_s"), 2)},
            "median_stream_lag_s_end": _round(b.get("median_stream_lag_s"), 2),
            "newest_data_lag_s_end": _round(b.get("newest_lag_s"), 2),
            "processing_lag_s": {"max": _round(max(proc_lags, default=None), 2),
                                 "end": _round(b.get("processing_lag_s"), 2),
                                 "median": _round(statistics.median(proc_lags) if proc_lags else None, 2),
                                 "growth_last_vs_first_quarter_s": _round(growth, 2),
                                 "slope_s_per_data_s": _round(slope, 4)},
            "bus_lag_max": max(series("bus_lag"), default=None), "bus_lag_end": b.get("bus_lag"),
            "picker_pending_max": max(series("pending"), default=None), "picker_pending_end": b.get("pending"),
            "jobs_dropped": dropped,
            "picker_windows_per_s": _round(((b.get("windows") or 0) - (a.get("windows") or 0)) / wall, 2)},
    }


def series(samples: list[dict]) -> dict:
    """The samples as compact columns (for plots and for finding when a backlog built up)."""
    cols = {"replay_s": [], "daemon_cpu_share": [], "pending": [], "processing_lag_s": [],
            "stalest_stream_lag_s": [], "picks": [], "load1": []}
    prev = None
    for s in samples:
        cols["replay_s"].append(round(s["replay_s"], 1))
        cols["daemon_cpu_share"].append(None if prev is None else
                                        round((s["cpu_daemon"] - prev["cpu_daemon"]) / (s["t"] - prev["t"]), 3))
        for key in ("pending", "picks"):
            cols[key].append(s.get(key))
        for key in ("processing_lag_s", "stalest_stream_lag_s", "load1"):
            cols[key].append(_round(s.get(key), 2))
        prev = s
    return cols


def event_figures(store_url: str, sources: list[dict], t0: float, speed: float) -> list[dict]:
    from tianshan.core.timeline import latencies
    from tianshan.regions.model import haversine_m
    from tianshan.store import EventStore

    rows = []
    truth = [dict(s, t=datetime.fromisoformat(s["origin_time"])) for s in sources]
    start = T0.timestamp()
    with EventStore.open(store_url, upgrade=False) as store:
        for ev in store.events():
            o = ev.preferred_origin
            tl = store.timeline(ev.id)
            lat = latencies(tl)
            steps = {e.step: e for e in tl}
            row = {"id": ev.id, "type": None if ev.type is None else str(ev.type.value if hasattr(ev.type, "value")
                                                                             else ev.type),
                   "origins": len(ev.origins), "picks": len(ev.picks),
                   "p_stations": len({p.stream_id.station for p in ev.picks if p.phase == "P"}),
                   "magnitude": None if ev.preferred_magnitude is None else
                   f"{ev.preferred_magnitude.type} {ev.preferred_magnitude.value:.2f}",
                   "steps": [e.step for e in tl]}
            for key in ("first_pick_to_locatable_pick_s", "locatable_pick_to_first_origin_s",
                        "first_pick_to_first_origin_s", "first_origin_to_first_magnitude_s",
                        "first_magnitude_to_first_product_s", "first_origin_to_final_s"):
                row[key] = _round(lat.get(key))
            best = None
            if o is not None:
                row["origin"] = {"time": o.time.isoformat(), "lat": round(o.latitude_deg, 3),
                                 "lon": round(o.longitude_deg, 3), "depth_km": round(o.depth_m / 1000, 1)}
                for s in truth:
                    dt = abs((o.time - s["t"]).total_seconds())
                    km = haversine_m(o.latitude_deg, o.longitude_deg, s["latitude_deg"], s["longitude_deg"]) / 1e3
                    if dt <= 10.0 and km <= 100.0 and (best is None or km < best[1]):
                        best = (s, km, dt)
            if best is not None:
                s, km, dt = best
                row["source"] = {"time": s["origin_time"], "mw": round(s["mw"], 2), "epicentral_error_km": round(km, 1),
                                 "dt_s": round(dt, 2)}
                fo = steps.get("first_origin")
                if fo is not None:  # wall time at which the replay clock passed the true origin time
                    origin_wall = t0 + (s["t"].timestamp() - start) / speed
                    row["origin_to_first_origin_s"] = round(fo.wall_time.timestamp() - origin_wall, 2)
                lp = steps.get("locatable_pick")
                if lp is not None and lp.data_time is not None:
                    row["origin_to_locatable_pick_data_s"] = round((lp.data_time - s["t"]).total_seconds(), 2)
            rows.append(row)
    return rows


def _write_config(path: Path, work: Path, case: dict, port: int) -> None:
    path.write_text(f"""data_dir = "{work / 'data'}"
log_level = "INFO"
[run]
inventory = "{case['stationxml']}"
velocity_model = "{case['velocity_csv']}"
archive = "{work / 'archive'}"
log_format = "json"
[[run.seedlink]]
host = "127.0.0.1"
port = {port}
selectors = {json.dumps([f"{n}_*" for n in case['networks']])}
begin_time = {T0.strftime("%Y-%m-%dT%H:%M:%SZ")}
[run.http]
port = 0
""", encoding="utf-8")


def _final_summary(log_path: Path) -> dict:
    """The daemon's counters logged with its last line ("stopped in ...")."""
    out = {}
    errors = 0
    with open(log_path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("level") in ("ERROR", "CRITICAL"):
                errors += 1
            if str(rec.get("msg", "")).startswith("stopped in"):
                out = {k: v for k, v in rec.items() if k not in ("ts", "level", "logger")}
    out["error_log_lines"] = errors
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--span", type=float, default=600.0, help="seconds of simulated data")
    ap.add_argument("--events", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="cache folder of the simulated network + archive")
    ap.add_argument("--warmup", type=float, default=60.0, help="data seconds left out at the start")
    ap.add_argument("--sample", type=float, default=5.0, help="sampling period, wall seconds")
    ap.add_argument("--idle", type=float, default=10.0, help="daemon --until-idle seconds")
    ap.add_argument("--work", type=Path, help="keep the run folder (store, archive, logs) here")
    args = ap.parse_args(argv)
    load_start = os.getloadavg()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="rt_case_"))
    case = make_case(keep, args.stations, args.span, args.events, args.seed, log=_log)
    _log(f"case {case['folder']}: {case['stations']} stations, {case['channels']} channels, "
         f"{len(case['sources'])} sources")
    work = args.work or Path(tempfile.mkdtemp(prefix="rt_run_"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    cfg = work / "tianshan.toml"
    _write_config(cfg, work, case, port)
    env = {**os.environ, "TIANSHAN_CONFIG": "", "PYTHONUNBUFFERED": "1"}
    env.pop("TIANSHAN_DATABASE_URL", None)
    server = subprocess.Popen([PY, "-m", "tianshan.cli.main", "seedlink", "serve", "--archive", case["sds"],
                               "--port", str(port), "--speed", f"{args.speed:g}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    server_lines: list[str] = []
    started = threading.Event()
    t0_box: list[float] = []

    def read_server():
        for line in server.stderr:
            if not started.is_set() and line.startswith("SeedLink server on"):
                t0_box.append(time.time())
                started.set()
            server_lines.append(line.rstrip())

    threading.Thread(target=read_server, daemon=True).start()
    daemon = None
    daemon_log = work / "daemon.log"
    try:
        if not started.wait(120):
            raise RuntimeError("SeedLink server did not start: " + "\n".join(server_lines[-20:]))
        t0 = t0_box[0]
        _log(f"server replaying at {args.speed:g}x on port {port}")
        with open(daemon_log, "w", encoding="utf-8") as logf:
            daemon = subprocess.Popen([PY, "-m", "tianshan.cli.main", "run", "--config", str(cfg),
                                       "--until-idle", f"{args.idle:g}"], stdout=logf, stderr=logf, env=env)
        sampler = Sampler(daemon.pid, server.pid, t0, T0.timestamp(), args.speed)
        http_json = work / "data" / "run" / "http.json"
        next_t = time.time()
        last_report = 0.0
        replay_end = t0 + args.span / args.speed
        while daemon.poll() is None:
            if sampler.url is None and http_json.is_file():
                try:
                    sampler.url = json.loads(http_json.read_text())["url"]
                    _log(f"daemon up at {sampler.url}, {time.time() - t0:.1f} s after the replay start")
                except (ValueError, KeyError):
                    pass
            row = sampler.sample()
            if row is not None and time.time() - last_report >= 60.0:
                last_report = time.time()
                _log(f"replay {row['replay_s']:.0f}/{args.span:g} s, cpu daemon {row['cpu_daemon']:.0f} s, "
                     f"processing lag {row.get('processing_lag_s')}, stalest stream lag "
                     f"{row.get('stalest_stream_lag_s')}, picks {row.get('picks')}, load {row['load1']:.2f}")
            next_t += args.sample
            while time.time() < next_t and daemon.poll() is None:
                time.sleep(0.1)
            if time.time() > replay_end + 600.0:
                _log("daemon still running 600 s after the replay end: SIGTERM")
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(120)
        daemon_rc = daemon.returncode
        end_wall = time.time()
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    live = [s for s in sampler.samples if s.get("quantiles")]
    last = live[-1] if live else {}
    q = last.get("quantiles", {})
    summary = _final_summary(daemon_log)
    from tianshan.runtime.config import load_run_config

    store_url = load_run_config(cfg, env={}).store_url
    events = event_figures(store_url, case["sources"], t0, args.speed)
    delays = [e["locatable_pick_to_first_origin_s"] for e in events if e.get("locatable_pick_to_first_origin_s")
              is not None]
    matched = [e for e in events if "source" in e]
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(), "loadavg_before": [round(x, 2) for x in load_start],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "setup": {"stations": case["stations"], "channels": case["channels"], "sample_rate_hz": 100,
                  "span_s": args.span, "speed": args.speed, "sources": case["sources"], "warmup_s": args.warmup,
                  "sample_period_s": args.sample, "case": case["folder"], "run_folder": str(work)},
        "daemon_exit": daemon_rc, "daemon_wall_s": round(end_wall - t0, 1),
        "steady": steady_figures(sampler.samples, args.warmup, args.span, args.speed),
        "packet_to_pick_latency_s": {"p50": _round(q.get("0.5")), "p90": _round(q.get("0.9")),
                                     "p99": _round(q.get("0.99")), "max": _round(q.get("1")),
                                     "picks_measured": last.get("latency_count"),
                                     "at_replay_s": _round(last.get("replay_s"), 1)},
        "picks_published": (summary.get("picker") or {}).get("picks_published"),
        "events_stored": len(events), "sources_matched": len(matched),
        "locatable_pick_to_first_origin_s": {"max": max(delays, default=None),
                                             "median": statistics.median(delays) if delays else None,
                                             "target_2s_met": bool(delays) and max(delays) <= 2.0},
        "events": events,
        "series": series(sampler.samples),
        "server": {"last_lines": server_lines[-3:]},
        "daemon_counters": summary,
    }
    print(json.dumps(report, indent=1, default=str))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if daemon_rc == 0 else 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
