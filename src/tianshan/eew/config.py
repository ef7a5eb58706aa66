"""Settings of the earthquake early-warning (EEW) chain, with their sources.

Every number that comes from a publication says so; the others are choices of this package,
tuned on the simulated demo-region scenarios (``tests/eew``) and marked "choice".
All settings are frozen dataclasses validated on construction (bad values raise
:class:`~tianshan.core.errors.InputError` naming the field); :class:`EEWConfig` groups them.

Filters (:class:`MeasureConfig`)
    0.075 Hz high-pass Butterworth before integrating to velocity and displacement, as in
    ElarmS (Allen & Kanamori 2003, Science 300, 786; Kuyuk et al. 2014, SRL 85, 159,
    ElarmS-2) and for tau_c (Kanamori 2005, Annu. Rev. Earth Planet. Sci. 33, 195; Wu &
    Kanamori 2005). Two poles: Shieh, Wu & Allen (2008, GRL 35, L20301) found the two-pole
    0.075 Hz filter gives the smallest tau_c magnitude scatter. tau_p is computed on velocity
    low-passed at 3 Hz (Wurman, Allen & Lombard 2007, JGR 112, B08311) with the recursive
    smoothing constant ``alpha = 1 - dt / taup_smoothing_s``: 0.99 at 100 Hz for 1 s (Allen &
    Kanamori 2003).

Trigger (:class:`TriggerConfig`)
    Recursive STA/LTA (Allen 1978, BSSA 68, 1521) with 0.05 s / 5 s windows, the short
    windows of ElarmS triggering (Allen & Kanamori 2003; Kuyuk et al. 2014), on the squared
    vertical acceleration band-passed from 1 Hz to 0.9 Nyquist (at most 45 Hz) (choice: the
    low corner removes the microseism band that dominates broadband noise, the high one any
    energy at Nyquist; acceleration rather than velocity because the emergent P of MEMS
    records at 100+ km stands out earlier there: measured on the 2018 Mexico records).
    The STA spans at least 3 samples (MEMS rates). Threshold (10), confirmation window and the
    rejection tests are choices, set on the 2018 Mexico MEMS records (noise STA/LTA peaks of
    6-8 over 200 s per device, P onsets at 66-240 km crossing 10) and the simulated scenarios
    (see :mod:`tianshan.eew.trigger`).

Magnitude (:class:`MagnitudeConfig`)
    Kuyuk & Allen (2013, GRL 40, 6329-6333, "A global approach to provide magnitude
    estimates for earthquake early warning alerts"): ``M = 1.23 log10(Pd) + 1.38 log10(R) +
    5.39``, Pd in **cm** (vertical, 0.075 Hz high-passed displacement), R in **km**,
    standard deviation 0.31 (the relation ElarmS-2 adopted, Kuyuk et al. 2014; the same
    values appear in independent implementations, e.g. the Kuyuk-Allen baseline of
    Muenchmeyer et al. 2021's TEAM benchmark). tau_p_max: Allen & Kanamori (2003)
    southern-California scaling ``M = 7.0 log10(tau_p_max) + 5.9`` (tau_p_max in s; the same
    line as Olson & Allen 2005, Nature 438, 212, ``log10 tau_p_max = 0.14 M - 0.83``). These
    two tau_p coefficients could not be checked against the papers' text in this environment:
    verify before operational use. Its scatter (sigma 0.5 here) is a choice reflecting the
    larger tau_p scatter reported by Kuyuk & Allen (2013).

Location (:class:`LocateConfig`) and events (:class:`EventConfig`): see
:mod:`tianshan.eew.locate` and :mod:`tianshan.eew.event`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from tianshan.core.errors import InputError


def _positive(obj, *names: str, allow_zero: bool = False) -> None:
    for name in names:
        value = getattr(obj, name)
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise InputError(f"not a number: {value!r}", source=type(obj).__name__, field=name) from None
        if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
            raise InputError(f"must be {'>= 0' if allow_zero else '> 0'}, got {value!r}",
                             source=type(obj).__name__, field=name)


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """P detection tuned for speed (see :mod:`tianshan.eew.trigger` for the tests)."""

    sta_s: float = 0.05                 #: ElarmS short window
    lta_s: float = 5.0                  #: ElarmS long window
    highpass_hz: float = 1.0            #: characteristic-function band, low corner (choice)
    lowpass_hz: float = 45.0            #: ... and high corner (at most 0.9 Nyquist; choice)
    ratio_on: float = 10.0              #: STA/LTA trigger threshold (choice)
    ratio_off: float = 2.0              #: re-arm below this ratio (choice)
    lockout_s: float = 20.0             #: minimum time between triggers of one sensor (choice)
    min_noise_quanta: float = 2.0       #: LTA floor: white noise of this many data quanta rms (choice)
    warmup_s: float = 5.0               #: no triggers until this much continuous data (= LTA window)
    confirm_s: float = 0.3              #: post-trigger data needed by the rejection tests (choice)
    spike_factor: float = 5.0           #: isolated-sample factor of the spike test
    step_factor: float = 5.0            #: isolated-difference factor of the step test
    sustain_ratio: float = 4.0          #: boxcar-STA/LTA level of the sustained-energy test (choice)
    min_period_samples: float = 4.0     #: dominant period 2 pi PGV/PGA below this many samples = glitch
    aic_lookback_s: float = 1.0         #: onset refinement window before the trigger
    clip_fraction: float = 0.95         #: |counts| above this fraction of full scale = clipped
    full_scale_counts: float = 2.0 ** 23  #: 24-bit digitiser

    def __post_init__(self) -> None:
        _positive(self, "sta_s", "lta_s", "highpass_hz", "lowpass_hz", "ratio_on", "ratio_off", "min_noise_quanta",
                  "warmup_s", "confirm_s", "spike_factor", "step_factor", "sustain_ratio", "min_period_samples",
                  "aic_lookback_s", "clip_fraction", "full_scale_counts")
        _positive(self, "lockout_s", allow_zero=True)
        if self.sta_s >= self.lta_s:
            raise InputError("STA window must be shorter than the LTA window", source="TriggerConfig", field="sta_s")
        if self.ratio_off >= self.ratio_on:
            raise InputError("must be below ratio_on", source="TriggerConfig", field="ratio_off")


@dataclass(frozen=True, slots=True)
class MeasureConfig:
    """Per-station filters and measurement windows."""

    highpass_hz: float = 0.075          #: ElarmS / Kanamori (2005)
    highpass_order: int = 2             #: Shieh et al. (2008)
    taup_lowpass_hz: float = 3.0        #: Wurman et al. (2007)
    taup_smoothing_s: float = 1.0       #: alpha = 1 - dt / 1 s = 0.99 at 100 Hz (Allen & Kanamori 2003)
    max_window_s: float = 4.0           #: Pd window (ElarmS uses up to 4 s of P)
    tau_window_s: float = 3.0           #: tau_c and tau_p_max window (Kanamori 2005: 3 s)
    history_s: float = 6.0              #: derived samples kept before a trigger (>= aic_lookback + confirm)
    peak_hold_s: float = 120.0          #: PGA/PGV "so far" are tracked this long after the onset

    def __post_init__(self) -> None:
        _positive(self, "highpass_hz", "taup_lowpass_hz", "taup_smoothing_s", "max_window_s", "tau_window_s",
                  "history_s", "peak_hold_s")
        if not isinstance(self.highpass_order, int) or not 1 <= self.highpass_order <= 6:
            raise InputError("must be an integer 1..6", source="MeasureConfig", field="highpass_order")


@dataclass(frozen=True, slots=True)
class MagnitudeConfig:
    """Magnitude relations (see the module docstring for the sources) and saturation."""

    pd_coefficients: tuple[float, float, float] = (1.23, 1.38, 5.39)  #: Kuyuk & Allen (2013): c1, c2, c3
    pd_sigma: float = 0.31                                          #: Kuyuk & Allen (2013)
    taup_coefficients: tuple[float, float] = (7.0, 5.9)              #: Allen & Kanamori (2003): a, b
    taup_sigma: float = 0.5                                          #: choice
    pd_offset: float = 0.0              #: regional correction added to M_Pd (0: the published relation)
    taup_offset: float = 0.0            #: regional correction added to M_taup
    use_taup: bool = True
    max_family_difference: float = 1.0  #: Pd and tau_p means further apart: Pd alone (choice)
    min_window_s: float = 0.5           #: shortest P window used for a magnitude (choice)
    short_window_penalty: float = 0.15  #: sigma added per second the window falls short of full_window_s
    full_window_s: float = 3.0
    s_margin_s: float = 0.2             #: windows end this long before the predicted S arrival
    min_distance_m: float = 5_000.0     #: R floor in the Pd relation (log10 R -> -inf at R = 0)
    rupture_velocity_m_s: float = 2_800.0  #: 0.8 beta, for the saturation test (choice)

    def __post_init__(self) -> None:
        _positive(self, "pd_sigma", "taup_sigma", "max_family_difference", "min_window_s", "full_window_s",
                  "min_distance_m", "rupture_velocity_m_s")
        _positive(self, "short_window_penalty", "s_margin_s", allow_zero=True)
        for name in ("pd_offset", "taup_offset"):
            if not math.isfinite(float(getattr(self, name))):
                raise InputError("must be finite", source="MagnitudeConfig", field=name)
        if len(self.pd_coefficients) != 3 or len(self.taup_coefficients) != 2:
            raise InputError("need (c1, c2, c3) and (a, b)", source="MagnitudeConfig", field="pd_coefficients")


@dataclass(frozen=True, slots=True)
class LocateConfig:
    """Evolutionary grid search (Satriano, Lomax & Zollo 2008); see :mod:`tianshan.eew.locate`."""

    half_width_m: float = 150_000.0     #: coarse grid half width around the first triggered station
    coarse_step_m: float = 5_000.0
    fine_half_width_m: float = 10_000.0
    fine_step_m: float = 1_000.0
    depths_m: tuple[float, ...] = (2_000.0, 6_000.0, 10_000.0, 15_000.0, 20_000.0, 30_000.0)
    max_distance_m: float = 600_000.0   #: travel-time table reach
    pick_sigma_s: float = 0.2           #: trigger-time uncertainty incl. model error (choice)
    nya_sigma_s: float = 1.0            #: softness of the not-yet-arrived constraint (choice)
    nya_floor: float = 0.05             #: smallest factor one not-yet-arrived station can apply (choice)
    nya_max_distance_m: float = 200_000.0  #: not-yet-arrived stations considered around the first trigger

    def __post_init__(self) -> None:
        _positive(self, "half_width_m", "coarse_step_m", "fine_half_width_m", "fine_step_m", "max_distance_m",
                  "pick_sigma_s", "nya_sigma_s", "nya_max_distance_m")
        _positive(self, "nya_floor", allow_zero=True)
        if not self.depths_m or any(not (math.isfinite(d) and d >= 0) for d in self.depths_m):
            raise InputError("need depths >= 0 m", source="LocateConfig", field="depths_m")
        if self.nya_floor > 1:
            raise InputError("must be <= 1", source="LocateConfig", field="nya_floor")


@dataclass(frozen=True, slots=True)
class EventConfig:
    """Declaration, association and update rules (see :mod:`tianshan.eew.event`)."""

    min_stations: int = 4               #: issue 5 default; counted in distinct sites (``site_separation_m``)
    site_separation_m: float = 1_500.0  #: stations linked by spacings up to this are one site (choice, see event.py)
    apparent_velocity_m_s: float = 5_000.0  #: |t_a - t_b| <= d_ab / v + tolerance (below crustal Vp)
    pair_tolerance_s: float = 1.0
    max_pair_distance_m: float = 500_000.0
    max_rms_s: float = 1.0              #: declaration needs a location with this rms or better
    assoc_tolerance_s: float = 2.0      #: later triggers join when |residual| is below this
    update_interval_s: float = 1.0
    event_lifetime_s: float = 120.0     #: data seconds after the origin an event stays open
    min_magnitude_change: float = 0.05
    min_location_change_m: float = 1_000.0
    min_time_change_s: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.min_stations, int) or isinstance(self.min_stations, bool) or self.min_stations < 1:
            raise InputError("must be an integer >= 1", source="EventConfig", field="min_stations")
        _positive(self, "apparent_velocity_m_s", "pair_tolerance_s", "max_pair_distance_m", "max_rms_s",
                  "assoc_tolerance_s", "update_interval_s", "event_lifetime_s")
        _positive(self, "min_magnitude_change", "min_location_change_m", "min_time_change_s", "site_separation_m",
                  allow_zero=True)


@dataclass(frozen=True, slots=True)
class EEWConfig:
    """All EEW settings. ``sensor_preference``: band/instrument codes in order of preference
    for a station's measurements (broadband first; a clipped sensor yields to the next)."""

    trigger: TriggerConfig = field(default_factory=TriggerConfig)
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    magnitude: MagnitudeConfig = field(default_factory=MagnitudeConfig)
    locate: LocateConfig = field(default_factory=LocateConfig)
    event: EventConfig = field(default_factory=EventConfig)
    sensor_preference: tuple[str, ...] = ("HH", "BH", "EH", "SH", "HN", "EN", "BN", "SN", "HL", "BL")

    def __post_init__(self) -> None:
        for f, cls in (("trigger", TriggerConfig), ("measure", MeasureConfig), ("magnitude", MagnitudeConfig),
                       ("locate", LocateConfig), ("event", EventConfig)):
            if not isinstance(getattr(self, f), cls):
                raise InputError(f"must be a {cls.__name__}", source="EEWConfig", field=f)

    @classmethod
    def from_dict(cls, data: dict) -> "EEWConfig":
        """Build from a nested mapping (e.g. a TOML ``[eew]`` table); unknown keys raise InputError."""
        parts = {"trigger": TriggerConfig, "measure": MeasureConfig, "magnitude": MagnitudeConfig,
                 "locate": LocateConfig, "event": EventConfig}
        kwargs = {}
        for key, value in (data or {}).items():
            if key in parts:
                if not isinstance(value, dict):
                    raise InputError("must be a table", source="eew", field=key)
                known = {f.name for f in fields(parts[key])}
                bad = sorted(set(value) - known)
                if bad:
                    raise InputError(f"unknown setting(s) {bad}", source=f"eew.{key}", field=bad[0])
                conv = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
                try:
                    kwargs[key] = parts[key](**conv)
                except TypeError as err:
                    raise InputError(str(err), source=f"eew.{key}") from None
            elif key == "sensor_preference":
                kwargs[key] = tuple(str(v) for v in value)
            else:
                raise InputError("unknown setting", source="eew", field=key)
        return cls(**kwargs)
