"""Builders of richly populated domain objects for the store tests (every optional field set)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from tianshan.core import (Alert, AlertLevel, AlertTarget, Amplitude, Arrival, Channel, ErrorEllipse, Event,
                           EventType, EvaluationMode, EvaluationStatus, InstrumentKind, Magnitude, Origin, Pick,
                           Polarity, Product, Station, StationGain, StationMagnitude, StreamID)

UTC = timezone.utc
T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=UTC)  # microseconds on purpose


def _t(rng: np.random.Generator, base: datetime = T0, span_s: float = 3600.0) -> datetime:
    return base + timedelta(microseconds=int(rng.integers(0, int(span_s * 1e6))))


def rich_picks(rng: np.random.Generator, n: int = 6, base: datetime = T0) -> list[Pick]:
    picks = []
    for i in range(n):
        sid = StreamID("XJ", f"S{i:02d}", "00" if i % 2 else "", "HHZ")
        picks.append(Pick(sid, _t(rng, base, 60), "P" if i % 2 == 0 else "Sg",
                          time_uncertainty_s=float(rng.uniform(0.01, 0.3)),
                          polarity=(Polarity.POSITIVE, Polarity.NEGATIVE, Polarity.UNDECIDABLE, None)[i % 4],
                          method=("stalta-aic", "phasenet")[i % 2],
                          probability=float(rng.uniform(0, 1)) if i % 2 else None,
                          evaluation_mode=(EvaluationMode.AUTOMATIC, EvaluationMode.MANUAL)[i % 2],
                          created_at=_t(rng)))
    return picks


def rich_amplitudes(rng: np.random.Generator, picks: list[Pick]) -> list[Amplitude]:
    return [Amplitude(p.stream_id.with_channel("HHN"), "AML", float(rng.lognormal(-12, 1)), "m",
                      time=p.time + timedelta(seconds=3), period_s=float(rng.uniform(0.1, 1.0)),
                      snr=float(rng.uniform(3, 100)), pick_id=p.id, method="wood-anderson",
                      evaluation_mode=EvaluationMode.AUTOMATIC, created_at=_t(rng))
            for p in picks] + [Amplitude(picks[0].stream_id, "PGA", float(rng.uniform(0.01, 2)), "m/s**2")]


def rich_origin(rng: np.random.Generator, picks: list[Pick], base: datetime = T0,
                lat: float = 41.77, lon: float = 84.16) -> Origin:
    return Origin(
        time=_t(rng, base, 1.0), latitude_deg=lat + float(rng.normal(0, 0.05)),
        longitude_deg=lon + float(rng.normal(0, 0.05)), depth_m=float(rng.uniform(2e3, 30e3)),
        time_uncertainty_s=float(rng.uniform(0.05, 1)), horizontal_uncertainty_m=float(rng.uniform(500, 5e3)),
        depth_uncertainty_m=float(rng.uniform(1e3, 8e3)),
        ellipse=ErrorEllipse(4321.123456789, 1234.5, float(rng.uniform(0, 360)), 0.9),
        rms_s=float(rng.uniform(0.1, 1)), azimuthal_gap_deg=float(rng.uniform(30, 300)),
        phase_count=len(picks), station_count=len(picks) // 2 + 1, minimum_distance_deg=0.1 + float(rng.random()),
        method="grid-search", earth_model="xinjiang-1d", depth_fixed=bool(rng.integers(0, 2)),
        evaluation_mode=EvaluationMode.AUTOMATIC, evaluation_status=EvaluationStatus.PRELIMINARY,
        arrivals=tuple(Arrival(p.id, p.phase, float(rng.uniform(0.1, 3)), float(rng.uniform(0, 360)),
                               float(rng.uniform(0, 180)), float(rng.normal(0, 0.3)), float(rng.uniform(0, 1)))
                       for p in picks) + (Arrival(picks[0].id, "Pn"),),
        agency="XJ", created_at=_t(rng))


def rich_magnitude(rng: np.random.Generator, mtype: str, origin: Origin, amps: list[Amplitude]) -> Magnitude:
    return Magnitude(
        type=mtype, value=float(rng.uniform(2, 7)), origin_id=origin.id, uncertainty=float(rng.uniform(0, 0.5)),
        station_count=len(amps), method="GB17740-2017", evaluation_mode=EvaluationMode.MANUAL,
        evaluation_status=EvaluationStatus.REVIEWED,
        station_magnitudes=tuple(StationMagnitude(a.stream_id, mtype, float(rng.uniform(2, 7)), a.id,
                                                  float(rng.normal(0, 0.2)), float(rng.uniform(0, 1)))
                                 for a in amps) + (StationMagnitude(amps[0].stream_id, mtype, 3.0),),
        agency="XJ", created_at=_t(rng))


def rich_event(rng: np.random.Generator, n_origins: int = 3, base: datetime = T0, lat: float = 41.77,
               lon: float = 84.16) -> Event:
    """An event with a history of origins and ML/Ms magnitude versions, picks and amplitudes."""
    picks = rich_picks(rng, base=base)
    amps = rich_amplitudes(rng, picks)
    ev = Event(type=EventType.EARTHQUAKE, type_certainty="known", picks=tuple(picks), amplitudes=tuple(amps),
               region_name="新疆阿克苏地区拜城县 (Baicheng, Xinjiang)", created_at=_t(rng))
    for i in range(n_origins):
        o = rich_origin(rng, picks[: 3 + i], base=base, lat=lat, lon=lon)
        ev = ev.with_origin(o, preferred=i != n_origins - 1 or n_origins == 1)  # last one not preferred
        ev = ev.with_magnitude(rich_magnitude(rng, "ML", o, amps[:3]), preferred=False)
        ev = ev.with_magnitude(rich_magnitude(rng, "Ms", o, amps[1:4]))
    return ev


def rich_stations() -> list[Station]:
    gain = StationGain(6.2915e8, 1.0, "M/S", "COUNTS", "NRL/Streckeisen/STS2")
    out = []
    for i, (lat, lon) in enumerate(((41.81, 84.25), (43.83, 87.62))):
        chans = tuple(Channel(StreamID("XJ", f"ST{i}", "00", c), lat, lon, 1234.5 + i, 100.0, depth_m=2.5,
                              azimuth_deg=az, dip_deg=dip, kind=InstrumentKind.BROADBAND, gain=gain,
                              start=datetime(2010, 5, 1, tzinfo=UTC))
                      for c, az, dip in (("HHZ", 0.0, -90.0), ("HHN", 0.0, 0.0), ("HHE", 90.0, 0.0)))
        chans += (Channel(StreamID("XJ", f"ST{i}", "10", "HNZ"), lat, lon, 1234.5 + i, 200.0,
                          kind=InstrumentKind.STRONG_MOTION),)
        out.append(Station("XJ", f"ST{i}", lat, lon, 1234.5 + i, name=f"测站 {i}", channels=chans,
                           start=datetime(2010, 5, 1, tzinfo=UTC), end=None, simulated=bool(i)))
    return out


def rich_alert(event_id: str, sequence: int = 0) -> Alert:
    return Alert(event_id=event_id, sequence=sequence, origin_time=T0, latitude_deg=41.77, longitude_deg=84.16,
                 depth_m=12_000.0, magnitude=6.1, level=AlertLevel.WARNING,
                 targets=(AlertTarget("阿克苏 Aksu", 41.17, 80.26, 6.5, 21.3),
                          AlertTarget("库车 Kuqa", 41.72, 82.96, 7.1, 8.25)),
                 message_zh="地震预警", message_en="Earthquake early warning", cancelled=False, test=True,
                 magnitude_uncertainty=0.3, issued_at=T0 + timedelta(seconds=7, microseconds=1))


def rich_product(event_id: str | None, kind: str = "shakemap", version: int = 1) -> Product:
    return Product(kind=kind, uri=f"products/{kind}/v{version}.json", content_type="application/json",
                   event_id=event_id, version=version, sha256="ab" * 32,
                   properties={"max_intensity": 8.5, "cities": ["Aksu", "库车"], "nested": {"n": 3}},
                   created_at=T0 + timedelta(minutes=version))
