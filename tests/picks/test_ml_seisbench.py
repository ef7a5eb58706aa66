"""SeisBench picker: offline loading, reference picks of the USTC Xinjiang PhaseNet, pick conversion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.core.pick import Pick

torch = pytest.importorskip("torch")
sbm = pytest.importorskip("seisbench.models")

from tianshan.picks.ml import FWHM_PER_SIGMA, SeisBenchPicker, load_seisbench_model, peak_sigma_s  # noqa: E402

XJ = Path("models/ustc_pickers/seisbench/phasenet_xinjiang")

pytestmark = pytest.mark.usefixtures("no_seisbench_network")


@pytest.fixture(scope="module")
def xj_picker(request):
    shared = request.getfixturevalue("shared_data")
    return SeisBenchPicker(shared / XJ)


def _reference(shared: Path) -> dict[tuple[str, str], object]:
    from obspy import UTCDateTime

    ref = json.loads((shared / "waveforms/csn_ustc/reference_picks_ustc_xinjiang_model.json").read_text())
    out = {}
    for phase, table in ref.items():
        for trace, time in zip(table["trace"], table["time"]):
            d, t = time.split("T")
            out[(".".join(trace.split(".")[:2]), phase)] = UTCDateTime(f"{d[:4]}-{d[4:6]}-{d[6:8]}T{t}")
    return out


def _by_station(picks: list[Pick]) -> dict[tuple[str, str], list[Pick]]:
    out: dict[tuple[str, str], list[Pick]] = {}
    for p in picks:
        out.setdefault((p.stream_id.station_id, p.phase), []).append(p)
    return out


def test_xinjiang_phasenet_reproduces_authors_reference_picks(xj_picker, csn_stream, shared_data):
    """USTC-Pickers (Zhu et al. 2023) reference picks, 50 Hz, threshold 0.3: within 0.05 s."""
    from obspy import UTCDateTime

    assert xj_picker.sampling_rate_hz == 50
    assert type(xj_picker.model).__name__ == "PhaseNet"  # inferred from the weights, json names no class
    ref = _reference(shared_data)
    got = _by_station(xj_picker.pick(csn_stream))
    assert set(got) == set(ref)  # exactly the reference stations and phases, nothing else
    for key, t_ref in ref.items():
        (p,) = got[key]
        assert abs(UTCDateTime(p.time) - t_ref) <= 0.05, key
        assert p.method == "phasenet:phasenet_xinjiang"
        assert 0.3 <= p.probability <= 1.0
        assert 0.02 <= p.time_uncertainty_s <= 1.0
        assert p.stream_id.component == ("Z" if p.phase == "P" else "N")


def test_picks_equal_seisbench_classify(xj_picker, csn_stream):
    """The wrapper adds nothing to SeisBench's own picks (same times and peak values)."""
    from obspy import UTCDateTime

    direct = xj_picker.model.classify(csn_stream.copy(), P_threshold=0.3, S_threshold=0.3).picks
    ours = xj_picker.pick(csn_stream)
    assert len(direct) == len(ours)
    a = sorted((p.trace_id.split(".")[1], p.phase, float(p.peak_time), float(p.peak_value)) for p in direct)
    b = sorted((p.stream_id.station, p.phase, float(UTCDateTime(p.time)), p.probability) for p in ours)
    for x, y in zip(a, b):
        assert x[:2] == y[:2]
        assert x[2] == pytest.approx(y[2], abs=1e-6)
        assert x[3] == pytest.approx(y[3], rel=1e-6)


def test_gap_mixed_rate_and_colocated_sensor(xj_picker, csn_stream, shared_data):
    import obspy
    """A gap away from the arrivals, a trace at a wrong rate and a second sensor at the site."""
    from obspy import UTCDateTime

    bj = csn_stream.select(station="BJ").copy()
    t0 = bj[0].stats.starttime
    gapped = bj.copy().trim(t0, t0 + 120) + bj.copy().trim(t0 + 125, bj[0].stats.endtime)
    odd = bj.select(channel="BHE")[0].copy().trim(t0 + 140, t0 + 150)
    odd.stats.sampling_rate = 20.0  # same channel, wrong rate: dropped and counted
    second = bj.copy()
    for tr in second:
        tr.stats.channel = "HH" + tr.stats.channel[2]
    picks = xj_picker.pick(gapped + obspy.Stream([odd]) + second)
    assert xj_picker.last_counts["mixed_sample_rate"] == 1
    assert xj_picker.last_counts["gap"] >= 3
    got = _by_station(picks)
    ref = _reference(shared_data)
    assert set(got) == {("CN.BJ", "P"), ("CN.BJ", "S")}  # one pick per station and phase after dedup
    for key, (p,) in got.items():
        assert abs(UTCDateTime(p.time) - ref[key]) <= 0.05


