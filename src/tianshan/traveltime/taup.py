"""ObsPy TauP models built from a :class:`~tianshan.core.velocity.VelocityModel` (the reference).

TauP (Crotwell, Owens & Ritsema 1999, Seismol. Res. Lett. 70(2), 154-160; tau-p
method of Buland & Chapman 1983, BSSA 73(5), 1271-1302) is the field's standard
spherical 1-D travel-time code; ObsPy ships a Python port (``obspy.taup``). This
module writes our layered model as a TauP "named discontinuity" (``.nd``) file,
builds it with :func:`obspy.taup.taup_create.build_taup_model`, caches the built
``.npz`` keyed by a hash of the file text, and offers :func:`taup_first_arrivals`,
the first P or S arrival used to verify :mod:`tianshan.traveltime.layered`.

How the ``.nd`` file is spliced (all depths in km, velocities km/s, density g/cm^3)
-----------------------------------------------------------------------------------
1. Each layer of the VelocityModel except the last becomes two depth points, its top
   and its bottom (= next layer's top) with the same Vp, Vs, density: a
   constant-velocity layer; consecutive layers make first-order discontinuities.
2. The last layer (the model's half-space) is continued with its constant
   values from its top down to the *splice depth* ``splice_depth_m`` (default
   210 km, the ak135 210-km discontinuity), or, if the half-space starts deeper
   than ``splice_depth_m - 10 km``, to the first ak135 depth point at least 10 km
   below its top.
3. Below the splice depth the reference Earth model ak135 (Kennett, Engdahl &
   Buland 1995, GJI 122, 108-124), read at run time from the copy bundled with
   ObsPy (``obspy/taup/data/ak135f_no_mud.nd``, the ak135 P/S/density columns),
   continues to the centre. ak135 is linearly interpolated at the splice depth
   (its value below the discontinuity when the splice falls on one), giving a
   discontinuity from the half-space values to ak135 there; ak135's ``outer-core``
   and ``inner-core`` labels are kept.
4. The ``mantle`` label (TauP's Moho, which defines ``Pn``/``Pg``) is put at the
   layer top closest to ``model.moho_m``; at the half-space top when ``moho_m`` is None.

Consequences: in a 1000 km range every P/S ray that TauP traces through this file
turns less than ~80 km below a 35-60 km Moho, far above the splice, so the splice
cannot change regional first arrivals; it only makes the file a whole Earth that TauP
accepts (and gives sensible teleseismic phases). Note ak135's Vs at 210 km
(4.52 km/s) may be below the half-space's Vs: a low-velocity step there, harmless at
regional distances.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.velocity import VelocityModel
from tianshan.io.atomic import atomic_path, atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from obspy.taup import TauPyModel

#: Default depth (m) below which ak135 replaces the model's half-space.
SPLICE_DEPTH_M = 210_000.0
#: Earth radius (m) of the spliced TauP model (ak135's).
TAUP_EARTH_RADIUS_M = 6_371_000.0
#: TauP phase lists whose earliest arrival is the first P or S arrival. TauP names a
#: crustal source's phases ``p`` (leaving upward), ``Pg`` (leaving downward and turning
#: above the Moho), ``Pn`` (head wave along the Moho) and ``P`` (turning below the
#: Moho); a source below the Moho has only ``p`` and ``P``. Core phases complete the
#: list for teleseismic distances.
PHASE_LISTS: dict[str, tuple[str, ...]] = {
    "P": ("p", "Pg", "Pn", "P", "Pdiff", "PKP", "PKIKP"),
    "S": ("s", "Sg", "Sn", "S", "Sdiff", "SKS", "SKIKS"),
}

_AK135_FILE = "ak135f_no_mud.nd"
_LOADED: OrderedDict[str, "TauPyModel"] = OrderedDict()
_LOADED_MAX = 8


def default_cache_dir() -> Path:
    """Where built TauP models are kept: ``$TIANSHAN_CACHE_DIR/taup`` if set, else
    ``$XDG_CACHE_HOME/tianshan/taup`` (``~/.cache/tianshan/taup``). Nothing is created here."""
    env = os.environ.get("TIANSHAN_CACHE_DIR")
    if env:
        return Path(env) / "taup"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tianshan" / "taup"


def _ak135_rows() -> tuple[np.ndarray, int, int]:
    """ak135 rows (depth km, vp, vs, rho) and the row indices that start the outer and inner core."""
    import obspy.taup

    path = Path(obspy.taup.__file__).parent / "data" / _AK135_FILE
    rows: list[list[float]] = []
    labels: dict[str, int] = {}
    for line in path.read_text().splitlines():
        parts = line.split("#")[0].split()
        if not parts:
            continue
        if len(parts) == 1:
            labels[parts[0].lower()] = len(rows)
            continue
        rows.append([float(x) for x in parts[:4]])
    return np.array(rows), labels["outer-core"], labels["inner-core"]


def _ak135_at(rows: np.ndarray, depth_km: float) -> np.ndarray:
    """ak135 (vp, vs, rho) at ``depth_km``, linear between points, the deeper value on a discontinuity."""
    d = rows[:, 0]
    i = int(np.searchsorted(d, depth_km, side="right"))  # first row strictly deeper
    if i > 0 and d[i - 1] == depth_km:
        return rows[i - 1, 1:].copy()
    lo, hi = rows[i - 1], rows[i]
    w = (depth_km - lo[0]) / (hi[0] - lo[0])
    return lo[1:] + w * (hi[1:] - lo[1:])


def _fmt(depth_km: float, vp: float, vs: float, rho: float) -> str:
    return f"{depth_km:.6f} {vp:.9f} {vs:.9f} {rho:.9f}"


def taup_nd_text(model: VelocityModel, splice_depth_m: float = SPLICE_DEPTH_M) -> str:
    """The TauP ``.nd`` text for ``model`` spliced onto ak135 (see the module docstring).

    Raises :class:`InputError` (field ``splice_depth_m``) if the splice is not below the
    half-space top or not inside the mantle.
    """
    rows, i_oc, i_ic = _ak135_rows()
    layers = model.layers
    half = layers[-1]
    top_km = half.top_m / 1000.0
    splice_km = splice_depth_m / 1000.0
    if splice_km < top_km + 10.0:
        deeper = rows[:i_oc, 0][rows[:i_oc, 0] >= top_km + 10.0]
        if deeper.size == 0:
            raise InputError(f"half-space top {half.top_m} m is too deep to splice onto ak135",
                             source=model.name, field="splice_depth_m")
        splice_km = float(deeper[0])
    if splice_km >= rows[i_oc, 0]:
        raise InputError(f"splice depth {splice_km} km is not in the mantle", source=model.name,
                         field="splice_depth_m")
    tops = [lay.top_m for lay in layers]
    if model.moho_m is None:
        moho_index = len(layers) - 1
    else:
        moho_index = int(np.argmin([abs(t - model.moho_m) for t in tops]))
    lines = [f"# {model.name}: {len(layers)} constant-velocity layers over ak135 below {splice_km:g} km",
             "# depth_km vp_km_s vs_km_s density_g_cm3 (written by tianshan.traveltime.taup)"]
    for i, lay in enumerate(layers):
        bottom_km = tops[i + 1] / 1000.0 if i + 1 < len(layers) else splice_km
        if i == moho_index and i > 0:
            lines.append("mantle")
        vals = (lay.vp_m_s / 1000.0, lay.vs_m_s / 1000.0, lay.density_kg_m3 / 1000.0)
        lines.append(_fmt(lay.top_m / 1000.0, *vals))
        lines.append(_fmt(bottom_km, *vals))
    if moho_index == 0:
        raise InputError("the Moho cannot be at the surface", source=model.name, field="moho_m")
    lines.append(_fmt(splice_km, *_ak135_at(rows, splice_km)))
    for j in range(len(rows)):
        if rows[j, 0] <= splice_km:
            continue
        if j == i_oc:
            lines.append("outer-core")
        elif j == i_ic:
            lines.append("inner-core")
        lines.append(_fmt(*rows[j]))
    return "\n".join(lines) + "\n"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:40] or "model"


def taup_model(model: VelocityModel, cache_dir: Path | None = None,
               splice_depth_m: float = SPLICE_DEPTH_M) -> "TauPyModel":
    """An :class:`obspy.taup.TauPyModel` of ``model`` spliced onto ak135.

    The ``.nd`` text (:func:`taup_nd_text`) is hashed (SHA-256, with the ObsPy
    version); ``<cache_dir>/<name>-<hash>.npz`` is built once with
    :func:`obspy.taup.taup_create.build_taup_model` (ObsPy's defaults; takes seconds to
    tens of seconds) and reused afterwards, also across processes. The file appears
    atomically. ``cache_dir`` defaults to :func:`default_cache_dir`. Loaded models are
    also kept in memory (a small LRU) within the process.
    """
    import obspy
    from obspy.taup import TauPyModel
    from obspy.taup.taup_create import build_taup_model

    text = taup_nd_text(model, splice_depth_m)
    key = hashlib.sha256(f"obspy {obspy.__version__}\n{text}".encode()).hexdigest()[:20]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache / f"{_slug(model.name)}-{key}.npz"
    mem_key = str(target.resolve()) if target.parent.exists() else str(target)
    if mem_key in _LOADED:
        _LOADED.move_to_end(mem_key)
        return _LOADED[mem_key]
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".taup-build-", dir=cache) as tmp:
            nd = Path(tmp) / f"{_slug(model.name)}-{key}.nd"
            nd.write_text(text)
            build_taup_model(nd, output_folder=tmp, verbose=False)
            built = nd.with_suffix(".npz")
            if not built.is_file():
                raise RuntimeError(f"ObsPy TauP could not build model {model.name!r} (see {nd})")
            with atomic_path(target) as part:
                shutil.copyfile(built, part)
        atomic_write_text(target.with_suffix(".nd"), text)
    taup = TauPyModel(model=str(target))
    _LOADED[str(target.resolve())] = taup
    while len(_LOADED) > _LOADED_MAX:
        _LOADED.popitem(last=False)
    return taup


def taup_first_arrivals(model: "VelocityModel | TauPyModel", source_depth_m: float, distances_deg,
                        phase: str = "P", receiver_depth_m: float = 0.0, cache_dir: Path | None = None,
                        ray_param_tol: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """First ``phase`` ("P" or "S") arrival by TauP at each distance (degrees, great circle).

    ``model`` is a VelocityModel (built through :func:`taup_model`) or a ready
    TauPyModel. Returns ``(times_s, names)``: float array (NaN where TauP finds no
    arrival) and an object array of TauP phase names (``""`` where none), the
    earliest of :data:`PHASE_LISTS` ``[phase]``. ``ray_param_tol`` (s/rad) is TauP's
    shooting tolerance, tightened from its default 0.1 so the reference is accurate
    to well under a millisecond.

    When the receiver is deeper than the source, ObsPy's TauP finds no direct (downgoing)
    ray (its ``Ped`` gives nothing at short range), so the depths are swapped, by travel-time
    reciprocity (Aki & Richards 2002, sec. 4.5); the names then describe the reversed path.
    """
    if phase not in PHASE_LISTS:
        raise InputError(f"must be 'P' or 'S', got {phase!r}", field="phase")
    taup = taup_model(model, cache_dir) if isinstance(model, VelocityModel) else model
    dist = np.atleast_1d(np.asarray(distances_deg, dtype=float))
    src_km, rec_km = source_depth_m / 1000.0, receiver_depth_m / 1000.0
    if rec_km > src_km:
        src_km, rec_km = rec_km, src_km
    times = np.full(dist.shape, np.nan)
    names = np.full(dist.shape, "", dtype=object)
    for i, deg in enumerate(dist):
        arrivals = taup.get_travel_times(src_km, float(deg), list(PHASE_LISTS[phase]),
                                         receiver_depth_in_km=rec_km,
                                         ray_param_tol=ray_param_tol)
        if len(arrivals):
            first = min(arrivals, key=lambda a: a.time)
            times[i] = first.time
            names[i] = first.name
    return times, names
