"""Leave-one-out on real earthquakes: the conditioned map predicts left-out stations clearly better than the
model alone (2008 Wenchuan Mw 7.9: 421 stations + 60 intensities; 1994 Northridge Mw 6.7: 185 stations +
547 DYFI intensities). Run with ``-s`` to see the tables.

Model: BSSA14 through hazardlib, larger horizontal component, Vs30 760 m/s, the ShakeMap fault files,
Loth & Baker (2013) correlation, outlier rule on. Wenchuan is also evaluated without the 400-km limit
(stations out to 3000 km, where BSSA14 is far outside its range)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.groundmotion.conditioning.correlation import LothBaker2013
from tianshan.groundmotion.conditioning.loo import leave_one_out, loo_metrics
from tianshan.groundmotion.conditioning.mvn import Conditioner
from tianshan.groundmotion.conditioning.pipeline import ConditionedEvent, EventModel, Settings
from tianshan.groundmotion.conditioning.stations import prepare_stations
from tianshan.groundmotion.prediction.distances import Rupture
from tianshan.io.shakemap_xml import read_event_xml, read_fault_text, read_stationlist

EVENTS = {
    "wenchuan": (("stationlist.xml",), "Hartzell11_fault.txt"),
    "northridge": (("hist_dat.xml", "dyfi_dat.xml"), "northridge_fault.txt"),
}


def _event(shared_data, name, max_distance_km=None) -> ConditionedEvent:
    files, fault = EVENTS[name]
    folder = shared_data / "shakemap" / name
    ev = read_event_xml(folder / "event.xml")
    f = read_fault_text(folder / fault)
    rup = Rupture.from_polygons(ev.magnitude, ev.latitude_deg, ev.longitude_deg, ev.depth_m, f.polygons,
                                rake_deg=90.0)
    stations = prepare_stations([s for fn in files for s in read_stationlist(folder / fn).stations])
    return ConditionedEvent(EventModel(rup), stations,
                            Settings(correlation=LothBaker2013(), max_distance_km=max_distance_km))


def _table(title: str, m: dict) -> str:
    rows = [f"{title}", f"{'':14s}{'model alone':>22s}{'conditioned (LOO)':>24s}",
            f"{'quantity':14s}{'n':>6s}{'RMS':>8s}{'bias':>8s}{'RMS':>12s}{'bias':>8s}"]
    for key, label in (("ln_pga", "ln PGA"), ("mmi", "MMI (all)"), ("mmi_seismic", "  MMI stations"),
                       ("mmi_macro", "  MMI macro"), ("cn", "GB/T 17742")):
        if f"n_{key}" not in m["model_only"]:
            continue
        mo, co = m["model_only"], m["conditioned"]
        rows.append(f"{label:14s}{mo[f'n_{key}']:6d}{mo[f'rms_{key}']:8.3f}{mo[f'bias_{key}']:+8.3f}"
                    f"{co[f'rms_{key}']:12.3f}{co[f'bias_{key}']:+8.3f}")
    return "\n".join(rows)


@pytest.fixture(scope="module")
def northridge(shared_data):
    return _event(shared_data, "northridge")


def test_loo_equals_reconditioning_without_the_station(northridge):
    """The one-inverse LOO equals a fresh conditioning on the other stations' data (exact algebra)."""
    ev = northridge
    for target in ("pga", "mmi"):
        obs, idx = ev.observations(target)
        own = sorted({int(s) for s, k in zip(idx, obs.imt) if k == target})
        rng = np.random.default_rng(2)
        pick = rng.choice(own, 12, replace=False)
        loo = leave_one_out(ev, target, pick)
        p = ev.pred[target]
        for s, mean, sd in zip(pick, loo.loo_mean, loo.loo_sd):
            c = Conditioner(obs.subset(idx != s), target, ev.correlation, ev.conditioner(target).target_period_s,
                            jitter=ev.settings.jitter)
            ref = c.predict([ev.lat[s]], [ev.lon[s]], p.mean_ln[s], p.tau[s], p.phi[s])
            colocated = np.any((ev.lat[idx[idx != s]] == ev.lat[s]) & (ev.lon[idx[idx != s]] == ev.lon[s]))
            if not colocated:             # (a twin at the same coordinates is a distinct site for the LOO)
                assert mean == pytest.approx(ref.mean[0], abs=1e-8) and sd == pytest.approx(ref.sd[0], abs=1e-7)


