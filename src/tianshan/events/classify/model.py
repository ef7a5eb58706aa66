"""Event-type model: multinomial logistic regression on catalog (and waveform) features.

The model is a small literal table (feature names, clipping bounds,
standardisation, one coefficient row per class) evaluated here with plain
Python, so classifying needs neither scikit-learn nor the training data.
:func:`train_discrimination` fits one with scikit-learn
(``LogisticRegression``, L2, lbfgs) from a labelled catalog and validates it with
stratified k-fold cross-validation; ``benchmarks/train_discrimination.py``
writes the fitted table as Python source (:func:`model_source`).

Design vector (names used in :attr:`DiscriminationModel.features`):

``depth_km``, ``log_depth`` (log(1 + max(depth, 0))), ``magnitude``,
``magnitude_above_2_5`` (max(0, M - 2.5): lets the model learn that blasts
are small), ``hour_sin1``/``hour_cos1``/``hour_sin2``/``hour_cos2`` (first two
harmonics of the local hour, a smooth day/night and working-hours shape),
``weekend`` (Saturday or Sunday), ``at_quarry`` (within a known quarry's
radius), and, when a labelled catalog carries them, ``sp_amplitude_log10``
and ``spectral_ratio_log10``. Values are clipped to the training range
(``lower``/``upper``) before standardising: the model does not extrapolate.
A feature that is unknown for an event (no quarry list, no waveforms) is
imputed with the training mean (standardised 0), the usual practice for a
logistic model.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from tianshan.core.errors import DomainError, InputError
from tianshan.core.event import EventType
from tianshan.events.classify.features import EventFeatures, Quarry, XINJIANG_TIMEZONE, local_time
from tianshan.regions.model import haversine_m

#: Catalog features of the default model, in design-vector order.
CATALOG_FEATURES = ("depth_km", "log_depth", "magnitude", "magnitude_above_2_5", "hour_sin1", "hour_cos1",
                    "hour_sin2", "hour_cos2", "weekend", "at_quarry")
#: Optional waveform features (used when the labelled catalog has them).
WAVEFORM_FEATURES = ("sp_amplitude_log10", "spectral_ratio_log10")
#: Class labels a model may predict (EventType families).
CLASS_LABELS = ("earthquake", "explosion", "collapse", "other")


def design_value(name: str, f: EventFeatures) -> float | None:
    """The value of design feature ``name`` for features ``f`` (``None`` = unknown)."""
    if name == "depth_km":
        return f.depth_km
    if name == "log_depth":
        return None if f.depth_km is None else math.log1p(max(f.depth_km, 0.0))
    if name == "magnitude":
        return f.magnitude
    if name == "magnitude_above_2_5":
        return None if f.magnitude is None else max(0.0, f.magnitude - 2.5)
    if name.startswith("hour_"):
        if f.local_hour is None:
            return None
        k = int(name[-1])
        a = 2.0 * math.pi * k * f.local_hour / 24.0
        return math.sin(a) if name[5:8] == "sin" else math.cos(a)
    if name == "weekend":
        return None if f.weekday is None else float(f.weekday >= 5)
    if name == "at_quarry":
        return None if f.at_quarry is None else float(f.at_quarry)
    if name in WAVEFORM_FEATURES:
        return getattr(f, name)
    raise DomainError(f"discrimination model: unknown feature {name!r}")


@dataclass(frozen=True, slots=True)
class DiscriminationModel:
    """A fitted multinomial logistic model as a literal table.

    ``coefficients[k]`` and ``intercepts[k]`` give the logit of
    ``classes[k]`` on standardised, clipped features; a binary model has a zero
    row for its first class. ``provenance`` says what it was trained on and when;
    ``validation`` the cross-validated figures.
    """

    classes: tuple[str, ...]
    features: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]
    timezone: str = XINJIANG_TIMEZONE
    provenance: str = ""
    validation: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(self.features)
        for name in ("lower", "upper", "mean", "scale"):
            if len(getattr(self, name)) != n:
                raise DomainError(f"discrimination model {name}: {len(getattr(self, name))} values for {n} features")
        if len(self.coefficients) != len(self.classes) or len(self.intercepts) != len(self.classes):
            raise DomainError("discrimination model: one coefficient row and intercept per class needed")
        if any(len(row) != n for row in self.coefficients):
            raise DomainError("discrimination model: coefficient rows must have one value per feature")
        unknown = set(self.classes) - set(CLASS_LABELS)
        if unknown:
            raise DomainError(f"discrimination model: unknown classes {sorted(unknown)}")
        if any(s <= 0 for s in self.scale):
            raise DomainError("discrimination model: scales must be > 0")
        for name in self.features:
            design_value(name, EventFeatures())  # raises for unknown names

    def standardised(self, features: EventFeatures) -> list[float]:
        """Clipped, standardised design vector (unknown values -> 0, the training mean)."""
        out = []
        for name, lo, hi, mu, s in zip(self.features, self.lower, self.upper, self.mean, self.scale):
            v = design_value(name, features)
            out.append(0.0 if v is None else (min(max(v, lo), hi) - mu) / s)
        return out

    def probabilities(self, features: EventFeatures) -> dict[str, float]:
        """Class probabilities (softmax of the logits), keyed by class label."""
        x = self.standardised(features)
        logits = [b + sum(c * xi for c, xi in zip(row, x)) for row, b in zip(self.coefficients, self.intercepts)]
        top = max(logits)
        w = [math.exp(z - top) for z in logits]
        total = sum(w)
        return {c: wi / total for c, wi in zip(self.classes, w)}


# ---------------------------------------------------------------- training (scikit-learn, not at import)

def label_family(value: str) -> str:
    """Family label (earthquake/explosion/collapse/other) of a catalog event type string."""
    t = EventType.from_quakeml(value.strip())
    if t in (EventType.EXPLOSION, EventType.QUARRY_BLAST):
        return "explosion"
    if t is EventType.COLLAPSE:
        return "collapse"
    if t is EventType.EARTHQUAKE:
        return "earthquake"
    return "other"


@dataclass(frozen=True, slots=True)
class LabelledEvent:
    """One row of a labelled catalog: UTC time, epicentre, depth (km), magnitude, family label."""

    time: datetime
    latitude_deg: float
    longitude_deg: float
    depth_km: float
    magnitude: float
    label: str
    sp_amplitude_log10: float | None = None
    spectral_ratio_log10: float | None = None


def _opt(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    v = float(text)
    return v if math.isfinite(v) else None


def read_labelled_catalog(path: str | Path) -> tuple[list[LabelledEvent], int]:
    """Events and the number of skipped corrupt rows of a labelled catalog CSV.

    Columns: ``event_type``, ``latitude``, ``longitude``, ``depth`` (km, below
    sea level) or ``depth_km``, ``magnitude``, and ``timestamp`` (POSIX s, as
    the PNSN ComCat file) or ``time`` (ISO 8601, UTC); optional
    ``sp_amplitude_log10``, ``spectral_ratio_log10``.
    """
    path = Path(path)
    try:
        fh = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    with fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or ())
        need = {"event_type", "latitude", "longitude", "magnitude"}
        if not need <= cols or not ({"timestamp", "time"} & cols) or not ({"depth", "depth_km"} & cols):
            raise InputError("a labelled catalog needs columns event_type, latitude, longitude, magnitude, "
                             "depth (km) and timestamp or time", str(path), 1)
        out: list[LabelledEvent] = []
        skipped = 0
        for row in reader:
            try:
                if row.get("timestamp"):
                    t = datetime.fromtimestamp(float(row["timestamp"]), tz=timezone.utc)
                else:
                    t = datetime.fromisoformat(row["time"].strip().replace("Z", "+00:00"))
                    t = t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
                depth = float(row.get("depth_km") or row["depth"])
                vals = (float(row["latitude"]), float(row["longitude"]), depth, float(row["magnitude"]))
                if not all(math.isfinite(v) for v in vals) or not row["event_type"].strip():
                    raise ValueError("non-finite value or empty type")
                out.append(LabelledEvent(t, *vals, label_family(row["event_type"]),
                                         _opt(row.get("sp_amplitude_log10")), _opt(row.get("spectral_ratio_log10"))))
            except (ValueError, TypeError, KeyError, AttributeError):
                skipped += 1
    return out, skipped


def quarry_sites(events: Sequence[LabelledEvent], cell_deg: float = 0.02, min_events: int = 3,
                 radius_m: float = 2000.0) -> tuple[Quarry, ...]:
    """Blasting sites learnt from labelled explosions: grid cells of ``cell_deg`` holding at least
    ``min_events`` explosions, centred on their mean epicentre. Used in training as the stand-in of a
    profile's quarry list (a network knows its quarries from its own past blasts)."""
    cells: dict[tuple[int, int], list[LabelledEvent]] = {}
    for e in events:
        if e.label == "explosion":
            cells.setdefault((round(e.latitude_deg / cell_deg), round(e.longitude_deg / cell_deg)), []).append(e)
    sites = []
    for key in sorted(cells):
        group = cells[key]
        if len(group) >= min_events:
            sites.append(Quarry(sum(e.latitude_deg for e in group) / len(group),
                                sum(e.longitude_deg for e in group) / len(group), radius_m))
    return tuple(sites)


