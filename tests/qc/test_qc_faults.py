"""Each detector finds the faults injected by tianshan.sim.faults (recall and precision)."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.core import QCKind
from tianshan.qc import check_stream
from tianshan.qc.spikes import hampel_outliers_reference, spike_clusters
from tianshan.sim import faults

FS = 100.0
N = 60_000  # 10 minutes


def _noise_trace(rng, station="AAA", dtype=np.int32):
    from obspy import Trace, UTCDateTime

    # band-limited noise: random walk + white noise, like a broadband record in counts
    x = np.cumsum(rng.normal(size=N)) * 5 + rng.normal(size=N) * 200
    return Trace(x.astype(dtype), header=dict(network="XJ", station=station, location="00", channel="HHZ",
                                              sampling_rate=FS, starttime=UTCDateTime(2024, 1, 1)))


def _window(tr):
    return tr.stats.starttime, tr.stats.starttime + N / FS


def _found(res, kind, t0, t1, tol_s):
    return [r for r in res.records if r.kind is kind
            and r.start.timestamp() - tol_s <= t1.timestamp() and r.end.timestamp() + tol_s >= t0.timestamp()]


def test_clean_noise_has_no_findings():
    rng = np.random.default_rng(1)
    for i in range(5):
        tr = _noise_trace(rng)
        res = check_stream([tr], *_window(tr))
        assert [r.kind for r in res.records] == [QCKind.AVAILABILITY]
        assert res.records[0].value == 100.0 and res.counts["masked_samples"] == 0
        assert len(res.clean) == 1 and np.array_equal(res.clean[0].data, tr.data)


def test_gaps_recall_and_precision():
    rng = np.random.default_rng(2)
    for _ in range(10):
        tr = _noise_trace(rng)
        pieces, fault = faults.add_gap(tr, rng.uniform(30, 500), rng.uniform(0.05, 30))
        res = check_stream(pieces, *_window(tr))
        (gap,) = [r for r in res.records if r.kind is QCKind.GAP]
        assert gap.value == pytest.approx(fault.details["duration_s"], abs=1e-6)
        assert gap.start == fault.start and gap.end == fault.end
        assert res.counts["time_tear"] == 0  # a gap keeps the sample grid


def test_spikes_recall_precision_and_masking():
    rng = np.random.default_rng(3)
    injected = detected = false = 0
    for _ in range(10):
        tr = _noise_trace(rng)
        idx = np.sort(rng.choice(np.arange(100, N - 100), size=4, replace=False))
        sd = 1.4826 * np.median(np.abs(np.diff(tr.data.astype(float))))
        vals = np.median(tr.data) + rng.choice([-1, 1], 4) * rng.uniform(30, 200, 4) * sd
        spiked, fs_ = faults.add_spikes(tr, idx, vals)
        res = check_stream([spiked], *_window(tr))
        spikes = [r for r in res.records if r.kind is QCKind.SPIKE]
        times = {f.start for f in fs_}
        injected += len(times)
        detected += sum(1 for t in times if any(r.start <= t <= r.end for r in spikes))
        false += sum(1 for r in spikes if not any(r.start <= t <= r.end for t in times))
        # masked: the spike samples are cut out, everything else is kept
        assert res.counts["masked_samples"] == sum(int(round((r.end - r.start).total_seconds() * FS)) + 1
                                                   for r in spikes)
        kept = np.concatenate([t.data for t in res.clean])
        assert not np.isin(spiked.data[idx], kept).all()
    assert detected / injected >= 0.95
    assert false == 0


def test_fast_spike_path_agrees_with_the_exact_reference():
    rng = np.random.default_rng(4)
    x = _noise_trace(rng).data.astype(float)
    idx = np.array([500, 9000, 9001, 30000, 59990])
    x[idx] += np.array([1e5, -8e4, -8e4, 5e4, 2e5])
    fast = {(a, b) for a, b, *_ in spike_clusters(x)}
    ref = hampel_outliers_reference(x)
    ref_clusters = {(int(c[0]), int(c[-1])) for c in np.split(ref, np.flatnonzero(np.diff(ref) > 20) + 1)
                    if c[-1] - c[0] < 3}
    assert ref_clusters <= fast  # every exact short cluster (full windows) is found
    assert fast == ref_clusters | {(59990, 59990)}  # plus the one the centred filter cannot reach


def test_clipping_found():
    rng = np.random.default_rng(5)
    for frac in (0.2, 0.4, 0.6):
        tr = _noise_trace(rng)
        clipped, fault = faults.clip_trace(tr, frac * np.abs(tr.data).max())
        res = check_stream([clipped], *_window(tr))
        clips = [r for r in res.records if r.kind is QCKind.CLIPPING]
        assert clips and {abs(r.value) for r in clips} == {fault.details["level"]}
        n = sum(int(r.detail.split()[0]) for r in clips)
        # samples already exactly at the level before clipping count too
        assert 0 <= n - fault.details["n_samples"] <= 0.001 * N
        assert res.counts["spike"] == 0


def test_time_tears_recall_and_gap_precision():
    rng = np.random.default_rng(6)
    found = total = 0
    for _ in range(20):
        tr = _noise_trace(rng)
        shift = rng.uniform(-2, 2)
        pieces, fault = faults.add_time_tear(tr, rng.uniform(60, 500), shift)
        res = check_stream(pieces, *_window(tr))
        tears = [r for r in res.records if r.kind is QCKind.TIME_TEAR]
        total += 1
        if tears:
            found += 1
            assert tears[0].value == pytest.approx(shift, abs=1e-5)
    assert found / total >= 0.85  # on-grid positive jumps look exactly like gaps


def test_dead_channel_and_flat_span():
    rng = np.random.default_rng(7)
    tr = _noise_trace(rng)
    dead, _ = faults.kill_trace(tr, 1234)
    res = check_stream([dead], *_window(tr))
    (flat,) = [r for r in res.records if r.kind is QCKind.FLAT]
    assert flat.detail.startswith("dead channel") and flat.value == pytest.approx(N / FS)
    assert len(res.clean) == 0 and res.counts["masked_samples"] == N
    # a 5 s zero-filled stretch inside a live record
    tr = _noise_trace(rng)
    tr.data[10_000:10_500] = 0
    res = check_stream([tr], *_window(tr))
    (flat,) = [r for r in res.records if r.kind is QCKind.FLAT]
    assert flat.value == pytest.approx(5.0) and len(res.clean) == 2
    assert res.counts["masked_samples"] == 500


def test_random_fault_plan_every_fault_is_found():
    from obspy import Stream

    rng = np.random.default_rng(8)
    st = Stream([_noise_trace(rng, station=f"S{i:02d}") for i in range(30)])
    plan = faults.FaultPlan(gap_probability=0.3, spike_probability=0.3, clip_probability=0.2,
                            tear_probability=0.3, dead_probability=0.1, spike_amplitude=(30.0, 200.0))
    faulty, applied = faults.apply_faults(st, plan, rng)
    res = check_stream(faulty, st[0].stats.starttime, st[0].stats.starttime + N / FS)
    kinds = {"gap": QCKind.GAP, "spike": QCKind.SPIKE, "clipping": QCKind.CLIPPING,
             "time_tear": QCKind.TIME_TEAR, "dead": QCKind.FLAT}
    hits = {k: [0, 0] for k in kinds}
    for f in applied:
        hits[f.kind.value][1] += 1
        near = [r for r in res.records if r.kind is kinds[f.kind.value] and r.stream_id == f.stream_id
                and (r.start - f.end).total_seconds() <= 2.5 and (f.start - r.end).total_seconds() <= 2.5]
        hits[f.kind.value][0] += bool(near)
    for k, (h, n) in hits.items():
        if n:
            # on-grid positive tears look like gaps; a spike on a record clipped most of the time
            # can hide in the plateau's statistics
            assert h / n >= {"time_tear": 0.8, "spike": 0.9}.get(k, 1.0), (k, h, n)