def test_northridge_loo(northridge):
    m = loo_metrics(northridge)["loo"]
    print("\n" + _table("Northridge 1994 Mw 6.7 -- BSSA14, LB13, 185 stations + 547 DYFI", m))
    mo, co = m["model_only"], m["conditioned"]
    assert mo["n_ln_pga"] >= 180 and mo["n_mmi_macro"] >= 540 and mo["n_cn"] >= 180
    for key in ("ln_pga", "mmi", "mmi_seismic", "mmi_macro", "cn"):
        assert co[f"rms_{key}"] < 0.6 * mo[f"rms_{key}"], key          # measured 0.52, 0.42, 0.59, 0.38, 0.45
    assert abs(co["bias_ln_pga"]) < 0.2 and abs(co["bias_mmi"]) < 0.1 and abs(co["bias_cn"]) < 0.25
    assert co["rms_ln_pga"] < 0.45 and co["rms_mmi"] < 0.7 and co["rms_cn"] < 0.55


@pytest.mark.parametrize("max_km", [400.0, None], ids=["within-400km", "all-distances"])
def test_wenchuan_loo(shared_data, max_km):
    ev = _event(shared_data, "wenchuan", max_km)
    m = loo_metrics(ev)["loo"]
    flagged = sum(len(v) for v in ev.outliers.values())
    print("\n" + _table(f"Wenchuan 2008 Mw 7.9 -- BSSA14, LB13, stations within {max_km or 'any'} km "
                        f"({len(ev.stations)} used, {flagged} outlier values)", m))
    mo, co = m["model_only"], m["conditioned"]
    assert mo["n_ln_pga"] >= 140 and mo["n_mmi"] >= 190 and mo["n_cn"] >= 115
    # sparse network, and 90 of the stations share their (rounded) coordinates with another station
    assert co["rms_ln_pga"] < 0.8 * mo["rms_ln_pga"]                   # measured 0.77 (400 km) / 0.70 (all)
    assert co["rms_mmi"] < 0.9 * mo["rms_mmi"]                         # 0.88 / 0.70
    assert co["rms_cn"] < 0.85 * mo["rms_cn"]                          # 0.82 / 0.75
    assert abs(co["bias_ln_pga"]) < 0.1 < abs(mo["bias_ln_pga"])
    assert abs(co["bias_cn"]) < abs(mo["bias_cn"]) + 0.05


def test_wenchuan_station_table_and_map_values(shared_data):
    """Outliers and distance limits are flagged in the station table; the map at a station is near its record."""
    ev = _event(shared_data, "wenchuan", 400.0)
    rows = ev.station_table()
    assert len(rows) == 481
    beyond = [r for r in rows if "beyond_max_distance" in r.flags]
    assert len(beyond) > 250 and all(r.used == () for r in beyond)
    outl = [r for r in rows if any(f.endswith(":outlier") for f in r.flags)]
    assert outl and all("pga" not in r.used for r in outl if "pga:outlier" in r.flags)
    used = [i for i, s in enumerate(ev.stations) if "pga" in ev.usable_motions(i)]
    _, cond = ev.points(ev.lat[used[:20]], ev.lon[used[:20]], "pga")
    obs = np.log([ev.stations[i].motions["pga"] for i in used[:20]])
    # the jitter (observation-error floor 3 % of phi) and co-located twins keep it from being exact
    assert np.median(np.abs(cond.mean - obs)) < 0.1
    cn = ev.chinese_intensity(cond.mean, ev.points(ev.lat[used[:20]], ev.lon[used[:20]], "pgv")[1].mean)
    assert np.all((cn >= 1.0) & (cn <= 12.0)) and math.isfinite(float(np.mean(cn)))
