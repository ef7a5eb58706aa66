"""Provenance of the ML calibration: the default must say what it is.

The GB 17740-2017 Appendix A table R(Δ) and the DD-1 response (B.1.3) could not
be verified from a citable source (see the ml_gb17740 module docstring). Until
they are, the packaged default is Hutton & Boore (1987) on a Wood-Anderson, and
every ML carries that source in its method text. These tests fail if the default
table or instrument is swapped without its provenance being updated.
"""

from __future__ import annotations

from importlib import resources

from tianshan.events.magnitude import instrument, ml_gb17740


def test_default_table_declares_hutton_boore_hypocentral():
    table = ml_gb17740.load_calibration()
    assert ml_gb17740.DEFAULT_TABLE == "ml_calibration_hb1987.csv"
    assert "Hutton & Boore" in table.source
    assert table.distance == "hypocentral"


def test_default_table_header_says_not_gb17740_appendix_a():
    text = resources.files("tianshan.events.magnitude").joinpath(ml_gb17740.DEFAULT_TABLE).read_text("utf-8")
    comments = " ".join(line for line in text.splitlines() if line.startswith("#"))
    assert "NOT the GB 17740-2017 Appendix A table" in comments


def test_no_unverified_gb17740_table_is_packaged():
    # A GB table may only be added together with a '# source:' header naming its edition/page.
    pkg = resources.files("tianshan.events.magnitude")
    for entry in pkg.iterdir():
        if entry.name.startswith("ml_calibration_gb17740"):
            text = entry.read_text("utf-8")
            assert any(line.startswith("# source:") and "GB 17740" in line for line in text.splitlines())


def test_default_instrument_is_wood_anderson_not_dd1():
    assert instrument.WOOD_ANDERSON.name == "wood_anderson"
    doc = ml_gb17740.__doc__
    assert "could not be verified" in doc and "regionalised" in doc
