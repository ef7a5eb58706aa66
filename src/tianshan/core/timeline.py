"""The per-event timeline of the real-time engine: when each step of an event happened.

Every streaming stage reports the moments it reaches for an event (issue 4,
"a per-event timeline (origin time -> first pick -> first origin -> magnitude
-> products) stored and shown"). One :class:`TimelineEntry` is one step of one
event; the steps, in the order they normally happen, are :data:`STEPS`:

* ``origin_time``: the origin time of the event (``data_time``; recorded with
  the first origin, ``wall_time`` = when it was recorded);
* ``first_pick``: the earliest pick of the event (``data_time`` = its pick
  time, ``wall_time`` = when that pick reached the associator);
* ``locatable_pick``: the pick that completed the declaration rule (its data
  time and the wall time it reached the associator);
* ``first_alert``: wall time the first early-warning alert message of an EEW event was
  published (``data_time`` = the EEW engine's data clock then; recorded under the EEW
  event id by :class:`tianshan.stages.eew.EEWStage`, whose timeline also has ``origin_time``);
* ``first_origin``: wall time the first origin was published;
* ``first_magnitude``, ``first_product``: wall time the first magnitude / the
  first product was stored;
* ``first_intensity_map``: wall time the first intensity-map version was stored
  (:mod:`tianshan.stages.shakemap`; only events mapped, M >= its threshold);
* ``final``: wall time the event was finalised (``data_time`` = the data clock then).

Two clocks: ``data_time`` is the time in the waveforms (what a replay
reproduces); ``wall_time`` is the computer's clock when the step happened
(``datetime.now(timezone.utc)``). The store keeps the first record of each
(event, step); later records of a step are ignored, so every stage may simply
report every time it reaches a step.

:func:`latencies` turns a timeline into delays; :func:`format_timeline` into a
bilingual (中文 / English) text table.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from tianshan.core.errors import DomainError
from tianshan.core.timeutil import as_utc, optional_utc

#: The steps of an event's timeline, in their normal order.
STEPS: tuple[str, ...] = ("origin_time", "first_pick", "locatable_pick", "first_alert", "first_origin",
                          "first_magnitude", "first_product", "first_intensity_map", "final")

#: Bilingual names of the steps (Chinese, English), for tables and reports.
STEP_NAMES: dict[str, tuple[str, str]] = {
    "origin_time": ("发震时刻", "origin time"),
    "first_pick": ("首个震相", "first pick"),
    "locatable_pick": ("可定位震相", "locatable pick"),
    "first_alert": ("首次预警", "first alert"),
    "first_origin": ("首次定位", "first origin"),
    "first_magnitude": ("首个震级", "first magnitude"),
    "first_product": ("首个产品", "first product"),
    "first_intensity_map": ("首个烈度图", "first intensity map"),
    "final": ("最终结果", "final"),
}

#: Step-to-step delays reported by :func:`latencies` (wall time of the second minus wall time of the first):
#: the chain the issue names (first pick -> first origin -> magnitude -> products) and the declaration
#: delay the benchmark bounds ("first origin within 2 s of the pick that makes it locatable").
DELAYS: tuple[tuple[str, str], ...] = (
    ("first_pick", "locatable_pick"),
    ("locatable_pick", "first_origin"),
    ("first_pick", "first_origin"),
    ("first_origin", "first_magnitude"),
    ("first_magnitude", "first_product"),
    ("first_origin", "first_intensity_map"),
    ("first_origin", "final"),
)

_ORDER = {step: i for i, step in enumerate(STEPS)}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One step of one event's timeline (times aware UTC; see the module docstring for the steps)."""

    event_id: str
    step: str
    wall_time: datetime
    data_time: datetime | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.event_id, str) or not self.event_id:
            raise DomainError(f"timeline event_id: expected a non-empty id, got {self.event_id!r}")
        if self.step not in _ORDER:
            raise DomainError(f"timeline step: unknown {self.step!r} (expected one of {', '.join(STEPS)})")
        object.__setattr__(self, "wall_time", as_utc(self.wall_time, "timeline wall_time"))
        object.__setattr__(self, "data_time", optional_utc(self.data_time, "timeline data_time"))
        if not isinstance(self.detail, str):
            raise DomainError(f"timeline detail: expected text, got {self.detail!r}")

    def as_dict(self) -> dict:
        """JSON-ready form (ISO 8601 times)."""
        return {"event_id": self.event_id, "step": self.step, "wall_time": self.wall_time.isoformat(),
                "data_time": None if self.data_time is None else self.data_time.isoformat(),
                "detail": self.detail}

    @classmethod
    def from_dict(cls, d: dict) -> "TimelineEntry":
        """Inverse of :meth:`as_dict`; :class:`DomainError` for a malformed dict."""
        try:
            return cls(d["event_id"], d["step"], d["wall_time"], d.get("data_time"), d.get("detail", ""))
        except (KeyError, TypeError) as err:
            raise DomainError(f"timeline entry: malformed {d!r}: {err}") from None


