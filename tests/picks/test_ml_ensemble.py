"""Ensemble of SeisBench pickers: combination of probability curves, equality with one model, NCEDC score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tianshan.core.errors import InputError

torch = pytest.importorskip("torch")
pytest.importorskip("seisbench.models")

from tianshan.picks.ml import SeisBenchPicker  # noqa: E402
from tianshan.picks.ml_ensemble import (  # noqa: E402
    SeisBenchEnsemblePicker,
    combine_annotations,
    split_model_list,
)

MODELS = Path("models/ustc_pickers/seisbench")
XJ = MODELS / "phasenet_xinjiang"
XIYU = MODELS / "phasenet_xiyu"

pytestmark = pytest.mark.usefixtures("no_seisbench_network")


def _key(p):
    return (str(p.stream_id), p.phase, p.time, p.probability, p.time_uncertainty_s)


# --------------------------------------------------------------- combination (no shared data)

def _ann(prefix, label, start, rate, data, sta="AA"):
    from obspy import Trace, UTCDateTime

    return Trace(np.asarray(data, dtype=np.float64), header={
        "network": "XX", "station": sta, "location": "", "channel": f"{prefix}_{label}",
        "sampling_rate": rate, "starttime": UTCDateTime(2020, 1, 1) + start})


def test_combine_mean_median_alignment_and_coverage():
    from obspy import Stream

    rng = np.random.default_rng(7)
    a = rng.random(101)
    b = rng.random(101)
    c = rng.random(51)
    ref = Stream([_ann("PhaseNet", "P", 0.0, 50.0, a), _ann("PhaseNet", "N", 0.0, 50.0, 1 - a)])
    # model 2: same grid, other class name; model 3: half the rate, from 1 s (covers 1..3 s; ref 0..2 s)
    two = Stream([_ann("EQTransformer", "P", 0.0, 50.0, b), _ann("EQTransformer", "P", 0.0, 50.0, b, sta="BB")])
    three = Stream([_ann("Other", "P", 1.0, 25.0, c)])
    out = combine_annotations([ref, two, three], ["PhaseNet", "EQTransformer", "Other"], ["P"], "mean")
    assert len(out) == 1 and out[0].stats.channel == "PhaseNet_P" and out[0].stats.station == "AA"
    got = out[0].data
    # before 1 s only two models cover the sample
    np.testing.assert_array_equal(got[:50], (a[:50] + b[:50]) / 2)
    # on the shared grid points (every 2nd sample from 1 s) the third model is exact
    np.testing.assert_allclose(got[50::2], (a[50::2] + b[50::2] + c[:26]) / 3, rtol=0, atol=1e-12)
    # in between: linear interpolation of the 25 Hz curve
    mid = 0.5 * (c[:25] + c[1:26])
    np.testing.assert_allclose(got[51::2], (a[51::2] + b[51::2] + mid) / 3, rtol=0, atol=1e-12)
    med = combine_annotations([ref, two, three], ["PhaseNet", "EQTransformer", "Other"], ["P"], "median")
    np.testing.assert_allclose(med[0].data[50::2], np.median(np.vstack([a[50::2], b[50::2], c[:26]]), axis=0),
                               rtol=0, atol=1e-12)
    # one model: unchanged values
    solo = combine_annotations([ref], ["PhaseNet"], ["P", "N"], "mean")
    np.testing.assert_array_equal(solo[0].data, a)
    np.testing.assert_array_equal(solo[1].data, 1 - a)


def test_split_model_list_and_bad_options(tmp_path):
    assert split_model_list("a, b") == ["a", "b"]
    assert split_model_list(Path("x/y")) == [Path("x/y")]
    assert split_model_list(["a", Path("b")]) == ["a", Path("b")]
    with pytest.raises(InputError):
        split_model_list(" , ")
    with pytest.raises(InputError) as err:
        SeisBenchEnsemblePicker([tmp_path / "m"], combine="max")
    assert err.value.field == "combine"


# --------------------------------------------------------------- real models (shared data)

def test_ensemble_of_one_equals_that_model(csn_stream, shared_data):
    single = SeisBenchPicker(shared_data / XJ).pick(csn_stream)
    ens = SeisBenchEnsemblePicker([shared_data / XJ])
    picks = ens.pick(csn_stream)
    assert single and sorted(map(_key, picks)) == sorted(map(_key, single))
    assert ens.name == "ensemble-mean:phasenet:phasenet_xinjiang"
    assert all(p.method == ens.name for p in picks)
    # two copies of one model: the mean of equal curves is that curve
    twice = SeisBenchEnsemblePicker([shared_data / XJ, shared_data / XJ], combine="median").pick(csn_stream)
    assert sorted(map(_key, twice)) == sorted(map(_key, single))


def test_make_picker_builds_ensemble(shared_data):
    from tianshan.picks import make_picker

    both = make_picker("ml", model=f"{shared_data / XJ},{shared_data / XIYU}", p_threshold=0.4)
    assert isinstance(both, SeisBenchEnsemblePicker) and both.p_threshold == 0.4
    assert both.member_names == ["phasenet:phasenet_xinjiang", "phasenet:phasenet_xiyu"]
    listed = make_picker("ml", model=[shared_data / XJ, shared_data / XIYU], combine="median")
    assert isinstance(listed, SeisBenchEnsemblePicker) and listed.combine == "median"
    one = make_picker("ml", model=str(shared_data / XJ))
    assert type(one) is SeisBenchPicker


def test_ensemble_accuracy_on_ncedc_windows(shared_data):
    """Mean of the Xinjiang and Xiyu PhaseNets at the default threshold 0.3.

    Measured (benchmarks/RESULTS.md): P F1 0.935 (P 0.935 / R 0.935), S F1 0.968; floors
    leave one window's worth of margin. The target P F1 0.95 is NOT reached.
    """
    from tianshan.picks.evaluate import evaluate_picker

    picker = SeisBenchEnsemblePicker([shared_data / XJ, shared_data / XIYU])
    assert picker.p_threshold == picker.s_threshold == 0.3
    scores = evaluate_picker(picker, shared_data / "picks" / "phasenet_ncedc")
    assert scores["P"]["n"] == scores["S"]["n"] == 62
    assert scores["P"]["f1"] >= 0.92 and scores["S"]["f1"] >= 0.95
    assert abs(scores["P"]["residual_mean_s"]) < 0.1 and scores["P"]["residual_std_s"] < 0.1
