"""Sequence type and foreshock traffic light of every large event, computed from a catalogue or the event store.

For every event with magnitude ``>= min_magnitude`` (5 by default) of a catalogue:

* events that are the largest of their own sequence (:func:`tianshan.analysis.foreshock.classify_all`:
  Gardner-Knopoff space/time windows, taken in decreasing magnitude) are **mainshocks**: their
  sequence type in Chinese practice (isolated 孤立型 / mainshock-aftershock 主震-余震型 /
  swarm 震群型, from the magnitude difference to the largest aftershock; 蒋海昆 et al. 2006, with
  the CENC boundaries 0.6 and 2.4, see :mod:`tianshan.analysis.foreshock`) and the foreshock
  traffic light of Gulia & Wiemer (2019, Nature 574, 193-199) in both variants, the classic one
  (Tinti-Mulargia b-values, 3-day blind time) and the b-positive one (Gulia et al. 2024, SRL 95(6)
  3579-3592; van der Elst 2021);
* the other large events belong to the sequence of a larger (or equal, earlier) event: their
  role is ``foreshock`` or ``aftershock`` of that mainshock and they carry its type and lights.

Completeness: one magnitude ``mc`` serves both the sequence type (aftershocks are counted from
``mc``; without any, dM is only a lower bound) and the traffic light. By default it is the
maximum-curvature Mc plus 0.2 (Wiemer & Wyss 2000; Woessner & Wiemer 2005) of the whole
catalogue, the conservative choice Gulia & Wiemer (2019) make; catalogues of fewer than
``min_events`` events use their smallest magnitude (the lights are then undetermined anyway).

Store (:func:`store_sequence_status`): the catalogue is the store's own events (preferred origin
and magnitude); each result is written as a JSON document and recorded as a product of the event
(kind ``"sequence-status"``, :class:`~tianshan.core.product.Product`). A new version is stored
only when the document differs from the latest stored one (same SHA-256: nothing is written), so
running it again after new events arrive adds versions for the sequences that changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tianshan.analysis import foreshock as fs
from tianshan.analysis.catalog import SeismicCatalog, posix_to_datetime
from tianshan.core.errors import InputError

#: Product kind of the stored results.
PRODUCT_KIND = "sequence-status"
LIGHT_METHODS = ("classic", "positive")
#: Chinese names of the traffic-light colours.
LIGHTS_ZH = {"green": "绿灯", "yellow": "黄灯", "red": "红灯", "undetermined": "待定"}
ROLES_ZH = {"mainshock": "主震", "foreshock": "前震", "aftershock": "余震"}


@dataclass(frozen=True)
class SequenceStatus:
    """Status of one large event: its ``role`` (mainshock / foreshock / aftershock), the ``sequence``
    type of its (main) sequence, the traffic ``lights`` of that mainshock, and the ``mc`` used."""

    event_id: str
    time_s: float
    magnitude: float
    latitude_deg: float
    longitude_deg: float
    role: str
    mainshock_id: str
    sequence: fs.SequenceType
    lights: dict[str, fs.TrafficLight]
    mc: float
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        seq = self.sequence.as_dict()
        return {"event_id": self.event_id, "time": posix_to_datetime(self.time_s).isoformat(),
                "magnitude": self.magnitude, "latitude_deg": self.latitude_deg, "longitude_deg": self.longitude_deg,
                "role": self.role, "role_zh": ROLES_ZH[self.role], "mainshock_id": self.mainshock_id,
                "sequence_type": seq["sequence_type"], "sequence_type_zh": seq["sequence_type_zh"],
                "sequence": seq, "mc": self.mc, "params": self.params,
                "traffic_light": {m: {**tl.as_dict(), "status_zh": LIGHTS_ZH[tl.status]}
                                  for m, tl in self.lights.items()}}

    def summary(self) -> dict:
        """Small facts for a product's properties and for tables."""
        s = self.sequence
        return {"role": self.role, "mainshock_id": self.mainshock_id, "sequence_type": s.sequence_type,
                "sequence_type_zh": s.sequence_type_zh, "delta_m": s.delta_m,
                "delta_m_lower_bound": s.delta_m_lower_bound, "n_aftershocks": s.n_aftershocks,
                "traffic_light_classic": self.lights["classic"].status,
                "traffic_light_positive": self.lights["positive"].status, "mc": self.mc}


def catalogue_mc(cat: SeismicCatalog, delta_m: float = 0.1, min_events: int = 50) -> float:
    """Default completeness of the module docstring: MAXC + 0.2, or the smallest magnitude."""
    from tianshan.analysis.stats import mc_maxc

    if len(cat) < min_events:
        return float(np.min(cat.magnitude))
    return float(mc_maxc(cat.magnitude, delta_m).mc)


