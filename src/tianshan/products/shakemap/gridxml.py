"""A ShakeMap-compatible ``grid.xml``: the layout USGS ShakeMap (3.5 and 4) publishes.

Layout (ShakeMap's ``grid.xml``, schema ``http://earthquake.usgs.gov/eqcenter/shakemap``, as
written by ShakeMap 4's ``gridxml`` module and read by USGS ``mapio.ShakeGrid``):

* root ``<shakemap_grid>`` with ``event_id``, ``shakemap_id``, ``shakemap_version``,
  ``code_version``, ``process_timestamp``, ``shakemap_originator``, ``map_status``,
  ``shakemap_event_type`` attributes;
* ``<event>``: ``event_id``, ``magnitude``, ``depth`` (km), ``lat``, ``lon``,
  ``event_timestamp`` (ISO 8601, UTC), ``event_network``, ``event_description``;
* ``<grid_specification>``: ``lon_min``, ``lat_min``, ``lon_max``, ``lat_max`` (the outermost
  cell *centres*), ``nominal_lon_spacing``, ``nominal_lat_spacing``, ``nlon``, ``nlat``;
* ``<event_specific_uncertainty name=IMT value=... numsta=...>`` per IMT (we write the
  mean conditioned sd over the grid -- ShakeMap writes a comparable bias-adjusted sigma;
  ``numsta`` the observations used);
* ``<grid_field index=k name=... units=...>`` for ``LON`` (dd), ``LAT`` (dd), ``MMI``
  (intensity), ``PGA`` (pctg = %g), ``PGV`` (cms = cm/s), ``PSA03``, ``PSA10``, ``PSA30``
  (pctg), ``STDMMI`` (intensity), ``STDPGA``, ``STDPGV``, ``STDPSA03``... (ln(pctg), ln(cms)),
  and ``SVEL`` (Vs30, m/s) -- the names and units of ShakeMap 4's ``grid.xml``;
* ``<grid_data>``: one line per cell, space separated in field order, **rows from north to
  south, west to east within a row** (ShakeMap's order).

Motions are medians (``exp`` of the ln mean) converted from SI: %g = 100 a / g (g =
9.80665 m/s^2), cm/s = 100 v. Layers missing from the map are not written (a reader finds the
fields by name). The Chinese intensity has no ShakeMap field and is not written here (its
GeoTIFF and contours carry it). :func:`read_grid_xml` reads the layout back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

from tianshan.core.errors import InputError

__all__ = ["write_grid_xml", "read_grid_xml", "GridXml", "FIELDS", "SHAKEMAP_NS"]

SHAKEMAP_NS = "http://earthquake.usgs.gov/eqcenter/shakemap"
_G = 9.80665
#: layer -> (ShakeMap field, units, sd field, sd units)
FIELDS = {
    "mmi": ("MMI", "intensity", "STDMMI", "intensity"),
    "pga": ("PGA", "pctg", "STDPGA", "ln(pctg)"),
    "pgv": ("PGV", "cms", "STDPGV", "ln(cms)"),
    "psa0.3": ("PSA03", "pctg", "STDPSA03", "ln(pctg)"),
    "psa1.0": ("PSA10", "pctg", "STDPSA10", "ln(pctg)"),
    "psa3.0": ("PSA30", "pctg", "STDPSA30", "ln(pctg)"),
}


def _ts(t: datetime | None) -> str:
    if t is None:
        return ""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attrs(d: dict) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in d.items())


def _linear(imt: str, mean):
    import numpy as np

    if imt == "mmi":
        return np.asarray(mean, dtype=np.float64)
    factor = 100.0 if imt == "pgv" else 100.0 / _G
    return np.exp(np.asarray(mean, dtype=np.float64)) * factor


def write_grid_xml(path: str | os.PathLike, grids, event, *, version: int = 1, vs30=None, originator: str = "tianshan",
                   numsta: dict | None = None, process_time: datetime | None = None, status: str = "RELEASED",
                   event_type: str = "ACTUAL") -> Path:
    """Write ``grid.xml`` (module docstring). ``grids``: :class:`.grids.MapGrids`; ``event``: a
    :class:`.build.MapEvent`; ``vs30``: a number or a (ny, nx) array (SVEL)."""
    import io

    import numpy as np

    from tianshan import __version__
    from tianshan.io.atomic import atomic_open

    spec = grids.spec
    imts = [k for k in FIELDS if k in grids.layers]
    if not imts:
        raise InputError("the map has none of the ShakeMap layers (mmi, pga, pgv, psa)", field="grids")
    ny, nx = int(spec.ny), int(spec.nx)
    lons, lats = spec.longitudes(), spec.latitudes()
    cols = [np.tile(lons, ny), np.repeat(lats, nx)]
    names, fmts = [("LON", "dd"), ("LAT", "dd")], ["%.4f", "%.4f"]
    for k in imts:
        cols.append(_linear(k, grids.layers[k].mean).ravel())
        names.append(FIELDS[k][:2])
        fmts.append("%.2f" if k == "mmi" else "%.4g")
    for k in imts:
        cols.append(np.asarray(grids.layers[k].sd, dtype=np.float64).ravel())
        names.append(FIELDS[k][2:])
        fmts.append("%.3f")
    svel = np.broadcast_to(np.asarray(760.0 if vs30 is None else vs30, dtype=np.float64), (ny, nx)).ravel()
    cols.append(svel)
    names.append(("SVEL", "ms"))
    fmts.append("%.1f")
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack(cols), fmt=" ".join(fmts))
    eid = event.event_id or "unknown"
    root = {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance", "xmlns": SHAKEMAP_NS,
            "xsi:schemaLocation": "http://earthquake.usgs.gov http://earthquake.usgs.gov/eqcenter/shakemap/xml/schemas/shakemap.xsd",
            "event_id": eid, "shakemap_id": eid, "shakemap_version": int(version), "code_version": f"tianshan {__version__}",
            "process_timestamp": _ts(process_time or datetime.now(timezone.utc)), "shakemap_originator": originator,
            "map_status": status, "shakemap_event_type": event_type}
    ev = {"event_id": eid, "magnitude": f"{event.magnitude:.2f}", "depth": f"{event.depth_m / 1000.0:.2f}",
          "lat": f"{event.latitude_deg:.4f}", "lon": f"{event.longitude_deg:.4f}",
          "event_timestamp": _ts(event.time), "event_network": getattr(event, "network", "") or "",
          "event_description": getattr(event, "description", "") or ""}
    gs = {"lon_min": f"{lons[0]:.6f}", "lat_min": f"{lats[-1]:.6f}", "lon_max": f"{lons[-1]:.6f}",
          "lat_max": f"{lats[0]:.6f}", "nominal_lon_spacing": f"{spec.dlon_deg:.6f}",
          "nominal_lat_spacing": f"{spec.dlat_deg:.6f}", "nlon": nx, "nlat": ny}
    target = Path(path)
    with atomic_open(target, "w") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
        fh.write(f"<shakemap_grid {_attrs(root)}>\n<event {_attrs(ev)} />\n<grid_specification {_attrs(gs)} />\n")
        for k in imts:
            sd = float(np.nanmean(grids.layers[k].sd))
            n = "" if numsta is None else int(numsta.get(k, 0))
            fh.write(f"<event_specific_uncertainty name=\"{k}\" value=\"{sd:.4f}\" numsta=\"{n}\" />\n")
        for i, (name, units) in enumerate(names, start=1):
            fh.write(f"<grid_field index=\"{i}\" name=\"{name}\" units=\"{units}\" />\n")
        fh.write("<grid_data>\n")
        fh.write(buf.getvalue())
        fh.write("</grid_data>\n</shakemap_grid>\n")
    return target


@dataclass(frozen=True, slots=True, eq=False)
class GridXml:
    """A ``grid.xml`` as read: attributes of its elements, field names/units, and the data (nlat, nlon) per field."""

    attributes: dict
    event: dict
    specification: dict
    fields: tuple[tuple[str, str], ...]
    data: dict


def read_grid_xml(path: str | os.PathLike) -> GridXml:
    """Read a ShakeMap ``grid.xml`` (ours or USGS's); each field reshaped to (nlat, nlon), north row first."""
    import io
    import re
    from xml.etree import ElementTree as ET

    import numpy as np

    p = Path(path)
    raw = p.read_bytes()
    if re.search(rb"<!ENTITY", raw, flags=re.IGNORECASE):
        raise InputError("XML entity declarations are not accepted", source=str(p))
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as err:
        raise InputError(f"not well-formed XML: {err}", source=str(p)) from None
    if root.tag.rsplit("}", 1)[-1] != "shakemap_grid":
        raise InputError("root element is not <shakemap_grid>", source=str(p))

    def one(tag):
        for el in root:
            if el.tag.rsplit("}", 1)[-1] == tag:
                return el
        raise InputError(f"no <{tag}> element", source=str(p))

    spec = dict(one("grid_specification").attrib)
    fields = sorted(((int(el.get("index")), el.get("name"), el.get("units", "")) for el in root
                     if el.tag.rsplit("}", 1)[-1] == "grid_field"))
    nlat, nlon = int(spec["nlat"]), int(spec["nlon"])
    table = np.loadtxt(io.StringIO(one("grid_data").text or ""), ndmin=2)
    if table.shape != (nlat * nlon, len(fields)):
        raise InputError(f"grid_data has shape {table.shape}, expected {(nlat * nlon, len(fields))}", source=str(p))
    data = {name: table[:, i].reshape(nlat, nlon) for i, (_, name, _) in enumerate(fields)}
    return GridXml(attributes=dict(root.attrib), event=dict(one("event").attrib), specification=spec,
                   fields=tuple((n, u) for _, n, u in fields), data=data)

