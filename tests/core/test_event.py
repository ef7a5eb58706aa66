from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tianshan.core import (Alert, AlertLevel, AlertTarget, Amplitude, Arrival, DomainError, ErrorEllipse, Event,
                           EventType, Magnitude, Origin, Pick, Polarity, Product, StreamID)
from tianshan.core.timeutil import as_utc

T0 = datetime(2026, 11, 22, 3, 0, 0, 123456, tzinfo=timezone.utc)


def _origin(**kw):
    args = dict(time=T0, latitude_deg=41.95, longitude_deg=84.35, depth_m=15_000.0)
    args.update(kw)
    return Origin(**args)


def test_time_normalisation():
    assert as_utc("2026-11-22T03:00:00.123456Z") == T0
    assert as_utc(datetime(2026, 11, 22, 3, 0, 0, 123456)) == T0  # naive taken as UTC
    assert as_utc(T0.astimezone(timezone(timedelta(hours=8)))) == T0
    assert as_utc(T0.timestamp()) == T0
    with pytest.raises(DomainError, match="ISO-8601"):
        as_utc("yesterday")


def test_origin_versions_append_only():
    ev = Event()
    o1, o2 = _origin(), _origin(latitude_deg=42.0)
    ev1 = ev.with_origin(o1)
    ev2 = ev1.with_origin(o2)
    assert [o.version for o in ev2.origins] == [1, 2]
    assert ev2.preferred_origin.latitude_deg == 42.0
    assert ev1.origins == (o1,)  # the earlier event value is unchanged
    ev3 = ev2.with_origin(_origin(latitude_deg=43.0), preferred=False)
    assert ev3.preferred_origin.latitude_deg == 42.0 and len(ev3.origins) == 3


def test_magnitude_versions_per_type():
    ev = Event().with_magnitude(Magnitude("ML", 5.1)).with_magnitude(Magnitude("Mw", 5.3)) \
        .with_magnitude(Magnitude("ML", 5.2))
    assert [(m.type, m.version) for m in ev.magnitudes] == [("ML", 1), ("Mw", 1), ("ML", 2)]
    assert ev.preferred_magnitude.value == 5.2


def test_preferred_ids_must_exist():
    with pytest.raises(DomainError, match="preferred origin"):
        Event(preferred_origin_id="smi:x/origin/1")
    o = _origin()
    with pytest.raises(DomainError, match="duplicate origin id"):
        Event(origins=(o, o))


@pytest.mark.parametrize("kw, field", [
    ({"latitude_deg": 91}, "latitude"),
    ({"depth_m": 900_000}, "depth"),
    ({"rms_s": -1}, "rms_s"),
    ({"azimuthal_gap_deg": 400}, "azimuthal_gap_deg"),
    ({"phase_count": 2.5}, "phase_count"),
    ({"version": 0}, "version"),
])
def test_origin_validation(kw, field):
    with pytest.raises(DomainError, match=field):
        _origin(**kw)


def test_error_ellipse_axes():
    ErrorEllipse(5000, 2000, 45)
    with pytest.raises(DomainError, match="semi-minor"):
        ErrorEllipse(2000, 5000, 45)


def test_pick_and_amplitude():
    sid = StreamID.parse("XJ.LTA..HHZ")
    p = Pick(sid, T0, "P", time_uncertainty_s=0.05, polarity="positive", method="phasenet", probability=0.93)
    assert p.polarity is Polarity.POSITIVE
    with pytest.raises(DomainError, match="probability"):
        replace(p, probability=1.5)
    with pytest.raises(DomainError, match="unit"):
        Amplitude(sid, "PGA", 0.1, "g")
    a = Amplitude(sid, "AML", 1e-4, "m", period_s=0.5, pick_id=p.id)
    assert a.pick_id == p.id


def test_event_type_from_quakeml():
    assert EventType.from_quakeml("quarry blast") is EventType.QUARRY_BLAST
    assert EventType.from_quakeml("mining explosion") is EventType.EXPLOSION
    assert EventType.from_quakeml("rockslide") is EventType.LANDSLIDE
    assert EventType.from_quakeml("mine collapse") is EventType.COLLAPSE
    assert EventType.from_quakeml("sonic boom") is EventType.OTHER
    assert EventType.from_quakeml(None) is None


def test_alert_and_product():
    tgt = AlertTarget("Korla", 41.76, 86.15, 6.2, 18.5)
    al = Alert("smi:e/1", 0, T0, 41.95, 84.35, 15_000, 6.5, AlertLevel.WARNING, targets=[tgt])
    assert al.targets == (tgt,)
    with pytest.raises(DomainError, match="intensity"):
        AlertTarget("X", 41, 86, 13, 1)
    pr = Product("quakeml", "events/x.xml", "application/xml", properties={"n": 1})
    with pytest.raises(TypeError):
        pr.properties["n"] = 2  # read-only mapping
    with pytest.raises(DomainError, match="sha256"):
        Product("quakeml", "x", "application/xml", sha256="abc")


def test_arrival_is_plain_value():
    a = Arrival("smi:p/1", "P", distance_deg=0.5, time_residual_s=0.1)
    assert a == Arrival("smi:p/1", "P", distance_deg=0.5, time_residual_s=0.1)