def sequence_status(cat: SeismicCatalog, min_magnitude: float = 5.0, *, mc: float | None = None,
                    delta_m: float = 0.1, min_events: int = 50, days_before: float = 30.0,
                    progress=None) -> list[SequenceStatus]:
    """Status of every event ``>= min_magnitude`` of ``cat`` (module docstring), in time order.

    ``progress``: called with (done, total) after each mainshock. Raises :class:`InputError` when
    no event is large enough.
    """
    cat = cat.sorted()
    if not np.any(cat.magnitude >= min_magnitude - 1e-9):
        return []
    mc = catalogue_mc(cat, delta_m, min_events) if mc is None else float(mc)
    mains = fs.classify_all(cat, min_magnitude, completeness=mc, days_before=days_before)
    index = {str(e): k for k, e in enumerate(cat.event_id)}
    out: list[SequenceStatus] = []
    params = {"min_magnitude": min_magnitude, "delta_m": delta_m, "min_events": min_events,
              "days_before": days_before, "windows": "gardner-knopoff"}
    covered: set[str] = set()
    for k, seq in enumerate(mains):
        i = index[seq.event_id]
        lights = {m: fs.traffic_light(cat, i, mc=mc, delta_m=delta_m, method=m, min_events=min_events)
                  for m in LIGHT_METHODS}
        members = [index[e] for e in seq.members if e in index]
        for j in members:
            if cat.magnitude[j] < min_magnitude - 1e-9 or str(cat.event_id[j]) in covered:
                continue
            eid = str(cat.event_id[j])
            covered.add(eid)
            role = ("mainshock" if j == i else "foreshock" if cat.time_s[j] < cat.time_s[i] else "aftershock")
            out.append(SequenceStatus(event_id=eid, time_s=float(cat.time_s[j]), magnitude=float(cat.magnitude[j]),
                                      latitude_deg=float(cat.latitude_deg[j]),
                                      longitude_deg=float(cat.longitude_deg[j]), role=role,
                                      mainshock_id=seq.event_id, sequence=seq, lights=lights, mc=mc, params=params))
        if progress is not None:
            progress(k + 1, len(mains))
    return sorted(out, key=lambda s: (s.time_s, s.event_id))


# ------------------------------------------------------------------------------------- store

@dataclass(frozen=True)
class StoredStatus:
    """One result and what happened to it in the store: ``action`` ``"new"`` (first version),
    ``"updated"`` (a new version), ``"unchanged"`` or ``"not-saved"``."""

    status: SequenceStatus
    action: str
    version: int | None = None
    path: Path | None = None


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def document_bytes(status: SequenceStatus) -> bytes:
    """The JSON document of a status (stable: sorted keys, no creation time)."""
    return (json.dumps(_jsonable(status.as_dict()), ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def safe_name(event_id: str) -> str:
    """A file-name-safe form of an event id (other characters become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", event_id).strip("._") or "event"


def save_status(store, status: SequenceStatus, out_dir: str | os.PathLike) -> StoredStatus:
    """Write ``status`` as ``<out_dir>/<event>/sequence-status.v<N>.json`` and store it as a product of
    the event, unless the latest stored version has the same content."""
    from tianshan.core.product import Product
    from tianshan.io.atomic import atomic_write_bytes

    data = document_bytes(status)
    sha = hashlib.sha256(data).hexdigest()
    old = store.products(event_id=status.event_id, kind=PRODUCT_KIND)
    if old:
        latest = max(old, key=lambda p: (p.version, p.created_at))
        if latest.sha256 == sha:
            return StoredStatus(status, "unchanged", latest.version, Path(latest.uri))
    version = max((p.version for p in old), default=0) + 1
    path = Path(out_dir) / safe_name(status.event_id) / f"{PRODUCT_KIND}.v{version}.json"
    atomic_write_bytes(path, data)
    store.save_product(Product(kind=PRODUCT_KIND, uri=str(path.resolve()), content_type="application/json",
                               event_id=status.event_id, version=version, sha256=sha,
                               properties=_jsonable(status.summary())))
    return StoredStatus(status, "updated" if old else "new", version, path)


def store_sequence_status(store, *, min_magnitude: float = 5.0, out_dir: str | os.PathLike | None = None,
                          save: bool = True, mc: float | None = None, delta_m: float = 0.1, min_events: int = 50,
                          progress=None) -> tuple[SeismicCatalog, list[StoredStatus]]:
    """Sequence status of every event ``>= min_magnitude`` in the open
    :class:`~tianshan.store.repository.EventStore` ``store``, from the store's own catalogue; with
    ``save`` each result is stored as a product (module docstring) with its file in ``out_dir``."""
    from tianshan.analysis.catalog import catalog_from_events

    if save and out_dir is None:
        raise InputError("an output folder is needed to save the products", field="out_dir")
    cat = catalog_from_events(store.events(), source=store.url)
    results = sequence_status(cat, min_magnitude, mc=mc, delta_m=delta_m, min_events=min_events, progress=progress)
    if not save:
        return cat, [StoredStatus(r, "not-saved") for r in results]
    return cat, [save_status(store, r, out_dir) for r in results]
