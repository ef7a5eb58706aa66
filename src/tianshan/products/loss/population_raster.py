"""Population rasters as GeoTIFF (WorldPop, GHSL, LandScan crops a user supplies).

``rasterio`` and GDAL are not installed; the file is read with Pillow, which decodes
single-band baseline TIFF (uncompressed, LZW, Deflate, PackBits; 8/16/32-bit integer and
32-bit float samples; strips or tiles). The georeferencing is read from the GeoTIFF tags
(GeoTIFF 1.0 / OGC 19-008r4):

* ``ModelPixelScaleTag`` (33550) ``(sx, sy, sz)`` and ``ModelTiepointTag`` (33922)
  ``(i, j, k, x, y, z)``: the raster point ``(i, j)`` is at longitude ``x``, latitude ``y``;
  pixel ``(col, row)`` spans ``x + (col - i) * sx`` eastwards and ``y - (row - j) * sy``
  southwards. ``ModelTransformationTag`` (34264) rasters (rotated) are refused.
* ``GeoKeyDirectoryTag`` (34735): ``GTModelTypeGeoKey`` (1024) must be 2 (geographic)
  and ``GeographicTypeGeoKey`` (2048) 4326 (WGS 84) when present -- projected rasters are
  refused with a message saying to reproject to EPSG:4326 first; ``GTRasterTypeGeoKey``
  (1025) = 2 (PixelIsPoint) shifts the grid by half a pixel.
* ``GDAL_NODATA`` (42113): that value, NaN and negative values count as no population.

Values are people per pixel (WorldPop "ppp", GHSL POP, LandScan ambient population).
Density rasters (people per km^2) are not recognised as such; convert them first.
Big rasters are summed in blocks (``max_cells``) so the exposure stays tractable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tianshan.core.errors import InputError

TAG_PIXEL_SCALE = 33550
TAG_TIEPOINT = 33922
TAG_TRANSFORMATION = 34264
TAG_GEOKEYS = 34735
TAG_GDAL_NODATA = 42113
KEY_MODEL_TYPE = 1024
KEY_RASTER_TYPE = 1025
KEY_GEOGRAPHIC_TYPE = 2048
MODEL_TYPE_GEOGRAPHIC = 2
RASTER_PIXEL_IS_POINT = 2
EPSG_WGS84 = 4326
DEFAULT_MAX_CELLS = 4_000_000


@dataclass(frozen=True, slots=True, eq=False)
class PopulationRaster:
    """People per pixel on a north-up lon/lat grid: pixel (row, col) has its centre at
    ``north_deg - (row + 0.5) * dlat_deg``, ``west_deg + (col + 0.5) * dlon_deg``."""

    west_deg: float
    north_deg: float
    dlon_deg: float
    dlat_deg: float
    values: object
    source: str = ""

    def __post_init__(self) -> None:
        import numpy as np

        vals = np.asarray(self.values, dtype=np.float64)
        if vals.ndim != 2 or vals.size == 0:
            raise InputError(f"population raster must be a non-empty 2-D array, got shape {vals.shape}",
                             source=self.source or None)
        vals = np.where(np.isfinite(vals) & (vals > 0), vals, 0.0)
        for name in ("west_deg", "north_deg", "dlon_deg", "dlat_deg"):
            if not math.isfinite(float(getattr(self, name))):
                raise InputError(f"{name} must be finite", source=self.source or None)
        if not (self.dlon_deg > 0 and self.dlat_deg > 0):
            raise InputError("pixel size must be > 0", source=self.source or None)
        object.__setattr__(self, "values", vals)

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    def centres(self):
        """(latitudes (ny,), longitudes (nx,)) of pixel centres."""
        import numpy as np

        ny, nx = self.values.shape
        lats = self.north_deg - (np.arange(ny) + 0.5) * self.dlat_deg
        lons = self.west_deg + (np.arange(nx) + 0.5) * self.dlon_deg
        return lats, lons

    def coarsened(self, max_cells: int = DEFAULT_MAX_CELLS) -> "PopulationRaster":
        """Sum ``f x f`` blocks (``f`` the smallest integer giving at most ``max_cells`` pixels)."""
        import numpy as np

        ny, nx = self.values.shape
        if ny * nx <= max_cells:
            return self
        f = int(math.ceil(math.sqrt(ny * nx / max_cells)))
        py, px = (-ny) % f, (-nx) % f
        v = np.pad(self.values, ((0, py), (0, px)))
        v = v.reshape(v.shape[0] // f, f, v.shape[1] // f, f).sum(axis=(1, 3))
        return PopulationRaster(self.west_deg, self.north_deg, self.dlon_deg * f, self.dlat_deg * f, v,
                                source=self.source)


def _geokeys(raw) -> dict[int, int]:
    if not raw or len(raw) < 4:
        return {}
    n = int(raw[3])
    keys = {}
    for i in range(n):
        k, loc, _count, val = (int(x) for x in raw[4 + 4 * i: 8 + 4 * i])
        if loc == 0:               # value stored inline
            keys[k] = val
    return keys


def read_population_geotiff(path: str | Path) -> PopulationRaster:
    """Read a single-band WGS84 population GeoTIFF (module docstring); errors are :class:`InputError`."""
    import numpy as np

    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("population raster not found", source=src)
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow ships with matplotlib here
        raise InputError("reading GeoTIFF needs Pillow, which is not installed", source=src) from None
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as im:
            tags = dict(im.tag_v2)
            if getattr(im, "n_frames", 1) > 1:
                raise InputError("multi-page TIFF: give a single-band population raster", source=src)
            arr = np.asarray(im)
    except InputError:
        raise
    except (OSError, ValueError, SyntaxError) as err:
        raise InputError(f"cannot read as a TIFF raster ({err})", source=src) from None
    if arr.ndim != 2:
        raise InputError(f"expected one band, got an image of shape {arr.shape}", source=src)
    if TAG_TRANSFORMATION in tags:
        raise InputError("rotated/sheared rasters (ModelTransformationTag) are not supported; "
                         "warp to a north-up EPSG:4326 grid first", source=src)
    scale, tie = tags.get(TAG_PIXEL_SCALE), tags.get(TAG_TIEPOINT)
    if not scale or not tie or len(scale) < 2 or len(tie) < 6:
        raise InputError("not a GeoTIFF: no ModelPixelScale/ModelTiepoint tags", source=src)
    keys = _geokeys(tags.get(TAG_GEOKEYS))
    model = keys.get(KEY_MODEL_TYPE)
    if model is not None and model != MODEL_TYPE_GEOGRAPHIC:
        raise InputError("projected raster: reproject the population raster to EPSG:4326 (lon/lat) first",
                         source=src)
    gcs = keys.get(KEY_GEOGRAPHIC_TYPE)
    if gcs is not None and gcs not in (EPSG_WGS84, 32767):
        raise InputError(f"geographic CRS EPSG:{gcs} is not WGS 84 (EPSG:4326)", source=src)
    sx, sy = float(scale[0]), float(scale[1])
    i, j, x, y = float(tie[0]), float(tie[1]), float(tie[3]), float(tie[4])
    west, north = x - i * sx, y + j * sy
    if keys.get(KEY_RASTER_TYPE) == RASTER_PIXEL_IS_POINT:
        west, north = west - 0.5 * sx, north + 0.5 * sy
    vals = arr.astype(np.float64)
    nodata = tags.get(TAG_GDAL_NODATA)
    if nodata is not None:
        try:
            nd = float(str(nodata).strip().strip("\x00"))
            vals[vals == nd] = np.nan
        except ValueError:
            pass
    if not (-180.0 <= west <= 180.0 and -90.0 <= north <= 90.0):
        raise InputError(f"raster origin ({west}, {north}) is not a lon/lat position; is it projected?",
                         source=src)
    return PopulationRaster(west, north, sx, sy, vals, source=src)


def write_population_geotiff(raster: PopulationRaster, path: str | Path) -> Path:
    """Write ``raster`` as a float32 GeoTIFF (WGS 84, PixelIsArea, LZW), atomically.

    Used by tests and to save crops; readable by GDAL/rasterio and by :func:`read_population_geotiff`.
    """
    import numpy as np
    from PIL import Image, TiffImagePlugin

    from tianshan.io.atomic import atomic_path

    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[TAG_PIXEL_SCALE] = (float(raster.dlon_deg), float(raster.dlat_deg), 0.0)
    ifd.tagtype[TAG_PIXEL_SCALE] = 12
    ifd[TAG_TIEPOINT] = (0.0, 0.0, 0.0, float(raster.west_deg), float(raster.north_deg), 0.0)
    ifd.tagtype[TAG_TIEPOINT] = 12
    ifd[TAG_GEOKEYS] = (1, 1, 0, 3, KEY_MODEL_TYPE, 0, 1, MODEL_TYPE_GEOGRAPHIC, KEY_RASTER_TYPE, 0, 1, 1,
                        KEY_GEOGRAPHIC_TYPE, 0, 1, EPSG_WGS84)
    ifd.tagtype[TAG_GEOKEYS] = 3
    im = Image.fromarray(np.asarray(raster.values, dtype=np.float32), mode="F")
    with atomic_path(path) as tmp:
        im.save(tmp, format="TIFF", tiffinfo=ifd, compression="tiff_lzw")
    return Path(path)
