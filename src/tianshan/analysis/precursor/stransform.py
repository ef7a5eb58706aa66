"""The S-transform (Stockwell, Mansinha & Lowe 1996), computed with the FFT.

Definition (Stockwell, R.G., Mansinha, L., Lowe, R.P. 1996, *Localization of the complex
spectrum: the S transform*, IEEE Trans. Signal Processing 44(4), 998-1001, eq. 2):

    S(tau, f) = integral h(t) |f| / sqrt(2 pi) exp(-(tau - t)^2 f^2 / 2) exp(-i 2 pi f t) dt,

a short-time Fourier transform whose Gaussian window narrows as the frequency rises.
Its discrete form (their eq. 9) for a series ``h[k]``, ``k = 0..N-1``, with DFT ``H``:

    S[j, n] = sum_{m=0}^{N-1} H[m + n] G(m, n) exp(i 2 pi m j / N),   n > 0,
    G(m, n) = exp(-2 pi^2 m^2 k / n^2)   (periodised over m and m - N),
    S[j, 0] = mean of h,

i.e. one inverse FFT per frequency index ``n`` (frequency ``n / (N dt)``). ``k`` is the
**width factor** of Stockwell's reference code ``st.m`` (``factor``): the time-domain
Gaussian has a standard deviation of ``sqrt(k)`` periods (``k = 1`` is the 1996
definition; EQSuite-EVA uses ``k = 3`` for better frequency resolution).

Options of ``st.m`` kept here because EQSuite-EVA relies on them:

* ``analytic=True``: transform the analytic signal (negative frequencies zeroed,
  positive doubled, DC and Nyquist kept), as ``st.m`` does for real input;
* ``detrend_taper=True``: remove a least-squares parabola and taper 5 % of each end with
  a Hanning window (MATLAB's ``hanning(L)``, ``L = floor(N/10)``, i.e.
  ``0.5 (1 - cos(2 pi i/(L+1)))``, ``i = 1..L``) before transforming.

Summing ``S[:, n]`` over time gives ``H[n]`` (``k = 1``, no taper): the S-transform is
invertible and keeps the absolute phase.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.errors import InputError


def hanning(length: int) -> np.ndarray:
    """MATLAB's ``hanning(L)``: the Hann window without its zero end points."""
    i = np.arange(1, length + 1)
    return 0.5 * (1.0 - np.cos(2.0 * np.pi * i / (length + 1)))


def detrend_and_taper(x) -> np.ndarray:
    """``st.m``'s ``removeedge``: minus a fitted parabola, 5 % Hanning taper at each end."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    t = np.arange(n, dtype=np.float64)
    y = x - np.polyval(np.polyfit(t, x, 2), t)
    sh = n // 10
    if sh == 0:
        return y
    w = hanning(sh)
    h = sh // 2
    y[:h] *= w[:h]
    y[n - h:] *= w[sh - h:]
    return y


def stransform(x, fmin_index: int = 0, fmax_index: int | None = None, *, width_factor: float = 1.0,
               analytic: bool = True, detrend_taper: bool = False, chunk: int = 64
               ) -> tuple[np.ndarray, np.ndarray]:
    """S-transform of ``x`` for frequency indices ``fmin_index..fmax_index`` (inclusive).

    Returns ``(S, freqs)``: ``S`` complex, one row per frequency, one column per sample;
    ``freqs`` in cycles per sample (``n / N``). ``fmax_index`` defaults to ``N // 2``.
    Work is done ``chunk`` frequencies at a time to bound memory."""
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 1 or h.size < 2:
        raise InputError("the S-transform needs a one-dimensional series of at least 2 samples")
    if not np.isfinite(h).all():
        raise InputError("the S-transform needs a gap-free series (fill NaN first)")
    n = h.size
    if fmax_index is None:
        fmax_index = n // 2
    if not 0 <= fmin_index <= fmax_index <= n // 2:
        raise InputError(f"frequency indices must satisfy 0 <= {fmin_index} <= {fmax_index} <= {n // 2}")
    if width_factor <= 0:
        raise InputError(f"width factor must be positive, got {width_factor}")
    if detrend_taper:
        h = detrend_and_taper(h)
    spec = np.fft.fft(h)
    if analytic:
        gain = np.zeros(n)
        gain[0] = 1.0
        gain[1:(n - 1) // 2 + 1] = 2.0
        if n % 2 == 0:
            gain[n // 2] = 1.0
        spec = spec * gain
    spec2 = np.concatenate([spec, spec])
    m = np.arange(n, dtype=np.float64)
    m2 = m * m
    mw2 = (m - n) ** 2
    freqs_idx = np.arange(fmin_index, fmax_index + 1)
    out = np.empty((freqs_idx.size, n), dtype=np.complex128)
    c = -2.0 * np.pi ** 2 * width_factor
    for s in range(0, freqs_idx.size, chunk):
        block = freqs_idx[s:s + chunk]
        pos = block[block > 0]
        rows = np.empty((block.size, n), dtype=np.complex128)
        if pos.size:
            inv = 1.0 / (pos.astype(np.float64) ** 2)
            g = np.exp(c * m2[None, :] * inv[:, None]) + np.exp(c * mw2[None, :] * inv[:, None])
            shifted = spec2[pos[:, None] + m[None, :].astype(np.int64)]
            rows[block > 0] = np.fft.ifft(shifted * g, axis=1)
        if (block == 0).any():
            rows[block == 0] = np.fft.ifft(spec).mean()
        out[s:s + block.size] = rows
    return out, freqs_idx / n
