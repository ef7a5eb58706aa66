"""Streaming product stage: magnitudes and event versions from the bus -> quick reports, event type.

Design
------
:class:`ProductStage` subscribes ``tianshan.magnitudes`` (from
:class:`~tianshan.stages.magnitudes.MagnitudeStage`: a stored
:class:`~tianshan.core.Magnitude`, meta ``event_id``, ``preferred``, ``final``) and
``tianshan.events`` (meta ``change``). It reads what it reports from the store
(:meth:`~tianshan.store.EventStore.get_event`: the event with its preferred origin and
magnitude as stored, whatever order the two subjects' messages came in). Handlers run one
at a time (one lock for both subscriptions and the final timer).

The automatic quick report (自动速报, :func:`tianshan.events.build.pipeline.quick_report_product`,
the batch chain's product) is written and stored (``store.save_product``, kind
``quick_report``) when

* the event first has a preferred magnitude (version 1);
* its preferred magnitude moved by at least ``min_change`` (0.3, the CENC practice of
  re-issuing an automatic report when the magnitude changes materially) from the last
  reported value;
* the event is final (a last issue, whatever the change).

Each issue is a new :class:`~tianshan.core.Product` (new id) with ``version`` n (also in
``properties``, with ``final``, ``magnitude``, ``magnitude_type`` and ``origin_id``). The
text file is the batch chain's ``<folder>/<event hash>.txt``, replaced atomically by each
issue: it always holds the newest report; each product row keeps the SHA-256 of the text
it issued. The event's ``region_name`` is set to the report's English place when it changes.

Final
-----
The event is final for the products when a magnitude message marked ``final`` arrives (the
magnitude stage's final computation is stored), or ``final_wait_s`` wall seconds after the
``final`` event version arrived without one (no magnitude could be computed; counted in
``final_timeouts``). Then the event type is classified
(:func:`tianshan.events.classify.classify_event`, as the batch chain does), the last report
is issued with that type, and the header is set in one transaction:
``store.update_event(event_id, type=..., type_certainty="suspected", region_name=...)``.
Later messages about the event are ignored. ``cancelled``/``merged`` events stop being
processed (also when the stored event turns out to be ``not existing``: the magnitude
message overtook the cancellation).

Failures: bad payloads raise :class:`~tianshan.core.errors.InputError` (the bus drops and
counts them); a report or classification that fails is counted and logged (the event goes
on without it); a store failure inside a handler propagates so the bus redelivers the
message; in the final timer it is counted and tried again (``max_attempts``). State is read
back from the stored products the first time an event is seen, so a restarted stage goes on
with the next version.

Timeline: ``first_product`` when the first report of an event is stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from tianshan.bus import subjects
from tianshan.core.errors import InputError
from tianshan.core.event import EventType
from tianshan.stages.following import FollowingStage
from tianshan.stages.magnitudes import accept_event_message, emit_timeline

log = logging.getLogger(__name__)

#: Product kind of the quick report (as the batch chain stores it).
QUICK_REPORT = "quick_report"


@dataclass
class ProductStageCounters:
    """Counts of everything :class:`ProductStage` handled, skipped and failed."""

    magnitudes_received: int = 0
    events_received: int = 0
    events_ignored: int = 0       #: messages about stopped or finished events
    events_stopped: int = 0       #: cancelled / merged
    bad_payloads: int = 0
    reports: int = 0              #: quick-report products stored
    report_errors: int = 0
    classification_errors: int = 0
    finals: int = 0
    final_timeouts: int = 0       #: finalised without a final magnitude message
    store_errors: int = 0         #: in the final timer (handlers let the bus redeliver)
    timeline_errors: int = 0
    expired: int = 0              #: events forgotten after expire_s without news (never final)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Reports:
    version: int = 0               # last report version stored
    value: float | None = None     # preferred magnitude of the last report
    final_seen: float | None = None
    attempts: int = 0
    seen: float = 0.0              # wall clock of the last message about the event


class ProductStage(FollowingStage):
    """Quick reports and the final event type of events (see the module docstring).

    ``network``: a :class:`tianshan.events.build.pipeline.Network` (its ``places`` name the
    report's place); ``folder``: where report files are written. ``durable``: prefix of the
    two durable consumer names (``<durable>-magnitudes``, ``<durable>-events``; None for
    plain subscriptions). ``final_wait_s``: wall seconds a final event waits for its final
    magnitudes; ``expire_s``: wall seconds after which an event without news that never got
    final is forgotten; ``clock``: wall time in POSIX seconds.
    """

    task_name = "product-stage"

    def __init__(self, bus, store, network, *, folder, magnitudes_subject: str = subjects.MAGNITUDES,
                 events_subject: str = subjects.EVENTS, durable: str | None = "products", min_change: float = 0.3,
                 final_wait_s: float = 90.0, poll_s: float = 1.0, max_attempts: int = 3, expire_s: float = 3600.0,
                 on_timeline=None, clock: Callable[[], float] = time.time) -> None:
        if store is None:
            raise InputError("the product stage needs an event store", field="store")
        if not (min_change >= 0 and final_wait_s >= 0 and poll_s > 0 and max_attempts >= 1 and expire_s > 0):
            raise InputError("min_change, final_wait_s must be >= 0, poll_s, expire_s > 0, max_attempts >= 1",
                             field="min_change")
        self.bus = bus
        self.store = store
        self.network = network
        self.folder = Path(folder)
        self.magnitudes_subject = magnitudes_subject
        self.events_subject = events_subject
        self.durable = durable
        self.min_change = float(min_change)
        self.final_wait_s = float(final_wait_s)
        self.poll_s = float(poll_s)
        self.max_attempts = int(max_attempts)
        self.expire_s = float(expire_s)
        self.on_timeline = on_timeline
        self.clock = clock
        self.counters = ProductStageCounters()
        self._states: dict[str, _Reports] = {}
        super().__init__()

    # ------------------------------------------------------------------ life cycle (FollowingStage)

    def _subscriptions(self) -> list:
        return [(self.magnitudes_subject, self._on_magnitude, self._durable_name("magnitudes")),
                (self.events_subject, self._on_event, self._durable_name("events"))]

    async def flush(self) -> None:
        """Finalise now every event whose final version has arrived (end of a replay)."""
        await self._flush_begins()
        for eid in [e for e, st in self._states.items() if st.final_seen is not None]:
            await self._final_from_store(eid, timed_out=False, raise_errors=False)

    def health(self) -> dict[str, Any]:
        return self._health(sum(1 for st in self._states.values() if st.final_seen is not None), len(self._states))

    # ------------------------------------------------------------------ handlers

    async def _on_magnitude(self, msg) -> None:
        accepted = self._accept_magnitude(msg)
        if accepted is None:
            return
        eid, meta = accepted
        async with self._lock:
            st = await self._state(eid)
            if st is None:
                return
            event = await asyncio.to_thread(self.store.get_event, eid)
            if event.type is EventType.NOT_EXISTING:  # cancelled or merged meanwhile
                self._states.pop(eid, None)
                self._finish(eid, "not existing")
                self.counters.events_stopped += 1
                return
            if meta.get("final") is True:
                await self._finalise(eid, st, event, timed_out=False)
                return
            pm = event.preferred_magnitude
            if pm is not None and (st.version == 0 or st.value is None
                                   or abs(pm.value - st.value) >= self.min_change):
                await self._issue(eid, st, event, final=False)

    async def _on_event(self, msg) -> None:
        accepted = accept_event_message(self, msg, self._states)
        if accepted is None:
            return
        event, change = accepted
        eid = event.id
        if change == "final":
            async with self._lock:
                st = await self._state(eid)
                if st is not None and st.final_seen is None:
                    st.final_seen = self.clock()
                    self._wake.set()

    async def _state(self, eid: str) -> _Reports | None:
        """The report state of ``eid``, read back from its stored products the first time (None: finished)."""
        st = self._states.get(eid)
        if st is not None:
            st.seen = self.clock()
            return st
        if eid in self._finished:
            return None
        stored = await asyncio.to_thread(self.store.products, eid, QUICK_REPORT)
        st = _Reports(seen=self.clock())
        for p in stored:
            if p.version > st.version:
                st.version = p.version
                mag = p.properties.get("magnitude")
                st.value = float(mag) if isinstance(mag, (int, float)) else None
            if p.properties.get("final") is True:
                self._finish(eid, "final")
                return None
        self._states[eid] = st
        return st

    # ------------------------------------------------------------------ reports

    async def _issue(self, eid: str, st: _Reports, event, final: bool) -> str | None:
        """Write and store the next quick report of ``event``; its English place (None if it failed)."""
        from tianshan.events.build.pipeline import quick_report_product

        try:
            reported, product = await asyncio.to_thread(quick_report_product, event, self.network.places,
                                                        self.folder)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the event goes on without this report
            self.counters.report_errors += 1
            log.exception("product stage: event %s: quick report failed", eid)
            return None
        n = st.version + 1
        pm = event.preferred_magnitude
        origin = event.preferred_origin
        props = {**dict(product.properties), "version": n, "final": final,
                 "magnitude": None if pm is None else pm.value, "magnitude_type": None if pm is None else pm.type,
                 "origin_id": None if origin is None else origin.id}
        product = dataclasses.replace(product, version=n, properties=props)
        await asyncio.to_thread(self.store.save_product, product)
        first = st.version == 0
        st.version = n
        if pm is not None:
            st.value = pm.value
        self.counters.reports += 1
        if not final and reported.region_name != event.region_name:
            await asyncio.to_thread(self.store.update_event, eid, region_name=reported.region_name)
        if first:
            ok = await emit_timeline(self.on_timeline, eid, "first_product", None,
                                     datetime.fromtimestamp(self.clock(), timezone.utc),
                                     f"quick report v{n}" + ("" if pm is None else f", {pm.type} {pm.value:.1f}"))
            if not ok:
                self.counters.timeline_errors += 1
        return reported.region_name

    async def _finalise(self, eid: str, st: _Reports, event, timed_out: bool) -> None:
        """Classify, issue the last report, set type/certainty/region; the event is then finished."""
        from tianshan.events.classify import classify_event

        etype = None
        try:
            etype = (await asyncio.to_thread(classify_event, event)).type
            event = dataclasses.replace(event, type=etype, type_certainty="suspected")
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the event keeps its type
            self.counters.classification_errors += 1
            log.exception("product stage: event %s: classification failed", eid)
        place = await self._issue(eid, st, event, final=True)
        header: dict[str, Any] = {}
        if etype is not None:
            header.update(type=etype, type_certainty="suspected")
        if place is not None:
            header["region_name"] = place
        if header:
            await asyncio.to_thread(lambda: self.store.update_event(eid, **header))
        self.counters.finals += 1
        if timed_out:
            self.counters.final_timeouts += 1
        self._states.pop(eid, None)
        self._finish(eid, "final")

    # ------------------------------------------------------------------ final timer

    async def _final_from_store(self, eid: str, timed_out: bool, raise_errors: bool) -> None:
        async with self._lock:
            st = self._states.get(eid)
            if st is None:
                return
            try:
                event = await asyncio.to_thread(self.store.get_event, eid)
                await self._finalise(eid, st, event, timed_out=timed_out)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - store down: counted, tried again
                self.counters.store_errors += 1
                st.attempts += 1
                log.exception("product stage: event %s: finalising failed (attempt %d)", eid, st.attempts)
                if st.attempts >= self.max_attempts:
                    self._states.pop(eid, None)
                    self._finish(eid, "failed")
                if raise_errors:
                    raise

    async def _loop(self) -> None:
        """The final timer."""
        while not self._closing:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the timer must outlive any one failure
                log.exception("product stage: timer step failed")
            await self._sleep(self.poll_s)

    async def _tick(self) -> None:
        """Finalise the events whose final magnitudes did not come in time; forget stale ones."""
        now = self.clock()
        due = [eid for eid, st in self._states.items()
               if st.final_seen is not None and now - st.final_seen >= self.final_wait_s]
        for eid in due:
            await self._final_from_store(eid, timed_out=True, raise_errors=False)
        for eid in [e for e, st in self._states.items() if st.final_seen is None and now - st.seen > self.expire_s]:
            del self._states[eid]  # its final never came
            self.counters.expired += 1
