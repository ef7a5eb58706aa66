"""The web dashboard: a single-page app of hand-written ES modules, HTML and CSS in ``static/``.

No build step, no external library, no CDN and no web font: every file the browser loads is
in ``static/`` and is served by the API server at ``/dashboard/`` (the page works offline).
It reads the REST API (``/api/v1``, :mod:`tianshan.services.api`) and its live WebSocket:

* ``index.html``, ``style.css``: layout (catalog search and list | map | EEW panel and event page);
* ``map.js``: SVG map of the region's GeoJSON base map (``/api/v1/region/basemap``), equidistant
  cylindrical projection, pan and zoom, markers for towns, stations (coloured by latency/QC),
  events, origin history, alert epicentre and the chosen city;
* ``app.js``: event list and search, event page (origin/magnitude history, picks, products),
  intensity-map overlay (the event's ``contours_cn.geojson`` product), report links, live updates;
* ``eew.js``: early-warning panel (latest alert message, chosen city's predicted intensity and
  countdown to the S wave);
* ``i18n.js``: Chinese/English strings.

:func:`tianshan.services.api.server.create_server` (``tianshan serve``) serves this folder.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATIC_DIR", "static_dir"]

#: Folder of the dashboard's files.
STATIC_DIR = Path(__file__).resolve().with_name("static")


def static_dir() -> Path:
    """The static folder; :class:`FileNotFoundError` when the package was installed without it."""
    if not (STATIC_DIR / "index.html").is_file():
        raise FileNotFoundError(f"dashboard files not found in {STATIC_DIR} (package data missing)")
    return STATIC_DIR
