"""Verification: simulated median RotD50 PGA/PGV within one BSSA14 sigma (M4-7, 10-200 km)."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.sim import gmpe_validation as gv


def test_bssa14_adapter_units_and_trends():
    out = gv.bssa14_medians(np.array([5.0, 5.0, 7.0]), np.array([10.0, 100.0, 10.0]))
    pga, sig = out["PGA"]
    pgv, _ = out["PGV"]
    # hazardlib BSSA14 at Vs30 760, strike-slip: M5 @ 10 km about 0.06 g and 2 cm/s.
    assert 0.03 < pga[0] < 0.12 and 1.0 < pgv[0] < 4.0
    assert pga[1] < pga[0] < pga[2]
    assert np.all((sig > 0.5) & (sig < 0.9))


@pytest.mark.slow
def test_simulation_within_one_bssa14_sigma_everywhere():
    rows = gv.validation_table(n_realisations=30, seed=2003)
    assert len(rows) == 40
    bad = [r for r in rows if not r.passed]
    assert not bad, "\n" + gv.to_markdown(rows)
    table = gv.to_markdown(rows)
    assert table.count("| yes |") == 40
