"""Phase pickers: the :class:`~tianshan.picks.base.Picker` base class, the classical
STA/LTA + AIC picker and SeisBench (ML) pickers, plus picker evaluation.

Nothing heavy is imported here: ObsPy, SeisBench and torch load only when a
picker is made (:func:`make_picker`) or used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from tianshan.picks.base import Picker

__all__ = ["make_picker", "PICKER_KINDS"]

#: Picker kinds understood by :func:`make_picker`.
PICKER_KINDS = ("classic", "ml")


def make_picker(kind: str, model=None, **options) -> "Picker":
    """Build a picker by kind.

    ``kind="classic"``: :class:`tianshan.picks.stalta.ClassicPicker` (``model`` must be None;
    ``options`` are its keyword settings). ``kind="ml"``: :class:`tianshan.picks.ml.SeisBenchPicker`
    with ``model`` a SeisBench model name or a local weights path (never downloaded). Several
    models, as a comma-separated string (``"a,b"``) or a list, give a
    :class:`tianshan.picks.ml_ensemble.SeisBenchEnsemblePicker` on their combined probabilities
    (``combine="mean"`` or ``"median"`` among ``options``).

    Raises :class:`tianshan.core.errors.InputError` for an unknown kind, a model given to the
    classical picker, or an ML picker that is not available.
    """
    from tianshan.core.errors import InputError

    kind = str(kind).strip().lower()
    if kind == "classic":
        if model is not None:
            raise InputError("the classical picker takes no model", field="model")
        from tianshan.picks.stalta import ClassicPicker

        return ClassicPicker(**options)
    if kind == "ml":
        if model is None:
            raise InputError("the ML picker needs a model (a SeisBench model name or a weights path)",
                             field="model")
        try:
            from tianshan.picks.ml import SeisBenchPicker
            from tianshan.picks.ml_ensemble import SeisBenchEnsemblePicker, split_model_list
        except ImportError as err:
            raise InputError(f"the ML picker is not available: {err}", field="picker") from None
        models = split_model_list(model)
        if len(models) > 1 or "combine" in options:
            return SeisBenchEnsemblePicker(models, **options)
        return SeisBenchPicker(models[0], **options)
    raise InputError(f"unknown picker kind {kind!r}; expected one of {', '.join(PICKER_KINDS)}",
                     field="picker")
