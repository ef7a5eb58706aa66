"""ShakeMap input files (real Wenchuan/Northridge data and crafted bad input) and the station quality flags."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion.conditioning.stations import prepare_stations
from tianshan.io.shakemap_xml import (G_M_S2, read_event_xml, read_fault_text, read_stationlist)


def _sm(shared_data: Path) -> Path:
    return shared_data / "shakemap"


def test_wenchuan_station_list_is_read_with_units_and_kinds(shared_data):
    sl = read_stationlist(_sm(shared_data) / "wenchuan" / "stationlist.xml")
    kinds = [s.kind for s in sl.stations]
    assert len(sl.stations) == 481
    assert kinds.count("seismic") == 421 and kinds.count("macroseismic") == 60
    assert sl.event is not None and sl.event.magnitude == 7.9 and sl.event.depth_m == 19000.0
    cea01 = sl.stations[0]
    assert cea01.code == "CEA01" and cea01.network == "CEA" and cea01.station_id == "CEA.CEA01"
    pga_n = cea01.components[0].get("pga")
    # 3.47 %g in the file -> m/s^2
    assert pga_n.value_si == pytest.approx(3.47 / 100 * G_M_S2, rel=1e-12)
    assert cea01.reported_mmi == 4.2 and cea01.intensity_mmi is None
    macro = [s for s in sl.stations if s.kind == "macroseismic"]
    assert all(s.intensity_mmi is not None for s in macro)
    assert {s.network for s in macro} == {"DYFI", "INTENSITY"}


def test_northridge_hist_and_dyfi_lists(shared_data):
    hist = read_stationlist(_sm(shared_data) / "northridge" / "hist_dat.xml")
    dyfi = read_stationlist(_sm(shared_data) / "northridge" / "dyfi_dat.xml")
    assert len(hist.stations) == 185 and all(s.kind == "seismic" for s in hist.stations)
    assert len(dyfi.stations) == 547 and all(s.kind == "macroseismic" for s in dyfi.stations)
    s12a = hist.stations[0]
    comp = s12a.components[0]
    assert comp.name == "UNK"
    assert comp.get("pgv").value_si == pytest.approx(0.11568)          # 11.568 cm/s
    assert comp.get("psa1.0").value_si == pytest.approx(7.9478 / 100 * G_M_S2)
    assert dyfi.stations[0].intensity_mmi == 7.4


def test_event_xml_both_layouts_and_fault_files(shared_data):
    w = read_event_xml(_sm(shared_data) / "wenchuan" / "event.xml")
    n = read_event_xml(_sm(shared_data) / "northridge" / "event.xml")
    assert (w.latitude_deg, w.longitude_deg, w.depth_m) == (30.9858, 103.3639, 19000.0)
    assert w.time.isoformat() == "2008-05-12T06:28:01+00:00"
    assert n.mechanism == "RS" and n.magnitude == 6.7
    fw = read_fault_text(_sm(shared_data) / "wenchuan" / "Hartzell11_fault.txt")
    assert len(fw.polygons) == 3 and fw.reference.startswith("Hartzell")
    assert fw.polygons[0][2] == (104.058, 31.744, 15000.0)
    fn = read_fault_text(_sm(shared_data) / "northridge" / "northridge_fault.txt")
    assert len(fn.polygons) == 1 and not fn.swapped_lat_lon


def test_old_event_layout_and_lat_lon_fault_order(tmp_path):
    ev = tmp_path / "event.xml"
    ev.write_text('<earthquake id="x" lat="39.83" lon="77.21" mag="6.1" year="2020" month="1" day="19" '
                  'hour="13" minute="27" second="55.5" timezone="GMT" depth="16" locstring="Jiashi"/>')
    e = read_event_xml(ev)
    assert (e.latitude_deg, e.longitude_deg, e.depth_m) == (39.83, 77.21, 16000.0)
    assert e.time.isoformat() == "2020-01-19T13:27:55.500000+00:00"
    fault = tmp_path / "f.txt"
    fault.write_text("# ref\n39.5 77.1 0\n39.7 77.3 0\n39.7 77.3 10\n39.5 77.1 10\n39.5 77.1 0\n"
                     "39.9 100.5 0\n40.0 100.6 0\n40.0 100.6 5\n39.9 100.5 5\n")
    fm = read_fault_text(fault)
    assert fm.swapped_lat_lon
    assert fm.polygons[0][0] == (77.1, 39.5, 0.0)


def test_malformed_and_hostile_xml_raise_input_error(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<stationlist><station code='A'")
    with pytest.raises(InputError, match="not well-formed"):
        read_stationlist(bad)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
                    '<stationlist><station code="A" lat="1" lon="1"/></stationlist>')
    with pytest.raises(InputError, match="entity"):
        read_stationlist(bomb)
    empty = tmp_path / "empty.xml"
    empty.write_text("<stationlist/>")
    with pytest.raises(InputError, match="no <station>"):
        read_stationlist(empty)
    with pytest.raises(InputError, match="no <earthquake>"):
        read_event_xml(empty)


BAD_LIST = """<?xml version="1.0"?>
<shakemap-data><earthquake id="t" lat="34.2" lon="-118.5" mag="6.7" depth="18" time="1994-01-17T12:30:55Z"/>
<stationlist>
<station code="GOOD" netid="XX" lat="34.30" lon="-118.40" insttype="ETNA" source="test">
 <comp name="HNE"><pga value="40.0" flag="0"/><pgv value="30.0" flag="0"/></comp>
 <comp name="HNN"><pga value="45.0" flag="0"/><pgv value="35.0" flag="0"/></comp>
 <comp name="HNZ"><pga value="90.0" flag="0"/></comp>
