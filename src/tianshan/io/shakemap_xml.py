"""USGS ShakeMap input files: station lists (instruments and macroseismic), event.xml, fault text.

What is read
------------
* **Station lists** (:func:`read_stationlist`): the ShakeMap 3.5 / 4 ``stationlist.xml``
  (``<station>`` with ``<comp>`` children holding ``<pga>``, ``<pgv>``, ``<psa03>``,
  ``<psa10>``, ``<psa30>``), the older ``hist_dat.xml`` / ``dyfi_dat.xml`` layout (``<acc>`` and
  ``<vel>`` for PGA and PGV), optionally wrapped in ``<shakemap-data>`` with an
  ``<earthquake>`` element. Units follow ShakeMap's input conventions (ShakeMap 4 manual,
  "Input data formats"): acceleration and PSA in **%g**, velocity in **cm/s**, unless an
  amplitude carries a ``units`` attribute (ShakeMap 4 test data use ``units='ln(g)'``);
  the recognised ``units`` are :data:`ACC_UNITS` and :data:`VEL_UNITS`. Every value is
  converted to SI (m/s^2, m/s) here; an unrecognised unit is kept as NaN with the problem
  ``unknown_units`` -- never guessed.
* **event.xml** (:func:`read_event_xml`): ``<earthquake id lat lon mag depth time ...>``
  (ShakeMap 4, ``time`` ISO 8601) or the 3.5 form with ``year month day hour minute second``.
* **Fault text** (:func:`read_fault_text`): ShakeMap's ``*_fault.txt``: ``#`` comment lines
  (the first is the reference), polygons separated by ``>`` lines, one ``lon lat depth_km``
  vertex per line (ShakeMap 3.5 writes ``lat lon depth``; the order is detected from the
  value ranges and reported, see :func:`read_fault_text`).

Station kind: a station is **macroseismic** (``kind="macroseismic"``: DYFI, intensity
surveys) when its ``netid`` is one of :data:`MACROSEISMIC_NETWORKS` or its ``insttype`` or
``source`` mentions "Did You Feel It", "Intensity" or "Observed"; its observation is the
``intensity`` attribute (MMI). The PGA/PGV on such stations are ShakeMap's own conversions
of the intensity (``DERIVED`` or questionnaire components) and are kept but marked
``derived`` so that they are never used as recorded motion. Otherwise the station is
``seismic`` and its ``intensity`` attribute (ShakeMap's conversion of the recorded motion)
is kept as ``reported_mmi`` for comparison only.

Nothing here judges whether a value is usable beyond its syntax and units: the per-station
rules (missing components, absurd amplitudes, duplicates, input flags) are applied by
:mod:`tianshan.groundmotion.conditioning.stations`, which reports every refusal.

Safety: files are parsed with :mod:`xml.etree.ElementTree` after refusing documents that
declare entities (``<!ENTITY``), which is what makes expansion attacks possible; the internal
DTDs of real ShakeMap files declare only elements and attributes.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.core.timeutil import as_utc

__all__ = ["ACC_UNITS", "VEL_UNITS", "MACROSEISMIC_NETWORKS", "Amplitude", "Component", "StationRecord",
           "ShakeMapEvent", "StationList", "FaultModel", "read_stationlist", "read_event_xml",
           "read_fault_text", "G_M_S2"]

#: Standard gravity (CGPM 1901), m/s^2.
G_M_S2 = 9.80665
#: Recognised units of acceleration-type amplitudes -> (kind, factor): value_si = factor * v,
#: or exp(v) * factor for the log kinds.
ACC_UNITS: dict[str, tuple[str, float]] = {
    "%g": ("lin", G_M_S2 / 100.0), "pctg": ("lin", G_M_S2 / 100.0), "g": ("lin", G_M_S2),
    "ln(g)": ("ln", G_M_S2), "m/s**2": ("lin", 1.0), "m/s^2": ("lin", 1.0), "m/s/s": ("lin", 1.0),
    "cm/s**2": ("lin", 0.01), "cm/s^2": ("lin", 0.01), "cm/s/s": ("lin", 0.01), "gal": ("lin", 0.01),
}
#: Recognised units of velocity amplitudes.
VEL_UNITS: dict[str, tuple[str, float]] = {
    "cm/s": ("lin", 0.01), "cms": ("lin", 0.01), "m/s": ("lin", 1.0), "ln(cm/s)": ("ln", 0.01),
    "ln(m/s)": ("ln", 1.0),
}
#: Tag -> (intensity measure key, default units). Keys follow
#: :data:`tianshan.groundmotion.intensity.mmi.IMTS`.
_TAGS: dict[str, tuple[str, str]] = {
    "pga": ("pga", "%g"), "acc": ("pga", "%g"), "pgv": ("pgv", "cm/s"), "vel": ("pgv", "cm/s"),
    "psa03": ("psa0.3", "%g"), "psa10": ("psa1.0", "%g"), "psa30": ("psa3.0", "%g"),
    "sa(0.3)": ("psa0.3", "%g"), "sa(1.0)": ("psa1.0", "%g"), "sa(3.0)": ("psa3.0", "%g"),
}
#: Network codes of macroseismic (felt-report and survey) stations in ShakeMap inputs.
MACROSEISMIC_NETWORKS = frozenset({"DYFI", "CIIM", "INTENSITY", "MMI", "CIIM_DYFI", "NEIC_DYFI"})
_MACRO_WORDS = ("did you feel it", "intensity", "observed", "questionnaire")
_MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Amplitude:
    """One amplitude of one component, converted to SI.

    ``value_si``: m/s^2 (PGA, PSA) or m/s (PGV); NaN when the text is not a number or the
    units are unknown (``problem`` says which). ``flag``: the input's own flag (``""`` or
    ``"0"`` mean good; ShakeMap uses letters such as ``T`` glitch, ``C`` clipped, ``M``
    manually flagged). ``ln_sd``: the input's ``ln_sd``/``ln_stddev`` if given.
    """

    imt: str
    value_si: float
    raw: str
    units: str
    flag: str = ""
    ln_sd: float | None = None
    problem: str | None = None

    @property
    def input_flagged(self) -> bool:
        return self.flag not in ("", "0")


@dataclass(frozen=True, slots=True)
class Component:
    """One ``<comp>`` of a station: its name (``N``, ``E``, ``--.HHZ``, ``UNK``...) and amplitudes."""

    name: str
    amplitudes: tuple[Amplitude, ...]

    def get(self, imt: str) -> Amplitude | None:
        for a in self.amplitudes:
            if a.imt == imt:
                return a
        return None


@dataclass(frozen=True, slots=True)
class StationRecord:
    """One ``<station>`` as read: identity, location, kind and components (see module docstring).

    ``latitude_deg``/``longitude_deg`` are NaN when missing or not numbers (``problems`` says so).
    ``intensity_mmi``: the macroseismic observation (macroseismic stations) or None;
    ``reported_mmi``: ShakeMap's own conversion on seismic stations (not an observation).
    """

    code: str
    network: str
    name: str
    latitude_deg: float
    longitude_deg: float
    kind: str
    source: str
    instrument: str
    components: tuple[Component, ...]
    intensity_mmi: float | None = None
    intensity_sd: float | None = None
    reported_mmi: float | None = None
    problems: tuple[str, ...] = ()
    line: int | None = None

    @property
    def station_id(self) -> str:
        """``NET.CODE`` (the code alone when it already starts with the network)."""
        if self.network and not self.code.upper().startswith(self.network.upper() + "."):
            return f"{self.network}.{self.code}"
        return self.code


@dataclass(frozen=True, slots=True)
class ShakeMapEvent:
    """The ``<earthquake>`` of an event.xml or station list (SI units, aware UTC time)."""

    event_id: str
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    magnitude: float
    time: datetime | None = None
    mechanism: str = ""
    location_text: str = ""
    network: str = ""


@dataclass(frozen=True, slots=True)
class StationList:
    """A station list file: its stations in file order and the event it embeds (if any)."""

    stations: tuple[StationRecord, ...]
    event: ShakeMapEvent | None
    source: str


@dataclass(frozen=True, slots=True)
class FaultModel:
    """A ShakeMap fault file: polygons of ``(longitude_deg, latitude_deg, depth_m)`` vertices.

    ``reference``: the first comment line; ``swapped_lat_lon``: the file was in ShakeMap 3.5's
    ``lat lon depth`` order and was swapped on reading.
    """

    polygons: tuple[tuple[tuple[float, float, float], ...], ...]
    reference: str = ""
    swapped_lat_lon: bool = False
    source: str = ""


def _read_xml_root(path: str | os.PathLike):
    from xml.etree import ElementTree as ET

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(p)) from None
    if size > _MAX_BYTES:
        raise InputError(f"file of {size} bytes is larger than the {_MAX_BYTES} bytes accepted", source=str(p))
    data = p.read_bytes()
    if re.search(rb"<!ENTITY", data, flags=re.IGNORECASE):
        raise InputError("XML entity declarations are not accepted (ShakeMap files declare none)", source=str(p))
    try:
        return ET.fromstring(data)
    except ET.ParseError as err:
        line = getattr(err, "position", (None,))[0]
        raise InputError(f"not well-formed XML: {err}", source=str(p), line=line) from None


def _float(text: str | None) -> float:
    if text is None:
        return math.nan
    try:
        v = float(text.strip())
    except (TypeError, ValueError):
        return math.nan
    return v


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _amplitude(el, imt: str, default_units: str) -> Amplitude:
    raw = el.get("value", "")
    units_raw = el.get("units")
    units = (units_raw if units_raw is not None else default_units).strip()
    flag = (el.get("flag") or "").strip()
    ln_sd = _float(el.get("ln_sd", el.get("ln_stddev")))
    table = VEL_UNITS if imt == "pgv" else ACC_UNITS
    conv = table.get(units.lower()) or table.get(units)
    v = _float(raw)
    problem = None
    if conv is None:
        value, problem = math.nan, "unknown_units"
    elif not math.isfinite(v):
        value, problem = math.nan, "not_a_number"
    else:
        kind, factor = conv
        value = factor * (math.exp(v) if kind == "ln" else v)
    return Amplitude(imt=imt, value_si=value, raw=raw, units=units, flag=flag,
                     ln_sd=ln_sd if math.isfinite(ln_sd) else None, problem=problem)


def _is_macroseismic(network: str, instrument: str, source: str) -> bool:
    if network.upper() in MACROSEISMIC_NETWORKS:
        return True
    text = f"{instrument} {source}".lower()
    return any(w in text for w in _MACRO_WORDS)


def _station(el, ordinal: int) -> StationRecord:
    problems: list[str] = []
    code = (el.get("code") or "").strip()
    if not code:
        problems.append("missing_code")
        code = f"#{ordinal}"
    network = (el.get("netid") or el.get("network") or "").strip()
    lat, lon = _float(el.get("lat")), _float(el.get("lon"))
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 360):
        problems.append("bad_coordinates")
        lat, lon = math.nan, math.nan
    elif lon > 180:
        lon -= 360.0
    instrument = (el.get("insttype") or "").strip()
    source = (el.get("source") or "").strip()
    kind = "macroseismic" if _is_macroseismic(network, instrument, source) else "seismic"
    comps = []
    for c in el:
        if _local(c.tag) != "comp":
            continue
        amps = []
        for a in c:
            tag = _local(a.tag)
            if tag in _TAGS:
                imt, units = _TAGS[tag]
                amps.append(_amplitude(a, imt, units))
        comps.append(Component(name=(c.get("name") or "").strip(), amplitudes=tuple(amps)))
    mmi = _float(el.get("intensity"))
    mmi_sd = _float(el.get("intensity_stddev", el.get("intensity_sd")))
    intensity = reported = None
    if kind == "macroseismic":
        if math.isfinite(mmi):
            intensity = mmi
        else:
            problems.append("missing_intensity")
    elif math.isfinite(mmi):
        reported = mmi
    return StationRecord(code=code, network=network, name=(el.get("name") or "").strip(), latitude_deg=lat,
                         longitude_deg=lon, kind=kind, source=source, instrument=instrument,
                         components=tuple(comps), intensity_mmi=intensity,
                         intensity_sd=mmi_sd if math.isfinite(mmi_sd) and mmi_sd > 0 else None,
                         reported_mmi=reported, problems=tuple(problems), line=None)


def _event(el, source: str) -> ShakeMapEvent:
    def need(name: str) -> float:
        v = _float(el.get(name))
        if not math.isfinite(v):
            raise InputError(f"earthquake attribute {name!r} missing or not a number", source=source, field=name)
        return v

    lat, lon, mag = need("lat"), need("lon"), need("mag")
    depth_km = _float(el.get("depth"))
    if not math.isfinite(depth_km):
        raise InputError("earthquake attribute 'depth' missing or not a number", source=source, field="depth")
    if not (-90 <= lat <= 90 and -180 <= lon <= 360):
        raise InputError(f"epicentre {lat}, {lon} is not a coordinate", source=source, field="lat, lon")
    time = None
    text = el.get("time")
    try:
        if text:
            time = as_utc(text.strip(), "time")
        elif el.get("year"):
            parts = [int(float(el.get(k, "0"))) for k in ("year", "month", "day", "hour", "minute")]
            sec = _float(el.get("second", "0"))
            time = as_utc(datetime(*parts)) + timedelta(seconds=sec if math.isfinite(sec) else 0.0)
    except (DomainError, ValueError, TypeError) as err:
        raise InputError(f"earthquake time is not a time: {err}", source=source, field="time") from None
    return ShakeMapEvent(event_id=(el.get("id") or "").strip(), latitude_deg=lat,
                         longitude_deg=lon - 360.0 if lon > 180 else lon, depth_m=depth_km * 1000.0,
                         magnitude=mag, time=time, mechanism=(el.get("mech") or "").strip(),
                         location_text=(el.get("locstring") or "").strip(),
                         network=(el.get("netid") or el.get("network") or "").strip())


def read_stationlist(path: str | os.PathLike) -> StationList:
    """Read a ShakeMap station list (stationlist.xml, hist_dat.xml, dyfi_dat.xml); module docstring.

    Raises :class:`InputError` when the file is not XML or holds no ``<station>``; a bad
    station never raises (its ``problems`` say what is wrong).
    """
    root = _read_xml_root(path)
    src = str(path)
    event = None
    stations = []
    for el in root.iter():
        tag = _local(el.tag)
        if tag == "earthquake" and event is None:
            event = _event(el, src)
        elif tag == "station":
            stations.append(_station(el, len(stations) + 1))
    if not stations:
        raise InputError("no <station> elements: not a ShakeMap station list", source=src)
    return StationList(stations=tuple(stations), event=event, source=src)


def read_event_xml(path: str | os.PathLike) -> ShakeMapEvent:
    """Read a ShakeMap ``event.xml`` (module docstring). Raises :class:`InputError` when unusable."""
    root = _read_xml_root(path)
    for el in root.iter():
        if _local(el.tag) == "earthquake":
            return _event(el, str(path))
    raise InputError("no <earthquake> element", source=str(path))


def read_fault_text(path: str | os.PathLike) -> FaultModel:
    """Read a ShakeMap fault file (module docstring) into polygons of (lon, lat, depth_m).

    Column order: ShakeMap 4 writes ``lon lat depth``; ShakeMap 3.5 wrote ``lat lon depth``.
    The order is taken as ``lat lon`` only when every first column is a valid latitude and
    some second column is not (|value| > 90), else ``lon lat``; for files where both readings
    are valid coordinates (rare) ShakeMap 4's order is assumed. Polygons must have >= 4
    vertices (a closed quadrilateral has 5); depths in km, >= 0.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=str(p)) from None
    reference = ""
    polygons: list[list[tuple[float, float, float]]] = []
    current: list[tuple[float, float, float]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if not reference:
                reference = s.lstrip("#").strip()
            continue
        if s.startswith(">"):
            if current:
                polygons.append(current)
            current = []
            continue
        parts = s.replace(",", " ").split()
        if len(parts) < 3:
            raise InputError(f"need 'lon lat depth_km', got {s!r}", source=str(p), line=lineno)
        try:
            a, b, d = (float(v) for v in parts[:3])
        except ValueError:
            raise InputError(f"not numbers: {s!r}", source=str(p), line=lineno) from None
        if not all(math.isfinite(v) for v in (a, b, d)) or d < 0:
            raise InputError(f"vertex must be finite with depth >= 0 km: {s!r}", source=str(p), line=lineno)
        current.append((a, b, d))
    if current:
        polygons.append(current)
    if not polygons:
        raise InputError("no fault vertices", source=str(p))
    for poly in polygons:
        if len(poly) < 4:
            raise InputError(f"a fault polygon needs >= 4 vertices, got {len(poly)}", source=str(p))
    firsts = [v[0] for poly in polygons for v in poly]
    seconds = [v[1] for poly in polygons for v in poly]
    swapped = all(abs(x) <= 90 for x in firsts) and any(abs(y) > 90 for y in seconds)
    out = []
    for poly in polygons:
        verts = []
        for a, b, d in poly:
            lon, lat = (b, a) if swapped else (a, b)
            if not (-90 <= lat <= 90 and -180 <= lon <= 360):
                raise InputError(f"vertex {a} {b} is not a coordinate", source=str(p))
            verts.append((lon - 360.0 if lon > 180 else lon, lat, d * 1000.0))
        out.append(tuple(verts))
    return FaultModel(polygons=tuple(out), reference=reference, swapped_lat_lon=swapped, source=str(p))
