"""Prediction-efficacy evaluation of alarms and forecasts (shared by issues 8 and 9).

* :mod:`.rscore` -- the R-score (许绍燮 1989) with its 97.5 % threshold R0 (exact
  binomial), significance level and probability gain;
* :mod:`.molchan` -- Molchan error diagram, area skill score, significance curves;
* :mod:`.alarms` -- alarms of an anomaly index against target earthquakes of a catalog
  (magnitude, radius, prediction window), the bidirectional asymmetric threshold search
  and the best index with its significance.

Nothing is imported here, so ``import tianshan.analysis.efficacy`` stays light.
"""
