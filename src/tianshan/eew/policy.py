"""EEW alert policy: when an event version becomes an alert, an update or a cancel message.

:class:`AlertPolicy` takes each new :class:`~tianshan.eew.event.EEWEvent` version, predicts
intensity and warning time at the targets (:class:`~tianshan.eew.targets.TargetPredictor`) and
decides; messages are made by :class:`~tianshan.products.alerts.AlertIssuer` (types, sequence
numbers, references, areas, Chinese and English text; JSON and CAP 1.2 from there).

Thresholds (per target, per event)
----------------------------------
A target is *alerted* when its predicted intensity, rounded half up to a degree (as the message
states it), reaches ``alert_degree`` (IV by default: felt indoors by most, GB/T 17742-2020). An
event is alerted when at least one target is, its magnitude is at least ``min_magnitude`` (4.5)
and it rests on at least ``min_stations`` triggered stations (4, as the declaration) and
``min_magnitude_stations`` magnitude stations (2). The defaults follow the structure of the
ShakeAlert public thresholds (a magnitude floor together with an intensity floor at the user,
e.g. M 4.5 and MMI III for apps, M 5 and MMI IV for Wireless Emergency Alerts; USGS ShakeAlert
documentation, 2019-2021), with IV of the Chinese scale as intensity floor; all are settings.
The message lists the alerted targets (strongest first, at most ``max_message_targets``) and,
in updates, every target alerted before (so a downgrade reaches them). Level: the largest listed
degree: < IV info, IV-V advisory, VI-VII warning, >= VIII severe
(:class:`~tianshan.core.alert.AlertLevel`).

Updates and cancels
-------------------
After the first message (``alert``, sequence 1) a new version gives an ``update`` (sequence
+1) when the magnitude moved by ``update_magnitude_change`` (0.2), the epicentre by
``update_distance_m`` (10 km), a target became alerted, or an alerted target's degree changed.
A ``cancel`` goes out when an alerted event is judged false: it turns out teleseismic, or the
network does not support it (below). A cancelled event gets no further messages. Versions that
change nothing produce no message (``Decision.action == "none"``).

Teleseism suppression (:func:`teleseism_test`)
----------------------------------------------
A distant earthquake's P front crosses a regional network almost as a plane wave, faster than
any crustal or Pn wave (Pn 8.2 km/s in the Xinjiang model; teleseismic P 10-25 km/s at 30-90
deg), and with long dominant periods: ElarmS-3 added a teleseismic filter on the frequency
content of the P onsets (Chung, Henson & Allen 2019, SRL 90(2), 727-743). Here an event is
teleseismic when the plane wave fitted by least squares to the onset times of its triggered
stations (at least ``teleseism_min_stations``, aperture >= ``teleseism_min_aperture_m``) has an
apparent velocity between ``teleseism_velocity_m_s`` (10 km/s) and
``teleseism_max_velocity_m_s`` (30 km/s; above that the moveout is too small to tell a
teleseism from a local event under the middle of the network), a residual (n - 3 degrees of
freedom) of at most ``teleseism_max_rms_s``, **and** the median tau_c (Kanamori 2005, the
dominant period of the first seconds of P) of its stations is at least
``teleseism_min_tau_c_s`` (1 s; local M < 6 events read a few tenths of a second). Both tests
must agree, so a large local event (long tau_c, local moveout) or a small local event
(teleseismic-looking moveout across few stations, short tau_c) passes.

Single-station glitches
-----------------------
* The trigger-level spike/step/period tests are in :mod:`tianshan.eew.trigger`; an event needs
  ``min_stations`` triggers at as many distinct sites (stations closer than
  ``min_site_separation_m``, 5 km, are one site: the elements of a small-aperture array, e.g. the
  ten XJ HTTZ elements at Hotan within 2 km, see one wavefront at one place and constrain the
  location like one station; the engine counts them separately, so the policy counts sites) and
  ``min_magnitude_stations`` station magnitudes, so one station cannot make an alert.
* **Onsite (PLUM) observations** (:func:`corroborated`; :meth:`AlertPolicy.evaluate_engine`
  keeps each station's strongest reading over the event's versions): an observed intensity more than
  ``glitch_tolerance`` (2 degrees) above what the event's attenuation model predicts at that
  station is used only when another station within ``corroboration_radius_m`` (60 km) observes
  at least that intensity minus ``glitch_tolerance``; otherwise it is dropped and counted
  (``glitch_dropped``): a single station's glitch cannot raise a PLUM alert, while a long
  rupture, felt strongly by several stations, still can.
* **Network support** (:func:`network_support`): stations within ``support_radius_m`` (50 km)
  of the epicentre, with data up to ``support_margin_s`` (3 s) after their predicted P time,
  are expected to have triggered; with at least ``min_support_stations`` (3) such stations and
  fewer than ``min_support_fraction`` (40 %) of them triggered, the event is unsupported
  (a coincidence of glitches or a wrong association): no alert, or a cancel when already
  alerted. All values are choices.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from tianshan.core.errors import InputError
from tianshan.core.timeutil import as_utc
from tianshan.eew.targets import OnsiteObservation, TargetPrediction, TargetPredictor, onsite_observations

log = logging.getLogger(__name__)
_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """Alert thresholds and suppression settings (module docstring)."""

    min_magnitude: float = 4.5
    alert_degree: int = 4
    min_stations: int = 4
    min_site_separation_m: float = 5_000.0
    min_magnitude_stations: int = 2
    max_message_targets: int = 200
    update_magnitude_change: float = 0.2
    update_distance_m: float = 10_000.0
    teleseism_velocity_m_s: float = 10_000.0
    teleseism_max_velocity_m_s: float = 30_000.0
    teleseism_max_rms_s: float = 0.5
    teleseism_min_aperture_m: float = 30_000.0
    teleseism_min_stations: int = 4
    teleseism_min_tau_c_s: float = 1.0
    glitch_tolerance: float = 2.0
    corroboration_radius_m: float = 60_000.0
    support_radius_m: float = 50_000.0
    support_margin_s: float = 3.0
    min_support_stations: int = 3
    min_support_fraction: float = 0.4
    test: bool = False                 #: messages carry status "test" (exercises, replays)

    def __post_init__(self) -> None:
        for name in ("min_stations", "min_magnitude_stations", "max_message_targets", "teleseism_min_stations",
                     "min_support_stations", "alert_degree"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InputError(f"must be an integer >= 1, got {v!r}", source="PolicyConfig", field=name)
        for name in ("update_magnitude_change", "update_distance_m", "min_site_separation_m", "teleseism_velocity_m_s",
                     "teleseism_max_velocity_m_s", "teleseism_max_rms_s", "teleseism_min_aperture_m",
                     "teleseism_min_tau_c_s", "glitch_tolerance", "corroboration_radius_m", "support_radius_m",
                     "support_margin_s", "min_support_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"must be a number >= 0, got {v!r}", source="PolicyConfig", field=name)
        if not (isinstance(self.min_magnitude, (int, float)) and math.isfinite(self.min_magnitude)):
            raise InputError("must be finite", source="PolicyConfig", field="min_magnitude")
        if self.teleseism_max_velocity_m_s <= self.teleseism_velocity_m_s:
            raise InputError("must exceed teleseism_velocity_m_s", source="PolicyConfig",
                             field="teleseism_max_velocity_m_s")


# --------------------------------------------------------------------------- teleseisms

@dataclass(frozen=True, slots=True)
class TeleseismTest:
    """Plane-wave fit of an event's onsets and the verdict (module docstring)."""

    n_stations: int
    aperture_m: float
    apparent_velocity_m_s: float | None
    back_azimuth_deg: float | None
    rms_s: float | None
    median_tau_c_s: float | None
    teleseism: bool
    reason: str


