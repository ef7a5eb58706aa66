"""Prometheus metrics of the daemon, on a private registry read at scrape time.

Everything is exported from counters the components already keep (no second bookkeeping):
a custom collector (:class:`DaemonCollector`) reads them when ``/metrics`` is scraped
(Prometheus "custom collectors", prometheus_client documentation). Families, all prefixed
``tianshan_``:

* ``up``, ``uptime_seconds``, ``last_packet_age_seconds``, ``bus_connected``;
* ``records_total{outcome}``: records seen by the acquisition gate / bus intake
  (``received``, ``accepted``, ``malformed``, ``unknown_stream``, ``rejected_future``,
  ``rejected_past``); ``buffer_total{counter}``: the ring buffers' counters (gaps, overlaps,
  duplicates, rejected, corrupt, unknown_stream...); ``archive_total{counter}``: the live
  archive's (records written, duplicates, rejected, truncated, fsyncs);
* ``picks_published_total`` and ``picks_per_minute`` (picks published in the last 60 s of wall
  time); ``packet_to_pick_latency_seconds`` (histogram, observed through the streaming
  picker's ``on_published`` callback) and ``packet_to_pick_latency_quantile_seconds{quantile}``
  (exact nearest-rank quantiles 0.5, 0.9, 0.99 and the maximum ``1`` of the picker's last
  10,000 latencies, :meth:`StreamingPicker.latencies_s`; the histogram's buckets are too
  coarse for a p50/p99 figure);
* ``events_total{change}``: event versions published by the event stage (``declared``,
  ``updated``, ``final``... as its counters name them);
* ``stage_total{role, counter}``: every counter of every role (the generic view);
* ``bus_messages_total{counter}`` (published, delivered, dropped, bad payloads...) and
  ``bus_lag{subject, consumer}`` (messages waiting per subscription; refreshed before each
  scrape since reading it may need the NATS server);
* per-stream SeedLink figures (``tianshan_seedlink_latency_seconds{server,stream}``,
  completeness, packets, gaps...) are exported by each SeedLink source itself
  (:mod:`tianshan.stream.seedlink_client`) to the same registry.
"""

from __future__ import annotations

import collections
import math
import time

#: Buckets of the packet-to-pick latency histogram, seconds (P picks wait edge_s + up to step_s).
LATENCY_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0)

#: Quantiles of the packet-to-pick latency exported as gauges (1 = the maximum).
LATENCY_QUANTILES = (0.5, 0.9, 0.99, 1.0)

#: Event stage counter names exported as ``events_total{change=...}`` when present.
EVENT_CHANGES = ("declared", "updated", "split", "merged", "final", "cancelled")


class PickRate:
    """Picks published in the last ``window_s`` of wall time, from samples of the running count.

    The oldest sample kept is the newest one at least ``window_s`` old, so the difference of
    the counts is the number published within (about) the window; sample every few seconds.
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._samples: collections.deque = collections.deque()

    def sample(self, count: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, count))
        while len(self._samples) > 1 and self._samples[1][0] <= now - self.window_s:
            self._samples.popleft()

    def per_minute(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        return float(self._samples[-1][1] - self._samples[0][1]) * 60.0 / self.window_s


def nearest_rank(sorted_values, q: float) -> float:
    """The ``q`` quantile of ascending ``sorted_values`` by the nearest-rank method: the value of
    rank ``ceil(q n)`` (at least 1) -- Hyndman & Fan (1996), The American Statistician 50(4),
    definition 1 (inverse of the empirical distribution function)."""
    n = len(sorted_values)
    return float(sorted_values[min(n, max(1, math.ceil(q * n))) - 1])


class DaemonCollector:
    """Reads the daemon's counters at scrape time (see the module docstring)."""

    def __init__(self, daemon) -> None:
        self.daemon = daemon

    def describe(self):
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        d = self.daemon
        g = GaugeMetricFamily("tianshan_up", "1 while the daemon runs", labels=["role"])
        g.add_metric([",".join(d.config.roles)], 1.0)
        yield g
        yield GaugeMetricFamily("tianshan_uptime_seconds", "seconds since the daemon started", value=d.uptime_s())
        age = d.activity.packet_age_s()
        if age is not None:
            yield GaugeMetricFamily("tianshan_last_packet_age_seconds", "seconds since the last data packet",
                                    value=age)
        if d.bus is not None:
            yield GaugeMetricFamily("tianshan_bus_connected", "1 when the bus is usable",
                                    value=float(d.bus.connected))
            c = CounterMetricFamily("tianshan_bus_messages", "bus counters of this process", labels=["counter"])
            for k, v in d.bus.counters.as_dict().items():
                c.add_metric([k], float(v))
            yield c
            lag = GaugeMetricFamily("tianshan_bus_lag", "messages waiting per subscription",
                                    labels=["subject", "consumer"])
            for (subject, consumer), n in sorted(d.bus_lag.items()):
                lag.add_metric([subject, consumer], float(n))
            yield lag
        records = CounterMetricFamily("tianshan_records", "raw records by outcome at the gate",
                                      labels=["outcome"])
        for k, v in d.gate.counters.as_dict().items():
            records.add_metric([k], float(v))
        yield records
        if d.buffers is not None:
            b = CounterMetricFamily("tianshan_buffer", "ring buffer counters (all channels)", labels=["counter"])
            for k, v in d.buffers.totals().items():
                b.add_metric([k], float(v))
            yield b
        if d.archive is not None:
            a = d.archive.stats
            fam = CounterMetricFamily("tianshan_archive", "live archive counters", labels=["counter"])
            for k in ("records_written", "bytes_written", "duplicates", "rejected", "truncated_records",
                      "fsyncs"):
                fam.add_metric([k], float(getattr(a, k)))
            yield fam
        picker = d.roles.get("picker")
        if picker is not None:
            n = picker.stage.counters.picks_published
            yield CounterMetricFamily("tianshan_picks_published", "picks published", value=float(n))
            d.pick_rate.sample(n)
            yield GaugeMetricFamily("tianshan_picks_per_minute", "picks published in the last minute",
                                    value=d.pick_rate.per_minute())
            lat = sorted(picker.stage.latencies_s())
            if lat:
                q = GaugeMetricFamily("tianshan_packet_to_pick_latency_quantile_seconds",
                                      "packet-to-pick latency quantiles over the last 10,000 picks (1: maximum)",
                                      labels=["quantile"])
                for p in LATENCY_QUANTILES:
                    q.add_metric([f"{p:g}"], nearest_rank(lat, p))
                yield q
        assoc = d.roles.get("associator")
        if assoc is not None:
            ev = CounterMetricFamily("tianshan_events", "event versions published, by change", labels=["change"])
            counts = assoc.counters()
            for change in EVENT_CHANGES:
                for key, value in counts.items():
                    if key.endswith(f"_{change}") or key == change:
                        ev.add_metric([change], float(value))
                        break
            yield ev
        stage = CounterMetricFamily("tianshan_stage", "counters of every role", labels=["role", "counter"])
        for name, role in d.roles.items():
            for k, v in role.counters().items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    stage.add_metric([name, k], float(v))
        yield stage
