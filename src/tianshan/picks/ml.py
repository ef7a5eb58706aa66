"""Deep-learning phase pickers through SeisBench (PhaseNet, EQTransformer, ...).

:class:`SeisBenchPicker` wraps any SeisBench ``WaveformModel`` that outputs
phase-probability curves and turns its picks into :class:`tianshan.core.Pick`.
Models come from local files only; weights are **never downloaded**:

* a path prefix in SeisBench's save format (``<prefix>.json`` + ``<prefix>.pt``,
  as written by ``WaveformModel.save``), e.g. the USTC-Pickers Xinjiang
  PhaseNet ``models/ustc_pickers/seisbench/phasenet_xinjiang`` (Zhu et al.
  2023, Earthquake Science 36, "USTC-Pickers: a unified set of seismic phase
  pickers transfer learned for China");
* or the name of weights already in SeisBench's local cache
  (``seisbench.cache_model_root/<class>/<name>.json[.vN]``), written
  ``"phasenet:original"`` (class and weights) or ``"original"`` when only one
  cached class has weights of that name.

The model class is taken from ``model_class`` (argument), else from a
``"model_class"`` key of the json, else inferred: the SeisBench
``WaveformModel`` subclass (PhaseNet and EQTransformer first) whose
parameters have exactly the names and shapes of the saved weights.

Picking follows SeisBench's own ``classify`` (``annotate`` sliding windows,
resampled to the model rate, then ``classify_aggregate``: trigger on at the
phase threshold, off at half of it, pick at the probability peak), so picks
equal ``model.classify(stream)`` exactly. On top of it each pick gets:

* ``probability`` = the peak value of the phase probability curve;
* ``time_uncertainty_s`` = the full width at half maximum of that peak
  divided by 2*sqrt(2 ln 2) = 2.3548, i.e. the standard deviation of a
  Gaussian of the same width (PhaseNet is trained on Gaussian targets,
  Zhu & Beroza 2019, GJI 216, 261-273, sec. 2.1), never less than one sample;
* ``stream_id``: P on the vertical channel, S on the first horizontal
  (N/1, then E/2) of the sensor the pick was made on.

torch and SeisBench are imported only here, inside functions
(never at ``import tianshan.picks``).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from tianshan.core.errors import DomainError, InputError
from tianshan.core.pick import Pick
from tianshan.core.timeutil import as_utc
from tianshan.picks.base import (
    HORIZONTAL,
    Picker,
    component_of,
    deduplicate_picks,
    group_by_station,
    prepare_stream,
    stream_id_of,
)

log = logging.getLogger(__name__)

#: 2*sqrt(2 ln 2): full width at half maximum of a Gaussian over its standard deviation.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

#: Classes tried first when the json does not name one.
_PREFERRED_CLASSES = ("PhaseNet", "EQTransformer", "PhaseNetLight")


# --------------------------------------------------------------------------- model loading

def _waveform_model_classes() -> dict[str, type]:
    """All SeisBench WaveformModel subclasses by class name (PhaseNet, EQTransformer first)."""
    import seisbench.models as sbm

    found: dict[str, type] = {}
    for name in _PREFERRED_CLASSES:
        cls = getattr(sbm, name, None)
        if isinstance(cls, type):
            found[name] = cls
    for name in sorted(dir(sbm)):
        cls = getattr(sbm, name)
        if (isinstance(cls, type) and issubclass(cls, sbm.WaveformModel)
                and cls is not sbm.WaveformModel and name not in found):
            found[name] = cls
    return found


def _class_by_name(name: str, source: str) -> type:
    classes = _waveform_model_classes()
    for key, cls in classes.items():
        if key.lower() == str(name).strip().lower():
            return cls
    raise InputError(f"unknown SeisBench model class {name!r}", source=source, field="model_class")


def _infer_class(model_args: dict, weights_path: Path) -> type:
    """The WaveformModel subclass whose parameter names and shapes match the saved weights."""
    import torch

    try:
        state = torch.load(str(weights_path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable weights file is bad input
        raise InputError(f"cannot read model weights: {err}", source=str(weights_path)) from None
    if not isinstance(state, dict):
        raise InputError("weights file is not a state dict", source=str(weights_path))
    want = {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}
    for name, cls in _waveform_model_classes().items():
        try:
            candidate = cls(**model_args)
        except Exception:  # noqa: BLE001 - this class does not take these arguments
            continue
        have = {k: tuple(v.shape) for k, v in candidate.state_dict().items()}
        if have == want:
            log.debug("SeisBench weights %s match class %s", weights_path, name)
            return cls
    raise InputError("no SeisBench model class matches these weights; pass model_class=",
                     source=str(weights_path), field="model_class")


def _split_versioned(path: Path) -> tuple[Path, str | None] | None:
    """``(<prefix>, version)`` for an existing ``<prefix>.json[.vN]`` + ``.pt[.vN]`` pair."""
    text = str(path)
    for suffix in (".json", ".pt"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    prefix = Path(text)
    if prefix.with_name(prefix.name + ".json").is_file() and prefix.with_name(prefix.name + ".pt").is_file():
        return prefix, None
    return None


def _cached_weights(name: str, cache_root: Path) -> tuple[type, Path, str | None]:
    """Find ``[class:]name`` in SeisBench's model cache: (class, path prefix, version)."""
    from packaging.version import InvalidVersion, Version

    cls_name, _, weights = name.replace("/", ":").rpartition(":")
    classes = _waveform_model_classes()
    dirs = [(n, c) for n, c in classes.items() if not cls_name or n.lower() == cls_name.lower()]
    if cls_name and not dirs:
        raise InputError(f"unknown SeisBench model class {cls_name!r}", field="model")
    hits = []
    for cls_key, cls in dirs:
        folder = cache_root / cls_key.lower()
        if not folder.is_dir():
            continue
        versions = []
        for f in folder.iterdir():
            if f.name == f"{weights}.json":
                versions.append(None)
            elif f.name.startswith(f"{weights}.json.v"):
                versions.append(f.name[len(f"{weights}.json.v"):])
        versions = [v for v in versions
                    if (folder / (f"{weights}.pt" + ("" if v is None else f".v{v}"))).is_file()]
        if versions:
            def key(v):
                try:
                    return (1, Version(v)) if v is not None else (0, Version("0"))
                except InvalidVersion:
                    return (0, Version("0"))
            hits.append((cls, folder / weights, max(versions, key=key)))
    if not hits:
        raise InputError(
            f"SeisBench model {name!r} is neither a local weights path (<prefix>.json + <prefix>.pt) "
            f"nor in the local SeisBench cache {cache_root}; weights are never downloaded",
            field="model")
    if len(hits) > 1:
        names = ", ".join(f"{c.__name__.lower()}:{weights}" for c, _, _ in hits)
        raise InputError(f"SeisBench model name {name!r} is ambiguous in the cache: use one of {names}",
                         field="model")
    return hits[0]


