"""EEW targets: intensity at places (Yu et al. 2013 ellipse along the nearest fault), S-wave
warning times from the 1-D model, the PLUM onsite term and the blind-zone radius."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.eew.replay import generic_crust
from tianshan.eew.targets import (EllipticalIntensity, OnsiteObservation, Target, TargetConfig, TargetPredictor,
                                  blind_zone_radius_m, observed_intensity, targets_from_places)
from tianshan.regions.model import Fault, Place

T0 = datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc)
LAT, LON = 42.0, 86.0
KM_LAT = 1.0 / 111.19  # deg of latitude per km (R = 6371 km)


def _north(km: float) -> tuple[float, float]:
    return LAT + km * KM_LAT, LON


def _east(km: float) -> tuple[float, float]:
    return LAT, LON + km * KM_LAT / np.cos(np.radians(LAT))


@pytest.fixture(scope="module")
def model():
    return generic_crust()


def test_targets_from_places_keeps_cities_and_county_seats_once():
    places = [Place("Korla", 41.76, 86.15, 500_000, "city"), Place("Korla", 41.762, 86.152, 600_000, "county"),
              Place("Luntai", 41.78, 84.27, 100_000, "county"), Place("Small", 41.0, 85.0, 200, "village"),
              Place("Hamlet", 41.1, 85.1, None, "town")]
    got = targets_from_places(places)
    assert [t.name for t in got] == ["Korla", "Luntai"]
    assert got[0].population == 500_000
    assert {t.name for t in targets_from_places(places, kinds=None)} == {"Korla", "Luntai", "Small", "Hamlet"}


def test_bad_targets_and_settings_are_refused():
    with pytest.raises(InputError):
        Target("x", 95.0, 10.0)
    with pytest.raises(InputError):
        Target(" ", 45.0, 10.0)
    with pytest.raises(InputError):
        TargetConfig(plum_radius_m=-1.0)
    with pytest.raises(InputError):
        EllipticalIntensity("mars")
    with pytest.raises(InputError):
        TargetConfig(attenuation="mars")


def test_elliptical_model_is_the_attenuation_module_and_falls_with_distance():
    from tianshan.groundmotion.prediction import attenuation as att
    from tianshan.groundmotion.prediction.gmpe import ms_from_mw

    im = EllipticalIntensity("xinjiang")
    lats = [_north(k)[0] for k in (5, 20, 50, 100, 200)]
    lons = [LON] * 5
    mean, sigma = im.predict_intensity(LAT, LON, 10_000.0, 6.0, lats, lons)
    ref = att.predict_intensity("xinjiang", np.array(lats), np.array(lons), LAT, LON, float(ms_from_mw(6.0)))
    np.testing.assert_allclose(mean, ref.intensity)
    assert sigma == pytest.approx(0.5924)
    assert np.all(np.diff(mean) < 0)
    # a larger magnitude shakes more everywhere
    assert np.all(im.predict_intensity(LAT, LON, 10_000.0, 7.0, lats, lons)[0] > mean)


def test_long_axis_follows_the_nearest_fault(model):
    # a north-south fault 5 km east of the epicentre: 60 km along it shakes more than 60 km across it
    fault = Fault("test fault", "Reverse", ((LON + 0.06, LAT - 1.0), (LON + 0.06, LAT + 1.0)))
    along, across = Target("along", *_north(60)), Target("across", *_east(60))
    p = TargetPredictor([along, across], model, faults=[fault])
    strike, src = p.strike(LAT, LON)
    assert strike == pytest.approx(0.0, abs=1.0) or strike == pytest.approx(180.0, abs=1.0)
    assert src.startswith("fault:test fault")
    a, c = p.predict_at(LAT, LON, 10_000.0, 6.5, T0, T0)
    assert a.intensity > c.intensity + 0.3
    # without faults the isoseismals are circles
    a0, c0 = TargetPredictor([along, across], model).predict_at(LAT, LON, 10_000.0, 6.5, T0, T0)
    assert a0.intensity == pytest.approx(c0.intensity, abs=0.01)
    # a fault beyond max_fault_km is ignored
    far = Fault("far", "Reverse", ((LON + 2.0, LAT - 1.0), (LON + 2.0, LAT + 1.0)))
    assert TargetPredictor([along], model, faults=[far]).strike(LAT, LON) == (None, "none")


def test_warning_time_is_the_1d_s_arrival_minus_now(model):
    from tianshan.traveltime.layered import LayeredTravelTime

    km = [10.0, 40.0, 120.0, 300.0]
    targets = [Target(f"t{k:.0f}", *_north(k)) for k in km]
    p = TargetPredictor(targets, model)
    now = T0 + timedelta(seconds=7.5)
    got = p.predict_at(LAT, LON, 12_000.0, 6.0, T0, now)
    ts = LayeredTravelTime(model).first_arrivals("S", 12_000.0, [g.distance_m for g in got]).time_s
    for g, t in zip(got, ts):
        assert g.warning_time_s == pytest.approx(t - 7.5, abs=0.05)
        assert (g.s_arrival - T0).total_seconds() == pytest.approx(t, abs=0.05)
    assert got[0].warning_time_s < 0 < got[1].warning_time_s  # 10 km: the S wave has passed at 7.5 s
    assert [g.distance_m / 1000 for g in got] == pytest.approx(km, rel=2e-3)
    # beyond the table's reach the time is extrapolated, not NaN
    short = TargetPredictor(targets, model, config=TargetConfig(max_distance_m=100_000.0))
    far = short.predict_at(LAT, LON, 12_000.0, 6.0, T0, T0)
    exact = got[3].warning_time_s + 7.5
    assert np.isfinite(far[3].warning_time_s) and 0.85 * exact <= far[3].warning_time_s <= exact + 0.05


def test_plum_onsite_term_raises_targets_within_30_km(model):
    near, beyond = Target("near", *_north(120)), Target("beyond", *_north(160))
    p = TargetPredictor([near, beyond], model)
    base = p.predict_at(LAT, LON, 10_000.0, 5.0, T0, T0)
    st_lat, st_lon = _north(135)   # 15 km from "near", 25 km from "beyond"
    ob = OnsiteObservation("XX.S1", st_lat, st_lon, 1.0, 0.1, 8.2, T0)
    got = p.predict_at(LAT, LON, 10_000.0, 5.0, T0, T0, [ob])
    assert got[0].intensity == pytest.approx(8.2) and got[0].source == "onsite:XX.S1"
    assert got[0].intensity_attenuation == pytest.approx(base[0].intensity)
    assert got[1].source == "onsite:XX.S1"  # 25 km away: within Kodera et al.'s 30 km
    far_ob = OnsiteObservation("XX.S2", *_north(195), 1.0, 0.1, 8.2, T0)  # 35 km from beyond
    got2 = p.predict_at(LAT, LON, 10_000.0, 5.0, T0, T0, [far_ob])
    assert got2[1].source == "attenuation" and got2[1].intensity == pytest.approx(base[1].intensity)
    # an onsite reading below the attenuation prediction does not lower it
    weak = OnsiteObservation("XX.S3", *_north(121), 0.01, 0.001, 1.5, T0)
    assert p.predict_at(LAT, LON, 10_000.0, 5.0, T0, T0, [weak])[0].intensity == pytest.approx(base[0].intensity)
    off = TargetPredictor([near], model, config=TargetConfig(use_onsite=False))
    assert off.predict_at(LAT, LON, 10_000.0, 5.0, T0, T0, [ob])[0].source == "attenuation"


def test_observed_intensity_is_gbt17742():
    from tianshan.groundmotion.intensity.gbt17742 import instrumental_intensity

    assert observed_intensity(0.457, 0.0381) == pytest.approx(instrumental_intensity(0.457, 0.0381, rounded=False))
    assert observed_intensity(5.0, 0.5) == pytest.approx(instrumental_intensity(5.0, 0.5, rounded=False))
    assert observed_intensity(0.0, 0.0) == 1.0


def test_blind_zone_radius_is_where_s_meets_the_alert_time(model):
    p = TargetPredictor([], model)
    r = blind_zone_radius_m(p, 10_000.0, 10.0)
    assert float(p.s_travel_time(10_000.0, r)) == pytest.approx(10.0, abs=0.2)
    assert blind_zone_radius_m(p, 10_000.0, 20.0) > r
    assert blind_zone_radius_m(p, 10_000.0, 1.0) == 0.0   # before the S wave reaches the epicentre


def test_event_without_magnitude_predicts_nothing(model):
    from types import SimpleNamespace

    p = TargetPredictor([Target("a", LAT, LON)], model)
    assert p.predict(SimpleNamespace(magnitude=None)) == ()
    with pytest.raises(InputError):
        p.predict_at(LAT, LON, 10_000.0, float("nan"), T0, T0)
