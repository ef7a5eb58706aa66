"""Sequence types (Chinese practice) and the foreshock traffic light (Gulia & Wiemer 2019, b-positive)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.analysis import foreshock as fs
from tianshan.analysis.catalog import SeismicCatalog
from tianshan.cli.main import main

DAY = 86400.0
T0 = datetime(2020, 3, 23, tzinfo=timezone.utc).timestamp()


def make_cat(t_days, lat, lon, mag) -> SeismicCatalog:
    n = len(t_days)
    return SeismicCatalog(
        time_s=T0 + np.asarray(t_days, float) * DAY, latitude_deg=np.asarray(lat, float),
        longitude_deg=np.asarray(lon, float), depth_km=np.full(n, 10.0), magnitude=np.asarray(mag, float),
        magnitude_type=np.array(["M"] * n, dtype=object), event_id=np.array([f"e{k}" for k in range(n)], dtype=object),
        line=np.arange(1, n + 1))


@pytest.mark.parametrize("dm, kind", [(2.9, "isolated"), (2.5, "isolated"), (2.4, "mainshock-aftershock"),
                                      (1.2, "mainshock-aftershock"), (0.6, "mainshock-aftershock"), (0.5, "swarm"),
                                      (0.0, "swarm")])
def test_delta_m_boundaries(dm, kind):
    """CENC: dM > 2.4 isolated; 0.6 <= dM <= 2.4 mainshock-aftershock; dM < 0.6 swarm."""
    assert fs.type_from_delta_m(dm) == kind


def test_cenc_baicheng_2020_isolated_example():
    """CENC summary of the 2020-03-23 Baicheng M5.0 sequence: two aftershocks ML >= 1.0, dM 2.9, the
    mainshock released 99.99 % of the energy -> isolated (孤立型)."""
    cat = make_cat([0, 3, 20], [41.75, 41.77, 41.70], [81.11, 81.10, 81.15], [5.0, 2.1, 1.4])
    res = fs.classify_sequence(cat, 0, completeness=1.0)
    assert res.sequence_type == "isolated" and res.sequence_type_zh == "孤立型"
    assert res.delta_m == pytest.approx(2.9) and not res.delta_m_lower_bound
    assert res.energy_fraction >= 0.9999 and res.n_aftershocks == 2


def test_mainshock_aftershock_swarm_and_undetermined():
    lat, lon = [40.0] * 5, [80.0, 80.05, 79.95, 80.1, 80.0]
    ma = fs.classify_sequence(make_cat([0, 1, 2, 10, 30], lat, lon, [6.0, 4.8, 4.0, 3.5, 3.2]), 0, completeness=3.0)
    assert ma.sequence_type == "mainshock-aftershock" and ma.delta_m == pytest.approx(1.2)
    assert 0.8 < ma.energy_fraction < 0.999
    sw = fs.classify_sequence(make_cat([0, 1, 2, 10, 30], lat, lon, [5.0, 4.8, 4.6, 4.9, 4.7]), 0, completeness=3.0)
    assert sw.sequence_type == "swarm" and sw.energy_fraction < 0.6
    lone = make_cat([0, 400], [40.0, 40.0], [80.0, 80.0], [5.0, 4.5])  # 400 days: outside T(5) = 144 days
    und = fs.classify_sequence(lone, 0, completeness=4.2)
    assert und.sequence_type == "undetermined" and und.delta_m_lower_bound and und.delta_m == pytest.approx(0.8)
    assert "cannot be told apart" in und.note
    iso = fs.classify_sequence(lone, 0, completeness=2.5)
    assert iso.sequence_type == "isolated" and iso.delta_m_lower_bound


def test_classify_all_groups_sequences_and_flags_foreshocks():
    # M5.2 foreshock, M5.5 mainshock two days later, an M4.0 aftershock; a far-away M5.1 alone.
    cat = make_cat([0, 2, 5, 50], [40.0, 40.05, 40.02, 30.0], [80.0, 80.0, 80.03, 90.0], [5.2, 5.5, 4.0, 5.1])
    res = fs.classify_all(cat, 5.0, completeness=3.0)
    assert [r.event_id for r in res] == ["e1", "e3"]
    main_seq = res[0]
    assert main_seq.largest_foreshock == 5.2 and main_seq.n_foreshocks == 1
    assert main_seq.sequence_type == "mainshock-aftershock" and main_seq.delta_m == pytest.approx(1.5)
    assert "foreshock" in fs.classify_sequence(cat, 0, completeness=3.0).note


def light_catalog(b_after: float, seed: int = 0, n_ref: int = 400, n_after: int = 400) -> tuple[SeismicCatalog, int]:
    """Reference seismicity (b = 1) over 5 years before an M6.5, aftershocks with ``b_after`` over
    120 days; all within 15 km; magnitudes binned to 0.1 from Mc 2.0."""
    rng = np.random.default_rng(seed)

    def mags(n, b):
        return np.floor((1.95 + rng.exponential(1 / (b * math.log(10)), n)) / 0.1 + 0.5) * 0.1

    t = np.concatenate([rng.uniform(-5 * 365.25, -31, n_ref), [0.0], 3.5 + rng.exponential(20.0, n_after).clip(0, 116)])
    m = np.concatenate([mags(n_ref, 1.0), [6.5], mags(n_after, b_after)])
    ang, r = rng.uniform(0, 2 * math.pi, t.size), rng.uniform(0, 15, t.size)
    lat = 40.0 + r * np.sin(ang) / 111.2
    lon = 80.0 + r * np.cos(ang) / (111.2 * math.cos(math.radians(40.0)))
    order = np.argsort(t)
    return make_cat(t[order], lat[order], lon[order], m[order]), int(np.flatnonzero(order == n_ref)[0])


@pytest.mark.parametrize("b_after, status", [(1.35, "green"), (0.72, "red"), (1.0, "yellow")])
@pytest.mark.parametrize("method", ["classic", "positive"])
def test_traffic_light_colours(b_after, status, method):
    cat, main_idx = light_catalog(b_after, seed=7)
    tl = fs.traffic_light(cat, main_idx, mc=2.0, method=method, radius_km=20.0, days_after=200.0)
    assert tl.status == status, (tl.delta_b_pct, tl.b_ref, tl.b_after)
    assert tl.delta_b_pct == pytest.approx(100 * (tl.b_after.b - tl.b_ref.b) / tl.b_ref.b)
    assert tl.params["blind_days"] == (3.0 if method == "classic" else 0.0)
    assert tl.series and all(s[4] in ("green", "yellow", "red") for s in tl.series)


def test_traffic_light_undetermined_with_few_events():
    cat, main_idx = light_catalog(1.3, n_ref=30)
    tl = fs.traffic_light(cat, main_idx, mc=2.0, radius_km=20.0)
    assert tl.status == "undetermined" and "reference events" in tl.note


def test_cli_sequence_json(tmp_path, capsys):
    cat, _ = light_catalog(1.35, seed=3)
    rows = ["time,latitude,longitude,depth,mag"]
    for t, la, lo, m in zip(cat.time_s, cat.latitude_deg, cat.longitude_deg, cat.magnitude):
        ts = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=float(t))
        rows.append(f"{ts.isoformat()},{la:.4f},{lo:.4f},10,{m:.1f}")
    p = tmp_path / "seq.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rc = main(["seismicity", "sequence", "--catalog", str(p), "--main-magnitude", "6", "--completeness", "2.0",
               "--radius-km", "20", "--days-after", "200", "--traffic-light", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    doc = json.loads(out.out)
    assert doc["counts"]["mainshock-aftershock"] == 1 and len(doc["sequences"]) == 1
    seq = doc["sequences"][0]
    assert seq["magnitude"] == 6.5 and seq["sequence_type_zh"] == "主震-余震型"
    assert seq["traffic_light"]["classic"]["status"] == "green"
    assert seq["traffic_light"]["positive"]["status"] == "green"
