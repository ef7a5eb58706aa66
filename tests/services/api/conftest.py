"""Fixtures of the REST API tests: a populated event store (SQLite, or PostgreSQL in a throw-away
schema), a small region profile, tokens of every role, and the app under Starlette's TestClient.

The store holds the four events of ``tests/services/fdsn_fixtures.py`` (origin and magnitude
histories, picks), one more event restricted from the public, stations, QC findings (one
station failing, one warning), two alert issues and a cancel of one event, intensity-map
product files, and timeline steps. Everything goes through the store's own API.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

UTC = timezone.utc
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def _fdsn_fixtures():
    name = "tianshan_fdsn_test_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "fdsn_fixtures.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def small_region():
    """Three stations, a city, a town, a county and a fault."""
    from tianshan.core import StreamID
    from tianshan.core.station import Channel, Station
    from tianshan.regions.demo import xinjiang_velocity_model
    from tianshan.regions.model import Fault, Place, RegionProfile

    def station(code, lat, lon):
        return Station("TS", code, lat, lon, 1000.0, name=code.title(), channels=tuple(
            Channel(StreamID("TS", code, "00", "HH" + c), lat, lon, 1000.0, 100.0) for c in "ZNE"))

    return RegionProfile(
        "test", (station("LUNT", 41.78, 84.27), station("KORL", 41.76, 86.15), station("SECR", 42.0, 85.0)),
        xinjiang_velocity_model(),
        (Place("Korla", 41.76, 86.15, 549_324, "city", name_zh="库尔勒"),
         Place("Luntai", 41.78, 84.27, None, "town", name_zh="轮台"),
         Place("Luntai County", 41.78, 84.25, 120_000, "county", name_zh="轮台县")),
        (Fault("Luntai fault", "Reverse", ((83.9, 41.9), (84.3, 41.95), (84.7, 42.0))),))


@dataclass
class Populated:
    url: str
    events: list
    restricted_id: str
    alert_event: str
    products_dir: Path
    tokens: dict = field(default_factory=dict)
    token_ids: dict = field(default_factory=dict)


def populate(url: str, folder: Path) -> Populated:
    """Fill the store at ``url`` (see the module docstring); files go to ``folder``."""
    from tianshan.core import Event, Magnitude, Origin, QCKind, QCRecord, StreamID
    from tianshan.core.alert import Alert, AlertLevel, AlertTarget
    from tianshan.core.product import Product
    from tianshan.core.timeline import TimelineEntry
    from tianshan.store import EventStore
    from tianshan.store.access import AccessStore

    ff = _fdsn_fixtures()
    events = ff.build_events()
    secret = Event(region_name="secret test site")
    o = Origin(T0 + timedelta(days=3), 41.0, 85.0, 1000.0)
    secret = secret.with_origin(o).with_magnitude(Magnitude("ML", 2.5, o.id))
    products_dir = folder / "products"
    (products_dir / events[1].id).mkdir(parents=True)
    (products_dir / events[1].id / "report.html").write_text("<html><body>速报 report</body></html>", "utf-8")
    mapdir = folder / "intensity" / "v1"
    mapdir.mkdir(parents=True)
    (mapdir / "map.png").write_bytes(PNG)
    (mapdir / "contours_cn.geojson").write_text('{"type": "FeatureCollection", "features": []}', "utf-8")
    out = Populated(url, [], secret.id, events[1].id, products_dir)
    with EventStore.open(url) as store:
        for ev in events + [secret]:
            store.save_event(ev)
        out.events = [store.get_event(ev.id) for ev in events]
        store.save_stations(small_region().stations)
        for name, ctype in (("map.png", "image/png"), ("contours_cn.geojson", "application/geo+json")):
            store.save_product(Product("intensity_map", str(mapdir / name), ctype, event_id=events[1].id,
                                       properties={"name": name}))
        store.save_product(Product("intensity_map", str(folder / "gone.png"), "image/png", event_id=events[1].id))
        day = T0 - timedelta(hours=1)
        store.save_qc_records([
            QCRecord(StreamID("TS", "LUNT", "00", "HHZ"), day, day + timedelta(hours=1), QCKind.FLAT, 3600.0),
            QCRecord(StreamID("TS", "KORL", "00", "HHZ"), day, day + timedelta(minutes=1), QCKind.GAP, 60.0,
                     "gap of 60 s"),
            QCRecord(StreamID("TS", "SECR", "00", "HHZ"), day, day + timedelta(hours=1), QCKind.AVAILABILITY,
                     99.5)])
        targets = (AlertTarget("Luntai", 41.78, 84.27, 7.6, 3.0), AlertTarget("Korla", 41.76, 86.15, 5.8, 44.0))
        for seq, (mag, cancelled) in enumerate(((6.1, False), (6.5, False), (6.5, True)), start=1):
            store.save_alert(Alert(events[1].id, seq, T0, 41.9, 84.3, 12_000.0, mag, AlertLevel.WARNING,
                                   () if cancelled else targets, cancelled=cancelled,
                                   issued_at=T0 + timedelta(seconds=5 * seq)))
        store.save_alert(Alert(secret.id, 1, T0, 41.0, 85.0, 1000.0, 4.0, AlertLevel.ADVISORY, targets,
                               issued_at=T0 + timedelta(days=3, seconds=5)))
        store.record_timeline([TimelineEntry(events[1].id, "first_pick", T0 + timedelta(seconds=6)),
                               TimelineEntry(events[1].id, "first_origin", T0 + timedelta(seconds=9))])
        access = AccessStore(store)
        access.restrict("event", secret.id, "test: not for the public", created_by="test")
        for role in ("analyst", "operator", "admin"):
            out.tokens[role], info = access.create_token(f"{role}-user", role, created_by="test")
            out.token_ids[role] = info.id
        out.tokens["expired"], _ = access.create_token("old", "admin", created_by="test",
                                                       expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        out.tokens["revoked"], info = access.create_token("gone", "admin", created_by="test")
        access.revoke_token(info.id)
    return out


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def populated(tmp_path_factory) -> Populated:
    folder = tmp_path_factory.mktemp("api")
    return populate(f"sqlite:///{folder / 'tianshan.sqlite'}", folder)


@pytest.fixture(scope="module")
def client(populated):
    """TestClient of the app over the populated SQLite store (no rate limit, live poll every 0.1 s)."""
    from fastapi.testclient import TestClient

    from tianshan.services.api.app import create_app

    app = create_app(populated.url, region=small_region(), products_dir=populated.products_dir,
                     rate_limit_per_s=None, poll_s=0.1)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def helpers():
    """Functions the tests share (conftest functions are not importable under --import-mode=importlib)."""
    import types

    return types.SimpleNamespace(auth=auth, populate=populate, small_region=small_region,
                                 fdsn=_fdsn_fixtures)
