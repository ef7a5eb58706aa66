"""The full loss chain for one scenario (情景构建) or one real event's intensity field.

:func:`assess` is the chain from an intensity field (:mod:`.shaking`) -- a prediction, or a
ShakeMap-style conditioned grid for a real event -- through exposure
(:func:`.exposure.expose`), PAGER fatalities and economic loss (:mod:`.pager`), injured and
shelter (:mod:`.casualties`) to the response level, county ranking, nearest towns, needs and
historical earthquakes (:mod:`.response`).

:func:`run_scenario` builds the field for a hypothetical earthquake with ``intensity``: a
callable with the signature of :func:`.simple_intensity.predict_shaking`, or a name of
:data:`INTENSITY_MODELS` -- ``"simple"`` (default; BSSA14 PGV -> Worden 2012 MMI) or
``"xinjiang"`` (:func:`.xinjiang_intensity.predict_shaking`: the Yu et al. 2013 Xinjiang
elliptical intensity attenuation, long axis along the strike, Chinese scale taken as MMI) --
and calls :func:`assess`. The rupture orientation comes from an
explicit strike, a named fault of the region, or ``fault="nearest"`` (the fault trace nearest
the epicentre within :data:`NEAREST_FAULT_KM`); without one the simple prediction averages over
orientations (the Xinjiang one draws circular isoseismals). Rake from the fault's own rake, else its GEM ``slip_type``
(Reverse/Anticline/Syncline 90, Normal -90, Dextral 180, Sinistral 0, Sinistral-Reverse 45,
Dextral-Reverse 135, Sinistral-Normal -45, Dextral-Normal -135), else 90.

Bad input is an :class:`~tianshan.core.errors.InputError`: coordinates, depth or magnitude out
of range, an unknown fault, and a scenario whose epicentre is more than ``max_outside_km``
(default 200 km) from every populated point of the exposure ("outside the exposure area").

:meth:`ScenarioResult.as_json` is the issue's document: ``fatalities`` and
``economic_loss_usd`` (median, p10, p90, bin probabilities), ``pager_alert``,
``response_level`` (I..IV or "none"), ``exposure_by_intensity`` (people per MMI I..X), plus
the details (``response``, ``injured``, ``shelter``, ``needs``, ``counties``, ``nearest_towns``,
``historical``, ``warnings``, ``limitations``).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from pathlib import Path

from tianshan.core.errors import InputError
from tianshan.products.loss import casualties, pager, response
from tianshan.products.loss.exposure import Exposure, expose, load_exposure

NEAREST_FAULT_KM = 30.0
DEFAULT_MAX_OUTSIDE_KM = 200.0
SLIP_TYPE_RAKE = {"reverse": 90.0, "thrust": 90.0, "anticline": 90.0, "syncline": 90.0, "normal": -90.0,
                  "dextral": 180.0, "sinistral": 0.0, "sinistral-reverse": 45.0, "dextral-reverse": 135.0,
                  "sinistral-normal": -45.0, "dextral-normal": -135.0, "reverse-sinistral": 45.0,
                  "reverse-dextral": 135.0, "normal-sinistral": -45.0, "normal-dextral": -135.0}
LIMITATIONS = (
    "Exposure is the 2020 census population (distributed by towns or a raster) whatever the event date.",
    "Intensity from a simple prediction (BSSA14 PGV -> Worden 2012 MMI, Vs30 400 m/s) unless a field is given.",
    "PAGER empirical models for China (Jaiswal & Wald 2010, 2011) calibrated on national data up to 2008.",
    "Population outside the exposure region (across borders) is not counted.",
)
#: Replaces the second line of :data:`LIMITATIONS` when the field came from the Xinjiang model.
XINJIANG_INTENSITY_LIMITATION = ("Intensity from the Yu et al. (2013) Xinjiang elliptical attenuation (Chinese scale "
                                 "taken as MMI, no site or depth term) unless a field is given.")
#: Intensity predictions :func:`run_scenario` knows by name (``intensity=``; CLI ``--gmm``).
INTENSITY_MODELS = ("simple", "xinjiang")


@dataclass(frozen=True, slots=True)
class Scenario:
    """A hypothetical (or catalogued) earthquake: epicentre, depth (km), moment magnitude and orientation."""

    latitude_deg: float
    longitude_deg: float
    depth_km: float
    magnitude: float
    name: str = ""
    fault: str | None = None
    strike_deg: float | None = None
    dip_deg: float | None = None
    rake_deg: float | None = None

    def __post_init__(self) -> None:
        checks = (("lat", self.latitude_deg, -90.0, 90.0), ("lon", self.longitude_deg, -180.0, 180.0),
                  ("depth", self.depth_km, 0.0, 700.0), ("mag", self.magnitude, 3.0, 9.5))
        for name, value, lo, hi in checks:
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise InputError(f"must be a number, got {value!r}", field=name) from None
            if not (math.isfinite(v) and lo <= v <= hi):
                raise InputError(f"must be within [{lo:g}, {hi:g}], got {value!r}", field=name)
        for name in ("strike_deg", "dip_deg", "rake_deg"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(float(v)):
                raise InputError(f"must be finite, got {v!r}", field=name)
        if self.dip_deg is not None and not 1.0 <= float(self.dip_deg) <= 90.0:
            raise InputError(f"must be within [1, 90], got {self.dip_deg!r}", field="dip_deg")


@dataclass(frozen=True, slots=True)
class LossOptions:
    """Choices of the chain (see the modules for their sources)."""

    vulnerability_class: str = casualties.DEFAULT_VULNERABILITY_CLASS
    gdp_per_capita_usd: float = pager.GDP_PER_CAPITA_USD_CN_2020
    provincial_gdp_usd: float | None = None
    sparse_below_per_km2: float | None = None
    injured_per_death: float = casualties.INJURED_PER_DEATH
    max_outside_km: float = DEFAULT_MAX_OUTSIDE_KM
    historical_radius_km: float = 200.0
    top_units: int = 10
    nearest_towns: int = 10


@dataclass(frozen=True, slots=True, eq=False)
class ScenarioResult:
    """Everything the chain produced; :meth:`as_json` is the issue's document."""

    scenario: Scenario | None
    shaking: object
    exposure: object
    fatalities: pager.LossEstimate
    economic: pager.LossEstimate
    injured: casualties.Injured
    shelter: casualties.Shelter
    response: dict
    counties: list
    towns: list
    needs: dict
    historical: list
    rupture: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def pager_alert(self) -> str:
        return pager.higher_alert(self.fatalities.alert, self.economic.alert)

    @property
    def response_level(self) -> str:
        rec = self.response.get("recommended")
        return rec["response"] if rec else "none"

    def as_json(self) -> dict:
        ex = self.exposure
        out = {
            "fatalities": self.fatalities.as_dict(),
            "economic_loss_usd": self.economic.as_dict(),
            "pager_alert": self.pager_alert,
            "response_level": self.response_level,
            "exposure_by_intensity": ex.as_dict(),
            "scenario": None if self.scenario is None else {
                "name": self.scenario.name, "latitude_deg": self.scenario.latitude_deg,
                "longitude_deg": self.scenario.longitude_deg, "depth_km": self.scenario.depth_km,
                "magnitude": self.scenario.magnitude, **self.rupture},
            "intensity": {"source": getattr(self.shaking, "source", ""), "max_mmi_at_people": round(ex.max_mmi, 2)},
            "exposure": {"region": ex.exposure.name, "method": ex.exposure.method,
                         "population": int(round(ex.exposure.total_population)),
                         "population_outside_field": int(round(ex.unexposed))},
            "response": self.response,
            "injured": self.injured.as_dict(),
            "shelter": self.shelter.as_dict(),
            "needs": self.needs,
            "counties": self.counties,
            "nearest_towns": self.towns,
            "historical": self.historical,
            "alerts": {"fatalities": self.fatalities.alert, "economic": self.economic.alert},
            "warnings": list(self.warnings),
            "limitations": list(_limitations(getattr(self.shaking, "source", ""))),
        }
        return out


