"""MUSTANG per channel-day metrics: the KAPI days against MUSTANG's figures and ObsPy's MSEEDMetadata,
the exact fast Hampel spike count, state-of-health flags and timing quality from ObsPy's test records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tianshan.core import QCKind
from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.qc.metrics import ChannelDayMetrics, channel_day_metrics, mustang_num_spikes, sample_statistics
from tianshan.qc.metrics.daily import ALL_METRICS, hampel_outliers, soh_metrics
from tianshan.qc.spikes import hampel_outliers_reference, mustang_spike_count

KAPI = "qc/ispaq_kapi/II.KAPI.00.BHZ.2013.{:03d}.M"
SID = StreamID("II", "KAPI", "00", "BHZ")


def _mseed_test_file(name: str) -> Path:
    import obspy

    path = Path(obspy.__file__).parent / "io" / "mseed" / "tests" / "data" / name
    if not path.is_file():
        pytest.skip(f"ObsPy test record {name} not installed")
    return path


@pytest.fixture(scope="module")
def kapi(shared_data):
    """Metrics (no PSD) of the three KAPI days, computed once: {doy: (ChannelDayResult, file)}."""
    import obspy

    out = {}
    for doy in (5, 6, 7):
        path = shared_data / KAPI.format(doy)
        t0 = obspy.UTCDateTime(2013, 1, doy)
        out[doy] = (channel_day_metrics(obspy.read(str(path)), SID, t0, t0 + 86400, flag_files=[str(path)],
                                        psd=False), path)
    return out


def test_kapi_availability_and_gaps_match_mustang(kapi):
    # ../shared/data/README.md: 2013-01-05 2 gaps, 9.09 %; 2013-01-06 1 gap, 85.62 % (MUSTANG, 2 decimals)
    d5, d6 = kapi[5][0].metrics, kapi[6][0].metrics
    assert d5["num_gaps"] == 2 and round(d5["percent_availability"], 2) == 9.09
    assert d6["num_gaps"] == 1 and round(d6["percent_availability"], 2) == 85.62
    assert d6["max_gap"] == pytest.approx(12422.4195, abs=1e-4)  # 00:00 to the first sample at 03:27:02.4195
    assert d5["num_overlaps"] == d6["num_overlaps"] == 0 and d5["max_overlap"] == 0.0
    # the glitch MUSTANG reports as sample_min
    assert d6["sample_min"] == -2246467.0


def test_kapi_sample_statistics_match_obspy_mseedmetadata(kapi):
    """ObsPy's MSEEDMetadata (WFCatalog) is an independent implementation of the same day statistics.

    Its ``sample_stdev`` is MUSTANG's ``sample_rms`` (de-meaned); its ``sample_rms`` is the plain RMS
    amplitude, which MUSTANG does *not* report -- the test tells the two apart.
    """
    from obspy import UTCDateTime
    from obspy.signal.quality_control import MSEEDMetadata

    for doy, (res, path) in kapi.items():
        t0 = UTCDateTime(2013, 1, doy)
        ref = MSEEDMetadata([str(path)], starttime=t0, endtime=t0 + 86400, add_c_segments=False).meta
        m = res.metrics
        for name in ("sample_mean", "sample_median", "sample_min", "sample_max"):
            assert m[name] == pytest.approx(ref[name], rel=1e-12), name
        assert m["sample_rms"] == pytest.approx(ref["sample_stdev"], rel=1e-9)
        assert abs(m["sample_rms"] - ref["sample_rms"]) > 1.0  # not the RMS amplitude (the mean is not 0)
        assert m["num_gaps"] == ref["num_gaps"]
        assert m["max_gap"] == pytest.approx(ref["max_gap"], abs=1e-6)
        assert m["percent_availability"] == pytest.approx(ref["percent_availability"], abs=1e-9)
        assert m["num_samples"] == ref["num_samples"]


def test_kapi_unique_values_spikes_flags_and_findings(kapi):
    import obspy

    for doy, (res, path) in kapi.items():
        x = obspy.read(str(path))[0].data
        m = res.metrics
        assert m["sample_unique"] == np.unique(x).size
        assert m["num_spikes"] == mustang_spike_count(x.astype(float))  # the slow exact reference
        # KAPI's datalogger sets no header flag and writes no blockette 1001
        assert all(m[k] == 0 for k in ("spikes", "digitizer_clipping", "glitches", "timing_correction"))
        assert m["timing_quality"] is None and "blockette 1001" in m.notes["timing_quality"]
        kinds = {r.kind for r in res.records}
        assert QCKind.AVAILABILITY in kinds and QCKind.GAP in kinds
    assert kapi[6][0].metrics["num_spikes"] == 1  # the 2 adjacent outliers of the glitch


def test_fast_hampel_equals_reference_on_synthetic_records():
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 100.0, 60_000)
    spikes = rng.choice(np.arange(100, 59_900), 25, replace=False)
    x[spikes] += rng.choice([-1, 1], 25) * 5_000.0
    x[30_000:30_002] = 9_000.0  # two adjacent outliers: one spike
    q = np.round(rng.normal(0.0, 0.6, 20_000))  # quantised: many windows with MAD 0
    q[5_000] = 40.0
    for data in (x, q, np.round(x / 50.0)):
        fast = hampel_outliers(data)
        assert np.array_equal(fast, hampel_outliers_reference(data))
        assert mustang_num_spikes(data) == mustang_spike_count(data)
    assert mustang_num_spikes(x) >= 25
    assert mustang_num_spikes(np.arange(10.0)) == 0  # shorter than the window
    with pytest.raises(InputError):
        hampel_outliers(x, window=40)


def test_sample_rms_is_the_demeaned_population_standard_deviation():
    s = sample_statistics(np.array([10, 12, 14, 14], dtype=np.int32))
    assert s["sample_mean"] == 12.5 and s["sample_median"] == 13.0
    assert s["sample_min"] == 10.0 and s["sample_max"] == 14.0 and s["sample_unique"] == 3
    assert s["sample_rms"] == pytest.approx(np.sqrt(((np.array([10, 12, 14, 14]) - 12.5) ** 2).mean()))
    assert all(v is None for v in sample_statistics(np.array([])).values())
    assert sample_statistics(np.array([np.nan, 1.0, 3.0]))["sample_mean"] == 2.0


def test_soh_flag_counts_and_timing_quality_from_obspy_test_records():
    from obspy import UTCDateTime

    wide = (UTCDateTime(1970, 1, 1), UTCDateTime(2100, 1, 1))
    # qualityflags.mseed: bit k of the data-quality byte set in 9 - k of its 18 records (ObsPy's test)
    flags = soh_metrics([str(_mseed_test_file("qualityflags.mseed"))], *wide)
    assert (flags["amplifier_saturation"], flags["digitizer_clipping"], flags["spikes"], flags["glitches"],
            flags["missing_padded_data"], flags["telemetry_sync_error"], flags["digital_filter_charging"],
            flags["suspect_time_tag"]) == (9, 8, 7, 6, 5, 4, 3, 2)
    assert flags["timing_quality"] is None
    # timingquality.mseed: 101 records with blockette-1001 qualities 0..100
    tq = soh_metrics([str(_mseed_test_file("timingquality.mseed"))], *wide)
    assert tq["timing_quality"] == pytest.approx(50.0)
    assert soh_metrics([], *wide)["spikes"] is None  # no file, no counts
    assert soh_metrics(["/nonexistent.mseed"], *wide)["spikes"] is None


def _trace(data, start, rate=20.0, cha="BHZ"):
    from obspy import Trace

    return Trace(data=np.asarray(data, dtype=np.int32),
                 header=dict(network="XX", station="TEST", location="", channel=cha, sampling_rate=rate,
                             starttime=start))


def test_overlap_gap_and_empty_day_on_synthetic_records():
    from obspy import Stream, UTCDateTime

    t0 = UTCDateTime(2024, 3, 1)
    rng = np.random.default_rng(3)
    a = _trace(rng.integers(-50, 50, 20 * 3600), t0)  # 00:00-01:00
    b = _trace(rng.integers(-50, 50, 20 * 3600), t0 + 3590)  # 10 s overlap
    c = _trace(rng.integers(-50, 50, 20 * 600), t0 + 7200 + 0.05)  # gap
    sid = StreamID("XX", "TEST", "", "BHZ")
    res = channel_day_metrics(Stream([a, b, c]), sid, t0, t0 + 86400, psd=False)
    m = res.metrics
    assert m["num_overlaps"] == 1 and m["max_overlap"] == pytest.approx(10.0, abs=0.06)
    assert m["num_gaps"] == 2  # between b and c, and to the end of the day
    assert m["num_samples"] == 20 * (7200 + 600)
    assert m.notes["soh"] == "no miniSEED files given" and m["spikes"] is None
    empty = channel_day_metrics(Stream([a]), StreamID("XX", "TEST", "", "BHN"), t0, t0 + 86400, psd=False).metrics
    assert empty["percent_availability"] == 0.0 and empty["num_gaps"] == 1 and empty["max_gap"] == 86400.0
    assert empty["sample_rms"] is None and empty["num_spikes"] is None and "data" in empty.notes
    with pytest.raises(InputError):
        channel_day_metrics(Stream([a]), sid, t0 + 10, t0, psd=False)


def test_channel_day_metrics_record_shape():
    from datetime import datetime, timezone

    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    m = ChannelDayMetrics(SID, t, t.replace(day=2), {"num_gaps": 3, "sample_rms": float("nan")})
    d = m.as_dict()
    assert d["stream_id"] == "II.KAPI.00.BHZ" and d["start"] == "2024-01-01T00:00:00Z"
    assert d["num_gaps"] == 3 and d["sample_rms"] is None and set(ALL_METRICS) <= set(d)
    rows = m.long_rows()
    assert len(rows) == len(ALL_METRICS) and rows[1] == ("II.KAPI.00.BHZ", d["start"], d["end"], "num_gaps", 3)
    with pytest.raises(DomainError):
        ChannelDayMetrics(SID, t, t.replace(day=2), {"no_such_metric": 1})
    with pytest.raises(DomainError):
        ChannelDayMetrics(SID, t, t, {})
