"""Station observations for conditioning: which values are usable, and a flag for every one that is not.

Input: :class:`tianshan.io.shakemap_xml.StationRecord` (or anything with the same fields).
Output: :class:`StationObservation` -- the usable peak values in SI units and the flags.
Nothing is dropped silently: a station or a value that cannot be used stays in the output
with its flags (and its values left out), so that the station table of a map shows it.

Rules
-----
Station-level flags (the whole station is unused):

* ``bad_coordinates`` -- latitude/longitude missing or not a coordinate;
* ``missing_code`` -- no station code;
* ``duplicate`` -- the same ``NET.CODE`` (case-insensitive) appeared earlier in the input;
  the first occurrence is kept, every later one is flagged (ShakeMap keeps one entry per
  station too);
* ``missing_intensity`` / ``absurd_amplitude`` -- a macroseismic station without an
  intensity, or with one outside 1-12.

Value-level flags, per intensity measure of a seismic station (that IMT is unused):

* ``unknown_units`` -- a component's value has units we do not know (never guessed);
* ``not_a_number`` -- the value text is not a number;
* ``input_flag:<F>`` -- the input flagged the value (ShakeMap flags other than ``0``);
* ``absurd_amplitude`` -- not > 0, or above :attr:`Limits` (PGA and PSA 50 m/s^2 -- about 5 g,
  the refusal level of :mod:`tianshan.groundmotion.intensity.records` -- PGV 5 m/s): no real
  record reaches these, unit errors do;
* ``missing_component`` -- one horizontal direction only (e.g. ``N`` without ``E``): the
  larger of two horizontals cannot be formed. A single *non-directional* component (ShakeMap's
  ``UNK``/``H``, as in historic data) is taken as the reported peak horizontal.

Vertical components (names ending in ``Z``, ``U`` or ``UD``) are not used by design (ShakeMap
and the ground-motion models use horizontal motion). A value is the **larger of the
horizontal components** (ShakeMap's station-list convention); when any horizontal component of
an IMT is flagged the IMT is unused (taking the larger of the remaining ones would bias it low).
Amplitudes ShakeMap derived from intensity on macroseismic stations are ignored (the intensity
is the observation).

Outliers (a model-dependent rule) are flagged later, by :mod:`.pipeline`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

__all__ = ["Limits", "StationObservation", "prepare_stations", "FLAGS", "DEFAULT_MMI_SD"]

#: ShakeMap v4's default standard deviation of an intensity observation (``default_mmi_stddev``).
DEFAULT_MMI_SD = 0.3
#: Every flag this module can set (``input_flag:<F>`` carries the input's letter).
FLAGS = ("bad_coordinates", "missing_code", "duplicate", "missing_intensity", "absurd_amplitude", "unknown_units",
         "not_a_number", "input_flag", "missing_component", "no_horizontal")
_VERTICAL_SUFFIXES = ("Z", "U", "UD", "V")
_DIRECTIONAL_SUFFIXES = ("N", "E", "1", "2", "NS", "EW", "X", "Y", "H1", "H2")


@dataclass(frozen=True, slots=True)
class Limits:
    """Largest believable amplitudes (SI) by IMT family (module docstring)."""

    max_acc_m_s2: float = 50.0
    max_vel_m_s: float = 5.0

    def limit(self, imt: str) -> float:
        return self.max_vel_m_s if imt == "pgv" else self.max_acc_m_s2


@dataclass(frozen=True, slots=True)
class StationObservation:
    """One station's usable observations and flags (module docstring).

    ``motions``: IMT key -> larger-horizontal peak in SI units (m/s^2, m/s), usable values only;
    ``mmi``/``mmi_sd``: the macroseismic observation; ``flags``: station-level flags;
    ``imt_flags``: IMT -> flags of values that are not used.
    """

    station_id: str
    code: str
    network: str
    name: str
    latitude_deg: float
    longitude_deg: float
    kind: str
    motions: Mapping[str, float] = field(default_factory=dict)
    mmi: float | None = None
    mmi_sd: float | None = None
    flags: tuple[str, ...] = ()
    imt_flags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reported_mmi: float | None = None

    @property
    def usable(self) -> bool:
        """No station-level flag and at least one usable observation."""
        return not self.flags and (bool(self.motions) or self.mmi is not None)

    def all_flags(self) -> tuple[str, ...]:
        """Station flags and ``<imt>:<flag>`` for every unused value, sorted."""
        out = list(self.flags)
        for imt, fl in sorted(self.imt_flags.items()):
            out.extend(f"{imt}:{f}" for f in fl)
        return tuple(out)


def _is_vertical(name: str) -> bool:
    return name.upper().strip().endswith(_VERTICAL_SUFFIXES)


def _is_directional(name: str) -> bool:
    n = name.upper().strip().split(".")[-1]
    return n.endswith(_DIRECTIONAL_SUFFIXES) and n not in ("UNK", "H", "HORIZONTAL", "MAX")


def _motions(rec, limits: Limits) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    by_imt: dict[str, list[tuple[str, object]]] = {}
    for comp in rec.components:
        if _is_vertical(comp.name):
            continue
        for amp in comp.amplitudes:
            by_imt.setdefault(amp.imt, []).append((comp.name, amp))
    motions: dict[str, float] = {}
    flags: dict[str, tuple[str, ...]] = {}
    for imt, items in sorted(by_imt.items()):
        problems: list[str] = []
        values = []
        directional = [n for n, _ in items if _is_directional(n)]
        for name, amp in items:
            if amp.problem:
                problems.append(amp.problem)
            elif amp.input_flagged:
                problems.append(f"input_flag:{amp.flag}")
            elif not (amp.value_si > 0 and amp.value_si <= limits.limit(imt)):
                problems.append("absurd_amplitude")
            else:
                values.append(amp.value_si)
        if not problems and len(items) == 1 and directional:
            problems.append("missing_component")
        if problems:
            flags[imt] = tuple(dict.fromkeys(problems))
        elif values:
            motions[imt] = max(values)
    return motions, flags


def prepare_stations(records: Iterable, limits: Limits = Limits(),
                     default_mmi_sd: float = DEFAULT_MMI_SD) -> tuple[StationObservation, ...]:
    """Apply the rules of the module docstring to station records, in input order."""
    seen: set[str] = set()
    out = []
    for rec in records:
        flags = list(getattr(rec, "problems", ()) or ())
        sid = rec.station_id
        key = sid.upper()
        if key in seen:
            flags.append("duplicate")
        seen.add(key)
        lat, lon = float(rec.latitude_deg), float(rec.longitude_deg)
        if not (math.isfinite(lat) and math.isfinite(lon)) and "bad_coordinates" not in flags:
            flags.append("bad_coordinates")
        motions: dict[str, float] = {}
        imt_flags: dict[str, tuple[str, ...]] = {}
        mmi = mmi_sd = None
        if rec.kind == "macroseismic":
            v = rec.intensity_mmi
            if v is None:
                if "missing_intensity" not in flags:
                    flags.append("missing_intensity")
            elif not (1.0 <= float(v) <= 12.0):
                flags.append("absurd_amplitude")
            else:
                mmi = float(v)
                mmi_sd = float(rec.intensity_sd) if rec.intensity_sd else float(default_mmi_sd)
        else:
            motions, imt_flags = _motions(rec, limits)
            if not motions and not imt_flags:
                flags.append("no_horizontal")
        out.append(StationObservation(station_id=sid, code=rec.code, network=rec.network, name=rec.name,
                                      latitude_deg=lat, longitude_deg=lon, kind=rec.kind, motions=motions,
                                      mmi=mmi, mmi_sd=mmi_sd, flags=tuple(dict.fromkeys(flags)),
                                      imt_flags=imt_flags, reported_mmi=getattr(rec, "reported_mmi", None)))
    return tuple(out)
