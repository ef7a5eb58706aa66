"""Inputs of an intensity map: the event (QuakeML or ShakeMap event.xml) and station records (files or the store).

Every station source gives :class:`tianshan.io.shakemap_xml.StationRecord` s, the input of
:func:`tianshan.groundmotion.conditioning.stations.prepare_stations` (which flags, never
drops):

* **ShakeMap station lists** (``stationlist.xml``, ``hist_dat.xml``, ``dyfi_dat.xml``):
  :func:`tianshan.io.shakemap_xml.read_stationlist`.
* **CSV** (:func:`read_station_csv`): one row per station, header names carry the units --
  ``network`` (optional), ``station`` (or ``code``), ``lat``, ``lon``, optional ``name``, and
  any of ``pga_<u>``, ``psa0.3_<u>``, ``psa1.0_<u>``, ``psa3.0_<u>`` with ``<u>`` one of
  ``m_s2``, ``cm_s2``, ``gal``, ``g``, ``pctg``; ``pgv_<u>`` with ``m_s``, ``cm_s``; ``mmi``
  (macroseismic intensity; a row with only ``mmi`` is a macroseismic station). Values are
  the larger horizontal component (one non-directional component ``H``). An empty cell is a
  missing value; a cell that is not a number becomes ``not_a_number`` for that IMT; a column
  with an unknown unit suffix is refused (:class:`InputError`), never guessed.
* **The store** (:func:`records_from_store`): the event's amplitudes of type ``PGA``,
  ``PGV``, ``SA(0.3)``/``PSA0.3``... (SI units, one per channel), grouped by station, with the
  coordinates of the stored stations; a channel's component letter (last of its code) names
  the component, so the horizontal rules apply (``Z`` ignored, ``N`` without ``E`` flagged).
  Amplitudes of stations missing from the store's inventory are kept with ``bad_coordinates``.

Events (:func:`read_event_file`): QuakeML (:func:`tianshan.io.quakeml.read_quakeml`, the first
event's preferred origin and magnitude) or ShakeMap ``event.xml`` (root ``<earthquake>``).
"""

from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path

from tianshan.core.errors import InputError

__all__ = ["read_station_csv", "read_station_file", "records_from_store", "read_event_file", "CSV_UNITS"]

_G = 9.80665
#: CSV unit suffix -> (family, factor to SI)
CSV_UNITS = {"m_s2": ("acc", 1.0), "cm_s2": ("acc", 0.01), "gal": ("acc", 0.01), "g": ("acc", _G),
             "pctg": ("acc", _G / 100.0), "m_s": ("vel", 1.0), "cm_s": ("vel", 0.01)}
_CSV_IMTS = ("pga", "pgv", "psa0.3", "psa1.0", "psa3.0")
_STORE_TYPES = {"pga": "pga", "pgv": "pgv", "sa(0.3)": "psa0.3", "sa(1.0)": "psa1.0", "sa(3.0)": "psa3.0",
                "psa0.3": "psa0.3", "psa1.0": "psa1.0", "psa3.0": "psa3.0", "psa03": "psa0.3", "psa10": "psa1.0",
                "psa30": "psa3.0"}


def _columns(header: list[str], src: str) -> dict[str, tuple[str, float]]:
    out = {}
    for h in header:
        key = h.strip().lower()
        m = re.fullmatch(r"(pga|pgv|psa0\.3|psa1\.0|psa3\.0)_(.+)", key)
        if not m:
            if key.startswith(("pga", "pgv", "psa")):
                raise InputError(f"column {h!r}: name an IMT and unit, e.g. pga_m_s2, pgv_cm_s", source=src, line=1)
            continue
        imt, unit = m.group(1), m.group(2)
        fam = CSV_UNITS.get(unit)
        if fam is None or (fam[0] == "vel") != (imt == "pgv"):
            raise InputError(f"column {h!r}: unknown units {unit!r} for {imt}", source=src, line=1, field=h)
        out[h] = (imt, fam[1])
    return out


