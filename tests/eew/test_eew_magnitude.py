"""EEW magnitudes: Kuyuk & Allen (2013) Pd relation, Allen & Kanamori (2003) tau_p, combination, saturation."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from tianshan.eew.config import MagnitudeConfig
from tianshan.eew.magnitude import (combine, pd_from_magnitude, pd_magnitude, rupture_half_duration_s,
                                    station_magnitude, taup_magnitude)
from tianshan.eew.station import StationMeasurement

T = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _m(sid: str, pd_m: float, tau_p: float | None, window: float = 3.0, clipped: bool = False):
    return StationMeasurement(sid, sid + "..HH", T, window, pd_m, None, tau_p, 0.0, 0.0, clipped)


def test_kuyuk_allen_2013_relation_values():
    # M = 1.23 log10(Pd[cm]) + 1.38 log10(R[km]) + 5.39
    assert pd_magnitude(1e-3, 10_000.0) == pytest.approx(1.23 * -1 + 1.38 * 1 + 5.39)   # Pd 0.1 cm, R 10 km
    assert pd_magnitude(1e-2, 100_000.0) == pytest.approx(1.23 * 0 + 1.38 * 2 + 5.39)   # Pd 1 cm, R 100 km
    assert pd_from_magnitude(pd_magnitude(3.3e-4, 42_000.0), 42_000.0) == pytest.approx(3.3e-4)
    # R is floored (log10 R -> -inf at the epicentre)
    assert pd_magnitude(1e-3, 10.0) == pd_magnitude(1e-3, MagnitudeConfig().min_distance_m)


def test_allen_kanamori_2003_taup_relation():
    # M = 7.0 log10(tau_p_max) + 5.9
    assert taup_magnitude(1.0) == pytest.approx(5.9)
    assert taup_magnitude(10.0) == pytest.approx(12.9)


def test_short_windows_carry_more_uncertainty_and_are_excluded_below_the_minimum():
    c = MagnitudeConfig()
    full = station_magnitude(_m("A", 1e-4, 0.8, 3.0), 30_000.0, c)
    short = station_magnitude(_m("A", 1e-4, 0.8, 1.0), 30_000.0, c)
    assert full.sigma_pd == pytest.approx(0.31)
    assert short.sigma_pd == pytest.approx(0.31 + 0.15 * 2.0)
    none = station_magnitude(_m("A", 1e-4, 0.8, 0.2), 30_000.0, c)
    assert none.m_pd is None and none.m_taup is None


def test_inverse_variance_combination_and_family_disagreement():
    c = MagnitudeConfig()
    a = station_magnitude(_m("A", pd_from_magnitude(5.0, 20_000.0), 10 ** ((5.2 - 5.9) / 7.0)), 20_000.0, c)
    b = station_magnitude(_m("B", pd_from_magnitude(5.4, 50_000.0), None, window=1.5), 50_000.0, c)
    est = combine([a, b], c)
    w = [1 / 0.31**2, 1 / 0.5**2, 1 / (0.31 + 0.15 * 1.5) ** 2]
    expect = (w[0] * 5.0 + w[1] * 5.2 + w[2] * 5.4) / sum(w)
    assert est.value == pytest.approx(expect, abs=1e-9)
    assert est.magnitude_pd == pytest.approx((w[0] * 5.0 + w[2] * 5.4) / (w[0] + w[2]))
    assert est.magnitude_taup == pytest.approx(5.2)
    assert est.uncertainty >= 1 / math.sqrt(sum(w)) - 1e-12
    assert est.n_stations == 2
    # tau_p far from Pd (MEMS long-period noise): Pd alone
    bad = station_magnitude(_m("C", pd_from_magnitude(5.0, 20_000.0), 10 ** ((7.5 - 5.9) / 7.0)), 20_000.0, c)
    est2 = combine([bad], c)
    assert est2.value == pytest.approx(5.0) and est2.magnitude_taup == pytest.approx(7.5)


def test_clipped_sensors_yield_to_unclipped_ones():
    c = MagnitudeConfig(use_taup=False)
    ok = station_magnitude(_m("A", pd_from_magnitude(6.0, 30_000.0), None), 30_000.0, c)
    clip = station_magnitude(_m("B", pd_from_magnitude(5.0, 10_000.0), None, clipped=True), 10_000.0, c)
    assert combine([ok, clip], c).value == pytest.approx(6.0)
    assert combine([clip], c).value == pytest.approx(5.0)  # nothing better available


def test_saturation_flag_from_rupture_duration():
    # Wells & Coppersmith (1994) all-slip RLD: log10 L = -2.44 + 0.59 M; bilateral at 2.8 km/s
    assert rupture_half_duration_s(7.0) == pytest.approx(10 ** (-2.44 + 0.59 * 7) * 1000 / 5600)
    c = MagnitudeConfig(use_taup=False)
    big = station_magnitude(_m("A", pd_from_magnitude(7.2, 60_000.0), None, window=4.0), 60_000.0, c)
    small = station_magnitude(_m("A", pd_from_magnitude(5.0, 60_000.0), None, window=4.0), 60_000.0, c)
    assert combine([big], c).lower_bound
    assert not combine([small], c).lower_bound
