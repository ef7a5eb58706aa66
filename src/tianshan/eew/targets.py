"""EEW ground-motion prediction at targets: predicted intensity and warning time at every city/county seat.

For one EEW event version (:class:`tianshan.eew.event.EEWEvent`) and a list of targets (the
region's populated places, :func:`targets_from_places`) :meth:`TargetPredictor.predict` gives,
per target, the predicted intensity on the Chinese scale (GB/T 17742-2020) with its sigma, the
predicted S-wave arrival and the warning time (S arrival minus the time of the prediction).

Attenuation term (:class:`EllipticalIntensity`)
-----------------------------------------------
The elliptical intensity attenuation of Yu, Li & Xiao (2013, 震灾防御技术 8(1) 24-33; the
relations of China's zonation map GB 18306-2015), region ``xinjiang`` by default, evaluated by
:mod:`tianshan.groundmotion.prediction.attenuation` (coefficients, sources and the bisection
there). The relations use Ms; the EEW magnitude (Pd / tau_p, a moment-magnitude proxy) is
converted with :func:`tianshan.groundmotion.prediction.gmpe.ms_from_mw` (Cheng et al. 2017).
Distances are epicentral (the relations' distance); the depth is not used. The long axis lies
along the strike of the nearest mapped fault within ``max_fault_km`` of the epicentre
(:func:`tianshan.groundmotion.prediction.attenuation.long_axis_strike_deg` over the region's
:class:`tianshan.regions.Fault` traces); with no fault that near the isoseismals are circles of
the geometric-mean radius. Any object with the method ``predict_intensity(lat, lon, depth_m,
magnitude, target_lats, target_lons, strike_deg=None) -> (mean, sigma)`` can replace it
(``TargetPredictor(intensity_model=...)``).

Onsite term: PLUM
-----------------
Kodera, Yamada, Hirano, Tamaribuchi, Adachi & Hayashimoto (2018), "The Propagation of Local
Undamped Motion (PLUM) Method: A Simple and Robust Seismic Wavefield Estimation Approach for
Earthquake Early Warning", BSSA 108(2), 983-1003: the intensity predicted at a target is the
largest real-time intensity observed at any station within ``R = 30 km`` of it, with no
attenuation applied ("undamped"); JMA added it to its EEW in 2018 so that long ruptures,
whose shaking an epicentre-plus-magnitude model underestimates, are not missed. Here the
observed intensity of a station is the GB/T 17742-2020 instrumental intensity
(:func:`tianshan.groundmotion.intensity.instrumental_intensity`, unrounded) of the peak
acceleration and velocity so far (:class:`tianshan.eew.station.StationMeasurement`, 0.075 Hz
high-passed, larger horizontal component: an approximation of the standard's 0.1-10 Hz
three-component vector peaks, which it can only underestimate, by up to sqrt(3) in amplitude,
i.e. 0.75 intensity units at most). The target's intensity is ``max(attenuation, PLUM)``
(``source`` says which won). Which onsite observations may be used (glitch rejection) is decided
by :mod:`tianshan.eew.policy`.

Warning time
------------
The S arrival at a target is the event's origin time plus the first-S travel time from the
region's 1-D model (:class:`tianshan.traveltime.layered.LayeredTravelTime`, table built once per
predictor to ``max_distance_m``) at the target's epicentral distance and the event's depth; the
warning time is that arrival minus ``now`` (the time the message goes out); negative means the
S wave has already passed (the target is in the blind zone). Beyond the table's reach the
arrival is extrapolated at the larger of the table's last apparent S speed and the model's
fastest S speed (a head wave from deeper layers may overtake: the warning is never overstated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Protocol, Sequence

from tianshan.core.errors import InputError
from tianshan.core.timeutil import as_utc

#: Place kinds that are targets by default: cities, county seats (a census county's representative
#: point), prefectures and city districts; ``town`` and ``village`` only on request.
DEFAULT_TARGET_KINDS = ("city", "county", "prefecture", "district")
#: Kodera et al. (2018): PLUM prediction radius.
PLUM_RADIUS_M = 30_000.0
_S_DEPTHS_M = (0.0, 5_000.0, 10_000.0, 15_000.0, 20_000.0, 30_000.0, 40_000.0, 60_000.0, 100_000.0)


@dataclass(frozen=True, slots=True)
class Target:
    """A place to warn: name, coordinates (deg) and population (None: unknown)."""

    name: str
    latitude_deg: float
    longitude_deg: float
    population: int | None = None
    name_zh: str = ""
    kind: str = "city"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("target name must not be empty", field="name")
        for name, lim in (("latitude_deg", 90.0), ("longitude_deg", 180.0)):
            v = getattr(self, name)
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise InputError(f"not a number: {v!r}", source=self.name, field=name) from None
            if not (math.isfinite(fv) and -lim <= fv <= lim):
                raise InputError(f"{v!r} is outside [-{lim}, {lim}]", source=self.name, field=name)
            object.__setattr__(self, name, fv)


def targets_from_places(places: Iterable, kinds: Sequence[str] | None = DEFAULT_TARGET_KINDS) -> tuple[Target, ...]:
    """Targets from :class:`tianshan.regions.Place` objects of the given ``kinds`` (None: all).

    Places with the same name within 1 km of each other are one target (the census county and
    the GeoNames town of a county seat often coincide).
    """
    from tianshan.regions.model import haversine_m

    out: list[Target] = []
    for p in places:
        if kinds is not None and p.kind not in kinds:
            continue
        if any(t.name == p.name and haversine_m(t.latitude_deg, t.longitude_deg, p.latitude_deg,
                                                p.longitude_deg) < 1_000.0 for t in out):
            continue
        out.append(Target(p.name, p.latitude_deg, p.longitude_deg, p.population, p.name_zh, p.kind))
    return tuple(out)


class IntensityModel(Protocol):
    """What :class:`TargetPredictor` needs from an intensity attenuation model."""

    def predict_intensity(self, lat: float, lon: float, depth_m: float, magnitude: float, target_lats,
                          target_lons, strike_deg: float | None = None): ...


class EllipticalIntensity:
    """Yu et al. (2013) elliptical intensity attenuation (module docstring); ``region``: a key of
    :data:`tianshan.groundmotion.prediction.attenuation.YU_2013_INTENSITY`."""

    def __init__(self, region: str = "xinjiang") -> None:
        from tianshan.groundmotion.prediction.attenuation import YU_2013_INTENSITY

        key = str(region).lower()
        if key not in YU_2013_INTENSITY:
            raise InputError(f"unknown attenuation region {region!r}; one of {', '.join(YU_2013_INTENSITY)}",
                             field="attenuation")
        self.region = key
        self.model = YU_2013_INTENSITY[key]

    def predict_intensity(self, lat: float, lon: float, depth_m: float, magnitude: float, target_lats,
                          target_lons, strike_deg: float | None = None):
        """``(mean, sigma)``: unrounded, unclipped intensity at the targets and the model's sigma."""
        import numpy as np

        from tianshan.groundmotion.prediction import attenuation as att
        from tianshan.groundmotion.prediction.distances import project
        from tianshan.groundmotion.prediction.gmpe import ms_from_mw

        ms = float(ms_from_mw(float(magnitude)))
        lats = np.asarray(target_lats, dtype=float)
        lons = np.asarray(target_lons, dtype=float)
        if strike_deg is None:
            field = att.predict_intensity(self.model, lats, lons, lat, lon, ms)
            return np.asarray(field.intensity, dtype=float), float(field.sigma)
        x, y = project(lat, lon, lats, lons)
        s = math.radians(float(strike_deg))
        along = x * math.sin(s) + y * math.cos(s)
        across = x * math.cos(s) - y * math.sin(s)
        return np.asarray(att.elliptical_intensity(self.model, ms, along, across), dtype=float), self.model.sigma