def read_station_csv(path: str | os.PathLike) -> list:
    """Station records from a CSV (module docstring)."""
    from tianshan.io.shakemap_xml import Amplitude, Component, StationRecord

    p = Path(path)
    src = str(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", source=src) from None
    reader = csv.DictReader(text.splitlines())
    header = [h for h in (reader.fieldnames or [])]
    low = {h.strip().lower(): h for h in header}
    code_col = low.get("station") or low.get("code")
    if code_col is None or "lat" not in low or "lon" not in low:
        raise InputError("station CSV needs columns station (or code), lat, lon", source=src, line=1)
    cols = _columns(header, src)
    mmi_col = low.get("mmi")
    if not cols and mmi_col is None:
        raise InputError("station CSV has no pga_/pgv_/psa*_ or mmi column", source=src, line=1)
    out = []
    for lineno, row in enumerate(reader, start=2):
        get = lambda h: (row.get(h) or "").strip()  # noqa: E731
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        amps = []
        for h, (imt, factor) in cols.items():
            raw = get(h)
            if not raw:
                continue
            try:
                v = float(raw)
                problem = None if math.isfinite(v) else "not_a_number"
            except ValueError:
                v, problem = math.nan, "not_a_number"
            amps.append(Amplitude(imt=imt, value_si=v * factor if problem is None else math.nan, raw=raw,
                                  units=h.split("_", 1)[1], problem=problem))
        mmi = None
        if mmi_col is not None and get(mmi_col):
            try:
                mmi = float(get(mmi_col))
            except ValueError:
                raise InputError(f"mmi is not a number: {get(mmi_col)!r}", source=src, line=lineno,
                                 field="mmi") from None
        problems = []
        try:
            lat, lon = float(get(low["lat"])), float(get(low["lon"]))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError
        except ValueError:
            lat, lon = math.nan, math.nan
            problems.append("bad_coordinates")
        code = get(code_col)
        if not code:
            problems.append("missing_code")
            code = f"#{lineno}"
        macro = not amps and mmi is not None
        out.append(StationRecord(code=code, network=get(low["network"]) if "network" in low else "",
                                 name=get(low["name"]) if "name" in low else "", latitude_deg=lat, longitude_deg=lon,
                                 kind="macroseismic" if macro else "seismic", source=src, instrument="csv",
                                 components=(Component("H", tuple(amps)),) if amps else (),
                                 intensity_mmi=mmi if macro else None, reported_mmi=None if macro else mmi,
                                 problems=tuple(problems), line=lineno))
    if not out:
        raise InputError("station CSV has no rows", source=src)
    return out


def read_station_file(path: str | os.PathLike) -> list:
    """Records of a ShakeMap XML station list or a CSV (by content: XML starts with ``<``)."""
    from tianshan.io.shakemap_xml import read_stationlist

    p = Path(path)
    if not p.is_file():
        raise InputError("station file not found", source=str(p))
    with open(p, "rb") as fh:
        head = fh.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return list(read_stationlist(p).stations)
    return read_station_csv(p)


def records_from_store(store, event_id: str) -> list:
    """Station records of an event from the store (module docstring)."""
    from tianshan.io.shakemap_xml import Amplitude, Component, StationRecord

    event = store.get_event(event_id)
    coords = {s.station_id.upper(): s for s in store.stations()}
    by_station: dict[str, dict[str, list]] = {}
    for a in event.amplitudes:
        imt = _STORE_TYPES.get(a.type.strip().lower())
        if imt is None:
            continue
        sid = a.stream_id
        problem = None
        expected = "m/s" if imt == "pgv" else "m/s**2"
        if a.unit != expected:
            problem = "unknown_units"
        amp = Amplitude(imt=imt, value_si=float(a.value) if problem is None else math.nan, raw=repr(a.value),
                        units=a.unit, problem=problem)
        key = f"{sid.network}.{sid.station}"
        by_station.setdefault(key, {}).setdefault(sid.channel[-1:] or "H", []).append(amp)
    out = []
    for key, comps in sorted(by_station.items()):
        net, code = key.split(".", 1)
        st = coords.get(key.upper())
        lat, lon = (st.latitude_deg, st.longitude_deg) if st is not None else (math.nan, math.nan)
        out.append(StationRecord(code=code, network=net, name=st.name if st is not None else "", latitude_deg=lat,
                                 longitude_deg=lon, kind="seismic", source=f"store:{event_id}", instrument="store",
                                 components=tuple(Component(c, tuple(v)) for c, v in sorted(comps.items())),
                                 problems=() if st is not None else ("bad_coordinates",)))
    if not out:
        raise InputError(f"event {event_id} has no PGA/PGV/SA amplitudes in the store", field="--stations")
    return out


def read_event_file(path: str | os.PathLike, rupture=None):
    """A :class:`.build.MapEvent` from QuakeML or a ShakeMap ``event.xml`` (module docstring)."""
    from tianshan.products.shakemap.build import MapEvent

    p = Path(path)
    if not p.is_file():
        raise InputError("event file not found", source=str(p))
    head = p.read_bytes()[:4096].decode("utf-8", "replace")
    if "<earthquake" in head and "quakeml" not in head.lower():
        from tianshan.io.shakemap_xml import read_event_xml

        e = read_event_xml(p)
        return MapEvent(event_id=e.event_id, latitude_deg=e.latitude_deg, longitude_deg=e.longitude_deg,
                        depth_m=e.depth_m, magnitude=e.magnitude, time=e.time, rupture=rupture, network=e.network,
                        description=e.location_text)
    from tianshan.io.quakeml import read_quakeml

    events = read_quakeml(p)
    if not events:
        raise InputError("no event in the QuakeML file", source=str(p))
    return MapEvent.from_event(events[0], rupture=rupture)
