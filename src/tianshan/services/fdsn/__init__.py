"""FDSN web services (fdsnws-event 1.2, fdsnws-station 1.1, fdsnws-dataselect 1.1).

Over the event store, the SDS archive and the station inventory; the specification
lives as data in :mod:`.spec` (validation, WADL and documentation all read it). Build
the ASGI application with :func:`tianshan.services.fdsn.app.create_app`; run it with
``tianshan serve``. Importing this package loads nothing heavy.
"""