def _at_quarry(e: LabelledEvent, sites: Sequence[Quarry]) -> bool:
    # Cheap box test before the haversine (0.1 deg > any radius used here).
    return any(abs(e.latitude_deg - q.latitude_deg) < 0.1 and abs(e.longitude_deg - q.longitude_deg) < 0.15
               and haversine_m(e.latitude_deg, e.longitude_deg, q.latitude_deg, q.longitude_deg) <= q.radius_m
               for q in sites)


def labelled_features(e: LabelledEvent, tz, sites: Sequence[Quarry] | None) -> EventFeatures:
    lt = local_time(e.time, tz)
    return EventFeatures(depth_km=e.depth_km, magnitude=e.magnitude,
                         local_hour=lt.hour + lt.minute / 60.0 + lt.second / 3600.0, weekday=lt.weekday(),
                         at_quarry=None if sites is None else _at_quarry(e, sites),
                         sp_amplitude_log10=e.sp_amplitude_log10, spectral_ratio_log10=e.spectral_ratio_log10)


def _matrix(feats: Sequence[EventFeatures], names: Sequence[str]):
    import numpy as np

    x = np.array([[math.nan if (v := design_value(n, f)) is None else v for n in names] for f in feats], float)
    return x


def _fit(x, labels, classes, names, tz, provenance, c_reg):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    lower, upper = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    mean = np.nanmean(x, axis=0)
    scale = np.nanstd(x, axis=0)
    scale[~(scale > 0)] = 1.0
    z = np.where(np.isnan(x), 0.0, (x - mean) / scale)
    y = np.array([classes.index(lab) for lab in labels])
    clf = LogisticRegression(C=c_reg, max_iter=5000, tol=1e-10).fit(z, y)
    coef, icpt = clf.coef_, clf.intercept_
    if len(classes) == 2:  # sklearn's binary model: the logit of class 1
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        icpt = np.array([0.0, icpt[0]])
    return DiscriminationModel(
        classes=tuple(classes), features=tuple(names), lower=tuple(map(float, lower)),
        upper=tuple(map(float, upper)), mean=tuple(map(float, mean)), scale=tuple(map(float, scale)),
        coefficients=tuple(tuple(map(float, r)) for r in coef), intercepts=tuple(map(float, icpt)),
        timezone=str(tz), provenance=provenance), clf


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """A fitted model and its cross-validated figures for the ``explosion`` class."""

    model: DiscriminationModel
    validation: dict
    skipped_rows: int
    dropped_classes: dict