def test_vertical_only_sensor_gets_p_on_z(xj_picker, csn_stream, shared_data):
    from obspy import UTCDateTime

    z = csn_stream.select(station="SC", component="Z")
    got = _by_station(xj_picker.pick(z))
    (p,) = got[("CN.SC", "P")]
    assert str(p.stream_id) == "CN.SC..BHZ"
    assert abs(UTCDateTime(p.time) - _reference(shared_data)[("CN.SC", "P")]) <= 0.1


def test_accuracy_on_ncedc_windows(xj_picker, shared_data):
    """Regression guard at the measured level (P F1 0.927, S F1 0.968; see benchmarks/RESULTS.md)."""
    from tianshan.picks.evaluate import evaluate_picker

    scores = evaluate_picker(xj_picker, shared_data / "picks" / "phasenet_ncedc")
    assert scores["P"]["n"] == scores["S"]["n"] == 62
    assert scores["P"]["f1"] >= 0.90 and scores["S"]["f1"] >= 0.92
    assert abs(scores["P"]["residual_mean_s"]) < 0.1 and scores["P"]["residual_std_s"] < 0.1


def test_make_picker_ml(shared_data):
    from tianshan.picks import make_picker

    picker = make_picker("ml", model=str(shared_data / XJ) + ".json", p_threshold=0.5)
    assert isinstance(picker, SeisBenchPicker) and picker.p_threshold == 0.5
    assert picker.name == "phasenet:phasenet_xinjiang"


# --------------------------------------------------------------- loading without shared data

def _state_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_cached_name_loads_latest_local_version_offline(tmp_path):
    (tmp_path / "phasenet").mkdir()
    v1, v2 = sbm.PhaseNet(sampling_rate=50), sbm.PhaseNet(sampling_rate=50)
    v1.save(tmp_path / "phasenet" / "tiny", version_str="1")
    v2.save(tmp_path / "phasenet" / "tiny", version_str="2")
    for name in ("phasenet:tiny", "PhaseNet/tiny", "tiny"):
        net = load_seisbench_model(name, cache_root=tmp_path)
        assert isinstance(net, sbm.PhaseNet) and _state_equal(net, v2) and not net.training
    picker = SeisBenchPicker("phasenet:tiny", cache_root=tmp_path)
    assert picker.name == "phasenet:tiny"


def test_uncached_name_is_input_error_not_download(tmp_path):
    with pytest.raises(InputError, match="never downloaded"):
        load_seisbench_model("phasenet:original", cache_root=tmp_path)
    with pytest.raises(InputError, match="unknown SeisBench model class"):
        load_seisbench_model("nosuchnet:original", cache_root=tmp_path)


def test_ambiguous_cached_name(tmp_path):
    (tmp_path / "phasenet").mkdir()
    (tmp_path / "phasenetlight").mkdir()
    sbm.PhaseNet().save(tmp_path / "phasenet" / "same")
    sbm.PhaseNetLight().save(tmp_path / "phasenetlight" / "same")
    with pytest.raises(InputError, match="ambiguous"):
        load_seisbench_model("same", cache_root=tmp_path)
    assert isinstance(load_seisbench_model("phasenetlight:same", cache_root=tmp_path), sbm.PhaseNetLight)


def test_class_from_weights_or_json(tmp_path):
    eqt = sbm.EQTransformer()
    eqt.save(tmp_path / "eqt_local")
    net = load_seisbench_model(tmp_path / "eqt_local.pt")
    assert type(net) is sbm.EQTransformer and _state_equal(net, eqt)
    light = sbm.PhaseNetLight()
    light.save(tmp_path / "named")
    meta = json.loads((tmp_path / "named.json").read_text())
    meta["model_class"] = "PhaseNetLight"
    (tmp_path / "named.json").write_text(json.dumps(meta))
    assert type(load_seisbench_model(tmp_path / "named")) is sbm.PhaseNetLight
    with pytest.raises(InputError, match="unknown SeisBench model class"):
        load_seisbench_model(tmp_path / "named", model_class="NotAModel")


