"""Earthquake early warning (issue 5): per-station P-wave processing and event estimation.

* :mod:`tianshan.eew.config` -- settings with their sources (:class:`EEWConfig`).
* :mod:`tianshan.eew.station` -- per-packet processing of every channel (ground units,
  recursive 0.075 Hz high-pass integration, trigger, Pd / tau_c / tau_p_max / PGA / PGV);
  :class:`StationBank` is the packet entry point.
* :mod:`tianshan.eew.trigger` -- fast STA/LTA P detection and glitch/spike rejection tests.
* :mod:`tianshan.eew.magnitude` -- Pd (Kuyuk & Allen 2013) and tau_p_max (Allen & Kanamori
  2003) magnitudes, inverse-variance combination, saturation flag.
* :mod:`tianshan.eew.locate` -- evolutionary grid-search location with not-yet-arrived
  stations (Satriano, Lomax & Zollo 2008).
* :mod:`tianshan.eew.event` -- :class:`EEWEngine`: declaration from >= N stations, event
  versions updated every packet/second.

The package is independent of the real-time daemon: it takes packets (arrays, BufferSet
segments or ObsPy traces) and returns triggers and event versions. Nothing heavy is imported
here; ``from tianshan.eew import EEWEngine`` loads the submodule on first use.
"""

from __future__ import annotations

__all__ = ["EEWConfig", "EEWEngine", "EEWEvent", "StationBank", "Trigger", "StationMeasurement",
           "EvolutionaryLocator", "mems_station"]

_WHERE = {"EEWConfig": "config", "EEWEngine": "event", "EEWEvent": "event", "StationBank": "station",
          "Trigger": "station", "StationMeasurement": "station", "EvolutionaryLocator": "locate",
          "mems_station": "station"}


def __getattr__(name: str):
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'tianshan.eew' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"tianshan.eew.{mod}"), name)
