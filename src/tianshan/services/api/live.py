"""The live feed of the API: ``WS /api/v1/live`` pushes ``{"type": "hello"|"event"|"alert"|"station", "data"}``.

* ``event``: an event list row (as ``GET /api/v1/events``) each time an event changes;
* ``alert``: an alert message (``products/alerts/alert.schema.json``);
* ``station``: a station row (as ``GET /api/v1/stations``) when its latency or QC changes.

Sources: :class:`StorePoller` polls the store every ``poll_s`` seconds for events whose
``updated_at`` moved and for alerts not seen before, and every ``station_every`` polls for
stations whose row changed (latency, QC, exclusion: the live QC's records that a daemon's
:class:`~tianshan.stages.qc.QCRecorder` stores), so a plain ``tianshan serve`` of a
store that another process writes is live; :meth:`LiveHub.attach_bus` subscribes to the
message bus inside a daemon (``tianshan.events``: events; ``tianshan.alerts``: alert
message JSON). Programs may also call :meth:`LiveHub.publish` (thread-safe).

Restricted events are not sent to public subscribers. A subscriber that does not keep
up loses its oldest queued messages (bounded queue of :data:`QUEUE_SIZE`), never the
server's memory. Authentication: ``?token=`` (browsers cannot set headers on a
WebSocket) or ``Authorization: Bearer``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from starlette.websockets import WebSocket, WebSocketDisconnect

from tianshan.core.timeutil import utc_now
from tianshan.services.api.auth import ApiError, Principal, bearer_token
from tianshan.services.api.queries import iso

log = logging.getLogger(__name__)
QUEUE_SIZE = 256


@dataclass(eq=False)
class _Client:
    principal: Principal
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0


class LiveHub:
    """Fan-out of live messages to the connected WebSocket clients."""

    def __init__(self) -> None:
        self._clients: set[_Client] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.latency: dict[tuple[str, str], float] = {}

    @property
    def clients(self) -> int:
        return len(self._clients)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, kind: str, data: dict, restricted: bool = False) -> None:
        """Send ``{"type": kind, "data": data}`` to every client allowed to see it; callable from any thread."""
        msg = {"type": kind, "data": data}
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop:
            loop.call_soon_threadsafe(self._fan_out, msg, restricted)
        else:
            self._fan_out(msg, restricted)

    def _fan_out(self, msg: dict, restricted: bool) -> None:
        for c in list(self._clients):
            if restricted and c.principal.role == "public":
                continue
            if c.queue.full():
                c.queue.get_nowait()
                c.dropped += 1
            c.queue.put_nowait(msg)
            self.sent += 1

    async def serve(self, ws: WebSocket, authenticate) -> None:
        """Run one WebSocket connection: authenticate, say hello, forward messages until it closes."""
        try:
            token = ws.query_params.get("token") or bearer_token(ws.headers.get("authorization"))
            who = await asyncio.to_thread(authenticate, token)
        except ApiError:
            await ws.close(code=1008, reason="invalid token")
            return
        await ws.accept()
        client = _Client(who)
        self.bind(asyncio.get_running_loop())
        self._clients.add(client)
        try:
            await ws.send_json({"type": "hello", "data": {"server": "tianshan", "user": who.user, "role": who.role,
                                                          "time": iso(utc_now())}})
            receiver = asyncio.ensure_future(self._drain(ws))
            while not receiver.done():
                getter = asyncio.ensure_future(client.queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await ws.send_json(getter.result())
                else:
                    getter.cancel()
            receiver.cancel()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            self._clients.discard(client)

    @staticmethod
    async def _drain(ws: WebSocket) -> None:
        """Read (and ignore) what the client sends until it disconnects."""
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return

    async def attach_bus(self, bus, row_of_event) -> list:
        """Subscribe to the bus (``tianshan.events``, ``tianshan.alerts``); returns the subscriptions."""
        from tianshan.bus import codec, subjects

        async def on_event(msg) -> None:
            try:
                event = codec.decode(msg.data)
                self.publish("event", row_of_event(event))
            except Exception as err:  # noqa: BLE001 - a bad message must not stop the feed
                log.warning("live feed: undecodable event message: %s", err)

        async def on_alert(msg) -> None:
            try:
                doc = msg.json()
                if isinstance(doc, dict) and "event_id" in doc:
                    self.publish("alert", doc)
            except Exception as err:  # noqa: BLE001
                log.warning("live feed: undecodable alert message: %s", err)

        return [await bus.subscribe(subjects.EVENTS, on_event),
                await bus.subscribe(f"{subjects.ROOT}.alerts", on_alert)]


class StorePoller:
    """Publishes store changes to a :class:`LiveHub` (see the module docstring)."""

    def __init__(self, store, hub: LiveHub, hidden_events, poll_s: float = 2.0, *, station_rows=None,
                 hidden_stations=None, station_every: int = 5) -> None:
        self.store = store
        self.hub = hub
        self.hidden_events = hidden_events  # () -> set of restricted event ids
        self.poll_s = float(poll_s)
        self.station_rows = station_rows      # () -> every station row (GET /stations of an admin); None: off
        self.hidden_stations = hidden_stations or (lambda: set())  # () -> restricted "NET.STA"
        self.station_every = max(1, int(station_every))
        self._cursor: datetime | None = None
        self._at_cursor: set[tuple[str, str]] = set()
        self._alerts: set[str] | None = None
        self._stations: dict[str, tuple] = {}
        self.polls = 0

    def start_state(self) -> None:
        from tianshan.services.api.queries import alert_ids, last_update

        self._cursor = last_update(self.store)
        self._at_cursor = set()
        if self._cursor is not None:
            from tianshan.services.api.queries import changed_events

            self._at_cursor = {(r["id"], r["updated"]) for r in changed_events(self.store, self._cursor)}
        self._alerts = alert_ids(self.store)
        if self.station_rows is not None:
            self._stations = {f"{r['network']}.{r['station']}": _status(r) for r in self.station_rows()}

    def _station_changes(self) -> list[tuple[str, dict, bool]]:
        """Station rows whose latency, QC or exclusion changed since the last look."""
        hidden = self.hidden_stations()
        out = []
        for r in self.station_rows():
            key = f"{r['network']}.{r['station']}"
            st = _status(r)
            if self._stations.get(key) != st:
                self._stations[key] = st
                out.append(("station", r, key in hidden))
        return out

    def poll_once(self) -> list[tuple[str, dict, bool]]:
        """One poll (blocking): the messages ``(type, data, restricted)`` to publish."""
        from tianshan.services.api.queries import alert_ids, alert_messages, changed_events

        if self._alerts is None:
            self.start_state()
            return []
        self.polls += 1
        hidden = self.hidden_events()
        out: list[tuple[str, dict, bool]] = []
        rows = [r for r in changed_events(self.store, self._cursor, limit=500)
                if (r["id"], r["updated"]) not in self._at_cursor]
        for r in rows:
            out.append(("event", r, r["id"] in hidden))
        if rows:
            newest = max(r["updated"] for r in rows)
            self._cursor = datetime.fromisoformat(newest.replace("Z", "+00:00"))
            self._at_cursor = {(r["id"], r["updated"]) for r in rows if r["updated"] == newest} | {
                k for k in self._at_cursor if k[1] == newest}
        ids = alert_ids(self.store)
        new = ids - self._alerts
        if new:
            msgs = [m for m in alert_messages(self.store) if m["alert_id"] in new]
            for m in sorted(msgs, key=lambda m: (m["sent"], m["sequence"])):
                out.append(("alert", m, m["event_id"] in hidden))
            self._alerts = ids
        if self.station_rows is not None and self.polls % self.station_every == 0:
            out.extend(self._station_changes())
        return out

    async def run(self) -> None:
        """Poll until cancelled; database errors are logged and retried at the next poll."""
        from sqlalchemy.exc import DBAPIError

        while True:
            try:
                for kind, data, restricted in await asyncio.to_thread(self.poll_once):
                    self.hub.publish(kind, data, restricted)
            except DBAPIError as err:
                log.warning("live feed: store poll failed: %s", str(err).splitlines()[0])
            await asyncio.sleep(self.poll_s)


def _status(row: dict) -> tuple:
    """What a station's live message is about: latency (0.1 s below 10 s, 1 s below 60 s, else 10 s: a
    stalled station's growing latency is not a message per poll), QC level, exclusion."""
    lat = row.get("latency_s")
    if lat is not None:
        lat = float(lat)
        lat = round(lat, 1) if lat < 10 else float(round(lat)) if lat < 60 else float(round(lat, -1))
    return (lat, row.get("qc"), bool(row.get("excluded")))
