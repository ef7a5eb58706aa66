"""PSD/PDF (ObsPy PPSD, MUSTANG segmenting and frequency grid) against MUSTANG's own noise-pdf output,
and the PSD metrics on real KAPI data and on a synthetic dead channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.qc.metrics.psd import (PSDUnavailable, compute_psd, dead_channel_lin_exp, mustang_highest_frequency_hz,
                                     noise_model_percentages, noise_models, pdf_percentile, read_noise_pdf_text,
                                     segment_length_s)

KAPI = "qc/ispaq_kapi/"


def _obspy_signal_data(name: str) -> Path:
    import obspy

    path = Path(obspy.__file__).parent / "signal" / "tests" / "data" / name
    if not path.is_file():
        pytest.skip(f"ObsPy test data {name} not installed")
    return path


@pytest.fixture(scope="module")
def anmo():
    """Our PDF of IU.ANMO.00.LHZ 2010-01-01 and MUSTANG's noise-pdf for it (ObsPy's test data)."""
    from obspy import UTCDateTime, read, read_inventory

    st = read(str(_obspy_signal_data("IUANMO.seed")))
    inv = read_inventory(str(_obspy_signal_data("IUANMO.xml")))
    t0 = UTCDateTime(2010, 1, 1)
    ours = compute_psd(st, inv, t0, t0 + 86400)
    mustang = read_noise_pdf_text(_obspy_signal_data("IRISpdfExample"))
    return ours, mustang


def test_pdf_frequencies_are_mustangs(anmo):
    ours, mustang = anmo
    # LHZ: MUSTANG's 3-hour segments give its whole frequency list, 0.475683 Hz down to 0.00101316 Hz
    assert ours.segment_length_s == 10800.0
    f_mustang, _ = pdf_percentile(mustang, 50)
    f_ours = np.sort(ours.frequencies_hz)[::-1]
    assert f_mustang.size == 72
    np.testing.assert_allclose(f_ours[:72], f_mustang, rtol=1e-4)


def test_pdf_median_matches_mustang_within_1_2_db(anmo):
    """ObsPy's own criterion (test_ppsd_w_iris): band means of the median within 1.2 dB, 0.1-0.2 and 0.05-0.1 Hz;
    here also over the whole 0.002-0.2 Hz band, frequency by frequency."""
    ours, mustang = anmo
    f_mustang, p50_mustang = pdf_percentile(mustang, 50)
    order = np.argsort(-ours.frequencies_hz)
    f = ours.frequencies_hz[order][:72]
    diff = ours.percentiles[50.0][order][:72] - p50_mustang
    for lo, hi in ((0.1, 0.2), (0.05, 0.1)):
        band = (f > lo) & (f < hi)
        assert band.sum() == 8
        assert abs(diff[band].mean()) <= 1.2, (lo, hi, diff[band])
    wide = (f > 0.002) & (f < 0.2)
    assert wide.sum() == 54
    assert np.abs(diff[wide]).mean() <= 1.2
    assert abs(diff[wide].mean()) <= 1.2
    assert np.abs(diff[wide]).max() <= 3.0  # the reference covers two days, ours one


def test_pdf_rows_and_summary(anmo):
    ours, _ = anmo
    rows = ours.pdf_rows()
    by_freq: dict[float, int] = {}
    for freq, _power, hits in rows:
        by_freq[freq] = by_freq.get(freq, 0) + hits
    assert set(by_freq.values()) == {ours.n_segments}  # every segment PSD lands in one 1-dB bin per frequency
    d = ours.as_dict()
    assert d["n_segments"] == ours.n_segments == 15
    assert len(d["percentiles"]["p50"]) == len(d["period_s"]) == len(d["nlnm_db"])
    assert set(d["metrics"]) == {"pct_above_nhnm", "pct_below_nlnm", "dead_channel_lin", "dead_channel_exp",
                                 "dead_channel_gsn"}
    assert d["metrics"]["dead_channel_lin"] is None  # MUSTANG reports lin/exp for BH?/HH? only
    assert d["metrics"]["dead_channel_gsn"] == 0


@pytest.fixture(scope="module")
def kapi_resp(shared_data):
    from obspy import read_inventory

    return read_inventory(str(shared_data / KAPI / "RESP.KAPI.II.00.BHZ.txt"))


def test_kapi_psd_metrics_healthy(shared_data, kapi_resp):
    from obspy import UTCDateTime, read

    st = read(str(shared_data / KAPI / "II.KAPI.00.BHZ.2013.007.M"))
    t0 = UTCDateTime(2013, 1, 7)
    r = compute_psd(st, kapi_resp, t0, t0 + 86400)
    assert r.segment_length_s == 3600.0 and r.n_segments == 45  # 23.3 h of data, 1-h segments, 50 % overlap
    assert np.isclose(r.frequencies_hz, 0.1).any()  # MUSTANG's grid 0.1 * 2^(k/8)
    assert r.frequencies_hz.max() == pytest.approx(mustang_highest_frequency_hz(20.0))
    m = r.metrics
    assert m["pct_below_nlnm"] == 0.0 and m["pct_above_nhnm"] < 5.0
    assert m["dead_channel_gsn"] == 0
    assert m["dead_channel_lin"] > 3.0 and m["dead_channel_exp"] > 0.3  # MUSTANG's "may have a problem" limits
    p10, p50, p90 = (r.percentiles[q] for q in (10.0, 50.0, 90.0))
    assert np.all(p10 <= p50) and np.all(p50 <= p90)
    nlnm, nhnm = noise_models(r.periods_s)
    ok = np.isfinite(nlnm)
    assert np.all((p50[ok] > nlnm[ok]) & (p50[ok] < nhnm[ok]))


def test_synthetic_dead_channel_is_flagged(kapi_resp):
    """Digitiser noise only (+-2 counts, white) behind KAPI's STS-1 response: MUSTANG's dead-channel tests fire."""
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(11)
    t0 = UTCDateTime(2013, 1, 7)
    tr = Trace(data=rng.integers(-2, 3, 20 * 6 * 3600).astype(np.int32),
               header=dict(network="II", station="KAPI", location="00", channel="BHZ", sampling_rate=20.0,
                           starttime=t0))
    m = compute_psd(Stream([tr]), kapi_resp, t0, t0 + 86400).metrics
    assert m["dead_channel_gsn"] == 1
    assert m["dead_channel_lin"] < 3.0 and m["dead_channel_exp"] < 0.3
    assert m["pct_below_nlnm"] > 50.0


def test_no_response_and_no_data(shared_data):
    from obspy import Stream, UTCDateTime, read, read_inventory

    st = read(str(shared_data / KAPI / "II.KAPI.00.BHZ.2013.005.M"))
    t0 = UTCDateTime(2013, 1, 5)
    channel_level = read_inventory(str(shared_data / KAPI / "II.KAPI_station.xml"))
    with pytest.raises(PSDUnavailable, match="no stages"):
        compute_psd(st, channel_level, t0, t0 + 86400)
    with pytest.raises(PSDUnavailable, match="no instrument response"):
        compute_psd(st, None, t0, t0 + 86400)
    with pytest.raises(PSDUnavailable, match="no samples"):
        compute_psd(st, None, t0 + 86400, t0 + 2 * 86400)
    with pytest.raises(InputError):
        compute_psd(Stream(), None, t0, t0 + 86400)


def test_metric_formulas_on_synthetic_spectra():
    periods = np.logspace(-1, 2.5, 60)
    nlnm, nhnm = noise_models(periods)
    psd = np.vstack([nhnm + 3.0, nlnm - 3.0, 0.5 * (nlnm + nhnm), 0.5 * (nlnm + nhnm)])
    above, below = noise_model_percentages(periods, psd, 20.0)
    assert above == pytest.approx(25.0) and below == pytest.approx(25.0)
    # only frequencies below Nyquist / 1.5 count: at 1 Hz sampling, periods < 3 s are left out
    keep = periods >= 3.0
    a1, _ = noise_model_percentages(periods, np.where(keep, nlnm + 1.0, nhnm + 10.0), 1.0)
    assert a1 == 0.0
    # a straight line in log10(period) has no residual; a bumpy one has
    lin, exp = dead_channel_lin_exp(periods, -150.0 + 10.0 * np.log10(periods), 20.0)
    assert lin == pytest.approx(0.0, abs=1e-9)
    lin2, _ = dead_channel_lin_exp(periods, -150.0 + 20.0 * np.sin(3.0 * np.log10(periods)), 20.0)
    assert lin2 > 5.0
    assert (segment_length_s("LHZ"), segment_length_s("MHZ"), segment_length_s("HHZ")) == (10800.0, 7200.0, 3600.0)
    assert mustang_highest_frequency_hz(1.0) == pytest.approx(0.475683, rel=1e-6)


def test_read_noise_pdf_text_rejects_bad_lines(tmp_path):
    p = tmp_path / "pdf.txt"
    p.write_text("# header\n0.1, -140, 3\n0.1, -139, 1\n")
    pdf = read_noise_pdf_text(p)
    f, v = pdf_percentile(pdf, 50)
    assert f.tolist() == [0.1] and v[0] == -140.0
    p.write_text("0.1, -140\n")
    with pytest.raises(InputError, match=":1"):
        read_noise_pdf_text(p)
