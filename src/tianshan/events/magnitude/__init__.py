"""Magnitudes of a located event: amplitudes, station magnitudes, network magnitudes.

One scale per module: :mod:`.ml_gb17740` (ML, GB 17740-2017 formula (1)),
:mod:`.ms_bb` (IASPEI Ms_BB), :mod:`.mw_spectral` (Mw from Brune fits of S
spectra); :mod:`.network` averages station magnitudes; :mod:`.instrument`
removes responses and simulates reference instruments.

:func:`compute_magnitudes` (the stage entry point):

1. per station (``stations``), the channels of one sensor (velocity
   broadband/short-period preferred over accelerometers; location code and
   band of the first such Z/N/E set; a clipped (flat-topped) sensor gives way to
   the next, e.g. the accelerometer) are corrected to ground velocity with the
   ``inventory`` responses; a channel without a response or data is skipped and
   counted in ``MagnitudeResult.skipped``;
2. windows: the S pick of the station if any, else the theoretical S time
   ``origin + 1.73 (t_P - origin)`` from its P pick, else
   ``origin + R / 3.5 km/s`` (R hypocentral); background before the P (pick or
   ``origin + R / 6 km/s``);
3. ML on the two horizontals in ``[t_S - 1 s, t_S + max(10 s, t_S - t_P)]``,
   kept when both maxima exceed twice the background maximum (GB 17740 3.1);
4. Mw (:mod:`.mw_spectral`) when the network ML is at least ``mw_min_ml``
   (3.5), on stations 10-300 km away, S window of ``clip(20 + 0.1 R_km, 20, 80)`` s;
5. Ms_BB on vertical velocity at 2-160 deg;
5b. mb (WWSSN-SP simulation) and mB_BB (vertical velocity) at 20-100 deg
   (:mod:`.mb`; IASPEI 2013, Q of Gutenberg & Richter 1956 by default,
   ``mb_table``): only stations of teleseismic distance give them, so at
   Xinjiang network distances they are normally absent; P time from the P pick,
   else the iasp91 P (ObsPy TauP);
6. network magnitudes with :func:`.network.network_magnitude` (SeisComP's
   default: mean below 4 stations, trimmed mean(25) otherwise).

Preferred magnitude: Mw when it exists, comes from at least
``min_mw_stations`` stations and is >= 4.0 (below M4 spectral Mw is not
reliable with the corner near the kappa band); else ML; else Ms_BB; else mb.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from tianshan.core.errors import DomainError
from tianshan.core.magnitude import Magnitude, StationMagnitude
from tianshan.core.origin import Origin
from tianshan.core.pick import Amplitude, Pick
from tianshan.core.station import Station
from tianshan.events.magnitude.instrument import WOOD_ANDERSON, Instrument
from tianshan.events.magnitude.mw_spectral import DEFAULT_PARAMS, SpectralParams
from tianshan.events.magnitude.network import network_magnitude

__all__ = ["MagnitudeConfig", "MagnitudeResult", "compute_magnitudes"]

VP_VS = 1.73
S_VELOCITY_M_S = 3500.0
P_VELOCITY_M_S = 6000.0


@dataclass(frozen=True)
class MagnitudeConfig:
    """Settings of the magnitude stage (paths, instrument, thresholds)."""

    #: ML calibration table (CSV); None: the packaged default (see ml_gb17740).
    ml_calibration: str | Path | None = None
    ml_instrument: Instrument = WOOD_ANDERSON
    average: str = "default"
    mw_min_ml: float = 3.5
    min_mw_stations: int = 2
    preferred_mw_min: float = 4.0
    spectral: SpectralParams = DEFAULT_PARAMS
    noise_window_s: float = 30.0
    #: Q(Δ, h) table of mb and mB_BB: "gr1956" (IASPEI standard), "seiscomp" or a CSV path.
    mb_table: str = "gr1956"


@dataclass(frozen=True)
class MagnitudeResult:
    """Amplitudes, network magnitudes (with their station magnitudes), the preferred one, skip counts."""

    amplitudes: tuple[Amplitude, ...]
    magnitudes: tuple[Magnitude, ...]
    preferred: Magnitude | None
    skipped: dict = field(default_factory=dict)

    def get(self, mag_type: str) -> Magnitude | None:
        return next((m for m in self.magnitudes if m.type == mag_type), None)


@dataclass
class _StationData:
    station: Station
    traces: dict  # component letter -> velocity Trace (m/s)
    epicentral_m: float
    hypocentral_m: float
    distance_deg: float
    t_p: object
    t_s: object
    s_pick: Pick | None
    p_pick: Pick | None


def _utc(t):
    from obspy import UTCDateTime
    return UTCDateTime(t)


def _choose_sensor(st, station: Station):
    """Traces of one sensor at the station: velocity channels first (H/B/E/S band, 2nd letter H/L)."""
    sel = [tr for tr in st if tr.stats.network == station.network and tr.stats.station == station.code]
    groups: dict[tuple[str, str], list] = {}
    for tr in sel:
        groups.setdefault((tr.stats.location, tr.stats.channel[:2]), []).append(tr)

    def rank(key):
        inst = key[1][1] if len(key[1]) > 1 else ""
        return (0 if inst in "HL" else 1, 0 if key[1][0] in "HB" else 1, key)
    return [groups[k] for k in sorted(groups, key=rank)]


def is_clipped(trace, min_counts: float = 1.0e5, min_repeats: int = 3) -> bool:
    """True when the raw record is flat-topped: its extreme |value| (> ``min_counts``) occurs
    at least ``min_repeats`` times (a saturated sensor or digitiser holds its limit)."""
    import numpy as np

    data = np.abs(np.asarray(trace.data, dtype=float))
    if data.size == 0:
        return False
    peak = float(data.max())
    return peak > min_counts and int(np.count_nonzero(data >= peak * (1.0 - 1e-9))) >= min_repeats


def _velocity_traces(traces, inventory, skipped: Counter) -> dict:
    from tianshan.events.magnitude.instrument import to_velocity

    out: dict = {}
    for tr in traces:
        comp = tr.stats.channel[-1]
        comp = {"1": "N", "2": "E"}.get(comp, comp)
        if comp in out and out[comp].stats.npts >= tr.stats.npts:
            continue
        if is_clipped(tr):
            skipped["clipped"] += 1
            return {}   # the whole sensor is unusable for amplitudes: try the next one
        try:
            out[comp] = to_velocity(tr, inventory)
        except Exception:  # noqa: BLE001 - ObsPy raises several types for a missing/broken response
            skipped["no response"] += 1
    return out


def _arrival_times(origin: Origin, sid: str, hyp_m: float, picks: Sequence[Pick]):
    t0 = _utc(origin.time)
    p = next((pk for pk in picks if pk.stream_id.station_id == sid and pk.phase.upper().startswith("P")), None)
    s = next((pk for pk in picks if pk.stream_id.station_id == sid and pk.phase.upper().startswith("S")), None)
    t_p = _utc(p.time) if p else t0 + hyp_m / P_VELOCITY_M_S
    if s:
        t_s = _utc(s.time)
    elif p:
        t_s = t0 + VP_VS * (t_p - t0)
    else:
        t_s = t0 + hyp_m / S_VELOCITY_M_S
    return t_p, t_s, p, s


def _gather(origin, picks, stream, inventory, stations, skipped) -> list[_StationData]:
    from obspy.geodetics import gps2dist_azimuth, kilometer2degrees

    out = []
    for sta in stations:
        groups = _choose_sensor(stream, sta)
        if not groups:
            continue
        traces = {}
        for g in groups:
            traces = _velocity_traces(g, inventory, skipped)
            if traces:
                break
        if not traces:
            continue
        epi = gps2dist_azimuth(origin.latitude_deg, origin.longitude_deg, sta.latitude_deg, sta.longitude_deg)[0]
        hyp = math.hypot(epi, origin.depth_m + sta.elevation_m)
        t_p, t_s, p, s = _arrival_times(origin, sta.station_id, hyp, picks)
        out.append(_StationData(sta, traces, epi, hyp, kilometer2degrees(epi / 1000.0), t_p, t_s, s, p))
    return out


def _noise_peak(tr, t_p, length_s: float) -> float | None:
    from tianshan.events.magnitude.ml_gb17740 import peak_in_window

    if tr.stats.starttime > t_p - 5.0:
        return None
    got = peak_in_window(tr, max(tr.stats.starttime, t_p - 1.0 - length_s), t_p - 1.0)
    return None if got is None else got[0]


def _network(mag_type, values, station_mags, origin, method_text, average):
    nv = network_magnitude(values, average)
    sms = tuple(StationMagnitude(sm.stream_id, sm.type, sm.value, sm.amplitude_id,
                                 residual=sm.value - nv.value, weight=w, id=sm.id)
                for sm, w in zip(station_mags, nv.weights))
    return Magnitude(mag_type, nv.value, origin_id=origin.id, uncertainty=nv.uncertainty,
                     station_count=nv.station_count, method=f"{method_text}; {nv.method}",
                     station_magnitudes=sms)


def _ml(data, origin, cfg, table, skipped):
    from tianshan.core.ids import StreamID
    from tianshan.events.magnitude.instrument import simulate
    from tianshan.events.magnitude.ml_gb17740 import MIN_SNR, ml_station, peak_in_window

    amps, values, sms = [], [], []
    for d in data:
        if "N" not in d.traces or "E" not in d.traces:
            skipped["ml: no horizontals"] += 1
            continue
        dist_km = (d.hypocentral_m if table.distance == "hypocentral" else d.epicentral_m) / 1000.0
        if table.r(dist_km) is None:
            skipped["ml: outside calibration range"] += 1
            continue
        t1 = d.t_s - 1.0
        t2 = d.t_s + max(10.0, d.t_s - d.t_p)
        peaks, snrs = [], []
        for comp in ("N", "E"):
            wa = simulate(d.traces[comp], cfg.ml_instrument)
            got = peak_in_window(wa, t1, t2)
            if got is None:
                break
            noise = _noise_peak(wa, d.t_p, cfg.noise_window_s)
            snr = None if not noise else got[0] / noise
            if snr is not None and snr < MIN_SNR:
                break
            peaks.append(got)
            snrs.append(snr)
        if len(peaks) != 2:
            skipped["ml: no usable amplitude"] += 1
            continue
        a_m = 0.5 * (peaks[0][0] + peaks[1][0])
        value = ml_station(peaks[0][0] * 1e6, peaks[1][0] * 1e6, dist_km, table)
        tr = d.traces["N"]
        sid = StreamID(tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel)
        snr_vals = [s for s in snrs if s is not None]
        amp = Amplitude(sid, "AML", a_m, "m", time=peaks[0][1].datetime, snr=min(snr_vals) if snr_vals else None,
                        pick_id=d.s_pick.id if d.s_pick else None,
                        method=f"GB17740 mean of N,E peak ground displacement on {cfg.ml_instrument.name}")
        if not _keep(amps, (values, sms), amp, sid, "ML", value):
            skipped["ml: value out of range"] += 1
    if not values:
        return amps, None
    return amps, _network("ML", values, sms, origin, f"GB17740-2017 formula (1); R: {table.source}", cfg.average)


def _mw(data, origin, cfg, skipped):
    from tianshan.core.ids import StreamID
    from tianshan.events.magnitude.mw_spectral import station_brune_fit, station_mw

    p = cfg.spectral
    amps, values, sms = [], [], []
    for d in data:
        if not (p.min_distance_m <= d.hypocentral_m <= p.max_distance_m) or "N" not in d.traces \
                or "E" not in d.traces:
            continue
        length = min(80.0, max(20.0, 20.0 + 0.1 * d.hypocentral_m / 1000.0))
        trn, tre = d.traces["N"], d.traces["E"]
        fs = trn.stats.sampling_rate
        sn = trn.slice(d.t_s - 1.0, d.t_s - 1.0 + length).data
        se = tre.slice(d.t_s - 1.0, d.t_s - 1.0 + length).data
        n = min(len(sn), len(se))
        if n < 0.9 * length * fs:
            skipped["mw: window not covered"] += 1
            continue
        nn = trn.slice(d.t_p - 1.0 - length, d.t_p - 1.0).data
        ne = tre.slice(d.t_p - 1.0 - length, d.t_p - 1.0).data
        m = min(len(nn), len(ne))
        fit = station_brune_fit(sn[:n], se[:n], nn[:m] if m else None, ne[:m] if m else None, fs,
                                d.hypocentral_m, p)
        if fit is None:
            skipped["mw: no usable spectrum"] += 1
            continue
        value = station_mw(fit, d.hypocentral_m, p)
        sid = StreamID(trn.stats.network, trn.stats.station, trn.stats.location, trn.stats.channel)
        amp = Amplitude(sid, "Omega0", fit.omega0_m_s * 1.0, "other", time=d.t_s.datetime, period_s=1.0 / fit.corner_hz,
                        pick_id=d.s_pick.id if d.s_pick else None,
                        method=f"Brune fit {fit.fmin_hz:.2f}-{fit.fmax_hz:.1f} Hz, rms {fit.rms_log10:.2f} (m s)")
        _keep(amps, (values, sms), amp, sid, "Mw", value)
    if not values:
        return amps, None
    return amps, _network("Mw", values, sms, origin, "Brune (1970) S-spectrum fit, Mw IASPEI 2013", cfg.average)


def _ms_bb(data, origin, cfg, skipped):
    from tianshan.core.ids import StreamID
    from tianshan.events.magnitude.ms_bb import measure_vmax, ms_bb

    amps, values, sms = [], [], []
    t0 = _utc(origin.time)
    for d in data:
        if "Z" not in d.traces:
            continue
        tr = d.traces["Z"]
        if ms_bb(1.0, d.distance_deg, origin.depth_m) is None:
            continue
        got = measure_vmax(tr, t0, d.distance_deg)
        if got is None or got[0] <= 0:
            skipped["ms_bb: window not covered"] += 1
            continue
        value = ms_bb(got[0] * 1e9, d.distance_deg, origin.depth_m)
        sid = StreamID(tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel)
        amp = Amplitude(sid, "AMSBB", got[0], "m/s", time=got[1].datetime, method="IASPEI Vmax 3-60 s vertical")
        _keep(amps, (values, sms), amp, sid, "Ms_BB", value)
    if not values:
        return amps, None
    return amps, _network("Ms_BB", values, sms, origin, "IASPEI 2013 Ms_BB", cfg.average)


@lru_cache(maxsize=1)
def _iasp91():
    from obspy.taup import TauPyModel
    return TauPyModel("iasp91")


def _teleseismic_p(origin: Origin, d: "_StationData"):
    """The station's P time: its P pick, else the iasp91 first P (ObsPy TauP)."""
    if d.p_pick is not None:
        return d.t_p
    arr = _iasp91().get_travel_times(max(0.0, origin.depth_m / 1000.0), d.distance_deg, phase_list=["P", "Pdiff"])
    return None if not arr else _utc(origin.time) + arr[0].time


