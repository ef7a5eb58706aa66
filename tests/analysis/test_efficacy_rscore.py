"""R-score, R0 (97.5 %, exact binomial), significance and gain against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.analysis.efficacy.rscore import (binomial_tail, critical_alarm_fraction, probability_gain, r0,
                                               r_score, score, significance_level)
from tianshan.core.errors import InputError


def test_r_score_and_gain_by_hand():
    assert r_score(3, 4, 0.25) == 0.5                  # 3/4 - 1/4
    assert r_score(0, 5, 0.0) == 0.0
    assert r_score(5, 5, 1.0) == 0.0                   # alarm everywhere: no skill
    assert probability_gain(2, 4, 0.25) == 2.0
    assert math.isinf(probability_gain(1, 4, 0.0)) and math.isnan(probability_gain(0, 4, 0.0))


def test_binomial_tail_by_hand():
    # P(X >= 2), X ~ B(3, 0.5) = 3/8 + 1/8.
    assert binomial_tail(2, 3, 0.5) == pytest.approx(0.5)
    # P(X >= 2), X ~ B(3, 0.4) = 3 * 0.16 * 0.6 + 0.064.
    assert significance_level(2, 3, 0.4) == pytest.approx(0.352)
    assert significance_level(5, 5, 0.3829) == pytest.approx(0.3829 ** 5)
    assert significance_level(0, 3, 0.0) == 1.0 and significance_level(3, 3, 1.0) == 1.0


def test_r0_closed_forms():
    # h = N: P(X >= N) = p^N = 0.025  =>  R0 = 1 - 0.025^(1/N).
    assert r0(1, 1) == pytest.approx(0.975)
    assert r0(2, 2) == pytest.approx(1 - math.sqrt(0.025))
    assert r0(5, 5) == pytest.approx(1 - 0.025 ** 0.2)
    # h = 1: P(X >= 1) = 1 - (1 - p)^N = 0.025  =>  p* = 1 - 0.975^(1/N).
    assert r0(1, 4) == pytest.approx(0.25 - (1 - 0.975 ** 0.25))
    # h = 2, N = 3: 3 p^2 - 2 p^3 = 0.025, root found independently from the cubic.
    roots = np.roots([-2.0, 3.0, 0.0, -0.025])
    p = float(min(r.real for r in roots if abs(r.imag) < 1e-12 and 0 < r.real < 1))
    assert critical_alarm_fraction(2, 3) == pytest.approx(p, abs=1e-12)
    assert r0(2, 3) == pytest.approx(2 / 3 - p, abs=1e-12)
    assert r0(0, 7) == 0.0
    # At tau = p*, the significance is exactly 2.5 %.
    for h, n in ((3, 7), (10, 25), (1, 1)):
        assert significance_level(h, n, critical_alarm_fraction(h, n)) == pytest.approx(0.025, rel=1e-9)


def test_eqsuite_normal_approximation_from_20_targets():
    # X = N/(N+1) (h - N tau) / sqrt(N tau (1 - tau)); alpha = 1 - Phi(X).
    from scipy.stats import norm

    n, h, tau = 25, 15, 0.3
    x = n / (n + 1) * (h - n * tau) / math.sqrt(n * tau * (1 - tau))
    assert significance_level(h, n, tau, "eqsuite") == pytest.approx(norm.sf(x))
    assert significance_level(h, n, tau, "eqsuite") != pytest.approx(significance_level(h, n, tau))
    p = critical_alarm_fraction(h, n, method="eqsuite")
    assert n / (n + 1) * (h - n * p) / math.sqrt(n * p * (1 - p)) == pytest.approx(norm.ppf(0.975))
    # Below 20 targets both methods are the exact binomial.
    assert r0(5, 19, method="eqsuite") == r0(5, 19)


def test_score_record_and_errors():
    s = score(5, 5, 0.3829)
    assert s.r == pytest.approx(0.6171) and s.significant and s.hit_rate == 1.0 and s.miss_rate == 0.0
    assert s.gain == pytest.approx(1 / 0.3829) and s.as_dict()["R0"] == pytest.approx(1 - 0.025 ** 0.2)
    assert not score(2, 2, 0.37).significant            # R = 0.63 < R0 = 0.84
    for bad in ((3, 2, 0.1), (1, 0, 0.1), (1, 2, 1.5)):
        with pytest.raises(InputError):
            score(*bad)
    with pytest.raises(InputError):
        r0(1, 2, method="normal")
