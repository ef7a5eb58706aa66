"""Event tracker: streaming association, location, declaration, update, merge/split and finalisation.

:class:`EventTracker` is the pure, synchronous core of the associator stage
(:mod:`tianshan.stages.events`): no bus, no store, no asyncio, no wall clock of its own. It is
fed picks (:meth:`EventTracker.add_picks`) and a data-time clock (:meth:`EventTracker.update`)
and answers with :class:`EventChange` records. The rules are those of
:class:`tianshan.stages.rules.EventRules` (see :mod:`tianshan.stages.rules` for each rule and its
SeisComP counterpart).

One update
----------
1. The data clock advances to the latest of the clocks given and the newest pick time. Pool
   picks older than ``pool_s`` before it and owned by no open event are dropped.
2. When picks were added since the last update: the pool picks within ``window_s`` of the new
   picks, widened to cover every open event reaching into that span, and not owned by a closed
   event, are associated (:func:`tianshan.events.associate.associate_picks`, input sorted by time
   and pick id, so the same picks give the same associations whatever order they came in).
3. Matching (pick ids, as SeisComP ``scevent`` matches origins by their picks): each open event
   in the window gets the association holding most of its picks (ties: the earlier
   association); an association claimed by several events keeps the oldest (earliest declared)
   and the others are ``merged`` into it. The keeper takes the association's picks (plus its own
   picks that no association holds now: no flapping) and, when it gained picks, is relocated with
   the picks of its ``update_max_stations`` nearest stations (``updated``). An association
   claimed by none is a candidate: declared (``declared``, or ``split`` when it holds picks of an
   open event) when it passes the declaration rule; candidates are judged largest first, so a
   smaller one is checked against the larger ones just declared. An open event that no association holds any more is kept unchanged (an orphan) and
   cancelled at finalisation.
4. Events due for finalisation (``final_after_s`` of data time after their origin time and
   ``quiet_s`` after their last new pick) are re-associated once more (window around them; each
   event gets exactly its association's picks), relocated with all their picks, checked against the declaration minimum (``min_stations`` P
   stations) and judged by the batch screen (:func:`tianshan.events.screen.screen_events`, with
   the recently finalised and the other open events as larger events): ``final`` (origin status
   FINAL) or ``cancelled`` (type "not existing", origin status REJECTED, detail the reason).
   Closed events leave the open set; their picks stay owned and are not associated again.

Nothing is done on an idle tick (no new pick, nothing due). Locations are cached by pick set.

Order independence
------------------
:meth:`EventTracker.flush` associates the whole pool (not a window) before closing every open
event, and the final origin is computed from the final pick set; with every pick delivered before
the events close, the final catalogue (pick sets, origins) does not depend on the order or
batching in which the picks came (tested with shuffled arrivals).

Ids
---
A new event's id is :func:`tianshan.events.build.pipeline.event_id_for` of its picks at
declaration (a repeat gets ``-2``, ``-3``...). Origins are new versions of the event (the event's
``with_origin``), version 1 being the declaration's.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Iterable, Sequence

from tianshan.core.errors import InputError
from tianshan.core.event import Event, EventType
from tianshan.core.origin import EvaluationStatus, Origin
from tianshan.core.pick import Pick
from tianshan.core.station import Station
from tianshan.core.timeutil import as_utc
from tianshan.core.velocity import VelocityModel
from tianshan.stages.rules import EventRules

log = logging.getLogger(__name__)

#: Kinds of :class:`EventChange`.
KINDS = ("declared", "updated", "merged", "split", "final", "cancelled")
_LOCATION_CACHE = 512


@dataclass(frozen=True, slots=True)
class EventChange:
    """One thing that happened to an event in :meth:`EventTracker.update`.

    ``kind``: one of :data:`KINDS`; ``event``: the event after the change, with every origin the
    tracker has given it (the last one is new for ``declared``, ``split``, ``updated``, ``final``
    and a ``cancelled`` event that could be relocated; ``origin`` names it); ``detail``: why
    (``"merged into <id>"``, ``"split from <id>"``, the screen's reason...); ``locatable_pick``
    (declarations only): the newest pick of the association, the one that made it declarable.
    """

    kind: str
    event: Event
    detail: str = ""
    locatable_pick: Pick | None = None
    origin: Origin | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"event change kind must be one of {KINDS}, got {self.kind!r}")


@dataclass
class TrackerCounters:
    """Counts of everything the tracker handled, skipped or decided."""

    picks_added: int = 0
    duplicates: int = 0
    unknown_station: int = 0
    unknown_phase: int = 0
    too_old: int = 0
    future: int = 0
    pruned: int = 0
    associations: int = 0
    locations: int = 0
    location_failures: int = 0
    declared: int = 0
    updated: int = 0
    update_rejected: int = 0
    bounded_updates: int = 0
    merged: int = 0
    split: int = 0
    final: int = 0
    cancelled: int = 0
    orphaned: int = 0
    rejected_stations: int = 0
    rejected_location: int = 0
    rejected_rms: int = 0
    rejected_ellipse: int = 0
    rejected_depth: int = 0
    rejected_explained: int = 0
    rejected_nearest: int = 0
    restored: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Open:
    """An open event: the Event as last published, its current pick set and bookkeeping."""

    event: Event
    pick_ids: frozenset[str]
    order: int
    last_growth: datetime
    orphan: bool = False

    @property
    def id(self) -> str:
        return self.event.id


def _family(phase: str) -> str | None:
    from tianshan.events.associate import phase_family

    return phase_family(phase)


def _p_stations(picks: Iterable[Pick]) -> set[str]:
    return {p.stream_id.station_id for p in picks if _family(p.phase) == "P"}


def _stations(picks: Iterable[Pick]) -> int:
    return len({p.stream_id.station_id for p in picks})


class EventTracker:
    """Streaming associator and locator (see the module docstring for every step).

    ``stations`` / ``model``: the network and its 1-D velocity model; ``rules``: declaration,
    update and finalisation rules; ``associator_config``: PyOcto settings (default: the batch
    defaults with P-only thresholds from ``rules``); ``locate_config`` /
    ``screen_config``: settings of the locator and of the final screen (defaults: theirs).
    """

    def __init__(self, stations: Sequence[Station], model: VelocityModel, rules: EventRules | None = None,
                 associator_config=None, locate_config=None, screen_config=None) -> None:
        from tianshan.events.associate import AssociatorConfig
        from tianshan.events.screen import ScreenConfig

        self.stations = tuple(stations)
        if not self.stations:
            raise InputError("no stations given", field="stations")
        self.model = model
        self.rules = rules if rules is not None else EventRules()
        r = self.rules
        self.associator_config = associator_config if associator_config is not None else AssociatorConfig(
            min_picks=r.min_stations, min_p_picks=r.min_stations, min_s_picks=r.min_s_picks,
            min_p_and_s_stations=r.min_p_and_s_stations, min_stations=r.min_stations,
            max_distance_m=r.max_station_distance_m, min_pick_fraction=r.min_pick_fraction)
        self.locate_config = locate_config
        self.screen_config = screen_config if screen_config is not None else ScreenConfig()
        self.counters = TrackerCounters()
        self._table: dict[str, Station] = {}
        for st in self.stations:
            self._table.setdefault(st.station_id, st)
        self._clock: datetime | None = None
        self._picks: dict[str, Pick] = {}            # the pool, by pick id
        self._received: dict[str, datetime] = {}     # pick id -> wall time it was received
        self._seq: dict[str, int] = {}               # pick id -> arrival number
        self._next_seq = 0
        self._new: list[str] = []                    # picks added since the last update
        self._closed_owned: set[str] = set()         # picks of final / cancelled events
        self._open: dict[str, _Open] = {}
        self._next_order = 0
        self._recent: list[Event] = []               # finalised, accepted events (larger-event check)
        self._used_ids: set[str] = set()
        self._locations: OrderedDict = OrderedDict()
        self._before: dict[str, Event] = {}          # events as they were before this update call
        self._times = None                           # travel-time tables for attaching picks

    # ------------------------------------------------------------------ inputs

    @property
    def clock(self) -> datetime | None:
        """The data clock: the latest clock given and the newest pick time seen."""
        return self._clock

    def _advance(self, t: datetime) -> None:
        if self._clock is None or t > self._clock:
            self._clock = t

    def add_picks(self, picks: Iterable[Pick], received_wall: datetime) -> int:
        """Put ``picks`` into the pool; returns how many were new.

        Duplicates (same pick id as a pooled or closed-event pick), picks of unknown stations or
        of phases other than P/S, picks older than the pool and picks timed more than
        ``max_future_s`` after ``received_wall`` are counted and ignored.
        """
        wall = as_utc(received_wall, "received_wall")
        horizon = None if self._clock is None else self._clock - timedelta(seconds=self.rules.pool_s)
        lead = timedelta(seconds=self.rules.max_future_s)
        n = 0
        for p in picks:
            if not isinstance(p, Pick):
                raise InputError(f"expected a Pick, got {type(p).__name__}", field="picks")
            c = self.counters
            if p.id in self._picks or p.id in self._closed_owned:
                c.duplicates += 1
            elif p.stream_id.station_id not in self._table:
                c.unknown_station += 1
            elif _family(p.phase) is None:
                c.unknown_phase += 1
            elif horizon is not None and p.time < horizon:
                c.too_old += 1
            elif p.time > wall + lead:
                c.future += 1
            else:
                self._picks[p.id] = p
                self._received[p.id] = wall
                self._seq[p.id] = self._next_seq
                self._next_seq += 1
                self._new.append(p.id)
                c.picks_added += 1
                n += 1
        return n

    def received_wall(self, pick_id: str) -> datetime | None:
        """Wall time at which the pooled pick ``pick_id`` was received (``None`` if not pooled)."""
        return self._received.get(pick_id)

    def restore(self, events: Iterable[Event]) -> int:
        """Take back open events (e.g. from the store after a restart); returns how many.

        Events of type "not existing" and events without picks are skipped. Their picks re-enter
        the pool (a re-sent pick with the same id is then a duplicate); the oldest (by
        ``created_at``) counts as declared first.
        """
        n = 0
        for ev in sorted(events, key=lambda e: (e.created_at, e.id)):
            if ev.type is EventType.NOT_EXISTING or not ev.picks or ev.id in self._open:
                continue
            wall = ev.created_at
            for p in ev.picks:
                if p.id not in self._picks:
                    self._picks[p.id] = p
                    self._received[p.id] = wall
                    self._seq[p.id] = self._next_seq
                    self._next_seq += 1
                self._closed_owned.discard(p.id)
            newest = max(p.time for p in ev.picks)
            self._open[ev.id] = _Open(ev, frozenset(p.id for p in ev.picks), self._next_order, newest)
            self._next_order += 1
            self._used_ids.add(ev.id)
            self._advance(newest)
            n += 1
        self.counters.restored += n
        return n

    def open_events(self) -> list[Event]:
        """The open events (as last published), oldest declaration first."""
        return [o.event for o in sorted(self._open.values(), key=lambda o: o.order)]

    @property
    def pool_size(self) -> int:
        return len(self._picks)

    # ------------------------------------------------------------------ the update

    def needs_update(self, clock: datetime | None = None) -> bool:
        """Would :meth:`update` do any work now (new picks, or an event due at ``clock``)?"""
        if self._new:
            return True
        t = self._clock
        if clock is not None:
            c = as_utc(clock, "clock")
            t = c if t is None else max(t, c)
        return bool(self._due(t))

    def update(self, clock: datetime | None = None) -> list[EventChange]:
        """Advance the data clock to ``clock``, associate new picks, close due events; the changes."""
        if clock is not None:
            self._advance(as_utc(clock, "clock"))
        for pid in self._new:
            p = self._picks.get(pid)
            if p is not None:
                self._advance(p.time)
        if self._clock is None:
            return []
        self._prune()
        self._before = {}
        changes: list[EventChange] = []
        new = [self._picks[i] for i in self._new if i in self._picks]
        self._new = []
        if new:
            rest = self._attach(new, changes)
            if rest:
                w = timedelta(seconds=self.rules.window_s)
                self._reassociate(min(p.time for p in rest) - w, max(p.time for p in rest) + w, changes)
        due = self._due(self._clock)
        if due:
            self._finalise(due, changes, full=False)
        return changes

    def flush(self, clock: datetime | None = None) -> list[EventChange]:
        """Associate the whole pool and close every open event now (end of a replay)."""
        if clock is not None:
            self._advance(as_utc(clock, "clock"))
        for pid in self._new:
            p = self._picks.get(pid)
            if p is not None:
                self._advance(p.time)
        self._new = []
        self._before = {}
        changes: list[EventChange] = []
        if self._clock is None:
            return changes
        self._prune()
        self._reassociate(None, None, changes, sticky=False)
        if self._open:
            self._finalise(list(self._open.values()), changes, full=True)
        return changes

    # ------------------------------------------------------------------ helpers

    def _prune(self) -> None:
        horizon = self._clock - timedelta(seconds=self.rules.pool_s)
        owned = set()
        for o in self._open.values():
            owned |= o.pick_ids
        old = [pid for pid, p in self._picks.items() if p.time < horizon and pid not in owned]
        for pid in old:
            del self._picks[pid]
            self._received.pop(pid, None)
            self._seq.pop(pid, None)
            self._closed_owned.discard(pid)
        self.counters.pruned += len(old)
        recent = horizon
        self._recent = [e for e in self._recent if e.preferred_origin is not None
                        and e.preferred_origin.time >= recent]

    def _due(self, clock: datetime | None) -> list[_Open]:
        if clock is None:
            return []
        r = self.rules
        out = []
        for o in self._open.values():
            origin = o.event.preferred_origin
            t0 = origin.time if origin is not None else o.last_growth
            if (clock >= t0 + timedelta(seconds=r.final_after_s)
                    and clock >= o.last_growth + timedelta(seconds=r.quiet_s)):
                out.append(o)
        return sorted(out, key=lambda o: o.order)

    def _span(self, o: _Open) -> tuple[datetime, datetime]:
        times = [self._picks[i].time for i in o.pick_ids if i in self._picks]
        return min(times), max(times)

    def _locate(self, picks: Sequence[Pick]):
        """LocationResult of ``picks`` (cached by pick set), or ``None`` when they cannot be located."""
        key = frozenset(p.id for p in picks)
        if key in self._locations:
            self._locations.move_to_end(key)
            return self._locations[key]
        from tianshan.events.locate import locate

        self.counters.locations += 1
        try:
            result = locate(picks, self.stations, self.model, self.locate_config)
        except Exception as err:  # noqa: BLE001 - any picks that cannot be located are just not an origin
            self.counters.location_failures += 1
            log.debug("location of %d picks failed: %s", len(picks), err)
            result = None
        self._locations[key] = result
        if len(self._locations) > _LOCATION_CACHE:
            self._locations.popitem(last=False)
        return result

    def _gate(self, origin: Origin) -> str | None:
        """The first quality gate ``origin`` fails (``rms``, ``ellipse``, ``depth``), else ``None``."""
        r = self.rules
        if r.max_rms_s is not None and origin.rms_s is not None and origin.rms_s > r.max_rms_s:
            return "rms"
        if r.max_semi_major_m is not None:
            semi = origin.ellipse.semi_major_m if origin.ellipse is not None else origin.horizontal_uncertainty_m
            if semi is not None and semi > r.max_semi_major_m:
                return "ellipse"
        if r.max_depth_m is not None and origin.depth_m > r.max_depth_m:
            return "depth"
        return None

    def _nearest(self, origin: Origin, picks: Sequence[Pick]) -> str | None:
        """``"nearest"`` when too few of the stations nearest the epicentre have a P pick, else ``None``.

        With ``n`` P stations, at least ``min_nearest_fraction`` of the ``n`` network stations
        nearest the epicentre must be among them: a real event is picked first where it is
        closest, while picks that fit a hypocentre by chance are scattered (PyOcto's
        ``min_pick_fraction``, Münchmeyer 2024, applies the same distance argument per station).
        """
        p_st = _p_stations(picks)
        n = len(p_st)
        if n == 0 or self.rules.min_nearest_fraction <= 0:
            return None
        nearest = self._by_distance(origin, self._table)[:n]
        hit = sum(1 for sid in nearest if sid in p_st)
        return None if hit >= self.rules.min_nearest_fraction * n else "nearest"

    def _nearest_subset(self, o: _Open, picks: tuple[Pick, ...]) -> tuple[Pick, ...]:
        """The picks of the ``update_max_stations`` stations nearest ``o``'s latest epicentre (all
        picks when the event has no origin yet or no more stations than that; rules docstring)."""
        limit = self.rules.update_max_stations
        stations = {p.stream_id.station_id for p in picks}
        if limit is None or len(stations) <= limit or not o.event.origins:
            return picks
        keep = set(self._by_distance(o.event.origins[-1], stations)[:limit])
        self.counters.bounded_updates += 1
        return tuple(p for p in picks if p.stream_id.station_id in keep)

    def _by_distance(self, origin: Origin, station_ids: Iterable[str]) -> list[str]:
        """``station_ids`` nearest ``origin``'s epicentre first (unknown stations last)."""
        def dist(sid: str) -> float:
            st = self._table.get(sid)
            return math.inf if st is None else _haversine_m(origin.latitude_deg, origin.longitude_deg,
                                                            st.latitude_deg, st.longitude_deg)

        return sorted(station_ids, key=lambda sid: (dist(sid), sid))

    def _pool_picks(self, ids: Iterable[str]) -> tuple[Pick, ...]:
        return tuple(sorted((self._picks[i] for i in ids if i in self._picks), key=lambda p: (p.time, p.id)))

    def _new_id(self, picks: Sequence[Pick]) -> str:
        from tianshan.events.build.pipeline import event_id_for

        base = event_id_for(picks)
        eid, k = base, 1
        while eid in self._used_ids:
            k += 1
            eid = f"{base}-{k}"
        self._used_ids.add(eid)
        return eid

    def _larger(self, n_stations: int, exclude: str | None = None) -> list[Event]:
        """Open and recently finalised events with at least ``n_stations`` stations."""
        out = [o.event for o in self._open.values() if o.id != exclude]
        out += self._recent
        return [e for e in out if _stations(e.picks) >= n_stations]

    # ------------------------------------------------------------------ attaching picks to open events

    def _travel_times(self):
        """P/S travel times to the stations (tables of the locator, built once)."""
        if self._times is None:
            from tianshan.events.locate.traveltimes import StationTravelTimes

            datum = max(0.0, max(st.elevation_m for st in self._table.values()))
            reach = self.rules.max_station_distance_m or 1_000_000.0
            self._times = StationTravelTimes(self.model, datum, self.associator_config.max_depth_m,
                                             reach + 50_000.0, depth_step_m=2_000.0, distance_step_m=2_000.0)
        return self._times

    def _attach(self, picks: list[Pick], changes: list[EventChange]) -> list[Pick]:
        """Attach new picks to the open events they fit; return the picks left over.

        As scautoloc tries each incoming pick against the known origins first: a pick fits an
        open event when its station is within ``max_station_distance_m`` of the epicentre, the event
        has no pick of that station and phase family yet, and the pick is within the associator's
        ``pick_match_tolerance_s`` of the predicted first P or S arrival (locator travel times, station
        elevation included). The best-fitting event takes it (ties: the older event); events that
        gained picks are relocated (``updated``). No association runs when every new pick fits.
        """
        if not self._open or not picks:
            return picks
        import numpy as np

        from tianshan.events.locate.geometry import great_circle_m

        tt = self._travel_times()
        tol = self.associator_config.pick_match_tolerance_s
        reach = self.rules.max_station_distance_m
        fams = [_family(p.phase) for p in picks]
        sts = [self._table[p.stream_id.station_id] for p in picks]
        lat = np.array([s.latitude_deg for s in sts])
        lon = np.array([s.longitude_deg for s in sts])
        elev = np.array([s.elevation_m for s in sts])
        best: dict[int, tuple[float, int, _Open]] = {}
        for o in self._open.values():
            origin = o.event.preferred_origin
            if origin is None:
                continue
            have = {(self._picks[i].stream_id.station_id, _family(self._picks[i].phase))
                    for i in o.pick_ids if i in self._picks}
            dist = great_circle_m(origin.latitude_deg, origin.longitude_deg, lat, lon)
            depth = max(origin.depth_m, -tt.datum_m)
            for fam in ("P", "S"):
                idx = [i for i, f in enumerate(fams) if f == fam and (reach is None or dist[i] <= reach)
                       and (picks[i].stream_id.station_id, fam) not in have]
                if not idx:
                    continue
                pred = tt.times(fam, depth, dist[idx], elev[idx])
                for i, t in zip(idx, pred):
                    r = abs((picks[i].time - origin.time).total_seconds() - float(t))
                    if np.isfinite(r) and r <= tol and (i not in best or (r, o.order) < best[i][:2]):
                        best[i] = (r, o.order, o)
        if not best:
            return picks
        taken: dict[str, dict[tuple[str, str], tuple[float, int]]] = {}
        for i, (r, _, o) in best.items():
            key = (picks[i].stream_id.station_id, fams[i])
            slot = taken.setdefault(o.id, {})
            if key not in slot or r < slot[key][0]:
                slot[key] = (r, i)
        attached = set()
        for eid, slot in taken.items():
            o = self._open[eid]
            ids = frozenset(picks[i].id for _, i in slot.values())
            attached |= ids
            self._update(o, o.pick_ids | ids, changes)
        return [p for p in picks if p.id not in attached]

    # ------------------------------------------------------------------ association and matching

    def _window(self, lo: datetime | None, hi: datetime | None) -> list[Pick]:
        """Unclosed pool picks in ``[lo, hi]`` widened to cover every open event reaching into it."""
        if lo is not None:
            changed = True
            while changed:
                changed = False
                for o in self._open.values():
                    a, b = self._span(o)
                    if a <= hi and b >= lo and (a < lo or b > hi):
                        lo, hi = min(lo, a), max(hi, b)
                        changed = True
        return sorted((p for pid, p in self._picks.items() if pid not in self._closed_owned
                       and (lo is None or lo <= p.time <= hi)), key=lambda p: (p.time, p.id))

    def _reassociate(self, lo: datetime | None, hi: datetime | None, changes: list[EventChange],
                     sticky: bool = True) -> None:
        """Associate the pool picks of ``[lo, hi]`` (all: ``None``) and match the result to the open events.

        ``sticky``: an event keeps the picks the associator left out this time unless another
        association holds them (updates never flap between two pick sets); the final pass
        (``sticky=False``) gives every event exactly its association's picks.
        """
        from tianshan.events.associate import associate_picks

        pool = self._window(lo, hi)
        if not pool:
            return
        ids = {p.id for p in pool}
        result = associate_picks(pool, self.stations, self.model, self.associator_config)
        self.counters.associations += 1
        assocs = list(result.associations)
        sets = [frozenset(p.id for p in a.picks) for a in assocs]
        involved = sorted((o for o in self._open.values() if o.pick_ids & ids), key=lambda o: o.order)
        before = {o.id: o.pick_ids for o in involved}     # for split parents: the sets before this update
        claims: dict[int, list[_Open]] = {}
        for o in involved:
            best, best_n = None, 0
            for i, s in enumerate(sets):
                n = len(o.pick_ids & s)
                if n > best_n:
                    best, best_n = i, n
            if best is None:
                if not o.orphan:
                    self.counters.orphaned += 1
                o.orphan = True
            else:
                o.orphan = False
                claims.setdefault(best, []).append(o)
        # merges and updates first, so candidates are checked against up-to-date events
        held = frozenset().union(*sets) if sets else frozenset()
        for i in sorted(claims):
            keeper, *others = claims[i]
            for other in others:
                self._merge(other, keeper, changes)
            new = sets[i]
            if sticky:
                new = new | frozenset().union(*(o.pick_ids - held for o in claims[i]))
            self._update(keeper, new, changes, merged=[o.id for o in others])
        candidates = [i for i in range(len(assocs)) if i not in claims]
        candidates.sort(key=lambda i: (-len(_p_stations(assocs[i].picks)), -len(sets[i]), assocs[i].origin.time))
        for i in candidates:
            parents = [(len(before[o.id] & sets[i]), -o.order, o) for o in involved if before[o.id] & sets[i]]
            parent = max(parents, key=lambda t: t[:2])[2] if parents else None
            self._declare(self._pool_picks(sets[i]), parent, changes)

    def _merge(self, other: _Open, keeper: _Open, changes: list[EventChange]) -> None:
        ev = replace(other.event, type=EventType.NOT_EXISTING)
        del self._open[other.id]
        self.counters.merged += 1
        changes.append(EventChange("merged", ev, f"merged into {keeper.id}"))

    def _update(self, o: _Open, ids: frozenset[str], changes: list[EventChange], merged: Sequence[str] = ()) -> None:
        """Give ``o`` the pick set ``ids``; relocate and publish when it differs from the published one."""
        if ids == o.pick_ids and not merged:
            return
        if ids - o.pick_ids:
            o.last_growth = self._clock
        o.pick_ids = ids
        published = frozenset(p.id for p in o.event.picks)
        gained, lost = ids - published, published - ids
        if not gained and not lost and not merged:
            return
        picks = self._pool_picks(ids)
        loc = self._locate(self._nearest_subset(o, picks))
        failed = "location" if loc is None else self._gate(loc.origin)
        if failed:
            self.counters.update_rejected += 1
            log.debug("event %s: update not published (%s)", o.id, failed)
            return
        base = self._before.setdefault(o.id, o.event)     # at most one new version per update call
        ev = replace(base, picks=picks).with_origin(replace(loc.origin, id=_new_origin_id()))
        o.event = ev
        parts = []
        if gained:
            parts.append(f"+{len(gained)} picks")
        if lost:
            parts.append(f"-{len(lost)} picks")
        parts += [f"merged {m}" for m in merged]
        change = EventChange("updated", ev, ", ".join(parts), origin=ev.origins[-1])
        for k, ch in enumerate(changes):
            if ch.kind == "updated" and ch.event.id == o.id:
                changes[k] = change
                return
        self.counters.updated += 1
        changes.append(change)

    def _declare(self, picks: tuple[Pick, ...], parent: _Open | None, changes: list[EventChange]) -> None:
        c = self.counters
        if len(_p_stations(picks)) < self.rules.min_stations:
            c.rejected_stations += 1
            return
        loc = self._locate(picks)
        if loc is None:
            c.rejected_location += 1
            return
        failed = self._gate(loc.origin) or self._nearest(loc.origin, picks)
        if failed:
            setattr(c, f"rejected_{failed}", getattr(c, f"rejected_{failed}") + 1)
            return
        origin = replace(loc.origin, id=_new_origin_id(), version=1)
        if self.rules.explain:
            from tianshan.events.screen import explained_fraction

            trial = Event(picks=picks, origins=(origin,), preferred_origin_id=origin.id, id="trial")
            larger = self._larger(_stations(picks))
            if larger:
                frac, by = explained_fraction(trial, larger, self.stations, self.model, self.screen_config)
                if frac >= self.screen_config.max_explained_fraction:
                    c.rejected_explained += 1
                    log.debug("candidate of %d picks explained by %s (%.0f %%)", len(picks), by, 100 * frac)
                    return
        eid = self._new_id(picks)
        ev = Event(id=eid, picks=picks, origins=(origin,), preferred_origin_id=origin.id)
        ids = frozenset(p.id for p in picks)
        self._open[eid] = _Open(ev, ids, self._next_order, self._clock)
        self._next_order += 1
        locatable = max(picks, key=lambda p: (self._seq.get(p.id, -1), p.time))
        if parent is not None:
            c.split += 1
            changes.append(EventChange("split", ev, f"split from {parent.id}", locatable, origin))
        else:
            c.declared += 1
            changes.append(EventChange("declared", ev, "", locatable, origin))

    # ------------------------------------------------------------------ finalisation

    def _finalise(self, due: list[_Open], changes: list[EventChange], full: bool) -> None:
        from tianshan.events.screen import screen_events

        if not full:
            spans = [self._span(o) for o in due]
            w = timedelta(seconds=self.rules.window_s)
            self._reassociate(min(a for a, _ in spans) - w, max(b for _, b in spans) + w, changes, sticky=False)
        due = [o for o in due if o.id in self._open]
        judged: list[tuple[_Open, Event, Origin]] = []
        for o in due:
            picks = self._pool_picks(o.pick_ids)
            if o.orphan:
                self._close(o, None, "unassociated", changes)
                continue
            if len(_p_stations(picks)) < self.rules.min_stations:
                self._close(o, None, "stations", changes)
                continue
            loc = self._locate(picks)
            if loc is None:
                self._close(o, None, "no_origin", changes)
                continue
            origin = replace(loc.origin, id=_new_origin_id(), evaluation_status=EvaluationStatus.FINAL)
            judged.append((o, replace(o.event, picks=picks).with_origin(origin), origin))
        if not judged:
            return
        due_ids = {o.id for o, _, _ in judged}
        before = self._recent + [o.event for o in self._open.values() if o.id not in due_ids]
        verdicts = screen_events([ev for _, ev, _ in judged], self.stations, self.model, self.screen_config,
                                 accepted_before=before)
        for (o, ev, origin), v in zip(judged, verdicts):
            if v.accepted:
                self._close(o, ev, "", changes)
            else:
                detail = v.reason if v.explained_by is None else f"{v.reason} by {v.explained_by}"
                rejected = replace(origin, evaluation_status=EvaluationStatus.REJECTED)
                ev = replace(ev, origins=ev.origins[:-1] + (rejected,), preferred_origin_id=o.event.preferred_origin_id)
                self._close(o, ev, detail, changes, cancelled=True)

    def _close(self, o: _Open, ev: Event | None, reason: str, changes: list[EventChange],
               cancelled: bool = False) -> None:
        """Close ``o``: ``final`` with ``ev`` when not cancelled, else ``cancelled`` (``ev`` may be None)."""
        del self._open[o.id]
        self._closed_owned |= o.pick_ids
        if not cancelled and ev is not None:
            self._recent.append(ev)
            self.counters.final += 1
            changes.append(EventChange("final", ev, "", origin=ev.origins[-1]))
            return
        new_origin = None
        if ev is None:
            ev = o.event
        elif len(ev.origins) > len(o.event.origins):
            new_origin = ev.origins[-1]
        ev = replace(ev, type=EventType.NOT_EXISTING)
        self.counters.cancelled += 1
        changes.append(EventChange("cancelled", ev, reason, origin=new_origin))

    # ------------------------------------------------------------------ warm-up

    def warm_up(self, sizes: Sequence[int] = (5, 8, 12, 20)) -> None:
        """Build the travel-time tables association and location will need (seconds, once per process).

        Locates synthetic P arrivals of an event under the network's central station recorded at
        its ``k`` nearest stations, for each ``k`` in ``sizes``, and associates them once (which
        writes PyOcto's table to its cache). Call it before the first real picks (the stage does,
        in a thread); results are discarded.
        """
        from tianshan.core.ids import StreamID
        from tianshan.events.associate import associate_picks
        from tianshan.events.locate import locate
        from tianshan.traveltime.layered import LayeredTravelTime

        sts = list(self._table.values())
        lat0 = sum(s.latitude_deg for s in sts) / len(sts)
        lon0 = sum(s.longitude_deg for s in sts) / len(sts)
        centre = min(sts, key=lambda s: _haversine_m(lat0, lon0, s.latitude_deg, s.longitude_deg))
        near = sorted(sts, key=lambda s: _haversine_m(centre.latitude_deg, centre.longitude_deg,
                                                  s.latitude_deg, s.longitude_deg))
        solver = LayeredTravelTime(self.model)
        t0 = datetime(2000, 1, 1, tzinfo=timezone.utc)
        depth = 10_000.0
        for k in sizes:
            chosen = near[:max(4, min(k, len(near)))]
            dist = [_haversine_m(centre.latitude_deg, centre.longitude_deg, s.latitude_deg, s.longitude_deg)
                    for s in chosen]
            tt = solver.first_arrival("P", depth, dist)[0]
            picks = [Pick(StreamID(s.network, s.code, "", "HHZ"), t0 + timedelta(seconds=float(t)), "P",
                          id=f"warm-up/{k}/{s.station_id}") for s, t in zip(chosen, tt)]
            try:
                locate(picks, self.stations, self.model, self.locate_config)
                if k == sizes[0]:
                    associate_picks(picks, self.stations, self.model, self.associator_config)
            except Exception as err:  # noqa: BLE001 - warm-up is best effort
                log.debug("warm-up with %d stations failed: %s", k, err)


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """:func:`tianshan.regions.model.haversine_m` (imported on first use: keeps this module light)."""
    from tianshan.regions.model import haversine_m

    return haversine_m(lat1, lon1, lat2, lon2)


def _new_origin_id() -> str:
    from tianshan.core.ids import new_resource_id

    return new_resource_id("origin")
