"""Disaster loss estimation and decision support (灾情评估与辅助决策).

The chain, one module per step, each taking the previous step's output as input:

* :mod:`.shaking` -- the intensity field the chain starts from (a grid of MMI mean and
  sigma, or points) and how it is sampled at exposure locations;
* :mod:`.simple_intensity` -- a deliberately simple, cited intensity prediction (BSSA14 PGV
  through Worden et al. 2012) used by scenarios and tests until the project's own
  prediction/conditioning modules are plugged in; isolated in one function;
* :mod:`.exposure` -- population per location: county census populations distributed
  inside county polygons by towns or by a population GeoTIFF, or town points (demo);
  and population per intensity degree per county;
* :mod:`.pager` -- USGS PAGER empirical fatality (Jaiswal & Wald 2010) and economic loss
  (Jaiswal & Wald 2011) models, their lognormal uncertainty, range probabilities and
  the alert colour;
* :mod:`.casualties` -- injured and people needing shelter;
* :mod:`.response` -- the national emergency response level (国家地震应急预案 2012),
  county ranking, nearest towns, needs (tents, rescue teams), historical earthquakes;
* :mod:`.scenario` -- the full chain for one scenario and its JSON.

Importing this package imports nothing heavy; numpy, shapely and hazardlib are imported
by the modules that compute.
"""
