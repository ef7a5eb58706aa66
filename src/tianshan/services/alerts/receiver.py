"""What a receiver at one place makes of an alert message: countdown and expected intensity.

Used by the reference receiver (``tianshan alerts listen``).

* **Countdown.** With the receiver's own position: S-wave arrival = origin time + hypocentral
  distance / Vs, with Vs = 3.46 km/s (ak135 upper crust, 0-20 km; Kennett, Engdahl & Buland
  1995, GJI 122:108). Without a position: the earliest ``shaking_at`` of the message's
  targets (sent + warning time). The countdown is to a fixed instant, so it is right however
  late the message arrived.
* **Intensity.** The message carries predictions at named targets, not a ground-motion model,
  so the receiver shows the prediction of the nearest target within ``max_target_km``
  (default 50 km) and names it; farther away it says it has no prediction.
* **Stale messages** (sequence not above the last for the event) are dropped
  (:class:`~tianshan.products.alerts.message.SequenceTracker`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tianshan.core.timeutil import utc_now
from tianshan.products.alerts.message import AlertMessage
from tianshan.products.alerts.text import roman
from tianshan.regions.model import haversine_m

VS_M_S = 3460.0  # ak135 upper-crust S velocity (Kennett et al. 1995)


@dataclass(frozen=True)
class ReceiverView:
    """One message as seen from the receiver."""

    msg_type: str
    event_id: str
    sequence: int
    magnitude: float
    level: str
    shaking_at: datetime | None
    intensity: float | None
    place: str
    place_distance_m: float | None
    latency_s: float
    text_zh: str
    text_en: str

    def countdown_s(self, now: datetime | None = None) -> float | None:
        if self.shaking_at is None:
            return None
        return (self.shaking_at - (now or utc_now())).total_seconds()

    def as_dict(self, now: datetime | None = None) -> dict:
        cd = self.countdown_s(now)
        return {"msg_type": self.msg_type, "event_id": self.event_id, "sequence": self.sequence,
                "magnitude": self.magnitude, "level": self.level,
                "countdown_s": None if cd is None else round(cd, 3),
                "intensity": self.intensity,
                "intensity_roman": None if self.intensity is None else roman(self.intensity),
                "place": self.place,
                "place_distance_km": None if self.place_distance_m is None else round(self.place_distance_m / 1000, 1),
                "latency_s": round(self.latency_s, 4)}


def view_message(msg: AlertMessage, latitude_deg: float | None = None, longitude_deg: float | None = None,
                 received_at: datetime | None = None, max_target_km: float = 50.0) -> ReceiverView:
    a = msg.alert
    received_at = received_at or utc_now()
    shaking_at = None
    intensity, place, place_d = None, "", None
    if latitude_deg is not None and longitude_deg is not None:
        epi = haversine_m(a.latitude_deg, a.longitude_deg, latitude_deg, longitude_deg)
        hypo = math.hypot(epi, max(0.0, a.depth_m))
        shaking_at = a.origin_time + timedelta(seconds=hypo / VS_M_S)
        best = None
        for t in a.targets:
            d = haversine_m(t.latitude_deg, t.longitude_deg, latitude_deg, longitude_deg)
            if d <= max_target_km * 1000 and (best is None or d < best[0]):
                best = (d, t)
        if best is not None:
            place_d, intensity, place = best[0], best[1].intensity, best[1].place
    elif a.targets:
        first = min(a.targets, key=lambda t: t.warning_time_s)
        shaking_at = a.issued_at + timedelta(seconds=first.warning_time_s)
        strongest = max(a.targets, key=lambda t: t.intensity)
        intensity, place = strongest.intensity, strongest.place
    if msg.msg_type.value == "cancel":
        shaking_at, intensity = None, None
    return ReceiverView(msg.msg_type.value, a.event_id, a.sequence, a.magnitude, a.level.value, shaking_at,
                        intensity, place, place_d, (received_at - a.issued_at).total_seconds(),
                        a.message_zh, a.message_en)
