"""Mark an event earthquake / explosion (quarry blast) / collapse / other, with a probability.

The probability comes from a :class:`~tianshan.events.classify.model.DiscriminationModel`
(default: the shipped PNSN table, :mod:`.pnsn_model`) applied to the event's
:class:`~tianshan.events.classify.features.EventFeatures`. An explosion within a
known quarry's radius is typed ``quarry blast``. Classes the model was not
trained on (the PNSN model knows earthquakes and explosions only) are absent
from ``probabilities``.

**Region caveat.** The default model was fitted to Pacific Northwest blasting
practice; for Xinjiang it is a placeholder until a Xinjiang-labelled catalog
exists (train one with :func:`~tianshan.events.classify.model.train_discrimination`).
It needs local time: pass the region's time zone (``tz``; default
``Asia/Urumqi``, UTC+6, the local solar-ish time that matches the PNSN daytime
pattern better than Beijing time).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import Sequence

from tianshan.core.event import Event, EventType
from tianshan.core.pick import Pick
from tianshan.events.classify.features import XINJIANG_TIMEZONE, EventFeatures, catalog_features
from tianshan.events.classify.model import DiscriminationModel

_TYPES = {"earthquake": EventType.EARTHQUAKE, "explosion": EventType.EXPLOSION,
          "collapse": EventType.COLLAPSE, "other": EventType.OTHER}


@dataclass(frozen=True, slots=True)
class Classification:
    """Event type, the probability of that type, all class probabilities and the features used."""

    type: EventType
    probability: float
    probabilities: dict[str, float]
    features: EventFeatures = field(default_factory=EventFeatures)
    model: str = ""

    @property
    def certainty(self) -> str:
        """QuakeML ``typeCertainty``: ``known`` above 0.9, else ``suspected``."""
        return "known" if self.probability >= 0.9 else "suspected"

    def apply(self, event: Event) -> Event:
        """``event`` with this type and certainty."""
        return replace(event, type=self.type, type_certainty=self.certainty)


def default_model() -> DiscriminationModel:
    from tianshan.events.classify.pnsn_model import MODEL

    return MODEL


def classify_event(event: Event, features: EventFeatures | None = None, quarries: Sequence = (), *,
                   model: DiscriminationModel | None = None, tz: str | float | tzinfo = XINJIANG_TIMEZONE,
                   stream=None, picks: Sequence[Pick] | None = None) -> Classification:
    """Classify ``event``.

    ``features`` replaces the computed ones when given; otherwise catalog
    features come from the preferred origin/magnitude, ``quarries``
    (:class:`~tianshan.events.classify.features.Quarry` or ``(lat_deg, lon_deg,
    radius_m)``) and ``tz``, and waveform features from ``stream`` (ObsPy, any
    units) and ``picks`` (default: the event's picks) when a stream is given.
    """
    model = model or default_model()
    if features is None:
        features = catalog_features(event, quarries, tz)
        if stream is not None:
            from tianshan.events.classify.waveform import waveform_features

            wf = waveform_features(stream, event.picks if picks is None else picks)
            features = replace(features, **wf)
    probs = model.probabilities(features)
    label = max(probs, key=probs.get)
    etype = _TYPES[label]
    if etype is EventType.EXPLOSION and features.at_quarry:
        etype = EventType.QUARRY_BLAST
    return Classification(etype, probs[label], probs, features, model.provenance)
