"""Stochastic ground motion after Boore (2003), for synthetic P and S records.

Reference
---------
Boore, D. M. (2003). Simulation of ground motion using the stochastic method.
*Pure and Applied Geophysics* 160, 635-676.

The acceleration Fourier amplitude spectrum (FAS) of one horizontal component
is (Boore 2003, section 2)::

    A(f) = C M0 (2 pi f)^2 S(f) G(R) exp(-pi f R / (Q(f) beta)) P(f) V(f)

with, in SI units (M0 in N m, rho in kg/m^3, beta in m/s, R and R0 in m)

* ``C = R_thetaphi V F / (4 pi rho beta^3 R0)``: radiation
  coefficient ``R_thetaphi``, partition onto one horizontal component
  ``V = 1/sqrt(2)``, free-surface factor ``F = 2``, reference distance
  ``R0 = 1 km``;
* source shape ``S(f)``: the Atkinson & Silva (2000) two-corner model (default,
  see below) or the Brune (1970) omega-squared source ``S(f) = 1 / (1 + (f/fc)^2)``
  with corner frequency ``fc = 4.906e6 beta (dsigma/M0)^(1/3)`` (Boore
  2003, eq. 4, beta in km/s, dsigma in bar, M0 in dyne cm), i.e. in SI
  ``fc = 0.4906 beta (dsigma/M0)^(1/3)`` (beta in m/s, dsigma in Pa, M0 in N m;
  the factor is 4.906e6 * 1e-3 * (1e-5 / 1e7)^(1/3));
* ``M0`` from Mw by Hanks & Kanamori (1979), ``log10 M0[N m] = 1.5 Mw + 9.05``
  (= ``1.5 (Mw + 10.7)`` in dyne cm, the constant Boore 2003 uses);
* piecewise power-law geometric spreading ``G(R)`` (Boore 2003) and
  ``Q(f) = Q0 f^eta``;
* ``P(f) = exp(-pi kappa0 f)`` (Anderson & Hough 1984);
* ``V(f)``: crustal amplification for generic rock (Boore & Joyner 1997).

Source spectrum (:class:`SourceModel`). The default is the two-corner source of
Atkinson & Silva (2000, BSSA 90(2), 255-274), the model whose companion
parameters (below) form the WNA set; the single-corner Brune source with a
stress parameter is available as :data:`BRUNE_100BAR` (Campbell 2003's WNA
variant, 100 bar). Why the default is two-corner: with the Brune source,
median RotD50 PGV for M7 exceeds BSSA14 by 0.66-1.1 ln units at 50-200 km
(the known intermediate-period over-prediction of single-corner models for
large M that motivated the two-corner model), outside the BSSA14 sigma.

Parameter set (one coherent published set for active shallow crust, western
North America), see :class:`StochasticParams`:

=====================  ==========================  ===============================
quantity               value                       source
=====================  ==========================  ===============================
source                 two-corner fa, fb, eps(M)   Atkinson & Silva (2000)
beta, rho              3.5 km/s, 2.8 g/cm^3        Atkinson & Silva (2000); Boore & Joyner (1997)
Q(f)                   180 f^0.45                  Raoof et al. (1999), as used by Atkinson & Silva (2000)
G(R)                   R^-1 to 40 km, R^-0.5 after Raoof et al. (1999); Atkinson & Silva (2000)
kappa0                 0.04 s                      Atkinson & Silva (2000)
V(f)                   generic rock (Vs30 620 m/s) Boore & Joyner (1997), as tabulated by Campbell (2003)
path duration          0.05 s/km                   Atkinson & Silva (2000)
source duration        0.5 / fa                    choice within [1/fb, 1/fa], see below
R_thetaphi (S)         0.55                        Boore & Boatwright (1984), as in Boore (2003)
pseudo-depth h(M)      log10 h = -0.405 + 0.235 M  Yenier & Atkinson (2015), BSSA 105(4), eq. 5
=====================  ==========================  ===============================

Finite-fault saturation is approximated with an effective distance
``R_eff = sqrt(R^2 + h(M)^2)`` (Yenier & Atkinson 2015, eq. 5); ``R_eff`` is
used for spreading, anelastic attenuation and path duration.

Duration ``T = k/fa + b R_eff`` (Boore 2003: source plus path
duration; b = 0.05 s/km: Atkinson & Silva 2000). For the Brune source
``fa = fc`` and k = 1 (Boore 2003). For the two-corner source the rupture
duration lies between 1/fb and 1/fa; k = 0.5 (the weight SMSIM gives 1/fa for
the Atkinson 1993 two-corner source) is the one tuned choice of this module:
with k = 1 the median M6-7 PGA at 10 km is 0.6-0.65 ln units below BSSA14, with
k = 0.5 every cell of M4-7 x 10-200 km lies within 0.8 sigma (``benchmarks/validate_sim_gmpe.py``).
The Saragoni & Hart (1974) window of Boore (2003) eq. 35-37 has
``epsilon = 0.2``, ``eta = 0.05`` and ``t_eta = 2 T``, so it peaks (value 1) at
``epsilon t_eta`` and falls to ``eta`` at ``t_eta``.

P waves (a documented simplification; Boore 2003 treats S only): the same
framework with the P-wave velocity alpha in ``C`` and in the attenuation term,
radiation coefficient 0.52 (Boore & Boatwright 1984, rms over the focal
sphere), no horizontal partition (the P vector is projected onto Z and the
radial direction with an apparent incidence angle, 20 degrees by default:
near-surface velocity gradients turn rays close to vertical), and corner
frequencies 1.5 times those of S (Madariaga 1976: k_P/k_S = 0.32/0.21). The same
Q(f) and kappa0 are used for P (P therefore loses less energy per km through
its higher velocity); the crustal amplification for P is the S table taken at
``f beta/alpha`` (quarter-wavelength amplification with a constant Vp/Vs:
Joyner et al. 1981). Vertical S is a documented choice: an independent random
realisation scaled by V/H = 2/3 (the Newmark & Hall 1982 engineering rule).

Time series (Boore 2003, section 4): Gaussian white noise -> Saragoni-Hart
window -> FFT -> normalise to unit mean-square amplitude -> multiply by A(f)
-> inverse FFT. With the continuous Fourier transform approximated by
``dt * DFT``, the acceleration is ``irfft(A * Z_norm) / dt``; on average its
Fourier amplitude is then ``A(f)`` (checked by Parseval in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from tianshan.core.errors import InputError
from tianshan.sim.peaks import pga_m_s2, pgv_m_s, rotd50  # noqa: F401  (public re-export)

__all__ = [
    "SourceModel", "StochasticParams", "DEFAULT", "BRUNE_100BAR", "source_corners_hz",
    "seismic_moment_nm", "corner_frequency_hz", "fourier_amplitude",
    "duration_s", "effective_distance_m", "pseudo_depth_m", "saragoni_hart_window",
    "crustal_amplification", "geometric_spreading", "simulate_window", "simulate_components",
    "pga_m_s2", "pgv_m_s", "rotd50",
]

#: Boore & Joyner (1997) generic-rock (Vs30 = 620 m/s) crustal amplification, Table 3,
#: as tabulated for WNA by Campbell (2003): frequency (Hz), amplification. Log-log
#: interpolation; held constant outside the table.
BJ97_GENERIC_ROCK_FREQ_HZ: tuple[float, ...] = (
    0.01, 0.09, 0.16, 0.51, 0.84, 1.25, 2.26, 3.17, 6.05, 16.6, 61.2)
BJ97_GENERIC_ROCK_AMP: tuple[float, ...] = (
    1.00, 1.10, 1.18, 1.42, 1.58, 1.74, 2.06, 2.25, 2.58, 3.13, 4.00)

#: Stress parameter of the Brune source (Pa): 100 bar, Campbell's (2003) WNA value.
DEFAULT_STRESS_PA = 100.0e5


class SourceModel(Enum):
    """Shape of the source spectrum (see :func:`source_corners_hz`)."""

    #: Single-corner omega-squared (Brune 1970), corner from the stress parameter.
    BRUNE = "brune"
    #: Two-corner model of Atkinson & Silva (2000) for California.
    ATKINSON_SILVA_2000 = "atkinson_silva_2000"


@dataclass(frozen=True)
class StochasticParams:
    """All constants of the stochastic model, SI units (sources in the module docstring)."""

    #: Source spectrum model.
    source: SourceModel = SourceModel.ATKINSON_SILVA_2000
    #: Brune stress parameter (Pa), used by SourceModel.BRUNE only; 1 bar = 1e5 Pa.
    stress_pa: float = DEFAULT_STRESS_PA
    #: Source duration = factor / fa (fa = fc for Brune, where Boore 2003 uses 1.0).
    source_duration_factor: float = 0.5
    #: Shear-wave velocity near the source (m/s).
    shear_velocity_m_s: float = 3500.0
    #: P-wave velocity near the source (m/s); Vp/Vs = 1.71 (Poisson solid ~1.73).
    p_velocity_m_s: float = 6000.0
    #: Density near the source (kg/m^3).
    density_kg_m3: float = 2800.0
    #: Reference distance R0 of C (m).
    reference_distance_m: float = 1000.0
    #: Average radiation coefficient for S (Boore & Boatwright 1984; Boore 2003).
    radiation_s: float = 0.55
    #: Average (rms over the focal sphere) radiation coefficient for P (Boore & Boatwright 1984).
    radiation_p: float = 0.52
    #: Free-surface amplification F.
    free_surface: float = 2.0
    #: Partition of S onto one horizontal component, V = 1/sqrt(2).
    partition_s: float = 1.0 / math.sqrt(2.0)
    #: Q(f) = q0 f^q_eta (Raoof et al. 1999).
    q0: float = 180.0
    q_eta: float = 0.45
    #: High-frequency diminution kappa0 (s) (Anderson & Hough 1984; Boore & Joyner 1997).
    kappa0_s: float = 0.04
    #: Geometric spreading hinge distances (m) and exponents (one more exponent than hinges):
    #: G = (R0/R)^n0 up to the first hinge, then continuous with slope -n1, ...
    spreading_hinges_m: tuple[float, ...] = (40.0e3,)
    spreading_exponents: tuple[float, ...] = (1.0, 0.5)
    #: Path duration coefficient b (s/m): 0.05 s/km (Atkinson & Silva 2000).
    path_duration_s_per_m: float = 0.05e-3
    #: Saragoni-Hart window shape (Boore 2003, eq. 35-37): epsilon, eta, t_eta / T.
    window_epsilon: float = 0.2
    window_eta: float = 0.05
    window_t_eta_over_duration: float = 2.0
    #: Corner frequency ratio fc_P / fc_S (Madariaga 1976).
    fc_p_over_fc_s: float = 1.5
    #: Apparent incidence angle of P at the free surface (deg), for Z / radial projection.
    p_incidence_deg: float = 20.0
    #: Vertical / horizontal amplitude ratio of the S window (Newmark & Hall 1982 rule).
    vh_ratio_s: float = 2.0 / 3.0
    #: Yenier & Atkinson (2015) eq. 5: log10 h[km] = c0 + c1 M.
    pseudo_depth_c0: float = -0.405
    pseudo_depth_c1: float = 0.235
    #: Crustal amplification table (Hz, factor).
    amplification_freq_hz: tuple[float, ...] = BJ97_GENERIC_ROCK_FREQ_HZ
    amplification: tuple[float, ...] = BJ97_GENERIC_ROCK_AMP

    def __post_init__(self) -> None:
        if not isinstance(self.source, SourceModel):
            raise InputError(f"must be a SourceModel, got {self.source!r}", field="source")
        positive = ("stress_pa", "source_duration_factor", "shear_velocity_m_s", "p_velocity_m_s",
                    "density_kg_m3",
                    "reference_distance_m", "radiation_s", "radiation_p", "free_surface",
                    "partition_s", "q0", "fc_p_over_fc_s")
        for name in positive:
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"must be a positive number, got {value!r}", field=name)
        if not (self.kappa0_s >= 0 and self.path_duration_s_per_m >= 0):
            raise InputError("kappa0_s and path_duration_s_per_m must be >= 0", field="kappa0_s")
        if len(self.spreading_exponents) != len(self.spreading_hinges_m) + 1:
            raise InputError("needs one more exponent than hinge distances",
                             field="spreading_exponents")
        if list(self.spreading_hinges_m) != sorted(self.spreading_hinges_m):
            raise InputError("hinge distances must increase", field="spreading_hinges_m")
        if not (0 < self.window_epsilon < 1 and 0 < self.window_eta < 1):
            raise InputError("epsilon and eta must lie in (0, 1)", field="window_epsilon")
        if len(self.amplification_freq_hz) != len(self.amplification) or \
                len(self.amplification) < 2:
            raise InputError("amplification table columns differ in length", field="amplification")


DEFAULT = StochasticParams()
#: Single-corner Brune variant: Campbell's (2003) WNA set, 100 bar, source duration 1/fc.
BRUNE_100BAR = StochasticParams(source=SourceModel.BRUNE, stress_pa=100.0e5,
                                source_duration_factor=1.0)

_WAVES = ("P", "S")


def _check_wave(wave: str) -> str:
    w = str(wave).upper()
    if w not in _WAVES:
        raise InputError(f"wave must be 'P' or 'S', got {wave!r}", field="wave")
    return w


def _check_positive(value: float, name: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"must be a positive finite number, got {value!r}", field=name)
    return value


def seismic_moment_nm(mw: float) -> float:
    """Seismic moment (N m) of moment magnitude ``mw``.

    Hanks & Kanamori (1979): ``log10 M0[dyne cm] = 1.5 Mw + 16.05``, i.e.
    ``log10 M0[N m] = 1.5 Mw + 9.05`` (the 10.7 constant of Boore 2003).
    """
    mw = float(mw)
    if not math.isfinite(mw):
        raise InputError(f"must be finite, got {mw!r}", field="mw")
    return 10.0 ** (1.5 * mw + 9.05)


def corner_frequency_hz(mw: float, stress_pa: float, beta_m_s: float) -> float:
    """Brune (1970) corner frequency (Hz), Boore (2003) eq. 4 in SI units.

    ``fc = 4.906e6 beta[km/s] (dsigma[bar] / M0[dyne cm])^(1/3)`` equals
    ``0.4906 beta[m/s] (dsigma[Pa] / M0[N m])^(1/3)``.
    """
    stress_pa = _check_positive(stress_pa, "stress_pa")
    beta_m_s = _check_positive(beta_m_s, "beta_m_s")
    return 0.4906 * beta_m_s * (stress_pa / seismic_moment_nm(mw)) ** (1.0 / 3.0)


def pseudo_depth_m(mw: float, params: StochasticParams = DEFAULT) -> float:
    """Finite-fault pseudo-depth h (m): Yenier & Atkinson (2015) eq. 5,
    ``log10 h[km] = -0.405 + 0.235 M``."""
    return 1000.0 * 10.0 ** (params.pseudo_depth_c0 + params.pseudo_depth_c1 * float(mw))


def effective_distance_m(mw: float, distance_m: float, params: StochasticParams = DEFAULT) -> float:
    """Effective distance ``sqrt(R^2 + h(M)^2)`` (m) with h of Yenier & Atkinson (2015) eq. 5."""
    distance_m = float(distance_m)
    if not (math.isfinite(distance_m) and distance_m >= 0):
        raise InputError(f"must be >= 0, got {distance_m!r}", field="distance_m")
    return math.hypot(distance_m, pseudo_depth_m(mw, params))


def geometric_spreading(distance_m: float, params: StochasticParams = DEFAULT) -> float:
    """Piecewise power-law geometric spreading G(R) (Boore 2003), continuous at the hinges.

    ``G = (R0/R)^n0`` for ``R <= R1``, ``G(R1) (R1/R)^n1`` for ``R1 < R <= R2``, ...
    Distances below R0 are clamped to R0 (G <= 1).
    """
    r = max(float(distance_m), params.reference_distance_m)
    g = 1.0
    start = params.reference_distance_m
    hinges = list(params.spreading_hinges_m) + [math.inf]
    for hinge, exponent in zip(hinges, params.spreading_exponents):
        end = min(r, hinge)
        if end > start:
            g *= (start / end) ** exponent
            start = end
        if r <= hinge:
            break
    return g


def crustal_amplification(freq_hz: np.ndarray, params: StochasticParams = DEFAULT) -> np.ndarray:
    """Crustal amplification V(f) from the params table, log-log interpolated, constant outside."""
    f = np.asarray(freq_hz, dtype=float)
    lf = np.log(np.clip(f, 1e-12, None))
    return np.exp(np.interp(lf, np.log(params.amplification_freq_hz), np.log(params.amplification)))


def source_corners_hz(mw: float, wave: str = "S",
                      params: StochasticParams = DEFAULT) -> tuple[float, float, float]:
    """Source-spectrum corners ``(fa, fb, epsilon)`` (Hz, Hz, -) of the wave.

    Displacement source shape ``(1 - eps)/(1 + (f/fa)^2) + eps/(1 + (f/fb)^2)``
    (the two-corner form in Boore 2003). :attr:`SourceModel.BRUNE`: ``fa = fb = fc`` (eq. 4, from
    ``params.stress_pa``), which is the single-corner omega-squared model.
    :attr:`SourceModel.ATKINSON_SILVA_2000`: ``log10 fa = 2.181 - 0.496 M``,
    ``log10 fb = 2.41 - 0.408 M``, ``log10 eps = 0.605 - 0.255 M`` (Atkinson & Silva
    2000; eps clipped to [0, 1]). For P both corners are multiplied by
    ``params.fc_p_over_fc_s`` (Madariaga 1976).
    """
    wave = _check_wave(wave)
    mw = float(mw)
    if params.source is SourceModel.BRUNE:
        fc = corner_frequency_hz(mw, params.stress_pa, params.shear_velocity_m_s)
        fa, fb, eps = fc, fc, 0.0
    else:
        fa = 10.0 ** (2.181 - 0.496 * mw)
        fb = 10.0 ** (2.41 - 0.408 * mw)
        eps = min(1.0, max(0.0, 10.0 ** (0.605 - 0.255 * mw)))
    if wave == "P":
        fa, fb = fa * params.fc_p_over_fc_s, fb * params.fc_p_over_fc_s
    return fa, fb, eps


def _constant_c(wave: str, params: StochasticParams) -> tuple[float, float]:
    """(velocity m/s, C) of a wave; ``C = R V F / (4 pi rho v^3 R0)`` (s^3 kg^-1 m^-1)."""
    if wave == "S":
        v = params.shear_velocity_m_s
        num = params.radiation_s * params.partition_s * params.free_surface
    else:
        v = params.p_velocity_m_s
        num = params.radiation_p * params.free_surface
    return v, num / (4.0 * math.pi * params.density_kg_m3 * v ** 3 * params.reference_distance_m)


def _duration_reff(mw: float, r_eff_m: float, wave: str, params: StochasticParams) -> float:
    fa = source_corners_hz(mw, wave, params)[0]
    return params.source_duration_factor / fa + params.path_duration_s_per_m * r_eff_m


def _fas_reff(freq_hz: np.ndarray, mw: float, r_eff_m: float, wave: str,
              params: StochasticParams) -> np.ndarray:
    """Acceleration FAS ((m/s^2) s) at effective distance ``r_eff_m`` (kernel, no checks)."""
    f = np.asarray(freq_hz, dtype=float)
    v, c = _constant_c(wave, params)
    fa, fb, eps = source_corners_hz(mw, wave, params)
    shape = (1.0 - eps) / (1.0 + (f / fa) ** 2) + eps / (1.0 + (f / fb) ** 2)
    source = c * seismic_moment_nm(mw) * (2.0 * np.pi * f) ** 2 * shape
    q = params.q0 * np.power(np.maximum(f, 1e-6), params.q_eta)
    path = geometric_spreading(r_eff_m, params) * np.exp(-np.pi * f * r_eff_m / (q * v))
    f_amp = f if wave == "S" else f * (params.shear_velocity_m_s / params.p_velocity_m_s)
    site = crustal_amplification(f_amp, params) * np.exp(-np.pi * params.kappa0_s * f)
    return source * path * site


def fourier_amplitude(freq_hz: np.ndarray, mw: float, distance_m: float, wave: str = "S",
                      params: StochasticParams = DEFAULT) -> np.ndarray:
    """Acceleration Fourier amplitude spectrum ((m/s^2) s) of one component (Boore 2003, section 2).

    ``distance_m`` is the hypocentral distance; the spectrum is evaluated at the
    Yenier & Atkinson (2015) effective distance. For ``wave="S"`` the spectrum is
    that of one (random) horizontal component; for ``wave="P"`` it is the
    amplitude of the whole P vector at the free surface (see module docstring).
    """
    wave = _check_wave(wave)
    f = np.asarray(freq_hz, dtype=float)
    if np.any(f < 0) or not np.all(np.isfinite(f)):
        raise InputError("frequencies must be finite and >= 0", field="freq_hz")
    return _fas_reff(f, mw, effective_distance_m(mw, distance_m, params), wave, params)


def duration_s(mw: float, distance_m: float, params: StochasticParams = DEFAULT,
               wave: str = "S") -> float:
    """Ground-motion duration ``T = k/fa + b R_eff`` (s) of the wave.

    Source duration k/fa (Boore 2003; k = ``params.source_duration_factor``)
    with the lower corner fa of the wave (P corners are 1.5 times those of S); path
    duration b = 0.05 s/km (Atkinson & Silva 2000) times the effective distance.
    """
    wave = _check_wave(wave)
    return _duration_reff(mw, effective_distance_m(mw, distance_m, params), wave, params)


def _window_coefficients(params: StochasticParams) -> tuple[float, float, float]:
    """(a, b, c) of the Saragoni-Hart window, Boore (2003) eq. 35-37."""
    eps, eta = params.window_epsilon, params.window_eta
    b = -eps * math.log(eta) / (1.0 + eps * (math.log(eps) - 1.0))
    c = b / eps
    a = (math.e / eps) ** b
    return a, b, c


def saragoni_hart_window(t_s: np.ndarray, duration: float,
                         params: StochasticParams = DEFAULT) -> np.ndarray:
    """Saragoni & Hart (1974) window ``w(t) = a (t/t_eta)^b exp(-c t/t_eta)`` (Boore 2003, eq. 35-37).

    ``t_eta = 2 duration``; the window peaks with value 1 at ``epsilon t_eta`` and
    equals ``eta`` at ``t_eta``; zero for ``t < 0``.
    """
    a, b, c = _window_coefficients(params)
    t_eta = params.window_t_eta_over_duration * _check_positive(duration, "duration")
    x = np.asarray(t_s, dtype=float) / t_eta
    out = np.zeros_like(x)
    pos = x > 0
    out[pos] = a * np.power(x[pos], b) * np.exp(-c * x[pos])
    return out


def simulate_window(mw: float, r_eff_m: float, wave: str, start_s: float, n_samples: int,
                    sample_rate_hz: float, rng: np.random.Generator, n_series: int = 1,
                    params: StochasticParams = DEFAULT) -> np.ndarray:
    """``n_series`` independent stochastic accelerograms (m/s^2) of one wave window.

    Boore (2003) section 4: windowed Gaussian noise, normalised to unit mean-square
    spectral amplitude, shaped by :func:`fourier_amplitude` (at effective distance
    ``r_eff_m``), inverse FFT. The window starts at ``start_s`` (seconds after
    sample 0, fractional samples honoured); nothing is placed before it (the tiny
    acausal spread of the zero-phase shaping is discarded). Returns shape
    ``(n_series, n_samples)``.
    """
    from scipy import fft as sfft

    wave = _check_wave(wave)
    out = np.zeros((n_series, n_samples))
    dt = 1.0 / sample_rate_hz
    duration = _duration_reff(mw, r_eff_m, wave, params)
    t_eta = params.window_t_eta_over_duration * duration
    first = max(0, math.ceil(start_s * sample_rate_hz - 1e-9))
    if first >= n_samples:
        return out
    n_win = max(8, int(math.ceil(2.0 * t_eta * sample_rate_hz)))   # w(2 t_eta) ~ 2e-4
    n_keep = min(n_win + n_win // 2, n_samples - first)
    nfft = sfft.next_fast_len(2 * n_win, real=True)
    t = (first + np.arange(n_win)) * dt - start_s
    window = saragoni_hart_window(t, duration, params)
    noise = rng.standard_normal((n_series, n_win)) * window
    spec = sfft.rfft(noise, n=nfft, axis=-1)
    mean_sq = np.mean(np.abs(spec) ** 2, axis=-1, keepdims=True)
    spec /= np.sqrt(np.where(mean_sq > 0, mean_sq, 1.0))
    freq = sfft.rfftfreq(nfft, dt)
    spec *= _fas_reff(freq, mw, r_eff_m, wave, params)
    acc = sfft.irfft(spec, n=nfft, axis=-1)[:, :n_keep] / dt
    out[:, first:first + n_keep] = acc
    return out


def _unit_vectors_ne(back_azimuth_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """(radial, transverse) unit vectors as (north, east) for a back azimuth.

    Radial points from the source to the station (azimuth = back azimuth + 180),
    transverse is radial turned 90 degrees clockwise, as in ObsPy's
    ``rotate_ne_rt`` (r = -n cos(ba) - e sin(ba), t = n sin(ba) - e cos(ba)).
    """
    ba = math.radians(back_azimuth_deg)
    radial = np.array([-math.cos(ba), -math.sin(ba)])
    transverse = np.array([math.sin(ba), -math.cos(ba)])
    return radial, transverse


def simulate_components(mw: float, hypocentral_distance_m: float, p_delay_s: float,
                        s_delay_s: float, n_samples: int, sample_rate_hz: float,
                        rng: np.random.Generator, params: StochasticParams = DEFAULT,
                        back_azimuth_deg: float | None = None) -> np.ndarray:
    """Three-component ground ACCELERATION (m/s^2), shape ``(3, n_samples)`` ordered Z, N, E.

    The P window starts ``p_delay_s`` and the S window ``s_delay_s`` seconds after
    sample 0, each with its own Saragoni-Hart envelope, duration and spectrum
    (module docstring). S: radial and transverse each carry an independent
    realisation with the one-horizontal-component spectrum; Z carries an
    independent realisation scaled by ``params.vh_ratio_s``. P: one realisation
    of the P-vector spectrum, projected coherently onto Z (cos i) and radial
    (sin i), so that P particle motion is linear along the back azimuth. Radial
    and transverse are rotated to N, E with ``back_azimuth_deg`` (degrees clockwise
    from north, station to source); when it is None a back azimuth is drawn
    uniformly from ``rng``.
    """
    mw = float(mw)
    if not (math.isfinite(mw) and -2.0 <= mw <= 9.5):
        raise InputError(f"must lie in [-2, 9.5], got {mw!r}", field="mw")
    sample_rate_hz = _check_positive(sample_rate_hz, "sample_rate_hz")
    n_samples = int(n_samples)
    if n_samples < 1:
        raise InputError(f"must be >= 1, got {n_samples}", field="n_samples")
    for name, value in (("p_delay_s", p_delay_s), ("s_delay_s", s_delay_s)):
        if not math.isfinite(float(value)):
            raise InputError(f"must be finite, got {value!r}", field=name)
    r_eff = effective_distance_m(mw, hypocentral_distance_m, params)
    if back_azimuth_deg is None:
        back_azimuth_deg = float(rng.uniform(0.0, 360.0))
    radial, transverse = _unit_vectors_ne(float(back_azimuth_deg))

    s = simulate_window(mw, r_eff, "S", float(s_delay_s), n_samples, sample_rate_hz, rng,
                        n_series=3, params=params)
    p = simulate_window(mw, r_eff, "P", float(p_delay_s), n_samples, sample_rate_hz, rng,
                        n_series=1, params=params)[0]
    inc = math.radians(params.p_incidence_deg)
    p_z, p_r = math.cos(inc) * p, math.sin(inc) * p
    out = np.empty((3, n_samples))
    out[0] = params.vh_ratio_s * s[2] + p_z
    horiz_r = s[0] + p_r
    out[1] = radial[0] * horiz_r + transverse[0] * s[1]
    out[2] = radial[1] * horiz_r + transverse[1] * s[1]
    return out
