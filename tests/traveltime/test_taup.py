"""The TauP reference: .nd splicing, build cache, first-arrival helper."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.velocity import VelocityModel
from tianshan.traveltime.taup import taup_first_arrivals, taup_model, taup_nd_text


def _rows(text: str):
    rows, labels = [], {}
    for line in text.splitlines():
        parts = line.split("#")[0].split()
        if len(parts) == 1:
            labels[parts[0]] = len(rows)
        elif parts:
            rows.append([float(p) for p in parts])
    return np.array(rows), labels


def test_nd_text_splices_crust_half_space_and_ak135(xinjiang):
    rows, labels = _rows(taup_nd_text(xinjiang))
    # constant layers as two points each, then the half-space continued to 210 km
    np.testing.assert_allclose(rows[:6, :3], [[0, 6.1, 6.1 / 1.73], [26, 6.1, 6.1 / 1.73],
                                              [26, 6.7, 6.7 / 1.73], [54, 6.7, 6.7 / 1.73],
                                              [54, 8.2, 8.2 / 1.73], [210, 8.2, 8.2 / 1.73]], rtol=1e-8)
    assert labels["mantle"] == 4                     # Moho at 54 km
    # ak135 below the splice: the lower side of its 210 km discontinuity, 410 and 660 km jumps
    np.testing.assert_allclose(rows[6, :3], [210, 8.3007, 4.5184])
    assert rows[-1, 0] == pytest.approx(6371.0)
    depth = rows[:, 0]
    assert np.all(np.diff(depth) >= 0)
    assert rows[labels["outer-core"], 0] == pytest.approx(2891.5)
    assert rows[labels["outer-core"], 2] == 0.0       # liquid outer core


def test_nd_text_deep_half_space_moves_splice_and_default_moho():
    model = VelocityModel.from_vp("deep", [0, 205000], [6000, 8100])      # moho_m None
    rows, labels = _rows(taup_nd_text(model))
    assert labels["mantle"] == 2                     # half-space top taken as the Moho
    assert rows[3, 0] == pytest.approx(260.0)        # first ak135 point >= 10 km below 205 km
    with pytest.raises(InputError, match="splice_depth_m"):
        taup_nd_text(VelocityModel.from_vp("x", [0, 30000], [6000, 8000]), splice_depth_m=3.0e6)


def test_taup_model_is_cached_on_disk_and_in_memory(xinjiang, taup_cache):
    first = taup_model(xinjiang, taup_cache)
    files = sorted(p.name for p in taup_cache.iterdir())
    assert any(f.endswith(".npz") for f in files) and any(f.endswith(".nd") for f in files)
    assert not any(f.startswith(".") for f in files)          # no leftovers of the build
    assert taup_model(xinjiang, taup_cache) is first
    other = VelocityModel.from_vp("xinjiang2018", [0, 26000, 54000], [6100, 6700, 8210], moho_m=54000)
    assert taup_model(other, taup_cache) is not first        # the hash follows the values


def test_taup_first_arrivals_matches_homogeneous_crust_closed_form(xinjiang, taup_cache):
    # source at 10 km, epicentre distance 30 km: straight ray in the 6.1 km/s layer; on a sphere
    # the chord between radii r_s and R at angle D is sqrt(R^2 + r_s^2 - 2 R r_s cos D).
    r_e, r_s = 6371.0, 6361.0
    deg = np.array([30.0 / r_e * 180 / np.pi])
    times, names = taup_first_arrivals(xinjiang, 10_000.0, deg, "P", cache_dir=taup_cache)
    chord = np.sqrt(r_e**2 + r_s**2 - 2 * r_e * r_s * np.cos(np.radians(deg)))
    assert times[0] == pytest.approx(chord[0] / 6.1, abs=1e-6)
    assert names[0] == "p"
    with pytest.raises(InputError, match="phase"):
        taup_first_arrivals(xinjiang, 0.0, deg, "Q", cache_dir=taup_cache)
