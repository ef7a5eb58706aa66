"""EEW evaluation harness: replay records packet by packet through engine and policy, score the alerts.

:func:`replay_stream` feeds an ObsPy stream to an :class:`~tianshan.eew.event.EEWEngine` in
``packet_s`` slices (every channel's samples of one slice, then ``update()``, as a real-time
feed delivers them), passes every new event version to the :class:`~tianshan.eew.policy.AlertPolicy`
and returns a :class:`ReplayReport`. :func:`replay_scenario` does it for a simulated scenario
(:func:`tianshan.sim.scenario.simulate_scenario`, truth known), :func:`replay_openeew` for real
OpenEEW MEMS records (:mod:`tianshan.stream.openeew`; targets are the device sites).

Times are **data times** (the newest sample processed when the update ran): "alert after
origin" is that data time minus the origin time, i.e. what a system with zero transport
latency and instantaneous computation would achieve with ``packet_s`` packets. The wall-clock
computation of each round (``update()`` plus the policy) is measured separately
(``compute``; :func:`time.perf_counter`) and reported, never added.

Scores (``truth`` given; otherwise the errors are None and times refer to the last estimated
origin)
------------------------------------------------------------------------------------------------
* ``first_alert_s``: first ``alert`` message of the event matching the truth, after the origin.
* magnitude and epicentral errors (estimate minus truth; km) at the first alert, 10 s after the
  first alert (the version in force then) and final (the event's last version); the full
  sequence of versions over time is in ``versions``.
* matching: an event matches the truth when its last version's origin time is within 10 s
  and its epicentre within 100 km (``MATCH_DT_S``, ``MATCH_KM``); alerted events that match no
  truth are **false alerts** (``false_alert_events``); a truth whose targets should have been
  alerted (actual degree >= the policy's ``alert_degree``, magnitude >= ``min_magnitude``)
  without an alert message is a **missed** event.
* per target (the outcome classes of Meier 2017, JGR 122, 5548, and Minson et al. 2019, Sci.
  Rep. 9, 2478): ``true`` (alerted, actual degree at or above the threshold, before the S
  wave), ``late`` (the same after the S wave), ``missed`` (not alerted, at or above), ``false``
  (alerted, below), ``correct_none`` (neither), ``unknown`` (no actual intensity). The warning
  time is the actual S arrival (truth origin and hypocentre, 1-D model) minus the data time of
  the first message listing the target; the predicted one is what that message stated.
  Actual intensity: for simulated scenarios the attenuation model evaluated with the true
  source (the model is the simulation's truth proxy at places: the simulator gives ground
  motion at stations, not at towns); for OpenEEW the device's own record: its GB/T 17742-2020
  instrumental intensity from the origin to the end of the record (:func:`record_intensities`).
* ``blind_zone_radius_km``: epicentral radius inside which the S wave arrives before the first
  alert (:func:`tianshan.eew.targets.blind_zone_radius_m`).
* ``alert_minus_p4_s`` (simulations): first alert minus (the 4th true P arrival at a station
  with signal + 1 s), the issue's "first alert <= 1 s after the 4th station has 1 s of P".

:meth:`ReplayReport.summary` is the issue's JSON (``alerts`` with ``t_after_origin_s``,
``latitude``, ``longitude``, ``magnitude``, ``n_stations``; ``first_alert_s``,
``magnitude_error_first``, ``magnitude_error_final``, ``epicentral_error_km_final``);
:meth:`ReplayReport.to_dict` everything.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from tianshan.core.errors import InputError
from tianshan.core.timeutil import as_utc

MATCH_DT_S = 10.0
MATCH_KM = 100.0
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Truth:
    """The real (or simulated) earthquake: origin, epicentre, magnitude, depth (None: unknown)."""

    origin_time: datetime
    latitude_deg: float
    longitude_deg: float
    magnitude: float
    depth_m: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin_time", as_utc(self.origin_time, "truth origin time"))
        for name, lo, hi in (("latitude_deg", -90, 90), ("longitude_deg", -180, 180), ("magnitude", -3, 10.5)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
                raise InputError(f"{v!r} is outside [{lo}, {hi}]", source="truth", field=name)
        if self.depth_m is not None and not (math.isfinite(self.depth_m) and 0 <= self.depth_m <= 800_000):
            raise InputError(f"{self.depth_m!r} is outside [0, 800 km]", source="truth", field="depth_m")


def parse_truth(text: str) -> Truth:
    """``"ISO-time lat lon mag [depth_km]"`` (e.g. ``"2018-02-16T23:39:39Z 16.218 -98.013 7.2"``)."""
    parts = str(text).split()
    if len(parts) not in (4, 5):
        raise InputError(f"need 'ISO-time lat lon mag [depth_km]', got {text!r}", source="--truth")
    try:
        t = as_utc(parts[0], "truth time")
    except (ValueError, TypeError) as err:
        raise InputError(f"bad time {parts[0]!r}: {err}", source="--truth", field="time") from None
    try:
        nums = [float(p) for p in parts[1:]]
    except ValueError:
        raise InputError(f"lat, lon, mag (and depth) must be numbers: {' '.join(parts[1:])!r}",
                         source="--truth") from None
    depth = None if len(nums) == 3 else nums[3] * 1000.0
    return Truth(t, nums[0], nums[1], nums[2], depth)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert/update/cancel message as the replay saw it."""

    msg_type: str
    sequence: int
    event_id: str
    data_time: datetime
    t_after_origin_s: float
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    magnitude: float | None
    n_stations: int
    n_targets: int
    max_intensity: float | None
    compute_s: float
    epicentral_error_km: float | None
    magnitude_error: float | None


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One EEW event version (the magnitude / location sequence over time)."""

    event_id: str
    version: int
    t_after_origin_s: float
    magnitude: float | None
    magnitude_lower_bound: bool
    n_stations: int
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    epicentral_error_km: float | None
    magnitude_error: float | None


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """One target's outcome (module docstring)."""

    name: str
    distance_km: float
    alerted: bool
    alert_after_origin_s: float | None
    predicted_intensity: float | None
    predicted_warning_time_s: float | None
    actual_intensity: float | None
    s_after_origin_s: float | None
    warning_time_s: float | None
    outcome: str


