"""Seismicity analysis, probabilistic forecasting and forecast/prediction evaluation (issue 8).

One sub-package per topic, e.g. :mod:`tianshan.analysis.etas` (space-time ETAS model: data
layout, likelihood, maximum-likelihood fit with stochastic declustering). Nothing is
imported here, so ``import tianshan.analysis`` stays light.
"""
