"""Response removal and simulated instruments for amplitude magnitudes.

Amplitude magnitudes are defined on the record of a *reference* instrument
(Wood-Anderson for Richter's ML, the DD-1 short-period seismograph for the
Chinese ML of GB 17740-2017, a velocity-flat broadband for Ms_BB). A modern
record is first corrected for its own response with the inventory (ObsPy
``Trace.remove_response``, output ground velocity), then passed through the
reference instrument's poles and zeros (ObsPy ``Trace.simulate``).

Wood-Anderson torsion seismometer (:data:`WOOD_ANDERSON`)
    a damped pendulum with natural period ``T0 = 0.8 s``, damping ``h = 0.7``
    and static magnification ``2080`` (Uhrhammer & Collins 1990, BSSA 80(3),
    702-716, who showed the nominal 2800 of Richter 1935 to be too high).
    Displacement response (pendulum equation)::

        H_d(s) = V s^2 / (s^2 + 2 h w0 s + w0^2),   w0 = 2 pi / T0

    so for *velocity* input one zero at the origin is dropped
    (poles ``-h w0 +- i w0 sqrt(1 - h^2)`` = ``-5.4978 +- 5.6089 i`` rad/s).
    :func:`pendulum_displacement_gain` is the analytic ``|H_d(i w)| / V`` the
    tests check the simulation against.

Ground-motion convention: the simulated record is divided by the static
magnification, so an amplitude read from it is "ground displacement seen
through the instrument" in metres (what GB 17740 tabulates in micrometres and
what SeisComP stores for ML). Multiply by :attr:`Instrument.magnification`
for the record amplitude on the paper.

The DD-1 short-period seismograph the Chinese standard names (GB 17740-2017,
3.1 and Appendix B.1.3) could not be used: its poles and zeros in Appendix B
could not be retrieved from a source this project can cite. Any other
instrument can be passed as an :class:`Instrument` (poles, zeros, static
magnification) through the magnitude configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tianshan.core.errors import InputError


@dataclass(frozen=True)
class Instrument:
    """A reference instrument: poles/zeros (rad/s) for **velocity** input, static magnification.

    ``poles``/``zeros`` describe the response to ground velocity normalised so
    that, with ``normalization`` = 1, the high-frequency limit of the
    displacement response is 1 (the pendulum form above). ``magnification`` is
    the static (high-frequency) displacement magnification of the paper record.
    """

    name: str
    poles: tuple[complex, ...]
    zeros: tuple[complex, ...]
    magnification: float
    #: constant A0 multiplying the pole/zero ratio (1 for the pendulum form; 532.14 for WWSSN-SP).
    normalization: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.magnification) and self.magnification > 0):
            raise InputError(f"must be > 0, got {self.magnification!r}", field="magnification")

    def paz(self) -> dict:
        """ObsPy ``paz`` dict (gain 1, sensitivity 1): the ground-displacement convention."""
        return {"poles": list(self.poles), "zeros": list(self.zeros), "gain": float(self.normalization),
                "sensitivity": 1.0}


def pendulum_instrument(name: str, period_s: float, damping: float, magnification: float) -> Instrument:
    """An :class:`Instrument` for a damped pendulum (natural period s, fraction of critical damping)."""
    if not (period_s > 0 and 0 < damping < 1):
        raise InputError(f"need period > 0 and 0 < damping < 1, got {period_s!r}, {damping!r}",
                         field="instrument")
    w0 = 2.0 * math.pi / period_s
    re, im = -damping * w0, w0 * math.sqrt(1.0 - damping ** 2)
    return Instrument(name, (complex(re, im), complex(re, -im)), (0j,), float(magnification))


#: Wood-Anderson after Uhrhammer & Collins (1990): T0 0.8 s, h 0.7, magnification 2080.
WOOD_ANDERSON = pendulum_instrument("wood_anderson", 0.8, 0.7, 2080.0)

#: WWSSN short-period seismograph of the IASPEI (2013) mb standard (Summary of Magnitude Working
#: Group recommendations, table of standard responses; Bormann & Dewey 2014, NMSOP-2 IS 3.3):
#: displacement response ``A0 s^3 / prod(s - p)`` with poles -3.725 +- 6.220i, -5.612, -13.24,
#: -21.08 rad/s and A0 = 532.14, which normalises |H| to 1 at 1 Hz (checked in the tests). For
#: velocity input one zero at the origin is dropped; magnification 1 (ground-displacement units).
WWSSN_SP = Instrument("wwssn_sp", (complex(-3.725, 6.220), complex(-3.725, -6.220), complex(-5.612, 0.0),
                                   complex(-13.24, 0.0), complex(-21.08, 0.0)),
                      (0j, 0j), 1.0, normalization=532.14)


def pendulum_displacement_gain(freq_hz, period_s: float, damping: float) -> np.ndarray:
    """Analytic ``|H_d(f)|`` of a damped pendulum, normalised to 1 at high frequency.

    ``w^2 / sqrt((w0^2 - w^2)^2 + (2 h w0 w)^2)`` (e.g. Aki & Richards 2002, sec. 12.1).
    """
    w = 2.0 * np.pi * np.asarray(freq_hz, dtype=float)
    w0 = 2.0 * np.pi / period_s
    return w ** 2 / np.sqrt((w0 ** 2 - w ** 2) ** 2 + (2.0 * damping * w0 * w) ** 2)


def to_velocity(trace, inventory, pre_filt: tuple[float, float, float, float] | None = None):
    """A copy of ``trace`` (counts) corrected to ground velocity (m/s) with ``inventory``.

    Acceleration sensors are integrated by ObsPy's deconvolution in the frequency
    domain (output ``"VEL"``). ``pre_filt`` defaults to a cosine taper that passes
    0.02 Hz to 0.4 x Nyquist (corners 0.01 Hz and 0.45 x Nyquist). Raises
    ``ValueError`` (from ObsPy) when the inventory has no response for the trace.
    """
    tr = trace.copy()
    tr.data = tr.data.astype(np.float64)
    nyq = 0.5 * tr.stats.sampling_rate
    if pre_filt is None:
        pre_filt = (0.01, 0.02, 0.4 * nyq, 0.45 * nyq)
    tr.detrend("demean")
    tr.detrend("linear")
    tr.remove_response(inventory=inventory, output="VEL", pre_filt=pre_filt, water_level=None,
                       taper=True, taper_fraction=0.05)
    return tr


def simulate(velocity_trace, instrument: Instrument = WOOD_ANDERSON):
    """Ground velocity (m/s) -> the instrument's record divided by its magnification (m).

    ObsPy ``Trace.simulate`` with the instrument's poles and zeros (velocity input,
    one zero fewer than the displacement response), unit gain and sensitivity.
    ObsPy's PITSA-compatible end-point detrend of the *output* is switched off
    (``pitsasim=False``): it tilts a record that does not start and end at rest.
    """
    tr = velocity_trace.copy()
    tr.simulate(paz_remove=None, paz_simulate=instrument.paz(), remove_sensitivity=False,
                simulate_sensitivity=False, taper=False, pitsasim=False, sacsim=False)
    return tr
