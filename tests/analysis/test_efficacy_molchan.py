"""Molchan envelope, optimal points, areas and the significance curve, by hand."""

from __future__ import annotations

import math

import pytest

from tianshan.analysis.efficacy.molchan import alpha_curve, molchan_envelope
from tianshan.core.errors import InputError


def _curve():
    # (tau, hits) of five strategies against N = 3 targets.
    taus = [0.5, 0.2, 0.3, 0.6, 0.1, 0.2]
    hits = [1, 1, 2, 3, 0, 1]
    return molchan_envelope(taus, hits, 3, thresholds_low=[-1, -2, -3, -4, -5, -6], thresholds_high=[1, 2, 3, 4, 5, 6])


def test_envelope_keeps_smallest_tau_per_hit_count():
    c = _curve()
    assert [(p.alarm_fraction, p.hits) for p in c.points] == [(0.2, 1), (0.3, 2), (0.6, 3)]
    assert c.points[0].threshold_low == -2          # first of the two tau = 0.2 strategies
    assert c.points[1].miss_rate == pytest.approx(1 / 3)


def test_optimal_points_by_hand():
    c = _curve()
    # R: 1/3 - 0.2, 2/3 - 0.3, 1 - 0.6  ->  P1 is the 3-hit point.
    assert c.best_r().hits == 3 and c.best_r().r == pytest.approx(0.4)
    # Distance to the origin: sqrt(4/9 + 0.04), sqrt(1/9 + 0.09), 0.6  ->  P2 is the 2-hit point.
    assert c.closest().hits == 2 and c.closest().distance == pytest.approx(math.sqrt(1 / 9 + 0.09))
    # Gains 1/0.6 = 1.67 and (2/3)/0.3 = 2.22: the chosen point is P2.
    assert c.best().hits == 2 and c.best().gain == pytest.approx(20 / 9)


def test_areas_by_hand():
    c = _curve()
    # Shoelace over (0,0), (0,1), (0.2,2/3), (0.3,1/3), (0.6,0): 0.5 * |0 - 0.2 - 0.1333 - 0.2| = 0.26667.
    assert c.area == pytest.approx(0.8 / 3)
    # Best trajectory: nu = 1 on [0, .2), 2/3 on [.2, .3), 1/3 on [.3, .6), 0 after: integral 0.36667.
    assert c.area_skill_score == pytest.approx(1 - (0.2 + 0.1 * 2 / 3 + 0.3 / 3))
    # A random guess along the diagonal scores about 0.5.
    n = 50
    diag = molchan_envelope([k / n for k in range(1, n + 1)], list(range(1, n + 1)), n)
    assert diag.area_skill_score == pytest.approx(0.5, abs=0.011)
    assert diag.best_r().r == pytest.approx(0.0)


def test_empty_and_alpha_curve():
    empty = molchan_envelope([0.1, 0.2], [0, 0], 4)
    assert len(empty) == 0 and math.isnan(empty.area)
    with pytest.raises(InputError, match="no point"):
        empty.best()
    taus, nus = alpha_curve(5)
    # h = N: tau = 0.025^(1/5); h = 1: tau = 1 - 0.975^(1/5).
    assert taus[-1] == pytest.approx(0.025 ** 0.2) and taus[0] == pytest.approx(1 - 0.975 ** 0.2)
    assert nus.tolist() == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
