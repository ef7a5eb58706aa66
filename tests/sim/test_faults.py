"""Data faults: each kind does what it reports."""

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID
from tianshan.core.timeutil import as_utc
from tianshan.sim.faults import (FaultKind, FaultPlan, add_gap, add_spikes, add_time_tear, apply_faults,
                                 clip_trace, kill_trace)

T0 = UTCDateTime("2024-01-01T00:00:00")


def _trace(code="ABC", n=6000, fs=100.0, seed=0):
    rng = np.random.default_rng(seed)
    tr = Trace((rng.standard_normal(n) * 1000).astype(np.int32))
    tr.stats.update({"network": "XX", "station": code, "location": "", "channel": "HHZ",
                     "sampling_rate": fs, "starttime": T0})
    return tr


def test_gap_splits_trace():
    tr = _trace()
    pieces, f = add_gap(tr, 10.0, 5.0)
    assert len(pieces) == 2 and tr.stats.npts == 6000  # input untouched
    assert pieces[0].stats.npts == 1000 and pieces[1].stats.npts == 4500
    assert pieces[1].stats.starttime == T0 + 15.0
    np.testing.assert_array_equal(pieces[1].data, tr.data[1500:])
    assert f.kind is FaultKind.GAP and f.stream_id == StreamID("XX", "ABC", "", "HHZ")
    assert f.details["n_samples"] == 500
    gaps = Stream(pieces).get_gaps()
    assert len(gaps) == 1 and gaps[0][6] == pytest.approx(5.0, abs=0.011)


def test_spikes_single_samples():
    tr = _trace()
    out, faults = add_spikes(tr, [100, 2000], [1e6, -1e6])
    changed = np.flatnonzero(out.data != tr.data)
    assert list(changed) == [100, 2000]
    assert out.data[100] == 1_000_000 and out.data[2000] == -1_000_000
    assert [f.kind for f in faults] == [FaultKind.SPIKE] * 2
    assert faults[0].start == as_utc((T0 + 1.0).datetime)


def test_clipping_flat_tops():
    tr = _trace()
    out, f = clip_trace(tr, 500)
    assert np.abs(out.data).max() == 500
    assert f.details["n_samples"] == np.sum(np.abs(tr.data) > 500) > 0
    assert np.sum(np.abs(out.data) == 500) >= f.details["n_samples"]


def test_time_tear_shifts_second_part():
    tr = _trace()
    pieces, f = add_time_tear(tr, 30.0, -1.5)
    assert len(pieces) == 2
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces]), tr.data)
    assert pieces[1].stats.starttime == T0 + 30.0 - 1.5
    assert f.details["shift_s"] == -1.5
    # An overlap appears where the record jumped back in time.
    overlaps = Stream(pieces).get_gaps()
    assert len(overlaps) == 1 and overlaps[0][6] < 0


@pytest.mark.parametrize("value", [0.0, 1234.0])
def test_dead_channel(value):
    tr = _trace()
    out, f = kill_trace(tr, value)
    assert np.all(out.data == value) and f.kind is FaultKind.DEAD
    assert f.details["value"] == value


def test_bad_fault_parameters():
    with pytest.raises(DomainError):
        add_gap(_trace(), 100.0, 5.0)
    with pytest.raises(DomainError):
        add_time_tear(_trace(), 0.0, 1.0)
    with pytest.raises(DomainError):
        FaultPlan(gap_probability=1.5)
    with pytest.raises(DomainError):
        FaultPlan(gap_duration_s=(5.0, 1.0))


def test_apply_faults_seeded_and_reported():
    st = Stream([_trace(f"S{i}", seed=i) for i in range(40)])
    plan = FaultPlan(gap_probability=0.3, spike_probability=0.3, clip_probability=0.3,
                     tear_probability=0.3, dead_probability=0.1)
    out1, f1 = apply_faults(st, plan, np.random.default_rng(5))
    out2, f2 = apply_faults(st, plan, np.random.default_rng(5))
    assert [(f.kind, f.stream_id, f.start) for f in f1] == [(f.kind, f.stream_id, f.start) for f in f2]
    assert all(np.array_equal(a.data, b.data) for a, b in zip(out1, out2))
    kinds = {f.kind for f in f1}
    assert kinds == set(FaultKind)
    # Every reported fault is visible in the data.
    by_sta = {}
    for tr in out1:
        by_sta.setdefault(tr.stats.station, []).append(tr)
    orig = {tr.stats.station: tr for tr in st}
    split = {f.stream_id.station for f in f1 if f.kind in (FaultKind.GAP, FaultKind.TIME_TEAR)}
    n_checked = 0
    for f in f1:
        pieces = by_sta[f.stream_id.station]
        if f.kind is FaultKind.DEAD:
            assert len(pieces) == 1 and np.ptp(pieces[0].data) == 0
        elif f.kind in (FaultKind.GAP, FaultKind.TIME_TEAR):
            assert len(pieces) in (1, 2) and sum(p.stats.npts for p in pieces) <= orig[f.stream_id.station].stats.npts
        elif f.kind is FaultKind.SPIKE and f.stream_id.station not in split:
            assert pieces[0].data[int(f.details["index"])] == f.details["value"]
            n_checked += 1
        elif f.kind is FaultKind.CLIPPING and f.stream_id.station not in split:
            spiked = [int(g.details["index"]) for g in f1 if g.kind is FaultKind.SPIKE and g.stream_id == f.stream_id]
            rest = np.delete(pieces[0].data, spiked)
            assert np.abs(rest).max() <= f.details["level"]
    assert n_checked > 0
    # Unfaulted traces are untouched and no fault -> same stream content.
    none_out, none_f = apply_faults(st, FaultPlan.none(), np.random.default_rng(1))
    assert none_f == [] and all(np.array_equal(a.data, b.data) for a, b in zip(none_out, st))
