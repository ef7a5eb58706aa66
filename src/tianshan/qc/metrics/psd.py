"""PSD and PDF of a channel-day (ObsPy PPSD) and MUSTANG's PSD metrics.

Spectra (McNamara & Buland 2004, BSSA 94(4):1517, as run by MUSTANG
``noise-psd``/``noise-pdf`` and IRISSeismic ``psdList``; computed here by ObsPy's
:class:`obspy.signal.PPSD`, which implements the same recipe): the day is cut
into segments of ``Z`` hours with 50 % overlap -- ``Z`` = 3 h for ``L??``
channels, 2 h for ``M??``, 1 h otherwise (MUSTANG's rule, IRISMustangMetrics
``PSDMetric`` header after M. Templeton) --; each segment's PSD is the average of
13 sub-segment periodograms (75 % overlap), corrected for the instrument response
to acceleration, smoothed over one octave at 1/8-octave steps and stored in dB
re 1 (m/s^2)^2/Hz. The period bins are put on MUSTANG's frequency grid
``f_k = 0.1 * 2^(k/8)`` Hz (the highest below Nyquist first), so a PDF here and
one from MUSTANG share their frequencies. Segments with gaps are skipped
(``skip_on_gaps``) instead of zero-filled. The PDF is the histogram of the
segment PSDs per period in 1-dB bins (-200..-50 dB); percentiles, mode and mean
come from it (ObsPy ``get_percentile``/``get_mode``).

Metrics (IRISMustangMetrics ``PSDMetric``, the code behind MUSTANG pages
``pct_above_nhnm``, ``pct_below_nlnm``, ``dead_channel_lin``, ``dead_channel_exp``,
``dead_channel_gsn``; noise models: Peterson 1993, USGS OFR 93-322):

* ``pct_above_nhnm`` / ``pct_below_nlnm``: per frequency, the percentage of the
  day's PSDs above the NHNM / below the NLNM; averaged over the frequencies below
  Nyquist / 1.5 where the model is defined (response roll-off near Nyquist).
* ``dead_channel_lin``: the standard deviation (``N - 1``) of the residuals of a
  straight-line fit of the PSD mean (dB) against ``log10(period)`` for
  ``4/fs < T < 100 s``. MUSTANG: "a value < 3 typically indicates a broadband
  channel that may have a problem".
* ``dead_channel_exp``: the same fit of ``log10(mean - min(mean) + 0.1)``; dead
  below about 0.3 (MUSTANG retired this one in 2019; kept for ISPAQ parity).
  Both only for ``BH?``/``HH?`` channels, as MUSTANG reports them.
* ``dead_channel_gsn``: 1 when the PDF median over ``4 < T < 8 s`` lies on average
  more than 5 dB below the NLNM, else 0 (channels sampled at >= 1 Hz).

The PSD mean is the mean of the segment PSDs in dB (MUSTANG ``psdStatistics``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Sequence

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.core.timeutil import as_utc

#: Percentiles reported by default (dB per period).
DEFAULT_PERCENTILES = (10.0, 50.0, 90.0)
#: PDF power bins in dB: (lowest edge, highest edge, width) as MUSTANG's 1-dB PDF.
DB_BINS = (-200.0, -50.0, 1.0)
#: MUSTANG ``PSDMetric`` defaults.
DEAD_CHANNEL_HI_PERIOD_S = 100.0
GSN_BAND_S = (4.0, 8.0)
GSN_DEAD_DB = 5.0


class PSDUnavailable(Exception):
    """No PSD for this channel-day; the message says why (no response, too little data...)."""


def segment_length_s(channel: str) -> float:
    """MUSTANG's PSD segment length: 3 h for ``L??``, 2 h for ``M??``, else 1 h."""
    band = channel[:1].upper()
    return 10800.0 if band == "L" else 7200.0 if band == "M" else 3600.0


def mustang_highest_frequency_hz(sampling_rate_hz: float) -> float:
    """The highest frequency of MUSTANG's grid ``0.1 * 2^(k/8)`` Hz not above Nyquist."""
    nyq = 0.5 * float(sampling_rate_hz)
    k = math.floor(8.0 * math.log2(nyq / 0.1) + 1e-9)
    return 0.1 * 2.0 ** (k / 8.0)