def plane_wave_fit(points: Sequence[tuple[float, float, float]]) -> tuple[float, float, float, float]:
    """Least-squares plane wave ``t = t0 + s_x x + s_y y`` through ``(lat, lon, time_s)`` onsets.

    Returns ``(apparent velocity m/s, back azimuth deg, rms s (n - 3 dof), aperture m)``;
    x/y are east/north metres on an equirectangular plane about the stations' centroid (Snyder
    1987, USGS PP 1395, p. 90; error well under 1 % over a few hundred km). The back azimuth
    points from the network towards the source (opposite to the slowness vector).
    """
    import numpy as np

    from tianshan.eew.locate import EARTH_RADIUS_M, haversine_m

    if len(points) < 3:
        raise InputError("a plane wave needs at least 3 onsets", field="points")
    lat = np.array([p[0] for p in points], dtype=float)
    lon = np.array([p[1] for p in points], dtype=float)
    t = np.array([p[2] for p in points], dtype=float)
    lat0, lon0 = float(lat.mean()), float(lon.mean())
    y = np.radians(lat - lat0) * EARTH_RADIUS_M
    x = np.radians(lon - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    a = np.column_stack([np.ones_like(x), x, y])
    coef, *_ = np.linalg.lstsq(a, t - t.min(), rcond=None)
    resid = (t - t.min()) - a @ coef
    dof = max(len(points) - 3, 1)
    rms = float(math.sqrt(float(resid @ resid) / dof))
    s = math.hypot(coef[1], coef[2])
    vel = math.inf if s == 0 else 1.0 / s
    baz = (math.degrees(math.atan2(-coef[1], -coef[2])) % 360.0) if s > 0 else float("nan")
    aperture = float(np.max(haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])))
    return vel, baz, rms, aperture


