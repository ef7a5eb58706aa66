"""Fast P trigger: recursive STA/LTA across packets, onset refinement, glitch and spike rejection."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.eew import trigger as trig

RATE = 100.0


def test_recursive_sta_lta_carries_state_between_packets():
    rng = np.random.default_rng(0)
    e = rng.normal(0, 1, 3000) ** 2
    e[2000:2050] *= 400.0
    one = trig.StaLta(RATE, 0.05, 5.0)  # the LTA starts at the first packet's level: same first packet
    r_one = np.concatenate([one.process(e[:100])[0], one.process(e[100:])[0]])
    many = trig.StaLta(RATE, 0.05, 5.0)
    sizes = np.r_[100, np.random.default_rng(1).integers(1, 250, 60)]
    edges = np.minimum(np.cumsum(np.r_[0, sizes]), e.size)
    r_many = np.concatenate([many.process(e[a:b])[0] for a, b in zip(edges[:-1], edges[1:]) if b > a]
                            + [many.process(e[edges[-1]:])[0]])
    np.testing.assert_allclose(r_one, r_many, rtol=1e-9)
    assert r_one[2000:2050].max() > 50 and r_one[1500:1990].max() < 10


def test_sta_has_at_least_three_samples_at_mems_rates():
    s = trig.StaLta(31.25, 0.05, 5.0)
    assert s.cs == pytest.approx(1 / 3)
    assert trig.StaLta(100.0, 0.05, 5.0).cs == pytest.approx(1 / 5)


def test_lta_floor_bounds_the_ratio_on_quiet_quantised_data():
    s = trig.StaLta(RATE, 0.05, 5.0, floor=4.0)
    ratio, lta = s.process(np.r_[np.zeros(500), 1.0, np.zeros(50)])
    assert lta.min() == 4.0
    assert ratio.max() < 1.0  # one count on a silent record is no P


def test_spike_and_step_tests_on_shapes():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1, 400)
    spike = noise.copy()
    spike[200] += 80.0
    two = noise.copy()
    two[200:202] += 80.0
    assert trig.is_spike(spike, 200, 100, 5.0)
    step = noise.copy()
    step[200:] += 60.0
    assert not trig.is_spike(step, 200, 100, 5.0)
    assert trig.is_step(step, 200, 100, 5.0)
    t = np.arange(400) / RATE
    quake = noise + np.where(t >= 2.0, 40 * np.sin(2 * math.pi * 6 * (t - 2.0)), 0.0)
    assert not trig.is_spike(quake, 200, 100, 5.0)
    assert not trig.is_step(quake, 200, 100, 5.0)
    # a two-sample glitch is a step up then down: its first difference has two isolated spikes
    assert trig.is_step(two, 200, 100, 5.0)


def test_refine_onset_recovers_an_emergent_onset():
    rng = np.random.default_rng(2)
    t = np.arange(400) / RATE
    y = rng.normal(0, 1, 400) + np.where(t >= 2.0, (t - 2.0) * 300 * np.sin(2 * math.pi * 5 * (t - 2.0)), 0.0)
    onset = trig.refine_onset(y, crossing=230, lookback=100, lookahead=30)
    assert abs(onset - 200) <= 5


def test_boxcar_and_dominant_period():
    y = np.ones(30)
    assert trig.boxcar_ratio(y, 0.25) == pytest.approx(4.0)
    t = np.arange(100) / RATE
    v = np.sin(2 * math.pi * 2 * t)
    a = 2 * math.pi * 2 * np.cos(2 * math.pi * 2 * t)
    assert trig.dominant_period_s(a, v) == pytest.approx(0.5, rel=0.01)


def test_spikes_steps_and_gaps_in_noise_do_not_trigger():
    """Noise-only demo-region records (broadband + strong motion) with telemetry spikes, 2-sample
    glitches, DC steps, gaps and time tears: no confirmed trigger, no event; the rejection tests
    are what stopped them (their counters), so the test fails if a test stops working."""
    from tianshan.eew.event import EEWEngine
    from tianshan.regions.demo import demo_region
    from tianshan.sim.faults import FaultPlan, add_spikes, apply_faults
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()
    stations = region.stations[:6]
    far = Source(0.0, 0.0, 10_000.0, 3.0, datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc))  # noise only
    res = simulate_scenario(far, stations, region.velocity_model, duration_s=180.0, rng=11, noise_level=(0.0, 1.0))
    from obspy import Stream

    out = Stream()
    rng = np.random.default_rng(4)
    for i, tr in enumerate(res.stream):
        if tr.stats.channel.endswith("Z"):
            sd = 1.4826 * float(np.median(np.abs(tr.data - np.median(tr.data)))) or 1.0
            idx = np.arange(20, 170, 15) * 100 + int(rng.integers(0, 100))
            amp = sd * np.geomspace(20, 5000, idx.size) * rng.choice([-1, 1], idx.size)
            tr, _ = add_spikes(tr, idx, np.median(tr.data) + amp)
            tr.data[12_345:12_347] += np.int32(3000 * sd)            # a two-sample glitch
            tr.data[15_000:] += np.int32(500 * sd)                  # a DC step
        out.append(tr)
    plan = FaultPlan(gap_probability=0.3, spike_probability=0.5, clip_probability=0.0, tear_probability=0.3,
                     dead_probability=0.0)
    faulty, applied = apply_faults(out, plan, np.random.default_rng(9))
    assert applied
    eng = EEWEngine(res.stations, res.model)
    for k in range(180):  # 1-s packets of every piece, in time order
        a = faulty[0].stats.starttime.__class__(res.start) + k
        for tr in faulty:
            piece = tr.slice(a, a + 1 - tr.stats.delta / 2, nearest_sample=False)
            if piece.stats.npts:
                eng.process_trace(piece)
        eng.update()
    c = eng.bank.counters
    assert c.triggers == 0, eng.triggers
    assert eng.history == []
    assert c.rejected_spike + c.rejected_step > 10
    assert c.gaps > 0
