"""OpenEEW accelerometer packets (JSON) → standard ObsPy traces.

Packet shape (OpenEEW data README, github.com/openeew/openeew ``data/README.md``, section
"Data fields"): one JSON object per packet with

* ``device_id`` (str), ``country_code`` (str, optional here);
* ``x``, ``y``, ``z``: equal-length arrays of acceleration in **gal** (cm/s²), typically 32 values;
* ``sr``: sample rate, values per second (31.25 for the Mexico network);
* ``device_t``: device Unix time of the **final** values of the arrays;
* ``cloud_t``: Unix time the packet reached the cloud.

The README assigns each sample a time by "subtracting from the timestamp a multiple of
``1/sr`` based on the array index", so sample ``i`` of ``n`` is at ``t_ref - (n - 1 - i) / sr``
and the trace starts at ``t_ref - (n - 1) / sr``.

Which time: the device clock is smooth (packet-to-packet intervals stable to ~1 ms in the
Mexico data) but can be off by tens of minutes (devices 012 and 015 on 2018-02-16 run
~1816 s and ~1948 s behind ``cloud_t``), while ``cloud_t`` carries network jitter (packet
intervals from 0.4 s to 1.7 s). ``time_field="auto"`` (default) uses ``device_t`` unless it
differs from ``cloud_t`` by more than ``max_clock_skew_s``, and then ``cloud_t`` (counted as
a clock-skew fallback). The README itself recommends ``cloud_t`` as the more robust choice;
pass ``time_field="cloud_t"`` to follow it strictly.

Stream ids (documented mapping, :func:`openeew_stream_ids`):

* network ``OE`` (configurable);
* station: the device id upper-cased with non-alphanumerics removed; ids of 1-5 characters
  are kept as they are (``"000"`` → ``000``), longer ids (e.g. a MAC address
  ``7C:9E:BD:4D:F8:A4``) keep their **last five** characters (``DF8A4``); an explicit
  ``station_map`` overrides this;
* location ``""``; channel band/instrument ``HN`` (high-rate accelerometer, SEED manual
  appendix A; 31.25 Hz is "H"-band only nominally — SEED gives "H" for ≥ 80 Hz broadband
  and "E"/"S" below, but strong-motion practice and OpenEEW consumers use HN; pass
  ``band="SN"`` for strict SEED);
* orientation: OpenEEW devices are wall-mounted, and the OpenEEW device metadata names the
  vertical axis per device (``vertical_axis``, ``horizontal_axes``). The Mexico
  ``device_locations.json`` here does not carry it, so the default map is ``x → E``,
  ``y → N``, ``z → Z``; pass ``axis_map`` (e.g. ``{"x": "1", "y": "2", "z": "Z"}`` when the
  horizontal azimuths are unknown, SEED's convention for non-N/E horizontals).

Units: 1 gal = 0.01 m/s² (SI; BIPM SI brochure, non-SI unit table); traces carry m/s².
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from tianshan.core.errors import InputError

GAL_TO_M_PER_S2 = 0.01
DEFAULT_NETWORK = "OE"
DEFAULT_BAND = "HN"
DEFAULT_AXIS_MAP: Mapping[str, str] = {"x": "E", "y": "N", "z": "Z"}
TIME_FIELDS = ("auto", "device_t", "cloud_t")
#: packets claiming more samples than this are rejected (OpenEEW sends 32)
MAX_SAMPLES_PER_PACKET = 10_000

_ALNUM = re.compile(r"[^A-Z0-9]")


class MalformedPacket(InputError):
    """An OpenEEW packet that cannot be turned into traces; ``field`` names the problem."""


@dataclass
class PacketCounters:
    """Counts of packets seen, converted and rejected (``rejected`` by reason)."""

    packets: int = 0
    converted: int = 0
    clock_fallbacks: int = 0
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)

    @property
    def malformed(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict[str, Any]:
        return {"packets": self.packets, "converted": self.converted, "malformed": self.malformed,
                "clock_fallbacks": self.clock_fallbacks, "duplicates": self.duplicates,
                "rejected": dict(self.rejected)}


def openeew_station_code(device_id: str, station_map: Mapping[str, str] | None = None) -> str:
    """SEED station code (1-5 upper-case alphanumerics) for an OpenEEW ``device_id``.

    ``station_map[device_id]`` wins when given; otherwise non-alphanumerics are dropped,
    letters upper-cased and the last five characters kept.
    """
    if station_map and device_id in station_map:
        return station_map[device_id]
    code = _ALNUM.sub("", str(device_id).upper())
    if not code:
        raise MalformedPacket(f"device_id {device_id!r} has no letters or digits", field="device_id")
    return code[-5:]


def openeew_stream_ids(device_id: str, *, network: str = DEFAULT_NETWORK, location: str = "",
                       band: str = DEFAULT_BAND, axis_map: Mapping[str, str] | None = None,
                       station_map: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"x": "OE.000..HNE", ...}``: the SEED id each OpenEEW axis is written to."""
    amap = dict(DEFAULT_AXIS_MAP if axis_map is None else axis_map)
    sta = openeew_station_code(device_id, station_map)
    return {axis: f"{network}.{sta}.{location}.{band}{amap[axis]}" for axis in ("x", "y", "z")}