def teleseism_test(onsets: Sequence[tuple[float, float, float]], tau_c_s: Iterable[float | None],
                   config: PolicyConfig | None = None) -> TeleseismTest:
    """Plane-wave moveout and dominant-period test of an event (module docstring).

    ``onsets``: ``(lat, lon, onset POSIX s)`` of the event's stations; ``tau_c_s``: their tau_c.
    """
    c = config or PolicyConfig()
    taus = [float(v) for v in tau_c_s if v is not None and math.isfinite(v)]
    med_tau = statistics.median(taus) if taus else None
    n = len(onsets)
    if n < max(c.teleseism_min_stations, 3):
        return TeleseismTest(n, 0.0, None, None, None, med_tau, False, "too few stations to test")
    vel, baz, rms, aperture = plane_wave_fit(onsets)
    v = None if not math.isfinite(vel) else vel
    b = None if not math.isfinite(baz) else baz
    if aperture < c.teleseism_min_aperture_m:
        return TeleseismTest(n, aperture, v, b, rms, med_tau, False, "aperture too small to test")
    fast = c.teleseism_velocity_m_s <= vel <= c.teleseism_max_velocity_m_s and rms <= c.teleseism_max_rms_s
    slow_period = med_tau is not None and med_tau >= c.teleseism_min_tau_c_s
    if fast and slow_period:
        return TeleseismTest(n, aperture, v, b, rms, med_tau, True,
                             f"plane wave at {vel / 1000:.1f} km/s (rms {rms:.2f} s) with tau_c {med_tau:.2f} s")
    why = "local moveout" if not fast else "short dominant period"
    return TeleseismTest(n, aperture, v, b, rms, med_tau, False, why)


# --------------------------------------------------------------------------- glitches, support

def corroborated(observations: Sequence[OnsiteObservation], predicted_at_station: dict[str, float],
                 config: PolicyConfig | None = None) -> tuple[list[OnsiteObservation], list[OnsiteObservation]]:
    """Split onsite observations into ``(kept, dropped)`` by the single-station test (module docstring).

    ``predicted_at_station``: the attenuation-model intensity at each observing station.
    """
    from tianshan.eew.locate import haversine_m

    c = config or PolicyConfig()
    kept, dropped = [], []
    for ob in observations:
        pred = predicted_at_station.get(ob.station_id)
        if pred is not None and ob.intensity <= pred + c.glitch_tolerance:
            kept.append(ob)
            continue
        ok = any(o is not ob and o.intensity >= ob.intensity - c.glitch_tolerance
                 and float(haversine_m(ob.latitude_deg, ob.longitude_deg, o.latitude_deg, o.longitude_deg))
                 <= c.corroboration_radius_m for o in observations)
        (kept if ok else dropped).append(ob)
    return kept, dropped


@dataclass(frozen=True, slots=True)
class Support:
    """Stations expected to have seen the P wave by now, and how many did."""

    expected: int
    triggered: int

    def fraction(self) -> float | None:
        return None if self.expected == 0 else self.triggered / self.expected


