"""Moment magnitude from S-wave displacement spectra (Brune omega-squared fit).

Model of the far-field S displacement amplitude spectrum at hypocentral
distance R (Brune 1970, JGR 75(26), 4997-5009; path and site terms as in
Boore 2003, PAGEOPH 160, 635-676, section 2)::

    U(f) = Omega0 / (1 + (f/fc)^2) * exp(-pi f R / (Q(f) beta)) * exp(-pi kappa0 f) * A(f)

with ``Q(f) = Q0 f^eta``, ``kappa0`` the near-site high-frequency decay
(Anderson & Hough 1984) and ``A(f)`` an optional site amplification table.
The observed spectrum is the vector sum of the two horizontal components
(``sqrt(|U_N|^2 + |U_E|^2)``, i.e. the whole S motion: no horizontal partition
factor) of a window starting at the S arrival.

Seismic moment from the low-frequency level (e.g. Boore 2003, constant C;
Brune 1970), with geometric spreading ``G(R)`` relative to ``R0 = 1 km``::

    M0 = 4 pi rho beta^3 R0 Omega0 / (R_thetaphi F G(R))

(for ``G = R0/R`` this is ``M0 = 4 pi rho beta^3 R Omega0 / (R_thetaphi F)``),
``R_thetaphi = 0.55`` the average S radiation coefficient (Boore & Boatwright
1984), ``F = 2`` the free-surface factor. Moment magnitude (IASPEI 2013;
Hanks & Kanamori 1979 with M0 in N m)::

    Mw = (2/3) (log10 M0 - 9.1)

Defaults of the path and source-region constants (``SpectralParams``) are the
western-North-America set the project's simulator also uses (Atkinson & Silva
2000; Raoof et al. 1999): beta 3.5 km/s, rho 2800 kg/m^3, Q = 180 f^0.45,
kappa0 0.04 s, G = R^-1 to 40 km then R^-0.5. A region profile should replace
them with its own attenuation model.

Fit (:func:`fit_brune`): the spectrum is averaged in log-spaced bins (10 per
decade) between the frequencies where the signal-to-noise ratio is at least 3,
divided by the path/site terms, and ``log10 U`` is fitted by least squares
over a grid of corner frequencies, ``log10 Omega0`` in closed form for each.
Meant for M >= 4 (below that fc approaches the band where kappa dominates and
the fit becomes unstable); used within 20-300 km hypocentral distance by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tianshan.core.errors import InputError


@dataclass(frozen=True)
class SpectralParams:
    """Constants of the spectral model (SI). See the module docstring for sources."""

    density_kg_m3: float = 2800.0
    shear_velocity_m_s: float = 3500.0
    radiation: float = 0.55
    free_surface: float = 2.0
    q0: float = 180.0
    q_eta: float = 0.45
    kappa0_s: float = 0.04
    reference_distance_m: float = 1000.0
    spreading_hinges_m: tuple[float, ...] = (40_000.0,)
    spreading_exponents: tuple[float, ...] = (1.0, 0.5)
    #: Optional site amplification table (Hz, factor), log-log interpolated.
    amplification_freq_hz: tuple[float, ...] = ()
    amplification: tuple[float, ...] = ()
    fmin_hz: float = 0.05
    fmax_hz: float = 20.0
    min_snr: float = 3.0
    bins_per_decade: int = 10
    min_distance_m: float = 10_000.0
    max_distance_m: float = 300_000.0

    def __post_init__(self) -> None:
        for name in ("density_kg_m3", "shear_velocity_m_s", "radiation", "free_surface", "q0",
                     "reference_distance_m", "fmin_hz", "fmax_hz"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"must be > 0, got {v!r}", field=name)
        if len(self.spreading_exponents) != len(self.spreading_hinges_m) + 1:
            raise InputError("needs one more exponent than hinges", field="spreading_exponents")
        if len(self.amplification_freq_hz) != len(self.amplification):
            raise InputError("amplification table columns differ in length", field="amplification")


DEFAULT_PARAMS = SpectralParams()


@dataclass(frozen=True)
class BruneFit:
    """Result of a Brune fit: low-frequency level (m s), corner (Hz), rms misfit (log10 units), band (Hz)."""

    omega0_m_s: float
    corner_hz: float
    rms_log10: float
    fmin_hz: float
    fmax_hz: float
    n_bins: int


def geometric_spreading(distance_m: float, params: SpectralParams = DEFAULT_PARAMS) -> float:
    """Piecewise power-law ``G(R)`` relative to R0, continuous at the hinges (Boore 2003)."""
    r = max(float(distance_m), params.reference_distance_m)
    g, start = 1.0, params.reference_distance_m
    for hinge, n in zip(list(params.spreading_hinges_m) + [math.inf], params.spreading_exponents):
        end = min(r, hinge)
        if end > start:
            g *= (start / end) ** n
            start = end
        if r <= hinge:
            break
    return g


def path_site_factor(freq_hz: np.ndarray, distance_m: float, params: SpectralParams = DEFAULT_PARAMS) -> np.ndarray:
    """``exp(-pi f R / (Q(f) beta)) exp(-pi kappa0 f) A(f)`` (dimensionless)."""
    f = np.asarray(freq_hz, dtype=float)
    q = params.q0 * np.power(np.maximum(f, 1e-6), params.q_eta)
    out = np.exp(-np.pi * f * distance_m / (q * params.shear_velocity_m_s)) * np.exp(-np.pi * params.kappa0_s * f)
    if params.amplification:
        lf = np.log(np.clip(f, 1e-12, None))
        out = out * np.exp(np.interp(lf, np.log(params.amplification_freq_hz), np.log(params.amplification)))
    return out


def moment_from_omega0(omega0_m_s: float, distance_m: float, params: SpectralParams = DEFAULT_PARAMS) -> float:
    """``M0 = 4 pi rho beta^3 R0 Omega0 / (R_thetaphi F G(R))`` in N m."""
    return (4.0 * math.pi * params.density_kg_m3 * params.shear_velocity_m_s ** 3 * params.reference_distance_m
            * float(omega0_m_s) / (params.radiation * params.free_surface * geometric_spreading(distance_m, params)))


def moment_magnitude(m0_nm: float) -> float:
    """IASPEI (2013) ``Mw = (2/3)(log10 M0 - 9.1)``, M0 in N m."""
    m0 = float(m0_nm)
    if not (math.isfinite(m0) and m0 > 0):
        raise InputError(f"M0 must be > 0 N m, got {m0_nm!r}", field="m0_nm")
    return (2.0 / 3.0) * (math.log10(m0) - 9.1)


def displacement_spectrum(velocity: np.ndarray, sample_rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(f Hz, |U(f)| m s) of a velocity window (m/s): 5 % cosine taper, ``dt |FFT| / (2 pi f)``."""
    from scipy.signal.windows import tukey

    x = np.asarray(velocity, dtype=float)
    x = (x - x.mean()) * tukey(x.size, 0.1)
    dt = 1.0 / sample_rate_hz
    spec = np.abs(np.fft.rfft(x)) * dt
    f = np.fft.rfftfreq(x.size, dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(f > 0, spec / (2.0 * np.pi * np.where(f > 0, f, 1.0)), 0.0)
    return f, u


def log_binned(f: np.ndarray, amp: np.ndarray, fmin: float, fmax: float,
               per_decade: int) -> tuple[np.ndarray, np.ndarray]:
    """RMS amplitude in log-spaced bins (centre frequencies geometric means); empty bins dropped."""
    if fmax <= fmin:
        return np.empty(0), np.empty(0)
    edges = 10.0 ** np.arange(math.log10(fmin), math.log10(fmax) + 1e-9, 1.0 / per_decade)
    fc, ac = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (f >= lo) & (f < hi)
        if m.any():
            fc.append(math.sqrt(lo * hi))
            ac.append(math.sqrt(float(np.mean(amp[m] ** 2))))
    return np.asarray(fc), np.asarray(ac)


def fit_brune(freq_hz: np.ndarray, corrected: np.ndarray, fc_grid_hz: np.ndarray | None = None) -> tuple[float, float, float]:
    """Least-squares fit of ``log10 U = log10 Omega0 - log10(1 + (f/fc)^2)``: (Omega0, fc, rms)."""
    f = np.asarray(freq_hz, dtype=float)
    y = np.log10(np.asarray(corrected, dtype=float))
    if fc_grid_hz is None:
        fc_grid_hz = 10.0 ** np.linspace(math.log10(f.min() / 3.0), math.log10(f.max() * 3.0), 241)
    best = (math.inf, 0.0, 0.0)
    for fc in fc_grid_hz:
        shape = np.log10(1.0 + (f / fc) ** 2)
        level = float(np.mean(y + shape))
        rss = float(np.sum((y + shape - level) ** 2))
        if rss < best[0]:
            best = (rss, level, fc)
    rss, level, fc = best
    return 10.0 ** level, float(fc), math.sqrt(rss / f.size)


def station_brune_fit(signal_n: np.ndarray, signal_e: np.ndarray, noise_n: np.ndarray | None,
                      noise_e: np.ndarray | None, sample_rate_hz: float, distance_m: float,
                      params: SpectralParams = DEFAULT_PARAMS) -> BruneFit | None:
    """Fit the vector-sum horizontal S spectrum of one station (velocity windows, m/s).

    Noise windows (same length as the signal, before P) set the usable band
    (SNR >= ``params.min_snr``); without them the whole band
    [fmin, min(fmax, 0.4 fs)] is used. ``None`` when fewer than 6 bins
    spanning less than a factor 4 in frequency remain.
    """
    f, un = displacement_spectrum(signal_n, sample_rate_hz)
    _, ue = displacement_spectrum(signal_e, sample_rate_hz)
    u = np.sqrt(un ** 2 + ue ** 2)
    fmax = min(params.fmax_hz, 0.4 * sample_rate_hz)
    fmin = max(params.fmin_hz, 2.0 / (len(signal_n) / sample_rate_hz))
    fb, ub = log_binned(f, u, fmin, fmax, params.bins_per_decade)
    if fb.size == 0:
        return None
    ok = ub > 0
    if noise_n is not None and noise_e is not None and len(noise_n) >= 0.5 * len(signal_n):
        n = min(len(noise_n), len(noise_e))
        fn, nn = displacement_spectrum(noise_n[:n], sample_rate_hz)
        _, ne = displacement_spectrum(noise_e[:n], sample_rate_hz)
        # scale noise amplitude spectrum to the signal window length (amplitude ~ sqrt(T) for noise)
        noise = np.sqrt(nn ** 2 + ne ** 2) * math.sqrt(len(signal_n) / n)
        _, nb = log_binned(fn, noise, fmin, fmax, params.bins_per_decade)
        if nb.size == fb.size:
            ok &= ub >= params.min_snr * nb
    # the usable band: the longest run of consecutive good bins
    best, start = (0, 0), None
    for i, good in enumerate(list(ok) + [False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    lo, hi = best
    if hi - lo < 6 or fb[hi - 1] / fb[lo] < 4.0:
        return None
    fsel, usel = fb[lo:hi], ub[lo:hi]
    corrected = usel / path_site_factor(fsel, distance_m, params)
    omega0, fc, rms = fit_brune(fsel, corrected)
    return BruneFit(omega0, fc, rms, float(fsel[0]), float(fsel[-1]), int(fsel.size))


def station_mw(fit: BruneFit, distance_m: float, params: SpectralParams = DEFAULT_PARAMS) -> float:
    """Mw of one station's fit at hypocentral distance ``distance_m``."""
    return moment_magnitude(moment_from_omega0(fit.omega0_m_s, distance_m, params))
