"""The demo's products and early-warning alerts recorded in the demo's event store.

``tianshan demo --serve`` serves the REST API and the dashboard over the demo's store: the
dashboard finds an event's intensity overlay, report links and map image among the event's
**products** (``GET /api/v1/events/{id}``: the store's product rows) and the early-warning
panel reads the **alerts** table (``GET /api/v1/alerts``). The stages ``eew``, ``intensity``
and ``loss`` write their files under ``<out>/eew/``, ``<out>/intensity/`` and ``<out>/loss/``
and record them here the way the real-time daemon's
:class:`~tianshan.stages.shakemap.ShakeMapStage` does:

* intensity maps: one product row per file of each version, kind ``intensity_map``
  (:data:`tianshan.stages.shakemap_build.MAP_KIND`), version 1 predicted from the origin, version
  2 conditioned on the records (its station records file ``records.csv`` with role
  ``stations``); properties: the file's ``name``, ``role``, ``bytes`` and the version's basis
  (magnitude, epicentre, depth, records used, reasons, ``final``; the ``summary.json`` row lists
  the station ids), as the daemon writes them;
* loss: ``loss.json`` (kind ``loss_estimate``) and the report's files (kind ``loss_report``:
  ``loss_report.html``/``.pdf``/``.json``, ``loss_map.png``), with the version of the map the
  estimate is based on and its headline figures;
* early warning: the stage's files (kind ``eew_replay``: ``summary.json``, ``replay.json``,
  ``alerts.jsonl``, ``first_alert.cap.xml``, ``timeline.png``) and every alert/update/cancel
  message's :class:`~tianshan.core.alert.Alert` in the alerts table (the EEW engine's own event
  id, as the alert distribution sees it).

**Which event.** The products belong to the event the maps are for: the batch catalog's
automatic event nearest the true origin time (:func:`tianshan.demo.intensity_stage.map_event`),
else the true event the ``store`` stage saved. Running the demo again into the same store adds
the new run's products to the new run's events; alerts already stored for an EEW event id and
sequence (an earlier run of the same scenario) are left as they are.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Mapping

from tianshan.demo.pipeline import DemoConfig, StageRecord

log = logging.getLogger(__name__)

#: Product kind of the early-warning stage's files.
EEW_KIND = "eew_replay"

_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf", ".json": "application/json",
                  ".jsonl": "application/x-ndjson", ".xml": "application/xml", ".png": "image/png",
                  ".csv": "text/csv; charset=utf-8", ".svg": "image/svg+xml"}


def product_event_id(done: Mapping[str, StageRecord]) -> str | None:
    """The stored event the demo's products belong to (module docstring); None without any event."""
    if "simulate" in done:
        from tianshan.demo.intensity_stage import map_event

        source = done["simulate"].result[0].source
        event, _ = map_event(done, source)
        if event.event_id and event.event_id != "scenario":
            return event.event_id
    if "store" in done:
        return done["store"].result.id
    return None


def file_product(kind: str, path: Path, role: str, event_id: str, version: int = 1, properties: Mapping | None = None):
    """A :class:`~tianshan.core.product.Product` row of one file (name, role, bytes, sha256; extra ``properties``)."""
    from tianshan.core.product import Product

    path = Path(path)
    data = path.read_bytes()
    return Product(kind=kind, uri=str(path.resolve()), content_type=_CONTENT_TYPES.get(path.suffix.lower(),
                                                                                       "application/octet-stream"),
                   event_id=event_id, version=int(version), sha256=hashlib.sha256(data).hexdigest(),
                   properties={"name": path.name, "role": role, "bytes": len(data), **dict(properties or {})})


def map_products(build, event_id: str, basis: Mapping, extra_files: Iterable[tuple[Path, str]] = ()) -> list:
    """The product rows of one intensity-map build (its own rows, re-labelled with ``event_id`` and the
    version's ``basis`` properties), plus ``extra_files`` ``(path, role)`` of the same version."""
    from tianshan.stages.shakemap_build import MAP_KIND

    out = []
    for p in build.products:
        props = {**dict(p.properties), **dict(basis)}
        if props.get("name") != "summary.json":
            props.pop("station_ids", None)
        out.append(replace(p, event_id=event_id, properties=props))
    base = {k: v for k, v in basis.items() if k != "station_ids"}
    out += [file_product(MAP_KIND, path, role, event_id, build.version, base) for path, role in extra_files]
    return out


def save_products(config: DemoConfig, products: list) -> int:
    """Save ``products`` in the demo's store; returns how many."""
    from tianshan.store.repository import EventStore

    if not products:
        return 0
    with EventStore.open(config.database_url, data_dir=config.data_dir) as store:
        for p in products:
            store.save_product(p)
    return len(products)


def save_alerts(config: DemoConfig, messages: Iterable) -> int:
    """Save the alerts of the EEW ``messages`` (alert/update/cancel) in the store's alerts table; returns
    how many were new (an event id and sequence already stored, by an earlier run, is skipped)."""
    from tianshan.store.repository import EventStore

    alerts = [m.alert for m in messages]
    if not alerts:
        return 0
    added = 0
    with EventStore.open(config.database_url, data_dir=config.data_dir) as store:
        taken: dict[str, set[int]] = {}
        for a in alerts:
            if a.event_id not in taken:
                taken[a.event_id] = {x.sequence for x in store.alerts(a.event_id)}
            if a.sequence in taken[a.event_id]:
                continue
            store.save_alert(a)
            taken[a.event_id].add(a.sequence)
            added += 1
    if added < len(alerts):
        log.info("demo: %d of %d EEW alerts were already in the store (an earlier run)", len(alerts) - added,
                 len(alerts))
    return added


__all__ = ["EEW_KIND", "product_event_id", "file_product", "map_products", "save_products", "save_alerts"]
