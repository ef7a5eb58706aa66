"""Batch automatic cataloging: continuous waveforms in an archive -> events in the store.

:func:`build_catalog` (``tianshan catalog build``) runs QC and picking per chunk in
parallel through Dask, then association, location, magnitudes and event typing, and
stores the events; see :mod:`tianshan.events.build.pipeline`.
"""

from tianshan.events.build.pipeline import BuildSummary, build_catalog, resolve_network

__all__ = ["BuildSummary", "build_catalog", "resolve_network"]
