"""Decision support: national response level, where the people are, what is needed, what happened before.

Response level -- 《国家地震应急预案》 (National Earthquake Emergency Plan, State Council
General Office, revised 2012-08-28; www.gov.cn/gongbao/content/2012/content_2238963.htm),
section 3.1 地震灾害分级 and 3.2 分级响应, quoted (text checked against Xinhua's summary of the
2012 plan, news.sohu.com/20141008/n404916703.shtml):

* 特别重大地震灾害 (response 级别 Ⅰ): "造成300人以上死亡(含失踪),或者直接经济损失占地震发生地
  省(区、市)上年国内生产总值1%以上的地震灾害。当人口较密集地区发生7.0级以上地震,人口密集地区
  发生6.0级以上地震,初判为特别重大地震灾害。"
* 重大地震灾害 (Ⅱ): "造成50人以上、300人以下死亡(含失踪)或者造成严重经济损失的地震灾害。当人口较
  密集地区发生6.0级以上、7.0级以下地震,人口密集地区发生5.0级以上、6.0级以下地震,初判为重大地震灾害。"
* 较大地震灾害 (Ⅲ): "造成10人以上、50人以下死亡(含失踪)或者造成较重经济损失的地震灾害。当人口较密集
  地区发生5.0级以上、6.0级以下地震,人口密集地区发生4.0级以上、5.0级以下地震,初判为较大地震灾害。"
* 一般地震灾害 (Ⅳ): "造成10人以下死亡(含失踪)或者造成一定经济损失的地震灾害。当人口较密集地区发生
  4.0级以上、5.0级以下地震,初判为一般地震灾害。"

The plan gives no number for 人口密集/人口较密集. Provincial grading tables that implement it
define 人口密集地区 as an epicentral county (县、市、区) with an average density above
200 people/km^2 and apply the 人口较密集 column to all other areas ("地震灾害分级标准表",
e.g. yzwku.com/doc/408537.html);
this module does the same with the epicentral county's census density (unknown density,
e.g. town-point exposures: the 人口较密集 column). ``sparse_below_per_km2`` (off by default)
lets a user treat nearly empty counties as neither, so that magnitude alone does not
grade them.

Three gradings are reported: 初判 by magnitude and density, by the estimated deaths (the
PAGER median, counting "以上" inclusively and one death or more as 一般), and -- only when the
province's previous-year GDP is given -- 特别重大 by direct economic loss >= 1 % of it. The
recommended level is the most severe of them, because the plan grades by whichever
criterion is met ("或者") and the initial judgement stands until losses are known.

Needs, from planning ratios:

* tents -- one UNHCR family tent per 5 people needing shelter (UNHCR family tent: 16 m^2
  for 5 persons; Sphere Handbook 2018, Shelter and settlement standard 3: at least
  3.5 m^2 of covered living space per person);
* water -- 15 litres per person per day for people needing shelter (Sphere 2018, Water
  supply standard 2.1);
* urban search and rescue -- INSARAG Guidelines 2020, Vol. II Manual A: a Medium USAR team
  works one work site around the clock, a Heavy team two sites at once. One work site per
  populated settlement at MMI VIII (where class C buildings begin to collapse, see
  :mod:`.casualties`), two at IX and above; teams = sites (Medium) or ceil(sites/2) (Heavy).

Historical earthquakes -- the NOAA NCEI significant-earthquake table of the region
(``historical*.csv``: YEAR, MONTH, DAY, LATITUDE, LONGITUDE, FOCAL_DEPTH, EQ_PRIMARY,
LOCATION_NAME, DEATHS, INJURIES, HOUSES_DESTROYED...), events within ``radius_km`` of the
epicentre, nearest first.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from tianshan.core.errors import InputError

#: (response level, 中文, English) from the most to the least severe.
LEVELS = (("I", "特别重大", "particularly serious"), ("II", "重大", "serious"), ("III", "较大", "relatively serious"),
          ("IV", "一般", "general"))
#: Deaths (含失踪) at or above which each level applies.
DEATH_THRESHOLDS = (300.0, 50.0, 10.0, 1.0)
#: 初判 magnitude thresholds for I, II, III, IV: 人口密集 / 人口较密集 (None: no level by magnitude).
MAGNITUDE_THRESHOLDS_DENSE = (6.0, 5.0, 4.0, None)
MAGNITUDE_THRESHOLDS_FAIRLY_DENSE = (7.0, 6.0, 5.0, 4.0)
DENSE_PER_KM2 = 200.0
ECONOMIC_SHARE_OF_PROVINCIAL_GDP = 0.01
PERSONS_PER_TENT = 5
WATER_L_PER_PERSON_DAY = 15.0
USAR_MMI_ONE_SITE = 8
USAR_MMI_TWO_SITES = 9


def _level(index: int | None) -> dict | None:
    if index is None:
        return None
    code, zh, en = LEVELS[index]
    return {"response": code, "grade_zh": zh, "grade_en": en}


def level_by_deaths(deaths: float) -> int | None:
    """Index into :data:`LEVELS` (0 = I) for a number of deaths, None below one."""
    for i, t in enumerate(DEATH_THRESHOLDS):
        if deaths >= t:
            return i
    return None


def density_class(density_per_km2: float | None, sparse_below_per_km2: float | None = None) -> str:
    """``"dense"`` (人口密集), ``"fairly_dense"`` (人口较密集, also for unknown) or ``"sparse"``."""
    if density_per_km2 is not None and density_per_km2 >= DENSE_PER_KM2:
        return "dense"
    if sparse_below_per_km2 is not None and density_per_km2 is not None and density_per_km2 < sparse_below_per_km2:
        return "sparse"
    return "fairly_dense"


def level_by_magnitude(magnitude: float, dclass: str) -> int | None:
    """初判 level index for a magnitude in a density class (module docstring)."""
    if dclass == "sparse":
        return None
    table = MAGNITUDE_THRESHOLDS_DENSE if dclass == "dense" else MAGNITUDE_THRESHOLDS_FAIRLY_DENSE
    for i, t in enumerate(table):
        if t is not None and magnitude >= t:
            return i
    return None


def response_level(magnitude: float, deaths_median: float, density_per_km2: float | None, *,
                   economic_loss_usd: float | None = None, provincial_gdp_usd: float | None = None,
                   sparse_below_per_km2: float | None = None) -> dict:
    """The three gradings and the recommended level (module docstring) as a JSON-ready dict."""
    if not math.isfinite(magnitude):
        raise InputError(f"magnitude must be finite, got {magnitude!r}", field="magnitude")
    dclass = density_class(density_per_km2, sparse_below_per_km2)
    by_mag = level_by_magnitude(magnitude, dclass)
    by_deaths = level_by_deaths(deaths_median)
    by_econ = None
    econ_note = "not applied: no provincial GDP given"
    if provincial_gdp_usd is not None:
        if not (math.isfinite(provincial_gdp_usd) and provincial_gdp_usd > 0):
            raise InputError(f"must be > 0, got {provincial_gdp_usd!r}", field="provincial_gdp_usd")
        share = (economic_loss_usd or 0.0) / provincial_gdp_usd
        by_econ = 0 if share >= ECONOMIC_SHARE_OF_PROVINCIAL_GDP else None
        econ_note = f"loss is {100 * share:.3g} % of provincial GDP (特别重大 at 1 %)"
    candidates = [i for i in (by_mag, by_deaths, by_econ) if i is not None]
    rec = min(candidates) if candidates else None
    return {
        "recommended": _level(rec),
        "initial_by_magnitude": _level(by_mag),
        "by_estimated_deaths": _level(by_deaths),
        "by_economic_loss": _level(by_econ),
        "economic_criterion": econ_note,
        "density_per_km2": None if density_per_km2 is None else round(density_per_km2, 2),
        "density_class": {"dense": "人口密集 (>= 200/km2)", "fairly_dense": "人口较密集 (其他地区)",
                          "sparse": "sparse (no grading by magnitude)"}[dclass],
        "source": "国家地震应急预案 (2012-08-28 revision), 3.1 地震灾害分级",
    }


# --------------------------------------------------------------------------- counties and towns


def rank_units(result, fatalities_per_unit=None, shelter_per_unit=None, top: int = 10) -> list[dict]:
    """Units ordered by people at VI+, then VII+, then VIII+ (descending); only units with people at VI+."""
    import numpy as np

    ex = result.exposure
    vi, vii, viii = (result.unit_population_at_least(k) for k in (6, 7, 8))
    max_mmi = np.full(len(ex.units), np.nan)
    ok = np.isfinite(result.point_mmi) & (ex.population > 0)
    if ok.any():
        np.fmax.at(max_mmi, ex.unit_index[ok], result.point_mmi[ok])
    order = sorted((i for i in range(len(ex.units)) if vi[i] >= 0.5), key=lambda i: (-vi[i], -vii[i], -viii[i]))
    rows = []
    for i in order[:top]:
        u = ex.units[i]
        row = {"code": u.code, "name": u.name, "prefecture": u.prefecture, "kind": u.kind,
               "population": u.population, "exposed_vi_plus": int(round(vi[i])),
               "exposed_vii_plus": int(round(vii[i])), "exposed_viii_plus": int(round(viii[i])),
               "max_mmi": None if not np.isfinite(max_mmi[i]) else round(float(max_mmi[i]), 1)}
        if fatalities_per_unit is not None:
            row["deaths_median"] = round(float(fatalities_per_unit[i]), 1)
        if shelter_per_unit is not None:
            row["people_needing_shelter"] = int(round(float(shelter_per_unit[i])))
        rows.append(row)
    return rows


def nearest_towns(exposure, shaking, latitude_deg: float, longitude_deg: float, n: int = 10) -> list[dict]:
    """The ``n`` settlements nearest the epicentre with their predicted MMI and distance."""
    import numpy as np

    from tianshan.products.loss.shaking import great_circle_km

    sets = exposure.settlements
    if not sets:
        return []
    lat = np.array([s.latitude_deg for s in sets])
    lon = np.array([s.longitude_deg for s in sets])
    dist = great_circle_km(latitude_deg, longitude_deg, lat, lon)
    order = np.argsort(dist, kind="stable")[:n]
    mmi, sig = shaking.sample(lat[order], lon[order])
    names = {u.code: u.name for u in exposure.units}
    out = []
    for j, i in enumerate(order):
        s = sets[i]
        out.append({"name": s.name, "name_zh": s.name_zh, "kind": s.kind, "population": s.population,
                    "unit": names.get(s.unit_code, s.unit_code), "distance_km": round(float(dist[i]), 1),
                    "mmi": None if not np.isfinite(mmi[j]) else round(float(mmi[j]), 1),
                    "mmi_sigma": None if not np.isfinite(sig[j]) else round(float(sig[j]), 2)})
    return out


def needs(shelter_people: float, exposure, shaking) -> dict:
    """Tents, water and USAR teams from the planning ratios in the module docstring."""
    import numpy as np

    sets = [s for s in exposure.settlements if s.population or s.kind == "county point"]
    sites = 0
    if sets:
        mmi, _ = shaking.sample([s.latitude_deg for s in sets], [s.longitude_deg for s in sets])
        mmi = np.where(np.isfinite(mmi), mmi, 0.0)
        sites = int(np.sum(mmi >= USAR_MMI_ONE_SITE - 0.5) + np.sum(mmi >= USAR_MMI_TWO_SITES - 0.5))
    return {"tents": int(math.ceil(shelter_people / PERSONS_PER_TENT)),
            "water_litres_per_day": int(round(shelter_people * WATER_L_PER_PERSON_DAY)),
            "usar_work_sites": sites, "usar_medium_teams": sites, "usar_heavy_teams": int(math.ceil(sites / 2)),
            "basis": "UNHCR family tent 5 persons (Sphere 2018: 3.5 m2/person); Sphere 2018 water 15 L/person/day; "
                     "INSARAG 2020: Medium team 1 site, Heavy 2 sites; one site per settlement at MMI VIII, two at IX+"}


# --------------------------------------------------------------------------- historical earthquakes


@dataclass(frozen=True, slots=True)
class HistoricalEarthquake:
    """One row of a NOAA NCEI significant-earthquake table (counts None when not recorded)."""

    year: int
    month: int | None
    day: int | None
    latitude_deg: float
    longitude_deg: float
    depth_km: float | None
    magnitude: float | None
    magnitude_mw: float | None
    location: str
    deaths: int | None
    injuries: int | None
    houses_destroyed: int | None

    @property
    def date(self) -> str:
        parts = [f"{self.year:04d}" if self.year >= 0 else str(self.year)]
        if self.month:
            parts.append(f"{self.month:02d}")
            if self.day:
                parts.append(f"{self.day:02d}")
        return "-".join(parts)


def _num(text: str | None) -> float | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_historical_csv(path: str | Path) -> tuple[tuple[HistoricalEarthquake, ...], int]:
    """(earthquakes, rows skipped) from a NOAA NCEI CSV; rows without a year or position are skipped."""
    src = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("historical earthquake file not found", source=src) from None
    except UnicodeDecodeError:
        raise InputError("historical earthquake file is not UTF-8 text", source=src) from None
    reader = csv.DictReader(text.splitlines())
    header = set(reader.fieldnames or [])
    need = {"YEAR", "LATITUDE", "LONGITUDE"}
    if not need <= header:
        raise InputError(f"not a NOAA significant-earthquake table: missing {', '.join(sorted(need - header))}",
                         source=src, line=1)
    out: list[HistoricalEarthquake] = []
    skipped = 0
    for r in reader:
        year, lat, lon = _num(r.get("YEAR")), _num(r.get("LATITUDE")), _num(r.get("LONGITUDE"))
        if year is None or lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            skipped += 1
            continue

        def count(*cols: str) -> int | None:
            for c in cols:
                v = _num(r.get(c))
                if v is not None:
                    return int(v)
            return None

        month, day = _num(r.get("MONTH")), _num(r.get("DAY"))
        out.append(HistoricalEarthquake(
            int(year), int(month) if month else None, int(day) if day else None, lat, lon, _num(r.get("FOCAL_DEPTH")),
            _num(r.get("EQ_PRIMARY")), _num(r.get("EQ_MAG_MW")), " ".join((r.get("LOCATION_NAME") or "").split()),
            count("DEATHS", "TOTAL_DEATHS"), count("INJURIES", "TOTAL_INJURIES"),
            count("HOUSES_DESTROYED", "TOTAL_HOUSES_DESTROYED")))
    return tuple(out), skipped


def historical_near(events, latitude_deg: float, longitude_deg: float, radius_km: float = 200.0,
                    limit: int = 15) -> list[dict]:
    """Events within ``radius_km`` of a point, nearest first (at most ``limit``)."""
    import numpy as np

    from tianshan.products.loss.shaking import great_circle_km

    if not events:
        return []
    d = great_circle_km(latitude_deg, longitude_deg, [e.latitude_deg for e in events],
                        [e.longitude_deg for e in events])
    order = [i for i in np.argsort(d, kind="stable") if d[i] <= radius_km][:limit]
    return [{"date": events[i].date, "magnitude": events[i].magnitude, "depth_km": events[i].depth_km,
             "location": events[i].location, "distance_km": round(float(d[i]), 1), "deaths": events[i].deaths,
             "injuries": events[i].injuries, "houses_destroyed": events[i].houses_destroyed} for i in order]
