"""The per-cell subscriber index of the fan-out workers, alone and inside a real server.

Unit part: the index returns exactly the clients whose filter's box meets the alert's cells
(checked against a brute-force scan over random filters), re-filtering moves a client, and
removal forgets it. Server part: real receivers with their own circles in different cells
(and one that moves by a subscribe message) get only the alerts of their region; worker
processes take the ``nice`` option.
"""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from tianshan.core.errors import DomainError
from tianshan.products.alerts.area import AlertArea, BBox, Circle, intersects
from tianshan.products.alerts.message import AlertIssuer
from tianshan.services.alerts.client import connect_receiver
from tianshan.services.alerts.index import SubscriberIndex

from .test_alerts_server import Inbox, _server, publish, run, wait_until


def _brute(filters: dict, area: AlertArea) -> set:
    return {k for k, f in filters.items() if intersects(f, area)}


def test_index_candidates_cover_every_matching_filter():
    rng = random.Random(7)
    filters: dict[int, object] = {}
    idx = SubscriberIndex(cell_deg=1.0, max_cells=50)
    for k in range(2000):
        kind = rng.random()
        if kind < 0.05:
            f = None
        elif kind < 0.10:  # wide boxes (> 50 cells) go to the "wide" list
            w, s = rng.uniform(70, 80), rng.uniform(30, 35)
            f = BBox(w, s, w + 12.0, s + 8.0)
        elif kind < 0.55:
            f = Circle(rng.uniform(34, 49), rng.uniform(73, 96), rng.uniform(1_000, 80_000))
        else:
            w, s = rng.uniform(73, 95), rng.uniform(34, 48)
            f = BBox(w, s, w + rng.uniform(0, 1.5), s + rng.uniform(0, 1.5))
        filters[k] = f
        idx.add(k, f)
    assert len(idx) == 2000 and idx.wide and idx.everyone
    for _ in range(40):
        area = AlertArea((Circle(rng.uniform(34, 49), rng.uniform(73, 96), rng.uniform(20_000, 400_000)),))
        cands = list(idx.candidates(area))
        assert len(cands) == len(set(cands))                      # each client once
        want = _brute(filters, area) | {k for k, f in filters.items() if f is None}
        got = {k for k in cands if intersects(filters[k], area)}
        assert got == want                                        # nobody lost
        assert len(cands) < len(filters)                           # and far clients not visited
    huge = AlertArea((Circle(40.0, 85.0, 3_000_000.0),))          # area wider than the occupied cells
    assert {k for k in idx.candidates(huge) if intersects(filters[k], huge)} == _brute(filters, huge)
    assert set(idx.candidates(None)) == set(filters)


def test_index_refilter_and_remove():
    idx = SubscriberIndex()
    near = AlertArea((Circle(41.9, 84.3, 50_000.0),))
    idx.add("a", Circle(41.8, 84.2, 10_000.0))
    assert list(idx.candidates(near)) == ["a"]
    idx.add("a", Circle(25.0, 105.0, 10_000.0))                   # moved far away
    assert list(idx.candidates(near)) == [] and len(idx) == 1
    idx.add("a", None)                                            # everything
    assert list(idx.candidates(near)) == ["a"]
    idx.remove("a")
    idx.remove("a")                                               # twice is harmless
    assert list(idx.candidates(near)) == [] and len(idx) == 0 and not idx.cells
    with pytest.raises(DomainError):
        SubscriberIndex(cell_deg=0)


def test_receivers_in_other_cells_do_not_get_the_alert(alert_factory):
    """Own circles in several cells; one receiver moves by a subscribe message (index updated)."""

    async def scenario():
        server, key = _server()
        async with server:
            spots = {"luntai": "41.8,84.2,20", "kuqa": "41.7,83.0,20", "urumqi": "43.8,87.6,20",
                     "kashgar": "39.5,76.0,20", "hotan": "37.1,79.9,20"}
            boxes = {name: Inbox() for name in spots}
            protos = [await connect_receiver(f"{server.ws_url}?circle={c}", boxes[name]) for name, c in spots.items()]
            mover = Inbox()
            mp = await connect_receiver(f"{server.ws_url}?circle=39.5,76.0,20", mover)   # Kashgar first ...
            mp.send_json({"type": "subscribe", "circle": [41.75, 84.25, 10]})           # ... then Luntai
            await wait_until(lambda: mover.of_type("subscribed"), "re-subscription")
            iss = AlertIssuer()
            status, reply = await publish(server.publish_url, key, iss.issue(alert_factory(1)).to_json())
            assert status == 202 and reply["clients"] == 3                # luntai, kuqa, mover
            far = iss.issue(alert_factory(1, event_id="kashgar-ev", targets=(), lat=39.4, lon=75.9)).to_json()
            status, reply = await publish(server.publish_url, key, far)
            assert status == 202 and reply["clients"] == 1
            await wait_until(lambda: len(boxes["kashgar"].alerts) == 1 and len(mover.alerts) == 1
                             and len(boxes["luntai"].alerts) == 1 and len(boxes["kuqa"].alerts) == 1, "alerts")
            await asyncio.sleep(0.2)
            assert [m["event_id"] for m in boxes["kashgar"].alerts] == ["kashgar-ev"]
            assert [m["event_id"] for m in mover.alerts] == ["ev-1"]
            assert not boxes["urumqi"].alerts and not boxes["hotan"].alerts
            stats = (await server.collect_stats())["fanout"]
            assert stats["frames_sent"] == 4 and stats["filtered_out"] == 3 + 5
            for p in protos + [mp]:
                p.close()

    run(scenario)


def test_worker_processes_take_the_nice_option(alert_factory):
    async def scenario():
        server, key = _server(workers=1, nice=5)       # raising nice needs no privilege
        async with server:
            pid = server.worker_pids[0]
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            assert int(fields[16]) == 5                  # proc(5): field 19 "nice"
            box = Inbox()
            p = await connect_receiver(server.ws_url, box)
            status, _ = await publish(server.publish_url, key, AlertIssuer().issue(alert_factory()).to_json())
            assert status == 202
            await wait_until(lambda: box.alerts, "alert through the reniced worker")
            p.close()

    run(scenario)
