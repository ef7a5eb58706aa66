"""NonLinLoc text formats: phase observations (``NLLOC_OBS``), station coordinates, control files.

Formats as documented with NonLinLoc (Lomax et al. 2000; http://alomax.net/nlloc, "Phase
/ Observation File Formats" and "Control File"):

* **NLLOC_OBS** phase lines, whitespace separated::

      Station Instrument Component P_onset Phase FirstMotion Date HourMin Seconds Err ErrMag
      CodaDuration Amplitude Period [PriorWt] [> ignored...]

  ``Date`` is ``YYYYMMDD``, ``HourMin`` ``hhmm``, ``Seconds`` a float; ``Err``/``ErrMag``
  the error type and value (``GAU`` sigma in seconds is kept as the pick's
  ``time_uncertainty_s``). Events are separated by blank lines; ``#`` starts a comment
  line and ``PUBLIC_ID`` lines are skipped. First motion ``U``/``C``/``+`` is positive,
  ``D``/``-`` negative, anything else unknown.
* **Stations**: ``GTSRCE label LATLON lat lon zSrce elev`` (also ``LOCSRCE``), km; the
  station's elevation is ``elev - zSrce`` (a sensor buried ``zSrce`` km below a site at
  ``elev``). Lines of other keywords are ignored, so a whole control file may be read.
* **Control file**: ``LAYER depth VpTop VpGrad VsTop VsGrad rhoTop rhoGrad`` (km, km/s,
  g/cm^3, gradients per km) give the layered model; ``TRANS``, ``LOCGRID``, ``LOCMETH``,
  ``LOCGAU``, ``LOCGAU2`` the location settings (:class:`NllocControl`). ``INCLUDE`` is
  not followed.

Station labels map to SEED codes: ``NET_STA_LOC`` (``--`` = empty location), ``NET_STA``,
or a bare ``STA`` with ``default_network``; a component that is not a 3-character SEED
channel code becomes ``XX`` + its last letter (``XXX`` when none). Labels that do not make
valid SEED codes are skipped and counted (NonLinLoc too ignores observations whose station
it cannot find).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.pick import Pick, Polarity
from tianshan.core.station import Station
from tianshan.core.velocity import Layer, VelocityModel, brocher_density

__all__ = ["NllocObservations", "NllocControl", "label_codes", "read_nlloc_obs", "read_nlloc_stations",
           "read_nlloc_control", "read_nlloc_model", "NllocHypocentre", "read_nlloc_hyp"]

_CHA = re.compile(r"^[A-Z0-9]{3}$")
_POLARITY = {"U": Polarity.POSITIVE, "C": Polarity.POSITIVE, "+": Polarity.POSITIVE,
             "D": Polarity.NEGATIVE, "-": Polarity.NEGATIVE}


def _read_lines(path: str | Path) -> list[str]:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise InputError("file not found", str(p)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", str(p)) from None


def label_codes(label: str, default_network: str = "XX") -> tuple[str, str, str]:
    """``(network, station, location)`` of a NonLinLoc station label (module docstring);
    raises :class:`DomainError` when they are not valid SEED codes."""
    parts = label.strip().split("_")
    if len(parts) == 3:
        net, sta, loc = parts
    elif len(parts) == 2:
        (net, sta), loc = parts, ""
    elif len(parts) == 1:
        net, sta, loc = default_network, parts[0], ""
    else:
        raise DomainError(f"station label {label!r}: expected NET_STA_LOC, NET_STA or STA")
    loc = "" if loc == "--" else loc
    StreamID(net, sta, loc, "XXX")        # validates
    return net, sta, loc


def _channel(component: str) -> str:
    c = component.strip().upper()
    if _CHA.match(c):
        return c
    last = c[-1:] if c[-1:].isalnum() else "X"
    return "XX" + last


@dataclass(frozen=True)
class NllocObservations:
    """Events of an NLLOC_OBS file (each a tuple of picks) and the lines skipped, by reason."""

    events: tuple[tuple[Pick, ...], ...]
    skipped: dict[str, int] = field(default_factory=dict)


def _pick(tokens: list[str], default_network: str) -> Pick:
    net, sta, loc = label_codes(tokens[0], default_network)
    date, hm, sec = tokens[6], tokens[7], float(tokens[8])
    if len(date) != 8 or not date.isdigit() or not hm.isdigit() or len(hm) > 4 or not math.isfinite(sec):
        raise ValueError(f"bad date/time {date} {hm} {tokens[8]}")
    hm = hm.zfill(4)
    t = datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(hm[:2]), int(hm[2:]), tzinfo=timezone.utc)
    t += timedelta(seconds=sec)
    sigma = None
    if tokens[9].upper() == "GAU":
        value = float(tokens[10])
        sigma = value if math.isfinite(value) and value > 0 else None
    return Pick(stream_id=StreamID(net, sta, loc, _channel(tokens[2])), time=t, phase=tokens[4],
                time_uncertainty_s=sigma, polarity=_POLARITY.get(tokens[5].upper()), method="nlloc-obs")


def read_nlloc_obs(path: str | Path, default_network: str = "XX") -> NllocObservations:
    """Read an NLLOC_OBS phase file (module docstring). Lines that cannot be read (too few
    fields, bad numbers or dates, station labels that are not SEED codes) are skipped and
    counted; an empty result raises :class:`InputError`."""
    events: list[tuple[Pick, ...]] = []
    current: list[Pick] = []
    skipped: Counter = Counter()
    for line in _read_lines(path):
        text = line.strip()
        if not text:
            if current:
                events.append(tuple(current))
                current = []
            continue
        if text.startswith("#") or text.upper().startswith("PUBLIC_ID"):
            continue
        tokens = text.split(">")[0].split()
        if len(tokens) < 12:
            skipped["bad_line"] += 1
            continue
        try:
            current.append(_pick(tokens, default_network))
        except DomainError:
            skipped["bad_station_label"] += 1
        except (ValueError, OverflowError):
            skipped["bad_line"] += 1
    if current:
        events.append(tuple(current))
    if not events:
        raise InputError("no phase lines in NLLOC_OBS format found", str(path))
    return NllocObservations(tuple(events), dict(skipped))


def read_nlloc_stations(path: str | Path, default_network: str = "XX") -> tuple[Station, ...]:
    """Stations from ``GTSRCE``/``LOCSRCE ... LATLON`` lines (the first of a repeated label wins).

    A ``LATLON`` line with bad numbers raises :class:`InputError` naming the line; labels
    that are not SEED codes are skipped. No station at all raises :class:`InputError`.
    """
    out: dict[str, Station] = {}
    for n, line in enumerate(_read_lines(path), start=1):
        tokens = line.split("#")[0].split()
        if len(tokens) < 7 or tokens[0].upper() not in ("GTSRCE", "LOCSRCE"):
            continue
        if tokens[2].upper() not in ("LATLON", "LATLONDM", "LATLONDS"):
            if tokens[2].upper() == "XYZ":
                raise InputError("XYZ station coordinates need the grid transform; use LATLON", str(path), n)
            continue
        if tokens[2].upper() != "LATLON":
            raise InputError(f"{tokens[2]} coordinates are not supported; use LATLON", str(path), n)
        try:
            net, sta, _ = label_codes(tokens[1], default_network)
        except DomainError:
            continue
        try:
            lat, lon, z, elev = (float(v) for v in tokens[3:7])
            st = Station(net, sta, lat, lon, (elev - z) * 1000.0, name=tokens[1])
        except (ValueError, DomainError) as err:
            raise InputError(str(err), str(path), n) from None
        out.setdefault(st.station_id, st)
    if not out:
        raise InputError("no GTSRCE/LOCSRCE LATLON station lines found", str(path))
    return tuple(out.values())


@dataclass(frozen=True)
class NllocControl:
    """What the locator uses from a NonLinLoc control file (km converted to m).

    ``layers``: raw ``LAYER`` rows (depth_km, vp_top, vp_grad, vs_top, vs_grad, rho_top,
    rho_grad); ``trans``: the ``TRANS`` tokens; ``origin_lat_deg``/``origin_lon_deg`` of the
    rectangular frame (SIMPLE, SDC, LAMBERT, TRANS_MERC, AZIMUTHAL_EQUIDIST); ``grid_*``: the
    first ``LOCGRID`` box (x east, y north relative to the origin, z down); ``method`` of
    ``LOCMETH`` with ``max_dist_sta_grid_m``, ``min_phases`` and ``vp_vs`` (<= 0: use S
    layers); ``gau_sigma_s`` (``LOCGAU``), ``gau2`` (fraction, min s, max s) of ``LOCGAU2``;
    ``vggrid``: the ``VGGRID`` numbers (km); ``octree``: ``LOCSEARCH OCT`` initial cells x, y,
    z, minimum node size (km) and maximum number of nodes.
    """

    source: str
    layers: tuple[tuple[float, ...], ...]
    trans: tuple[str, ...] = ()
    origin_lat_deg: float | None = None
    origin_lon_deg: float | None = None
    grid_lower_m: tuple[float, float, float] | None = None
    grid_upper_m: tuple[float, float, float] | None = None
    method: str | None = None
    max_dist_sta_grid_m: float | None = None
    min_phases: int | None = None
    vp_vs: float | None = None
    gau_sigma_s: float | None = None
    gau2: tuple[float, float, float] | None = None
    vggrid: tuple[float, ...] | None = None
    octree: tuple[float, ...] | None = None

    @property
    def grid2d_reach_m(self) -> float | None:
        """Horizontal reach of the 2-D travel-time grids (``VGGRID`` with ``xNum = 2``: the
        y extent), or None for 3-D or absent grids."""
        if self.vggrid is None or int(self.vggrid[0]) != 2:
            return None
        return (self.vggrid[1] - 1) * self.vggrid[7] * 1000.0

    @property
    def is_global(self) -> bool:
        return bool(self.trans) and self.trans[0].upper() == "GLOBAL"


def _floats(tokens: list[str], n: int, source: str, line: int, what: str) -> list[float]:
    if len(tokens) < n:
        raise InputError(f"{what}: expected {n} numbers, got {len(tokens)}", source, line)
    try:
        vals = [float(t) for t in tokens[:n]]
    except ValueError:
        raise InputError(f"{what}: not a number in {' '.join(tokens[:n])!r}", source, line) from None
    if not all(math.isfinite(v) for v in vals):
        raise InputError(f"{what}: numbers must be finite", source, line)
    return vals


def read_nlloc_control(path: str | Path) -> NllocControl:
    """Parse the ``LAYER``, ``TRANS``, ``LOCGRID``, ``LOCMETH``, ``LOCGAU`` and ``LOCGAU2`` lines."""
    src = str(path)
    layers: list[tuple[float, ...]] = []
    kw: dict = {}
    for n, line in enumerate(_read_lines(path), start=1):
        tokens = line.split("#")[0].split()
        if not tokens:
            continue
        key, args = tokens[0].upper(), tokens[1:]
        if key == "LAYER":
            layers.append(tuple(_floats(args, 7, src, n, "LAYER")))
        elif key == "TRANS" and "trans" not in kw:
            kw["trans"] = tuple(args)
            t = args[0].upper() if args else ""
            at = {"SIMPLE": 1, "SDC": 1, "LAMBERT": 2, "TRANS_MERC": 2, "AZIMUTHAL_EQUIDIST": 2}.get(t)
            if at is not None:
                lat, lon = _floats(args[at:], 2, src, n, "TRANS")
                kw["origin_lat_deg"], kw["origin_lon_deg"] = lat, lon
        elif key == "LOCGRID" and "grid_lower_m" not in kw:
            v = _floats(args, 9, src, n, "LOCGRID")
            num, orig, step = v[0:3], v[3:6], v[6:9]
            kw["grid_lower_m"] = tuple(o * 1000.0 for o in orig)
            kw["grid_upper_m"] = tuple((o + (k - 1) * s) * 1000.0 for o, k, s in zip(orig, num, step))
        elif key == "LOCMETH":
            if not args:
                raise InputError("LOCMETH: missing method", src, n)
            kw["method"] = args[0].upper()
            v = _floats(args[1:], min(5, len(args) - 1), src, n, "LOCMETH") if len(args) > 1 else []
            if len(v) >= 1:
                kw["max_dist_sta_grid_m"] = v[0] * 1000.0
            if len(v) >= 2:
                kw["min_phases"] = int(v[1])
            if len(v) >= 5:
                kw["vp_vs"] = v[4]
        elif key == "LOCSEARCH" and args and args[0].upper() == "OCT":
            kw["octree"] = tuple(_floats(args[1:], 5, src, n, "LOCSEARCH OCT"))
        elif key == "VGGRID":
            kw["vggrid"] = tuple(_floats(args, 9, src, n, "VGGRID"))
        elif key == "LOCGAU":
            kw["gau_sigma_s"] = _floats(args, 1, src, n, "LOCGAU")[0]
        elif key == "LOCGAU2":
            kw["gau2"] = tuple(_floats(args, 3, src, n, "LOCGAU2"))
    if not layers:
        raise InputError("no LAYER lines (a layered velocity model) found", src)
    return NllocControl(source=src, layers=tuple(layers), **kw)


def read_nlloc_model(path: str | Path, name: str | None = None, sublayer_m: float = 1000.0) -> VelocityModel:
    """The layered model of a NonLinLoc control file as a core :class:`VelocityModel`.

    Constant layers (zero gradients) map one to one. A layer with a velocity gradient is cut
    into constant sub-layers of ``sublayer_m`` (each at the velocity of its mid-depth,
    ``v = vTop + grad (z - top)``); a gradient in the last layer (a half-space) is ignored
    (its top velocity is kept). When ``LOCMETH`` gives ``VpVsRatio > 0`` NonLinLoc computes S
    times from the P model with that ratio, so Vs = Vp / ratio is used; otherwise the
    ``LAYER`` Vs. Layers above sea level are folded into the top one (the locator extends
    the top layer upward to the stations anyway). Density ``rhoTop`` in g/cm^3 (Brocher 2005
    from Vp when it is not positive).
    """
    ctl = read_nlloc_control(path)
    rows = sorted(ctl.layers, key=lambda r: r[0])
    tops_km = [r[0] for r in rows]
    if any(b <= a for a, b in zip(tops_km, tops_km[1:])):
        raise InputError(f"LAYER depths must increase strictly, got {tops_km}", ctl.source)
    ratio = ctl.vp_vs if ctl.vp_vs is not None and ctl.vp_vs > 0 else None
    layers: list[Layer] = []

    def add(top_m: float, vp_kms: float, vs_kms: float, rho: float) -> None:
        vs = vp_kms / ratio if ratio else vs_kms
        dens = rho * 1000.0 if rho > 0 else brocher_density(vp_kms * 1000.0)
        lay = Layer(max(top_m, 0.0), vp_kms * 1000.0, vs * 1000.0, dens)
        if layers and lay.top_m <= layers[-1].top_m:
            layers[-1] = Layer(layers[-1].top_m, lay.vp_m_s, lay.vs_m_s, lay.density_kg_m3)
        else:
            layers.append(lay)

    try:
        for i, (top, vp, vpg, vs, vsg, rho, rhog) in enumerate(rows):
            bottom = rows[i + 1][0] if i + 1 < len(rows) else None
            if bottom is None or (vpg == 0 and vsg == 0 and rhog == 0):
                add(top * 1000.0, vp, vs, rho)
                continue
            n_sub = max(1, math.ceil((bottom - top) * 1000.0 / sublayer_m))
            h = (bottom - top) / n_sub
            for k in range(n_sub):
                zm = (k + 0.5) * h
                add((top + k * h) * 1000.0, vp + vpg * zm, vs + vsg * zm, rho + rhog * zm)
        moho = next((lay.top_m for lay in layers if lay.vp_m_s >= 7600.0), None)
        return VelocityModel(name or Path(path).stem, tuple(layers), moho,
                             reference=f"NonLinLoc control file {Path(path).name}")
    except DomainError as err:
        raise InputError(str(err), ctl.source) from None


@dataclass(frozen=True)
class NllocHypocentre:
    """The summary of one NonLinLoc ``.hyp`` location (maximum likelihood and expectation)."""

    time: datetime
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    expected_latitude_deg: float | None
    expected_longitude_deg: float | None
    expected_depth_m: float | None
    rms_s: float | None
    n_phases: int | None
    gap_deg: float | None
    status: str


def _after(tokens: list[str], key: str) -> str | None:
    try:
        return tokens[tokens.index(key) + 1]
    except (ValueError, IndexError):
        return None


def read_nlloc_hyp(path: str | Path) -> list[NllocHypocentre]:
    """Hypocentres of a NonLinLoc ``.hyp`` file (``NLLOC`` ... ``END_NLLOC`` blocks; the
    ``GEOGRAPHIC``, ``QUALITY`` and ``STAT_GEOG`` lines)."""
    out: list[NllocHypocentre] = []
    block: dict[str, list[str]] = {}
    status = ""
    for n, line in enumerate(_read_lines(path), start=1):
        tokens = line.split()
        if not tokens:
            continue
        key = tokens[0]
        if key == "NLLOC":
            block, status = {}, (tokens[2].strip('"') if len(tokens) > 2 else "")
        elif key in ("GEOGRAPHIC", "QUALITY", "STAT_GEOG"):
            block[key] = tokens
        elif key == "END_NLLOC" and "GEOGRAPHIC" in block:
            g = block["GEOGRAPHIC"]
            try:
                y, mo, d, h, mi = (int(v) for v in g[2:7])
                t = datetime(y, mo, d, h, mi, tzinfo=timezone.utc) + timedelta(seconds=float(g[7]))
                q, s = block.get("QUALITY", []), block.get("STAT_GEOG", [])
                num = lambda toks, k: float(v) if (v := _after(toks, k)) is not None else None  # noqa: E731
                ed = num(s, "Depth")
                nph = num(q, "Nphs")
                out.append(NllocHypocentre(
                    t, float(_after(g, "Lat")), float(_after(g, "Long")), float(_after(g, "Depth")) * 1000.0,
                    num(s, "ExpectLat"), num(s, "Long"), None if ed is None else ed * 1000.0,
                    num(q, "RMS"), None if nph is None else int(nph), num(q, "Gap"), status))
            except (TypeError, ValueError) as err:
                raise InputError(f"unreadable hypocentre block: {err}", str(path), n) from None
    return out