def load_seisbench_model(model: str | Path, device: str = "cpu", model_class: str | type | None = None,
                         cache_root: str | Path | None = None):
    """Load a SeisBench waveform model from a local path or the local cache, never from the network.

    ``model``: a path prefix (or its ``.json`` / ``.pt`` file) in SeisBench's save
    format, or a cached name ``"[class:]weights"``. ``model_class``: a SeisBench class
    or class name when neither the json nor the weights tell it. ``cache_root``: the
    SeisBench model cache (default ``seisbench.cache_model_root``). Returns the model
    in eval mode on ``device``. Raises :class:`InputError` when the model cannot be
    found or loaded.
    """
    import seisbench

    explicit = None
    if model_class is not None:
        explicit = model_class if isinstance(model_class, type) else _class_by_name(model_class, str(model))
    found = _split_versioned(Path(model).expanduser())
    if found is not None:
        prefix, version = found
        source = str(prefix) + ".json"
        try:
            meta = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read model metadata: {err}", source=source) from None
        if not isinstance(meta, dict):
            raise InputError("model metadata is not a JSON object", source=source)
        cls = explicit
        if cls is None and isinstance(meta.get("model_class"), str):
            cls = _class_by_name(meta["model_class"], source)
        if cls is None:
            cls = _infer_class(meta.get("model_args") or {}, prefix.with_name(prefix.name + ".pt"))
    else:
        text = str(model)
        if any(sep in text for sep in ("/", "\\")) and not text.count(":") and Path(text).parent.is_dir():
            raise InputError("model weights not found (expected <prefix>.json and <prefix>.pt)",
                             source=text, field="model")
        root = Path(cache_root) if cache_root is not None else Path(seisbench.cache_model_root)
        cls, prefix, version = _cached_weights(text, root)
        if explicit is not None and explicit is not cls:
            raise InputError(f"cached model {text!r} is a {cls.__name__}, not {explicit.__name__}", field="model")
        source = str(prefix)
    try:
        net = cls.load(str(prefix), version_str=version)
    except Exception as err:  # noqa: BLE001 - corrupt or mismatched weights are bad input
        raise InputError(f"cannot load {cls.__name__} weights: {err}", source=source) from None
    net.to(device)
    net.eval()
    return net


