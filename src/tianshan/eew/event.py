"""EEW event declaration and updates: triggers -> candidate groups -> declared events with versions.

:class:`EEWEngine` ties the chain together and is independent of the daemon: feed it packets
(``process`` / ``process_segment`` / ``process_trace``, or ``attach`` it to a
:class:`~tianshan.stream.buffers.BufferSet`) and call :meth:`EEWEngine.update` after each round
of packets (or pass ``auto_update=True`` to update whenever the data clock crosses an
``update_interval_s`` tick). Every new event version is returned by ``update``, appended to
:attr:`EEWEngine.history` and passed to ``on_event`` (an exception there is counted, never
raised). The data clock (``frontier_ns``) is the newest sample time processed over all
sensors; a packet stamped in the future would advance it, so feed the engine from a
:class:`~tianshan.stream.buffers.BufferSet` (whose clock checks reject such packets) in live use.

Rules
-----
* **Station triggers.** One trigger per station and event: the first confirmed trigger of
  any of its sensors. A later trigger of a station already in an open event is a later phase
  (S, coda) or another sensor and is ignored (``later_phase``); so is a second trigger of a
  station already in a candidate group (``duplicate``). Limitation: a second earthquake
  within ``event_lifetime_s`` at the same stations is not declared.
* **Association to open events.** A trigger joins an open event when its residual against
  the event's current hypocentre is within ``assoc_tolerance_s`` plus the horizontal
  uncertainty over 6 km/s.
* **Candidates and declaration.** Other triggers form candidate groups: a trigger joins the
  largest group all of whose members it is consistent with -- distance
  ``<= max_pair_distance_m`` and ``|t_a - t_b| <= d_ab / apparent_velocity_m_s +
  pair_tolerance_s`` (no P front travels slower than the slowest crustal P). A group whose
  triggers lie at ``min_stations`` (default 4) or more distinct **sites** is located
  (:mod:`tianshan.eew.locate`, with the not-yet-arrived stations) and declared when the rms
  residual is at most ``max_rms_s``; otherwise its worst trigger is dropped while enough sites
  remain. Triggers older than ``event_lifetime_s / 2`` leave the candidate groups.
* **Sites** (:func:`station_sites`): one station (``NET.STA``) is one site whatever its
  location codes and sensors (its triggers collapse to one); distinct stations joined by a
  chain of spacings of at most ``site_separation_m`` (1.5 km, single linkage) are one site too.
  The elements of a small-aperture array see one wavefront at one place and constrain the
  location like one station: the ten XJ HTTZ0-9 elements at Hotan lie 0.46-2.9 km apart, their
  nearest-neighbour spacings 0.46-1.27 km, so single linkage at 1.5 km joins all ten, while the
  nearest two other XJ stations are more than 20 km apart. Counting them as ten stations let
  one local glitch or one teleseismic arrival at the array declare an event alone.
* **Updates.** An open event is relocated and its magnitude recomputed on every new
  associated trigger and at least every ``update_interval_s`` of data. A relocation whose
  robust residual spread (1.4826 x median |residual|) exceeds both ``max_rms_s`` and the
  current solution's is not taken (``relocations_kept``):
  with timing or model errors of seconds the robust EDT sum can prefer a node that fits a
  subset of the stations, which must not replace a consistent solution. A new version is made
  when the station count, the lower-bound flag or the magnitude availability changes, or the
  magnitude moves by ``min_magnitude_change``, the epicentre by ``min_location_change_m`` or
  the origin time by ``min_time_change_s``. A station's measurement is frozen once its
  window is complete (``max_window_s`` or the S limit), so a later re-trigger of the sensor
  cannot change it. Events close ``event_lifetime_s`` after their origin (data time).
* **Waiting stations** (not-yet-arrived): stations with data within ``5 * update_interval_s``
  of the data clock, no trigger, within ``nya_max_distance_m`` of the event's first station;
  "no P up to" their data end minus ``confirm_s + 0.2 s`` (a P that arrived later could not
  have been confirmed yet).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from tianshan.core.station import Station
from tianshan.core.velocity import VelocityModel
from tianshan.eew.config import EEWConfig
from tianshan.eew.locate import Arrival, EvolutionaryLocator, Hypocentre, LocalGrid, Waiting, haversine_m
from tianshan.eew.magnitude import MagnitudeEstimate, StationMagnitude, combine, station_magnitude
from tianshan.eew.station import StationBank, StationMeasurement, Trigger, ns_to_datetime

log = logging.getLogger(__name__)
_NS = 1_000_000_000


def station_sites(stations: Iterable[Station], separation_m: float) -> dict[str, int]:
    """Site number of every station id (module docstring, "Sites"): connected components of the
    graph linking stations at most ``separation_m`` apart (single linkage, union-find); the
    numbers are the order of each site's first station in ``stations``."""
    sts = list(stations)
    parent = list(range(len(sts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if separation_m > 0 and len(sts) > 1:
        import numpy as np

        lat = np.array([s.latitude_deg for s in sts], dtype=float)
        lon = np.array([s.longitude_deg for s in sts], dtype=float)
        for i in range(len(sts) - 1):
            d = haversine_m(lat[i], lon[i], lat[i + 1:], lon[i + 1:])
            for j in np.flatnonzero(np.asarray(d) <= separation_m):
                a, b = root(i), root(i + 1 + int(j))
                if a != b:
                    parent[max(a, b)] = min(a, b)
    out: dict[str, int] = {}
    for i, s in enumerate(sts):
        out.setdefault(s.station_id, root(i))
    return out


def _misfit(h: Hypocentre) -> float:
    """Robust residual spread: 1.4826 x median |residual| (the rms with fewer than 4 stations)."""
    res = sorted(abs(r) for r in h.residuals_s.values())
    if len(res) < 4:
        return h.rms_s
    mid = len(res) // 2
    med = res[mid] if len(res) % 2 else 0.5 * (res[mid - 1] + res[mid])
    return 1.4826 * med


@dataclass(frozen=True, slots=True)
class EEWEvent:
    """One version of an EEW event solution (SI units; aware UTC datetimes).

    ``data_time``: the data clock when this version was made; ``wall_time``: the wall clock
    then; ``declared_data_time``: the data clock of version 1. ``magnitude`` is None until a
    station window of ``min_window_s`` exists; ``magnitude_lower_bound``: saturation flag
    (see :mod:`tianshan.eew.magnitude`).
    """

    event_id: str
    version: int
    origin_time: datetime
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    horizontal_uncertainty_m: float
    depth_uncertainty_m: float
    origin_time_uncertainty_s: float
    rms_s: float
    magnitude: float | None
    magnitude_uncertainty: float | None
    magnitude_pd: float | None
    magnitude_taup: float | None
    magnitude_lower_bound: bool
    n_stations: int
    n_magnitude_stations: int
    station_ids: tuple[str, ...]
    first_trigger_time: datetime
    data_time: datetime
    wall_time: datetime
    declared_data_time: datetime
    station_magnitudes: tuple[StationMagnitude, ...] = ()
    n_sites: int = 0                    #: distinct sites among ``station_ids`` (module docstring)


@dataclass
class EngineCounters:
    """Counts of the engine's work (station-level counts are in ``StationBank.counters``)."""

    updates: int = 0
    triggers: int = 0
    associated: int = 0
    later_phase: int = 0
    duplicate: int = 0
    expired: int = 0
    declarations: int = 0
    declarations_refused: int = 0
    versions: int = 0
    events_closed: int = 0
    locate_errors: int = 0
    relocations_kept: int = 0
    callback_errors: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class _EventState:
    event_id: str
    grid: LocalGrid
    first: Trigger
    triggers: dict[str, Trigger]
    hypo: Hypocentre
    declared_ns: int
    version: int = 0
    last: EEWEvent | None = None
    last_update_ns: int = 0
    dirty: bool = True
    frozen: dict[str, StationMeasurement] = field(default_factory=dict)
    magnitude: MagnitudeEstimate | None = None


class EEWEngine:
    """Per-packet EEW: station processing, declaration, evolutionary location, magnitude (module docstring).

    ``stations``: the network (channels with gains); ``model``: the region's 1-D velocity
    model (travel-time tables are built once here); ``clock``: wall clock (POSIX s) for the
    ``wall_time`` of versions.
    """

    def __init__(self, stations: Iterable[Station], model: VelocityModel, config: EEWConfig | None = None, *,
                 clock: Callable[[], float] = time.time, on_event: Callable[[EEWEvent], None] | None = None,
                 auto_update: bool = False, locator: EvolutionaryLocator | None = None,
                 id_prefix: str = "eew") -> None:
        self.config = config or EEWConfig()
        stations = list(stations)
        self.bank = StationBank(stations, self.config)
        self.sites = station_sites(stations, self.config.event.site_separation_m)
        self.locator = locator or EvolutionaryLocator(model, self.config.locate)
        self.clock = clock
        self.on_event = on_event
        self.auto_update = auto_update
        self.id_prefix = id_prefix
        self.counters = EngineCounters()
        self.frontier_ns: int | None = None
        self.history: list[EEWEvent] = []
        self.closed: list[EEWEvent] = []
        self.triggers: list[Trigger] = []
        self._new: list[Trigger] = []
        self._candidates: list[list[Trigger]] = []
        self._open: dict[str, _EventState] = {}
        self._seq = 0
        self._next_tick: int | None = None

    # -- packets ------------------------------------------------------------------------------
    def _after(self, got: list[Trigger], end_ns: int | None) -> list[Trigger]:
        if end_ns is not None and (self.frontier_ns is None or end_ns > self.frontier_ns):
            self.frontier_ns = end_ns
        if got:
            self._new.extend(got)
            self.triggers.extend(got)
            self.counters.triggers += len(got)
        if self.auto_update and self.frontier_ns is not None:
            step = int(self.config.event.update_interval_s * _NS)
            if self._next_tick is None:
                self._next_tick = self.frontier_ns + step
            elif self.frontier_ns >= self._next_tick:
                self._next_tick = self.frontier_ns + step
                self.update()
        return got

    def _end(self, stream_id) -> int | None:
        sp = self.bank.sensor_for(stream_id)
        return None if sp is None else sp.end_ns

    def process(self, stream_id, start_ns: int, rate_hz: float, counts) -> list[Trigger]:
        """One packet of one stream (counts); returns the triggers it confirmed."""
        got = self.bank.process(stream_id, start_ns, rate_hz, counts)
        return self._after(got, self._end(stream_id))

    def process_segment(self, seg) -> list[Trigger]:
        """A BufferSet ``Segment`` (use as its listener: ``buffers.add_listener(engine.process_segment)``)."""
        got = self.bank.process_segment(seg)
        return self._after(got, self._end(seg.stream_id))

    def process_trace(self, tr) -> list[Trigger]:
        """An ObsPy trace holding one packet of one stream."""
        got = self.bank.process_trace(tr)
        s = tr.stats
        return self._after(got, int(s.endtime._ns) if s.npts else None)

    def attach(self, buffers) -> None:
        """Listen to every channel of a :class:`~tianshan.stream.buffers.BufferSet`."""
        buffers.add_listener(self.process_segment)

    # -- state ----------------------------------------------------------------------------
    @property
    def open_events(self) -> list[EEWEvent]:
        return [s.last for s in self._open.values() if s.last is not None]

    @property
    def candidates(self) -> list[tuple[Trigger, ...]]:
        return [tuple(c) for c in self._candidates]

    def prune(self, now_ns: int | None = None, keep_versions: int = 1000) -> None:
        """Forget what a long-running process no longer needs: triggers older than two event
        lifetimes before ``now_ns`` (default the data clock; open events and candidates keep their
        own references) and all but the last ``keep_versions`` of ``history`` and ``closed``."""
        now = self.frontier_ns if now_ns is None else int(now_ns)
        if now is not None and self.triggers:
            horizon = now - int(2 * self.config.event.event_lifetime_s * _NS)
            if self.triggers[0].time_ns < horizon:
                self.triggers = [t for t in self.triggers if t.time_ns >= horizon]
        for name in ("history", "closed"):
            lst = getattr(self, name)
            if len(lst) > keep_versions:
                del lst[:-keep_versions]

    # -- update -------------------------------------------------------------------------------
    def update(self, now_ns: int | None = None) -> list[EEWEvent]:
        """Associate new triggers, declare, relocate and re-estimate; returns the new versions."""
        now = self.frontier_ns if now_ns is None else int(now_ns)
        if now is None:
            return []
        self.counters.updates += 1
        new, self._new = self._collapse(self._new), []
        for t in new:
            self._route(t)
        out: list[EEWEvent] = []
        self._declare(now, out)
        ec = self.config.event
        for st in list(self._open.values()):
            if st.hypo.origin_time_s + ec.event_lifetime_s < now / _NS:
                del self._open[st.event_id]
                self.counters.events_closed += 1
                if st.last is not None:
                    self.closed.append(st.last)
                continue
            if st.dirty or now - st.last_update_ns >= ec.update_interval_s * _NS:
                self._refresh(st, now, out)
        horizon = now - int(ec.event_lifetime_s / 2 * _NS)
        for c in self._candidates:
            keep = [t for t in c if t.time_ns >= horizon]
            self.counters.expired += len(c) - len(keep)
            c[:] = keep
        self._candidates = [c for c in self._candidates if c]
        for ev in out:
            self.history.append(ev)
            self.counters.versions += 1
            if self.on_event is not None:
                try:
                    self.on_event(ev)
                except Exception:  # a faulty consumer must not stop the chain
                    self.counters.callback_errors += 1
                    log.exception("EEW on_event callback failed")
        return out

    @staticmethod
    def _collapse(triggers: list[Trigger]) -> list[Trigger]:
        """Time-ordered triggers, one per station among those within 2 s (the earliest onset;
        measurements still come from the preferred sensor, see ``_measurement``)."""
        out: list[Trigger] = []
        for t in sorted(triggers, key=lambda t: t.time_ns):
            if not any(o.station_id == t.station_id and t.time_ns - o.time_ns <= 2 * _NS for o in out):
                out.append(t)
        return out

    def _route(self, t: Trigger) -> None:
        ec = self.config.event
        for st in self._open.values():
            if t.station_id in st.triggers:
                self.counters.later_phase += 1
                return
        for c in self._candidates:
            if any(m.station_id == t.station_id for m in c):
                self.counters.duplicate += 1
                return
        for st in self._open.values():
            h = st.hypo
            d = float(haversine_m(h.latitude_deg, h.longitude_deg, t.latitude_deg, t.longitude_deg))
            pred = h.origin_time_s + float(self.locator.travel_time("P", h.depth_m, d))
            tol = ec.assoc_tolerance_s + h.horizontal_uncertainty_m / 6000.0
            if math.isfinite(pred) and abs(t.time_ns / _NS - pred) <= tol:
                st.triggers[t.station_id] = t
                st.dirty = True
                self.counters.associated += 1
                return
        best = None
        for c in self._candidates:
            if all(self._consistent(t, m) for m in c) and (best is None or len(c) > len(best)):
                best = c
        if best is None:
            self._candidates.append([t])
        else:
            best.append(t)

    def _consistent(self, a: Trigger, b: Trigger) -> bool:
        ec = self.config.event
        d = float(haversine_m(a.latitude_deg, a.longitude_deg, b.latitude_deg, b.longitude_deg))
        return d <= ec.max_pair_distance_m and abs(a.time_ns - b.time_ns) / _NS <= (
            d / ec.apparent_velocity_m_s + ec.pair_tolerance_s)

    def _waiting(self, grid: LocalGrid, exclude: set[str], now: int) -> list[Waiting]:
        c = self.config
        stale = int(5 * c.event.update_interval_s * _NS)
        lag = c.trigger.confirm_s + 0.2
        busy = exclude | {t.station_id for cand in self._candidates for t in cand}
        out = []
        for sid, st in self.bank.stations.items():
            if sid in busy:
                continue
            end = self.bank.frontier_ns(sid)
            if end is None or end < now - stale:
                continue
            d = float(haversine_m(grid.lat0, grid.lon0, st.latitude_deg, st.longitude_deg))
            if d > c.locate.nya_max_distance_m:
                continue
            out.append(Waiting(sid, st.latitude_deg, st.longitude_deg, end / _NS - lag))
        return out

    def n_sites(self, triggers: Iterable[Trigger]) -> int:
        """Distinct sites among the stations of ``triggers`` (unknown stations count alone)."""
        return len({self.sites.get(t.station_id, t.station_id) for t in triggers})

    @staticmethod
    def _arrivals(triggers: Iterable[Trigger]) -> list[Arrival]:
        return [Arrival(t.station_id, t.latitude_deg, t.longitude_deg, t.time_ns / _NS) for t in triggers]

    def _declare(self, now: int, out: list[EEWEvent]) -> None:
        ec = self.config.event
        for c in sorted(self._candidates, key=len, reverse=True):
            if not c or self.n_sites(c) < ec.min_stations:
                continue
            members = sorted(c, key=lambda t: t.time_ns)
            first = members[0]
            grid = self.locator.grid(first.latitude_deg, first.longitude_deg)
            hypo = None
            while self.n_sites(members) >= ec.min_stations:
                try:
                    hypo = self.locator.locate(grid, self._arrivals(members),
                                               self._waiting(grid, {t.station_id for t in members}, now))
                except Exception:
                    self.counters.locate_errors += 1
                    log.exception("EEW location failed")
                    hypo = None
                    break
                if hypo.rms_s <= ec.max_rms_s:
                    break
                worst = max(members, key=lambda t: abs(hypo.residuals_s.get(t.station_id, 0.0)))
                members.remove(worst)
                hypo = None
            if hypo is None:
                self.counters.declarations_refused += 1
                continue
            self._seq += 1
            eid = f"{self.id_prefix}{ns_to_datetime(first.time_ns):%Y%m%d%H%M%S}{self._seq:04d}"
            st = _EventState(eid, grid, members[0], {t.station_id: t for t in members}, hypo, now)
            self._open[eid] = st
            taken = {t.station_id for t in members}
            for other in self._candidates:
                other[:] = [t for t in other if t.station_id not in taken]
            self.counters.declarations += 1
            self._refresh(st, now, out, relocate=False)
        self._candidates = [c for c in self._candidates if c]

    def _measurement(self, st: _EventState, t: Trigger, limit_s: float) -> StationMeasurement | None:
        if t.station_id in st.frozen:
            return st.frozen[t.station_id]
        got = []
        for sp in self.bank.by_station.get(t.station_id, ()):
            if sp.trigger is None or abs(sp.trigger.time_ns - t.time_ns) > 2 * _NS:
                continue
            m = sp.measurement(limit_s)
            if m is not None:
                got.append(m)
        if not got:
            return None
        m = ([g for g in got if not g.clipped] or got)[0]
        if m.window_s >= min(limit_s, self.config.measure.max_window_s) - 1e-6:
            st.frozen[t.station_id] = m
        return m

    def _refresh(self, st: _EventState, now: int, out: list[EEWEvent], relocate: bool = True) -> None:
        c = self.config
        if relocate:
            try:
                hypo = self.locator.locate(st.grid, self._arrivals(st.triggers.values()),
                                           self._waiting(st.grid, set(st.triggers), now))
            except Exception:
                self.counters.locate_errors += 1
                log.exception("EEW relocation of %s failed", st.event_id)
            else:
                if _misfit(hypo) <= max(c.event.max_rms_s, _misfit(st.hypo)):
                    st.hypo = hypo
                else:
                    self.counters.relocations_kept += 1
        h = st.hypo
        mags = []
        for sid, t in st.triggers.items():
            epi = float(haversine_m(h.latitude_deg, h.longitude_deg, t.latitude_deg, t.longitude_deg))
            ts = h.origin_time_s + float(self.locator.travel_time("S", h.depth_m, epi))
            limit = ts - c.magnitude.s_margin_s - t.time_ns / _NS if math.isfinite(ts) else c.measure.max_window_s
            m = self._measurement(st, t, max(limit, 0.0))
            if m is not None:
                mags.append(station_magnitude(m, math.hypot(epi, h.depth_m), c.magnitude))
        st.magnitude = combine(mags, c.magnitude)
        st.dirty = False
        st.last_update_ns = now
        ev = self._version(st, now)
        if ev is not None:
            out.append(ev)

    def _version(self, st: _EventState, now: int) -> EEWEvent | None:
        ec = self.config.event
        h, mg, last = st.hypo, st.magnitude, st.last
        if last is not None:
            moved = float(haversine_m(last.latitude_deg, last.longitude_deg, h.latitude_deg, h.longitude_deg))
            dm = (mg is None) != (last.magnitude is None) or (
                mg is not None and abs(mg.value - last.magnitude) >= ec.min_magnitude_change)
            changed = (len(st.triggers) != last.n_stations or dm or moved >= ec.min_location_change_m
                       or abs(h.origin_time_s - last.origin_time.timestamp()) >= ec.min_time_change_s
                       or (mg is not None and mg.lower_bound != last.magnitude_lower_bound))
            if not changed:
                return None
        st.version += 1
        first = min(st.triggers.values(), key=lambda t: t.time_ns)
        data_time = ns_to_datetime(now)
        ev = EEWEvent(
            event_id=st.event_id, version=st.version, origin_time=h.origin_time,
            latitude_deg=h.latitude_deg, longitude_deg=h.longitude_deg, depth_m=h.depth_m,
            horizontal_uncertainty_m=h.horizontal_uncertainty_m, depth_uncertainty_m=h.depth_uncertainty_m,
            origin_time_uncertainty_s=h.origin_time_uncertainty_s, rms_s=h.rms_s,
            magnitude=None if mg is None else mg.value, magnitude_uncertainty=None if mg is None else mg.uncertainty,
            magnitude_pd=None if mg is None else mg.magnitude_pd,
            magnitude_taup=None if mg is None else mg.magnitude_taup,
            magnitude_lower_bound=False if mg is None else mg.lower_bound,
            n_stations=len(st.triggers), n_magnitude_stations=0 if mg is None else mg.n_stations,
            station_ids=tuple(sorted(st.triggers)), first_trigger_time=first.time,
            data_time=data_time, wall_time=datetime.fromtimestamp(self.clock(), tz=timezone.utc),
            declared_data_time=ns_to_datetime(st.declared_ns),
            station_magnitudes=() if mg is None else mg.stations, n_sites=self.n_sites(st.triggers.values()))
        st.last = ev
        return ev
