"""Screening of located automatic events: quality gates and phases of a larger event.

An automatic chain declares an event only when its origin is credible and its picks are
not better explained by an event already there. Two checks, in the spirit of SeisComP's
``scautoloc`` (which tests each new origin against the existing ones, treats picks that
fit a larger origin's phases as belonging to it, and publishes an origin only above
``autoloc.minPhaseCount`` / below ``autoloc.maxRMS``; SeisComP documentation,
"scautoloc", sections "Pick association" and "Quality control"):

1. **Quality gates** (:func:`quality_failures`) on the located origin:

   * ``min_p_and_s_stations`` (2): stations with both a P and an S pick. Picks on glitches
     (data steps, telemetry spikes) are P-only, all at once, and locate anywhere;
     a real local event gives P and S at its nearest stations;
   * ``max_rms_s`` (1.5 s): travel-time RMS (``autoloc.maxRMS``, whose SeisComP default
     3.5 s is meant for teleseismic use);
   * ``max_semi_major_m`` (50 km): semi-major axis of the 68 % epicentral error ellipse.
     The locator's posterior ellipse (:mod:`tianshan.events.locate`) is a few km for real
     events inside a network; a group of unrelated picks that happen to fit some
     hypocentre gives hundreds of km (measured on the simulated XJ network: real events
     0.3-6.8 km, false ones 17-440 km);
   * ``max_depth_m`` (300 km): depth sanity; the deepest earthquakes near Xinjiang are the
     Pamir-Hindu Kush intermediate-depth events (to about 300 km; Sippl et al. 2013, JGR
     118, doi:10.1002/jgrb.50128). ``None`` switches a gate off.

2. **Phases of a larger event** (:func:`explained_fraction`): every event is checked
   against the accepted events with more stations ("larger"), largest first. A pick at a
   station at epicentral distance ``Δ`` from a larger event ``A`` (origin time ``t_A``,
   depth ``z_A``) is *explained* by ``A`` when ``Δ`` is within ``A``'s reach
   (``reach_factor`` x the distance of ``A``'s farthest station) and

   ``t_A + T_P(Δ, z_A) - tol  <=  t  <=  t_A + (1 + coda_factor) * max(T_S(Δ, z_A), Δ / v_Lg) + tol``

   i.e. between ``A``'s first P (Pg or Pn) and its S, optionally extended to the end of the
   Lg train (``lg_min_velocity_m_s``, e.g. 3.0 km/s, the slow end of the 3.6-3.0 km/s Lg
   window of Baumgardt 1990, BSSA 80(6B), 2261-2281) and by ``coda_factor`` for the coda.
   ``tol = tolerance_s + tolerance_fraction * T_P`` (2 s + 3 %: the 1-D model's misfit to
   Pn at 1000+ km reaches several seconds). Travel times are first arrivals in the region's
   1-D model (:class:`tianshan.traveltime.layered.LayeredTravelTime`). Defaults: P to S only
   (Lg and coda off). Measured on the simulated XJ network (benchmarks/RESULTS.md): every
   split-off's picks lie between the larger event's P and S (late far P, P coda taken for
   S, data steps); with the Lg (3.0 km/s) and a 25 % coda window a real Mw 2.7 event 240 s
   after a Mw 4.8 one ~1000 km away was rejected as well.
   When at least ``max_explained_fraction`` (0.6) of an event's picks are explained, it is
   rejected as a split-off of ``A`` (late P at far stations, P-coda taken for S, steps in
   the data inside ``A``'s wave train).

   A genuinely separate event is kept: its picks at stations near it come before ``A``'s
   P there, or after ``A``'s wave train has passed, or lie beyond ``A``'s reach.

The screen works on located :class:`~tianshan.core.Event` objects and needs no waveforms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.event import Event
from tianshan.core.station import Station
from tianshan.core.velocity import VelocityModel

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True, slots=True)
class ScreenConfig:
    """Settings of :func:`screen_events` (see the module docstring for each rule and its source)."""

    min_p_and_s_stations: int | None = 2
    max_rms_s: float | None = 1.5
    max_semi_major_m: float | None = 50_000.0
    max_depth_m: float | None = 300_000.0
    explain: bool = True
    tolerance_s: float = 2.0
    tolerance_fraction: float = 0.03
    lg_min_velocity_m_s: float | None = None
    coda_factor: float = 0.0
    reach_factor: float = 1.5
    max_explained_fraction: float = 0.6

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or isinstance(v, bool):
                if isinstance(v, bool) and f.name != "explain":
                    raise InputError(f"must be a number, got {v!r}", field=f.name)
                continue
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"must be a finite number >= 0, got {v!r}", field=f.name)
        if self.lg_min_velocity_m_s is not None and self.lg_min_velocity_m_s <= 0:
            raise InputError("must be > 0", field="lg_min_velocity_m_s")
        if not 0 < self.max_explained_fraction <= 1:
            raise InputError("must be within (0, 1]", field="max_explained_fraction")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The screen's decision on one event: ``accepted``, or the ``reason`` it was rejected
    (``"quality:<gate>"`` or ``"explained"``), with ``explained_by`` (the larger event's id)."""

    event: Event
    accepted: bool
    reason: str = ""
    explained_by: str | None = None
    explained_fraction: float = 0.0