# --------------------------------------------------------------------------- pick conversion

def peak_sigma_s(values, index: int, delta_s: float) -> float:
    """Standard deviation (s) of a Gaussian with the FWHM of the peak at ``values[index]``.

    The half-maximum crossings are found walking out from the peak and
    interpolated linearly between samples; a side that never drops to half the
    peak inside the curve ends at the curve's end. Floor: one sample.
    """
    n = len(values)
    peak = float(values[index])
    if not peak > 0.0 or n < 2:
        return delta_s
    half = 0.5 * peak
    left = float(index)
    i = index
    while i > 0 and values[i - 1] > half:
        i -= 1
    if i > 0:
        a, b = float(values[i - 1]), float(values[i])
        left = i - (b - half) / (b - a) if b != a else float(i)
    else:
        left = 0.0
    j = index
    while j < n - 1 and values[j + 1] > half:
        j += 1
    if j < n - 1:
        a, b = float(values[j]), float(values[j + 1])
        right = j + (a - half) / (a - b) if a != b else float(j)
    else:
        right = float(n - 1)
    return max((right - left) * delta_s / FWHM_PER_SIGMA, delta_s)


def _channel_for(group, phase: str):
    """Trace of ``group`` whose channel carries a ``phase`` pick: Z for P, first horizontal for S."""
    by_comp = {}
    for tr in group:
        by_comp.setdefault(component_of(tr), tr)
    order = ("Z",) if phase.upper().startswith("P") else ("N", "1", "E", "2")
    for comp in order:
        if comp in by_comp:
            return by_comp[comp]
    if not phase.upper().startswith("P"):
        for comp in sorted(by_comp):
            if comp in HORIZONTAL:
                return by_comp[comp]
    return by_comp.get("Z") or group[0]


def fill_short_gaps(stream, max_gap_s: float, copy: bool = True):
    """Join each channel's traces across gaps of at most ``max_gap_s`` with zeros.

    SeisBench models see fixed windows (PhaseNet: 3001 samples, 60 s at 50 Hz) and
    return nothing on fragments shorter than one window, so a short gap (or a flat
    span cut out by :func:`~tianshan.picks.base.prepare_stream`) would blind the model
    on both sides. Each trace is demeaned before joining, so the zero fill adds no
    step (the models demean every window anyway: the picks are unchanged away from
    the fill). Returns the new stream and the filled spans as
    ``(NET.STA.LOC, start, end)`` (ObsPy UTCDateTime) so picks inside them can be
    dropped. The input is not modified unless ``copy`` is False (its traces are
    then demeaned and reused).
    """
    import numpy as np
    from obspy import Stream

    by_id: dict[str, list] = {}
    for tr in stream:
        by_id.setdefault(tr.id, []).append(tr)
    out = Stream()
    filled: list[tuple] = []
    for traces in by_id.values():
        traces = sorted(traces, key=lambda t: t.stats.starttime)
        cur = None
        for tr in traces:
            if copy:
                tr = tr.copy()
            tr.data = np.asarray(tr.data, dtype=np.float64)
            tr.data = tr.data - tr.data.mean()
            if cur is None:
                cur = tr
                continue
            rate = cur.stats.sampling_rate
            n_gap = int(round((tr.stats.starttime - cur.stats.endtime) * rate)) - 1
            if 0 <= n_gap <= max_gap_s * rate and abs(tr.stats.sampling_rate - rate) <= 1e-6 * rate:
                if n_gap > 0:
                    s = tr.stats
                    filled.append((f"{s.network}.{s.station}.{s.location}",
                                   cur.stats.endtime + cur.stats.delta, tr.stats.starttime - tr.stats.delta))
                cur.data = np.concatenate([cur.data, np.zeros(n_gap), tr.data])
            else:
                out.append(cur)
                cur = tr
        if cur is not None:
            out.append(cur)
    return out, filled


