import pytest

from tianshan.core import DomainError, Layer, VelocityModel
from tianshan.core.velocity import brocher_density


def test_brocher_density_published_values():
    # Brocher (2005) eq. 1 evaluated by hand: Vp 6.0 km/s -> 2.7167 g/cm^3, 8.0 km/s -> 3.2910 g/cm^3;
    # Brocher's Fig. 1 shows the Nafe-Drake curve at ~2.7 and ~3.3 g/cm^3 there.
    assert brocher_density(6000.0) == pytest.approx(2716.7, abs=0.5)
    assert brocher_density(8000.0) == pytest.approx(3291.0, abs=0.5)


def test_from_vp_xinjiang():
    m = VelocityModel.from_vp("xj", [0, 26_000, 54_000], [6100, 6700, 8200], vp_vs=1.73, moho_m=54_000)
    assert m.layers[1].vs_m_s == pytest.approx(6700 / 1.73)
    assert m.layer_at(10_000).vp_m_s == 6100
    assert m.layer_at(26_000).vp_m_s == 6700
    assert m.layer_at(100_000).vp_m_s == 8200


def test_bad_models():
    with pytest.raises(DomainError, match="increase"):
        VelocityModel("x", (Layer(0, 6000, 3500, 2700), Layer(0, 6500, 3700, 2800)))
    with pytest.raises(DomainError, match="start at 0"):
        VelocityModel("x", (Layer(1000, 6000, 3500, 2700),))
    with pytest.raises(DomainError, match="Vs"):
        Layer(0, 3000, 3500, 2700)