def _limitations(source: str) -> tuple[str, ...]:
    if source.startswith("Yu et al. (2013)"):
        return (LIMITATIONS[0], XINJIANG_INTENSITY_LIMITATION, *LIMITATIONS[2:])
    return LIMITATIONS


def intensity_model(intensity=None):
    """The prediction callable for ``intensity``: None or ``"simple"``, ``"xinjiang"`` (:data:`INTENSITY_MODELS`),
    or a callable (returned as is)."""
    if intensity is None or callable(intensity):
        from tianshan.products.loss import simple_intensity

        return intensity or simple_intensity.predict_shaking
    name = str(intensity).strip().lower()
    if name == "simple":
        from tianshan.products.loss import simple_intensity

        return simple_intensity.predict_shaking
    if name == "xinjiang":
        from tianshan.products.loss import xinjiang_intensity

        return xinjiang_intensity.predict_shaking
    raise InputError(f"unknown intensity model {intensity!r}; one of {', '.join(INTENSITY_MODELS)}", field="--gmm")


def assess(shaking, exposure: Exposure, *, latitude_deg: float, longitude_deg: float, magnitude: float,
           historical=(), options: LossOptions = LossOptions(), scenario: Scenario | None = None,
           rupture: dict | None = None) -> ScenarioResult:
    """The loss chain from an intensity field (module docstring)."""
    near = exposure.nearest_populated_km(latitude_deg, longitude_deg)
    if near > options.max_outside_km:
        w, s, e, n = exposure.bounds
        raise InputError(f"epicentre ({latitude_deg:.3f} N, {longitude_deg:.3f} E) is outside the exposure area "
                         f"{exposure.name!r} ({w:.1f}..{e:.1f} E, {s:.1f}..{n:.1f} N): nearest populated place "
                         f"{near:.0f} km away (limit {options.max_outside_km:g} km)", field="lat, lon")
    result = expose(exposure, shaking)
    fat = pager.estimate_fatalities(result.by_mmi)
    econ = pager.estimate_economic_loss(result.by_mmi, gdp_per_capita_usd=options.gdp_per_capita_usd)
    injured = casualties.estimate_injured(fat, options.injured_per_death)
    shelter = casualties.estimate_shelter(result.by_mmi, options.vulnerability_class)
    unit = exposure.unit_of(latitude_deg, longitude_deg)
    density = unit.density_per_km2 if unit is not None else None
    level = response.response_level(magnitude, fat.median, density, economic_loss_usd=econ.median,
                                    provincial_gdp_usd=options.provincial_gdp_usd,
                                    sparse_below_per_km2=options.sparse_below_per_km2)
    level["epicentral_unit"] = None if unit is None else {"code": unit.code, "name": unit.name, "kind": unit.kind}
    counties = response.rank_units(result, pager.fatalities_by_unit(result.by_unit),
                                   casualties.shelter_by_unit(result.by_unit, options.vulnerability_class),
                                   top=options.top_units)
    towns = response.nearest_towns(exposure, shaking, latitude_deg, longitude_deg, options.nearest_towns)
    needs = response.needs(shelter.people, exposure, shaking)
    hist = response.historical_near(historical, latitude_deg, longitude_deg, options.historical_radius_km)
    return ScenarioResult(scenario, shaking, result, fat, econ, injured, shelter, level, counties, towns, needs, hist,
                          rupture or {}, tuple(exposure.warnings))


