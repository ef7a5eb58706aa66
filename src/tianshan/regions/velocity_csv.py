"""1-D velocity models as CSV.

Shape (as ``xinjiang/velocity_1d_xinjiang_2018.csv``)::

    # free comments; "# name: ...", "# reference: ...", "# moho_km: ..." are read as metadata
    layer,top_km,bottom_km,vp_kms[,vs_kms,rho_kgm3]
    upper_crust,0,26,6.10
    lower_crust,26,54,6.70
    upper_mantle,54,,8.20

Layers must be in depth order, start at 0 km and touch (each ``bottom_km``
equals the next ``top_km``); the last one is a half-space (empty
``bottom_km``). When ``vs_kms`` is absent, Vs = Vp / 1.73; when
``rho_kgm3`` is absent, density follows Brocher (2005, eq. 1) via
:func:`tianshan.core.velocity.brocher_density`.

Moho depth: the ``# moho_km:`` comment, else the top of the first layer whose
name contains ``mantle``, else the top of the first layer with Vp >= 7.6 km/s
(a conventional crust/mantle threshold), else none. The reference is the
``# reference:`` comment, else the first other non-empty comment line.

km values are converted to metres through their decimal text (exact), so a
written model reads back identical.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.core.velocity import Layer, VelocityModel, brocher_density
from tianshan.io.atomic import atomic_write_text
from tianshan.regions._table import comments, read_rows

REQUIRED = ("layer", "top_km", "bottom_km", "vp_kms")
#: Vp/Vs used when a model publishes only Vp (Poisson solid ~1.73).
DEFAULT_VP_VS = 1.73
#: Vp (m/s) from which a layer counts as mantle when nothing else says where the Moho is.
MANTLE_VP_M_S = 7600.0


def km_to_m(text: str) -> float:
    """Exact decimal shift of a km value given as text (``"6.10"`` -> 6100.0)."""
    return float(Decimal(text.strip()).scaleb(3))


def m_to_km_text(value_m: float) -> str:
    """Shortest decimal text of ``value_m / 1000`` that :func:`km_to_m` maps back to ``value_m``."""
    d = Decimal(repr(float(value_m))).scaleb(-3).normalize()
    text = format(d, "f")
    return text if "." in text else text + ".0"


def _metadata(path: Path) -> dict[str, str]:
    lines = comments(path)
    meta: dict[str, str] = {}
    free: list[str] = []
    for ln in lines:
        key, sep, value = ln.partition(":")
        if sep and key.strip().lower() in ("name", "reference", "moho_km"):
            meta.setdefault(key.strip().lower(), value.strip())
        elif ln:
            free.append(ln)
    if "reference" not in meta and free:
        meta["reference"] = free[0]
    return meta


def read_velocity_csv(path: str | Path, name: str | None = None, moho_km: float | None = None,
                      vp_vs: float = DEFAULT_VP_VS) -> VelocityModel:
    """Read a 1-D model (see the module docstring). ``name``/``moho_km`` override the file's."""
    path = Path(path)
    source = str(path)
    header, rows = read_rows(path, REQUIRED)
    meta = _metadata(path)
    layers: list[Layer] = []
    names: list[str] = []
    prev_bottom: tuple[float | None, int] | None = None
    for row in rows:
        top = row.number("top_km")
        bottom = row.number("bottom_km", required=False)
        vp = row.number("vp_kms")
        top_m, vp_m = km_to_m(row.text("top_km")), km_to_m(row.text("vp_kms"))
        if layers and top_m <= layers[-1].top_m:
            raise row.error(f"layers out of order: top {top} km is not below the previous top "
                            f"{layers[-1].top_m / 1000} km", "top_km")
        if not layers and top != 0:
            raise row.error(f"the first layer must start at 0 km, got {top}", "top_km")
        if prev_bottom is not None:
            pb, pline = prev_bottom
            if pb is None:
                raise row.error(f"a layer follows the half-space on line {pline} (empty bottom_km)", "top_km")
            if pb != top:
                raise row.error(f"top {top} km does not meet the bottom {pb} km of the layer above "
                                f"(line {pline})", "top_km")
        if bottom is not None and bottom <= top:
            raise row.error(f"bottom {bottom} km is not below top {top} km", "bottom_km")
        if not 0 < vp < 15:
            raise row.error(f"{vp} km/s is not a rock P velocity (0-15 km/s)", "vp_kms")
        if row.has("vs_kms"):
            row.number("vs_kms")  # validates the text
            vs_m = km_to_m(row.text("vs_kms"))
        else:
            vs_m = vp_m / vp_vs
        rho = row.number("rho_kgm3") if row.has("rho_kgm3") else brocher_density(vp_m)
        try:
            layers.append(Layer(top_m, vp_m, vs_m, rho))
        except DomainError as err:
            raise row.error(str(err), "vs_kms" if "Vs" in str(err) else None) from None
        names.append(row.text("layer", required=False))
        prev_bottom = (bottom, row.line)
    if not layers:
        raise InputError("no layers", source)
    moho_text = repr(float(moho_km)) if moho_km is not None else meta.get("moho_km")
    if moho_text is not None:
        try:
            moho_m: float | None = km_to_m(moho_text)
        except ArithmeticError:
            raise InputError(f"not a number: {moho_text!r}", source, None, "moho_km") from None
    else:
        moho_m = next((lay.top_m for lay, n in zip(layers, names) if "mantle" in n.lower()), None)
        if moho_m is None:
            moho_m = next((lay.top_m for lay in layers if lay.vp_m_s >= MANTLE_VP_M_S and lay.top_m > 0), None)
    try:
        return VelocityModel(name or meta.get("name") or path.stem, tuple(layers), moho_m,
                             meta.get("reference", ""))
    except DomainError as err:
        raise InputError(str(err), source) from None


def velocity_csv_text(model: VelocityModel) -> str:
    """CSV text of ``model`` with metadata comments and all six columns."""
    buf = io.StringIO()
    buf.write(f"# name: {model.name}\n")
    if model.reference:
        buf.write(f"# reference: {' '.join(model.reference.split())}\n")
    if model.moho_m is not None:
        buf.write(f"# moho_km: {m_to_km_text(model.moho_m)}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*REQUIRED, "vs_kms", "rho_kgm3"])
    for i, lay in enumerate(model.layers):
        bottom = m_to_km_text(model.layers[i + 1].top_m) if i + 1 < len(model.layers) else ""
        if model.moho_m is not None and lay.top_m >= model.moho_m:
            label = f"mantle{i + 1}"
        else:
            label = f"layer{i + 1}"
        w.writerow([label, m_to_km_text(lay.top_m), bottom, m_to_km_text(lay.vp_m_s),
                    m_to_km_text(lay.vs_m_s), repr(lay.density_kg_m3)])
    return buf.getvalue()


def write_velocity_csv(model: VelocityModel, path: str | Path) -> Path:
    """Write ``model`` as CSV atomically; returns the path."""
    return atomic_write_text(path, velocity_csv_text(model))
