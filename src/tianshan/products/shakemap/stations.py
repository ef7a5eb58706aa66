"""Station GeoJSON of an intensity map: every input station, observed vs predicted, and its flags.

One ``Point`` feature per input station (usable or not, in input order) from
:meth:`tianshan.groundmotion.conditioning.pipeline.ConditionedEvent.station_table`. Properties:

* ``station_id``, ``kind`` (``seismic``/``macroseismic``), ``flags`` (every reason a station or
  a value was not used: :mod:`tianshan.groundmotion.conditioning.stations` rules,
  ``<imt>:outlier``, ``beyond_max_distance``), ``used`` (output IMTs it informed), ``usable``;
* ``observed`` / ``predicted``: ``pga_m_s2``, ``pgv_m_s``, ``psa0.3_m_s2``... (larger
  horizontal, linear SI) and ``mmi``; ``predicted`` is the model alone (prior median) at the
  station; ``residual_ln``: ``ln obs - ln pred`` per motion, ``residual_mmi``;
* ``intensity_cn`` / ``intensity_cn_predicted``: GB/T 17742-2020 intensity of the observed and
  of the predicted PGA and PGV (one decimal; stations with both), ``degree_cn`` its Roman degree;
* ``conditioned``: the map's conditioned value at the station (same units), when given.

The observed "Chinese intensity" here is the standard's formulas applied to the station
list's larger-horizontal peaks, not to the 3-component vector sum the standard prescribes
(a station list carries no waveforms): biased low, see
:mod:`tianshan.groundmotion.conditioning.pipeline`.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

__all__ = ["si_key", "station_features", "write_stations"]


def si_key(imt: str) -> str:
    """Property name of an IMT's linear SI value (``pga`` -> ``pga_m_s2``, ``mmi`` -> ``mmi``)."""
    if imt == "mmi":
        return "mmi"
    return f"{imt}_m_s" if imt == "pgv" else f"{imt}_m_s2"


def _lin(imt: str, v: float) -> float:
    return round(float(v), 3) if imt == "mmi" else float(f"{math.exp(float(v)):.5g}")


def _cn(d: dict):
    from tianshan.groundmotion.intensity import gbt17742

    if "pga" not in d or "pgv" not in d:
        return None
    return float(gbt17742.instrumental_intensity(math.exp(d["pga"]), math.exp(d["pgv"])))


def station_features(event, conditioned: dict | None = None) -> dict:
    """FeatureCollection of the module docstring. ``event``: a ``ConditionedEvent``;
    ``conditioned``: station_id -> {imt: value in ln SI or intensity} (optional)."""
    from tianshan.groundmotion.intensity.gbt17742 import degree, roman

    feats = []
    for row in event.station_table():
        obs, pred = dict(row.observed), dict(row.predicted)
        props = {"station_id": row.station_id, "kind": row.kind, "usable": not row.flags,
                 "flags": list(row.flags), "used": list(row.used),
                 "observed": {si_key(k): _lin(k, v) for k, v in sorted(obs.items())},
                 "predicted": {si_key(k): _lin(k, v) for k, v in sorted(pred.items())},
                 "residual_ln": {k: round(obs[k] - pred[k], 4) for k in sorted(obs) if k in pred and k != "mmi"}}
        if "mmi" in obs and "mmi" in pred:
            props["residual_mmi"] = round(obs["mmi"] - pred["mmi"], 3)
        cn_obs, cn_pred = _cn(obs), _cn(pred)
        props["intensity_cn"] = cn_obs
        props["degree_cn"] = roman(degree(cn_obs)) if cn_obs is not None else None
        props["intensity_cn_predicted"] = cn_pred
        if conditioned and row.station_id in conditioned:
            props["conditioned"] = {si_key(k): _lin(k, v) for k, v in sorted(conditioned[row.station_id].items())}
        geom = None
        if math.isfinite(row.latitude_deg) and math.isfinite(row.longitude_deg):
            geom = {"type": "Point", "coordinates": [round(row.longitude_deg, 6), round(row.latitude_deg, 6)]}
        feats.append({"type": "Feature", "id": row.station_id, "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def conditioned_at_stations(event, imts) -> dict:
    """station_id -> {imt: conditioned mean} at the usable stations (for :func:`station_features`)."""
    out: dict = {}
    if not event.stations:
        return out
    for imt in imts:
        _, cond = event.points(event.lat, event.lon, imt)
        for st, v in zip(event.stations, cond.mean):
            out.setdefault(st.station_id, {})[imt] = float(v)
    return out


def write_stations(path: str | os.PathLike, event, conditioned: dict | None = None,
                   properties: dict | None = None) -> Path:
    """Write :func:`station_features` atomically (``properties``: collection-level facts)."""
    from tianshan.io.atomic import atomic_write_text

    doc = station_features(event, conditioned)
    if properties:
        doc["properties"] = dict(properties)
    return atomic_write_text(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
