"""quarries.csv of a region profile."""

from __future__ import annotations

import pytest

from tianshan.core import InputError
from tianshan.events.classify.features import as_quarries
from tianshan.core import DomainError
from tianshan.regions.quarries_csv import Quarry, read_quarries_csv, read_region_quarries


def test_read_quarries(tmp_path):
    assert read_region_quarries(tmp_path) == ()
    (tmp_path / "quarries.csv").write_text("# known blasting sites\nname,latitude,longitude,radius_m\n"
                                           "Site A,43.9,87.5,1500\n,41.2,80.3,\n")
    qs = read_region_quarries(tmp_path)
    assert qs == (Quarry(43.9, 87.5, 1500.0, "Site A"), Quarry(41.2, 80.3, 3000.0, ""))
    (tmp_path / "bad.csv").write_text("latitude,longitude,radius_m\n43.9,87.5,-5\n")
    with pytest.raises(InputError, match=r"bad.csv:2: .*radius_m"):
        read_quarries_csv(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("latitude,longitude\n95,87.5\n")
    with pytest.raises(InputError, match=r"bad2.csv:2: .*latitude"):
        read_quarries_csv(tmp_path / "bad2.csv")


def test_as_quarries_accepts_tuples():
    assert as_quarries([(43.9, 87.5), Quarry(1.0, 2.0)]) == (Quarry(43.9, 87.5), Quarry(1.0, 2.0))
    with pytest.raises(DomainError, match="expected"):
        as_quarries([(1.0,)])