</station>
<station code="ONEHORIZ" netid="XX" lat="34.31" lon="-118.41" insttype="ETNA" source="test">
 <comp name="HNN"><pga value="42.0" flag="0"/></comp>
</station>
<station code="HUGE" netid="XX" lat="34.32" lon="-118.42" insttype="ETNA" source="test">
 <comp name="HNE"><pga value="2000.0" flag="0"/><pgv value="30.0" flag="0"/></comp>
 <comp name="HNN"><pga value="45.0" flag="0"/><pgv value="31.0" flag="0"/></comp>
</station>
<station code="UNITS" netid="XX" lat="34.33" lon="-118.43" insttype="ETNA" source="test">
 <comp name="HNE"><pga value="0.4" units="furlongs" flag="0"/></comp>
 <comp name="HNN"><pga value="0.4" units="furlongs" flag="0"/></comp>
</station>
<station code="GOOD" netid="XX" lat="34.34" lon="-118.44" insttype="ETNA" source="test">
 <comp name="HNE"><pga value="10.0" flag="0"/></comp>
 <comp name="HNN"><pga value="11.0" flag="0"/></comp>
</station>
<station code="GLITCH" netid="XX" lat="34.35" lon="-118.45" insttype="ETNA" source="test">
 <comp name="HNE"><pga value="41.0" flag="T"/></comp>
 <comp name="HNN"><pga value="44.0" flag="0"/></comp>
</station>
<station code="LNG" netid="XX" lat="34.36" lon="-118.46" insttype="ETNA" source="test">
 <comp name="--.HHE"><pga value="-1.0" units="ln(g)" flag="0"/></comp>
 <comp name="--.HHN"><pga value="-0.9" units="ln(g)" flag="0"/></comp>
</station>
<station code="NOWHERE" netid="XX" lat="abc" lon="-118.47" insttype="ETNA" source="test">
 <comp name="HNE"><pga value="41.0" flag="0"/></comp>
