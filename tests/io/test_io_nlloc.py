"""NonLinLoc readers: NLLOC_OBS phases, GTSRCE stations, control-file LAYER model and settings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tianshan.core import DomainError, InputError, Polarity
from tianshan.io.nlloc import (label_codes, read_nlloc_control, read_nlloc_hyp, read_nlloc_model, read_nlloc_obs,
                               read_nlloc_stations)

OBS = """# two events
AK_RC01_--  ?  BHZ  ?  P  U  20181130  1729  37.04  GAU  2.00e-02  0.0  32.4  0.16  1  > 7.9 0.5 1
AK_SSN_--   ?  BHN  ?  S  ?  20181130  1729  58.3884 GAU 8.00e-02 0.0 140 0.02 1
BADLABEL_TOO_LONG_X ? BHZ ? P ? 20181130 1729 39.0 GAU 0.1 0 0 0 1
SHORT ? Z
KNK ? Z ? P D 20181130 1730 1.5 GAU 0.05 0 0 0 1

AK_RC01_--  ?  BHZ  ?  P  -  20181130  1743  16.44  GAU  8.00e-02  0.0  14.6  0.64  1
"""

STATIONS = """#GTSRCE  label  type  lat  lon  z_srce  elev
GTSRCE  AK_RC01_--  LATLON  61.088902  -149.738998  0  0.39
GTSRCE  NP_8040_D0  LATLON  61.21349  -149.89328  0.01  0.028
GTSRCE  KNK  LATLON  61.41  -148.46  0  0.598
GTSRCE  AK_RC01_--  LATLON  10 10 0 0
LOCSRCE  AK_SSN_--  LATLON  61.4636  -150.746704  0  1.306
EQSTA  AK_RC01_--  P  GAU 0.00   GAU 0.05
"""

CONTROL = """CONTROL 1 54321
TRANS  LAMBERT  Clarke-1880  61.0 -150.0  60.0 62.0  0.0
VGGRID  2 401 106  0.0 0.0 -5.0  1.0 1.0 1.0  SLOW_LEN
LAYER    0.0     5.30    0    3.01    0    2.52    0
LAYER    4.0     5.60    0.1  3.18    0    2.61    0   # gradient layer
LAYER    6.0     6.20    0    3.52    0    2.78    0
LAYER    33.0    7.90    0    4.49    0    3.26    0
LOCSEARCH  OCT 10 10 4 0.01 20000 5000 0 1
LOCGRID  201 201 106  -100.0 -100.0 -5.0  1.0 1.0 1.0   PROB_DENSITY  SAVE
LOCMETH EDT_OT_WT 9999.0 4 -1 -1 1.68 6 -1.0 1
LOCGAU 0.2 0.0
LOCGAU2 0.02 0.05 2.0
"""


def test_label_codes():
    assert label_codes("AK_RC01_--") == ("AK", "RC01", "")
    assert label_codes("NP_8040_D0") == ("NP", "8040", "D0")
    assert label_codes("XJ_KOL") == ("XJ", "KOL", "")
    assert label_codes("GRX", default_network="NL") == ("NL", "GRX", "")
    with pytest.raises(DomainError):
        label_codes("NP040_D0")


def test_read_obs_events_and_skips(tmp_path):
    p = tmp_path / "a.obs"
    p.write_text(OBS)
    obs = read_nlloc_obs(p)
    assert [len(e) for e in obs.events] == [3, 1]
    assert obs.skipped == {"bad_station_label": 1, "bad_line": 1}
    first = obs.events[0][0]
    assert str(first.stream_id) == "AK.RC01..BHZ" and first.phase == "P"
    assert first.time == datetime(2018, 11, 30, 17, 29, 37, 40000, tzinfo=timezone.utc)
    assert first.time_uncertainty_s == 0.02 and first.polarity is Polarity.POSITIVE
    assert obs.events[0][1].phase == "S" and obs.events[0][1].polarity is None
    knk = obs.events[0][2]
    assert str(knk.stream_id) == "XX.KNK..XXZ" and knk.polarity is Polarity.NEGATIVE
    assert knk.time == datetime(2018, 11, 30, 17, 30, 1, 500000, tzinfo=timezone.utc)
    assert obs.events[1][0].polarity is Polarity.NEGATIVE


def test_read_obs_bad_input(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_nlloc_obs(tmp_path / "missing.obs")
    (tmp_path / "empty.obs").write_text("# nothing\n\n")
    with pytest.raises(InputError, match="no phase lines"):
        read_nlloc_obs(tmp_path / "empty.obs")


def test_read_stations(tmp_path):
    p = tmp_path / "st.txt"
    p.write_text(STATIONS)
    st = {s.station_id: s for s in read_nlloc_stations(p)}
    assert set(st) == {"AK.RC01", "NP.8040", "XX.KNK", "AK.SSN"}
    assert st["AK.RC01"].latitude_deg == 61.088902 and st["AK.RC01"].elevation_m == pytest.approx(390.0)
    assert st["NP.8040"].elevation_m == pytest.approx(18.0)           # elev - zSrce
    p.write_text("GTSRCE  AK_X  LATLON  99.0  -149  0  0.1\n")
    with pytest.raises(InputError, match="st.txt:1"):
        read_nlloc_stations(p)


def test_read_control_model_and_settings(tmp_path):
    p = tmp_path / "nll.in"
    p.write_text(CONTROL)
    ctl = read_nlloc_control(p)
    assert ctl.method == "EDT_OT_WT" and ctl.vp_vs == 1.68 and ctl.min_phases == 4
    assert ctl.gau_sigma_s == 0.2 and ctl.gau2 == (0.02, 0.05, 2.0)
    assert ctl.origin_lat_deg == 61.0 and ctl.origin_lon_deg == -150.0
    assert ctl.grid_lower_m == (-100e3, -100e3, -5e3) and ctl.grid_upper_m == (100e3, 100e3, 100e3)
    assert ctl.grid2d_reach_m == 400e3 and ctl.octree == (10, 10, 4, 0.01, 20000)
    m = read_nlloc_model(p)
    tops = [lay.top_m for lay in m.layers]
    # the 4-6 km gradient layer becomes two 1 km sub-layers at their mid-depth velocities
    assert tops == [0.0, 4000.0, 5000.0, 6000.0, 33_000.0]
    assert [lay.vp_m_s for lay in m.layers] == pytest.approx([5300, 5650, 5750, 6200, 7900])
    assert all(lay.vs_m_s == pytest.approx(lay.vp_m_s / 1.68) for lay in m.layers)   # LOCMETH VpVsRatio
    assert m.layers[0].density_kg_m3 == pytest.approx(2520.0) and m.moho_m == 33_000.0


def test_control_without_layers_or_bad_numbers(tmp_path):
    p = tmp_path / "nll.in"
    p.write_text("CONTROL 1 54321\n")
    with pytest.raises(InputError, match="no LAYER"):
        read_nlloc_model(p)
    p.write_text("LAYER 0.0 abc 0 3 0 2.5 0\n")
    with pytest.raises(InputError, match="nll.in:1"):
        read_nlloc_model(p)


def test_real_anchorage_files(shared_data):
    d = shared_data / "location" / "nonlinloc_anchorage"
    obs = read_nlloc_obs(d / "obs" / "2018-11-30-mww70-southern-alaska.obs")
    n = sum(len(e) for e in obs.events)
    assert len(obs.events) == 7 and n + obs.skipped.get("bad_station_label", 0) == 274   # 274 picks (README)
    assert sum(p.phase == "S" for e in obs.events for p in e) == 59   # 60 S, one on label NP040_D0
    assert len(read_nlloc_stations(d / "obs" / "station_coordinates.txt")) == 80
    hyp = read_nlloc_hyp(d / "original_output" / "alaska.20181130.172935.grid0.loc.hyp")
    assert len(hyp) == 1 and hyp[0].latitude_deg == 61.335856 and hyp[0].depth_m == pytest.approx(44936.523)
    assert hyp[0].n_phases == 35 and hyp[0].rms_s == pytest.approx(0.246143)