@dataclass(frozen=True)
class ReplayReport:
    """Result of one replay (module docstring)."""

    origin_time: datetime | None
    truth: Truth | None
    alerts: tuple[AlertRecord, ...]
    versions: tuple[VersionRecord, ...]
    targets: tuple[TargetOutcome, ...]
    first_alert_s: float | None
    magnitude_error_first: float | None
    magnitude_error_10s: float | None
    magnitude_error_final: float | None
    epicentral_error_km_first: float | None
    epicentral_error_km_final: float | None
    blind_zone_radius_km: float | None
    alert_minus_p4_s: float | None
    missed_events: int
    false_alert_events: int
    target_outcomes: Mapping[str, int]
    compute: Mapping[str, float]
    counters: Mapping[str, object] = field(default_factory=dict)

    def summary(self) -> dict:
        """The issue's JSON document (exactly these keys)."""
        return {
            "alerts": [{"t_after_origin_s": _r(a.t_after_origin_s, 2), "latitude": _r(a.latitude_deg, 4),
                        "longitude": _r(a.longitude_deg, 4), "magnitude": _r(a.magnitude, 2),
                        "n_stations": a.n_stations} for a in self.alerts if a.msg_type != "cancel"],
            "first_alert_s": _r(self.first_alert_s, 2),
            "magnitude_error_first": _r(self.magnitude_error_first, 2),
            "magnitude_error_final": _r(self.magnitude_error_final, 2),
            "epicentral_error_km_final": _r(self.epicentral_error_km_final, 2),
        }

    def to_dict(self) -> dict:
        """Everything, JSON-ready (times ISO 8601)."""
        import dataclasses

        def conv(v):
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, float):
                return None if not math.isfinite(v) else round(v, 4)
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            return v

        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["truth"] = None if self.truth is None else dataclasses.asdict(self.truth)
        for key in ("alerts", "versions", "targets"):
            out[key] = [dataclasses.asdict(x) for x in out[key]]
        out["target_outcomes"] = dict(self.target_outcomes)
        out["compute"] = dict(self.compute)
        out["counters"] = dict(self.counters)
        return conv(out)


