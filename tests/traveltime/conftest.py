"""Shared models for the travel-time tests; TauP models are built once per session."""

from __future__ import annotations

import pytest

from tianshan.core.velocity import VelocityModel


@pytest.fixture(scope="session")
def xinjiang() -> VelocityModel:
    """The Xinjiang 2018 crust of the brief: Pg 6.10 / 6.70 km/s, Pn 8.20 km/s, Vp/Vs 1.73."""
    return VelocityModel.from_vp("xinjiang2018", [0, 26000, 54000], [6100, 6700, 8200], vp_vs=1.73,
                                 moho_m=54000)


@pytest.fixture(scope="session")
def one_layer() -> VelocityModel:
    """A 1-layer 35 km crust (6.0 km/s) over an 8.0 km/s mantle, Vp/Vs 1.75."""
    return VelocityModel.from_vp("one-layer", [0, 35000], [6000, 8000], vp_vs=1.75, moho_m=35000)


@pytest.fixture(scope="session")
def taup_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("taup-cache")
