"""Waveform discrimination features: high-frequency S/P amplitude ratio and P-wave spectral ratio.

Explosions excite P efficiently and S (Lg) poorly at high frequency, so their
S/P amplitude ratios above ~5 Hz are lower than those of earthquakes of the
same size and distance:

* Kim, W.-Y., Simpson, D. W. & Richards, P. G. (1993), *Discrimination of
  regional earthquakes and explosions in eastern Kazakhstan*, BSSA 83(4),
  1236-1260 (Pg/Lg amplitude ratios separate at 1-25 Hz, best above 5 Hz);
* Walter, W. R., Mayeda, K. M. & Patton, H. J. (1995), *Phase and spectral
  ratio discrimination between NTS earthquakes and explosions. Part I:
  Empirical observations*, BSSA 85(4), 1050-1067 (Pn/Lg and Pg/Lg ratios in
  the 6-8 Hz band discriminate best; low/high-frequency spectral ratios of
  one phase are weaker, as source depth and corner frequency trade off).

Per station with both a P and an S pick we measure, on the vertical
component, the peak absolute amplitude in the band ``band_hz`` (default
6-8 Hz, Walter et al.'s best band) in a P window ``[tP - 0.1 s, tP + L]`` and
an S window ``[tS - 0.1 s, tS + L]`` with ``L = min(window_s, tS - tP)`` (so
the P window never reaches S), and the ratio of RMS amplitudes of the P window
in the ``high_hz`` and ``low_hz`` bands. The event features are the network
medians of log10(S/P) and log10(high/low). Units cancel in both ratios, so the
stream may be in raw counts. Filters are zero-phase Butterworth band-passes
(ObsPy ``filter("bandpass", zerophase=True)``) applied to a demeaned,
5 %-tapered copy.

These features are *computed* here; how much they weigh in the event type
depends on a model trained with them (see :mod:`.model`). The shipped PNSN
model has catalog features only.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from tianshan.core.pick import Pick


@dataclass(frozen=True, slots=True)
class StationRatios:
    """One station's ratios (log10), with the stream they were measured on."""

    stream: str
    sp_amplitude_log10: float
    spectral_ratio_log10: float | None


def _window(trace, t0, t1):
    from obspy import UTCDateTime

    tr = trace.slice(UTCDateTime(t0), UTCDateTime(t1))
    return tr.data if tr.stats.npts >= 4 else None


def _band(trace, band):
    tr = trace.copy()
    tr.detrend("demean")
    tr.taper(0.05)
    nyq = 0.5 * tr.stats.sampling_rate
    if band[1] >= nyq:
        return None
    tr.filter("bandpass", freqmin=band[0], freqmax=band[1], corners=4, zerophase=True)
    return tr


def station_ratios(stream, picks: Sequence[Pick], band_hz=(6.0, 8.0), low_hz=(1.0, 3.0), high_hz=(6.0, 12.0),
                   window_s: float = 5.0, pad_s: float = 10.0) -> list[StationRatios]:
    """S/P and spectral ratios per station that has a P and an S pick and a vertical trace."""
    import numpy as np
    from obspy import UTCDateTime

    by_station: dict[str, dict[str, Pick]] = {}
    for p in picks:
        phase = p.phase.upper()[:1]
        if phase in ("P", "S"):
            slot = by_station.setdefault(p.stream_id.station_id, {})
            slot.setdefault(phase, p)  # first pick of each phase
    out: list[StationRatios] = []
    for sta_id, ph in sorted(by_station.items()):
        if "P" not in ph or "S" not in ph:
            continue
        tp, ts = ph["P"].time.timestamp(), ph["S"].time.timestamp()
        if ts <= tp:
            continue
        net, sta = sta_id.split(".")
        verticals = [tr for tr in stream.select(network=net, station=sta)
                     if tr.stats.channel.endswith("Z")
                     and tr.stats.starttime <= UTCDateTime(tp - 0.1) and tr.stats.endtime >= UTCDateTime(ts)]
        if not verticals:
            continue
        trace = verticals[0].slice(UTCDateTime(tp - pad_s), UTCDateTime(ts + window_s + pad_s))
        length = min(window_s, ts - tp)
        filtered = _band(trace, band_hz)
        if filtered is None:
            continue
        pw = _window(filtered, tp - 0.1, tp + length)
        sw = _window(filtered, ts - 0.1, ts + length)
        if pw is None or sw is None:
            continue
        ap, as_ = float(np.max(np.abs(pw))), float(np.max(np.abs(sw)))
        if not (ap > 0 and as_ > 0):
            continue
        spec = None
        lo, hi = _band(trace, low_hz), _band(trace, high_hz)
        if lo is not None and hi is not None:
            plo, phi = _window(lo, tp - 0.1, tp + length), _window(hi, tp - 0.1, tp + length)
            if plo is not None and phi is not None:
                rlo, rhi = float(np.sqrt(np.mean(plo ** 2))), float(np.sqrt(np.mean(phi ** 2)))
                if rlo > 0 and rhi > 0:
                    spec = math.log10(rhi / rlo)
        out.append(StationRatios(verticals[0].id, math.log10(as_ / ap), spec))
    return out


def waveform_features(stream, picks: Sequence[Pick], **options) -> dict:
    """Network medians ``{"sp_amplitude_log10", "spectral_ratio_log10", "station_count"}`` (``None`` when
    no station qualifies); ``options`` go to :func:`station_ratios`."""
    ratios = station_ratios(stream, picks, **options)
    sp = [r.sp_amplitude_log10 for r in ratios]
    spec = [r.spectral_ratio_log10 for r in ratios if r.spectral_ratio_log10 is not None]
    return {"sp_amplitude_log10": statistics.median(sp) if sp else None,
            "spectral_ratio_log10": statistics.median(spec) if spec else None,
            "station_count": len(ratios)}
