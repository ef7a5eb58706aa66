"""Geophysical field observations (形变, 流体, 重力, 地磁): anomaly extraction (issue 9).

Modules, each imported on its own (nothing is imported here, so ``import
tianshan.analysis.precursor`` stays light):

* :mod:`.series` -- observation series readers (station ``.Dat``, CSV, metadata
  record), gaps explicit, bad lines reported with their line numbers;
* :mod:`.preprocess` -- steps, spikes, gaps and calibration jumps (logged, reversible),
  Earth-tide harmonic analysis, barometric/rainfall regression deconvolution;
* :mod:`.stransform` -- the S-transform (Stockwell, Mansinha & Lowe 1996);
* :mod:`.annual` -- ANA/ONA annual-variation indices as EQSuite-EVA computes them;
* :mod:`.detect` -- change points and robust exceedances, as an anomaly list;
* :mod:`.plots`, :mod:`.report` -- figures and the bilingual report section.

The efficacy of an index against earthquakes (R-score, Molchan diagram, threshold
search) lives in :mod:`tianshan.analysis.efficacy`, shared with the forecasting issue.
"""
