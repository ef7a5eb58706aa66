"""PAGER empirical models (Jaiswal & Wald 2010, 2011): rates, estimates, ranges, alerts."""

from __future__ import annotations

import math

import pytest

from tianshan.core.errors import InputError
from tianshan.products.loss import pager


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def test_china_parameters_are_pagers():
    # usgs/pager losspager/data/fatality.xml and economy.xml, ccode="CN"
    f, e = pager.CHINA_FATALITY, pager.CHINA_ECONOMIC
    assert (f.theta, f.beta, f.zeta) == (10.328811, 0.100058, 2.013134)
    assert (e.theta, e.beta, e.zeta, e.alpha) == (7.511120, 0.100328, 2.5, 9.794960)


@pytest.mark.parametrize("mmi", [5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
def test_fatality_rate_is_the_lognormal_cdf(mmi):
    expected = _phi(math.log(mmi / 10.328811) / 0.100058)
    assert pager.CHINA_FATALITY.rate(mmi) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_rates_by_bin_zero_below_v_and_x_counted_as_ix():
    r = pager.CHINA_FATALITY.rates_by_bin()
    assert r[:4] == (0.0, 0.0, 0.0, 0.0)
    assert r[9] == r[8] == pytest.approx(pager.CHINA_FATALITY.rate(9.0))
    assert r[4] < r[5] < r[6] < r[7] < r[8]


def test_fatalities_from_exposure():
    by_mmi = [0, 0, 0, 0, 0, 0, 2e5, 1e5, 1e4, 1e3]
    est = pager.estimate_fatalities(by_mmi)
    nu = pager.CHINA_FATALITY.rate
    expected = 2e5 * nu(7.0) + 1e5 * nu(8.0) + (1e4 + 1e3) * nu(9.0)
    assert est.median == pytest.approx(expected)
    z = 2.013134
    assert est.p10 == pytest.approx(expected * math.exp(-1.2815515655446004 * z))
    assert est.p90 == pytest.approx(expected * math.exp(1.2815515655446004 * z))
    p = est.bin_probabilities
    assert list(p) == ["0", "1-9", "10-99", "100-999", "1000+"]
    assert sum(p.values()) == pytest.approx(1.0)
    assert p["100-999"] == pytest.approx(_phi(math.log(1000 / expected) / z) - _phi(math.log(100 / expected) / z))
    assert est.alert == ("red" if expected >= 1000 else "orange" if expected >= 100 else "yellow")


def test_low_estimates_follow_pagers_rule():
    est = pager.estimate_fatalities([1e6] * 4 + [0] * 6)   # only MMI I-IV: no deaths expected
    assert est.median == 0.0 and est.p90 == 0.0 and est.alert == "green"
    p = est.bin_probabilities
    assert p["0"] == pytest.approx(_phi(math.log(1 / 0.5) / 1.7613), abs=1e-6)      # 0.652...
    assert p["1-9"] == pytest.approx(_phi(math.log(10 / 0.5) / 1.7613) - p["0"], abs=1e-6)
    assert 0.6 < p["0"] < 0.7 and sum(p.values()) == pytest.approx(1.0)
    raw = pager.range_probabilities(0.0, 2.0, pager.FATALITY_RANGES, low_loss_rule=False)
    assert raw["0"] == 1.0


def test_economic_loss_scales_with_gdp_and_alpha():
    by_mmi = [0, 0, 0, 0, 0, 1e5, 1e5, 1e4, 0, 0]
    a = pager.estimate_economic_loss(by_mmi, gdp_per_capita_usd=1000.0)
    b = pager.estimate_economic_loss(by_mmi, gdp_per_capita_usd=2000.0)
    nu = pager.CHINA_ECONOMIC.rate
    expected = 1000.0 * 9.794960 * (1e5 * nu(6.0) + 1e5 * nu(7.0) + 1e4 * nu(8.0))
    assert a.median == pytest.approx(expected)
    assert b.median == pytest.approx(2 * expected)
    assert list(a.bin_probabilities) == ["<1M", "1M-10M", "10M-100M", "100M-1B", "1B+"]
    assert sum(a.bin_probabilities.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("value,colour", [(0.0, "green"), (0.99, "green"), (1.0, "yellow"), (99.9, "yellow"),
                                          (100.0, "orange"), (999.0, "orange"), (1000.0, "red")])
def test_fatality_alert_thresholds(value, colour):
    assert pager.alert_colour(value, pager.FATALITY_ALERT_THRESHOLDS) == colour


def test_economic_alert_thresholds_and_higher_alert():
    t = pager.ECONOMIC_ALERT_THRESHOLDS_USD
    assert [pager.alert_colour(v, t) for v in (5e5, 1e6, 5e7, 1e8, 1e9)] == ["green", "yellow", "yellow", "orange", "red"]
    assert pager.higher_alert("green", "orange", "yellow") == "orange"


def test_bad_exposure_vectors_are_input_errors():
    with pytest.raises(InputError, match="10 populations"):
        pager.estimate_fatalities([1, 2, 3])
    with pytest.raises(InputError, match="10 populations"):
        pager.estimate_fatalities([0] * 9 + [-1])
    with pytest.raises(InputError, match="gdp_per_capita_usd"):
        pager.estimate_economic_loss([0] * 10, gdp_per_capita_usd=0.0)
