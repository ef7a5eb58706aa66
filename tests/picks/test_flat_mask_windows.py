"""flat_mask judges each run locally: a window of a record gets the record's mask (away from its edges).

The streaming picker picks 60 s windows, the batch run whole records; on a quiet accelerometer
(noise below one count: zeros for seconds, with one-count blips) a whole-record rule masked the
record containing an event but not a quiet window, and the streaming picker published noise
picks at the blips.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime

from tianshan.picks.base import FLAT_COARSE_RUN_S, FLAT_CONTEXT_S, flat_mask, prepare_stream
from tianshan.picks.stalta import ClassicPicker

RATE = 100.0
MIN_RUN = int(0.5 * RATE)  # Picker.flat_run_s
CONTEXT = int(FLAT_CONTEXT_S * RATE)
COARSE_RUN = int(FLAT_COARSE_RUN_S * RATE)
MARGIN = CONTEXT + COARSE_RUN  # a sample's decision depends on no data farther away than this


def _mask(x, **kw):
    """The mask prepare_stream computes for a 100 Hz trace."""
    return flat_mask(x, MIN_RUN, context=CONTEXT, coarse_run=COARSE_RUN, **kw)


def _quiet_accelerometer(seed: int = 3) -> np.ndarray:
    """600 s of a quiet accelerometer in counts, with an event and two zero-filled gaps."""
    rng = np.random.default_rng(seed)
    n = int(600 * RATE)
    x = np.rint(rng.normal(scale=0.2, size=n))           # noise below one count: 0 with blips
    x[15_000:30_000] = np.rint(rng.normal(scale=0.8, size=15_000))  # a few counts: runs < 1 s
    t = np.arange(20_000) / RATE                          # an event from 400 s: hundreds of counts
    x[40_000:60_000] += np.rint(300 * np.exp(-t / 20) * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6, 20_000) * 0.1))
    x[45_000:45_300] = 0.0                                 # gap fill inside the event (3 s)
    x[8_000:8_600] = 0.0                                   # gap fill in the quiet part (6 s)
    return x


def test_rule_masks_gap_fill_and_sub_count_stretches_not_resolution():
    x = _quiet_accelerometer()
    m = _mask(x)
    assert m[45_000:45_300].all()                          # gap fill in resolved signal
    assert m[8_000:8_600].all()                            # a value held for seconds
    assert not m[15_000 + MARGIN:30_000 - MARGIN].any()    # a few counts of noise is resolution
    assert not m[40_000:44_800].any() and not m[45_500:46_500].any()  # the event while it is strong
    # the old whole-record rule: the event makes the record "fine", every quiet run is masked
    assert flat_mask(x, MIN_RUN)[15_000:30_000].sum() > 0
    # ... and a quiet window alone is "coarse": nothing masked, not even the 6 s gap fill
    assert not flat_mask(x[:12_000], MIN_RUN)[8_000:8_600].any()


@pytest.mark.parametrize("seed", [3, 11])
def test_windows_at_arbitrary_offsets_get_the_whole_record_mask(seed):
    x = _quiet_accelerometer(seed)
    whole = _mask(x)
    rng = np.random.default_rng(seed)
    window = int(60 * RATE)
    old_disagreements = 0
    for start in rng.integers(0, x.size - window, size=60).tolist():
        part = x[start:start + window]
        inner = slice(MARGIN, window - MARGIN)
        np.testing.assert_array_equal(_mask(part)[inner], whole[start:start + window][inner],
                                      err_msg=f"window at sample {start}")
        old = flat_mask(part, MIN_RUN)[inner] != flat_mask(x, MIN_RUN)[start:start + window][inner]
        old_disagreements += bool(old.any())
    assert old_disagreements > 0  # the whole-record rule fails this test


@pytest.fixture(scope="module")
def scenario_accelerometers():
    import math

    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()
    lat, lon = 41.95, 84.30
    stations = sorted(region.stations, key=lambda s: math.hypot(s.latitude_deg - lat, (s.longitude_deg - lon)
                                                                * math.cos(math.radians(lat))))[:3]
    src = Source(lat, lon, 10_000.0, 4.0, datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc))
    sc = simulate_scenario(src, stations, region.velocity_model, duration_s=120.0, rng=7)
    return sc.stream.select(channel="HN?")


def test_scenario_accelerometer_windows_match_and_quiet_windows_give_no_picks(scenario_accelerometers):
    st = scenario_accelerometers
    window = int(60 * RATE)
    for tr in st:
        x = np.asarray(tr.data, dtype=np.float64)
        whole = _mask(x)
        for start in range(0, x.size - window + 1, 250):
            inner = slice(MARGIN, window - MARGIN)
            np.testing.assert_array_equal(_mask(x[start:start + window])[inner], whole[start:start + window][inner],
                                          err_msg=f"{tr.id} window at sample {start}")
    # the quiet minute before the event: the streaming picker's windows there gave noise picks
    quiet = st.select(station="XINH")
    t0 = quiet[0].stats.starttime
    picker = ClassicPicker()
    for offset in (0.0, 10.0, 17.3):
        assert picker.pick(quiet.slice(t0 + offset, t0 + offset + 60)) == []
    prepared, counts = prepare_stream(quiet.slice(t0, t0 + 60))
    assert counts["flat_span"] == 3  # each component's sub-count stretches are no data


def test_prepare_stream_uses_the_local_rule():
    x = _quiet_accelerometer()
    tr = Trace(x, header=dict(network="XJ", station="ACC", channel="HNZ", sampling_rate=RATE,
                              starttime=UTCDateTime(2024, 1, 1)))
    prepared, counts = prepare_stream(Stream([tr]))
    kept = np.zeros(x.size, dtype=bool)
    for piece in prepared:
        i0 = int(round((piece.stats.starttime - tr.stats.starttime) * RATE))
        kept[i0:i0 + piece.stats.npts] = True
    unmasked = ~_mask(x)
    assert not (kept & ~unmasked).any()
    lost = np.nonzero(unmasked & ~kept)[0]  # only single samples between two masked runs (too short)
    assert lost.size and not unmasked[lost - 1].any() and not unmasked[lost + 1].any()
    assert counts["flat_span"] == 1 and counts["short_trace"] == lost.size