def network_support(engine, event, now: datetime, config: PolicyConfig | None = None) -> Support:
    """Count stations near the epicentre that should have triggered by ``now`` (module docstring)."""
    from tianshan.eew.locate import haversine_m

    c = config or PolicyConfig()
    now_s = as_utc(now).timestamp()
    origin = event.origin_time.timestamp()
    members = set(event.station_ids)
    expected = triggered = 0
    for sid, sensors in engine.bank.by_station.items():
        st = engine.bank.stations[sid]
        d = float(haversine_m(event.latitude_deg, event.longitude_deg, st.latitude_deg, st.longitude_deg))
        if d > c.support_radius_m:
            continue
        tp = origin + float(engine.locator.travel_time("P", event.depth_m, d))
        if not math.isfinite(tp) or tp + c.support_margin_s > now_s:
            continue
        front = engine.bank.frontier_ns(sid)
        if front is None or front / _NS < tp + c.support_margin_s:
            continue
        expected += 1
        if sid in members or any(sp.trigger is not None and abs(sp.trigger.time_ns / _NS - tp) <= c.support_margin_s
                                 for sp in sensors):
            triggered += 1
    return Support(expected, triggered)


def count_sites(onsets: Sequence[tuple[float, float, float]], separation_m: float) -> int:
    """Number of distinct sites among ``(lat, lon, ...)`` onsets: stations within ``separation_m`` of
    an already counted one (greedy, in the given order) are the same site."""
    from tianshan.eew.locate import haversine_m

    sites: list[tuple[float, float]] = []
    for lat, lon, *_ in onsets:
        if not any(float(haversine_m(lat, lon, a, b)) <= separation_m for a, b in sites):
            sites.append((lat, lon))
    return len(sites)


def event_onsets(engine, event) -> tuple[list[tuple[float, float, float]], list[float | None]]:
    """``(lat, lon, onset s)`` and tau_c of the event's stations (earliest trigger after origin - 5 s)."""
    lo = event.origin_time.timestamp() - 5.0
    hi = event.data_time.timestamp()
    first: dict[str, object] = {}
    for t in engine.triggers:
        ts = t.time_ns / _NS
        if t.station_id in event.station_ids and lo <= ts <= hi:
            if t.station_id not in first or t.time_ns < first[t.station_id].time_ns:
                first[t.station_id] = t
    onsets, taus = [], []
    for sid, t in sorted(first.items()):
        onsets.append((t.latitude_deg, t.longitude_deg, t.time_ns / _NS))
        m = engine.bank.best_measurement(sid)
        taus.append(None if m is None else m.tau_c_s)
    return onsets, taus


# --------------------------------------------------------------------------- decisions

@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy did with one event version."""

    action: str                       # "alert", "update", "cancel" or "none"
    reason: str
    event_id: str
    message: object | None            # AlertMessage
    predictions: tuple[TargetPrediction, ...] = ()
    alerted: tuple[str, ...] = ()     # names of the targets listed as alerted
    teleseism: TeleseismTest | None = None
    support: Support | None = None
    onsite_dropped: tuple[str, ...] = ()


@dataclass
class PolicyCounters:
    """Counts of the policy's outcomes."""

    evaluated: int = 0
    alerts: int = 0
    updates: int = 0
    cancels: int = 0
    unchanged: int = 0
    below_threshold: int = 0
    too_few_stations: int = 0
    teleseism: int = 0
    unsupported: int = 0
    glitch_dropped: int = 0
    after_cancel: int = 0
    errors: int = 0


@dataclass
class _State:
    sequence: int = 0
    cancelled: bool = False
    magnitude: float = math.nan
    latitude_deg: float = math.nan
    longitude_deg: float = math.nan
    degrees: dict = field(default_factory=dict)   # alerted target name -> degree last stated
    level: object = None
    onsite: dict = field(default_factory=dict)    # station id -> strongest OnsiteObservation so far


def _level(degree: int):
    from tianshan.core.alert import AlertLevel

    if degree >= 8:
        return AlertLevel.SEVERE
    if degree >= 6:
        return AlertLevel.WARNING
    if degree >= 4:
        return AlertLevel.ADVISORY
    return AlertLevel.INFO


