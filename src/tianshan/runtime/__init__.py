"""The real-time daemon ``tianshan run``: roles, wiring, operations (health, metrics, logs, recovery).

Modules: :mod:`~tianshan.runtime.config` (the resolved settings of one process),
:mod:`~tianshan.runtime.daemon` (start-up, shutdown, HTTP routes, stage wiring),
:mod:`~tianshan.runtime.roles` (acquisition, picker and stage roles),
:mod:`~tianshan.runtime.packets` (record gate, packets over the bus),
:mod:`~tianshan.runtime.recovery` (re-reading the archive after a crash),
:mod:`~tianshan.runtime.http`, :mod:`~tianshan.runtime.metrics`, :mod:`~tianshan.runtime.logs`.
Nothing is imported here: ``tianshan --help`` stays light.
"""
