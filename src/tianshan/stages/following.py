"""What the stages that follow events from the bus share: life cycle, message intake, worker processes.

:class:`~tianshan.stages.magnitudes.MagnitudeStage`, :class:`~tianshan.stages.products.ProductStage`
and :class:`~tianshan.stages.shakemap.ShakeMapStage` each subscribe ``tianshan.events`` (and the
last two ``tianshan.magnitudes``), keep per-event state that their handlers only mark, and do the
work in one task of their own. :class:`FollowingStage` is that skeleton:

* :meth:`~FollowingStage.start`: a wake-up event and a lock, the stage's own start-up
  (:meth:`~FollowingStage._on_start`), the task (:meth:`~FollowingStage._loop`), then the
  subscriptions (:meth:`~FollowingStage._subscriptions`; durable consumer names
  ``<durable>-<suffix>`` from :meth:`~FollowingStage._durable_name`, None for plain ones);
* :meth:`~FollowingStage.close`: unsubscribe (handlers under way finish), stop the task after the
  work under way, shut down the worker process pool if there is one;
* the events a stage has finished (``_finish``: the last ``_REMEMBER`` ids with why), a
  ``health()`` document, the wait for the next wake-up (:meth:`~FollowingStage._sleep`);
* the intake of a magnitude message (:meth:`~FollowingStage._accept_magnitude`), beside the
  events-message rule :func:`tianshan.stages.magnitudes.accept_event_message`.

:func:`niced_pool` is the spawn-started worker process pool of the magnitude and intensity-map
stages: each worker lowers its priority to ``nice`` (the picker of the daemon gets the CPU first)
and exits when the daemon that started it dies (``kill -9`` leaves no orphan).
:func:`call_source` reads a :class:`~tianshan.stages.waveforms.WaveformSource` in a thread when it
says it is thread-safe, else on the loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from datetime import datetime, timezone
from typing import Any, Callable

from tianshan.core.errors import InputError

__all__ = ["FollowingStage", "niced_pool", "call_source"]

log = logging.getLogger(__name__)

#: Events remembered as stopped or done (later messages about them are ignored).
_REMEMBER = 10_000


class FollowingStage:
    """Life cycle of a stage following events from the bus (module docstring).

    A subclass sets ``bus``, ``durable``, ``clock`` and ``counters`` (with ``bad_payloads``,
    ``magnitudes_received``, ``events_ignored`` where it takes magnitude messages), calls
    ``FollowingStage.__init__`` and defines :meth:`_subscriptions` and :meth:`_loop`.
    """

    #: Name of the stage's task.
    task_name = "following-stage"

    def __init__(self) -> None:
        self._finished: collections.OrderedDict[str, str] = collections.OrderedDict()  # id -> why
        self._subs: list = []
        self._task: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None      # one computation (or handler) at a time
        self._closing = False
        self._busy = False
        self._pool = None                           # worker process pool, if the stage uses one
        self._last_activity: float | None = None

    # ------------------------------------------------------------------ to define

    def _subscriptions(self) -> list[tuple[str, Callable, str | None]]:
        """``(subject, handler, durable name)`` of each subscription, in the order they are made."""
        raise NotImplementedError

    async def _loop(self) -> None:
        """The stage's task: runs until ``self._closing``."""
        raise NotImplementedError

    def _on_start(self) -> None:
        """Start-up of the stage itself, before its task and subscriptions (nothing by default)."""

    # ------------------------------------------------------------------ life cycle

    def _durable_name(self, suffix: str) -> str | None:
        return None if self.durable is None else f"{self.durable}-{suffix}"

    async def start(self) -> None:
        """Start the stage's task, then subscribe (a second call does nothing)."""
        if self._task is not None:
            return
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._closing = False
        self._on_start()
        self._task = asyncio.create_task(self._loop(), name=self.task_name)
        for subject, handler, durable in self._subscriptions():
            self._subs.append(await self.bus.subscribe(subject, handler, durable=durable))

    async def close(self) -> None:
        """Unsubscribe (handlers under way finish), let the work under way finish, stop the task and
        the worker processes."""
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs.clear()
        if self._task is not None:
            self._closing = True
            self._wake.set()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    async def _flush_begins(self) -> None:
        """Start of ``flush``: :class:`RuntimeError` before :meth:`start`; then one turn of the loop, so
        that the messages already delivered are handled first."""
        if self._lock is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        await asyncio.sleep(0)

    async def _run(self, eid: str, *args, **kwargs) -> None:
        """``self._job(eid, t, *args, **kwargs)`` for the event ``t = self._tracked[eid]``, under the lock
        and marked busy (the stages with a worker task keep ``_tracked`` and define ``_job``); nothing
        when the event is no longer tracked or :meth:`_runnable` says no."""
        async with self._lock:
            t = self._tracked.get(eid)
            if t is None or not self._runnable(t):
                return
            self._busy = True
            try:
                await self._job(eid, t, *args, **kwargs)
            finally:
                self._busy = False

    def _runnable(self, t) -> bool:
        """Whether the tracked event ``t`` still has work when its turn comes (yes by default)."""
        return True

    async def _sleep(self, timeout_s: float | None) -> None:
        """Wait until woken (a message, ``close``) or ``timeout_s`` wall seconds (None: no limit)."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass
        self._wake.clear()

    def _health(self, pending: int, tracked: int, **extra) -> dict[str, Any]:
        """``{"ok": task alive, "pending", "tracked", **extra, "last_activity": ISO time or None}``."""
        alive = self._task is not None and not self._task.done()
        return {"ok": alive, "pending": pending, "tracked": tracked, **extra,
                "last_activity": None if self._last_activity is None else
                datetime.fromtimestamp(self._last_activity, timezone.utc).isoformat()}

    def _finish(self, eid: str, why: str) -> None:
        """Remember ``eid`` as done (``why``): later messages about it are ignored."""
        self._finished[eid] = why
        while len(self._finished) > _REMEMBER:
            self._finished.popitem(last=False)

    # ------------------------------------------------------------------ magnitude messages

    def _accept_magnitude(self, msg) -> tuple[str, dict] | None:
        """``(event id, meta)`` of a magnitudes message the stage has work for, else None.

        A message that is not a :class:`~tianshan.core.magnitude.Magnitude` with a meta
        ``event_id`` is counted in ``bad_payloads`` and its :class:`InputError` raised (the bus
        drops it); a good one is counted (``magnitudes_received``) and stamps the activity time;
        one about a finished event is counted in ``events_ignored`` and gives None.
        """
        from tianshan.bus import codec
        from tianshan.core.magnitude import Magnitude

        try:
            obj, meta = codec.decode_with_meta(msg.data)
            if not isinstance(obj, Magnitude):
                raise InputError(f"expected a magnitude, got a {type(obj).__name__}",
                                 source=f"bus subject {msg.subject}", field="type")
            eid = meta.get("event_id")
            if not isinstance(eid, str) or not eid:
                raise InputError("magnitude message without event_id", source=f"bus subject {msg.subject}",
                                 field="event_id")
        except InputError:
            self.counters.bad_payloads += 1
            raise
        self.counters.magnitudes_received += 1
        self._last_activity = self.clock()
        if eid in self._finished:
            self.counters.events_ignored += 1
            return None
        return eid, meta


async def call_source(source, method, *args):
    """``method(*args)`` of a waveform source: in a thread when ``source.thread_safe`` (file I/O), else
    on the loop (ring buffers are written by the loop: reading them from a thread could race with
    intake; a window copy is cheap)."""
    if getattr(source, "thread_safe", False):
        return await asyncio.to_thread(method, *args)
    return method(*args)


# --------------------------------------------------------------------------- worker processes

def niced_pool(processes: int, nice: int, setup: Callable[[Any], None], state: Any):
    """A spawn-started :class:`~concurrent.futures.ProcessPoolExecutor` of ``processes`` workers.

    ``state`` is pickled once here and handed to ``setup`` (a module-level function) in each
    worker, which then runs at ``nice`` (when the system allows) and exits when this process dies.
    """
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    blob = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(setup, blob, nice, os.getpid()))


def _init_worker(setup: Callable[[Any], None], blob: bytes, nice: int, parent_pid: int) -> None:
    import pickle
    import threading

    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    setup(pickle.loads(blob))

    def watch_parent() -> None:  # kill -9 of the daemon must not leave this process behind
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