</station>
<station code="D1" netid="DYFI" lat="34.37" lon="-118.48" insttype="USGS (Did You Feel It?)" intensity="14.2"/>
</stationlist></shakemap-data>
"""


def test_bad_stations_are_flagged_and_never_used(tmp_path):
    path = tmp_path / "stationlist.xml"
    path.write_text(BAD_LIST)
    sl = read_stationlist(path)
    obs = {(o.station_id, i): o for i, o in enumerate(prepare_stations(sl.stations))}
    by_code = {}
    for (sid, i), o in obs.items():
        by_code.setdefault(o.code, []).append(o)
    good = by_code["GOOD"][0]
    assert good.usable and good.motions["pga"] == pytest.approx(0.45 * G_M_S2)   # larger horizontal, Z ignored
    assert good.motions["pgv"] == pytest.approx(0.35)
    assert by_code["GOOD"][1].flags == ("duplicate",) and not by_code["GOOD"][1].usable
    one = by_code["ONEHORIZ"][0]
    assert one.imt_flags == {"pga": ("missing_component",)} and not one.motions and not one.usable
    huge = by_code["HUGE"][0]
    assert huge.imt_flags["pga"] == ("absurd_amplitude",) and "pga" not in huge.motions
    assert huge.motions["pgv"] == pytest.approx(0.31)                       # the sane IMT stays usable
    units = by_code["UNITS"][0]
    assert units.imt_flags == {"pga": ("unknown_units",)} and not units.usable
    glitch = by_code["GLITCH"][0]
    assert glitch.imt_flags == {"pga": ("input_flag:T",)} and "pga" not in glitch.motions
    lng = by_code["LNG"][0]
    assert lng.motions["pga"] == pytest.approx(math.exp(-0.9) * G_M_S2)
    assert "bad_coordinates" in by_code["NOWHERE"][0].flags
    assert by_code["D1"][0].flags == ("absurd_amplitude",)

    # end to end: the station table shows every one of them with its flags, and only sane values are used
    from tianshan.groundmotion.conditioning.correlation import ExponentialCorrelation
    from tianshan.groundmotion.conditioning.pipeline import ConditionedEvent, EventModel, Settings
    from tianshan.groundmotion.prediction.distances import Rupture

    ev = sl.event
    rup = Rupture(ev.magnitude, ev.latitude_deg, ev.longitude_deg, ev.depth_m, rake_deg=90.0)
    stations = prepare_stations(sl.stations)
    event = ConditionedEvent(EventModel(rup), stations, Settings(correlation=ExponentialCorrelation(10.0),
                                                                outlier_max_magnitude=9.0))
    cond = event.conditioner("pga")
    used_ids = {event.stations[i].code for i in event.observations("pga")[1]}
    assert used_ids == {"GOOD", "LNG"}
    assert len(cond.observations) == 2
    pgv = event.conditioner("pgv").observations
    # GOOD's and HUGE's PGV, and LNG's PGA standing in for its missing PGV (nearest IMT, as ShakeMap)
    assert pgv.imt == ("pgv", "pgv", "pga")
    table = {(r.station_id, r.latitude_deg): r for r in event.station_table()}
    assert len(table) == 9                                                       # every input station listed
    flags = {r.station_id + "@" + str(r.latitude_deg): r.flags for r in table.values()}
    assert flags["XX.ONEHORIZ@34.31"] == ("pga:missing_component",)
    assert flags["XX.HUGE@34.32"] == ("pga:absurd_amplitude",)
    assert flags["XX.UNITS@34.33"] == ("pga:unknown_units",)
    assert flags["XX.GOOD@34.34"] == ("duplicate",)
    assert flags["XX.GLITCH@34.35"] == ("pga:input_flag:T",)
    assert table[("XX.GOOD", 34.30)].used == ("pga", "pgv")
    assert table[("XX.GOOD", 34.34)].used == ()
    assert table[("XX.HUGE", 34.32)].used == ("pgv",)
    assert table[("XX.LNG", 34.36)].used == ("pga", "pgv")
    for code in ("ONEHORIZ", "UNITS", "NOWHERE"):
        assert all(r.used == () for r in table.values() if r.station_id == f"XX.{code}")


def test_real_lists_flag_only_what_is_wrong(shared_data):
    """Wenchuan has one station with a single horizontal component; Northridge's lists are clean."""
    w = prepare_stations(read_stationlist(_sm(shared_data) / "wenchuan" / "stationlist.xml").stations)
    flagged = [o for o in w if o.all_flags()]
    assert len(flagged) == 1
    assert set(flagged[0].imt_flags.values()) == {("missing_component",)}
    assert sum(o.usable for o in w) == 480
    assert sum(1 for o in w if o.kind == "seismic" and set(o.motions) == {"pga"}) == 32   # the CEA PGA-only list
    n = prepare_stations(read_stationlist(_sm(shared_data) / "northridge" / "hist_dat.xml").stations)
    assert all(o.usable and not o.all_flags() for o in n)
    assert np.all([set(o.motions) == {"pga", "pgv", "psa0.3", "psa1.0", "psa3.0"} for o in n])