def _decode(obj: Any) -> dict:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        try:
            obj = bytes(obj).decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket("packet is not UTF-8 text", field="json") from None
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except (json.JSONDecodeError, RecursionError):
            raise MalformedPacket("packet is not valid JSON", field="json") from None
    if not isinstance(obj, dict):
        raise MalformedPacket(f"packet must be a JSON object, got {type(obj).__name__}", field="json")
    return obj


def _finite_number(pkt: dict, name: str, *, required: bool = True) -> float | None:
    value = pkt.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MalformedPacket(f"{name} must be a finite number, got {value!r}", field=name)
    return float(value)


def packet_time(pkt: dict, *, time_field: str = "auto", max_clock_skew_s: float = 2.0) -> tuple[float, bool]:
    """Unix time (s) of the packet's last sample, and whether ``auto`` fell back to ``cloud_t``."""
    if time_field not in TIME_FIELDS:
        raise InputError(f"time_field must be one of {TIME_FIELDS}, got {time_field!r}", field="time_field")
    if time_field == "cloud_t":
        return _finite_number(pkt, "cloud_t"), False
    if time_field == "device_t":
        return _finite_number(pkt, "device_t"), False
    device_t = _finite_number(pkt, "device_t", required=False)
    cloud_t = _finite_number(pkt, "cloud_t", required=False)
    if device_t is None and cloud_t is None:
        raise MalformedPacket("packet has neither device_t nor cloud_t", field="device_t")
    if device_t is None:
        return cloud_t, True
    if cloud_t is not None and abs(device_t - cloud_t) > max_clock_skew_s:
        return cloud_t, True
    return device_t, False


def validate_openeew_packet(obj: Any, *, time_field: str = "auto",
                            max_clock_skew_s: float = 2.0) -> tuple[dict, np.ndarray, float, float, bool]:
    """Check one packet; returns ``(packet, samples[3, n] in gal, sr_hz, t_last_s, clock_fallback)``.

    Raises :class:`MalformedPacket` (``field`` = the offending key) on any defect.
    """
    pkt = _decode(obj)
    device_id = pkt.get("device_id")
    if not isinstance(device_id, (str, int)) or isinstance(device_id, bool) or str(device_id) == "":
        raise MalformedPacket(f"device_id missing or invalid: {device_id!r}", field="device_id")
    sr = _finite_number(pkt, "sr")
    if not 0.0 < sr <= 10_000.0:
        raise MalformedPacket(f"sr must be in (0, 10000] Hz, got {sr}", field="sr")
    arrays = []
    for axis in ("x", "y", "z"):
        values = pkt.get(axis)
        if not isinstance(values, list) or not values:
            raise MalformedPacket(f"{axis} must be a non-empty array", field=axis)
        if len(values) > MAX_SAMPLES_PER_PACKET:
            raise MalformedPacket(f"{axis} has {len(values)} samples (max {MAX_SAMPLES_PER_PACKET})", field=axis)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise MalformedPacket(f"{axis} holds non-numeric values", field=axis)
        arr = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            raise MalformedPacket(f"{axis} holds non-finite values", field=axis)
        arrays.append(arr)
    if not len(arrays[0]) == len(arrays[1]) == len(arrays[2]):
        raise MalformedPacket(f"x/y/z lengths differ ({[len(a) for a in arrays]})", field="x")
    t_last, fallback = packet_time(pkt, time_field=time_field, max_clock_skew_s=max_clock_skew_s)
    if not 0.0 < t_last < 4102444800.0:  # 1970 .. 2100
        raise MalformedPacket(f"time {t_last} outside 1970-2100", field="device_t")
    return pkt, np.vstack(arrays), sr, t_last, fallback


