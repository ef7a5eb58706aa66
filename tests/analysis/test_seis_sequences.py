"""Sequence status of every large event (analysis.sequences): catalogue, event store products, CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.analysis import foreshock as fs
from tianshan.analysis import sequences as sq
from tianshan.analysis.catalog import SeismicCatalog
from tianshan.cli.main import main

DAY = 86400.0
T0 = datetime(2015, 1, 1, tzinfo=timezone.utc)


def gr(rng, n: int, b: float, mc: float = 2.0) -> np.ndarray:
    """Gutenberg-Richter magnitudes binned to 0.1 from ``mc``."""
    return np.round(mc - 0.05 - np.log10(rng.uniform(size=n)) / b, 1)


def synthetic():
    """Rows (t_days, lat, lon, mag):

    * A: 200 reference events M>=2 (b = 1) around (41, 82) over 3 years, then an M6.0 on day 1200 with 150
      aftershocks M>=2 of b = 0.7 (a b-value drop) whose largest is forced to M4.8 (dM 1.2), and an M5.2
      aftershock on day 1201;
    * B: a swarm at (38, 76): M5.3 on day 900 and M5.0 six hours later (dM 0.3), nothing else;
    * C: an isolated M5.5 at (45, 90) on day 600, no event within 200 km.
    """
    rng = np.random.default_rng(5)
    rows = []
    for t, m in zip(rng.uniform(0, 1100, 200), gr(rng, 200, 1.0)):
        rows.append((t, 41.0 + rng.uniform(-0.2, 0.2), 82.0 + rng.uniform(-0.2, 0.2), min(m, 4.5)))
    rows.append((1200.0, 41.0, 82.0, 6.0))
    after = np.minimum(gr(rng, 150, 0.7), 4.7)
    after[0] = 4.8
    for t, m in zip(1200.0 + 0.01 + rng.exponential(20.0, 150), after):
        rows.append((t, 41.0 + rng.uniform(-0.2, 0.2), 82.0 + rng.uniform(-0.2, 0.2), m))
    rows.append((1201.0, 41.05, 82.05, 5.2))
    rows += [(900.0, 38.0, 76.0, 5.3), (900.25, 38.02, 76.01, 5.0), (600.0, 45.0, 90.0, 5.5)]
    t, lat, lon, mag = (np.array(v) for v in zip(*rows))
    return t, lat, lon, mag


def as_catalog(t, lat, lon, mag) -> SeismicCatalog:
    n = t.size
    return SeismicCatalog(
        time_s=T0.timestamp() + t * DAY, latitude_deg=lat, longitude_deg=lon, depth_km=np.full(n, 10.0),
        magnitude=mag, magnitude_type=np.array(["ML"] * n, dtype=object),
        event_id=np.array([f"ev{k:04d}" for k in range(n)], dtype=object), line=np.zeros(n, np.int64))


@pytest.fixture(scope="module")
def cat():
    return as_catalog(*synthetic())


def test_status_of_every_large_event(cat):
    res = sq.sequence_status(cat, 5.0, mc=2.0)
    by_mag = {round(r.magnitude, 1): r for r in res}
    assert sorted(by_mag) == [5.0, 5.2, 5.3, 5.5, 6.0]
    main_a, after_a = by_mag[6.0], by_mag[5.2]
    assert main_a.role == "mainshock" and main_a.sequence.sequence_type == "mainshock-aftershock"
    assert main_a.sequence.delta_m == pytest.approx(0.8)  # the M5.2 aftershock is the largest one
    assert after_a.role == "aftershock" and after_a.mainshock_id == main_a.event_id
    assert after_a.sequence is main_a.sequence and after_a.lights is main_a.lights
    swarm = by_mag[5.3]
    assert swarm.role == "mainshock" and swarm.sequence.sequence_type == "swarm"
    assert by_mag[5.0].role == "aftershock" and by_mag[5.0].mainshock_id == swarm.event_id
    iso = by_mag[5.5]
    assert iso.sequence.sequence_type == "isolated" and iso.sequence.delta_m_lower_bound  # dM > 5.5 - 2.0
    # Times are in order; the lights are the foreshock module's, both variants.
    assert [r.time_s for r in res] == sorted(r.time_s for r in res)
    sorted_cat = cat.sorted()
    i = int(np.flatnonzero(sorted_cat.event_id == main_a.event_id)[0])
    for method in ("classic", "positive"):
        ref = fs.traffic_light(sorted_cat, i, mc=2.0, method=method)
        assert main_a.lights[method].status == ref.status
        assert main_a.lights[method].delta_b_pct == pytest.approx(ref.delta_b_pct)
    # b dropped from 1.0 to 0.7: red by the classic estimator.
    assert main_a.lights["classic"].status == "red"
    assert main_a.lights["classic"].delta_b_pct < -10
    d = main_a.as_dict()
    assert d["role_zh"] == "主震" and d["traffic_light"]["classic"]["status_zh"] == "红灯"
    assert json.loads(sq.document_bytes(main_a))["sequence_type_zh"] == "主震-余震型"


def test_default_mc_and_empty(cat):
    assert sq.catalogue_mc(cat) == pytest.approx(2.2)  # MAXC 2.0 + 0.2
    assert sq.sequence_status(cat, 7.0) == []
    few = cat.subset(np.arange(10))
    assert sq.catalogue_mc(few) == float(np.min(few.magnitude))


def _events(t, lat, lon, mag):
    from tianshan.core import Event, Magnitude, Origin

    out = []
    for k in range(t.size):
        time = T0 + timedelta(days=float(t[k]))
        ev = Event(id=f"ev{k:04d}", created_at=time).with_origin(Origin(time, float(lat[k]), float(lon[k]), 10_000.0))
        out.append(ev.with_magnitude(Magnitude("ML", float(mag[k]))))
    return out


def test_store_products_versions(tmp_path):
    from tianshan.store import EventStore

    t, lat, lon, mag = synthetic()
    late = t > 1250.0  # aftershocks after day 1250 arrive later
    url = f"sqlite:///{tmp_path / 'tianshan.sqlite'}"
    out = tmp_path / "products"
    events = _events(t, lat, lon, mag)
    with EventStore.open(url) as store:
        for ev in (e for e, k in zip(events, late) if not k):
            store.save_event(ev)
        cat, first = sq.store_sequence_status(store, out_dir=out, mc=2.0)
        assert len(cat) == int((~late).sum())
        assert {r.action for r in first} == {"new"} and len(first) == 5
        prods = store.products(kind=sq.PRODUCT_KIND)
        assert len(prods) == 5 and {p.version for p in prods} == {1}
        main = next(r for r in first if r.status.role == "mainshock" and r.status.magnitude == 6.0)
        p = next(p for p in prods if p.event_id == main.status.event_id)
        data = main.path.read_bytes()
        assert p.sha256 == hashlib.sha256(data).hexdigest() and p.content_type == "application/json"
        assert p.properties["sequence_type"] == "mainshock-aftershock"
        assert json.loads(data)["event_id"] == main.status.event_id
        # Again, nothing new: the same documents.
        _, again = sq.store_sequence_status(store, out_dir=out, mc=2.0)
        assert {r.action for r in again} == {"unchanged"}
        assert len(store.products(kind=sq.PRODUCT_KIND)) == 5
        # New aftershocks change the big sequence (its events get version 2), not the others.
        for ev in (e for e, k in zip(events, late) if k):
            store.save_event(ev)
        _, third = sq.store_sequence_status(store, out_dir=out, mc=2.0)
        actions = {r.status.event_id: r.action for r in third}
        assert actions[main.status.event_id] == "updated"
        upd = next(r for r in third if r.status.event_id == main.status.event_id)
        assert upd.version == 2 and upd.path.name == "sequence-status.v2.json" and main.path.exists()
        assert sum(a == "unchanged" for a in actions.values()) == 3  # swarm pair + isolated event
        _, unsaved = sq.store_sequence_status(store, save=False, mc=2.0)
        assert {r.action for r in unsaved} == {"not-saved"}
    assert sq.safe_name("smi:tianshan/event/1") == "smi_tianshan_event_1"


def test_cli_sequences(tmp_path, capsys):
    from tianshan.store import EventStore

    t, lat, lon, mag = synthetic()
    with EventStore.open(data_dir=tmp_path) as store:
        for ev in _events(t, lat, lon, mag):
            store.save_event(ev)
    rc = main(["seismicity", "sequences", "--data-dir", str(tmp_path), "--mc", "2.0", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["n_events"] == t.size and len(doc["results"]) == 5
    assert {r["product"]["action"] for r in doc["results"]} == {"new"}
    assert all((tmp_path / "products" / "sequences").glob("*/sequence-status.v1.json"))
    assert len(list((tmp_path / "products" / "sequences").glob("*/sequence-status.v1.json"))) == 5
    rc = main(["seismicity", "sequences", "--data-dir", str(tmp_path), "--min-mag", "5.4", "--no-save"])
    text = capsys.readouterr().out
    assert rc == 0 and "2 event(s) of M >= 5.4" in text and "isolated (孤立型)" in text
    rc = main(["seismicity", "sequences", "--store", f"sqlite:///{tmp_path}/missing/x.sqlite", "--no-save"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("tianshan: error:")
