"""Nominal instrument responses: published constants and ObsPy round trip."""

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from tianshan.core.station import InstrumentKind
from tianshan.sim.response import (COUNTS_MAX, COUNTS_MIN, EPISENSOR_2G, STS2, G_M_S2, ground_to_counts, nominal_gain,
                                   nominal_response, paz_normalization, sensor_for_kind)


def test_published_normalisation_factors():
    # STS-2: A0 = 6.0077e7 (NRL / Streckeisen) normalises the PAZ at 0.02 Hz.
    assert paz_normalization(STS2.poles, STS2.zeros, 0.02) == pytest.approx(6.0077e7, rel=1e-5)
    # EpiSensor ES-T: A0 = 2.45956e13 at 1 Hz (NRL).
    assert paz_normalization(EPISENSOR_2G.poles, EPISENSOR_2G.zeros, 1.0) == pytest.approx(2.45956e13, rel=1e-4)


def test_sensitivities():
    bb = nominal_response(STS2, 100.0)
    assert bb.instrument_sensitivity.input_units == "M/S"
    # 1500 V/(m/s) x 419430.4 counts/V in the flat band; ObsPy reports it at 1 Hz where the STS-2 is 1.5 % higher.
    assert bb.instrument_sensitivity.value == pytest.approx(1500 * 2**23 / 20 * 1.0147, rel=1e-3)
    sm = nominal_response(EPISENSOR_2G, 200.0)
    assert sm.instrument_sensitivity.input_units == "M/S**2"
    assert sm.instrument_sensitivity.value == pytest.approx(10 / (2 * G_M_S2) * 2**23 / 20, rel=1e-3)
    g = nominal_gain(InstrumentKind.STRONG_MOTION)
    assert g.value == pytest.approx(sm.instrument_sensitivity.value)
    assert sensor_for_kind(InstrumentKind.MEMS) is EPISENSOR_2G
    assert sensor_for_kind(InstrumentKind.BROADBAND) is STS2


def test_response_writes_as_stationxml(tmp_path):
    from obspy import read_inventory
    from obspy.core.inventory import Channel, Inventory, Network, Station

    resp = nominal_response(STS2, 100.0)
    cha = Channel("HHZ", "", 41.0, 84.0, 1000.0, 0.0, azimuth=0.0, dip=-90.0, sample_rate=100.0, response=resp)
    inv = Inventory([Network("XX", [Station("ABC", 41.0, 84.0, 1000.0, channels=[cha])])], source="test")
    path = tmp_path / "inv.xml"
    inv.write(str(path), format="STATIONXML", validate=True)
    back = read_inventory(str(path))[0][0][0].response
    f = np.array([0.01, 0.1, 1.0, 10.0])
    np.testing.assert_allclose(back.get_evalresp_response_for_frequencies(f),
                               resp.get_evalresp_response_for_frequencies(f), rtol=1e-6)


def _pulse(n, fs, rng, amp):
    a = rng.standard_normal(n) * np.exp(-((np.arange(n) / fs - 150.0) / 15.0) ** 2)
    sos = butter(4, [0.1, 10.0], "bandpass", fs=fs, output="sos")
    a = sosfiltfilt(sos, a)
    return a / np.abs(a).max() * amp


@pytest.mark.parametrize("sensor,amp,tol", [(STS2, 1e-3, 1e-3), (EPISENSOR_2G, 0.5, 1e-3)])
def test_remove_response_round_trip(sensor, amp, tol):
    """ObsPy remove_response on simulated counts gives back the ground acceleration.

    Band-limited (0.1-10 Hz) input, pre_filt 0.02-0.05 / 20-40 Hz: max error below
    ``tol`` x the peak (quantisation is the main residual for the accelerometer).
    """
    from obspy import Trace

    fs, n = 100.0, 40000
    a = _pulse(n, fs, np.random.default_rng(7), amp)
    counts = ground_to_counts(a, sensor, fs)
    assert counts.dtype == np.int32
    tr = Trace(counts.astype(np.float64))
    tr.stats.sampling_rate = fs
    tr.stats.response = nominal_response(sensor, fs)
    acc = tr.copy().remove_response(output="ACC", pre_filt=(0.02, 0.05, 20.0, 40.0), water_level=None)
    assert np.max(np.abs(acc.data - a)) < tol * amp
    vel = tr.copy().remove_response(output="VEL", pre_filt=(0.02, 0.05, 20.0, 40.0), water_level=None)
    v_true = np.fft.irfft(np.fft.rfft(a) / np.where(np.arange(n // 2 + 1) == 0, np.inf,
                                                     2j * np.pi * np.fft.rfftfreq(n, 1 / fs)), n)
    assert np.max(np.abs(vel.data - v_true)) < 0.01 * np.abs(v_true).max()


def test_clipping_at_24_bits_and_full_scale():
    fs, n = 100.0, 20000
    a = _pulse(n, fs, np.random.default_rng(1), 3.0)  # 3 m/s^2: saturates the broadband
    c = ground_to_counts(a, STS2, fs)
    assert c.max() == COUNTS_MAX and c.min() == COUNTS_MIN
    assert np.sum(c == COUNTS_MAX) > 1
    big = _pulse(n, fs, np.random.default_rng(1), 3.0 * G_M_S2)  # 3 g > 2 g full scale
    c2 = ground_to_counts(big, EPISENSOR_2G, fs)
    limit = 10.0 * 2**23 / 20  # 10 V full scale -> counts
    assert np.abs(c2).max() == pytest.approx(limit, abs=1)
