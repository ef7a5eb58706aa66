"""Distribution of earthquake early-warning messages: WebSocket fan-out, MQTT, signed webhooks.

Modules: :mod:`.server` (hub: signed publish endpoint, worker processes, sinks),
:mod:`.worker` (one fan-out process: WebSocket clients, filters, bounded queues),
:mod:`.index` (subscribers by grid cell, so an alert visits only the clients near it),
:mod:`.protocol` (RFC 6455 framing and the bit of HTTP needed), :mod:`.auth` (HMAC publish
authentication), :mod:`.mqtt` (QoS-1 publishing per region cell), :mod:`.webhook` (signed
webhooks with back-off), :mod:`.client` (receiver and publisher), :mod:`.receiver`
(countdown and intensity at the receiver). Messages themselves: :mod:`tianshan.products.alerts`.

Fan-out latency and the scaling design for 10 million receivers: ``docs/eew_distribution.md``
(measured with ``benchmarks/bench_alert_fanout.py``). In short, on the 2-core development
machine with the 10,000 receivers in separate processes on the same cores, one alert reaches
all 10,000 WebSocket clients with p99 93-189 ms at load 2-4 (354 ms at load 5), a worker core
writes to ~5,000 clients in 75-90 ms, and the design sizes edge nodes at 10,000 connections
per worker core (~45-50 32-core edge nodes for 10 million at p99 < 1 s).
"""
