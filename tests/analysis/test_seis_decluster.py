"""Declustering: Gardner-Knopoff windows (and variants), Reasenberg, Zaliapin-Ben-Zion nearest neighbour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.analysis import decluster as dc
from tianshan.analysis.catalog import SeismicCatalog

DAY = 86400.0

#: Gardner & Knopoff (1974), table 1: magnitude, distance window (km), time window (days).
GK_TABLE = [(2.5, 19.5, 6), (3.0, 22.5, 11.5), (3.5, 26, 22), (4.0, 30, 42), (4.5, 35, 83), (5.0, 40, 155),
            (5.5, 47, 290), (6.0, 54, 510), (6.5, 61, 790), (7.0, 70, 915), (7.5, 81, 960), (8.0, 94, 985)]


def make_cat(t_days, lat, lon, mag, depth=None) -> SeismicCatalog:
    n = len(t_days)
    return SeismicCatalog(
        time_s=np.asarray(t_days, float) * DAY, latitude_deg=np.asarray(lat, float),
        longitude_deg=np.asarray(lon, float), depth_km=np.full(n, 10.0) if depth is None else np.asarray(depth, float),
        magnitude=np.asarray(mag, float), magnitude_type=np.array(["M"] * n, dtype=object),
        event_id=np.array([f"e{k}" for k in range(n)], dtype=object), line=np.arange(1, n + 1))


def test_gk_windows_reproduce_the_published_table():
    """The window fit (van Stiphout et al. 2012) is within 2 % (distance) and 12.5 % (time; 12.0 % at the
    M6.5 break) of GK74 table 1."""
    m = np.array([r[0] for r in GK_TABLE])
    dist, days = dc.window(m)
    assert np.all(np.abs(dist / [r[1] for r in GK_TABLE] - 1) < 0.02)
    assert np.all(np.abs(days / [r[2] for r in GK_TABLE] - 1) < 0.125)
    gd, gt = dc.window(np.array([5.0]), "gruenthal")
    assert gd[0] == pytest.approx(math.exp(1.77 + math.sqrt(0.037 + 5.1)))
    assert gt[0] == pytest.approx(math.exp(-3.95 + math.sqrt(0.62 + 86.6)))
    ud, ut = dc.window(np.array([5.0]), "uhrhammer")
    assert (ud[0], ut[0]) == pytest.approx((math.exp(-1.024 + 4.02), math.exp(-2.87 + 6.175)))


def test_gardner_knopoff_on_a_hand_made_sequence():
    # M6 at day 100 (window 54 km, 510 days); aftershocks inside, one too far, one too late;
    # a foreshock 5 days before; an unrelated distant M4.5 pair.
    t = [95, 100, 101, 150, 300, 100.5, 700, 400, 400.5]
    lat = [40.0, 40.0, 40.2, 39.8, 40.3, 41.0, 40.0, 30.0, 30.01]
    lon = [80.0, 80.0, 80.1, 80.0, 79.9, 80.0, 80.0, 90.0, 90.0]
    mag = [4.0, 6.0, 4.5, 4.2, 3.9, 4.1, 4.0, 4.5, 3.0]
    cat = make_cat(t, lat, lon, mag)
    res = dc.gardner_knopoff(cat)
    main = res.cluster_id[1]
    assert main > 0 and res.mainshock[1]
    assert all(res.cluster_id[k] == main for k in (0, 2, 3, 4))  # foreshock and aftershocks
    assert res.cluster_id[5] == 0 and res.cluster_id[6] == 0  # 111 km away; 600 days later
    assert res.cluster_id[7] == res.cluster_id[8] > 0 and res.mainshock[7]
    assert res.n_background == 4 and res.n_clusters == 2 and list(np.flatnonzero(res.background)) == [1, 5, 6, 7]
    aft = dc.gardner_knopoff(cat, fs_time_prop=0.0)
    assert aft.cluster_id[0] == 0 and aft.cluster_id[2] > 0


def test_reasenberg_look_ahead_time_and_radius_by_hand():
    # Reasenberg 1985 look-ahead time: dM = (1 - 0.5) 5 - 1.5 = 1 -> tau = -ln(0.05) t
    assert dc.look_ahead_days(2.0, 5.0, tau_max=100.0) == pytest.approx(-math.log(0.05) * 2.0)
    # dM = 0.5 * 7 - 1.5 = 2 -> divided by 10^(2/3)
    assert dc.look_ahead_days(3.0, 7.0, tau_max=100.0) == pytest.approx(-math.log(0.05) * 3.0 / 10 ** (2 / 3))
    assert dc.look_ahead_days(0.01, 5.0) == 1.0 and dc.look_ahead_days(50.0, 5.0) == 10.0
    assert dc.interaction_radius_km(5.0) == pytest.approx(0.011 * 100.0)


def test_reasenberg_links_chain_of_close_events():
    # M5 then a chain of small events 0.5 day apart within a few km; a later isolated event 20 days on.
    t = [0.0, 0.5, 1.2, 2.0, 2.6, 25.0, 0.3]
    lat = [40.0, 40.01, 40.0, 40.02, 40.0, 40.0, 42.0]
    lon = [80.0, 80.0, 80.02, 80.0, 80.01, 80.0, 80.0]
    mag = [5.0, 3.0, 3.2, 2.8, 3.1, 3.0, 3.5]
    res = dc.reasenberg(make_cat(t, lat, lon, mag), xmeff=2.5)
    cid = res.cluster_id
    assert cid[0] > 0 and all(cid[k] == cid[0] for k in (1, 2, 3, 4))
    assert cid[5] == 0 and cid[6] == 0  # beyond tau_max; 222 km away
    assert res.mainshock[0] and res.n_background == 3


def test_nearest_neighbour_proximity_by_hand():
    t = [0.0, 365.25, 2 * 365.25]
    cat = make_cat(t, [40.0, 40.0, 40.0], [80.0, 80.1, 80.2], [5.0, 3.0, 4.0])
    nn = dc.nearest_neighbours(cat)
    r = dc.haversine_km(80.0, 40.0, 80.1, 40.0)
    # event 1: only parent is event 0: eta = 1 yr * r^1.6 * 10^-5
    assert nn.parent[1] == 0 and nn.log10_eta[1] == pytest.approx(1.6 * math.log10(r) - 5.0)
    assert nn.log10_T[1] + nn.log10_R[1] == pytest.approx(nn.log10_eta[1])
    # event 2: parent 0 (2 yr, 2r, M5) vs parent 1 (1 yr, r, M3): log eta = log2 + 1.6 log(2r) - 5 wins
    r02 = dc.haversine_km(80.0, 40.0, 80.2, 40.0)
    assert nn.parent[2] == 0 and nn.log10_eta[2] == pytest.approx(math.log10(2) + 1.6 * math.log10(r02) - 5.0)


def clustered_catalog(seed: int = 4):
    """Poisson background (b = 1) in a 4 x 4 degree box over 20 years, plus clusters of aftershocks
    within ~5 km and Omori-like times after 30 background events."""
    rng = np.random.default_rng(seed)
    n_bg = 600
    t = rng.uniform(0, 20 * 365.25, n_bg)
    lat, lon = rng.uniform(38, 42, n_bg), rng.uniform(78, 82, n_bg)
    mag = 3.0 + np.round(rng.exponential(1 / math.log(10), n_bg), 1)
    parents = rng.choice(n_bg, 30, replace=False)
    mag[parents] = rng.uniform(5.5, 6.5, 30).round(1)
    ct, clat, clon, cmag = [], [], [], []
    for p in parents:
        k = 15
        ct.append(t[p] + 0.01 * ((1 - rng.uniform(size=k)) ** (-1 / 0.2) - 1).clip(0, 2000))
        ang, r = rng.uniform(0, 2 * math.pi, k), rng.uniform(0, 5, k)
        clat.append(lat[p] + r * np.sin(ang) / 111.2)
        clon.append(lon[p] + r * np.cos(ang) / (111.2 * math.cos(math.radians(lat[p]))))
        cmag.append(np.minimum(3.0 + np.round(rng.exponential(1 / math.log(10), k), 1), mag[p] - 0.1))
    T = np.concatenate([t, *ct])
    return make_cat(T, np.concatenate([lat, *clat]), np.concatenate([lon, *clon]), np.concatenate([mag, *cmag])), n_bg


def test_all_methods_find_the_background_of_a_synthetic_catalog():
    """Every method removes the aftershocks; the window methods also remove background events in their
    (large) windows, the more the larger the window (Gruenthal > Gardner-Knopoff > Uhrhammer)."""
    cat, n_bg = clustered_catalog()
    assert len(cat) == n_bg + 30 * 15
    kept_min = {"gardner-knopoff": 0.7, "gruenthal": 0.55, "uhrhammer": 0.9, "reasenberg": 0.95, "zaliapin": 0.9}
    results = {}
    for method, kept in kept_min.items():
        res = dc.decluster(cat, method, **({"xmeff": 3.0} if method == "reasenberg" else {}))
        results[method] = res
        assert res.background[:n_bg].mean() >= kept, method  # true background kept
        assert res.background[n_bg:].mean() <= 0.15, method  # aftershocks removed
    assert (results["gruenthal"].n_background < results["gardner-knopoff"].n_background
            < results["uhrhammer"].n_background)
    assert abs(results["zaliapin"].n_background - n_bg) < 0.05 * n_bg
    zb = results["zaliapin"]
    assert -6.5 < zb.params["threshold_log10_eta"] < -3.0 and zb.params["threshold_method"] == "gmm"
    assert dc.zaliapin_ben_zion(cat, threshold=-5.0).params["threshold_method"] == "given"


def test_xinjiang_declustered_counts(shared_data):
    """Xinjiang box since 1970, M >= 4.2 (MAXC Mc): background counts of the closing note."""
    from tianshan.analysis.catalog import XINJIANG_BOX, read_catalog, select

    cat = select(read_catalog(shared_data / "catalogs" / "china_mw_1900_2016.csv"), bbox=XINJIANG_BOX,
                 start="1970-01-01", min_magnitude=4.2)
    counts = {m: dc.decluster(cat, m).n_background for m in dc.METHODS}
    assert len(cat) == 4918
    assert counts == {"gardner-knopoff": 2446, "gruenthal": 1992, "uhrhammer": 3112, "reasenberg": 4086,
                      "zaliapin": 2723}
