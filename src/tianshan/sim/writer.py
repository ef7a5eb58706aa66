"""Write a simulated scenario: SDS archive, StationXML, true QuakeML and truth CSV files.

Layout under ``out_dir``::

    sds/                 SDS miniSEED archive (STEIM2 int32 counts), tianshan.io.sds
    stations.xml         FDSN StationXML with the full nominal responses
    truth.xml            QuakeML 1.2: the true event (Origin, Mw, theoretical P/S picks)
    truth_arrivals.csv   one row per station: distances, azimuths, arrivals, PGA/PGV
    truth_faults.csv     one row per applied data fault (only when faults were applied)

Every file is written atomically (:mod:`tianshan.io.atomic`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from tianshan.core.event import Event, EventType
from tianshan.core.ids import StreamID
from tianshan.core.magnitude import Magnitude
from tianshan.core.origin import Arrival, EvaluationStatus, Origin
from tianshan.core.pick import EvaluationMode, Pick
from tianshan.io.atomic import atomic_write_text
from tianshan.sim.scenario import ScenarioResult, StationTruth

#: Degrees per metre on the travel-time sphere (R = 6371 km).
_DEG_PER_M = 180.0 / (math.pi * 6_371_000.0)

ARRIVAL_COLUMNS = (
    "network", "station", "latitude_deg", "longitude_deg", "epicentral_distance_m", "hypocentral_distance_m",
    "rupture_distance_m", "joyner_boore_distance_m", "azimuth_deg", "back_azimuth_deg",
    "p_phase", "p_time", "p_travel_time_s", "s_phase", "s_time", "s_travel_time_s",
    "pga_m_s2", "pgv_m_s", "noise_level", "has_signal")


@dataclass(frozen=True, slots=True)
class ScenarioPaths:
    """Where :func:`write_scenario` put things."""

    sds_root: Path
    sds_files: tuple[Path, ...]
    stationxml: Path
    quakeml: Path
    arrivals_csv: Path
    faults_csv: Path | None

    def as_dict(self) -> dict:
        return {"sds_root": str(self.sds_root), "sds_files": len(self.sds_files),
                "stationxml": str(self.stationxml), "quakeml": str(self.quakeml),
                "arrivals_csv": str(self.arrivals_csv),
                "faults_csv": None if self.faults_csv is None else str(self.faults_csv)}


def _pick_streams(result: ScenarioResult) -> dict[str, tuple[StreamID | None, StreamID | None]]:
    """Per station: the stream for the P pick (a vertical) and for the S pick (a horizontal).

    Velocity sensors are preferred over accelerometers, then the first listed.
    """
    recorded = {StreamID(t.stats.network, t.stats.station, t.stats.location, t.stats.channel)
                for t in result.stream}
    recorded |= set(result.responses)
    out = {}
    for st in result.stations:
        chans = sorted((c for c in st.channels if c.stream_id in recorded),
                       key=lambda c: (c.kind.input_units != "M/S", st.channels.index(c)))
        vert = next((c.stream_id for c in chans if c.stream_id.component == "Z"), None)
        horiz = next((c.stream_id for c in chans if c.stream_id.component in "NE12"), vert)
        out[st.station_id] = (vert, horiz)
    return out


def truth_event(result: ScenarioResult) -> Event:
    """The true event: Origin (manual, method "scenario"), Mw, theoretical picks inside the record."""
    src = result.source
    end = result.start.timestamp() + result.duration_s
    streams = _pick_streams(result)
    picks: list[Pick] = []
    arrivals: list[Arrival] = []
    for t in result.truth:
        p_sid, s_sid = streams.get(t.station_id, (None, None))
        for phase, time, takeoff, sid in ((t.p_phase, t.p_time, t.p_takeoff_deg, p_sid),
                                          (t.s_phase, t.s_time, t.s_takeoff_deg, s_sid)):
            if time is None or sid is None or not t.has_signal or time.timestamp() >= end:
                continue
            pick = Pick(stream_id=sid, time=time, phase=phase, time_uncertainty_s=0.0, method="theoretical",
                        evaluation_mode=EvaluationMode.MANUAL)
            picks.append(pick)
            arrivals.append(Arrival(pick_id=pick.id, phase=phase,
                                    distance_deg=t.epicentral_distance_m * _DEG_PER_M,
                                    azimuth_deg=t.azimuth_deg, takeoff_angle_deg=takeoff,
                                    time_residual_s=0.0))
    with_signal = [t for t in result.truth if t.has_signal]
    origin = Origin(time=src.origin_time, latitude_deg=src.latitude_deg, longitude_deg=src.longitude_deg,
                    depth_m=src.depth_m, method="scenario", earth_model=result.model.name,
                    evaluation_mode=EvaluationMode.MANUAL, evaluation_status=EvaluationStatus.FINAL,
                    arrivals=tuple(arrivals), phase_count=len(arrivals),
                    station_count=len({p.stream_id.station_id for p in picks}),
                    minimum_distance_deg=(min(t.epicentral_distance_m for t in with_signal) * _DEG_PER_M
                                          if with_signal else None))
    magnitude = Magnitude(type="Mw", value=round(src.mw, 2), origin_id=origin.id, method="scenario",
                          evaluation_mode=EvaluationMode.MANUAL, evaluation_status=EvaluationStatus.FINAL)
    event = Event(type=EventType.EARTHQUAKE, type_certainty="known", picks=tuple(picks))
    return event.with_origin(origin).with_magnitude(magnitude)


def _fmt(x) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return "" if not math.isfinite(x) else f"{x:.6g}" if abs(x) < 1e-3 else f"{x:.3f}".rstrip("0").rstrip(".")
    if hasattr(x, "isoformat"):
        return x.isoformat().replace("+00:00", "Z")
    return str(x)


def arrivals_csv_text(result: ScenarioResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ARRIVAL_COLUMNS)
    ot = result.source.origin_time
    for t in result.truth:
        tp = None if t.p_time is None else (t.p_time - ot).total_seconds()
        ts = None if t.s_time is None else (t.s_time - ot).total_seconds()
        row = [t.network, t.station, f"{t.latitude_deg:.5f}", f"{t.longitude_deg:.5f}",
               _fmt(t.epicentral_distance_m), _fmt(t.hypocentral_distance_m), _fmt(t.rupture_distance_m),
               _fmt(t.joyner_boore_distance_m), _fmt(t.azimuth_deg), _fmt(t.back_azimuth_deg),
               t.p_phase, _fmt(t.p_time), _fmt(tp), t.s_phase, _fmt(t.s_time), _fmt(ts),
               f"{t.pga_m_s2:.6g}", f"{t.pgv_m_s:.6g}", _fmt(t.noise_level), _fmt(t.has_signal)]
        w.writerow(row)
    return buf.getvalue()


def faults_csv_text(result: ScenarioResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("kind", "stream_id", "start", "end", "details"))
    for f in result.faults:
        w.writerow((f.kind.value, str(f.stream_id), _fmt(f.start), _fmt(f.end),
                    json.dumps(dict(f.details), sort_keys=True)))
    return buf.getvalue()


def read_truth_arrivals(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a ``truth_arrivals.csv`` as dicts of strings (for evaluation code and tests)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def write_scenario(result: ScenarioResult, out_dir: str | os.PathLike) -> ScenarioPaths:
    """Write the scenario's archive, StationXML, truth QuakeML and CSV files under ``out_dir``."""
    from tianshan.io.quakeml import write_quakeml
    from tianshan.io.sds import write_sds
    from tianshan.io.stationxml import write_stationxml

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sds_root = out / "sds"
    sds_files = tuple(write_sds(result.stream, sds_root))
    stationxml = write_stationxml(result.stations, out / "stations.xml", result.responses)
    quakeml = write_quakeml([truth_event(result)], out / "truth.xml")
    arrivals = atomic_write_text(out / "truth_arrivals.csv", arrivals_csv_text(result))
    faults = atomic_write_text(out / "truth_faults.csv", faults_csv_text(result)) if result.faults else None
    return ScenarioPaths(sds_root, sds_files, Path(stationxml), Path(quakeml), arrivals, faults)


__all__ = ["ScenarioPaths", "truth_event", "write_scenario", "arrivals_csv_text", "faults_csv_text",
           "read_truth_arrivals", "StationTruth"]
