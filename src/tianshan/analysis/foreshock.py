"""Foreshock traffic light and sequence type (前震识别, 序列类型判定) of large events.

Sequence selection
    The sequence of a mainshock (time ``t0``, magnitude ``M0``) holds the catalog events within
    ``radius_km`` of its epicentre from ``days_before`` before to ``days_after`` after it. By
    default the radius and the time after are the Gardner & Knopoff (1974) windows ``L(M0)``,
    ``T(M0)`` (:func:`tianshan.analysis.decluster.window`; e.g. M5: 40 km, 144 days; M6: 54 km,
    510 days) and ``days_before`` is 30.

Sequence type (:func:`classify_sequence`), the criteria of Chinese practice
    The magnitude difference ``dM = M0 - M1`` between the mainshock and the largest aftershock
    classifies a sequence (蒋海昆, 李永莉, 曲延军, 侯海峰, 代磊 2006, 中国大陆中强地震序列类型的
    空间分布特征, 地震学报 28(4) 389-398; with the boundaries as the China Earthquake Networks
    Center states them, e.g. for the 2022 Menyuan M6.9 sequence: "震级差大于2.4级为孤立型,
    震级差大于等于0.6级、小于等于2.4级为主余型, 震级差小于0.6级为震群型"):

    * ``dM > 2.4``: isolated (孤立型);
    * ``0.6 <= dM <= 2.4``: mainshock-aftershock (主震-余震型, 主余型);
    * ``dM < 0.6``: swarm / multiple-shock (震群型, 多震型).

    The share of the mainshock in the seismic energy of the sequence is reported beside it, with
    ``log10 E = 1.5 M + 4.8`` (E in J; Gutenberg & Richter 1956, Ann. Geofis. 9, 1-15); CENC
    reports it with the type (e.g. "主震释放能量占序列的比例为99.99%, 是一次孤立型事件").
    A catalog complete only above ``completeness`` cannot show aftershocks below it: when no
    aftershock is found and ``M0 - completeness <= 2.4``, dM is only known to exceed
    ``M0 - completeness`` and the type is ``"undetermined"`` (isolated and mainshock-aftershock
    cannot be told apart); the result says so. Events with foreshocks keep their type and list
    the largest foreshock (the 前震-主震-余震型 subtype of practice).

Foreshock traffic light (:func:`traffic_light`; Gulia & Wiemer 2019, Nature 574, 193-199)
    The b-value of the events after the mainshock is compared with the reference b-value of the
    same volume before the sequence: ``db = 100 (b_after - b_ref) / b_ref`` percent. ``db <= -10``
    red (the b-value dropped: the event may be a foreshock of a larger one), ``db >= +10`` green
    (a normal aftershock sequence), otherwise yellow. The classic variant leaves out the first
    ``blind_days`` (3) after the mainshock (short-term aftershock incompleteness) and uses the
    Tinti-Mulargia MLE above ``mc``; the b-positive variant (Gulia, Wiemer, Biondini, Enescu &
    Vannucci 2024, SRL 95(6) 3579-3592) uses b-positive (van der Elst 2021) for both values and
    needs no blind time. Too few events (``min_events``) give ``"undetermined"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tianshan.analysis.catalog import SeismicCatalog
from tianshan.analysis.decluster import window as gk_window
from tianshan.analysis.stats import BValue, b_positive, b_value, haversine_km
from tianshan.core.errors import InputError

DAY_S = 86400.0
#: Magnitude-difference boundaries of the sequence types (see module docstring).
ISOLATED_DM = 2.4
SWARM_DM = 0.6
SEQUENCE_TYPES = ("isolated", "mainshock-aftershock", "swarm", "undetermined")
#: Chinese names of the types.
SEQUENCE_TYPES_ZH = {"isolated": "孤立型", "mainshock-aftershock": "主震-余震型", "swarm": "震群型(多震型)",
                     "undetermined": "待定"}
#: Traffic-light threshold on the relative b-value change, percent (Gulia & Wiemer 2019).
TRAFFIC_LIGHT_PCT = 10.0


def energy_j(magnitude) -> np.ndarray:
    """Radiated energy (J) of magnitude ``M``: ``10^(1.5 M + 4.8)`` (Gutenberg & Richter 1956)."""
    return 10.0 ** (1.5 * np.asarray(magnitude, float) + 4.8)


def sequence_members(cat: SeismicCatalog, index: int, *, radius_km: float | None = None,
                     days_after: float | None = None, days_before: float = 30.0) -> tuple[np.ndarray, dict]:
    """Row indices of the sequence of event ``index`` (module docstring) and the windows used."""
    m0 = float(cat.magnitude[index])
    dist, days = gk_window(np.array([m0]))
    radius = float(dist[0]) if radius_km is None else float(radius_km)
    after = float(days[0]) if days_after is None else float(days_after)
    t0 = cat.time_s[index]
    dt = (cat.time_s - t0) / DAY_S
    inwin = (dt >= -days_before) & (dt <= after)
    near = np.zeros(len(cat), bool)
    idx = np.flatnonzero(inwin)
    near[idx] = haversine_km(cat.longitude_deg[index], cat.latitude_deg[index], cat.longitude_deg[idx],
                             cat.latitude_deg[idx]) <= radius
    return np.flatnonzero(near), {"radius_km": radius, "days_after": after, "days_before": float(days_before)}


@dataclass(frozen=True)
class SequenceType:
    """Type of the sequence of one mainshock (module docstring)."""

    event_id: str
    time_s: float
    magnitude: float
    latitude_deg: float
    longitude_deg: float
    sequence_type: str
    delta_m: float | None
    delta_m_lower_bound: bool
    largest_aftershock: float | None
    largest_foreshock: float | None
    n_aftershocks: int
    n_foreshocks: int
    energy_fraction: float
    windows: dict
    note: str = ""
    members: tuple[str, ...] = field(default=(), repr=False)

    @property
    def sequence_type_zh(self) -> str:
        return SEQUENCE_TYPES_ZH[self.sequence_type]

    def as_dict(self) -> dict:
        from tianshan.analysis.catalog import posix_to_datetime

        return {"event_id": self.event_id, "time": posix_to_datetime(self.time_s).isoformat(),
                "magnitude": self.magnitude, "latitude_deg": self.latitude_deg, "longitude_deg": self.longitude_deg,
                "sequence_type": self.sequence_type, "sequence_type_zh": self.sequence_type_zh,
                "delta_m": self.delta_m, "delta_m_lower_bound": self.delta_m_lower_bound,
                "largest_aftershock": self.largest_aftershock, "largest_foreshock": self.largest_foreshock,
                "n_aftershocks": self.n_aftershocks, "n_foreshocks": self.n_foreshocks,
                "energy_fraction": self.energy_fraction, "windows": self.windows, "note": self.note}


def type_from_delta_m(delta_m: float) -> str:
    """Sequence type of a magnitude difference mainshock - largest aftershock (module docstring)."""
    if delta_m > ISOLATED_DM + 1e-9:
        return "isolated"
    if delta_m >= SWARM_DM - 1e-9:
        return "mainshock-aftershock"
    return "swarm"


def classify_sequence(cat: SeismicCatalog, index: int, *, completeness: float | None = None,
                      radius_km: float | None = None, days_after: float | None = None,
                      days_before: float = 30.0) -> SequenceType:
    """Sequence type of event ``index`` taken as the mainshock (module docstring).

    ``completeness`` defaults to the smallest magnitude of the catalog. If a larger event lies
    in the sequence window, the note says so (the event is then not the mainshock; use
    :func:`classify_all`).
    """
    members, windows = sequence_members(cat, index, radius_km=radius_km, days_after=days_after,
                                        days_before=days_before)
    mc = float(np.min(cat.magnitude)) if completeness is None else float(completeness)
    m0, t0 = float(cat.magnitude[index]), float(cat.time_s[index])
    others = members[members != index]
    after = others[cat.time_s[others] >= t0]
    before = others[cat.time_s[others] < t0]
    after = after[cat.magnitude[after] >= mc - 1e-9]
    before = before[cat.magnitude[before] >= mc - 1e-9]
    m_after = float(cat.magnitude[after].max()) if after.size else None
    m_before = float(cat.magnitude[before].max()) if before.size else None
    seq = np.concatenate([[index], before, after]).astype(np.int64)
    energy = energy_j(cat.magnitude[seq])
    frac = float(energy[0] / energy.sum())
    note = ""
    if m_after is not None and m_after > m0:
        note = f"a larger event (M{m_after:g}) follows within the window: this event is a foreshock"
    if m_after is None:
        dm, lower = m0 - mc, True
        kind = "isolated" if dm > ISOLATED_DM + 1e-9 else "undetermined"
        if kind == "undetermined":
            note = (f"no aftershock >= M{mc:g} (the completeness): dM > {dm:.1f} only; isolated and "
                    f"mainshock-aftershock cannot be told apart")
    else:
        dm, lower = m0 - m_after, False
        kind = type_from_delta_m(dm)
    return SequenceType(
        event_id=str(cat.event_id[index]), time_s=t0, magnitude=m0, latitude_deg=float(cat.latitude_deg[index]),
        longitude_deg=float(cat.longitude_deg[index]), sequence_type=kind, delta_m=round(dm, 6),
        delta_m_lower_bound=lower,
        largest_aftershock=m_after, largest_foreshock=m_before, n_aftershocks=int(after.size),
        n_foreshocks=int(before.size), energy_fraction=frac, windows=windows, note=note,
        members=tuple(str(cat.event_id[i]) for i in seq))


def classify_all(cat: SeismicCatalog, min_magnitude: float = 5.0, *, completeness: float | None = None,
                 radius_km: float | None = None, days_after: float | None = None,
                 days_before: float = 30.0) -> list[SequenceType]:
    """Sequence type of every event ``>= min_magnitude`` that is the largest of its own sequence.

    Events are taken in decreasing magnitude (earlier first on ties); an event already inside the
    sequence of a larger (or equal, earlier) event is part of that sequence and is not classified
    on its own. Results are in time order.
    """
    big = np.flatnonzero(cat.magnitude >= min_magnitude - 1e-9)
    if big.size == 0:
        raise InputError(f"no event with M >= {min_magnitude:g} to classify", source=cat.source or None)
    order = big[np.lexsort((cat.time_s[big], -cat.magnitude[big]))]
    taken: set[str] = set()
    out: list[SequenceType] = []
    for i in order:
        eid = str(cat.event_id[i])
        if eid in taken:
            continue
        res = classify_sequence(cat, int(i), completeness=completeness, radius_km=radius_km, days_after=days_after,
                                days_before=days_before)
        taken.update(res.members)
        out.append(res)
    return sorted(out, key=lambda r: r.time_s)


# ------------------------------------------------------------------------------------- traffic light

@dataclass(frozen=True)
class TrafficLight:
    """Foreshock traffic light of one mainshock: ``status`` green / yellow / red / undetermined,
    the reference and post-mainshock b-values, their relative change ``delta_b_pct``, and the
    ``series`` of the light in post-mainshock windows ``(time_s, b, std, delta_b_pct, status)``."""

    status: str
    method: str
    b_ref: BValue | None
    b_after: BValue | None
    delta_b_pct: float | None
    series: tuple[tuple[float, float, float, float, str], ...]
    params: dict
    note: str = ""

    def as_dict(self) -> dict:
        return {"status": self.status, "method": self.method,
                "b_ref": None if self.b_ref is None else self.b_ref.as_dict(),
                "b_after": None if self.b_after is None else self.b_after.as_dict(),
                "delta_b_pct": self.delta_b_pct, "params": self.params, "note": self.note,
                "series": [{"time_s": t, "b": b, "std": s, "delta_b_pct": d, "status": st}
                           for t, b, s, d, st in self.series]}


def light(delta_b_pct: float, threshold_pct: float = TRAFFIC_LIGHT_PCT) -> str:
    """Colour of a relative b-value change (Gulia & Wiemer 2019)."""
    if delta_b_pct <= -threshold_pct:
        return "red"
    if delta_b_pct >= threshold_pct:
        return "green"
    return "yellow"


def traffic_light(cat: SeismicCatalog, index: int, *, mc: float, delta_m: float = 0.1, method: str = "classic",
                  radius_km: float | None = None, reference_years: float | None = None,
                  blind_days: float | None = None, days_after: float | None = None, window: int = 50,
                  min_events: int = 50, threshold_pct: float = TRAFFIC_LIGHT_PCT) -> TrafficLight:
    """Foreshock traffic light of event ``index`` (module docstring).

    ``method`` ``"classic"`` or ``"positive"``; ``radius_km``/``days_after`` default to the
    Gardner-Knopoff windows; ``reference_years`` limits the reference period (default: all events
    before the mainshock, less ``days_before`` 30 days so that foreshocks are not reference);
    ``blind_days`` defaults to 3 (classic) or 0 (positive); ``window`` events per series point;
    the status is that of all events after the blind time when there are ``min_events``.
    """
    if method not in ("classic", "positive"):
        raise InputError(f"method must be classic or positive, not {method!r}", field="method")
    blind = (3.0 if method == "classic" else 0.0) if blind_days is None else float(blind_days)
    m0, t0 = float(cat.magnitude[index]), float(cat.time_s[index])
    dist, days = (float(v[0]) for v in gk_window(np.array([m0])))
    radius = dist if radius_km is None else float(radius_km)
    after_days = days if days_after is None else float(days_after)
    d = haversine_km(cat.longitude_deg[index], cat.latitude_deg[index], cat.longitude_deg, cat.latitude_deg)
    near = (d <= radius) & (cat.magnitude >= mc - delta_m / 2 - 1e-9)
    dt = (cat.time_s - t0) / DAY_S
    ref = near & (dt < -30.0)
    if reference_years is not None:
        ref &= dt >= -365.25 * float(reference_years)
    post = near & (dt > blind) & (dt <= after_days)
    post[index] = False
    params = {"mc": mc, "delta_m": delta_m, "radius_km": radius, "blind_days": blind, "days_after": after_days,
              "reference_years": reference_years, "window": window, "min_events": min_events,
              "threshold_pct": threshold_pct}

    def estimate(sel: np.ndarray) -> BValue:
        order = np.argsort(cat.time_s[sel], kind="stable")
        mags = cat.magnitude[sel][order]
        if method == "positive":
            return b_positive(mags, None, mc, delta_m)
        return b_value(mags, mc, delta_m)

    ref_idx, post_idx = np.flatnonzero(ref), np.flatnonzero(post)
    name = f"gulia-wiemer-{method}"
    if ref_idx.size < min_events:
        return TrafficLight("undetermined", name, None, None, None, (), params,
                            f"{ref_idx.size} reference events, need {min_events}")
    try:
        b_ref = estimate(ref_idx)
    except InputError as err:
        return TrafficLight("undetermined", name, None, None, None, (), params, f"reference b-value: {err}")
    post_idx = post_idx[np.argsort(cat.time_s[post_idx], kind="stable")]
    series = []
    for end in range(window, post_idx.size + 1, max(1, window // 5)):
        try:
            bw = estimate(post_idx[end - window:end])
        except InputError:
            continue
        db = 100.0 * (bw.b - b_ref.b) / b_ref.b
        series.append((float(cat.time_s[post_idx[end - 1]]), bw.b, bw.std, db, light(db, threshold_pct)))
    if post_idx.size < min_events:
        return TrafficLight("undetermined", name, b_ref, None, None, tuple(series), params,
                            f"{post_idx.size} events after the mainshock, need {min_events}")
    try:
        b_after = estimate(post_idx)
    except InputError as err:
        return TrafficLight("undetermined", name, b_ref, None, None, tuple(series), params, f"b after: {err}")
    db = 100.0 * (b_after.b - b_ref.b) / b_ref.b
    return TrafficLight(light(db, threshold_pct), name, b_ref, b_after, db, tuple(series), params)