def _body_wave(data, origin, cfg, skipped):
    """mb and mB_BB station and network magnitudes for stations at 20-100 deg (see :mod:`.mb`)."""
    from tianshan.core.ids import StreamID
    from tianshan.events.magnitude import mb as mbm
    from tianshan.events.magnitude.instrument import WWSSN_SP, simulate

    table = mbm.load_q_table(cfg.mb_table)
    amps, out = [], []
    per_type = {"mb": ([], []), "mB_BB": ([], [])}
    for d in data:
        if "Z" not in d.traces or not (mbm.MIN_DISTANCE_DEG <= d.distance_deg <= mbm.MAX_DISTANCE_DEG):
            continue
        if mbm.q_value(d.distance_deg, origin.depth_m, table) is None:
            continue
        t_p = _teleseismic_p(origin, d)
        if t_p is None:
            continue
        tr = d.traces["Z"]
        sid = StreamID(tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel)
        pick_id = d.p_pick.id if d.p_pick else None
        got = mbm.measure_mb_amplitude(simulate(tr, WWSSN_SP), t_p)
        value = None if got is None or got[0] <= 0 else mbm.mb(got[0] * 1e9, got[1], d.distance_deg,
                                                                  origin.depth_m, table)
        if value is None:
            skipped["mb: no usable amplitude"] += 1
        else:
            amp = Amplitude(sid, "Amb", got[0], "m", period_s=got[1], time=got[2].datetime, pick_id=pick_id,
                            method="IASPEI mb: half peak-to-trough on WWSSN-SP simulation, P + 30 s")
            _keep(amps, per_type["mb"], amp, sid, "mb", value)
        got = mbm.measure_vmax(tr, t_p, d.distance_deg)
        value = None if got is None or got[0] <= 0 else mbm.mb_bb(got[0] * 1e9, d.distance_deg,
                                                                     origin.depth_m, table)
        if value is None:
            skipped["mB_BB: no usable amplitude"] += 1
        else:
            amp = Amplitude(sid, "AmB_BB", got[0], "m/s", time=got[1].datetime, pick_id=pick_id,
                            method="IASPEI mB_BB: Vmax 1/30-5 Hz vertical, P + min(11.5 delta, 60) s")
            _keep(amps, per_type["mB_BB"], amp, sid, "mB_BB", value)
    for mag_type, (values, sms) in per_type.items():
        if values:
            out.append(_network(mag_type, values, sms, origin, f"IASPEI 2013 {mag_type}; Q: {table.source[:60]}",
                                cfg.average))
    return amps, out


