"""Anomalous-data rejection: threshold rules -> excluded channel-days, config file, saved list, stream filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.qc.metrics import ChannelDayMetrics, ExclusionConfig, ExclusionList, evaluate
from tianshan.qc.metrics.exclusion import DEFAULT_RULES, Condition, Exclusion, Rule

DAY = datetime(2024, 5, 1, tzinfo=timezone.utc)
A = StreamID("XJ", "WUQ", "00", "HHZ")
B = StreamID("XJ", "KSH", "00", "HHZ")


def _m(sid, values, day=0):
    start = DAY + timedelta(days=day)
    return ChannelDayMetrics(sid, start, start + timedelta(days=1), values)


HEALTHY = dict(percent_availability=99.9, sample_rms=850.0, dead_channel_gsn=0, dead_channel_lin=9.5,
               pct_below_nlnm=0.0, pct_above_nhnm=3.0, timing_quality=100.0)


def test_default_rules_fire_with_reasons():
    bad = dict(HEALTHY, percent_availability=31.0, dead_channel_gsn=1, timing_quality=None)
    flat = dict(HEALTHY, sample_rms=0.0, pct_below_nlnm=None)
    out = evaluate([_m(A, HEALTHY), _m(B, bad), _m(A, flat, day=1)])
    assert [(e.stream_id, e.start) for e in out] == [(B, DAY), (A, DAY + timedelta(days=1))]  # sorted by stream
    reasons_b = out[0].reasons
    assert len(reasons_b) == 2
    assert reasons_b[0].startswith("low availability: percent_availability = 31")
    assert reasons_b[1].startswith("dead channel (GSN)")
    assert out[1].reasons == ("constant signal: sample_rms = 0 (== 0)",)
    # missing metrics never fire: a channel without response is not excluded for lacking PSD metrics
    assert evaluate([_m(A, {"percent_availability": 100.0})]) == []
    assert len(DEFAULT_RULES) == 7


def test_rule_with_several_conditions_needs_all():
    rule = Rule("dead (MUSTANG)", (Condition("dead_channel_lin", "below", 3.0),
                                   Condition("dead_channel_exp", "below", 0.3)))
    cfg = ExclusionConfig((rule,))
    assert evaluate([_m(A, {"dead_channel_lin": 1.0, "dead_channel_exp": 0.5})], cfg) == []
    (e,) = evaluate([_m(A, {"dead_channel_lin": 1.0, "dead_channel_exp": 0.2})], cfg)
    assert e.reasons == ("dead (MUSTANG): dead_channel_lin = 1 (< 3) and dead_channel_exp = 0.2 (< 0.3)",)
    with pytest.raises(DomainError):
        Condition("no_such_metric", "below", 1.0)
    with pytest.raises(DomainError):
        Condition("num_gaps", "lt", 1.0)
    with pytest.raises(DomainError):
        ExclusionConfig((rule, rule))


def test_toml_config(tmp_path):
    p = tmp_path / "rules.toml"
    p.write_text('''
[[rule]]
name = "gappy"
metric = "num_gaps"
above = 10

[[rule]]
when = [{metric = "dead_channel_lin", below = 3}, {metric = "dead_channel_exp", below = 0.3}]

[[rule]]
metric = "num_spikes"
at_least = 100
''')
    cfg = ExclusionConfig.from_toml(p)
    assert [r.name for r in cfg.rules] == ["gappy", "dead_channel_lin < 3 and dead_channel_exp < 0.3",
                                           "num_spikes >= 100"]
    (e,) = evaluate([_m(A, {"num_gaps": 11, "num_spikes": 100, "percent_availability": 1.0})], cfg)
    assert [r.split(":")[0] for r in e.reasons] == ["gappy", "num_spikes >= 100"]  # defaults replaced
    for text, where in (('[[rule]]\nmetric = "num_gaps"\nabove = 1\nbelow = 5\n', "rule 1"),
                        ('[[rule]]\nmetric = "nope"\nabove = 1\n', "rule 1"),
                        ('[[rule]]\nmetric = "num_gaps"\nabove = "many"\n', "rule 1"),
                        ("x = 1\n", "rule"),
                        ("[[rule\n", None)):
        p.write_text(text)
        with pytest.raises(InputError) as err:
            ExclusionConfig.from_toml(p)
        assert str(p) in str(err.value) and (where is None or where in str(err.value))
    with pytest.raises(InputError, match="not found"):
        ExclusionConfig.from_toml(tmp_path / "missing.toml")


def test_exclusion_list_lookup_save_load(tmp_path):
    ex = [Exclusion(A, DAY, DAY + timedelta(days=1), ("low availability: x",)),
          Exclusion(B, DAY + timedelta(days=2), DAY + timedelta(days=3), ("poor timing: y", "dead: z"))]
    lst = ExclusionList(ex)
    assert len(lst) == 2
    assert lst.excluded(A, DAY) == ("low availability: x",)
    assert lst.excluded("XJ.WUQ.00.HHZ", DAY + timedelta(hours=23, minutes=59)) == ("low availability: x",)
    assert lst.excluded(A, DAY + timedelta(days=1)) == ()  # end is exclusive
    assert lst.excluded(B, "2024-05-03T12:00:00Z") == ("poor timing: y", "dead: z")
    path = lst.save(tmp_path / "out" / "exclusions.json")
    back = ExclusionList.load(path)
    assert [e.as_dict() for e in back] == [e.as_dict() for e in lst]
    (tmp_path / "bad.json").write_text('{"exclusions": [{"stream_id": "X"}]}')
    with pytest.raises(InputError, match=r"exclusions\[1\]"):
        ExclusionList.load(tmp_path / "bad.json")
    (tmp_path / "bad2.json").write_text("[1, 2")
    with pytest.raises(InputError, match="not valid JSON"):
        ExclusionList.load(tmp_path / "bad2.json")


def test_filter_stream_removes_excluded_days_only():
    from obspy import Stream, Trace, UTCDateTime

    t0 = UTCDateTime(DAY.replace(tzinfo=None)) - 3600  # 23:00 the day before
    n = 100 * 3 * 3600  # 100 Hz, 3 hours: 23:00 -> 02:00, across midnight
    mk = {"network": "XJ", "location": "00", "channel": "HHZ", "sampling_rate": 100.0, "starttime": t0}
    a = Trace(np.arange(n, dtype=np.int32), header=dict(station="WUQ", **mk))
    b = Trace(np.arange(n, dtype=np.int32), header=dict(station="KSH", **mk))
    lst = ExclusionList([Exclusion(A, DAY, DAY + timedelta(days=1), ("r",))])
    out = lst.filter_stream(Stream([a, b]))
    kept_a = out.select(station="WUQ")
    assert len(kept_a) == 1 and kept_a[0].stats.npts == 100 * 3600  # only the hour before midnight is left
    assert kept_a[0].stats.endtime < UTCDateTime(DAY.replace(tzinfo=None))
    assert out.select(station="KSH")[0].stats.npts == n  # other streams untouched
    assert a.stats.npts == n  # the input is not modified


def test_kapi_low_availability_day_is_excluded(shared_data):
    import obspy

    from tianshan.qc.metrics import channel_day_metrics

    sid = StreamID("II", "KAPI", "00", "BHZ")
    days = []
    for doy in (5, 6):
        t0 = obspy.UTCDateTime(2013, 1, doy)
        st = obspy.read(str(shared_data / f"qc/ispaq_kapi/II.KAPI.00.BHZ.2013.{doy:03d}.M"))
        days.append(channel_day_metrics(st, sid, t0, t0 + 86400, psd=False).metrics)
    (e,) = evaluate(days)
    assert e.start.day == 5 and e.reasons == ("low availability: percent_availability = 9.091 (< 50)",)
