"""PyOcto travel-time tables from a Tianshan 1-D velocity model.

PyOcto's ``VelocityModel1D`` (Münchmeyer 2024, sec. 2.3) reads a binary table of first
P and S travel times on a regular grid of epicentral distance ``x`` and source depth
``z`` (both from 0, spacing ``delta``)::

    int32 nx, int32 nz, float64 delta_km,
    float64 p_times[nx][nz] (s, C order: x-major), float64 s_times[nx][nz]

and interpolates it bilinearly (PyOcto ``src/VelocityModel.cpp``,
``VelocityModel1D::travel_time``). PyOcto builds the table with pyrocko's eikonal solver
(``VelocityModel1D.create_model``), which is not a Tianshan dependency; here the same
file is filled from :class:`tianshan.traveltime.layered.LayeredTravelTime`, the exact
spherical layered-model solver verified against ObsPy TauP (< 0.01 s, see its docstring),
so that association and location use the same travel times. The test
``tests/events/test_associate_pyocto.py`` checks the file against the format PyOcto's own
writer produces (``create_model``'s ``struct.pack("iid", ...)`` header and array layout) by
reading it back, and checks PyOcto's interpolated times against the solver.

Tables are cached by a hash of the model and grid in ``$TIANSHAN_CACHE_DIR/pyocto`` (else
``$XDG_CACHE_HOME/tianshan/pyocto``); a table is written atomically, never into the package.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from tianshan.core.velocity import VelocityModel

#: Bump when the way tables are computed changes (invalidates cached files).
TABLE_VERSION = 1
#: Radius of the travel-time sphere (m), as in :mod:`tianshan.traveltime.layered`.
EARTH_RADIUS_M = 6_371_000.0


def default_cache_dir() -> Path:
    """``$TIANSHAN_CACHE_DIR/pyocto``, else ``$XDG_CACHE_HOME/tianshan/pyocto`` (``~/.cache/...``).

    Nothing is created here; :func:`pyocto_table` creates the folder when it writes.
    """
    env = os.environ.get("TIANSHAN_CACHE_DIR")
    if env:
        return Path(env) / "pyocto"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tianshan" / "pyocto"


def table_grid(max_distance_m: float, max_depth_m: float, spacing_m: float) -> tuple[int, int]:
    """Node counts ``(nx, nz)`` covering ``[0, max_distance_m]`` x ``[0, max_depth_m]`` plus two
    nodes (PyOcto returns NaN in the last cell of each axis)."""
    nx = int(math.ceil(max_distance_m / spacing_m)) + 2
    nz = int(math.ceil(max_depth_m / spacing_m)) + 2
    return nx, nz


def travel_time_grid(model: VelocityModel, nx: int, nz: int, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """First P and S times (s), arrays ``(nx, nz)`` at distance ``i * spacing_m`` and depth ``j * spacing_m``."""
    from tianshan.traveltime.layered import LayeredTravelTime

    solver = LayeredTravelTime(model, EARTH_RADIUS_M)
    x = np.arange(nx, dtype=float) * spacing_m
    out = []
    for phase in ("P", "S"):
        grid = np.empty((nx, nz), dtype=np.float64)
        for j in range(nz):
            t, _ = solver.first_arrival(phase, j * spacing_m, x)
            grid[:, j] = t
        if not np.all(np.isfinite(grid)):
            raise ValueError(f"{model.name}: no {phase} first arrival at some table nodes")
        out.append(grid)
    return out[0], out[1]


def _key(model: VelocityModel, nx: int, nz: int, spacing_m: float) -> str:
    spec = {"v": TABLE_VERSION, "r": EARTH_RADIUS_M, "nx": nx, "nz": nz, "d": spacing_m,
            "layers": [[lay.top_m, lay.vp_m_s, lay.vs_m_s] for lay in model.layers]}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def table_bytes(p_times: np.ndarray, s_times: np.ndarray, spacing_m: float) -> bytes:
    """The binary file PyOcto reads (see the module docstring)."""
    nx, nz = p_times.shape
    return (struct.pack("iid", nx, nz, spacing_m / 1000.0)
            + np.ascontiguousarray(p_times, dtype=np.float64).tobytes()
            + np.ascontiguousarray(s_times, dtype=np.float64).tobytes())


def read_table(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, float]:
    """Read a PyOcto table back: ``(p_times, s_times, spacing_m)``."""
    data = Path(path).read_bytes()
    nx, nz, delta_km = struct.unpack_from("iid", data)
    head = struct.calcsize("iid")
    arr = np.frombuffer(data, dtype=np.float64, offset=head, count=2 * nx * nz)
    return arr[: nx * nz].reshape(nx, nz), arr[nx * nz:].reshape(nx, nz), delta_km * 1000.0


def pyocto_table(model: VelocityModel, max_distance_m: float, max_depth_m: float, spacing_m: float,
                 cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the PyOcto table for ``model`` covering the given distance and depth (built if absent)."""
    from tianshan.io.atomic import atomic_write_bytes

    nx, nz = table_grid(max_distance_m, max_depth_m, spacing_m)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{_key(model, nx, nz, spacing_m)}.pyocto"
    if path.is_file() and path.stat().st_size == struct.calcsize("iid") + 16 * nx * nz:
        return path
    p, s = travel_time_grid(model, nx, nz, spacing_m)
    atomic_write_bytes(path, table_bytes(p, s, spacing_m))
    return path