def parse_openeew_packet(obj: Any, *, network: str = DEFAULT_NETWORK, location: str = "",
                         band: str = DEFAULT_BAND, axis_map: Mapping[str, str] | None = None,
                         station_map: Mapping[str, str] | None = None, time_field: str = "auto",
                         max_clock_skew_s: float = 2.0, counters: PacketCounters | None = None) -> list:
    """One OpenEEW packet (dict, JSON text or bytes) → three ``obspy.Trace`` in m/s².

    Sample ``i`` of ``n`` is at ``t_ref - (n - 1 - i) / sr`` (OpenEEW data README); traces are
    in axis order x, y, z with the ids of :func:`openeew_stream_ids`. Raises
    :class:`MalformedPacket` on a bad packet (after counting it in ``counters``).
    """
    from obspy import Trace, UTCDateTime

    if counters is not None:
        counters.packets += 1
    try:
        pkt, data, sr, t_last, fallback = validate_openeew_packet(
            obj, time_field=time_field, max_clock_skew_s=max_clock_skew_s)
        ids = openeew_stream_ids(str(pkt["device_id"]), network=network, location=location, band=band,
                                 axis_map=axis_map, station_map=station_map)
    except MalformedPacket as err:
        if counters is not None:
            counters.rejected[err.field or "packet"] += 1
        raise
    start = UTCDateTime(t_last - (data.shape[1] - 1) / sr)
    traces = []
    for k, axis in enumerate(("x", "y", "z")):
        net, sta, loc, cha = ids[axis].split(".")
        tr = Trace(data=data[k] * GAL_TO_M_PER_S2,
                   header={"network": net, "station": sta, "location": loc, "channel": cha,
                           "sampling_rate": sr, "starttime": start})
        traces.append(tr)
    if counters is not None:
        counters.converted += 1
        counters.clock_fallbacks += int(fallback)
    return traces


