"""Ensemble of SeisBench phase pickers: one pick set from the combined probability curves.

:class:`SeisBenchEnsemblePicker` runs several SeisBench waveform models on the
same stream (each with its own SeisBench ``annotate``: its own sample rate,
window and stacking), combines the per-phase probability traces sample by
sample (``"mean"`` or ``"median"``), and picks the combined curves exactly as
SeisBench picks one model (``classify_aggregate`` of the first model: trigger on
at the phase threshold, off at half of it, pick at the peak). Everything around
the model (stream preparation, short-gap filling, sensor rounds, pick
conversion with probability = combined peak value and FWHM-derived
uncertainty, de-duplication) is :class:`tianshan.picks.ml.SeisBenchPicker`'s.

Practice: averaging the probability outputs of several deep-learning pickers
(or of one picker over perturbed inputs) before triggering is the ensemble used
in production at the USGS NEIC (Yeck, Patton, Ross, Hayes, Guy, Ambruz, Shelly,
Benz & Earle 2021, SRL 92(1), 469-480, "Leveraging deep learning in global 24/7
real-time earthquake monitoring at the National Earthquake Information
Center"); Münchmeyer et al. 2022 (JGR Solid Earth 127, e2021JB023499, "Which
picker fits my data? A quantitative evaluation of deep learning based seismic
pickers") show that model/training-set choice moves pick quality across
regions, which is what averaging regional models hedges against. The mean is
the usual combination (a soft vote); the median is its outlier-robust variant
(identical to the mean for two models).

Alignment: the combined curve lives on the first model's annotation grid; the
other models' curves (same station, same phase) are sampled onto it (exactly
when the grids coincide, else by linear interpolation); where a model has no
curve (its windows did not cover the span) it is left out of that sample's
combination (NaN-aware mean / median).

``make_picker("ml", model="a,b")`` or ``model=["a", "b"]`` builds this picker
(see :func:`tianshan.picks.make_picker`). torch and SeisBench are imported only
when a picker is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tianshan.core.errors import InputError
from tianshan.picks.ml import SeisBenchPicker, load_seisbench_model, model_label

#: Ways to combine the per-model probability curves.
COMBINE_METHODS = ("mean", "median")


def split_model_list(model: str | Path | Sequence[str | Path]) -> list[str | Path]:
    """Model list from ``"a,b"`` (comma-separated) or a sequence; a single model gives a list of one."""
    if isinstance(model, (str, Path)):
        items = [m.strip() for m in str(model).split(",")] if isinstance(model, str) else [model]
    else:
        items = [m.strip() if isinstance(m, str) else m for m in model]
    items = [m for m in items if str(m)]
    if not items:
        raise InputError("no model given", field="model")
    return items


def _sample_onto(ref, trace) -> np.ndarray:
    """Values of ``trace`` at the sample times of ``ref`` (NaN outside ``trace``)."""
    offset = (ref.stats.starttime - trace.stats.starttime) * trace.stats.sampling_rate
    step = trace.stats.sampling_rate / ref.stats.sampling_rate
    x = offset + step * np.arange(ref.stats.npts)
    out = np.full(ref.stats.npts, np.nan)
    inside = (x >= -1e-6) & (x <= trace.stats.npts - 1 + 1e-6)
    if not inside.any():
        return out
    data = np.asarray(trace.data, dtype=np.float64)
    xr = np.rint(x)
    if np.all(np.abs(x[inside] - xr[inside]) < 1e-6):  # coincident grids: copy exactly
        out[inside] = data[xr[inside].astype(int)]
    else:
        out[inside] = np.interp(x[inside], np.arange(trace.stats.npts), data)
    return out


def combine_annotations(annotation_sets: Sequence, prefixes: Sequence[str], labels: Sequence[str],
                        combine: str = "mean"):
    """Combine per-model SeisBench annotation streams into one on the first model's grid.

    ``annotation_sets[k]``: model k's ``annotate`` output (channels ``<prefix_k>_<label>``);
    ``prefixes[k]``: its class name. Output channels are ``<prefixes[0]>_<label>`` for each
    of ``labels``, value = mean or median over the models covering each sample.
    """
    from obspy import Stream

    reducer = np.nanmean if combine == "mean" else np.nanmedian
    out = Stream()
    for ref in annotation_sets[0]:
        label = ref.stats.channel[len(prefixes[0]) + 1:]
        if label not in labels:
            continue
        s = ref.stats
        columns = [np.asarray(ref.data, dtype=np.float64)]
        for ann, prefix in zip(annotation_sets[1:], prefixes[1:]):
            col = np.full(s.npts, np.nan)
            for tr in ann.select(network=s.network, station=s.station, location=s.location,
                                 channel=f"{prefix}_{label}"):
                if tr.stats.endtime < s.starttime or tr.stats.starttime > s.endtime:
                    continue
                values = _sample_onto(ref, tr)
                col = np.where(np.isnan(col), values, col)
            columns.append(col)
        stacked = np.vstack(columns)
        combined = stacked[0] if len(columns) == 1 else reducer(stacked, axis=0)
        tr = ref.copy()
        tr.data = np.asarray(combined, dtype=np.float64)
        out.append(tr)
    return out


class SeisBenchEnsemblePicker(SeisBenchPicker):
    """Picker on the combined phase probabilities of several SeisBench models.

    ``models``: local weights path prefixes or cached ``"[class:]name"`` (never downloaded),
    at least one; the first model's sample grid, labels and ``classify_aggregate`` are used.
    Every model must output each of the first model's phase labels. ``combine``: ``"mean"``
    (default) or ``"median"`` of the per-model curves. Other arguments as
    :class:`~tianshan.picks.ml.SeisBenchPicker` (``p_threshold`` / ``s_threshold`` apply to the
    combined curve; default 0.3). ``model_class`` applies to every model.
    """

    def __init__(self, models: Sequence[str | Path] | str, combine: str = "mean", device: str = "cpu",
                 model_class: str | type | None = None, cache_root: str | Path | None = None,
                 **options) -> None:
        paths = split_model_list(models)
        combine = str(combine).strip().lower()
        if combine not in COMBINE_METHODS:
            raise InputError(f"unknown combination {combine!r}; expected one of {', '.join(COMBINE_METHODS)}",
                             field="combine")
        super().__init__(paths[0], device=device, model_class=model_class, cache_root=cache_root, **options)
        self.models = [self.model] + [
            load_seisbench_model(m, device=device, model_class=model_class, cache_root=cache_root)
            for m in paths[1:]]
        self.combine = combine
        self.labels = [str(lab) for lab in self.model.labels]
        for path, net in zip(paths[1:], self.models[1:]):
            missing = [lab for lab in self.labels if lab not in [str(x) for x in net.labels]]
            if missing:
                raise InputError(f"model {model_label(path, net)} has no output for phase(s) "
                                 f"{', '.join(missing)} of {self.name}", source=str(path), field="model")
        self.member_names = [model_label(p, n) for p, n in zip(paths, self.models)]
        self.name = f"ensemble-{combine}:" + "+".join(self.member_names)

    def _annotate(self, stream, args: dict):
        """Annotate ``stream`` with every model (each with its own default arguments) and combine."""
        sets, prefixes = [], []
        for net in self.models:
            own = dict(net.default_args)
            own.update(self.annotate_options)
            own["batch_size"] = self.batch_size
            sets.append(net.annotate(stream, **own))
            prefixes.append(type(net).__name__)
        return combine_annotations(sets, prefixes, self.labels, self.combine)
