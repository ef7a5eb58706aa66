"""QC metrics on real data, against MUSTANG/ISPAQ's published figures (tolerances stated per test)."""

from __future__ import annotations

import pytest

from tianshan.core import QCKind
from tianshan.qc import QCConfig, check_stream

KAPI = "qc/ispaq_kapi/II.KAPI.00.BHZ.2013.{:03d}.M"


def _kapi(shared_data, doy):
    import obspy

    st = obspy.read(str(shared_data / KAPI.format(doy)))
    t0 = obspy.UTCDateTime(2013, 1, doy)
    return st, t0, t0 + 86400


def _of(result, kind):
    return [r for r in result.records if r.kind is kind]


def test_kapi_2013_01_05_two_gaps_and_9_09_percent(shared_data):
    st, t0, t1 = _kapi(shared_data, 5)
    # MUSTANG counts the first sample 0.0195 s after midnight as an initial gap: edge_gap_min_s=0 reproduces it.
    res = check_stream(st, t0, t1, config=QCConfig(edge_gap_min_s=0.0))
    gaps = _of(res, QCKind.GAP)
    assert len(gaps) == 2 and res.counts["gap"] == 2
    assert gaps[0].value == pytest.approx(0.0195, abs=1e-6)
    (avail,) = _of(res, QCKind.AVAILABILITY)
    assert avail.value == pytest.approx(9.09, abs=0.005)  # MUSTANG percent_availability, 2 decimals
    # Default: a sub-sample phase offset at the window start is not a gap.
    assert check_stream(st, t0, t1).counts["gap"] == 1


def test_kapi_2013_01_06_one_gap_85_62_percent_and_the_glitch(shared_data):
    import obspy

    st, t0, t1 = _kapi(shared_data, 6)
    res = check_stream(st, t0, t1)
    (gap,) = _of(res, QCKind.GAP)
    assert gap.value == pytest.approx(12422.4195, abs=1e-4)
    (avail,) = _of(res, QCKind.AVAILABILITY)
    assert avail.value == pytest.approx(85.62, abs=0.005)
    # The -2,246,467 count excursion (MUSTANG sample_min) is the sensor recovering after the gap.
    offsets = _of(res, QCKind.OFFSET)
    assert len(offsets) == 1
    assert offsets[0].value == -2246467.0
    assert obspy.UTCDateTime(offsets[0].start.replace(tzinfo=None)) == st[0].stats.starttime
    assert 10 * 60 < offsets[0].duration_s < 40 * 60
    assert res.counts["spike"] == 0  # a slow recovery is not a spike: nothing masked
    assert res.counts["masked_samples"] == 0 and len(res.clean) == 1


def test_oklahoma_w35a_real_gap(shared_data):
    import glob

    import obspy

    st = obspy.Stream()
    for f in sorted(glob.glob(str(shared_data / "waveforms/ok_2013-06-16/*.msd"))):
        st += obspy.read(f)
    t0 = obspy.UTCDateTime("2013-06-16T15:37:50")
    res = check_stream(st, t0, t0 + 360)
    w35a = {r.stream_id.channel: r for r in res.records if r.stream_id.station == "W35A" and r.kind is QCKind.GAP}
    # ObsPy's get_gaps: 24.987 s (EHZ, EHE), 19.987 s (EHN)
    assert w35a["EHZ"].value == pytest.approx(24.987332, abs=1e-5)
    assert w35a["EHE"].value == pytest.approx(24.987317, abs=1e-5)
    assert w35a["EHN"].value == pytest.approx(19.987312, abs=1e-5)
    # LC30 recorded only 15:38:50-15:40:50: an initial and a final gap on each channel
    assert sum(1 for r in res.records if r.stream_id.station == "LC30" and r.kind is QCKind.GAP) == 6
    assert res.counts["skipped_traces"] == 0 and res.counts["spike"] == 0
    # the clean stream keeps both W35A pieces apart (the gap is not filled)
    assert len(res.clean.select(station="W35A", channel="EHZ")) == 2
