"""Injured and people needing shelter, from the fatality estimate and the exposure.

Injured -- ``injured = k * deaths`` with ``k`` the median ratio of injured to dead in
Xinjiang's own record: the 11 earthquakes since 1970 in ``historical_significant_noaa.csv``
(NOAA NCEI Global Significant Earthquake Database, location naming Xinjiang) with at least
one death and a recorded number of injured give ratios 2.28 (1985 Wuqia), 5.33 (1996
Artux), 3.33, 3.0, 9.89, 2.33 (1997-1998 Jiashi), 15.3 (2003 Bachu), 3.0, 4.27 (2003
Zhaosu), 87.7 (2015 Pishan/Hotan), 2.88 (2017 Taxkorgan): median **10/3** (geometric mean
5.5). :func:`injury_ratio_from_catalog` recomputes it from such a file. The ratio carries the
fatality estimate's percentiles over unchanged; it says nothing when the death estimate is 0.

People needing shelter -- residents of dwellings made uninhabitable, taken as EMS-98 damage
grade >= 3 ("substantial to heavy damage"), with the fraction of buildings in that state read
from the European Macroseismic Scale 1998 intensity definitions (Grünthal, G. (ed.) 1998,
Cahiers du Centre Européen de Géodynamique et de Séismologie 15) for the chosen
vulnerability class, MMI being taken as equal to EMS-98 intensity (Musson, Grünthal &
Stucchi 2010, J. Seismol. 14:413-428, find the two scales equivalent). Reading rule: the
definition's quantities at their midpoints (EMS-98 "few" 0-20 % -> 10 %, "many" 10-60 % ->
35 %, "most" 50-100 % -> 75 %); the buildings the definition does not mention are taken one
grade below its "many" grade. Resulting uninhabitable fractions (VI, VII, VIII, IX, X+):

* class A (adobe, rubble stone, 土坯/土木): 0, 0.45, 1, 1, 1
* class B (unreinforced brick, simple stone, 砖木/未设防砖混): 0, 0.10, 0.45, 1, 1
* class C (reinforced/confined masonry, RC without earthquake-resistant design; 设防砖混):
  0, 0, 0.10, 0.45, 1 -- the default: most of Xinjiang's rural housing was rebuilt to
  seismic codes by the 2011-2020 安居富民 programme; choose B for older building stock.

Below VI no dwelling is counted uninhabitable. Everyone in an uninhabitable dwelling is
counted as needing shelter (in Xinjiang's climate few can stay outdoors; staying with
relatives is not modelled). Tents: see :mod:`.response`.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from tianshan.core.errors import InputError

#: Median injured/dead ratio of Xinjiang's recorded earthquakes since 1970 (module docstring).
INJURED_PER_DEATH = 10.0 / 3.0
#: Fraction of dwellings uninhabitable (EMS-98 grade >= 3) for MMI bins I..X, by vulnerability class.
UNINHABITABLE_FRACTION = {
    "A": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.45, 1.0, 1.0, 1.0),
    "B": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.10, 0.45, 1.0, 1.0),
    "C": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.10, 0.45, 1.0),
}
DEFAULT_VULNERABILITY_CLASS = "C"


@dataclass(frozen=True, slots=True)
class Injured:
    median: float
    p10: float
    p90: float
    ratio: float

    def as_dict(self) -> dict:
        return {"median": round(self.median), "p10": round(self.p10), "p90": round(self.p90),
                "injured_per_death": round(self.ratio, 3)}


@dataclass(frozen=True, slots=True)
class Shelter:
    people: float
    by_mmi: tuple[float, ...]
    vulnerability_class: str

    def as_dict(self) -> dict:
        return {"people_needing_shelter": round(self.people), "vulnerability_class": self.vulnerability_class}


def estimate_injured(fatalities, ratio: float = INJURED_PER_DEATH) -> Injured:
    """Injured from a :class:`~tianshan.products.loss.pager.LossEstimate` of deaths (module docstring)."""
    if not (math.isfinite(ratio) and ratio >= 0):
        raise InputError(f"must be >= 0, got {ratio!r}", field="injured_per_death")
    return Injured(fatalities.median * ratio, fatalities.p10 * ratio, fatalities.p90 * ratio, ratio)


def uninhabitable_fractions(vulnerability_class: str = DEFAULT_VULNERABILITY_CLASS) -> tuple[float, ...]:
    try:
        return UNINHABITABLE_FRACTION[str(vulnerability_class).upper()]
    except KeyError:
        raise InputError(f"unknown vulnerability class {vulnerability_class!r}; expected one of "
                         f"{', '.join(UNINHABITABLE_FRACTION)}", field="vulnerability_class") from None


def estimate_shelter(by_mmi, vulnerability_class: str = DEFAULT_VULNERABILITY_CLASS) -> Shelter:
    """People needing shelter from population per MMI bin I..X (module docstring)."""
    frac = uninhabitable_fractions(vulnerability_class)
    pop = [float(v) for v in by_mmi]
    if len(pop) != 10 or not all(math.isfinite(v) and v >= 0 for v in pop):
        raise InputError("exposure must give 10 populations (MMI I..X), finite and >= 0", field="by_mmi")
    contrib = tuple(p * f for p, f in zip(pop, frac))
    return Shelter(sum(contrib), contrib, str(vulnerability_class).upper())


def shelter_by_unit(by_unit, vulnerability_class: str = DEFAULT_VULNERABILITY_CLASS):
    """People needing shelter per unit (rows of a (n_units, 10) population array)."""
    import numpy as np

    return np.asarray(by_unit, dtype=np.float64) @ np.asarray(uninhabitable_fractions(vulnerability_class))


def injury_ratio_from_catalog(path: str | Path, since_year: int = 1970, place: str = "XINJIAN") -> tuple[float, int]:
    """(median injured/dead ratio, number of events) from a NOAA NCEI significant-earthquake CSV
    (columns ``YEAR, LOCATION_NAME, DEATHS|TOTAL_DEATHS, INJURIES|TOTAL_INJURIES``), over events
    since ``since_year`` whose location contains ``place`` (or "XINGJIANG", a spelling in the file)
    with at least one death and a number of injured."""
    ratios = []
    src = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("historical earthquake file not found", source=src) from None
    for lineno, r in enumerate(csv.DictReader(text.splitlines()), start=2):
        try:
            year = int((r.get("YEAR") or "").strip())
        except ValueError:
            continue
        loc = (r.get("LOCATION_NAME") or "").upper()
        if year < since_year or not (place in loc or "XINGJIANG" in loc):
            continue
        d = (r.get("DEATHS") or "").strip() or (r.get("TOTAL_DEATHS") or "").strip()
        i = (r.get("INJURIES") or "").strip() or (r.get("TOTAL_INJURIES") or "").strip()
        try:
            deaths, injured = float(d), float(i)
        except ValueError:
            continue
        if deaths >= 1:
            ratios.append(injured / deaths)
    if not ratios:
        raise InputError("no event with both deaths and injured", source=src)
    return statistics.median(ratios), len(ratios)