def noise_models(periods_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peterson's (1993) NLNM and NHNM (dB re 1 (m/s^2)^2/Hz) at ``periods_s``; NaN outside 0.1-1e5 s.

    The models are piecewise linear in ``log10(period)`` (Peterson's tables); ObsPy's
    ``get_nlnm``/``get_nhnm`` samples them, interpolated here in ``log10(period)``.
    """
    from obspy.signal.spectral_estimation import get_nhnm, get_nlnm

    x = np.log10(np.asarray(periods_s, dtype=np.float64))
    out = []
    for get in (get_nlnm, get_nhnm):
        p, v = get()
        order = np.argsort(p)
        out.append(np.interp(x, np.log10(p[order]), v[order], left=np.nan, right=np.nan))
    return out[0], out[1]


@dataclass(frozen=True, eq=False)
class PSDResult:
    """PSDs, PDF and PSD metrics of one stream over ``[start, end)``.

    ``periods_s`` ascending; ``psd_db`` ``(n_segments, n_periods)`` in dB re
    1 (m/s^2)^2/Hz (NaN where a segment has no value); ``pdf_hits`` ``(n_periods,
    n_db_bins)`` counts with ``db_bin_edges`` (``n_db_bins + 1`` edges);
    ``percentiles`` maps a percentile to its dB curve; ``metrics`` holds the five
    MUSTANG PSD metrics (``None`` where not defined for this channel).
    """

    stream_id: StreamID
    start: datetime
    end: datetime
    sampling_rate_hz: float
    segment_length_s: float
    segment_starts: tuple[datetime, ...]
    periods_s: np.ndarray
    psd_db: np.ndarray
    db_bin_edges: np.ndarray
    pdf_hits: np.ndarray
    percentiles: Mapping[float, np.ndarray]
    mode_db: np.ndarray
    mean_db: np.ndarray
    metrics: Mapping[str, float | int | None] = field(default_factory=dict)

    @property
    def frequencies_hz(self) -> np.ndarray:
        return 1.0 / self.periods_s

    @property
    def n_segments(self) -> int:
        return int(self.psd_db.shape[0])

    def pdf_rows(self) -> list[tuple[float, int, int]]:
        """The PDF as MUSTANG ``noise-pdf`` text rows ``(freq_hz, power_db, hits)``, hits > 0,
        frequencies descending, power the bin's lower edge (integer dB)."""
        rows = []
        lower = self.db_bin_edges[:-1]
        for j in np.argsort(-self.frequencies_hz):
            f = float(self.frequencies_hz[j])
            for k in np.flatnonzero(self.pdf_hits[j]):
                rows.append((f, int(round(lower[k])), int(self.pdf_hits[j, k])))
        return rows

    def as_dict(self) -> dict:
        """JSON-ready summary: periods, frequencies, percentiles, mode, mean, noise models, metrics."""
        nlnm, nhnm = noise_models(self.periods_s)

        def arr(a) -> list:
            return [None if not np.isfinite(v) else round(float(v), 3) for v in np.asarray(a, dtype=float)]

        return {
            "stream_id": str(self.stream_id),
            "start": self.start.isoformat().replace("+00:00", "Z"),
            "end": self.end.isoformat().replace("+00:00", "Z"),
            "sampling_rate_hz": self.sampling_rate_hz,
            "segment_length_s": self.segment_length_s,
            "n_segments": self.n_segments,
            "units": "dB re 1 (m/s^2)^2/Hz",
            "period_s": [float(p) for p in self.periods_s],
            "frequency_hz": [float(f) for f in self.frequencies_hz],
            "percentiles": {f"p{q:g}": arr(v) for q, v in self.percentiles.items()},
            "mode_db": arr(self.mode_db),
            "mean_db": arr(self.mean_db),
            "nlnm_db": arr(nlnm),
            "nhnm_db": arr(nhnm),
            "metrics": {k: v for k, v in self.metrics.items()},
        }


def _check_metadata(metadata, seed_id: str, t) -> None:
    """Raise :class:`PSDUnavailable` when ``metadata`` has no response for the channel at ``t``."""
    if metadata is None:
        raise PSDUnavailable("no instrument response (give an inventory)")
    from obspy import Inventory

    if isinstance(metadata, Inventory):
        try:
            resp = metadata.get_response(seed_id, t)
        except Exception:  # noqa: BLE001 - ObsPy raises plain Exception for "no matching response"
            raise PSDUnavailable(f"no response for {seed_id} at {t}") from None
        if not getattr(resp, "response_stages", None):
            raise PSDUnavailable(f"response of {seed_id} has no stages (channel-level metadata only)")


def compute_psd(stream, metadata, start, end, *, percentiles: Sequence[float] = DEFAULT_PERCENTILES,
                segment_s: float | None = None, skip_on_gaps: bool = True) -> PSDResult:
    """PSDs and PDF of the one stream in ``stream`` over ``[start, end)``, and MUSTANG's PSD metrics.

    ``metadata``: an ObsPy :class:`~obspy.core.inventory.Inventory` with responses, a
    RESP file path, a dataless :class:`~obspy.io.xseed.Parser` or a PAZ dict (what
    :class:`obspy.signal.PPSD` accepts). ``segment_s``: PSD segment length (default
    :func:`segment_length_s`). Raises :class:`PSDUnavailable` when there is no response
    or no complete segment, :class:`InputError` for a stream of several channels.
    """
    from obspy import Stream, UTCDateTime
    from obspy.signal import PPSD

    t0 = start if isinstance(start, UTCDateTime) else UTCDateTime(as_utc(start).replace(tzinfo=None))
    t1 = end if isinstance(end, UTCDateTime) else UTCDateTime(as_utc(end).replace(tzinfo=None))
    st = Stream([tr for tr in stream if tr.stats.npts > 0])
    ids = {tr.id for tr in st}
    if len(ids) != 1:
        raise InputError(f"compute_psd: expected one stream, got {len(ids)} ({', '.join(sorted(ids))})",
                         field="stream")
    st = st.slice(t0, t1, nearest_sample=False)
    st = Stream([tr for tr in st if tr.stats.npts > 0 and tr.stats.starttime < t1])
    if not st:
        raise PSDUnavailable("no samples in the window")
    stats = st[0].stats
    seed_id = st[0].id
    sid = StreamID(stats.network, stats.station, stats.location, stats.channel)
    fs = float(stats.sampling_rate)
    seg = float(segment_s) if segment_s is not None else segment_length_s(stats.channel)
    _check_metadata(metadata, seed_id, st[0].stats.starttime)
    period_limits = (1.0 / mustang_highest_frequency_hz(fs), 1e6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PPSD warns per skipped segment; the count tells
        ppsd = PPSD(stats, metadata, skip_on_gaps=skip_on_gaps, db_bins=DB_BINS, ppsd_length=seg, overlap=0.5,
                    period_limits=period_limits)
        ppsd.add(st)
    if not ppsd.times_processed:
        raise PSDUnavailable(f"no complete {seg:g} s segment of data (or the response could not be evaluated)")
    ppsd.calculate_histogram()
    periods = np.asarray(ppsd.period_bin_centers, dtype=np.float64)
    psd = np.vstack([np.asarray(p, dtype=np.float64) for p in ppsd.psd_values])
    pct = {float(q): np.asarray(ppsd.get_percentile(percentile=float(q))[1], dtype=np.float64) for q in percentiles}
    mode = np.asarray(ppsd.get_mode()[1], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(psd, axis=0)
    result = PSDResult(
        stream_id=sid, start=as_utc(t0.datetime), end=as_utc(t1.datetime), sampling_rate_hz=fs,
        segment_length_s=seg, segment_starts=tuple(as_utc(t.datetime) for t in ppsd.times_processed),
        periods_s=periods, psd_db=psd, db_bin_edges=np.asarray(ppsd.db_bin_edges, dtype=np.float64),
        pdf_hits=np.asarray(ppsd.current_histogram, dtype=np.int64), percentiles=pct, mode_db=mode, mean_db=mean)
    metrics = psd_metrics(periods, psd, fs, stats.channel, pdf_hits=result.pdf_hits, db_bin_edges=result.db_bin_edges)
    object.__setattr__(result, "metrics", metrics)
    return result


# --------------------------------------------------------------------------- metrics

def noise_model_percentages(periods_s: np.ndarray, psd_db: np.ndarray,
                            sampling_rate_hz: float) -> tuple[float | None, float | None]:
    """MUSTANG ``pct_above_nhnm`` and ``pct_below_nlnm`` (percent; see the module docstring)."""
    periods_s = np.asarray(periods_s, dtype=np.float64)
    psd_db = np.atleast_2d(np.asarray(psd_db, dtype=np.float64))
    nlnm, nhnm = noise_models(periods_s)
    use = (1.0 / periods_s < 0.5 * sampling_rate_hz / 1.5) & np.isfinite(nlnm) & np.isfinite(nhnm)
    if not use.any() or psd_db.shape[0] == 0:
        return None, None
    valid = np.isfinite(psd_db[:, use])
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore"):
        above = np.where(valid, psd_db[:, use] > nhnm[use], False).sum(axis=0)
        below = np.where(valid, psd_db[:, use] < nlnm[use], False).sum(axis=0)
    ok = n > 0
    if not ok.any():
        return None, None
    return float(np.mean(100.0 * above[ok] / n[ok])), float(np.mean(100.0 * below[ok] / n[ok]))


def _residual_sd(x: np.ndarray, y: np.ndarray) -> float | None:
    """Standard deviation (``N - 1``, as R's ``sd``) of the residuals of a least-squares line."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3:
        return None
    coef = np.polyfit(x, y, 1)
    return float(np.std(y - np.polyval(coef, x), ddof=1))


def dead_channel_lin_exp(periods_s: np.ndarray, mean_db: np.ndarray,
                         sampling_rate_hz: float) -> tuple[float | None, float | None]:
    """MUSTANG ``dead_channel_lin`` and ``dead_channel_exp`` from the PSD mean (dB) per period."""
    periods_s = np.asarray(periods_s, dtype=np.float64)
    mean_db = np.asarray(mean_db, dtype=np.float64)
    band = (periods_s > 4.0 / sampling_rate_hz) & (periods_s < DEAD_CHANNEL_HI_PERIOD_S) & np.isfinite(mean_db)
    if np.count_nonzero(band) < 3:
        return None, None
    x = np.log10(periods_s[band])
    y = mean_db[band]
    lin = _residual_sd(x, y)
    exp = _residual_sd(x, np.log10(y - y.min() + 0.1))
    return lin, exp


def dead_channel_gsn(periods_s: np.ndarray, pdf_hits: np.ndarray, db_bin_edges: np.ndarray,
                     sampling_rate_hz: float) -> int | None:
    """MUSTANG ``dead_channel_gsn``: 1 when the PDF median over 4-8 s averages > 5 dB below the NLNM."""
    if sampling_rate_hz < 1.0:
        return None
    periods_s = np.asarray(periods_s, dtype=np.float64)
    band = (periods_s > GSN_BAND_S[0]) & (periods_s < GSN_BAND_S[1])
    if not band.any():
        return None
    nlnm, _ = noise_models(periods_s[band])
    lower = np.asarray(db_bin_edges, dtype=np.float64)[:-1]
    diffs = []
    for row, model in zip(np.asarray(pdf_hits)[band], nlnm):
        total = int(row.sum())
        if total == 0 or not np.isfinite(model):
            continue
        cum = np.cumsum(row)
        median = lower[int(np.searchsorted(cum, 0.5 * total))]  # lower median of the 1-dB binned values
        diffs.append(model - median)
    if not diffs:
        return None
    return int(np.mean(diffs) > GSN_DEAD_DB)


def psd_metrics(periods_s: np.ndarray, psd_db: np.ndarray, sampling_rate_hz: float, channel: str, *,
                pdf_hits: np.ndarray, db_bin_edges: np.ndarray) -> dict[str, float | int | None]:
    """The five MUSTANG PSD metrics (``dead_channel_lin``/``exp`` only for ``BH?``/``HH?``)."""
    above, below = noise_model_percentages(periods_s, psd_db, sampling_rate_hz)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(np.atleast_2d(psd_db), axis=0)
    lin = exp = None
    if channel[:2].upper() in ("BH", "HH"):
        lin, exp = dead_channel_lin_exp(periods_s, mean, sampling_rate_hz)
    return {"pct_above_nhnm": above, "pct_below_nlnm": below, "dead_channel_lin": lin, "dead_channel_exp": exp,
            "dead_channel_gsn": dead_channel_gsn(periods_s, pdf_hits, db_bin_edges, sampling_rate_hz)}


# --------------------------------------------------------------------------- MUSTANG noise-pdf text

def read_noise_pdf_text(path) -> np.ndarray:
    """Read a MUSTANG ``noise-pdf`` text file (``freq, power, hits`` lines, ``#`` comments).

    Returns a structured array with fields ``freq`` (Hz), ``power`` (dB) and ``hits``.
    """
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = [p.strip() for p in text.split(",")]
            try:
                rows.append((float(parts[0]), float(parts[1]), int(parts[2])))
            except (IndexError, ValueError):
                raise InputError(f"expected 'freq, power, hits', got {line.strip()!r}", source=str(path),
                                 line=n) from None
    return np.array(rows, dtype=[("freq", np.float64), ("power", np.float64), ("hits", np.int64)])


def pdf_percentile(pdf: np.ndarray, percentile: float) -> tuple[np.ndarray, np.ndarray]:
    """``(frequencies descending, dB)``: a percentile of a noise-pdf table per frequency.

    Each frequency's power values are repeated by their hits and the percentile taken
    with NumPy's linear interpolation (as ObsPy's MUSTANG comparison test does).
    """
    freqs = np.array(sorted(set(pdf["freq"].tolist()), reverse=True))
    values = []
    for f in freqs:
        sel = pdf["freq"] == f
        values.append(float(np.percentile(np.repeat(pdf["power"][sel], pdf["hits"][sel]), percentile)))
    return freqs, np.asarray(values)
