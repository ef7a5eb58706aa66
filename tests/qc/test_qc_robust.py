"""Bad and garbled input: skipped and counted, never a crash; config and window errors."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.core import DomainError, InputError, QCKind, StreamID
from tianshan.qc import METRICS, QCConfig, check_stream


def _tr(data, **kw):
    from obspy import Trace, UTCDateTime

    hdr = dict(network="XJ", station="WMQ", location="", channel="BHZ", sampling_rate=20.0,
               starttime=UTCDateTime(2024, 1, 1))
    hdr.update(kw)
    return Trace(np.asarray(data), header=hdr)


def _w():
    from obspy import UTCDateTime

    return UTCDateTime(2024, 1, 1), UTCDateTime(2024, 1, 1, 0, 1)


def test_garbled_traces_are_skipped_and_counted():
    rng = np.random.default_rng(0)
    good = _tr(rng.normal(size=1200) * 100)
    bad_id = _tr(rng.normal(size=1200), station="BAD-ID!")
    bad_rate = _tr(rng.normal(size=1200), station="ZERO")
    bad_rate.stats.sampling_rate = 1.0
    bad_rate.stats.__dict__["sampling_rate"] = 0.0
    text = _tr(np.array(["a", "b"]), station="TEXT")
    empty = _tr(np.array([], dtype=np.int32), station="EMPTY")
    res = check_stream([good, bad_id, bad_rate, text, empty], *_w())
    c = res.counts
    assert c["traces_in"] == 5 and c["skipped_traces"] == 4
    assert c["skipped_bad_id"] == 1 and c["skipped_bad_sample_rate"] == 1
    assert c["skipped_bad_data"] == 1 and c["skipped_empty"] == 1
    assert len(res.clean) == 1 and res.clean[0].stats.station == "WMQ"


def test_nan_samples_are_invalid_and_masked():
    x = np.random.default_rng(1).normal(size=1200) * 100
    x[100:110] = np.nan
    x[500] = np.inf
    res = check_stream([_tr(x)], *_w())
    inv = [r for r in res.records if r.kind is QCKind.INVALID]
    assert [r.value for r in inv] == [10.0, 1.0]
    assert res.counts["masked_samples"] == 11 and len(res.clean) == 3
    assert all(np.isfinite(t.data).all() for t in res.clean)


def test_mixed_sample_rates_and_missing_expected_channel():
    rng = np.random.default_rng(2)
    a = _tr(rng.normal(size=400) * 100)  # 20 Hz, 0-20 s
    b = _tr(rng.normal(size=800) * 100, sampling_rate=40.0)  # 40 Hz record, 20-40 s
    b.stats.starttime += 20
    c = _tr(rng.normal(size=400) * 100)
    c.stats.starttime += 40
    expected = {"XJ.WMQ..BHZ": 20.0, StreamID("XJ", "WMQ", "", "BHN"): 20.0}
    res = check_stream([a, b, c], *_w(), expected=expected)
    (sr,) = [r for r in res.records if r.kind is QCKind.SAMPLE_RATE]
    assert sr.value == 40.0 and "inventory rate 20 Hz" in sr.detail
    assert all(t.stats.sampling_rate == 20.0 for t in res.clean)
    bhn = [r for r in res.records if r.stream_id.channel == "BHN"]
    assert {(r.kind, r.value) for r in bhn} == {(QCKind.GAP, 60.0), (QCKind.AVAILABILITY, 0.0)}
    bhz_gap = [r for r in res.records if r.stream_id.channel == "BHZ" and r.kind is QCKind.GAP]
    assert [g.value for g in bhz_gap] == [pytest.approx(20.0)]  # the 40 Hz record's span has no usable data


def test_duplicate_overlap_is_trimmed_not_a_tear():
    rng = np.random.default_rng(3)
    x = (rng.normal(size=1200) * 100).astype(np.int32)
    a = _tr(x[:700])
    b = _tr(x[600:])
    b.stats.starttime += 600 / 20.0
    res = check_stream([b, a], *_w())
    (ov,) = [r for r in res.records if r.kind is QCKind.OVERLAP]
    assert ov.value == pytest.approx(5.0)
    assert res.counts["time_tear"] == 0
    merged = np.concatenate([t.data for t in sorted(res.clean, key=lambda t: t.stats.starttime)])
    assert np.array_equal(merged, x) and merged.dtype == np.int32


def test_window_and_config_errors():
    t0, t1 = _w()
    with pytest.raises(InputError, match="not after start"):
        check_stream([], t1, t0)
    with pytest.raises(InputError, match="expected"):
        check_stream([], t0, t1, expected={"XJ.WMQ..BHZ": -1})
    with pytest.raises(InputError, match="expected"):
        check_stream([], t0, t1, expected={"not an id": 20})
    with pytest.raises(DomainError, match="odd"):
        QCConfig(spike_window=40)
    with pytest.raises(DomainError, match="unknown"):
        QCConfig(metrics=("gaps", "nope"))
    with pytest.raises(ValueError):
        QCConfig(mask=frozenset({"nonsense"}))
    res = check_stream([_tr(np.zeros(1200) + 5)], "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z",
                       config=QCConfig(metrics=("gaps",)))
    assert [r.kind for r in res.records] == [QCKind.AVAILABILITY]  # only the chosen metric ran
    assert set(METRICS) == {"invalid", "sample_rate", "gaps", "time_tears", "spikes", "clipping", "flat", "offset"}


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, tianshan.qc, tianshan.core; print('obspy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