def _r(v, nd: int):
    return None if v is None or not math.isfinite(v) else round(float(v), nd)


# --------------------------------------------------------------------------- the replay loop

def _packets(stream, packet_s: float):
    """Yield, per slice, a list of ``(stream_id, start_ns, rate, samples)`` (slices aligned on the earliest start)."""
    traces = []
    for tr in stream:
        s = tr.stats
        if s.npts == 0 or not s.sampling_rate > 0:
            continue
        traces.append((tr.id, int(s.starttime.ns), float(s.sampling_rate), tr.data))
    if not traces:
        return
    t0 = min(t[1] for t in traces)
    t1 = max(t[1] + round((len(t[3]) - 1) * _NS / t[2]) for t in traces)
    step = int(round(packet_s * _NS))
    k = 0
    while t0 + k * step <= t1:
        a = t0 + k * step
        out = []
        for sid, start, fs, data in traces:
            i0 = max(0, math.ceil((a - start) * fs / _NS - 1e-6))
            i1 = max(0, math.ceil((a + step - start) * fs / _NS - 1e-6))
            i1 = min(i1, len(data))
            if i1 > i0:
                out.append((sid, start + round(i0 * _NS / fs), fs, data[i0:i1]))
        yield a + step, out
        k += 1


def replay_stream(stream, stations, model, *, truth: Truth | None = None, targets: Sequence = (), faults=(),
                  eew_config=None, policy_config=None, target_config=None, packet_s: float = 1.0,
                  p_times: Mapping[str, datetime] | None = None,
                  actual_intensity: Callable | None = None, on_decision: Callable | None = None) -> ReplayReport:
    """Replay ``stream`` (ObsPy, counts) of ``stations`` through engine and policy (module docstring).

    ``actual_intensity(engine, predictor) -> {target name: intensity}`` overrides the actual
    intensity at targets (default with a truth: the attenuation model with the true source).
    ``p_times``: true P arrival per station id (for ``alert_minus_p4_s``). ``on_decision`` is
    called with every policy :class:`~tianshan.eew.policy.Decision`.
    """
    from tianshan.eew.event import EEWEngine
    from tianshan.eew.policy import AlertPolicy, PolicyConfig
    from tianshan.eew.targets import TargetPredictor

    if not (isinstance(packet_s, (int, float)) and 0.05 <= packet_s <= 10.0):
        raise InputError(f"must be between 0.05 and 10 s, got {packet_s!r}", field="packet_s")
    engine = EEWEngine(stations, model, eew_config)
    predictor = TargetPredictor(targets, model, faults, target_config)
    policy = AlertPolicy(predictor, policy_config or PolicyConfig(test=True))
    rounds: list[float] = []
    decisions = []
    clock = time.perf_counter
    for _end, packets in _packets(stream, packet_s):
        for sid, start_ns, fs, data in packets:
            engine.process(sid, start_ns, fs, data)
        tic = clock()
        versions = engine.update()
        got = [(ev, policy.evaluate_engine(engine, ev)) for ev in versions]
        dt = clock() - tic
        rounds.append(dt)
        for ev, d in got:
            decisions.append((ev, d, dt))
            if on_decision is not None:
                on_decision(d)
    actual = None
    if actual_intensity is not None:
        actual = actual_intensity(engine, predictor)
    return _score(engine, policy, predictor, decisions, rounds, truth, p_times, actual)


# --------------------------------------------------------------------------- scoring

