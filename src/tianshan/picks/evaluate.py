"""Score a picker on analyst-picked windows.

The folder layout is that of PhaseNet's NCEDC sample (Zhu & Beroza 2019,
GJI 216(1), 261-273; AI4EPS/PhaseNet ``test_data/npz``): one ``.npz`` per
window with ``data`` (samples x 3, columns in the order of the channel list,
100 Hz) and a ``labels.csv`` with ``fname,itp,its,channels``: the analyst's
P and S sample indices and the channels joined by ``_`` (e.g.
``HHE_HHN_HHZ``). A window recorded on a single channel (``EHZ``) holds it in
the last column, the others are zero.

Scoring, per phase (P, S): in each window, a pick of that phase is a hit when
it lies within ``tolerance_s`` (0.5 s) of the analyst pick; at most one hit per
analyst pick (the closest); every other pick of that phase is a false
positive; an analyst pick with no hit is a miss. Precision = TP / (TP + FP),
recall = TP / (TP + FN), F1 their harmonic mean; residuals (pick minus
analyst, s) are over the hits.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tianshan.core.errors import InputError

#: A pick is a hit when |pick - analyst| <= this (s), as in the issue.
HIT_TOLERANCE_S = 0.5
#: Sample rate of the PhaseNet NCEDC windows (Hz).
WINDOW_SAMPLING_RATE_HZ = 100.0
#: Arbitrary absolute start time given to each window (the windows carry none).
_WINDOW_START = "2000-01-01T00:00:00"


@dataclass(frozen=True, slots=True)
class LabeledWindow:
    """One analyst-labelled window: data (samples x components) and P/S sample indices."""

    name: str
    network: str
    station: str
    channels: tuple[str, ...]
    data: np.ndarray
    itp: int | None
    its: int | None
    sampling_rate_hz: float = WINDOW_SAMPLING_RATE_HZ

    def to_stream(self):
        """The window as an ObsPy Stream (one trace per labelled channel, zero columns skipped)."""
        from obspy import Stream, Trace, UTCDateTime

        st = Stream()
        ncol = self.data.shape[1]
        # Channels map to the last len(channels) columns (single-channel windows use the last one).
        first = ncol - len(self.channels)
        for i, channel in enumerate(self.channels):
            column = np.ascontiguousarray(self.data[:, first + i], dtype=np.float64)
            if not np.any(column):
                continue
            st.append(Trace(column, header={
                "network": self.network, "station": self.station, "location": "",
                "channel": channel, "sampling_rate": self.sampling_rate_hz,
                "starttime": UTCDateTime(_WINDOW_START)}))
        return st


def _codes(fname: str) -> tuple[str, str]:
    parts = Path(fname).stem.split("_")
    net = parts[0].upper()[:2] if parts and parts[0] else "XX"
    sta = parts[1].upper()[:5] if len(parts) > 1 and parts[1] else "STA"
    return net or "XX", sta or "STA"


def _index(text: str) -> int | None:
    text = (text or "").strip()
    if not text or text.lower() in ("nan", "none", "-1"):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return int(round(value)) if math.isfinite(value) and value >= 0 else None


def read_windows(windows_dir: str | Path) -> tuple[list[LabeledWindow], int]:
    """Read ``labels.csv`` and the npz windows of ``windows_dir``.

    Returns the windows and the number of label rows skipped (missing or
    unreadable npz). Raises :class:`InputError` when the folder or its
    ``labels.csv`` is missing or has the wrong columns.
    """
    folder = Path(windows_dir)
    labels = folder / "labels.csv"
    if not folder.is_dir():
        raise InputError("not a folder", source=str(folder))
    if not labels.is_file():
        raise InputError("labels.csv not found (expected fname,itp,its,channels)", source=str(labels))
    windows: list[LabeledWindow] = []
    skipped = 0
    with labels.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"fname", "itp", "its"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"missing column(s) {', '.join(sorted(missing))}", source=str(labels), line=1)
        for row in reader:
            fname = (row.get("fname") or "").strip()
            path = folder / fname
            try:
                with np.load(path, allow_pickle=False) as npz:
                    data = np.asarray(npz["data"], dtype=np.float64)
                    ch_text = str(row.get("channels") or (npz["channels"] if "channels" in npz else ""))
            except (OSError, KeyError, ValueError):
                skipped += 1
                continue
            if data.ndim != 2 or data.shape[0] < 2:
                skipped += 1
                continue
            if data.shape[0] < data.shape[1]:
                data = data.T
            channels = tuple(c.strip().upper() for c in ch_text.split("_") if c.strip())
            if not channels or len(channels) > data.shape[1] or any(len(c) != 3 for c in channels):
                skipped += 1
                continue
            net, sta = _codes(fname)
            windows.append(LabeledWindow(fname, net, sta, channels, data,
                                         _index(row.get("itp", "")), _index(row.get("its", ""))))
    return windows, skipped


@dataclass
class _Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    residuals: list[float] = field(default_factory=list)

    def add(self, label_s: float | None, pick_times_s: list[float], tolerance_s: float) -> None:
        if label_s is None:
            self.fp += len(pick_times_s)
            return
        best = None
        for i, t in enumerate(pick_times_s):
            d = t - label_s
            if abs(d) <= tolerance_s and (best is None or abs(d) < abs(pick_times_s[best] - label_s)):
                best = i
        if best is None:
            self.fn += 1
            self.fp += len(pick_times_s)
        else:
            self.tp += 1
            self.fp += len(pick_times_s) - 1
            self.residuals.append(pick_times_s[best] - label_s)

    def scores(self, n: int) -> dict:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        res = np.asarray(self.residuals, dtype=float)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "residual_mean_s": float(res.mean()) if res.size else None,
            "residual_std_s": float(res.std(ddof=1)) if res.size > 1 else None,
            "n": n,
        }


def evaluate_picker(picker, windows_dir: str | Path, tolerance_s: float = HIT_TOLERANCE_S,
                    progress: Callable[[int, int], None] | None = None) -> dict:
    """Score ``picker`` (a :class:`~tianshan.picks.base.Picker`) on a folder of labelled windows.

    Returns ``{"P": {...}, "S": {...}}``, each with ``precision``, ``recall``,
    ``f1``, ``residual_mean_s``, ``residual_std_s`` (pick minus analyst, over the
    hits; None when fewer than 1 resp. 2 hits) and ``n`` (number of analyst
    picks of that phase). ``progress(done, total)`` is called after each window.
    """
    from obspy import UTCDateTime

    windows, _ = read_windows(windows_dir)
    if not windows:
        raise InputError("no readable labelled windows", source=str(windows_dir))
    t0 = UTCDateTime(_WINDOW_START)
    tallies = {"P": _Tally(), "S": _Tally()}
    counts = {"P": 0, "S": 0}
    for i, win in enumerate(windows):
        picks = picker.pick(win.to_stream())
        for phase, index in (("P", win.itp), ("S", win.its)):
            times = [float(UTCDateTime(p.time) - t0) for p in picks if p.phase.upper().startswith(phase)]
            label = None if index is None else index / win.sampling_rate_hz
            counts[phase] += label is not None
            tallies[phase].add(label, times, tolerance_s)
        if progress is not None:
            progress(i + 1, len(windows))
    return {phase: tallies[phase].scores(counts[phase]) for phase in ("P", "S")}
