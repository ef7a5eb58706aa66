"""A demo-like event store for the dashboard tests, made with the project's own components.

The demo scenario's earthquake (Mw 6.5 near Luntai, :mod:`tianshan.demo.stages`) on the built-in
demo region: the region's stations; an event with three origin versions converging on the true
epicentre, ML versions and P/S picks at the nearest stations at the 1-D model's travel times
(:class:`tianshan.traveltime.layered.LayeredTravelTime`); an intensity map made by
:func:`tianshan.products.shakemap.build.build_map` (prediction only, coarse grid, products in the
store); an early-warning alert from the EEW target predictor
(:class:`tianshan.eew.targets.TargetPredictor`, Yu et al. 2013 attenuation) issued 8 s after the
origin by :class:`tianshan.products.alerts.message.AlertIssuer`, stored with ``save_alert``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

#: seconds after the origin time at which the scene's alert is issued.
ALERT_AFTER_S = 8.0


@dataclass(frozen=True)
class Scene:
    store_url: str
    products_dir: Path
    event_id: str
    n_origins: int
    n_picks: int
    alert_city: str           # a target of the alert (English name, as in /region/cities)
    alert_intensity: float
    alert_warning_s: float
    max_degree: int           # highest degree of the intensity contours


def _picks(profile, lat, lon, depth_m, t0, n_stations):
    from tianshan.core import Pick
    from tianshan.regions.model import haversine_m
    from tianshan.traveltime.layered import LayeredTravelTime

    tt = LayeredTravelTime(profile.velocity_model)
    near = sorted(profile.stations, key=lambda s: haversine_m(lat, lon, s.latitude_deg, s.longitude_deg))[:n_stations]
    dist = [haversine_m(lat, lon, s.latitude_deg, s.longitude_deg) for s in near]
    tp, _ = tt.first_arrival("P", depth_m, dist)
    ts, _ = tt.first_arrival("S", depth_m, dist)
    picks = []
    for st, p, s in zip(near, tp, ts):
        z = next(c.stream_id for c in st.channels if c.stream_id.channel == "HHZ")
        n = next(c.stream_id for c in st.channels if c.stream_id.channel == "HHN")
        picks.append(Pick(z, t0 + timedelta(seconds=float(p)), "P", probability=0.9, method="stalta-aic"))
        picks.append(Pick(n, t0 + timedelta(seconds=float(s)), "S", probability=0.7, method="stalta-aic"))
    return picks


def build_event(profile, lat: float, lon: float, depth_m: float, mw: float, t0: datetime, n_origins: int = 3,
                n_stations: int = 10, region_name: str = "新疆巴音郭楞州轮台县 (Luntai, Xinjiang)"):
    """An Event at (lat, lon, depth, t0) with ``n_origins`` versions approaching it and ML versions."""
    from tianshan.core import Event, EventType, Magnitude, Origin

    picks = _picks(profile, lat, lon, depth_m, t0, n_stations)
    ev = Event(type=EventType.EARTHQUAKE, picks=tuple(picks), region_name=region_name)
    for i in range(n_origins):
        k = n_origins - 1 - i  # distance from the truth shrinks with each version
        used = picks[: 2 * (4 + (n_stations - 4) * i // max(1, n_origins - 1))]
        o = Origin(time=t0 + timedelta(seconds=0.4 * k), latitude_deg=lat + 0.08 * k, longitude_deg=lon - 0.06 * k,
                   depth_m=depth_m + 3000.0 * k, horizontal_uncertainty_m=2000.0 + 4000.0 * k, rms_s=0.2 + 0.1 * k,
                   phase_count=len(used), station_count=len(used) // 2, method="octree-edt",
                   earth_model=profile.velocity_model.name)
        ev = ev.with_origin(o)
        ev = ev.with_magnitude(Magnitude("ML", round(mw - 0.3 * k, 2), origin_id=o.id, station_count=len(used) // 2))
    return ev


def build_scene(folder: Path, *, event_time: datetime | None = None, grid_cells: int = 6000) -> Scene:
    """Write the scene's SQLite store and products under ``folder``."""
    from tianshan.demo.stages import DEMO_DEPTH_M, DEMO_LATITUDE_DEG, DEMO_LONGITUDE_DEG, DEMO_MW, DEMO_ORIGIN_TIME
    from tianshan.products.shakemap.build import MapEvent, MapSettings, build_map
    from tianshan.regions.demo import demo_region
    from tianshan.store.repository import EventStore

    folder.mkdir(parents=True, exist_ok=True)
    t0 = event_time or DEMO_ORIGIN_TIME
    lat, lon, depth, mw = DEMO_LATITUDE_DEG, DEMO_LONGITUDE_DEG, DEMO_DEPTH_M, DEMO_MW
    profile = demo_region()
    url = f"sqlite:///{folder / 'demo.sqlite'}"
    products_dir = folder / "products"
    ev = build_event(profile, lat, lon, depth, mw, t0)
    with EventStore.open(url) as store:
        store.save_stations(profile.stations)
        store.save_event(ev)
        mb = build_map(MapEvent(ev.id, lat, lon, depth, mw, t0), (), products_dir / ev.id / "shakemap" / "v1",
                       settings=MapSettings(max_cells=grid_cells, plot=False, layers=("mmi", "pga", "pgv")),
                       store=store)
        first = save_alert(store, profile, ev.id, lat, lon, depth, mw, t0, t0 + timedelta(seconds=ALERT_AFTER_S))
    return Scene(store_url=url, products_dir=products_dir, event_id=ev.id, n_origins=len(ev.origins),
                 n_picks=len(ev.picks), alert_city=first.target.name, alert_intensity=first.intensity,
                 alert_warning_s=first.warning_time_s,
                 max_degree=max(f["properties"]["degree"] for f in _contours(mb)["features"]))


