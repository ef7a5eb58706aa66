"""Intensity-map outputs (烈度速报产品), ShakeMap v4 style, from a conditioned ground-motion map.

:mod:`.build` (one event -> every output and its :class:`~tianshan.core.product.Product`
records), :mod:`.grids` (GeoTIFF / NetCDF mean and sd grids), :mod:`.contours` (GeoJSON
polygons per intensity degree), :mod:`.stations` (station GeoJSON, observed vs predicted,
flags), :mod:`.gridxml` (ShakeMap-compatible ``grid.xml``), :mod:`.summary` (maximum
intensity, area and population per degree, bilingual), :mod:`.mapplot` (PNG/SVG map),
:mod:`.updates` (when a new map version is due). Importing this package loads nothing heavy.
"""