def train_discrimination(path: str | Path, tz: str | float = "America/Los_Angeles", folds: int = 5,
                         seed: int = 0, min_class_size: int = 30, regularisation_c: float = 1.0,
                         provenance: str = "") -> TrainingResult:
    """Fit the event-type model on a labelled catalog and cross-validate it.

    ``tz`` is the time zone of the catalog's region (local time of day).
    Classes with fewer than ``min_class_size`` events are left out (reported
    in ``dropped_classes``). Validation: stratified ``folds``-fold CV
    (scikit-learn ``StratifiedKFold``, shuffled with ``seed``); in each fold the
    quarry sites are learnt from the training folds' explosions only. Reports
    precision, recall and F1 for ``explosion`` (predicted = most probable class)
    and the ROC AUC of P(explosion), over the pooled out-of-fold predictions.
    """
    import numpy as np
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    events, skipped = read_labelled_catalog(path)
    counts: dict[str, int] = {}
    for e in events:
        counts[e.label] = counts.get(e.label, 0) + 1
    classes = [c for c in CLASS_LABELS if counts.get(c, 0) >= min_class_size]
    dropped = {c: n for c, n in counts.items() if c not in classes}
    if "explosion" not in classes or len(classes) < 2:
        raise InputError(f"labelled catalog needs >= {min_class_size} earthquakes and explosions, has {counts}",
                         str(path))
    events = [e for e in events if e.label in classes]
    names = list(CATALOG_FEATURES)
    for w in WAVEFORM_FEATURES:
        if any(getattr(e, w) is not None for e in events):
            names.append(w)
    labels = [e.label for e in events]
    y = np.array([classes.index(lab) for lab in labels])
    ex = classes.index("explosion")
    p_ex = np.zeros(len(events))
    pred = np.zeros(len(events), int)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        sites = quarry_sites([events[i] for i in train])
        x = _matrix([labelled_features(e, tz, sites) for e in events], names)
        model, _ = _fit(x[train], [labels[i] for i in train], classes, names, tz, "", regularisation_c)
        for i in test:
            p = model.probabilities(labelled_features(events[i], tz, sites))
            p_ex[i] = p["explosion"]
            pred[i] = classes.index(max(p, key=p.get))
    prec, rec, f1, _ = precision_recall_fscore_support(y == ex, pred == ex, average="binary", zero_division=0)
    validation = {"folds": folds, "seed": seed, "events": len(events), "counts": {c: counts[c] for c in classes},
                  "explosion": {"precision": round(float(prec), 4), "recall": round(float(rec), 4),
                                "f1": round(float(f1), 4), "auc": round(float(roc_auc_score(y == ex, p_ex)), 4)}}
    sites = quarry_sites(events)
    x = _matrix([labelled_features(e, tz, sites) for e in events], names)
    model, _ = _fit(x, labels, classes, names, tz, provenance, regularisation_c)
    model = DiscriminationModel(**{**{n: getattr(model, n) for n in model.__slots__}, "validation": validation})
    return TrainingResult(model, validation, skipped, dropped)


def model_source(model: DiscriminationModel, header: str) -> str:
    """Python source of a module holding ``model`` as the literal ``MODEL`` (for the shipped table)."""
    import pprint

    def lit(value, indent: int) -> str:
        text = pprint.pformat(value, width=110 - indent, compact=True, sort_dicts=False)
        return text.replace("\n", "\n" + " " * indent)

    def nums(values) -> tuple:
        return tuple(round(float(v), 10) for v in values)

    fields = {"classes": model.classes, "features": model.features, "lower": nums(model.lower),
              "upper": nums(model.upper), "mean": nums(model.mean), "scale": nums(model.scale),
              "coefficients": tuple(nums(r) for r in model.coefficients), "intercepts": nums(model.intercepts),
              "timezone": model.timezone, "provenance": model.provenance, "validation": model.validation}
    body = [f"    {name}={lit(value, 5 + len(name))}," for name, value in fields.items()]
    return "\n".join([f'"""{header}"""', "", "from tianshan.events.classify.model import DiscriminationModel", "",
                      "MODEL = DiscriminationModel(", *body, ")", ""])
