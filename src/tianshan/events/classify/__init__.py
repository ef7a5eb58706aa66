"""Event type (earthquake / explosion / quarry blast / collapse / other) with a probability.

Catalog features (depth, magnitude, local time of day and weekday, known
quarries) feed a logistic model shipped as a literal table (trained on the
PNSN ComCat 2018-2022 catalog: a placeholder for Xinjiang until a Xinjiang
labelled catalog exists); waveform features (high-frequency S/P amplitude
ratio, P spectral ratio) are computed from a stream and picks.
"""

from tianshan.events.classify.classify import Classification, classify_event, default_model
from tianshan.events.classify.features import (XINJIANG_TIMEZONE, EventFeatures, Quarry, as_quarries,
                                               catalog_features)
from tianshan.events.classify.model import DiscriminationModel, train_discrimination

__all__ = ["Classification", "classify_event", "default_model", "XINJIANG_TIMEZONE", "EventFeatures", "Quarry",
           "as_quarries", "catalog_features", "DiscriminationModel", "train_discrimination"]