def _matches(ev, truth: Truth) -> bool:
    from tianshan.eew.locate import haversine_m

    dt = abs((ev.origin_time - truth.origin_time).total_seconds())
    km = float(haversine_m(ev.latitude_deg, ev.longitude_deg, truth.latitude_deg, truth.longitude_deg)) / 1000
    return dt <= MATCH_DT_S and km <= MATCH_KM


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(math.ceil(q / 100.0 * len(s))) - 1))
    return s[k]


def _score(engine, policy, predictor, decisions, rounds, truth, p_times, actual) -> ReplayReport:
    from tianshan.eew.locate import haversine_m
    from tianshan.eew.targets import blind_zone_radius_m
    from tianshan.products.alerts.text import intensity_degree

    cfg = policy.config
    finals: dict[str, object] = {}
    for ev in engine.history:
        finals[ev.event_id] = ev
    alerted_ids = [d.event_id for _, d, _ in decisions if d.action == "alert"]
    if truth is not None:
        main = next((eid for eid in alerted_ids if _matches(finals[eid], truth)), None)
        if main is None:
            main = next((eid for eid, ev in finals.items() if _matches(ev, truth)), None)
        false_events = len({eid for eid in alerted_ids if not _matches(finals[eid], truth)})
    else:
        main = alerted_ids[0] if alerted_ids else next(iter(finals), None)
        false_events = 0
    last = finals.get(main)
    origin = truth.origin_time if truth is not None else (None if last is None else last.origin_time)

    def after(t: datetime) -> float:
        return (t - origin).total_seconds() if origin is not None else math.nan

    def errors(lat, lon, mag):
        if truth is None:
            return None, None
        km = float(haversine_m(lat, lon, truth.latitude_deg, truth.longitude_deg)) / 1000.0
        return km, (None if mag is None else mag - truth.magnitude)

    versions = []
    for ev in engine.history:
        if ev.event_id != main:
            continue
        km, dm = errors(ev.latitude_deg, ev.longitude_deg, ev.magnitude)
        versions.append(VersionRecord(ev.event_id, ev.version, after(ev.data_time), ev.magnitude,
                                      ev.magnitude_lower_bound, ev.n_stations, ev.latitude_deg, ev.longitude_deg,
                                      ev.depth_m, km, dm))
    alerts = []
    first_alert_time = None
    first_listing: dict[str, tuple[datetime, object]] = {}
    for ev, d, dt in decisions:
        if d.event_id != main or d.message is None:
            continue
        a = d.message.alert
        km, dm = errors(a.latitude_deg, a.longitude_deg, None if d.action == "cancel" else ev.magnitude)
        alerts.append(AlertRecord(d.action, a.sequence, d.event_id, ev.data_time, after(ev.data_time),
                                  a.latitude_deg, a.longitude_deg, a.depth_m,
                                  None if d.action == "cancel" else ev.magnitude, ev.n_stations, len(a.targets),
                                  max((t.intensity for t in a.targets), default=None), dt, km, dm))
        if d.action == "alert":
            first_alert_time = ev.data_time
        if d.action in ("alert", "update"):
            preds = {p.target.name: p for p in d.predictions}
            for name in d.alerted:
                first_listing.setdefault(name, (ev.data_time, preds.get(name)))

    def at(t: datetime | None):
        if t is None:
            return None
        got = [v for v in versions if origin is not None and v.t_after_origin_s <= after(t) + 1e-9]
        return got[-1] if got else None

    v_first = at(first_alert_time)
    v_10 = at(None if first_alert_time is None else first_alert_time + timedelta(seconds=10))
    v_final = versions[-1] if versions else None

    # targets
    depth = (truth.depth_m if truth is not None and truth.depth_m is not None
             else (last.depth_m if last is not None else 10_000.0))
    epi = None
    if truth is not None:
        epi = (truth.latitude_deg, truth.longitude_deg, truth.magnitude, truth.origin_time)
    elif last is not None and last.magnitude is not None:
        epi = (last.latitude_deg, last.longitude_deg, last.magnitude, last.origin_time)
    outcomes: list[TargetOutcome] = []
    if epi is not None and predictor.targets:
        lat0, lon0, mag0, ot0 = epi
        if actual is None and truth is not None:
            proxy = predictor.predict_at(lat0, lon0, depth, mag0, ot0, ot0)
            actual = {p.target.name: p.intensity for p in proxy}
        for t in predictor.targets:
            d_m = float(haversine_m(lat0, lon0, t.latitude_deg, t.longitude_deg))
            s_after = float(predictor.s_travel_time(depth, d_m))
            if origin is not None:
                s_after += (ot0 - origin).total_seconds()
            got = first_listing.get(t.name)
            act = None if actual is None else actual.get(t.name)
            alert_s = None if got is None else after(got[0])
            pred = None if got is None or got[1] is None else got[1]
            warn = None if alert_s is None else s_after - alert_s
            if act is None:
                outcome = "unknown"
            elif intensity_degree(act) >= cfg.alert_degree:
                outcome = "missed" if got is None else ("true" if warn is not None and warn >= 0 else "late")
            else:
                outcome = "false" if got is not None else "correct_none"
            outcomes.append(TargetOutcome(t.name, d_m / 1000.0, got is not None, alert_s,
                                          None if pred is None else pred.intensity,
                                          None if pred is None else pred.warning_time_s, act, s_after, warn, outcome))
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    missed = 0
    if truth is not None and first_alert_time is None and truth.magnitude >= cfg.min_magnitude and \
            any(o.actual_intensity is not None and intensity_degree(o.actual_intensity) >= cfg.alert_degree
                for o in outcomes):
        missed = 1
    first_s = None if first_alert_time is None else after(first_alert_time)
    blind = None if first_s is None else blind_zone_radius_m(predictor, depth, first_s) / 1000.0
    p4 = None
    if p_times and first_alert_time is not None:
        ps = sorted(as_utc(t) for t in p_times.values() if t is not None)
        if len(ps) >= 4:
            p4 = (first_alert_time - (ps[3] + timedelta(seconds=1))).total_seconds()
    first_compute = next((a.compute_s for a in alerts if a.msg_type == "alert"), None)
    compute = {"rounds": len(rounds), "p50_s": _percentile(rounds, 50), "p99_s": _percentile(rounds, 99),
               "max_s": max(rounds) if rounds else None, "first_alert_s": first_compute}
    counters = {"engine": engine.counters.as_dict(), "stations": engine.bank.counters.as_dict(),
                "policy": vars(policy.counters).copy(), "events": len(finals)}
    return ReplayReport(
        origin_time=origin, truth=truth, alerts=tuple(alerts), versions=tuple(versions), targets=tuple(outcomes),
        first_alert_s=first_s,
        magnitude_error_first=None if v_first is None else v_first.magnitude_error,
        magnitude_error_10s=None if v_10 is None else v_10.magnitude_error,
        magnitude_error_final=None if v_final is None else v_final.magnitude_error,
        epicentral_error_km_first=None if v_first is None else v_first.epicentral_error_km,
        epicentral_error_km_final=None if v_final is None else v_final.epicentral_error_km,
        blind_zone_radius_km=blind, alert_minus_p4_s=p4, missed_events=missed, false_alert_events=false_events,
        target_outcomes=counts, compute=compute, counters=counters)


