"""Seismic background noise between Peterson's (1993) low and high noise models.

Peterson, J. (1993). Observations and modeling of seismic background noise.
USGS Open-File Report 93-322. The New Low / New High Noise Models (NLNM,
NHNM) are power spectral densities of ground *acceleration* in dB relative to
1 (m/s^2)^2/Hz, one-sided, defined for periods 0.1-100,000 s. The tables are
taken from ObsPy (:func:`obspy.signal.spectral_estimation.get_nlnm` /
``get_nhnm``, Peterson's segment coefficients evaluated on 1001 log-spaced
periods).

Conventions used here:

* PSD is **one-sided**: the variance of a record equals the integral of the
  PSD from 0 to the Nyquist frequency (Parseval), as for
  :func:`scipy.signal.welch` with ``scaling="density"`` and as in Peterson's
  models.
* ``level`` interpolates linearly *in dB* between NLNM (``level = 0``) and
  NHNM (``level = 1``); values outside [0, 1] extrapolate (allowed within
  [-0.5, 1.5] for very quiet or very noisy sites).
* Above 10 Hz (periods below Peterson's 0.1 s) the models are extended with
  the slope of their shortest-period segment (dB per decade of period),
  which is what the 0.10-0.17 s (NLNM) and 0.10-0.22 s (NHNM) segments
  prescribe at their end; below 1e-5 Hz the value is held constant.

Synthesis (:func:`synthesize_noise`) shapes Gaussian white noise in the
frequency domain: each positive-frequency Fourier coefficient of an n-point
``numpy.fft.rfft`` is drawn as ``sqrt(S(f) fs n / 4) (a + i b)`` with
``a, b ~ N(0, 1)``, so that the expected periodogram ``2 |X|^2 / (fs n)``
equals the target one-sided PSD ``S(f)``; the DC coefficient is zero and the
Nyquist coefficient is real with variance ``S fs n``. The result is a
stationary Gaussian process with that PSD (circular in time, which a
stationary process does not mind).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tianshan.core.errors import DomainError

#: Allowed range of the noise level (0 = NLNM, 1 = NHNM).
MIN_LEVEL = -0.5
MAX_LEVEL = 1.5


@lru_cache(maxsize=1)
def _peterson_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """log10(period_s) ascending, NLNM dB, NHNM dB (ObsPy's copy of Peterson 1993)."""
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    periods, low = get_nlnm()
    periods_h, high = get_nhnm()
    if not np.allclose(periods, periods_h):  # pragma: no cover - ObsPy ships both on one grid
        high = np.interp(np.log10(periods), np.log10(periods_h), high)
    order = np.argsort(periods)
    logp = np.log10(np.asarray(periods, dtype=float)[order])
    return logp, np.asarray(low, dtype=float)[order], np.asarray(high, dtype=float)[order]


def _model_db(logp: np.ndarray, table_logp: np.ndarray, table_db: np.ndarray) -> np.ndarray:
    """Interpolate a model in log10(period); extend below 0.1 s with the end slope."""
    out = np.interp(logp, table_logp, table_db)
    slope = (table_db[1] - table_db[0]) / (table_logp[1] - table_logp[0])
    short = logp < table_logp[0]
    out[short] = table_db[0] + slope * (logp[short] - table_logp[0])
    return out


def check_level(level: float) -> float:
    """Validate a noise level (0 = NLNM, 1 = NHNM)."""
    lv = float(level)
    if not np.isfinite(lv) or not MIN_LEVEL <= lv <= MAX_LEVEL:
        raise DomainError(f"noise level: {level!r} is outside [{MIN_LEVEL}, {MAX_LEVEL}] "
                          "(0 = Peterson NLNM, 1 = NHNM)")
    return lv


def noise_psd_db(freq_hz, level: float = 0.5) -> np.ndarray:
    """Acceleration noise PSD in dB re 1 (m/s^2)^2/Hz (one-sided) at ``freq_hz``.

    ``level`` 0 gives Peterson's NLNM, 1 the NHNM, in between a linear
    interpolation in dB. Frequencies must be > 0 Hz.
    """
    lv = check_level(level)
    f = np.atleast_1d(np.asarray(freq_hz, dtype=float))
    if np.any(~np.isfinite(f)) or np.any(f <= 0):
        raise DomainError("noise_psd_db: frequencies must be finite and > 0 Hz")
    table_logp, low, high = _peterson_tables()
    logp = -np.log10(f)
    lo = _model_db(logp, table_logp, low)
    hi = _model_db(logp, table_logp, high)
    return lo + lv * (hi - lo)


def noise_psd(freq_hz, level: float = 0.5) -> np.ndarray:
    """Acceleration noise PSD in (m/s^2)^2/Hz (one-sided); see :func:`noise_psd_db`."""
    return 10.0 ** (noise_psd_db(freq_hz, level) / 10.0)


def noise_rfft(n: int, sample_rate_hz: float, level: float, rng: np.random.Generator,
               count: int = 1) -> np.ndarray:
    """Random rfft coefficients (``count`` x (n//2 + 1)) of n-sample acceleration noise.

    ``numpy.fft.irfft(X, n)`` of each row is a noise record (m/s^2) whose
    one-sided PSD is :func:`noise_psd` (see the module docstring for the
    scaling). Used directly by the scenario, which adds the signal spectrum
    before applying the instrument response.
    """
    n = int(n)
    if n < 2:
        raise DomainError(f"noise: need at least 2 samples, got {n}")
    fs = float(sample_rate_hz)
    if not np.isfinite(fs) or fs <= 0:
        raise DomainError(f"noise: sample_rate_hz must be > 0, got {sample_rate_hz!r}")
    nf = n // 2 + 1
    freqs = np.arange(1, nf) * (fs / n)
    amp = np.empty(nf)
    amp[0] = 0.0
    amp[1:] = np.sqrt(noise_psd(freqs, level) * (fs * n / 4.0))
    if n % 2 == 0:  # Nyquist coefficient: real, variance S fs n
        amp[-1] *= 2.0
    spec = np.empty((count, nf), dtype=np.complex128)
    draws = rng.standard_normal((count, 2, nf))
    spec.real = draws[:, 0, :]
    spec.imag = draws[:, 1, :]
    if n % 2 == 0:
        spec[:, -1] = draws[:, 0, -1]  # real, unit variance; amp doubled above -> var S fs n
    spec *= amp
    return spec


def synthesize_noise(n: int, sample_rate_hz: float, level: float, rng: np.random.Generator,
                     dtype=np.float64) -> np.ndarray:
    """Gaussian ground-acceleration noise (m/s^2), ``n`` samples at ``sample_rate_hz``.

    Its one-sided PSD is :func:`noise_psd` at ``level`` (0 = NLNM, 1 = NHNM).
    """
    from scipy import fft

    n = int(n)
    n_fft = fft.next_fast_len(max(n, 2), real=True)
    spec = noise_rfft(n_fft, sample_rate_hz, level, rng)[0]
    return fft.irfft(spec, n_fft)[:n].astype(dtype, copy=False)