@dataclass(frozen=True, slots=True)
class OnsiteObservation:
    """Real-time intensity observed at one station (peaks so far; see the module docstring)."""

    station_id: str
    latitude_deg: float
    longitude_deg: float
    pga_m_s2: float
    pgv_m_s: float
    intensity: float
    onset: datetime


def observed_intensity(pga_m_s2: float, pgv_m_s: float) -> float:
    """GB/T 17742-2020 instrumental intensity (unrounded, clipped to 1-12) of peaks so far."""
    from tianshan.groundmotion.intensity.gbt17742 import instrumental_intensity

    return float(instrumental_intensity(max(float(pga_m_s2), 0.0), max(float(pgv_m_s), 0.0), rounded=False))


def onsite_observations(engine, since: datetime | None = None,
                        station_ids: Iterable[str] | None = None) -> list[OnsiteObservation]:
    """Observed intensities at the engine's triggered stations (trigger onset at or after ``since``;
    only ``station_ids`` when given), from each station's preferred sensor."""
    wanted = None if station_ids is None else set(station_ids)
    since_utc = None if since is None else as_utc(since)
    out = []
    for sid, sensors in engine.bank.by_station.items():
        if wanted is not None and sid not in wanted:
            continue
        if not any(sp.trigger is not None and (since_utc is None or sp.trigger.time >= since_utc) for sp in sensors):
            continue
        m = engine.bank.best_measurement(sid)
        if m is None or (since_utc is not None and m.onset < since_utc):
            continue
        st = engine.bank.stations[sid]
        out.append(OnsiteObservation(sid, st.latitude_deg, st.longitude_deg, m.pga_m_s2, m.pgv_m_s,
                                     observed_intensity(m.pga_m_s2, m.pgv_m_s), m.onset))
    return out


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """Settings of :class:`TargetPredictor` (sources in the module docstring)."""

    attenuation: str = "xinjiang"        #: Yu et al. (2013) region
    max_fault_km: float = 50.0           #: nearest-fault search radius for the long axis (choice)
    plum_radius_m: float = PLUM_RADIUS_M  #: Kodera et al. (2018)
    use_onsite: bool = True
    max_distance_m: float = 1_500_000.0  #: reach of the S travel-time table
    distance_step_m: float = 2_000.0

    def __post_init__(self) -> None:
        from tianshan.groundmotion.prediction.attenuation import YU_2013_INTENSITY

        if str(self.attenuation).lower() not in YU_2013_INTENSITY:
            raise InputError(f"unknown attenuation region {self.attenuation!r}; one of {', '.join(YU_2013_INTENSITY)}",
                             source="TargetConfig", field="attenuation")
        for name in ("max_fault_km", "plum_radius_m", "max_distance_m", "distance_step_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"must be > 0, got {v!r}", source="TargetConfig", field=name)


@dataclass(frozen=True, slots=True)
class TargetPrediction:
    """Prediction at one target for one event version (SI units; ``intensity`` unrounded, 1-12)."""

    target: Target
    distance_m: float
    intensity: float
    intensity_attenuation: float
    intensity_onsite: float | None
    sigma: float
    source: str               # "attenuation" or "onsite:<station id>"
    s_arrival: datetime
    warning_time_s: float     # s_arrival - now (negative: the S wave has passed)

    @property
    def degree(self) -> int:
        """Whole intensity degree, rounded half up (as messages state it)."""
        from tianshan.products.alerts.text import intensity_degree

        return intensity_degree(self.intensity)


class TargetPredictor:
    """Intensity and warning time at ``targets`` for EEW event versions (module docstring).

    ``model``: the region's 1-D velocity model (S travel times); ``faults``: the region's
    :class:`~tianshan.regions.Fault` traces (long axis); ``intensity_model``: replaces the
    Yu et al. (2013) model of ``config.attenuation``.
    """

    def __init__(self, targets: Iterable[Target], model, faults: Iterable = (), config: TargetConfig | None = None,
                 intensity_model: IntensityModel | None = None) -> None:
        import numpy as np

        self.config = config or TargetConfig()
        self.targets = tuple(targets)
        self.faults = tuple(faults)
        self.model = model
        self.intensity_model = intensity_model or EllipticalIntensity(self.config.attenuation)
        self._lats = np.array([t.latitude_deg for t in self.targets], dtype=float)
        self._lons = np.array([t.longitude_deg for t in self.targets], dtype=float)
        self._s_table = None
        self._strikes: dict[tuple[float, float], tuple[float | None, str]] = {}

    # -- travel times -------------------------------------------------------------------------
    def s_travel_time(self, depth_m: float, distance_m):
        """First-S travel time(s) (s) from the 1-D model; extrapolated beyond the table (module docstring)."""
        import numpy as np

        if self._s_table is None:
            from tianshan.traveltime.layered import LayeredTravelTime

            c = self.config
            self._s_table = LayeredTravelTime(self.model).table("S", _S_DEPTHS_M, c.max_distance_m,
                                                                c.distance_step_m)
        tab = self._s_table
        z = min(max(float(depth_m), _S_DEPTHS_M[0]), _S_DEPTHS_M[-1])
        d = np.asarray(distance_m, dtype=float)
        dmax = float(tab.distances_m[-1])
        t = np.asarray(tab(z, np.minimum(d, dmax)), dtype=float)
        far = d > dmax
        if np.any(far):
            t_end = float(tab(z, dmax))
            t_before = float(tab(z, dmax - 10 * self.config.distance_step_m))
            slowness = (t_end - t_before) / (10 * self.config.distance_step_m)
            fastest = max(layer.vs_m_s for layer in self.model.layers)
            slowness = min(slowness, 1.0 / fastest)  # a faster head wave may take over: never overstate
            t = np.where(far, t_end + (d - dmax) * slowness, t)
        return t

    # -- long axis ----------------------------------------------------------------------------
    def strike(self, latitude_deg: float, longitude_deg: float) -> tuple[float | None, str]:
        """Long-axis azimuth (deg) from the nearest mapped fault, and its source (cached per 0.01 deg)."""
        key = (round(latitude_deg, 2), round(longitude_deg, 2))
        got = self._strikes.get(key)
        if got is None:
            from tianshan.groundmotion.prediction.attenuation import long_axis_strike_deg

            got = long_axis_strike_deg(latitude_deg, longitude_deg, faults=self.faults,
                                       max_fault_km=self.config.max_fault_km) if self.faults else (None, "none")
            if len(self._strikes) > 10_000:
                self._strikes.clear()
            self._strikes[key] = got
        return got

    # -- prediction ---------------------------------------------------------------------------
    def predict_at(self, latitude_deg: float, longitude_deg: float, depth_m: float, magnitude: float,
                   origin_time: datetime, now: datetime, observations: Sequence[OnsiteObservation] = (),
                   targets: Sequence[Target] | None = None) -> tuple[TargetPrediction, ...]:
        """Predictions at ``targets`` (default: all) for a hypocentre, magnitude and origin time."""
        import numpy as np

        from tianshan.eew.locate import haversine_m

        if targets is None:
            tg, lats, lons = self.targets, self._lats, self._lons
        else:
            tg = tuple(targets)
            lats = np.array([t.latitude_deg for t in tg], dtype=float)
            lons = np.array([t.longitude_deg for t in tg], dtype=float)
        if not tg:
            return ()
        if not math.isfinite(float(magnitude)):
            raise InputError(f"magnitude must be finite, got {magnitude!r}", field="magnitude")
        origin_time, now = as_utc(origin_time), as_utc(now)
        strike, _ = self.strike(latitude_deg, longitude_deg)
        mean, sigma = self.intensity_model.predict_intensity(latitude_deg, longitude_deg, depth_m, magnitude,
                                                             lats, lons, strike_deg=strike)
        mean = np.clip(np.asarray(mean, dtype=float), 1.0, 12.0)
        dist = np.asarray(haversine_m(latitude_deg, longitude_deg, lats, lons), dtype=float)
        ts = self.s_travel_time(depth_m, dist)
        lead = (origin_time - now).total_seconds()
        onsite_i = np.full(len(tg), -np.inf)
        onsite_src: list[str | None] = [None] * len(tg)
        if self.config.use_onsite and observations:
            for ob in observations:
                d = np.asarray(haversine_m(ob.latitude_deg, ob.longitude_deg, lats, lons), dtype=float)
                near = (d <= self.config.plum_radius_m) & (ob.intensity > onsite_i)
                for k in np.flatnonzero(near):
                    onsite_i[k] = ob.intensity
                    onsite_src[k] = ob.station_id
        out = []
        for k, t in enumerate(tg):
            att_i = float(mean[k])
            on = None if onsite_src[k] is None else float(min(max(onsite_i[k], 1.0), 12.0))
            if on is not None and on > att_i:
                inten, src = on, f"onsite:{onsite_src[k]}"
            else:
                inten, src = att_i, "attenuation"
            tsk = float(ts[k])
            out.append(TargetPrediction(t, float(dist[k]), inten, att_i, on, float(sigma), src,
                                        origin_time + timedelta(seconds=tsk), lead + tsk))
        return tuple(out)

    def predict(self, event, now: datetime | None = None,
                observations: Sequence[OnsiteObservation] = ()) -> tuple[TargetPrediction, ...]:
        """Predictions at every target for an :class:`~tianshan.eew.event.EEWEvent` version
        (``now``: the event's data time by default); empty while it has no magnitude."""
        if event.magnitude is None:
            return ()
        return self.predict_at(event.latitude_deg, event.longitude_deg, event.depth_m, event.magnitude,
                               event.origin_time, event.data_time if now is None else now, observations)


def blind_zone_radius_m(predictor: TargetPredictor, depth_m: float, alert_after_origin_s: float) -> float:
    """Epicentral radius (m) inside which the S wave arrives before an alert issued
    ``alert_after_origin_s`` after the origin (0 if the alert precedes the S wave everywhere).

    The blind zone of Kuyuk & Allen (2013, SRL 84(3), 357-363, "Optimal seismic network density
    for earthquake early warning: a case study from California"), ``sqrt((v_S t)^2 - h^2)`` in a
    half-space, computed here with the 1-D model's S times instead of one speed.
    """
    import numpy as np

    c = predictor.config
    d = np.arange(0.0, c.max_distance_m, 250.0)
    ts = predictor.s_travel_time(depth_m, d)
    late = np.flatnonzero(ts > alert_after_origin_s)
    if late.size == 0:
        return float(c.max_distance_m)
    return float(d[late[0]]) if late[0] > 0 else 0.0
