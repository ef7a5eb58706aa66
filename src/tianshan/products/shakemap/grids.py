"""Mean and standard-deviation grids of an intensity map, and their GeoTIFF and NetCDF files.

Layers (:class:`MapLayer`), one per intensity measure, on one north-up lon/lat grid
(:class:`tianshan.groundmotion.conditioning.grid.GridSpec`, values at cell centres, row 0 the
northern row):

* ``mmi`` -- Modified Mercalli intensity (ShakeMap's conditioned MMI: Worden et al. 2012 from
  PGV and the station/macroseismic intensities); mean and sd in intensity units;
* ``cn`` -- Chinese instrumental intensity, GB/T 17742-2020 Appendix A applied to the
  conditioned PGA and PGV medians
  (:meth:`tianshan.groundmotion.conditioning.pipeline.ConditionedEvent.chinese_intensity`);
  its sd is propagated from the PGA and PGV sds by the derivatives of the standard's
  formulas: ``I = I_V`` (both ``I_A``, ``I_V`` >= 6) gives ``sd = 3.00 / ln 10 * sd_lnPGV``,
  else ``I = (I_A + I_V) / 2`` gives ``sd = (3.17 sd_lnPGA + 3.00 sd_lnPGV) / (2 ln 10)`` --
  the PGA and PGV errors taken as fully correlated (an upper bound; their correlation at a
  site is high, 0.7-0.9 in the Baker & Jayaram / Bradley correlation models, but is not
  modelled here) (:func:`chinese_intensity_layer`);
* ``pga``, ``pgv``, ``psa0.3``, ``psa1.0``, ``psa3.0`` -- mean of the ln value (ln m/s^2,
  ln m/s; larger horizontal component) and its sd (ln units).

Files
-----
* GeoTIFF (:func:`write_geotiff`, rasterio): one file per layer, two float32 bands --
  band 1 the **median** in linear SI units (m/s^2, m/s) for motions (``exp`` of the ln mean),
  the intensity for ``mmi``/``cn``; band 2 the sd (ln units or intensity units). EPSG:4326,
  pixel-is-area, 256 x 256 tiles, DEFLATE with the floating-point predictor; band
  descriptions and tags (``IMT``, ``UNITS``, ``SD_UNITS``) say what is what.
* NetCDF-4 (:func:`write_netcdf`, netCDF4): every layer in one file, variables
  ``<imt>_mean`` and ``<imt>_sd`` (``psa0.3`` -> ``psa0p3``) on dimensions ``(lat, lon)``,
  ``lat`` decreasing (north-up, as the grid), CF-1.8 attributes; ``*_mean`` of motions in ln SI
  units (``units = "ln(m s-2)"``), compressed (zlib level 4).

Both writers are atomic (:mod:`tianshan.io.atomic`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from tianshan.core.errors import InputError

__all__ = ["MapLayer", "MapGrids", "chinese_intensity_layer", "layer_units", "write_geotiff", "write_netcdf",
           "read_geotiff", "netcdf_name", "cell_areas_km2", "sample"]

_LN10 = math.log(10.0)
_R_KM = 6371.0088
INTENSITY_LAYERS = ("mmi", "cn")


def layer_units(imt: str) -> tuple[str, str, str]:
    """(units of the GeoTIFF band 1, of the NetCDF mean, of the sd) of a layer."""
    imt = imt.lower()
    if imt in INTENSITY_LAYERS:
        return "intensity", "intensity", "intensity"
    if imt == "pgv":
        return "m/s", "ln(m s-1)", "ln"
    if imt == "pga" or imt.startswith("psa"):
        return "m/s^2", "ln(m s-2)", "ln"
    raise InputError(f"unknown map layer {imt!r}", field="imt")


def netcdf_name(imt: str) -> str:
    """NetCDF variable stem of a layer (``psa0.3`` -> ``psa0p3``)."""
    return imt.lower().replace(".", "p")


@dataclass(frozen=True, slots=True, eq=False)
class MapLayer:
    """One intensity measure's grids (float32, shape (ny, nx)); module docstring for the units.

    ``prior_mean``/``prior_sd``: the model alone (no data), when known.
    """

    imt: str
    mean: object
    sd: object
    prior_mean: object = None
    prior_sd: object = None


@dataclass(frozen=True, slots=True, eq=False)
class MapGrids:
    """All layers of a map on one grid (``spec``: a ``GridSpec``)."""

    spec: object
    layers: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (int(self.spec.ny), int(self.spec.nx))
        for k, lay in self.layers.items():
            for name in ("mean", "sd"):
                if tuple(getattr(lay, name).shape) != shape:
                    raise InputError(f"layer {k} {name} has shape {getattr(lay, name).shape}, grid is {shape}",
                                     field="layers")


def chinese_intensity_layer(pga: MapLayer, pgv: MapLayer) -> MapLayer:
    """The GB/T 17742-2020 layer from the PGA and PGV layers (module docstring for the sd)."""
    import numpy as np

    from tianshan.groundmotion.intensity import gbt17742

    def one(ln_a, ln_v, sd_a, sd_v):
        ln_a = np.asarray(ln_a, dtype=np.float64)
        ln_v = np.asarray(ln_v, dtype=np.float64)
        i_a = gbt17742.A_SLOPE * ln_a / _LN10 + gbt17742.A_INTERCEPT
        i_v = gbt17742.V_SLOPE * ln_v / _LN10 + gbt17742.V_INTERCEPT
        both = (i_a >= gbt17742.SWITCH) & (i_v >= gbt17742.SWITCH)
        mean = np.clip(np.where(both, i_v, 0.5 * (i_a + i_v)), gbt17742.I_MIN, gbt17742.I_MAX)
        sd = np.where(both, gbt17742.V_SLOPE * np.asarray(sd_v, dtype=np.float64) / _LN10,
                      (gbt17742.A_SLOPE * np.asarray(sd_a, dtype=np.float64)
                       + gbt17742.V_SLOPE * np.asarray(sd_v, dtype=np.float64)) / (2 * _LN10))
        return mean.astype(np.float32), sd.astype(np.float32)

    mean, sd = one(pga.mean, pgv.mean, pga.sd, pgv.sd)
    pm = ps = None
    if pga.prior_mean is not None and pgv.prior_mean is not None:
        pm, ps = one(pga.prior_mean, pgv.prior_mean, pga.prior_sd, pgv.prior_sd)
    return MapLayer("cn", mean, sd, pm, ps)


def _median(layer: MapLayer):
    import numpy as np

    if layer.imt in INTENSITY_LAYERS:
        return np.asarray(layer.mean, dtype=np.float32)
    return np.exp(np.asarray(layer.mean, dtype=np.float64)).astype(np.float32)


def write_geotiff(path: str | os.PathLike, spec, layer: MapLayer, tags: dict | None = None) -> Path:
    """One layer as a two-band GeoTIFF (module docstring)."""
    import numpy as np
    import rasterio
    from affine import Affine

    from tianshan.io.atomic import atomic_path

    units, _, sd_units = layer_units(layer.imt)
    profile = dict(driver="GTiff", width=int(spec.nx), height=int(spec.ny), count=2, dtype="float32",
                   crs="EPSG:4326", transform=Affine(spec.dlon_deg, 0.0, spec.west_deg, 0.0, -spec.dlat_deg, spec.north_deg),
                   nodata=np.nan, compress="deflate", predictor=3)
    if spec.nx >= 256 and spec.ny >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    target = Path(path)
    with atomic_path(target) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(_median(layer), 1)
            dst.write(np.asarray(layer.sd, dtype=np.float32), 2)
            dst.set_band_description(1, f"{layer.imt} {'median' if units != 'intensity' else 'mean'} ({units})")
            dst.set_band_description(2, f"{layer.imt} standard deviation ({sd_units})")
            dst.update_tags(IMT=layer.imt, UNITS=units, SD_UNITS=sd_units, AREA_OR_POINT="Area",
                            **{str(k).upper(): str(v) for k, v in (tags or {}).items()})
    return target


def read_geotiff(path: str | os.PathLike) -> tuple[object, object, dict, tuple[float, float, float, float]]:
    """(band 1, band 2, tags, (west, north, dlon, dlat)) of a file written by :func:`write_geotiff`."""
    import rasterio

    with rasterio.open(path) as src:
        t = src.transform
        return src.read(1), src.read(2), dict(src.tags()), (t.c, t.f, t.a, -t.e)


def write_netcdf(path: str | os.PathLike, grids: MapGrids, attributes: dict | None = None) -> Path:
    """Every layer in one NetCDF-4 file (module docstring)."""
    import netCDF4
    import numpy as np

    from tianshan.io.atomic import atomic_path

    spec = grids.spec
    target = Path(path)
    with atomic_path(target) as tmp:
        ds = netCDF4.Dataset(tmp, "w", format="NETCDF4")
        try:
            ds.Conventions = "CF-1.8"
            ds.title = "Tianshan intensity map (ShakeMap v4 method)"
            for k, v in (attributes or {}).items():
                setattr(ds, str(k), v if isinstance(v, (int, float)) else str(v))
            ds.createDimension("lat", int(spec.ny))
            ds.createDimension("lon", int(spec.nx))
            lat = ds.createVariable("lat", "f8", ("lat",))
            lat.units, lat.standard_name, lat.axis = "degrees_north", "latitude", "Y"
            lat[:] = spec.latitudes()
            lon = ds.createVariable("lon", "f8", ("lon",))
            lon.units, lon.standard_name, lon.axis = "degrees_east", "longitude", "X"
            lon[:] = spec.longitudes()
            crs = ds.createVariable("crs", "i4")
            crs.grid_mapping_name = "latitude_longitude"
            crs.semi_major_axis, crs.inverse_flattening = 6378137.0, 298.257223563
            for imt, layer in grids.layers.items():
                _, units, sd_units = layer_units(imt)
                name = netcdf_name(imt)
                for suffix, data, u, what in (("mean", layer.mean, units, "mean"),
                                              ("sd", layer.sd, sd_units, "standard deviation")):
                    v = ds.createVariable(f"{name}_{suffix}", "f4", ("lat", "lon"), zlib=True, complevel=4,
                                          fill_value=np.float32(np.nan))
                    v.units = u
                    v.long_name = f"{imt} {what}" + ("" if imt in INTENSITY_LAYERS else " of the natural log")
                    v.grid_mapping = "crs"
                    v[:, :] = np.asarray(data, dtype=np.float32)
        finally:
            ds.close()
    return target


def cell_areas_km2(spec):
    """Area (km^2) of the cells of each row, shape (ny,): ``R^2 dlon (sin phi_top - sin phi_bottom)``
    on the sphere of radius 6371.0088 km (IUGG mean radius)."""
    import numpy as np

    top = spec.north_deg - np.arange(spec.ny) * spec.dlat_deg
    bottom = top - spec.dlat_deg
    return _R_KM ** 2 * math.radians(spec.dlon_deg) * (np.sin(np.radians(top)) - np.sin(np.radians(bottom)))


def sample(spec, values, latitude_deg, longitude_deg):
    """Grid values at points (the cell holding each point; NaN outside the grid)."""
    import numpy as np

    lat = np.asarray(latitude_deg, dtype=np.float64)
    lon = np.asarray(longitude_deg, dtype=np.float64)
    row = np.floor((spec.north_deg - lat) / spec.dlat_deg).astype(np.int64)
    col = np.floor((lon - spec.west_deg) / spec.dlon_deg).astype(np.int64)
    ok = (row >= 0) & (row < spec.ny) & (col >= 0) & (col < spec.nx)
    out = np.full(lat.shape, np.nan)
    out[ok] = np.asarray(values)[row[ok], col[ok]]
    return out
