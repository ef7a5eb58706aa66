"""Fixtures shared by the SeisBench picker tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_seisbench_network(monkeypatch):
    """Any attempt by SeisBench to reach its remote repository fails the test."""
    import seisbench.util

    def forbidden(*args, **kwargs):
        raise AssertionError("SeisBench tried to use the network")

    for name in ("download_http", "ls_webdav", "download_ftp"):
        if hasattr(seisbench.util, name):
            monkeypatch.setattr(seisbench.util, name, forbidden)


@pytest.fixture(scope="module")
def csn_stream(request):
    """The two real Chinese network windows of ../shared/data/waveforms/csn_ustc."""
    import obspy

    shared = request.getfixturevalue("shared_data")
    st = obspy.Stream()
    for f in sorted((shared / "waveforms" / "csn_ustc").glob("*.mseed")):
        st += obspy.read(str(f))
    return st