def _keep(amps, bucket, amp, sid, mag_type, value) -> bool:
    """Keep ``amp`` and its station magnitude in ``bucket`` (values, station magnitudes).

    A value outside the magnitude range is dropped (False) with its amplitude.
    """
    try:
        sm = StationMagnitude(sid, mag_type, value, amplitude_id=amp.id)
    except DomainError:
        return False
    amps.append(amp)
    bucket[0].append(value)
    bucket[1].append(sm)
    return True


def compute_magnitudes(origin: Origin, picks: Sequence[Pick], stream, inventory,
                       stations: Sequence[Station], config: MagnitudeConfig | None = None) -> MagnitudeResult:
    """All magnitudes of ``origin`` from raw ``stream`` (counts) and ``inventory`` responses.

    See the package docstring for windows, scales and the preferred-magnitude rule.
    """
    from tianshan.events.magnitude.ml_gb17740 import load_calibration

    cfg = config or MagnitudeConfig()
    table = load_calibration(cfg.ml_calibration)
    skipped: Counter = Counter()
    data = _gather(origin, list(picks), stream, inventory, list(stations), skipped)
    amps: list[Amplitude] = []
    mags: list[Magnitude] = []
    a, ml = _ml(data, origin, cfg, table, skipped)
    amps += a
    if ml is not None:
        mags.append(ml)
    mw = None
    if ml is not None and ml.value >= cfg.mw_min_ml:
        a, mw = _mw(data, origin, cfg, skipped)
        amps += a
        if mw is not None:
            mags.append(mw)
    a, ms = _ms_bb(data, origin, cfg, skipped)
    amps += a
    if ms is not None:
        mags.append(ms)
    a, body = _body_wave(data, origin, cfg, skipped)
    amps += a
    mags += body
    mb_mag = next((m for m in body if m.type == "mb"), None)
    preferred = None
    if mw is not None and (mw.station_count or 0) >= cfg.min_mw_stations and mw.value >= cfg.preferred_mw_min:
        preferred = mw
    elif ml is not None:
        preferred = ml
    elif ms is not None:
        preferred = ms
    elif mb_mag is not None:
        preferred = mb_mag
    return MagnitudeResult(tuple(amps), tuple(mags), preferred, dict(skipped))
