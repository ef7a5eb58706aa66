"""Peterson (1993) noise models and noise synthesis."""

import numpy as np
import pytest
from scipy.signal import welch

from tianshan.core.errors import DomainError
from tianshan.sim.noise import noise_psd, noise_psd_db, noise_rfft, synthesize_noise


def test_levels_reproduce_obspy_tables():
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    periods, low = get_nlnm()
    _, high = get_nhnm()
    freqs = 1.0 / periods
    np.testing.assert_allclose(noise_psd_db(freqs, 0.0), low, atol=1e-9)
    np.testing.assert_allclose(noise_psd_db(freqs, 1.0), high, atol=1e-9)
    np.testing.assert_allclose(noise_psd_db(freqs, 0.5), (low + high) / 2, atol=1e-9)


def test_published_peterson_values():
    # Peterson (1993) table segments: NLNM at 1 s: A=-166.40, B=28.90 -> -166.4 dB;
    # NLNM at 0.1 s: -162.36 + 5.64 log10(0.1) = -168.0 dB; NHNM at 0.1 s: -108.73 - 17.23 * -1 = -91.5 dB.
    assert noise_psd_db(1.0, 0.0)[0] == pytest.approx(-166.4, abs=0.05)
    assert noise_psd_db(10.0, 0.0)[0] == pytest.approx(-168.0, abs=0.05)
    assert noise_psd_db(10.0, 1.0)[0] == pytest.approx(-91.5, abs=0.05)
    # Extension above 10 Hz continues the shortest-period segment's slope (5.64 dB/decade of period).
    assert noise_psd_db(100.0, 0.0)[0] == pytest.approx(-168.0 - 5.64, abs=0.1)
    assert noise_psd_db(100.0, 1.0)[0] == pytest.approx(-91.5 + 17.23, abs=0.3)


@pytest.mark.parametrize("level", [0.0, 0.4, 1.0])
def test_welch_psd_matches_target_within_3db(level):
    """Verified band: 0.05-20 Hz at 100 Hz sampling (43.7 min record, Welch 81.9 s Hann windows)."""
    rng = np.random.default_rng(42)
    fs = 100.0
    x = synthesize_noise(2**18, fs, level, rng)
    f, p = welch(x, fs, nperseg=8192)
    band = (f >= 0.05) & (f <= 20.0)
    diff = 10 * np.log10(p[band]) - noise_psd_db(f[band], level)
    assert np.max(np.abs(diff)) < 3.0
    assert abs(np.mean(diff)) < 0.3  # no overall bias


def test_variance_matches_integral_of_psd():
    """Parseval with the one-sided convention: var(x) = integral of S(f) over (0, fs/2]."""
    rng = np.random.default_rng(3)
    fs, n = 50.0, 2**16
    x = np.fft.irfft(noise_rfft(n, fs, 0.7, rng, count=20), n, axis=-1)
    f = np.fft.rfftfreq(n, 1 / fs)[1:]
    expected = np.sum(noise_psd(f, 0.7)) * (fs / n)
    assert np.mean(np.var(x, axis=-1)) == pytest.approx(expected, rel=0.1)


def test_seeded_and_shapes():
    a = synthesize_noise(1001, 100.0, 0.5, np.random.default_rng(1))
    b = synthesize_noise(1001, 100.0, 0.5, np.random.default_rng(1))
    assert a.shape == (1001,)
    np.testing.assert_array_equal(a, b)
    c = synthesize_noise(1001, 100.0, 0.5, np.random.default_rng(2))
    assert not np.allclose(a, c)
    assert synthesize_noise(100, 100.0, 0.5, np.random.default_rng(1), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("bad", [-1.0, 2.0, float("nan")])
def test_bad_level(bad):
    with pytest.raises(DomainError, match="noise level"):
        noise_psd_db(1.0, bad)


def test_bad_frequency():
    with pytest.raises(DomainError):
        noise_psd_db([0.0, 1.0], 0.5)
