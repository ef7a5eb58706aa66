"""Space-time ETAS model (Zhuang, Ogata & Vere-Jones 2002) as fitted by the R package ETAS.

* :mod:`.data` -- R ETAS catalog layout reader, study polygon, flat-map projection,
  target/complementary split (:func:`read_etas_csv`, :func:`make_catalog`);
* :mod:`.model` -- parameters, triggering kernels, polygon integrals, log-likelihood;
* :mod:`.declustering` -- stochastic declustering and the kernel-smoothed background;
* :mod:`.fit` -- iterative maximum likelihood with standard errors (:func:`fit_etas`).

The compiled loops (numba) live in ``_kernels`` and are imported only when first used.
"""

from tianshan.analysis.etas.data import EtasCatalog, EtasCsv, make_catalog, parse_polygon, read_etas_csv
from tianshan.analysis.etas.fit import EtasFit, fit_etas
from tianshan.analysis.etas.model import PARAM_NAMES, EtasParams, beta_mle, log_likelihood

__all__ = ["EtasCatalog", "EtasCsv", "EtasFit", "EtasParams", "PARAM_NAMES", "beta_mle", "fit_etas",
           "log_likelihood", "make_catalog", "parse_polygon", "read_etas_csv"]
