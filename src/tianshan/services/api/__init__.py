"""The Tianshan REST API (FastAPI; OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``).

Routes (``/api/v1`` prefix; roles ``public < analyst < operator < admin``):

=======================================================  =========  =============================================
``GET  /events``                                         public     filtered, paged event list
``GET  /events/{id}``                                    public     all origin/magnitude versions, picks, products,
                                                                    timeline, reviews
``GET  /events/{id}/products/{path}``                    public     a product file of the event
``POST /events/{id}/review``                             analyst    accept / relocate / set_type / publish
``GET  /stations``, ``GET /stations/{net}.{sta}/qc``     public     station latency, QC status, exclusion; QC rows
``GET  /alerts``                                         public     alert messages (alert.schema.json)
``GET  /region/basemap``, ``GET /region/cities``         public     map layers and places of the region
``POST /restrictions``                                   operator   hide/show an event or station from the public
``GET  /audit``; ``GET/POST /tokens``; ``DELETE /tokens/{id}``  admin  audit log; tokens
``WS   /live``                                           public     hello / event / alert / station messages
=======================================================  =========  =============================================

Event ids contain slashes (``smi:org.tianshan/event/<hex>``): clients percent-encode
them in paths (``encodeURIComponent``). :func:`create_app` builds the application;
:mod:`tianshan.services.api.server` joins it with the FDSN services and the dashboard.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from tianshan.services.api.app import create_app

        return create_app
    raise AttributeError(name)
