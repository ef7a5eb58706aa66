"""Nominal instrument responses (ObsPy ``Response``) and ground motion -> counts.

Two nominal sensor + digitiser chains, written as StationXML-ready ObsPy
:class:`~obspy.core.inventory.response.Response` objects (stage 1 poles and
zeros, stage 2 digitiser gain with its sample rate):

* **Broadband velocity seismometer**: Streckeisen STS-2 (generation 1), 120 s
  natural period. Poles and zeros (rad/s) and normalisation factor
  A0 = 6.0077e7 as in the IRIS Nominal Response Library entry and the
  Streckeisen STS-2 manual (also ObsPy's ``obspy.signal`` tutorial):
  zeros 0, 0; poles -0.037004 +/- 0.037016i, -251.33, -131.04 +/- 467.29i;
  generator constant 1500 V/(m/s). That A0 normalises the poles and zeros at
  0.02 Hz (50 s, in the flat band; checked by :func:`paz_normalization`), so
  the stage gain is given there; the overall sensitivity is reported at 1 Hz
  as ObsPy computes it (1.5 % above 1500 V/(m/s) x digitiser gain, the
  STS-2's slight rise towards its high-frequency poles).
* **Strong-motion accelerometer**: Kinemetrics EpiSensor FBA ES-T set to
  +/-2 g full scale with +/-10 V differential output (datasheet: user
  selectable +/-0.25 to 4 g, +/-2.5 V single-ended or +/-10 V differential,
  bandwidth DC-200 Hz), i.e. 5 V/g = 0.50986 V/(m/s^2); nominal poles
  (NRL "EpiSensor ES-T") -981 +/- 1009i, -3290 +/- 1263i rad/s, no zeros,
  A0 = 2.45956e13 (flat to acceleration below ~100 Hz). The sensor saturates
  at its full scale (+/-10 V).
* **Digitiser**: 24-bit Quanterra Q330-class, 40 V peak-to-peak input,
  2^23 / 20 V = 419,430.4 counts/V; its output saturates at
  [-2^23, 2^23 - 1] counts. No FIR stages (the synthetic data are generated at
  the output sample rate, so there is no decimation to describe).

Applying a response (:func:`ground_to_counts`) multiplies the rfft of ground
acceleration by the complex response to *acceleration* that ObsPy computes
through evalresp (``Response.get_evalresp_response_for_frequencies(...,
output="ACC")``). That is exactly the factor ``Trace.remove_response``
divides by, so ObsPy's deconvolution returns the ground motion in the
passband (verified in ``tests/sim/test_response.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

import numpy as np

from tianshan.core.errors import DomainError
from tianshan.core.station import InstrumentKind, StationGain

#: Standard gravity (m/s^2), CGPM 1901.
G_M_S2 = 9.80665
#: 24-bit digitiser output range, counts.
COUNTS_MAX = 2**23 - 1
COUNTS_MIN = -(2**23)
#: Q330-class digitiser gain, counts/V (2^23 counts over a 20 V half range).
DIGITISER_COUNTS_PER_V = 2**23 / 20.0
#: Frequency at which overall sensitivities are reported, Hz.
SENSITIVITY_FREQUENCY_HZ = 1.0


class SensorModel(str, Enum):
    """The nominal sensors this module knows."""

    STS2 = "sts2"          # broadband velocity
    EPISENSOR_2G = "episensor_2g"  # strong-motion accelerometer


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """A nominal sensor: poles/zeros (rad/s), A0 at ``normalization_frequency_hz``, gain, full scale."""

    name: str
    description: str
    input_units: str           # "M/S" or "M/S**2"
    zeros: tuple[complex, ...]
    poles: tuple[complex, ...]
    normalization_factor: float
    normalization_frequency_hz: float
    gain_v_per_unit: float     # V per input unit
    full_scale_v: float        # sensor output saturation, V (0 = none)
    reference: str


STS2 = SensorSpec(
    name="STS-2",
    description="Streckeisen STS-2 broadband seismometer, 120 s, 1500 V/(m/s) (nominal)",
    input_units="M/S",
    zeros=(0j, 0j),
    poles=(-0.037004 + 0.037016j, -0.037004 - 0.037016j, -251.33 + 0j,
           -131.04 - 467.29j, -131.04 + 467.29j),
    normalization_factor=6.0077e7,
    normalization_frequency_hz=0.02,
    gain_v_per_unit=1500.0,
    full_scale_v=20.0,  # +/-20 V differential output
    reference="IRIS NRL Streckeisen STS-2 gen. 1; Streckeisen STS-2 manual",
)

EPISENSOR_2G = SensorSpec(
    name="EpiSensor ES-T 2g",
    description="Kinemetrics EpiSensor FBA ES-T, +/-2 g full scale, 10 V differential (nominal)",
    input_units="M/S**2",
    zeros=(),
    poles=(-981.0 + 1009.0j, -981.0 - 1009.0j, -3290.0 + 1263.0j, -3290.0 - 1263.0j),
    normalization_factor=2.45956e13,
    normalization_frequency_hz=1.0,
    gain_v_per_unit=10.0 / (2.0 * G_M_S2),  # 10 V at 2 g
    full_scale_v=10.0,
    reference="IRIS NRL Kinemetrics EpiSensor ES-T; Kinemetrics EpiSensor datasheet",
)

SENSORS: dict[SensorModel, SensorSpec] = {SensorModel.STS2: STS2, SensorModel.EPISENSOR_2G: EPISENSOR_2G}


def sensor_for_kind(kind: InstrumentKind) -> SensorSpec:
    """The nominal sensor used for a channel kind (velocity sensors -> STS-2, accelerometers -> EpiSensor)."""
    kind = InstrumentKind(kind)
    if kind in (InstrumentKind.BROADBAND, InstrumentKind.SHORT_PERIOD):
        return STS2
    return EPISENSOR_2G


def paz_normalization(poles, zeros, frequency_hz: float) -> float:
    """A0 such that ``|A0 prod(s - z) / prod(s - p)| = 1`` at ``s = 2 pi i f`` (SEED manual, ch. 5 blockette 53)."""
    s = 2j * np.pi * float(frequency_hz)
    h = np.prod([s - z for z in zeros]) / np.prod([s - p for p in poles])
    return float(1.0 / abs(h))


def nominal_response(sensor: SensorSpec | SensorModel | InstrumentKind, sample_rate_hz: float,
                     digitiser_counts_per_v: float = DIGITISER_COUNTS_PER_V):
    """The full ObsPy ``Response`` (sensor PAZ stage + digitiser stage) of a nominal channel.

    Stage gains are given at the sensor's normalisation frequency; the overall
    sensitivity is computed by ObsPy at :data:`SENSITIVITY_FREQUENCY_HZ` (1 Hz).
    ``sensor`` may be a :class:`SensorSpec`, a :class:`SensorModel` or an
    :class:`~tianshan.core.station.InstrumentKind`.
    """
    from obspy.core.inventory.response import (CoefficientsTypeResponseStage, InstrumentSensitivity,
                                               PolesZerosResponseStage, Response)

    spec = _spec(sensor)
    fs = float(sample_rate_hz)
    if not np.isfinite(fs) or fs <= 0:
        raise DomainError(f"response: sample_rate_hz must be > 0, got {sample_rate_hz!r}")
    f0 = spec.normalization_frequency_hz
    stage1 = PolesZerosResponseStage(
        stage_sequence_number=1, stage_gain=spec.gain_v_per_unit, stage_gain_frequency=f0,
        input_units=spec.input_units, output_units="V",
        pz_transfer_function_type="LAPLACE (RADIANS/SECOND)",
        normalization_frequency=f0, normalization_factor=spec.normalization_factor,
        zeros=list(spec.zeros), poles=list(spec.poles),
        description=spec.description, name=spec.name)
    stage2 = CoefficientsTypeResponseStage(
        stage_sequence_number=2, stage_gain=float(digitiser_counts_per_v), stage_gain_frequency=f0,
        input_units="V", output_units="COUNTS", cf_transfer_function_type="DIGITAL",
        numerator=[1.0], denominator=[],
        decimation_input_sample_rate=fs, decimation_factor=1, decimation_offset=0,
        decimation_delay=0.0, decimation_correction=0.0, name="24-bit digitiser")
    sens = InstrumentSensitivity(value=spec.gain_v_per_unit * digitiser_counts_per_v,
                                 frequency=SENSITIVITY_FREQUENCY_HZ,
                                 input_units=spec.input_units, output_units="COUNTS")
    resp = Response(instrument_sensitivity=sens, response_stages=[stage1, stage2])
    resp.recalculate_overall_sensitivity(SENSITIVITY_FREQUENCY_HZ)
    return resp


def nominal_gain(kind: InstrumentKind, sample_rate_hz: float = 100.0,
                 digitiser_counts_per_v: float = DIGITISER_COUNTS_PER_V) -> StationGain:
    """The overall sensitivity (ObsPy's, at 1 Hz) of the nominal chain for ``kind`` as a :class:`StationGain`."""
    spec = sensor_for_kind(kind)
    sens = nominal_response(spec, sample_rate_hz, digitiser_counts_per_v).instrument_sensitivity
    return StationGain(value=float(sens.value), frequency_hz=float(sens.frequency),
                       input_units=spec.input_units, response_ref=f"nominal:{spec.name}")


def acceleration_response(response, n_fft: int, sample_rate_hz: float) -> np.ndarray:
    """Complex response (counts per m/s^2) at the rfft frequencies of an ``n_fft``-sample record.

    Computed by ObsPy/evalresp with ``output="ACC"``; the DC value is set to 0
    for velocity sensors (which have no response to a constant acceleration).
    """
    freqs = np.fft.rfftfreq(int(n_fft), 1.0 / float(sample_rate_hz))
    h = response.get_evalresp_response_for_frequencies(freqs, output="ACC")
    h = np.asarray(h, dtype=np.complex128)
    if not np.isfinite(h[0]) or response.instrument_sensitivity.input_units.upper() == "M/S":
        h[0] = 0.0
    return h


@lru_cache(maxsize=16)
def _cached_acc_response(sensor_name: str, n_fft: int, sample_rate_hz: float,
                         digitiser_counts_per_v: float) -> np.ndarray:
    spec = next(s for s in SENSORS.values() if s.name == sensor_name)
    resp = nominal_response(spec, sample_rate_hz, digitiser_counts_per_v)
    h = acceleration_response(resp, n_fft, sample_rate_hz)
    h.setflags(write=False)
    return h


def response_spectrum(sensor: SensorSpec | SensorModel | InstrumentKind, n_fft: int, sample_rate_hz: float,
                      digitiser_counts_per_v: float = DIGITISER_COUNTS_PER_V) -> np.ndarray:
    """Cached :func:`acceleration_response` of a nominal chain (read-only array)."""
    spec = _spec(sensor)
    return _cached_acc_response(spec.name, int(n_fft), float(sample_rate_hz), float(digitiser_counts_per_v))


def volts_to_counts(volts: np.ndarray, digitiser_counts_per_v: float = DIGITISER_COUNTS_PER_V) -> np.ndarray:
    """Digitise: round to counts and saturate at the 24-bit range; returns int32."""
    counts = np.rint(np.asarray(volts) * digitiser_counts_per_v)
    np.clip(counts, COUNTS_MIN, COUNTS_MAX, out=counts)
    return counts.astype(np.int32)


def spectrum_to_counts(spectrum: np.ndarray, n: int, sensor: SensorSpec | SensorModel | InstrumentKind,
                       sample_rate_hz: float,
                       digitiser_counts_per_v: float = DIGITISER_COUNTS_PER_V) -> np.ndarray:
    """Counts (int32, first ``n`` samples) from the rfft of ground acceleration (length ``n_fft``).

    ``spectrum`` has shape (..., n_fft//2 + 1). The sensor's analogue output
    saturates at its full scale, then the digitiser rounds and saturates at
    24 bits.
    """
    from scipy import fft

    spec = _spec(sensor)
    nf = spectrum.shape[-1]
    n_fft = 2 * (nf - 1)
    h = response_spectrum(spec, n_fft, sample_rate_hz, digitiser_counts_per_v)
    if h.shape[0] != nf:  # odd n_fft
        n_fft += 1
        h = response_spectrum(spec, n_fft, sample_rate_hz, digitiser_counts_per_v)
    counts = fft.irfft(spectrum * h, n_fft, axis=-1)[..., :int(n)]
    if spec.full_scale_v > 0:
        limit = spec.full_scale_v * digitiser_counts_per_v
        np.clip(counts, -limit, limit, out=counts)
    np.rint(counts, out=counts)
    np.clip(counts, COUNTS_MIN, COUNTS_MAX, out=counts)
    return counts.astype(np.int32)


def ground_to_counts(acceleration_m_s2: np.ndarray, sensor: SensorSpec | SensorModel | InstrumentKind,
                     sample_rate_hz: float, pad_s: float = 60.0,
                     digitiser_counts_per_v: float = DIGITISER_COUNTS_PER_V) -> np.ndarray:
    """Record ground acceleration (m/s^2, last axis time) through a nominal chain -> int32 counts.

    Velocity sensors respond to the velocity of that acceleration, which the
    acceleration response includes. The record is zero-padded by ``pad_s``
    (to a fast FFT length) before the frequency-domain convolution so that
    the instrument's ringing does not wrap around onto the start.
    """
    from scipy import fft

    a = np.asarray(acceleration_m_s2, dtype=np.float64)
    n = a.shape[-1]
    n_fft = fft.next_fast_len(n + int(round(max(pad_s, 0.0) * sample_rate_hz)), real=True)
    if n_fft % 2:
        n_fft = fft.next_fast_len(n_fft + 1, real=True)
    spectrum = fft.rfft(a, n_fft, axis=-1)
    return spectrum_to_counts(spectrum, n, sensor, sample_rate_hz, digitiser_counts_per_v)


def _spec(sensor) -> SensorSpec:
    if isinstance(sensor, SensorSpec):
        return sensor
    if isinstance(sensor, SensorModel):
        return SENSORS[sensor]
    if isinstance(sensor, (InstrumentKind, str)):
        try:
            return sensor_for_kind(InstrumentKind(sensor))
        except ValueError:
            return SENSORS[SensorModel(sensor)]
    raise DomainError(f"response: unknown sensor {sensor!r}")