# --------------------------------------------------------------------------- simulated scenarios

def scenario_stations(stations: Iterable, latitude_deg: float, longitude_deg: float,
                      max_distance_m: float = 400_000.0, strong_motion: bool = False,
                      min_separation_m: float = 3_000.0) -> tuple:
    """Stations within ``max_distance_m`` of an epicentre, one per site: a station closer than
    ``min_separation_m`` to one already kept (list order) is left out -- the elements of a
    small-aperture array (the XJ HTTZ0-9 elements at Hotan lie within 2 km) are one EEW site, and
    would otherwise count as several stations towards the engine's declaration threshold while
    constraining the location like one. ``strong_motion`` adds a co-located
    ``HN[ZNE]`` accelerometer (location code of the station's first channel) to stations that have
    none -- for networks listed with broadband channels only, whose 24-bit broadband records clip
    near M 6+ earthquakes (an assumption about the network, stated by the caller)."""
    import dataclasses

    from tianshan.core.ids import StreamID
    from tianshan.core.station import Channel, InstrumentKind
    from tianshan.eew.locate import haversine_m

    out = []
    for st in stations:
        if float(haversine_m(latitude_deg, longitude_deg, st.latitude_deg, st.longitude_deg)) > max_distance_m:
            continue
        if any(float(haversine_m(o.latitude_deg, o.longitude_deg, st.latitude_deg, st.longitude_deg))
               < min_separation_m for o in out):
            continue
        if strong_motion and st.channels and not any(c.kind is InstrumentKind.STRONG_MOTION for c in st.channels):
            c0 = st.channels[0]
            extra = tuple(Channel(StreamID(st.network, st.code, c0.stream_id.location, "HN" + comp), st.latitude_deg,
                                  st.longitude_deg, st.elevation_m, 100.0, azimuth_deg=az, dip_deg=dip,
                                  kind=InstrumentKind.STRONG_MOTION)
                          for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)))
            st = dataclasses.replace(st, channels=tuple(st.channels) + extra)
        out.append(st)
    return tuple(out)


