"""Conditioning of ground-motion predictions on observations (ShakeMap v4 method).

:mod:`.mvn` (Worden et al. 2018 / Engler et al. 2022 multivariate-normal conditioning),
:mod:`.correlation` (spatial and cross-IMT correlation models), :mod:`.grid` (mean and sd
grids, tiled), :mod:`.stations` (station quality rules and flags), :mod:`.pipeline` (event
maps: model + observations), :mod:`.loo` (leave-one-out validation).
Importing this package loads nothing heavy.
"""