# --------------------------------------------------------------------------- faults and scenarios


def _segment_strike(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat_m = math.radians(0.5 * (a[1] + b[1]))
    dx = (b[0] - a[0]) * math.cos(lat_m)
    dy = b[1] - a[1]
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _nearest_segment(fault, lat: float, lon: float) -> tuple[float, float]:
    """(distance km, strike deg) of the trace segment nearest a point (local flat projection)."""
    from tianshan.products.loss.shaking import EARTH_RADIUS_KM

    k = math.radians(1.0) * EARTH_RADIUS_KM
    c = math.cos(math.radians(lat))
    best = (math.inf, 0.0)
    for a, b in zip(fault.coordinates, fault.coordinates[1:]):
        ax, ay = (a[0] - lon) * c * k, (a[1] - lat) * k
        bx, by = (b[0] - lon) * c * k, (b[1] - lat) * k
        dx, dy = bx - ax, by - ay
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / L2))
        d = math.hypot(ax + t * dx, ay + t * dy)
        if d < best[0]:
            best = (d, _segment_strike(a, b))
    return best


def fault_orientation(faults, which: str, latitude_deg: float, longitude_deg: float) -> dict:
    """Strike/dip/rake from a region fault: ``which`` = ``"nearest"`` or a fault name (module docstring).

    Returns ``{"strike_deg", "dip_deg", "rake_deg", "fault", "fault_distance_km", "orientation"}``;
    for ``"nearest"`` with no trace within :data:`NEAREST_FAULT_KM` the orientation is unknown
    (``strike_deg`` None).
    """
    if not faults:
        raise InputError("no fault traces in the region (faults*.geojson) to take the orientation from",
                         field="--fault")
    if which.lower() == "nearest":
        cands = list(faults)
    else:
        cands = [f for f in faults if f.name and f.name.lower() == which.lower()]
        if not cands:
            names = sorted({f.name for f in faults if f.name})
            hint = f" (known: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''})" if names else ""
            raise InputError(f"no fault named {which!r} in the region{hint}", field="--fault")
    best = None
    for f in cands:
        d, strike = _nearest_segment(f, latitude_deg, longitude_deg)
        if best is None or d < best[0]:
            best = (d, strike, f)
    d, strike, f = best
    if which.lower() == "nearest" and d > NEAREST_FAULT_KM:
        return {"strike_deg": None, "dip_deg": None, "rake_deg": None, "fault": None,
                "fault_distance_km": round(d, 1),
                "orientation": f"unknown: no fault trace within {NEAREST_FAULT_KM:g} km (averaged over strikes)"}
    rake = f.rake_deg
    if rake is None:
        rake = SLIP_TYPE_RAKE.get((f.slip_type or "").strip().lower())
    return {"strike_deg": round(strike, 1), "dip_deg": f.dip_deg, "rake_deg": rake,
            "fault": f.name or f"({f.slip_type or 'unnamed'} trace)", "fault_distance_km": round(d, 1),
            "orientation": "from the fault trace nearest the epicentre"}