def _distance_m(lat1: float, lon1: float, lat2, lon2) -> np.ndarray:
    """Great-circle distance on the travel-time sphere (m), haversine formula."""
    p1, p2 = np.radians(lat1), np.radians(np.asarray(lat2, float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, float) - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def p_and_s_stations(event: Event) -> int:
    """Number of stations with both a P-family and an S-family pick."""
    phases: dict[str, set[str]] = {}
    for p in event.picks:
        fam = p.phase.strip()[:1].upper()
        if fam in ("P", "S"):
            phases.setdefault(p.stream_id.station_id, set()).add(fam)
    return sum(1 for v in phases.values() if len(v) == 2)


def quality_failures(event: Event, config: ScreenConfig) -> list[str]:
    """The quality gates ``event``'s preferred origin fails (empty: it passes)."""
    o = event.preferred_origin
    if o is None:
        return ["no_origin"]
    out = []
    if config.min_p_and_s_stations is not None and p_and_s_stations(event) < config.min_p_and_s_stations:
        out.append("p_and_s_stations")
    if config.max_rms_s is not None and o.rms_s is not None and o.rms_s > config.max_rms_s:
        out.append("rms")
    if config.max_semi_major_m is not None:
        semi = o.ellipse.semi_major_m if o.ellipse is not None else o.horizontal_uncertainty_m
        if semi is not None and semi > config.max_semi_major_m:
            out.append("ellipse")
    if config.max_depth_m is not None and o.depth_m > config.max_depth_m:
        out.append("depth")
    return out


class _Explainer:
    """Wave-train windows of a (larger) event at the network's stations."""

    def __init__(self, model: VelocityModel, stations: dict[str, Station], config: ScreenConfig) -> None:
        from tianshan.traveltime.layered import LayeredTravelTime

        self.solver = LayeredTravelTime(model, EARTH_RADIUS_M)
        self.stations = stations
        self.config = config

    def explained(self, big: Event, picks) -> np.ndarray:
        """Boolean per pick of ``picks``: inside ``big``'s wave train at that station?"""
        c = self.config
        o = big.preferred_origin
        known = [p for p in big.picks if p.stream_id.station_id in self.stations]
        out = np.zeros(len(picks), dtype=bool)
        if o is None or not known:
            return out
        lat = [self.stations[p.stream_id.station_id].latitude_deg for p in known]
        lon = [self.stations[p.stream_id.station_id].longitude_deg for p in known]
        reach = c.reach_factor * float(np.max(_distance_m(o.latitude_deg, o.longitude_deg, lat, lon)))
        idx = [i for i, p in enumerate(picks) if p.stream_id.station_id in self.stations]
        if not idx:
            return out
        sts = [self.stations[picks[i].stream_id.station_id] for i in idx]
        dist = _distance_m(o.latitude_deg, o.longitude_deg, [s.latitude_deg for s in sts],
                           [s.longitude_deg for s in sts])
        depth = max(float(o.depth_m), 0.0)
        tp = self.solver.first_arrival("P", depth, dist)[0]
        ts = self.solver.first_arrival("S", depth, dist)[0]
        tol = c.tolerance_s + c.tolerance_fraction * tp
        lo = tp - tol
        train = ts if c.lg_min_velocity_m_s is None else np.maximum(ts, dist / c.lg_min_velocity_m_s)
        hi = (1.0 + c.coda_factor) * train + tol
        t0 = o.time.timestamp()
        for k, i in enumerate(idx):
            if not (np.isfinite(tp[k]) and np.isfinite(ts[k])) or dist[k] > reach:
                continue
            dt = picks[i].time.timestamp() - t0
            out[i] = lo[k] <= dt <= hi[k]
        return out


def _size_key(event: Event) -> tuple:
    o = event.preferred_origin
    n_sta = len({p.stream_id.station_id for p in event.picks})
    return (-n_sta, -len(event.picks), o.time if o is not None else None, event.id)


def explained_fraction(event: Event, larger: Sequence[Event], stations: Sequence[Station], model: VelocityModel,
                       config: ScreenConfig | None = None) -> tuple[float, str | None]:
    """Fraction of ``event``'s picks inside the wave train of one of the ``larger`` events, and the
    id of the event explaining most of them (``None`` when none explains any)."""
    config = config or ScreenConfig()
    table = {}
    for s in stations:
        table.setdefault(s.station_id, s)
    return _explain(event, larger, _Explainer(model, table, config))


def _explain(event: Event, larger: Sequence[Event], explainer: _Explainer) -> tuple[float, str | None]:
    if not event.picks or not larger:
        return 0.0, None
    any_mask = np.zeros(len(event.picks), dtype=bool)
    best, best_n = None, 0
    for big in larger:
        mask = explainer.explained(big, event.picks)
        if mask.sum() > best_n:
            best, best_n = big.id, int(mask.sum())
        any_mask |= mask
    return float(any_mask.mean()), best


def screen_events(events: Sequence[Event], stations: Sequence[Station], model: VelocityModel,
                  config: ScreenConfig | None = None, accepted_before: Sequence[Event] = ()) -> list[Verdict]:
    """Quality gates, then the larger-event check, for ``events`` (returned in input order).

    ``accepted_before``: events already declared (e.g. stored by an earlier run); they take part
    as larger events but get no verdict. Events are judged largest first (most stations, then
    most picks, then earliest), each against the accepted events at least as large.
    """
    config = config or ScreenConfig()
    verdicts: dict[int, Verdict] = {}
    passing = []
    for i, ev in enumerate(events):
        failed = quality_failures(ev, config)
        if failed:
            verdicts[i] = Verdict(ev, False, "quality:" + failed[0])
        else:
            passing.append(i)
    explainer = None
    if config.explain and passing:
        table: dict[str, Station] = {}
        for s in stations:
            table.setdefault(s.station_id, s)
        explainer = _Explainer(model, table, config)
    accepted: list[Event] = list(accepted_before)
    for i in sorted(passing, key=lambda j: _size_key(events[j])):
        ev = events[i]
        if explainer is not None:
            n_sta = len({p.stream_id.station_id for p in ev.picks})
            larger = [a for a in accepted if len({p.stream_id.station_id for p in a.picks}) >= n_sta]
            frac, by = _explain(ev, larger, explainer)
            if frac >= config.max_explained_fraction:
                verdicts[i] = Verdict(ev, False, "explained", by, frac)
                continue
            verdicts[i] = Verdict(ev, True, "", None, frac)
        else:
            verdicts[i] = Verdict(ev, True)
        accepted.append(ev)
    return [verdicts[i] for i in range(len(events))]