def ordered(entries: Iterable[TimelineEntry]) -> list[TimelineEntry]:
    """The entries in :data:`STEPS` order, one per step (the first given of a step wins, as in the store)."""
    first: dict[str, TimelineEntry] = {}
    for e in entries:
        first.setdefault(e.step, e)
    return sorted(first.values(), key=lambda e: _ORDER[e.step])


def latencies(entries: Iterable[TimelineEntry]) -> dict[str, float]:
    """Delays of one event's timeline, in seconds.

    * ``origin_time_to_<step>_s`` for each later step present: the step's wall
      time minus the origin time (the ``data_time`` of ``origin_time``): how
      long after the earthquake the system got there. Meaningful for live
      data; in an accelerated or past replay the data clock is not the wall
      clock and these figures are not latencies.
    * ``<a>_to_<b>_s`` for the pairs of :data:`DELAYS` present: wall time of
      ``b`` minus wall time of ``a`` (processing delays, valid in replays too).

    Definitions: plain time differences (issue 4, item 7 and the benchmark's
    "first origin within 2 s of the pick that makes it locatable"). A negative
    value means the clocks of two machines disagree. Steps missing from the
    timeline give no key.
    """
    by_step = {e.step: e for e in ordered(entries)}
    out: dict[str, float] = {}
    origin = by_step.get("origin_time")
    if origin is not None and origin.data_time is not None:
        for step in STEPS[1:]:
            if step in by_step:
                out[f"origin_time_to_{step}_s"] = (by_step[step].wall_time - origin.data_time).total_seconds()
    for a, b in DELAYS:
        if a in by_step and b in by_step:
            out[f"{a}_to_{b}_s"] = (by_step[b].wall_time - by_step[a].wall_time).total_seconds()
    return out


def _width(text: str) -> int:
    """Display width in a terminal (East Asian wide and full-width characters take two cells)."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _time(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def format_timeline(entries: Iterable[TimelineEntry]) -> str:
    """A text table of one event's timeline, steps in :data:`STEPS` order, names in Chinese and English.

    Columns: step, wall time (UTC, ms), data time (UTC, ms), seconds from the
    origin time to the step's wall time (see :func:`latencies`), detail.
    Followed by the step-to-step delays. Empty timeline: one line saying so.
    """
    rows = ordered(entries)
    if not rows:
        return "无时间线记录 / no timeline recorded"
    lat = latencies(rows)
    header = ("步骤 / step", "系统时间 / wall time (UTC)", "数据时间 / data time (UTC)", "距发震 / +s", "说明 / detail")
    table = [header]
    for e in rows:
        since = lat.get(f"origin_time_to_{e.step}_s")
        zh, en = STEP_NAMES[e.step]
        table.append((f"{zh} / {en}", _time(e.wall_time), _time(e.data_time),
                      "" if since is None else f"{since:+.3f}", e.detail))
    widths = [max(_width(r[i]) for r in table) for i in range(len(header))]
    lines = []
    for k, r in enumerate(table):
        cells = [_pad(c, w) if i != 3 else " " * (w - _width(c)) + c for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    delays = [(a, b) for a, b in DELAYS if f"{a}_to_{b}_s" in lat]
    if delays:
        lines.append("")
        lines.append("间隔 / delays:")
        for a, b in delays:
            lines.append(f"  {STEP_NAMES[a][0]} → {STEP_NAMES[b][0]} / {STEP_NAMES[a][1]} → {STEP_NAMES[b][1]}: "
                         f"{lat[f'{a}_to_{b}_s']:.3f} s")
    return "\n".join(lines)
