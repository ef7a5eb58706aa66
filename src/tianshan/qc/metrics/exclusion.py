"""Anomalous-data rejection: channel-days whose metrics fail thresholds are excluded from processing.

A :class:`Rule` is a named set of conditions on the metrics of one channel-day
(:class:`~tianshan.qc.metrics.daily.ChannelDayMetrics`); all its conditions must
hold for it to fire. :func:`evaluate` applies the rules of an
:class:`ExclusionConfig` and returns one :class:`Exclusion` (stream, day, reasons)
per channel-day that fires at least one rule. An :class:`ExclusionList` answers
"is this stream excluded at time t?" and removes excluded channel-days from an
ObsPy stream before picking (:meth:`ExclusionList.filter_stream`); it is saved as
JSON (``exclusions.json`` of ``tianshan qc run``) and read back with
:meth:`ExclusionList.load`.

A metric that is missing (``None``: no response for the PSD metrics, no
blockette 1001 for timing quality) never fires a condition.

Default rules (:data:`DEFAULT_RULES`), each from a published criterion:

* ``percent_availability < 50``: less than half the day recorded (a station that
  is mostly down; threshold chosen here, MUSTANG gives the metric only);
* ``sample_rms == 0``: a constant signal (MUSTANG ``sample_rms``: "RMS values that
  abruptly drop to zero ... can indicate a broken channel or sensor");
* ``dead_channel_gsn == 1``: PDF median 5 dB below the NLNM at 4-8 s (MUSTANG
  ``dead_channel_gsn``, the GSN dead-channel rule);
* ``dead_channel_lin < 2``: a PSD mean as straight as a dead channel's (MUSTANG
  page: "< 3 typically indicates a broadband channel that may have a problem";
  2 here to leave healthy quiet sites in -- KAPI scores about 10);
* ``pct_below_nlnm > 20``: a fifth of the spectrum below the low-noise model,
  physically impossible for a working sensor with a correct response;
* ``pct_above_nhnm > 80``: a spectrum nearly everywhere above the high-noise model
  (a noisy or misconfigured channel);
* ``timing_quality < 60``: the GSN limit below which timing "may need additional
  scrutiny" (MUSTANG ``gsn_timing``; Q330 timing-quality scale).

A config file (TOML) replaces the defaults::

    [[rule]]
    name = "low availability"
    metric = "percent_availability"
    below = 50

    [[rule]]
    name = "dead"
    when = [{metric = "dead_channel_lin", below = 3}, {metric = "dead_channel_exp", below = 0.3}]

Each condition is ``metric`` with exactly one of ``below``, ``above``,
``at_most``, ``at_least``, ``equals``.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Mapping

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.timeutil import as_utc

#: Condition keywords -> comparison ``value OP threshold``.
OPERATORS = {"below": operator.lt, "above": operator.gt, "at_most": operator.le, "at_least": operator.ge,
             "equals": operator.eq}
_SYMBOL = {"below": "<", "above": ">", "at_most": "<=", "at_least": ">=", "equals": "=="}


@dataclass(frozen=True, slots=True)
class Condition:
    """``metric OP threshold`` with OP one of :data:`OPERATORS`."""

    metric: str
    op: str
    threshold: float

    def __post_init__(self) -> None:
        from tianshan.qc.metrics.daily import ALL_METRICS

        if self.metric not in ALL_METRICS:
            raise DomainError(f"exclusion condition: unknown metric {self.metric!r}")
        if self.op not in OPERATORS:
            raise DomainError(f"exclusion condition: unknown comparison {self.op!r} "
                              f"(expected one of {', '.join(OPERATORS)})")
        t = float(self.threshold)
        if not math.isfinite(t):
            raise DomainError(f"exclusion condition {self.metric}: threshold must be finite, got {self.threshold!r}")
        object.__setattr__(self, "threshold", t)

    def holds(self, value) -> bool:
        """True when ``value`` is a number satisfying the comparison (a missing value never holds)."""
        if value is None:
            return False
        v = float(value)
        return math.isfinite(v) and bool(OPERATORS[self.op](v, self.threshold))

    def describe(self, value=None) -> str:
        text = f"{self.metric} {_SYMBOL[self.op]} {self.threshold:g}"
        return text if value is None else f"{self.metric} = {float(value):.4g} ({_SYMBOL[self.op]} {self.threshold:g})"


@dataclass(frozen=True, slots=True)
class Rule:
    """A named rule: fires when all its conditions hold."""

    name: str
    conditions: tuple[Condition, ...]

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.strip()):
            raise DomainError("exclusion rule: a name is required")
        if not self.conditions:
            raise DomainError(f"exclusion rule {self.name!r}: at least one condition is required")
        object.__setattr__(self, "conditions", tuple(self.conditions))

    def reason(self, values: Mapping[str, object]) -> str | None:
        """The reason text when the rule fires on ``values``, else None."""
        if all(c.holds(values.get(c.metric)) for c in self.conditions):
            return f"{self.name}: " + " and ".join(c.describe(values.get(c.metric)) for c in self.conditions)
        return None


def _rule(name: str, metric: str, op: str, threshold: float) -> Rule:
    return Rule(name, (Condition(metric, op, threshold),))


#: The built-in rules (see the module docstring for their sources).
DEFAULT_RULES: tuple[Rule, ...] = (
    _rule("low availability", "percent_availability", "below", 50.0),
    _rule("constant signal", "sample_rms", "equals", 0.0),
    _rule("dead channel (GSN)", "dead_channel_gsn", "equals", 1.0),
    _rule("dead channel (flat PSD)", "dead_channel_lin", "below", 2.0),
    _rule("below low-noise model", "pct_below_nlnm", "above", 20.0),
    _rule("above high-noise model", "pct_above_nhnm", "above", 80.0),
    _rule("poor timing", "timing_quality", "below", 60.0),
)


@dataclass(frozen=True, slots=True)
class ExclusionConfig:
    """The rules applied by :func:`evaluate` (default :data:`DEFAULT_RULES`)."""

    rules: tuple[Rule, ...] = DEFAULT_RULES

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        names = [r.name for r in self.rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DomainError(f"exclusion rules: duplicate name(s) {', '.join(dup)}")

    @classmethod
    def from_toml(cls, path: str | Path) -> "ExclusionConfig":
        """Read ``[[rule]]`` tables (module docstring); bad content raises :class:`InputError`."""
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("exclusion config not found", source=str(path)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"not valid TOML: {err}", source=str(path)) from None
        tables = data.get("rule")
        if not isinstance(tables, list) or not tables:
            raise InputError("expected one or more [[rule]] tables", source=str(path), field="rule")
        rules = []
        for i, table in enumerate(tables, 1):
            where = f"rule {i}"
            if not isinstance(table, dict):
                raise InputError("a rule must be a table", source=str(path), field=where)
            try:
                conds = table.get("when")
                if conds is None:
                    conds = [{k: v for k, v in table.items() if k != "name"}]
                if not isinstance(conds, list) or not conds:
                    raise DomainError("'when' must be a list of conditions")
                parsed = tuple(_condition(c) for c in conds)
                name = table.get("name") or " and ".join(c.describe() for c in parsed)
                rules.append(Rule(str(name), parsed))
            except DomainError as err:
                raise InputError(str(err), source=str(path), field=where) from None
        try:
            return cls(tuple(rules))
        except DomainError as err:
            raise InputError(str(err), source=str(path)) from None


def _condition(table) -> Condition:
    if not isinstance(table, dict) or "metric" not in table:
        raise DomainError("a condition needs 'metric' and one of " + ", ".join(OPERATORS))
    ops = [k for k in table if k in OPERATORS]
    extra = [k for k in table if k not in OPERATORS and k != "metric"]
    if len(ops) != 1 or extra:
        raise DomainError(f"condition on {table.get('metric')!r}: give exactly one of {', '.join(OPERATORS)}"
                          + (f" (unknown key(s) {', '.join(extra)})" if extra else ""))
    value = table[ops[0]]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DomainError(f"condition on {table['metric']!r}: threshold must be a number, got {value!r}")
    return Condition(str(table["metric"]), ops[0], float(value))


@dataclass(frozen=True, slots=True)
class Exclusion:
    """``stream_id`` is excluded from processing over ``[start, end)`` for ``reasons``."""

    stream_id: StreamID
    start: datetime
    end: datetime
    reasons: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.stream_id, StreamID):
            raise DomainError(f"exclusion: expected a StreamID, got {self.stream_id!r}")
        object.__setattr__(self, "start", as_utc(self.start, "exclusion start"))
        object.__setattr__(self, "end", as_utc(self.end, "exclusion end"))
        if not self.end > self.start:
            raise DomainError("exclusion: end must be after start")
        if not self.reasons:
            raise DomainError("exclusion: at least one reason is required")
        object.__setattr__(self, "reasons", tuple(str(r) for r in self.reasons))

    def as_dict(self) -> dict:
        return {"stream_id": str(self.stream_id), "start": _iso(self.start), "end": _iso(self.end),
                "reasons": list(self.reasons)}


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def evaluate(metrics: Iterable, config: ExclusionConfig | None = None) -> list["Exclusion"]:
    """The exclusions of the channel-days in ``metrics`` (ChannelDayMetrics), by stream and start."""
    cfg = config or ExclusionConfig()
    out = []
    for m in metrics:
        reasons = [r for r in (rule.reason(m.values) for rule in cfg.rules) if r is not None]
        if reasons:
            out.append(Exclusion(m.stream_id, m.start, m.end, tuple(reasons)))
    out.sort(key=lambda e: (e.stream_id, e.start))
    return out


def _piece(tr, i0: int, i1: int):
    """Samples ``[i0, i1)`` of an ObsPy trace as a new trace."""
    from obspy import Trace

    stats = tr.stats.copy()
    stats.npts = i1 - i0
    out = Trace(data=tr.data[i0:i1].copy(), header=stats)
    out.stats.starttime = tr.stats.starttime + i0 / float(tr.stats.sampling_rate)
    return out


class ExclusionList:
    """Exclusions by stream, with lookups for processing.

    ``excluded(stream_id, t)``: the reasons ``stream_id`` is excluded at ``t`` (empty
    when it is not). ``filter_stream(stream)``: a copy of an ObsPy stream without the
    samples of excluded channel-days (traces cut at the exclusion edges).
    """

    def __init__(self, exclusions: Iterable[Exclusion] = ()) -> None:
        self._by_stream: dict[StreamID, list[Exclusion]] = {}
        for e in exclusions:
            self._by_stream.setdefault(e.stream_id, []).append(e)
        for lst in self._by_stream.values():
            lst.sort(key=lambda e: e.start)

    def __iter__(self):
        for sid in sorted(self._by_stream):
            yield from self._by_stream[sid]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_stream.values())

    def excluded(self, stream_id: StreamID | str, t) -> tuple[str, ...]:
        sid = stream_id if isinstance(stream_id, StreamID) else StreamID.parse(str(stream_id))
        t = as_utc(t, "time")  # datetime, ISO text or ObsPy UTCDateTime
        reasons: list[str] = []
        for e in self._by_stream.get(sid, ()):
            if e.start <= t < e.end:
                reasons.extend(e.reasons)
        return tuple(reasons)

    def filter_stream(self, stream):
        """A new ObsPy stream without the excluded channel-days' samples; counts nothing, never raises on data."""
        from obspy import Stream, UTCDateTime

        out = Stream()
        for tr in stream:
            s = tr.stats
            try:
                sid = StreamID(str(s.network), str(s.station), str(s.location), str(s.channel))
            except DomainError:
                out.append(tr.copy())
                continue
            pieces = [tr.copy()]
            for e in self._by_stream.get(sid, ()):
                a = UTCDateTime(e.start.replace(tzinfo=None))
                b = UTCDateTime(e.end.replace(tzinfo=None))
                kept = []
                for p in pieces:
                    # sample indices: [0, i_a) before the exclusion, [i_b, n) after it
                    t0, fs, n = p.stats.starttime, float(p.stats.sampling_rate), p.stats.npts
                    i_a = min(n, max(0, math.ceil(float(a - t0) * fs - 1e-6)))
                    i_b = min(n, max(0, math.ceil(float(b - t0) * fs - 1e-6)))
                    if i_a > 0:
                        kept.append(_piece(p, 0, i_a))
                    if i_b < n:
                        kept.append(_piece(p, i_b, n))
                pieces = kept
            out.extend(pieces)
        return out

    def between(self, start, end) -> "ExclusionList":
        """The exclusions overlapping ``[start, end)``."""
        a, b = as_utc(start, "start"), as_utc(end, "end")
        return ExclusionList(e for e in self if e.start < b and e.end > a)

    def as_tuples(self) -> tuple:
        """Plain picklable values ``(stream id, start ISO, end ISO, reasons)`` (for Dask tasks)."""
        return tuple((str(e.stream_id), _iso(e.start), _iso(e.end), e.reasons) for e in self)

    @classmethod
    def from_tuples(cls, items) -> "ExclusionList":
        return cls(Exclusion(StreamID.parse(sid), a, b, tuple(r)) for sid, a, b, r in items)

    def apply(self, stream, start, end) -> tuple[object, dict[str, tuple[str, ...]]]:
        """``(filtered stream, {stream id: reasons})``: :meth:`filter_stream` and the streams of
        ``stream`` that lost data to an exclusion overlapping ``[start, end)``, with its reasons."""
        here = self.between(start, end)
        ids = {tr.id for tr in stream}
        hit: dict[str, tuple[str, ...]] = {}
        for e in here:
            if str(e.stream_id) in ids:
                hit[str(e.stream_id)] = tuple(dict.fromkeys(hit.get(str(e.stream_id), ()) + e.reasons))
        return (here.filter_stream(stream) if hit else stream), hit

    def as_dict(self) -> dict:
        return {"exclusions": [e.as_dict() for e in self]}

    def save(self, path: str | Path) -> Path:
        """Write the list as JSON (atomically)."""
        from tianshan.io.atomic import atomic_write_text

        return atomic_write_text(path, json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "ExclusionList":
        """Read a list written by :meth:`save` (or the ``exclusions`` of ``tianshan qc run --json``)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("exclusion list not found", source=str(path)) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InputError(f"not valid JSON: {err}", source=str(path)) from None
        items = data.get("exclusions") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise InputError("expected an object with an 'exclusions' list", source=str(path))
        out = []
        for i, item in enumerate(items, 1):
            try:
                out.append(Exclusion(StreamID.parse(item["stream_id"]), item["start"], item["end"],
                                     tuple(item["reasons"])))
            except (DomainError, KeyError, TypeError) as err:
                raise InputError(f"bad exclusion: {err}", source=str(path), field=f"exclusions[{i}]") from None
        return cls(out)
