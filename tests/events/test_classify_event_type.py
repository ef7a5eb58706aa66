"""Event type: the shipped PNSN model, cross-validated figures, features, classify_event."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.core import DomainError, Event, EventType, InputError, Magnitude, Origin
from tianshan.events.classify import Quarry, catalog_features, classify_event, default_model
from tianshan.events.classify.features import EventFeatures, resolve_timezone
from tianshan.events.classify.model import (CATALOG_FEATURES, LabelledEvent, _fit, _matrix, labelled_features,
                                            read_labelled_catalog, train_discrimination)


def _event(t, depth_m, mag, lat=41.80, lon=84.30, mode="automatic"):
    o = Origin(t, lat, lon, depth_m, evaluation_mode=mode)
    return Event().with_origin(o).with_magnitude(Magnitude("ML", mag))


WED_14H_URUMQI = datetime(2024, 5, 15, 8, 0, tzinfo=timezone.utc)  # 14:00 UTC+6, a Wednesday


def test_catalog_features_local_time_and_quarry():
    ev = _event(WED_14H_URUMQI, 1500.0, 2.1)
    f = catalog_features(ev, quarries=[(41.81, 84.30, 2000.0), Quarry(45.0, 80.0)], tz="Asia/Urumqi")
    assert (f.local_hour, f.weekday, f.depth_km, f.magnitude) == (14.0, 2, 1.5, 2.1)
    assert f.at_quarry is True and f.quarry_distance_km == pytest.approx(1.112, abs=0.01)
    assert catalog_features(ev, tz="Asia/Shanghai").local_hour == 16.0  # Beijing time is 2 h later
    assert catalog_features(ev, tz=6).local_hour == 14.0
    assert catalog_features(ev).at_quarry is None
    with pytest.raises(DomainError, match="time zone"):
        resolve_timezone("Mars/Olympus")
    with pytest.raises(DomainError, match="radius_m"):
        Quarry(41.0, 84.0, radius_m=0.0)


def test_classify_blast_versus_earthquake():
    quarry = [(41.80, 84.30, 3000.0)]
    blast = classify_event(_event(WED_14H_URUMQI, -500.0, 1.8), quarries=quarry)
    assert blast.type is EventType.QUARRY_BLAST and blast.probability > 0.95 and blast.certainty == "known"
    away = classify_event(_event(WED_14H_URUMQI, -500.0, 1.8, lat=43.0), quarries=quarry)
    assert away.type is EventType.EXPLOSION
    assert away.probabilities["explosion"] < blast.probabilities["explosion"]
    night_deep = classify_event(_event(datetime(2024, 5, 15, 20, 0, tzinfo=timezone.utc), 12_000.0, 3.0))
    assert night_deep.type is EventType.EARTHQUAKE and night_deep.probability > 0.99
    assert set(night_deep.probabilities) == {"earthquake", "explosion"}
    assert sum(night_deep.probabilities.values()) == pytest.approx(1.0)
    big = classify_event(_event(WED_14H_URUMQI, 8_000.0, 5.5), quarries=quarry)  # large and deep: no blast
    assert big.type is EventType.EARTHQUAKE
    weekend = classify_event(_event(datetime(2024, 5, 18, 8, 0, tzinfo=timezone.utc), -500.0, 1.8))
    weekday = classify_event(_event(WED_14H_URUMQI, -500.0, 1.8))
    assert weekend.probabilities["explosion"] < weekday.probabilities["explosion"]
    typed = blast.apply(Event())
    assert typed.type is EventType.QUARRY_BLAST and typed.type_certainty == "known"


def test_given_features_are_used_and_unknowns_imputed():
    model = default_model()
    empty = model.probabilities(EventFeatures())
    # All features unknown: the logit is the intercept at the training mean.
    assert empty["explosion"] == pytest.approx(1 / (1 + np.exp(-model.intercepts[1])))
    c = classify_event(Event(), features=EventFeatures(depth_km=-0.5, local_hour=13.0, weekday=1, magnitude=1.5))
    assert c.type is EventType.EXPLOSION


def _synthetic_catalog(path, rng, n=400, extra_rows=""):
    lines = ["timestamp,event_type,latitude,longitude,depth,magnitude"]
    for i in range(n):
        blast = i % 4 == 0
        hour = rng.uniform(9, 17) if blast else rng.uniform(0, 24)
        t = datetime(2020, 3, 2 + (i % 5), tzinfo=timezone.utc).timestamp() + (hour + 8) * 3600
        depth = rng.normal(-0.5, 0.5) if blast else rng.uniform(0, 25)
        lat, lon = (47.0 + (i % 3) * 0.5, -122.0) if blast else (rng.uniform(45, 49), rng.uniform(-124, -120))
        lines.append(f"{t},{'explosion' if blast else 'earthquake'},{lat},{lon},{depth},{rng.uniform(0.5, 2.5)}")
    path.write_text("\n".join(lines) + "\n" + extra_rows)
    return path


def test_literal_model_matches_scikit_learn(tmp_path):
    """The table evaluator reproduces scikit-learn's predict_proba on the same fit (reference check)."""
    rng = np.random.default_rng(3)
    events, _ = read_labelled_catalog(_synthetic_catalog(tmp_path / "cat.csv", rng))
    feats = [labelled_features(e, "America/Los_Angeles", ()) for e in events]
    x = _matrix(feats, CATALOG_FEATURES)
    model, clf = _fit(x, [e.label for e in events], ["earthquake", "explosion"], CATALOG_FEATURES,
                      "America/Los_Angeles", "test", 1.0)
    z = np.where(np.isnan(x), 0.0, (np.clip(x, model.lower, model.upper) - model.mean) / model.scale)
    ref = clf.predict_proba(z)[:, 1]
    ours = np.array([model.probabilities(f)["explosion"] for f in feats])
    assert np.max(np.abs(ours - ref)) < 1e-9


def test_labelled_catalog_reader(tmp_path):
    rng = np.random.default_rng(5)
    path = _synthetic_catalog(tmp_path / "cat.csv", rng, n=40,
                              extra_rows="notatime,earthquake,1,2,3,4\n1.0e9,,1,2,3,4\n1.0e9,quarry blast,47,-122,0,1\n")
    events, skipped = read_labelled_catalog(path)
    assert len(events) == 41 and skipped == 2 and events[-1].label == "explosion"
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="labelled catalog needs columns"):
        read_labelled_catalog(tmp_path / "bad.csv")
    assert isinstance(events[0], LabelledEvent)


def test_pnsn_cross_validation_and_shipped_table(shared_data):
    """Stratified 5-fold CV on the PNSN ComCat catalog reaches the figures of the shipped table, and refitting
    reproduces the shipped coefficients (provenance)."""
    result = train_discrimination(shared_data / "discrimination" / "pnsn_comcat_2018-2022.csv")
    v = result.validation["explosion"]
    assert result.validation["counts"] == {"earthquake": 11262, "explosion": 2671}  # 2664 + 7 quarry blasts
    assert result.dropped_classes == {"other": 17} and result.skipped_rows == 0
    assert v["precision"] >= 0.90 and v["recall"] >= 0.94 and v["f1"] >= 0.92 and v["auc"] >= 0.99
    shipped = default_model()
    assert shipped.validation["explosion"] == v
    assert shipped.features == result.model.features and shipped.classes == result.model.classes
    np.testing.assert_allclose(shipped.coefficients, result.model.coefficients, atol=1e-4)
    np.testing.assert_allclose(shipped.intercepts, result.model.intercepts, atol=1e-4)
    np.testing.assert_allclose(shipped.mean, result.model.mean, atol=1e-8)