def run_scenario(scenario: Scenario, exposure: Exposure, *, faults=(), historical=(),
                 options: LossOptions = LossOptions(), intensity=None, shaking=None) -> ScenarioResult:
    """Predict the field for ``scenario`` (unless ``shaking`` is given) with ``intensity`` (a name of
    :data:`INTENSITY_MODELS` or a callable; :func:`intensity_model`) and run :func:`assess`."""
    from tianshan.products.loss import simple_intensity

    predict = intensity_model(intensity) if shaking is None else None

    rup: dict = {"strike_deg": scenario.strike_deg, "dip_deg": scenario.dip_deg, "rake_deg": scenario.rake_deg,
                 "fault": None, "orientation": "given" if scenario.strike_deg is not None else
                 "unknown (averaged over strikes)"}
    if scenario.fault and scenario.strike_deg is None:
        rup.update(fault_orientation(faults, scenario.fault, scenario.latitude_deg, scenario.longitude_deg))
        for key in ("dip_deg", "rake_deg"):
            if getattr(scenario, key) is not None:
                rup[key] = getattr(scenario, key)
    near = exposure.nearest_populated_km(scenario.latitude_deg, scenario.longitude_deg)
    if near > options.max_outside_km:  # the check assess() makes, before spending time on the prediction
        raise InputError(f"epicentre ({scenario.latitude_deg:.3f} N, {scenario.longitude_deg:.3f} E) is outside the "
                         f"exposure area {exposure.name!r}: nearest populated place {near:.0f} km away "
                         f"(limit {options.max_outside_km:g} km)", field="lat, lon")
    if shaking is None:
        dip = rup.get("dip_deg") or 90.0
        rake = rup.get("rake_deg")
        rake = simple_intensity.DEFAULT_RAKE_DEG if rake is None else rake
        rup["dip_deg"], rup["rake_deg"] = dip, rake
        length = simple_intensity.rupture_length_km(scenario.magnitude)
        rup["rupture_length_km"] = round(length, 1) if rup.get("strike_deg") is not None else None
        shaking = predict(scenario.latitude_deg, scenario.longitude_deg, scenario.depth_km, scenario.magnitude,
                          strike_deg=rup.get("strike_deg"), dip_deg=dip, rake_deg=rake)
    return assess(shaking, exposure, latitude_deg=scenario.latitude_deg, longitude_deg=scenario.longitude_deg,
                  magnitude=scenario.magnitude, historical=historical, options=options, scenario=scenario,
                  rupture=rup)


# --------------------------------------------------------------------------- region context


@dataclass(frozen=True, slots=True, eq=False)
class RegionContext:
    """What a scenario needs from a region: exposure, fault traces, historical earthquakes."""

    exposure: Exposure
    faults: tuple = ()
    historical: tuple = ()
    notes: tuple[str, ...] = ()


def _first(folder: Path, *patterns: str) -> Path | None:
    hits = [p for p in sorted(folder.iterdir())
            if p.is_file() and any(fnmatch.fnmatch(p.name.lower(), pat) for pat in patterns)]
    return hits[0] if hits else None


def load_context(region: str | Path = "demo", *, raster: str | Path | None = None,
                 historical: str | Path | None = None, faults: str | Path | None = None) -> RegionContext:
    """Exposure (:func:`.exposure.load_exposure`), ``faults*.geojson`` and ``historical*.csv`` of a
    region folder (or ``"demo"``); explicit paths override the folder's files."""
    from tianshan.regions.faults_geojson import read_faults_geojson

    exposure = load_exposure(region, raster=raster)
    notes: list[str] = []
    folder = None if str(region) == "demo" else Path(region)
    fpath = Path(faults) if faults is not None else (_first(folder, "faults*.geojson") if folder else None)
    hpath = Path(historical) if historical is not None else (_first(folder, "historical*.csv") if folder else None)
    fault_list: tuple = ()
    if fpath is not None:
        fault_list, skipped = read_faults_geojson(fpath)
        if skipped:
            notes.append(f"{skipped} unusable fault feature(s) skipped in {fpath.name}")
    events: tuple = ()
    if hpath is not None:
        events, skipped = response.read_historical_csv(hpath)
        if skipped:
            notes.append(f"{skipped} historical row(s) without year or position skipped in {hpath.name}")
    return RegionContext(exposure, fault_list, events, tuple(notes))
