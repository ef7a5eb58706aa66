"""The event timeline: entries are validated, latencies are the right differences, the table is bilingual."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tianshan.core import TimelineEntry
from tianshan.core.errors import DomainError
from tianshan.core.timeline import STEP_NAMES, STEPS, format_timeline, latencies, ordered

UTC = timezone.utc
T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=UTC)


def _entries(event_id: str = "ev1") -> list[TimelineEntry]:
    s = lambda x: T0 + timedelta(seconds=x)  # noqa: E731
    return [
        TimelineEntry(event_id, "first_magnitude", s(20.0)),
        TimelineEntry(event_id, "origin_time", s(12.0), data_time=T0),
        TimelineEntry(event_id, "first_pick", s(5.5), data_time=s(4.0), detail="XJ.S01 P"),
        TimelineEntry(event_id, "locatable_pick", s(8.25), data_time=s(7.0), detail="XJ.S04 P"),
        TimelineEntry(event_id, "first_alert", s(8.5), data_time=s(8.0), detail="M 5.1"),
        TimelineEntry(event_id, "first_origin", s(9.0)),
        TimelineEntry(event_id, "first_product", s(26.5), detail="quick report"),
        TimelineEntry(event_id, "first_intensity_map", s(31.0), detail="intensity map v1"),
        TimelineEntry(event_id, "final", s(300.0), data_time=s(298.0)),
    ]


def test_entry_normalises_times_to_utc_and_checks_fields():
    naive = datetime(2024, 1, 22, 18, 9, 4)
    beijing = timezone(timedelta(hours=8))
    e = TimelineEntry("ev", "first_pick", naive, data_time=datetime(2024, 1, 23, 2, 9, 4, tzinfo=beijing))
    assert e.wall_time == naive.replace(tzinfo=UTC) and e.wall_time.tzinfo is UTC
    assert e.data_time == naive.replace(tzinfo=UTC) and e.data_time.utcoffset() == timedelta(0)
    assert TimelineEntry("ev", "final", "2024-01-22T18:09:04Z").wall_time == naive.replace(tzinfo=UTC)
    with pytest.raises(DomainError, match="unknown 'first_arrival'"):
        TimelineEntry("ev", "first_arrival", T0)
    with pytest.raises(DomainError, match="event_id"):
        TimelineEntry("", "final", T0)
    with pytest.raises(DomainError, match="wall_time"):
        TimelineEntry("ev", "final", "yesterday")
    with pytest.raises(DomainError, match="detail"):
        TimelineEntry("ev", "final", T0, detail=3)
    with pytest.raises(Exception):  # frozen
        e.step = "final"  # type: ignore[misc]


def test_dict_round_trip():
    for e in _entries():
        assert TimelineEntry.from_dict(e.as_dict()) == e
    with pytest.raises(DomainError, match="malformed"):
        TimelineEntry.from_dict({"step": "final"})


def test_ordered_keeps_the_first_entry_of_each_step_in_step_order():
    entries = _entries()
    later = TimelineEntry("ev1", "first_pick", T0 + timedelta(seconds=99))
    got = ordered(entries + [later])
    assert [e.step for e in got] == list(STEPS)
    assert got[1].wall_time == T0 + timedelta(seconds=5.5)


def test_latencies_from_origin_time_and_between_steps():
    lat = latencies(_entries())
    assert lat["origin_time_to_first_pick_s"] == 5.5
    assert lat["origin_time_to_locatable_pick_s"] == 8.25
    assert lat["origin_time_to_first_origin_s"] == 9.0
    assert lat["origin_time_to_first_magnitude_s"] == 20.0
    assert lat["origin_time_to_first_product_s"] == 26.5
    assert lat["origin_time_to_final_s"] == 300.0
    assert "origin_time_to_origin_time_s" not in lat
    assert lat["first_pick_to_locatable_pick_s"] == 2.75
    assert lat["locatable_pick_to_first_origin_s"] == 0.75
    assert lat["first_pick_to_first_origin_s"] == 3.5
    assert lat["first_origin_to_first_magnitude_s"] == 11.0
    assert lat["first_magnitude_to_first_product_s"] == 6.5
    assert lat["first_origin_to_final_s"] == 291.0


def test_latencies_leave_out_missing_steps():
    entries = [e for e in _entries() if e.step not in ("origin_time", "first_magnitude")]
    lat = latencies(entries)
    assert not any(k.startswith("origin_time_to_") for k in lat)
    assert "first_origin_to_first_magnitude_s" not in lat and "first_magnitude_to_first_product_s" not in lat
    assert lat["locatable_pick_to_first_origin_s"] == 0.75
    assert latencies([]) == {}


def test_format_timeline_is_a_bilingual_aligned_table():
    text = format_timeline(_entries())
    lines = text.splitlines()
    for step in STEPS:
        zh, en = STEP_NAMES[step]
        assert f"{zh} / {en}" in text
    body = lines[2:2 + len(STEPS)]
    assert all(ln.startswith(f"{STEP_NAMES[step][0]} / {STEP_NAMES[step][1]} ") for ln, step in zip(body, STEPS))
    assert "2024-01-22 18:09:09.623" in body[1] and "2024-01-22 18:09:08.123" in body[1]  # wall, data (ms)
    assert "+5.500" in body[1] and "XJ.S01 P" in body[1]
    # Columns line up on screen: the wall-time column starts at the same display cell on every line.
    import unicodedata

    def cell(line: str, col: int) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:col])

    starts = {cell(ln, ln.index("2024")) for ln in body}
    assert len(starts) == 1
    assert "可定位震相 → 首次定位 / locatable pick → first origin: 0.750 s" in text
    assert format_timeline([]) == "无时间线记录 / no timeline recorded"