def replay_scenario(result, *, targets: Sequence = (), faults=(), **kwargs) -> ReplayReport:
    """Replay a :class:`~tianshan.sim.scenario.ScenarioResult` with its truth (module docstring)."""
    src = result.source
    truth = Truth(src.origin_time, src.latitude_deg, src.longitude_deg, src.mw, src.depth_m)
    p_times = {t.station_id: t.p_time for t in result.truth if t.has_signal and t.p_time is not None}
    return replay_stream(result.stream, result.stations, result.model, truth=truth, targets=targets, faults=faults,
                         p_times=p_times, **kwargs)


def simulate_and_replay(source, region, *, max_station_distance_m: float = 400_000.0, strong_motion: bool = False,
                        pre_s: float = 20.0, post_s: float | None = None, seed: int = 1,
                        targets: Sequence | None = None,
                        **kwargs) -> ReplayReport:
    """Simulate ``source`` (:class:`tianshan.sim.source.Source`) at the region's stations within
    ``max_station_distance_m`` and replay it with the region's places (county seats, cities) as
    targets and its faults. ``post_s``: record length after the origin (default: the P time at
    the farthest used station + 30 s)."""
    from tianshan.eew.locate import haversine_m
    from tianshan.eew.targets import targets_from_places
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.traveltime.layered import LayeredTravelTime

    stations = scenario_stations(region.stations, source.latitude_deg, source.longitude_deg, max_station_distance_m,
                                 strong_motion)
    if len(stations) < 4:
        raise InputError(f"only {len(stations)} stations within {max_station_distance_m / 1000:.0f} km of the "
                         "source; EEW needs at least 4", field="source")
    if post_s is None:
        far = max(float(haversine_m(source.latitude_deg, source.longitude_deg, s.latitude_deg, s.longitude_deg))
                  for s in stations)
        tp = float(LayeredTravelTime(region.velocity_model).first_arrivals("P", source.depth_m, [far]).time_s[0])
        post_s = (tp if math.isfinite(tp) else far / 6000.0) + 30.0
    res = simulate_scenario(source, stations, region.velocity_model,
                            start=source.origin_time - timedelta(seconds=pre_s), duration_s=pre_s + post_s, rng=seed)
    tg = targets_from_places(region.places) if targets is None else targets
    return replay_scenario(res, targets=tg, faults=region.faults, **kwargs)


# --------------------------------------------------------------------------- OpenEEW records

def generic_crust():
    """Three-layer crust (5.8 / 6.6 / 8.0 km/s, Moho 35 km; Vp/Vs 1.73): a stand-in where no regional
    model is given (it serves association, location and S times only)."""
    from tianshan.core.velocity import VelocityModel

    return VelocityModel.from_vp("generic-crust", (0.0, 15_000.0, 35_000.0), (5800.0, 6600.0, 8000.0),
                                 vp_vs=1.73, moho_m=35_000.0)


