"""Associator stage: picks from the bus -> events (origins, versions) in the store and on the bus.

Design
------
:class:`EventStage` wraps an :class:`~tianshan.stages.tracker.EventTracker` (the pure
association / location / rules engine) for the real-time engine. It subscribes

* ``tianshan.picks`` (durable consumer ``associator``): each :class:`~tianshan.core.Pick` is
  put in a pending batch with the wall time it arrived; the handler returns at once (so the bus
  acknowledges it and delivers the next one) -- a handler that waited for the association
  would get one pick per update on a bus that delivers a subscription's messages one at a time;
* ``tianshan.clock``: ``{"source": ..., "data_time": ISO 8601}``, the picker's data-time
  frontier; it advances the tracker's clock (finalisation) without waveforms. A data time more
  than the rules' ``max_future_s`` ahead of the wall clock is a clock jump: dropped as a bad
  payload (it would close every open event at once).

One worker task owns the tracker. Woken by a pick (or a clock message), it waits
``debounce_s`` of wall time so that picks arriving together form one batch, then runs
``tracker.add_picks`` + ``tracker.update(clock)`` in a thread (:func:`asyncio.to_thread`: the
event loop keeps receiving picks meanwhile) and applies the changes in order:

1. **store** (in a thread): a new event (``declared`` / ``split``) with
   ``store.save_event(event)`` (its first origin and picks); every other change with
   ``store.update_event(event_id, origin=..., picks=..., type=...)`` (the new origin as the next
   version, picks linked, type "not existing" for ``merged`` / ``cancelled``; magnitudes are
   left to the magnitude stage). A store without ``update_event`` gets ``save_event``;
2. **publish**: the new origin on ``tianshan.origins`` (``codec.encode(origin,
   event_id=...)``, key ``<event id>:origin:<version>``), then the event on
   ``tianshan.events`` (``codec.encode(event, change=kind, detail=...)``, key
   ``<event id>:<kind>:<latest origin version>``; stable keys, so a change re-emitted after a
   restart is dropped by the bus's dedupe);
3. **timeline** (``on_timeline(event_id, step, data_time, wall_time, detail)``, sync or async):
   on declaration ``origin_time``, ``first_pick`` and ``locatable_pick`` (pick time and the wall
   time the pick reached this stage), ``first_origin`` (wall time the first origin was
   published); on closing ``final`` (the data clock; detail ``cancelled: <reason>`` for a
   cancelled event).

A change whose store write or publish fails stays at the head of an outbox and is retried
(store writes are idempotent: ``update_event`` does not append an origin stored already); the
changes behind it wait, so the store and the bus see every event's versions in order. A
tracker failure is counted and logged, never raised. Bad payloads raise
:class:`~tianshan.core.errors.InputError` (the bus drops and counts them).

Latency: the wall time from the arrival of the pick that made an event declarable to the
publication of its first origin is kept per declaration (``declaration_latency_s``, the last
100; :meth:`EventStage.health` reports the newest).

Restart: :meth:`EventStage.restore_from_store` re-opens the stored events that were open
(origin time >= ``since``, not "not existing", preferred origin not FINAL and no ``final``
timeline step); their picks re-enter the pool, so picks re-sent after the restart are
duplicates. Picks acknowledged but not yet part of a stored event when the process died are
not recovered from the store; the daemon's recovery re-picks the archive's last minutes,
which re-sends them under the same ids.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from tianshan.bus import subjects
from tianshan.core.errors import DomainError, InputError
from tianshan.core.event import EventType
from tianshan.core.origin import EvaluationStatus
from tianshan.core.timeutil import as_utc
from tianshan.stages.tracker import EventChange, EventTracker

log = logging.getLogger(__name__)

_NEW = ("declared", "split")


@dataclass
class EventStageCounters:
    """Counts of the associator stage (the tracker's own counts are merged in by :meth:`as_dict`)."""

    picks_received: int = 0
    clock_messages: int = 0
    batches: int = 0
    tracker_errors: int = 0
    changes: int = 0
    stored: int = 0
    store_errors: int = 0
    store_conflicts: int = 0
    published: int = 0
    publish_errors: int = 0
    timeline_errors: int = 0
    restored: int = 0
    tracker: object = field(default=None, repr=False)

    def as_dict(self) -> dict[str, int]:
        out = {k: v for k, v in asdict(self).items() if k != "tracker"}
        if self.tracker is not None:
            for k, v in self.tracker.as_dict().items():
                out.setdefault(k, v)
        return out


@dataclass
class _Outgoing:
    change: EventChange
    timeline: list = field(default_factory=list)   # (step, data_time, wall_time, detail) before publishing
    clock: datetime | None = None
    stored: bool = False
    published: bool = False


class EventStage:
    """The associator/locator stage (see the module docstring).

    ``tracker``: an :class:`EventTracker`, or a network (anything with ``stations`` and
    ``model``, e.g. :class:`tianshan.events.build.pipeline.Network`) from which one is built with
    ``rules``. ``clock``: wall-clock function returning POSIX seconds (tests may replace it).
    ``warm_up``: build the travel-time tables in the worker before the first batch.
    """

    def __init__(self, bus, store, tracker, *, picks_subject: str = subjects.PICKS,
                 clock_subject: str = subjects.CLOCK, durable: str | None = "associator", debounce_s: float = 0.1,
                 on_timeline=None, clock=time.time, rules=None, warm_up: bool = True) -> None:
        if not isinstance(tracker, EventTracker):
            if not (hasattr(tracker, "stations") and hasattr(tracker, "model")):
                raise InputError(f"expected an EventTracker or a network, got {type(tracker).__name__}",
                                 field="tracker")
            tracker = EventTracker(tracker.stations, tracker.model, rules)
        if debounce_s < 0:
            raise InputError(f"must be >= 0, got {debounce_s!r}", field="debounce_s")
        self.bus = bus
        self.store = store
        self.tracker = tracker
        self.picks_subject = picks_subject
        self.clock_subject = clock_subject
        self.durable = durable
        self.debounce_s = float(debounce_s)
        self.on_timeline = on_timeline
        self.clock = clock
        self.warm_up = warm_up
        self.counters = EventStageCounters(tracker=tracker.counters)
        self.declaration_latency_s: collections.deque[float] = collections.deque(maxlen=100)
        self._pending: list = []                 # (pick, wall datetime)
        self._data_clock: datetime | None = None
        self._outbox: collections.deque[_Outgoing] = collections.deque()
        self._subs: list = []
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._busy = False
        self._last_activity: datetime | None = None
        self._open = 0

    # ------------------------------------------------------------------ lifecycle

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    async def start(self) -> None:
        """Start the worker and subscribe the picks (durable) and the clock."""
        if self._task is not None:
            return
        self._closing = False
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._worker(), name="associator")
        self._subs.append(await self.bus.subscribe(self.picks_subject, self._on_pick, durable=self.durable))
        self._subs.append(await self.bus.subscribe(self.clock_subject, self._on_clock))

    async def close(self) -> None:
        """Unsubscribe, let the worker finish the batch in hand, and try the outbox once more."""
        for sub in self._subs:
            try:
                await sub.unsubscribe()
            except Exception:  # noqa: BLE001 - closing goes on
                log.exception("associator: unsubscribe failed")
        self._subs = []
        self._closing = True
        if self._task is not None:
            self._wake.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        async with self._lock:
            await self._step(final=False)      # picks received before the unsubscribe

    async def flush(self) -> None:
        """End of a replay: associate every pending pick and close every open event now."""
        async with self._lock:
            await self._step(final=True)

    async def restore_from_store(self, since: datetime) -> int:
        """Re-open the stored events still open (see the module docstring); returns how many."""
        if self.store is None:
            return 0
        since = as_utc(since, "since")

        def load():
            out = []
            timeline = getattr(self.store, "timeline", None)
            for ev in self.store.events(start=since):
                if ev.type is EventType.NOT_EXISTING:
                    continue
                o = ev.preferred_origin
                if o is not None and o.evaluation_status is EvaluationStatus.FINAL:
                    continue
                if timeline is not None and any(e.step == "final" for e in timeline(ev.id)):
                    continue
                out.append(ev)
            return out

        events = await asyncio.to_thread(load)
        async with self._lock:
            n = self.tracker.restore(events)
            self._open = len(self.tracker.open_events())
        self.counters.restored += n
        return n

    def health(self) -> dict:
        """``ok`` (worker running, nothing stuck in the outbox), queue sizes, clocks, last latency."""
        alive = self._task is not None and not self._task.done()
        return {"ok": alive and len(self._outbox) < 100, "pending": len(self._pending), "outbox": len(self._outbox),
                "open_events": self._open, "pool": self.tracker.pool_size,
                "data_clock": None if self.tracker.clock is None else self.tracker.clock.isoformat(),
                "last_activity": None if self._last_activity is None else self._last_activity.isoformat(),
                "declaration_latency_s": self.declaration_latency_s[-1] if self.declaration_latency_s else None}

    # ------------------------------------------------------------------ handlers

    async def _on_pick(self, msg) -> None:
        from tianshan.bus import codec
        from tianshan.core.pick import Pick

        obj = codec.decode(msg.data)
        if not isinstance(obj, Pick):
            raise InputError(f"expected a pick, got {type(obj).__name__}", source=f"bus subject {msg.subject}",
                             field="type")
        self._pending.append((obj, self._now()))
        self.counters.picks_received += 1
        if self._wake is not None:
            self._wake.set()

    async def _on_clock(self, msg) -> None:
        data = msg.json()
        if not isinstance(data, dict) or "data_time" not in data:
            raise InputError("expected {'source': ..., 'data_time': ...}", source=f"bus subject {msg.subject}",
                             field="data_time")
        try:
            t = as_utc(data["data_time"], "data_time")
        except DomainError as err:
            raise InputError(str(err), source=f"bus subject {msg.subject}", field="data_time") from None
        lead = (t - self._now()).total_seconds()
        if lead > self.tracker.rules.max_future_s:
            raise InputError(f"data time {t.isoformat()} is {lead:.0f} s ahead of the wall clock (clock jump)",
                             source=f"bus subject {msg.subject}", field="data_time")
        self.counters.clock_messages += 1
        if self._data_clock is None or t > self._data_clock:
            self._data_clock = t
            if self._wake is not None:
                self._wake.set()

    # ------------------------------------------------------------------ worker

    async def _worker(self) -> None:
        if self.warm_up:
            self._busy = True
            try:
                await asyncio.to_thread(self.tracker.warm_up)
            except Exception:  # noqa: BLE001 - warm-up is an optimisation
                log.exception("associator: warm-up failed")
            finally:
                self._busy = False
        while not self._closing:
            await self._wake.wait()
            if self._closing:
                break
            self._busy = True
            try:
                if self.debounce_s > 0:
                    await asyncio.sleep(self.debounce_s)
                self._wake.clear()
                async with self._lock:
                    await self._step(final=False)
            finally:
                self._busy = False
            if self._outbox and not self._closing:
                await asyncio.sleep(1.0)      # store or bus down: retry the outbox
                self._wake.set()

    async def drain(self, timeout_s: float | None = None) -> None:
        """Wait until every pick received so far is processed and its changes applied (tests, replays)."""
        loop = asyncio.get_running_loop()
        end = None if timeout_s is None else loop.time() + timeout_s
        await asyncio.sleep(0)
        while self._pending or self._busy or self._outbox or (self._wake is not None and self._wake.is_set()):
            if self._task is None or self._task.done():
                break
            if end is not None and loop.time() > end:
                raise TimeoutError("associator: not drained in time")
            await asyncio.sleep(0.01)

    def _run_tracker(self, batch: list, clock: datetime | None, final: bool) -> list[_Outgoing]:
        """In a worker thread: feed the batch, update (or flush), and collect the timeline data."""
        tr = self.tracker
        by_wall: dict[datetime, list] = {}
        for pick, wall in batch:
            by_wall.setdefault(wall, []).append(pick)
        for wall, picks in by_wall.items():
            tr.add_picks(picks, wall)
        changes = tr.flush(clock) if final else tr.update(clock)
        out = []
        for ch in changes:
            item = _Outgoing(ch, clock=tr.clock)
            if ch.kind in _NEW:
                ev, o = ch.event, ch.origin
                first = min(ev.picks, key=lambda p: (p.time, p.id))
                item.timeline.append(("origin_time", o.time, None, ""))
                item.timeline.append(("first_pick", first.time, tr.received_wall(first.id), first.id))
                if ch.locatable_pick is not None:
                    lp = ch.locatable_pick
                    item.timeline.append(("locatable_pick", lp.time, tr.received_wall(lp.id), lp.id))
            out.append(item)
        return out

    async def _step(self, final: bool) -> None:
        batch, self._pending = self._pending, []
        clock = self._data_clock
        if batch or final or self.tracker.needs_update(clock):
            self.counters.batches += 1
            try:
                items = await asyncio.to_thread(self._run_tracker, batch, clock, final)
            except Exception:  # noqa: BLE001 - a tracker failure loses this batch, never the stage
                self.counters.tracker_errors += 1
                log.exception("associator: update failed (%d picks)", len(batch))
                items = []
            self._open = len(self.tracker.open_events())
            self.counters.changes += len(items)
            self._outbox.extend(items)
            self._last_activity = self._now()
        await self._drain_outbox()

    async def _drain_outbox(self) -> None:
        while self._outbox:
            item = self._outbox[0]
            if not await self._apply(item):
                return
            self._outbox.popleft()

    async def _apply(self, item: _Outgoing) -> bool:
        """Store, publish and report one change; False when it must be retried later."""
        ch = item.change
        if not item.stored:
            try:
                await asyncio.to_thread(self._store, ch)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - a store outage is retried, a conflict skipped
                from tianshan.store.errors import ImmutableRecordError

                if isinstance(err, ImmutableRecordError):
                    self.counters.store_conflicts += 1
                    log.warning("associator: %s %s conflicts with the store: %s", ch.kind, ch.event.id, err)
                else:
                    self.counters.store_errors += 1
                    log.exception("associator: storing %s of %s failed; will retry", ch.kind, ch.event.id)
                    return False
            else:
                self.counters.stored += int(self.store is not None)
            item.stored = True
        if not item.published:
            try:
                await self._publish(ch)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bus outage is retried
                self.counters.publish_errors += 1
                log.exception("associator: publishing %s of %s failed; will retry", ch.kind, ch.event.id)
                return False
            item.published = True
            await self._report(item)
        return True

    def _store(self, ch: EventChange) -> None:
        store = self.store
        if store is None:
            return
        ev = ch.event
        update = getattr(store, "update_event", None)
        if ch.kind in _NEW or update is None:
            store.save_event(ev)
            return
        kw: dict = {"picks": ev.picks}
        if ch.origin is not None:
            kw["origin"] = ch.origin
            kw["preferred_origin"] = ch.origin.id == ev.preferred_origin_id
        if ch.kind in ("merged", "cancelled"):
            kw["type"] = EventType.NOT_EXISTING
        update(ev.id, **kw)

    async def _publish(self, ch: EventChange) -> None:
        from tianshan.bus import codec

        ev = ch.event
        if ch.origin is not None:
            await self.bus.publish(subjects.ORIGINS, codec.encode(ch.origin, event_id=ev.id),
                                   key=f"{ev.id}:origin:{ch.origin.version}")
            self.counters.published += 1
        n = max((o.version for o in ev.origins), default=0)
        await self.bus.publish(subjects.EVENTS, codec.encode(ev, change=ch.kind, detail=ch.detail),
                               key=f"{ev.id}:{ch.kind}:{n}")
        self.counters.published += 1

    async def _report(self, item: _Outgoing) -> None:
        ch = item.change
        now = self._now()
        steps = list(item.timeline)
        if ch.kind in _NEW:
            steps.append(("first_origin", item.clock, now, ch.origin.id))
            if ch.locatable_pick is not None:
                for step, _, wall, _ in item.timeline:
                    if step == "locatable_pick" and wall is not None:
                        self.declaration_latency_s.append((now - wall).total_seconds())
        elif ch.kind in ("final", "cancelled"):
            steps.append(("final", item.clock, now, "" if ch.kind == "final" else f"cancelled: {ch.detail}"))
        if self.on_timeline is None:
            return
        for step, data_time, wall, detail in steps:
            try:
                got = self.on_timeline(ch.event.id, step, data_time, wall or now, detail)
                if inspect.isawaitable(got):
                    await got
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a timeline sink never stops the stage
                self.counters.timeline_errors += 1
                log.exception("associator: timeline %s of %s failed", step, ch.event.id)