def iter_openeew_jsonl(paths: Iterable[str | os.PathLike] | str | os.PathLike,
                       counters: PacketCounters | None = None) -> list[dict]:
    """Read OpenEEW ``*.jsonl`` files; returns the well-formed JSON objects (bad lines counted).

    Lines that are not JSON objects are skipped and counted under ``rejected["json"]``;
    deeper checks happen in :func:`parse_openeew_packet` / :func:`assemble_openeew_traces`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise InputError(f"cannot read OpenEEW file ({err.strerror})", source=str(path)) from None
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                out.append(_decode(line))
            except MalformedPacket as err:
                if counters is not None:
                    counters.packets += 1
                    counters.rejected[err.field or "json"] += 1
    return out


def _fit_run(n_samples: np.ndarray, t_last: np.ndarray) -> tuple[float, float, float]:
    """Least-squares clock fit of one contiguous run.

    Packet ``k`` ends at cumulative sample index ``c_k = sum(n_0..n_k) - 1`` with time tag
    ``t_k``; fit ``t_k = t0 + c_k * dt``. Returns ``(t0_s, dt_s, max_abs_residual_s)``.
    """
    c = np.cumsum(n_samples) - 1.0
    if len(c) == 1:
        return float("nan"), float("nan"), 0.0
    dt, t0 = np.polyfit(c - c[0], t_last - t_last[0], 1)
    t0 = t0 + t_last[0] - c[0] * dt
    resid = t_last - (t0 + c * dt)
    return float(t0), float(dt), float(np.max(np.abs(resid)))


@dataclass(frozen=True)
class RunInfo:
    """One contiguous run of packets of one device, as assembled."""

    device_id: str
    packets: int
    samples: int
    start_s: float
    measured_rate_hz: float
    nominal_rate_hz: float
    max_residual_s: float


def assemble_openeew_traces(packets: Iterable[Any], *, network: str = DEFAULT_NETWORK, location: str = "",
                            band: str = DEFAULT_BAND, axis_map: Mapping[str, str] | None = None,
                            station_map: Mapping[str, str] | None = None, max_clock_skew_s: float = 2.0,
                            rate_tolerance: float = 0.10, counters: PacketCounters | None = None,
                            runs: list[RunInfo] | None = None):
    """Archived OpenEEW packets → an ObsPy ``Stream`` of continuous traces at the nominal ``sr``.

    Per device, packets are ordered by device time (duplicates dropped and counted) and split
    into *contiguous runs*: packet ``k`` continues the run when its tag follows the previous
    one by ``n_k / sr`` within ``± rate_tolerance`` (relative), so a missing packet or a clock
    jump starts a new trace. A run's clock is the least-squares line through its packet tags
    (:func:`_fit_run`); the device clock is moved onto ``cloud_t`` when their median offset
    exceeds ``max_clock_skew_s``. Low-cost digitizers do not sample at exactly ``sr``: the
    2018 Mexico devices deliver 32 samples every ~1.065 s (≈ 30.06 Hz for a nominal 31.25 Hz).
    A run whose measured rate differs from ``sr`` by more than 1e-4 is resampled onto the
    nominal ``sr`` grid with ObsPy's Lanczos interpolation (``Trace.interpolate``, a = 12),
    keeping sample times true to the device clock instead of letting them drift (~8 s per
    5 min at 30.06 Hz). ``runs`` (a list) receives one :class:`RunInfo` per run.
    """
    from obspy import Stream, Trace, UTCDateTime

    counters = counters if counters is not None else PacketCounters()
    by_device: dict[str, list] = {}
    for obj in packets:
        counters.packets += 1
        try:
            obj = _decode(obj)
            tf = "device_t" if obj.get("device_t") is not None else "cloud_t"
            pkt, data, sr, t_dev, _ = validate_openeew_packet(obj, time_field=tf)
            ids = openeew_stream_ids(str(pkt["device_id"]), network=network, location=location, band=band,
                                     axis_map=axis_map, station_map=station_map)
        except MalformedPacket as err:
            counters.rejected[err.field or "packet"] += 1
            continue
        cloud = pkt.get("cloud_t")
        cloud = float(cloud) if isinstance(cloud, (int, float)) and math.isfinite(cloud) else t_dev
        by_device.setdefault(str(pkt["device_id"]), []).append((t_dev, cloud, sr, data, ids))
        counters.converted += 1
    out = Stream()
    for device_id, items in sorted(by_device.items()):
        items.sort(key=lambda it: it[0])
        offset = float(np.median([c - t for t, c, *_ in items]))
        if abs(offset) <= max_clock_skew_s:
            offset = 0.0
        else:
            counters.clock_fallbacks += len(items)
        run: list = []
        groups: list[list] = []
        for it in items:
            if run and abs(it[0] - run[-1][0]) < 0.25 / it[2]:
                counters.duplicates += 1
                continue
            if run:
                expected = it[3].shape[1] / it[2]
                step = it[0] - run[-1][0]
                if it[2] != run[-1][2] or abs(step - expected) > rate_tolerance * expected or it[4] != run[-1][4]:
                    groups.append(run)
                    run = []
            run.append(it)
        if run:
            groups.append(run)
        for grp in groups:
            sr = grp[0][2]
            n = np.array([g[3].shape[1] for g in grp], dtype=float)
            tags = np.array([g[0] for g in grp]) + offset
            data = np.hstack([g[3] for g in grp]) * GAL_TO_M_PER_S2
            t0, dt, resid = _fit_run(n, tags)
            if not math.isfinite(dt):
                t0, dt = tags[0] - (n[0] - 1) / sr, 1.0 / sr
            measured = 1.0 / dt
            for k, sid in enumerate(grp[0][4][a] for a in ("x", "y", "z")):
                net, sta, loc, cha = sid.split(".")
                tr = Trace(data=data[k].copy(), header={"network": net, "station": sta, "location": loc,
                                                        "channel": cha, "sampling_rate": measured,
                                                        "starttime": UTCDateTime(t0)})
                if abs(measured - sr) > 1e-4 * sr and tr.stats.npts > 1:
                    tr.interpolate(sampling_rate=sr, method="lanczos", a=12)
                else:
                    tr.stats.sampling_rate = sr
                out.append(tr)
            if runs is not None:
                runs.append(RunInfo(device_id, len(grp), int(n.sum()), float(t0), float(measured), sr, resid))
    return out