class AlertPolicy:
    """Turns EEW event versions into alert/update/cancel messages (module docstring).

    ``issuer``: an :class:`~tianshan.products.alerts.AlertIssuer` (one per publishing process;
    default one with sender ``tianshan-eew``). Not thread-safe. Memory: the state of at most
    ``max_events`` events is kept (oldest forgotten first).
    """

    def __init__(self, predictor: TargetPredictor, config: PolicyConfig | None = None, issuer=None,
                 max_events: int = 1000) -> None:
        from tianshan.products.alerts import AlertIssuer

        self.predictor = predictor
        self.config = config or PolicyConfig()
        self.issuer = issuer or AlertIssuer(min_intensity=self.config.alert_degree - 0.5)
        self.max_events = max_events
        self.counters = PolicyCounters()
        self.messages: list = []
        self._state: dict[str, _State] = {}

    # -- entry points -----------------------------------------------------------------------
    def evaluate_engine(self, engine, event, now: datetime | None = None) -> Decision:
        """Decide on ``event`` with the onsets, tau_c, onsite intensities and support taken from ``engine``."""
        now = event.data_time if now is None else as_utc(now)
        try:
            onsets, taus = event_onsets(engine, event)
            obs = self._hold(event.event_id,
                             onsite_observations(engine, since=event.origin_time - timedelta(seconds=2)))
            support = network_support(engine, event, now, self.config)
        except Exception:  # a live process never crashes on one bad version
            self.counters.errors += 1
            log.exception("EEW policy inputs of %s failed", event.event_id)
            return Decision("none", "error collecting inputs", event.event_id, None)
        return self.evaluate(event, now, onsets=onsets, tau_c_s=taus, observations=obs, support=support)

    def evaluate(self, event, now: datetime | None = None, *, onsets: Sequence[tuple[float, float, float]] = (),
                 tau_c_s: Iterable[float | None] = (), observations: Sequence[OnsiteObservation] = (),
                 support: Support | None = None) -> Decision:
        """Decide on one version of an event from explicit inputs (see :meth:`evaluate_engine`)."""
        c = self.config
        now = event.data_time if now is None else as_utc(now)
        self.counters.evaluated += 1
        st = self._state.get(event.event_id)
        if st is not None and st.cancelled:
            self.counters.after_cancel += 1
            return Decision("none", "event already cancelled", event.event_id, None)
        alerted_before = st is not None and st.sequence > 0
        tele = teleseism_test(onsets, tau_c_s, c)
        if tele.teleseism:
            self.counters.teleseism += 1
            return self._cancel_or_none(event, st, now, f"teleseism: {tele.reason}", tele=tele, support=support)
        if support is not None and support.expected >= c.min_support_stations and \
                support.triggered < c.min_support_fraction * support.expected:
            self.counters.unsupported += 1
            return self._cancel_or_none(event, st, now, f"unsupported: {support.triggered} of {support.expected} "
                                        "nearby stations triggered", tele=tele, support=support)
        if event.magnitude is None:
            return Decision("none", "no magnitude yet", event.event_id, None, teleseism=tele, support=support)
        n_sites = count_sites(onsets, c.min_site_separation_m) if onsets else event.n_stations
        if not alerted_before and (min(n_sites, event.n_stations) < c.min_stations
                                   or event.n_magnitude_stations < c.min_magnitude_stations):
            self.counters.too_few_stations += 1
            return Decision("none", f"{event.n_stations} stations at {n_sites} sites, {event.n_magnitude_stations} "
                            "with magnitude", event.event_id, None, teleseism=tele, support=support)
        kept, dropped = self._onsite(event, observations)
        preds = self.predictor.predict(event, now, kept)
        hit = [p for p in preds if p.degree >= c.alert_degree]
        if not alerted_before:
            if not hit or event.magnitude < c.min_magnitude:
                self.counters.below_threshold += 1
                why = ("magnitude below threshold" if event.magnitude < c.min_magnitude
                       else "no target reaches the threshold")
                return Decision("none", why, event.event_id, None, preds, teleseism=tele, support=support,
                                onsite_dropped=tuple(o.station_id for o in dropped))
            return self._issue(event, now, preds, hit, "alert", "threshold reached", tele, support, dropped)
        listed = {p.target.name for p in hit} | set(st.degrees)
        changed = (abs(event.magnitude - st.magnitude) >= c.update_magnitude_change
                   or self._moved(event, st) >= c.update_distance_m
                   or any(p.target.name not in st.degrees for p in hit)
                   or any(st.degrees.get(p.target.name) not in (None, p.degree) for p in preds
                          if p.target.name in listed))
        if not changed:
            self.counters.unchanged += 1
            return Decision("none", "no significant change", event.event_id, None, preds, teleseism=tele,
                            support=support)
        return self._issue(event, now, preds, hit, "update", "estimate changed", tele, support, dropped)

    def forget(self, event_id: str) -> None:
        """Drop the state of a closed event."""
        self._state.pop(event_id, None)

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _moved(event, st: _State) -> float:
        from tianshan.eew.locate import haversine_m

        return float(haversine_m(event.latitude_deg, event.longitude_deg, st.latitude_deg, st.longitude_deg))

    def _onsite(self, event, observations):
        if not observations or not self.predictor.config.use_onsite or event.magnitude is None:
            return list(observations), []
        im = self.predictor.intensity_model
        strike, _ = self.predictor.strike(event.latitude_deg, event.longitude_deg)
        mean, _ = im.predict_intensity(event.latitude_deg, event.longitude_deg, event.depth_m, event.magnitude,
                                       [o.latitude_deg for o in observations],
                                       [o.longitude_deg for o in observations], strike_deg=strike)
        pred = {o.station_id: float(m) for o, m in zip(observations, mean)}
        kept, dropped = corroborated(observations, pred, self.config)
        self.counters.glitch_dropped += len(dropped)
        return kept, dropped

    def _hold(self, event_id: str, observations: Sequence[OnsiteObservation]) -> list[OnsiteObservation]:
        """Strongest observation per station over the event's versions so far (a sensor's re-trigger
        on a later phase restarts its peak tracking in the engine; the event's onsite peak must not
        drop with it)."""
        held = self._state_for(event_id).onsite
        for ob in observations:
            old = held.get(ob.station_id)
            if old is None or ob.intensity > old.intensity:
                held[ob.station_id] = ob
        return list(held.values())

    def _state_for(self, event_id: str) -> _State:
        st = self._state.get(event_id)
        if st is None:
            if len(self._state) >= self.max_events:
                self._state.pop(next(iter(self._state)))
            st = self._state[event_id] = _State()
        return st

    def _alert(self, event, now: datetime, targets, level, sequence: int, cancelled: bool = False):
        from tianshan.core.alert import Alert, AlertTarget

        ats = tuple(AlertTarget(p.target.name, p.target.latitude_deg, p.target.longitude_deg,
                                round(min(max(p.intensity, 0.0), 12.0), 1), round(max(p.warning_time_s, 0.0), 1))
                    for p in targets)
        mag = event.magnitude if event.magnitude is not None else 0.0
        return Alert(event_id=event.event_id, sequence=sequence, origin_time=event.origin_time,
                     latitude_deg=event.latitude_deg, longitude_deg=event.longitude_deg, depth_m=event.depth_m,
                     magnitude=round(mag, 2), level=level, targets=ats, cancelled=cancelled, test=self.config.test,
                     magnitude_uncertainty=None if event.magnitude_uncertainty is None
                     else round(event.magnitude_uncertainty, 2), issued_at=now)

    def _issue(self, event, now, preds, hit, action, reason, tele, support, dropped) -> Decision:
        c = self.config
        st = self._state_for(event.event_id)
        listed_names = {p.target.name for p in hit} | set(st.degrees)
        listed = sorted((p for p in preds if p.target.name in listed_names),
                        key=lambda p: (-p.intensity, p.warning_time_s))[:c.max_message_targets]
        level = _level(max((p.degree for p in listed), default=1))
        alert = self._alert(event, now, listed, level, st.sequence + 1)
        msg = self.issuer.issue(alert)
        st.sequence = alert.sequence
        st.magnitude = float(event.magnitude)
        st.latitude_deg, st.longitude_deg = event.latitude_deg, event.longitude_deg
        for p in listed:
            st.degrees[p.target.name] = p.degree
        st.level = level
        self.messages.append(msg)
        if action == "alert":
            self.counters.alerts += 1
        else:
            self.counters.updates += 1
        return Decision(action, reason, event.event_id, msg, preds, tuple(p.target.name for p in hit), tele, support,
                        tuple(o.station_id for o in dropped))

    def _cancel_or_none(self, event, st: _State | None, now, reason: str, tele=None, support=None) -> Decision:
        if st is None or st.sequence == 0:
            return Decision("none", reason, event.event_id, None, teleseism=tele, support=support)
        alert = self._alert(event, now, (), st.level or _level(1), st.sequence + 1, cancelled=True)
        msg = self.issuer.issue(alert)
        st.sequence = alert.sequence
        st.cancelled = True
        self.messages.append(msg)
        self.counters.cancels += 1
        return Decision("cancel", reason, event.event_id, msg, teleseism=tele, support=support)