def test_missing_and_corrupt_weights(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_seisbench_model(tmp_path / "absent")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(InputError, match="bad.json"):
        load_seisbench_model(tmp_path / "bad")
    (tmp_path / "bad.json").write_text(json.dumps({"model_args": {}}))
    with pytest.raises(InputError, match="bad.pt"):
        load_seisbench_model(tmp_path / "bad")


def test_bad_thresholds(tmp_path):
    (tmp_path / "phasenet").mkdir()
    sbm.PhaseNet().save(tmp_path / "phasenet" / "t")
    with pytest.raises(InputError, match="p_threshold"):
        SeisBenchPicker("t", cache_root=tmp_path, p_threshold=1.5)


def test_peak_sigma_of_gaussian():
    """FWHM/2.3548 recovers a sampled Gaussian's standard deviation (to 1 %)."""
    rng = np.random.default_rng(7)
    delta = 0.02
    for sigma in rng.uniform(0.05, 0.5, 5):
        t = np.arange(-5.0, 5.0, delta)
        shift = rng.uniform(-0.5, 0.5)
        curve = 0.8 * np.exp(-0.5 * ((t - shift) / sigma) ** 2)
        i = int(np.argmax(curve))
        assert peak_sigma_s(curve, i, delta) == pytest.approx(sigma, rel=0.01)
    assert FWHM_PER_SIGMA == pytest.approx(2.35482, abs=1e-5)
    assert peak_sigma_s(np.array([0.0, 1.0, 0.0]), 1, delta) == delta  # floor: one sample
    assert peak_sigma_s(np.ones(11), 5, 0.1) == pytest.approx(1.0 / FWHM_PER_SIGMA)


def test_fill_short_gaps_joins_with_zeros_and_reports_spans():
    from obspy import Stream, Trace, UTCDateTime

    from tianshan.picks.ml import fill_short_gaps

    rng = np.random.default_rng(3)
    t0 = UTCDateTime("2024-01-01T00:00:00")
    head = {"network": "XJ", "station": "AAA", "location": "", "channel": "BHZ", "sampling_rate": 10.0}
    a = Trace(rng.normal(5.0, 1.0, 100), header={**head, "starttime": t0})           # 0.0 - 9.9 s
    b = Trace(rng.normal(-3.0, 1.0, 50), header={**head, "starttime": t0 + 12.0})    # gap 2 s
    c = Trace(rng.normal(0.0, 1.0, 50), header={**head, "starttime": t0 + 40.0})     # gap 23 s
    out, spans = fill_short_gaps(Stream([c, a, b]), max_gap_s=5.0)
    assert len(out) == 2
    joined = out.select(channel="BHZ").sort(keys=["starttime"])[0]
    assert joined.stats.starttime == t0 and joined.stats.npts == 100 + 20 + 50
    assert np.all(joined.data[100:120] == 0.0)
    assert joined.data[:100].mean() == pytest.approx(0.0, abs=1e-9)
    assert joined.data[120:].mean() == pytest.approx(0.0, abs=1e-9)
    assert spans == [("XJ.AAA.", t0 + 10.0, t0 + 11.9)]
    assert a.data.mean() > 4.0  # input untouched


def test_pick_on_fragment_shorter_than_model_window(xj_picker, csn_stream, shared_data):
    """Fragments of 30 s, 47 s (holding P and S) and 94 s: the 60-s PhaseNet window still sees the arrivals."""
    from obspy import UTCDateTime

    bj = csn_stream.select(station="BJ")
    t0 = bj[0].stats.starttime
    parts = bj.copy().trim(t0, t0 + 30) + bj.copy().trim(t0 + 33, t0 + 80) + bj.copy().trim(t0 + 83, t0 + 180)
    got = _by_station(xj_picker.pick(parts))
    assert xj_picker.last_counts["gap_filled"] == 6  # 2 gaps x 3 components
    ref = _reference(shared_data)
    for key in (("CN.BJ", "P"), ("CN.BJ", "S")):
        (p,) = got[key]
        assert abs(UTCDateTime(p.time) - ref[key]) <= 0.05
    no_fill = SeisBenchPicker(shared_data / XJ, gap_fill_s=0.0)
    assert not no_fill.pick(parts)  # without the fill SeisBench sees no full window


def test_sensors_per_call_does_not_change_picks(xj_picker, csn_stream, shared_data):
    one = SeisBenchPicker(shared_data / XJ, sensors_per_call=1)
    a = [(str(p.stream_id), p.phase, p.time, p.probability) for p in one.pick(csn_stream)]
    b = [(str(p.stream_id), p.phase, p.time, p.probability) for p in xj_picker.pick(csn_stream)]
    assert a == b and len(a) == 4


def test_pick_segment_matches_pick_and_leaves_input(xj_picker, csn_stream):
    sc = csn_stream.select(station="SC").copy()
    before = [tr.data.copy() for tr in sc]
    seg = [(p.phase, p.time) for p in xj_picker.pick_segment(sc)]
    assert all(np.array_equal(a, tr.data) for a, tr in zip(before, sc))
    assert sorted(seg) == sorted((p.phase, p.time) for p in xj_picker.pick(sc))
