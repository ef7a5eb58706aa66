"""1-D layered velocity models."""

from __future__ import annotations

from dataclasses import dataclass

from tianshan.core._check import finite
from tianshan.core.errors import DomainError


@dataclass(frozen=True, slots=True)
class Layer:
    """A constant-velocity layer from ``top_m`` down to the next layer's top.

    ``vs_m_s`` and ``density_kg_m3`` may be derived (Vp/Vs ratio, Brocher 2005
    Nafe-Drake fit) when the source publishes only Vp.
    """

    top_m: float
    vp_m_s: float
    vs_m_s: float
    density_kg_m3: float

    def __post_init__(self) -> None:
        if finite("layer top_m", self.top_m) < 0:
            raise DomainError(f"layer top_m: must be >= 0, got {self.top_m!r}")
        for name in ("vp_m_s", "vs_m_s", "density_kg_m3"):
            if finite(f"layer {name}", getattr(self, name)) <= 0:
                raise DomainError(f"layer {name}: must be > 0, got {getattr(self, name)!r}")
        if self.vs_m_s >= self.vp_m_s:
            raise DomainError(f"layer at {self.top_m} m: Vs {self.vs_m_s} must be below Vp {self.vp_m_s}")


def brocher_density(vp_m_s: float) -> float:
    """Density (kg/m^3) from Vp by Brocher (2005, BSSA 95(6), eq. 1, Nafe-Drake fit).

    rho [g/cm^3] = 1.6612 Vp - 0.4721 Vp^2 + 0.0671 Vp^3 - 0.0043 Vp^4 + 0.000106 Vp^5,
    Vp in km/s, valid 1.5-8.5 km/s.
    """
    v = vp_m_s / 1000.0
    rho = 1.6612 * v - 0.4721 * v**2 + 0.0671 * v**3 - 0.0043 * v**4 + 0.000106 * v**5
    return rho * 1000.0


@dataclass(frozen=True, slots=True)
class VelocityModel:
    """A 1-D model: layers sorted by depth, the last one a half-space.

    ``moho_m`` is the depth of the crust-mantle boundary (used to name Pn/Sn).
    """

    name: str
    layers: tuple[Layer, ...]
    moho_m: float | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if not layers:
            raise DomainError(f"velocity model {self.name!r}: no layers")
        if layers[0].top_m != 0:
            raise DomainError(f"velocity model {self.name!r}: first layer must start at 0 m")
        tops = [lay.top_m for lay in layers]
        if any(b <= a for a, b in zip(tops, tops[1:])):
            raise DomainError(f"velocity model {self.name!r}: layer tops must increase strictly: {tops}")

    @classmethod
    def from_vp(cls, name: str, tops_m, vps_m_s, vp_vs: float = 1.73, moho_m: float | None = None,
                reference: str = "") -> "VelocityModel":
        """Build from Vp only: Vs = Vp / ``vp_vs``, density by :func:`brocher_density`."""
        layers = tuple(Layer(float(t), float(vp), float(vp) / vp_vs, brocher_density(float(vp)))
                       for t, vp in zip(tops_m, vps_m_s))
        return cls(name, layers, moho_m, reference)

    def layer_at(self, depth_m: float) -> Layer:
        """The layer containing ``depth_m`` (a boundary belongs to the layer below)."""
        found = self.layers[0]
        for lay in self.layers:
            if lay.top_m <= depth_m:
                found = lay
        return found