def load_openeew(day_dir: str | Path, devices_path: str | Path):
    """``(stream, stations)`` of one OpenEEW day folder (``<device>/<hour>.jsonl``) with the devices'
    coordinates from ``device_locations.json`` (devices without coordinates are left out)."""
    import json

    from tianshan.eew.station import mems_station
    from tianshan.stream.openeew import assemble_openeew_traces, iter_openeew_jsonl, openeew_station_code

    day, dev = Path(day_dir), Path(devices_path)
    if not day.is_dir():
        raise InputError("not a folder", source=str(day))
    try:
        doc = json.loads(dev.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", source=str(dev)) from None
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read device locations: {err}", source=str(dev)) from None
    if not isinstance(doc, list):
        raise InputError("expected a JSON list of devices", source=str(dev))
    devices = {}
    for d in doc:
        try:
            devices[str(d["device_id"])] = (float(d["latitude"]), float(d["longitude"]))
        except (KeyError, TypeError, ValueError):
            continue
    files = sorted(day.glob("*/*.jsonl"))
    if not files:
        raise InputError("no <device>/*.jsonl files", source=str(day))
    packets = iter_openeew_jsonl(files)
    stream = assemble_openeew_traces(packets)
    ids = sorted({str(p.get("device_id")) for p in packets if isinstance(p, dict)} & set(devices))
    if not ids:
        raise InputError("no device of the records has a location", source=str(dev))
    codes = {openeew_station_code(i) for i in ids}
    stations = [mems_station("OE", openeew_station_code(i), devices[i][0], devices[i][1], 31.25) for i in ids]
    stream = stream.__class__([tr for tr in stream if tr.stats.station in codes])
    return stream, stations


def record_intensities(stream, stations, start: datetime) -> dict[str, float]:
    """GB/T 17742-2020 instrumental intensity (unrounded) of each station's three-component
    acceleration record from ``start`` to its end (:func:`tianshan.groundmotion.intensity.records.gbt17742_peaks`:
    0.1-10 Hz, vector sums). Stations without three components after ``start`` are left out."""
    import numpy as np
    from obspy import UTCDateTime

    from tianshan.eew.targets import observed_intensity
    from tianshan.groundmotion.intensity.records import gbt17742_peaks

    t0 = UTCDateTime(start.timestamp())
    out = {}
    for st in stations:
        parts = [stream.select(network=st.network, station=st.code, component=c) for c in "ZNE"]
        if any(len(p) != 1 for p in parts):
            continue
        trs = [p[0].slice(starttime=t0) for p in parts]
        n = min(tr.stats.npts for tr in trs)
        if n < 10 * trs[0].stats.sampling_rate:
            continue
        acc = np.vstack([tr.data[:n].astype(float) for tr in trs])
        acc -= np.median(acc, axis=1, keepdims=True)
        try:
            pga, pgv, _ = gbt17742_peaks(acc, trs[0].stats.sampling_rate)
        except (InputError, ValueError):
            continue
        out[st.station_id] = observed_intensity(pga, pgv)
    return out


def replay_openeew(day_dir: str | Path, devices_path: str | Path, truth: Truth | None = None, model=None,
                   **kwargs) -> ReplayReport:
    """Replay real OpenEEW records; targets are the device sites, their actual intensity the
    device's recorded one (:func:`record_intensities` from the origin on; module docstring)."""
    from tianshan.eew.targets import Target

    stream, stations = load_openeew(day_dir, devices_path)
    targets = [Target(st.station_id, st.latitude_deg, st.longitude_deg, kind="city") for st in stations]

    def observed(engine, predictor):
        if truth is not None:
            start = truth.origin_time
        elif engine.history:
            start = engine.history[-1].origin_time
        else:
            return {}
        return record_intensities(stream, stations, start)

    return replay_stream(stream, stations, model or generic_crust(), truth=truth, targets=targets,
                         actual_intensity=observed, **kwargs)