def _rounds(groups: dict) -> list[list[tuple]]:
    """Partition sensor groups so no round has two sensors of one NET.STA.LOC.

    SeisBench labels picks ``NET.STA.LOC`` only, so co-located sensors (``HH``
    and ``HN`` at one site) are picked in separate calls.
    """
    rounds: list[list[tuple]] = []
    for key in groups:
        site = key[:3]
        for r in rounds:
            if all(k[:3] != site for k in r):
                r.append(key)
                break
        else:
            rounds.append([key])
    return rounds


def model_label(model: str | Path, net) -> str:
    """Picker name ``"<class>:<weights>"`` of a loaded model (``"phasenet:phasenet_xinjiang"``)."""
    text = str(model)
    weights = Path(text).name.rsplit(".", 1)[0] if Path(text).suffix in (".json", ".pt") else Path(text).name
    weights = weights.replace("/", ":").rpartition(":")[2]
    return f"{type(net).__name__.lower()}:{weights}"


class SeisBenchPicker(Picker):
    """Phase picker running a SeisBench model (PhaseNet, EQTransformer, ...) on CPU or GPU.

    ``model``: local weights path prefix or cached ``"[class:]name"`` (see module
    docs; never downloaded). ``p_threshold`` / ``s_threshold``: trigger thresholds on
    the phase probability (0.3: the USTC-Pickers authors' and SeisBench's PhaseNet
    default). ``batch_size``: windows per forward pass. ``gap_fill_s``: gaps up to this
    long are zero-filled (:func:`fill_short_gaps`; picks within :attr:`fill_margin_s`
    of a fill are dropped). ``sensors_per_call``: sensors annotated per SeisBench call;
    SeisBench keeps every window and output of a call in memory, so this bounds the
    peak memory (16 sensor-hours of 100 Hz 3-C data, benchmarks/bench_ml_picker.py:
    peak RSS 1.35 GB with 8 per call, 0.94 GB with 1, of which 0.43 GB is data, model
    and imports) while still batching windows of several sensors for short chunks; the
    picks do not depend on it (each sensor is annotated on its own).
    ``annotate_options``: further SeisBench ``annotate`` arguments (``overlap``,
    ``stacking``, ``blinding``...).
    """

    min_segment_s = 1.0
    #: Picks closer than this to a zero-filled span are dropped (s).
    fill_margin_s = 0.5
    #: Flat runs are not cut for ML models (0): a model sees flat or zero-filled spans in
    #: training (SeisBench zero-fills gaps itself) and cutting them leaves fragments shorter
    #: than its window. On the NCEDC windows cutting 0.5 s runs lowered P F1 0.927 -> 0.898
    #: (old 12-bit records have flat runs in quiet noise). Dead channels are masked by QC.
    flat_run_s = 0.0

    def __init__(self, model: str | Path, device: str = "cpu", p_threshold: float = 0.3,
                 s_threshold: float = 0.3, batch_size: int = 256, model_class: str | type | None = None,
                 cache_root: str | Path | None = None, gap_fill_s: float = 10.0,
                 sensors_per_call: int = 4, **annotate_options) -> None:
        super().__init__()
        for label, value in (("p_threshold", p_threshold), ("s_threshold", s_threshold)):
            if not 0.0 < float(value) < 1.0:
                raise InputError(f"must be within (0, 1), got {value!r}", field=label)
        if int(batch_size) < 1:
            raise InputError(f"must be >= 1, got {batch_size!r}", field="batch_size")
        if int(sensors_per_call) < 1:
            raise InputError(f"must be >= 1, got {sensors_per_call!r}", field="sensors_per_call")
        if not float(gap_fill_s) >= 0.0:
            raise InputError(f"must be >= 0, got {gap_fill_s!r}", field="gap_fill_s")
        self.model = load_seisbench_model(model, device=device, model_class=model_class,
                                          cache_root=cache_root)
        self.device = device
        self.p_threshold = float(p_threshold)
        self.s_threshold = float(s_threshold)
        self.batch_size = int(batch_size)
        self.gap_fill_s = float(gap_fill_s)
        self.sensors_per_call = int(sensors_per_call)
        self.annotate_options = dict(annotate_options)
        self.name = model_label(model, self.model)

    @property
    def sampling_rate_hz(self) -> float | None:
        """The model's input sample rate (data are resampled to it by SeisBench)."""
        return self.model.sampling_rate

    def _classify_args(self) -> dict:
        args = dict(self.model.default_args)
        args.update(self.annotate_options)
        args.update({"batch_size": self.batch_size, "P_threshold": self.p_threshold,
                     "S_threshold": self.s_threshold})
        return args

    def _annotate(self, stream, args: dict):
        """Phase-probability traces of ``stream`` (SeisBench ``annotate``); the ensemble overrides it."""
        return self.model.annotate(stream, **args)

    def _pick_groups(self, groups: dict, counts: Counter) -> list[Pick]:
        """Run the model over sensor groups (one round per co-located sensor) and convert picks."""
        from obspy import Stream

        picks: list[Pick] = []
        filled: dict[str, list[tuple]] = {}
        if self.gap_fill_s > 0:
            for key in list(groups):
                groups[key], spans = fill_short_gaps(groups[key], self.gap_fill_s, copy=False)
                for site, a, b in spans:
                    filled.setdefault(site, []).append((a - self.fill_margin_s, b + self.fill_margin_s))
                counts["gap_filled"] += len(spans)
        args = self._classify_args()
        label_prefix = type(self.model).__name__
        calls = [r[i:i + self.sensors_per_call] for r in _rounds(groups)
                 for i in range(0, len(r), self.sensors_per_call)]
        for keys in calls:
            stream = Stream()
            site_group = {}
            for key in keys:
                stream.extend(groups[key])
                site_group[".".join(key[:3])] = groups[key]
            annotations = self._annotate(stream, args)
            output = self.model.classify_aggregate(annotations, args)
            for sb_pick in output.picks:
                group = site_group.get(sb_pick.trace_id)
                if group is None:
                    counts["unmatched_pick"] += 1
                    continue
                if any(a <= sb_pick.peak_time <= b for a, b in filled.get(sb_pick.trace_id, ())):
                    counts["pick_in_filled_gap"] += 1
                    continue
                try:
                    picks.append(self._to_pick(sb_pick, group, annotations, label_prefix))
                except DomainError as err:
                    counts["bad_pick"] += 1
                    log.warning("picker %s: pick on %s dropped: %s", self.name, sb_pick.trace_id, err)
        return picks

    def _to_pick(self, sb_pick, group, annotations, label_prefix: str) -> Pick:
        phase = str(sb_pick.phase)
        net, sta, loc = sb_pick.trace_id.split(".")
        sigma = None
        for ann in annotations.select(network=net, station=sta, location=loc,
                                      channel=f"{label_prefix}_{phase}"):
            if ann.stats.starttime <= sb_pick.peak_time <= ann.stats.endtime:
                index = int(round((sb_pick.peak_time - ann.stats.starttime) * ann.stats.sampling_rate))
                index = min(max(index, 0), ann.stats.npts - 1)
                sigma = peak_sigma_s(ann.data, index, ann.stats.delta)
                break
        trace = _channel_for(group, phase)
        prob = min(max(float(sb_pick.peak_value), 0.0), 1.0)
        return Pick(stream_id=stream_id_of(trace), time=as_utc(sb_pick.peak_time.datetime), phase=phase,
                    time_uncertainty_s=sigma, method=self.name, probability=prob)

    def pick(self, stream) -> list[Pick]:
        """Pick P and S in ``stream`` (ObsPy Stream, any stations; not modified).

        The stream is cleaned by :func:`tianshan.picks.base.prepare_stream` (mixed
        rates, overlaps, gaps: counted in :attr:`last_counts`), then SeisBench
        annotates all sensors in batched windows; picks of one station and phase
        within :attr:`dedup_tolerance_s` are merged.
        """
        prepared, counts = prepare_stream(stream, min_length_s=self.min_segment_s,
                                           flat_run_s=self.flat_run_s)
        picks = self._pick_groups(group_by_station(prepared), counts) if len(prepared) else []
        self.last_counts = counts
        if counts:
            log.info("picker %s: skipped %s", self.name, dict(counts))
        return deduplicate_picks(picks, self.dedup_tolerance_s)

    def pick_segment(self, segment) -> Sequence[Pick]:
        """Pick one gap-free segment of one sensor (same model path as :meth:`pick`; not modified)."""
        counts: Counter = Counter()
        return self._pick_groups(group_by_station(segment.copy()), counts)