def save_alert(store, profile, event_id: str, lat: float, lon: float, depth_m: float, mw: float, t0: datetime,
               issued: datetime):
    """Predict target intensities and warning times at ``issued`` (EEW target predictor), store the alert
    (targets with intensity >= 4 and S still to come) and return the prediction of its most populous target."""
    from tianshan.core.alert import Alert, AlertTarget
    from tianshan.eew.policy import _level
    from tianshan.eew.targets import TargetPredictor, targets_from_places
    from tianshan.products.alerts.message import AlertIssuer
    from tianshan.products.alerts.text import intensity_degree

    predictor = TargetPredictor(targets_from_places(profile.places), profile.velocity_model)
    preds = [p for p in predictor.predict_at(lat, lon, depth_m, mw, t0, issued)
             if p.intensity >= 4.0 and p.warning_time_s > 0]
    if not preds:
        raise AssertionError(f"no alert target for M{mw} at {lat}, {lon}")
    preds.sort(key=lambda p: -p.intensity)
    targets = tuple(AlertTarget(p.target.name, p.target.latitude_deg, p.target.longitude_deg,
                                round(p.intensity, 2), round(p.warning_time_s, 2)) for p in preds)
    top = max(intensity_degree(p.intensity) for p in preds)
    alert = Alert(event_id=event_id, sequence=1, origin_time=t0, latitude_deg=lat, longitude_deg=lon, depth_m=depth_m,
                  magnitude=mw, level=_level(top), targets=targets, test=True, magnitude_uncertainty=0.3,
                  issued_at=issued)
    msg = AlertIssuer().issue(alert, place_zh="新疆", place_en="Xinjiang")
    store.save_alert(msg.alert)
    return max(preds, key=lambda p: p.target.population or 0)


def _contours(mb) -> dict:
    import json

    return json.loads(Path(mb.files["contours_cn.geojson"]).read_text(encoding="utf-8"))


def push_event(store_url: str, lat: float = 42.40, lon: float = 85.60, mw: float = 5.8, alert: bool = True):
    """Store a new event that happened 3 s ago (one origin, one magnitude) and, with ``alert``, its alert
    issued now, as the real-time daemon would; return ``(event id, prediction at the alert's most
    populous target or None)``."""
    from tianshan.regions.demo import demo_region
    from tianshan.store.repository import EventStore

    now = datetime.now(timezone.utc)
    t0 = now - timedelta(seconds=3)
    profile = demo_region()
    ev = build_event(profile, lat, lon, 9000.0, mw, t0, n_origins=1, n_stations=6,
                     region_name="新疆巴音郭楞州 (Bayingolin, Xinjiang)")
    with EventStore.open(store_url) as store:
        store.save_event(ev)
        pred = save_alert(store, profile, ev.id, lat, lon, 9000.0, mw, t0, now) if alert else None
    return ev.id, pred
