"""Non-linear probabilistic earthquake location in a layered 1-D model (NonLinLoc style).

``locate(picks, stations, model, config=None) -> LocationResult``: oct-tree sampling of the
EDT or L2 posterior with station elevations, maximum-likelihood and expected hypocentres,
68 % ellipse/ellipsoid, RMS, gap, nearest station and HYPO71 quality class. See
:mod:`tianshan.events.locate.locator` for the method and the submodules for each piece.
Only numpy (and scipy for the 3-D chi-square quantile) are imported.
"""

from tianshan.events.locate.config import Likelihood, LocateConfig
from tianshan.events.locate.locator import LocationError, LocationResult, locate, phase_family
from tianshan.events.locate.uncertainty import Ellipsoid

__all__ = ["Ellipsoid", "Likelihood", "LocateConfig", "LocationError", "LocationResult", "locate",
           "phase_family"]
