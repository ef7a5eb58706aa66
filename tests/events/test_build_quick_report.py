"""The quick report product that ``build_catalog`` stores with each event."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from tianshan.core.event import Event
from tianshan.core.origin import Origin


def test_quick_report_product_file_and_region_name(tmp_path):
    from tianshan.events.build.pipeline import quick_report_product
    from tianshan.regions.demo import demo_region

    o = Origin(time=datetime(2024, 6, 1, 3, 0, tzinfo=timezone.utc), latitude_deg=41.8, longitude_deg=85.9,
               depth_m=12_000.0)
    ev = Event(origins=(o,), preferred_origin_id=o.id)
    for places in ((), demo_region().places):
        event, product = quick_report_product(ev, places, tmp_path / "qr")
        text = open(product.uri, encoding="utf-8").read()
        assert product.kind == "quick_report" and product.event_id == ev.id
        assert product.content_type == "text/plain; charset=utf-8"
        assert product.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert "自动测定" in text and "41.80" in text and "automatic" in text.lower()
        assert event.region_name == product.properties["place_en"] and event.region_name
    assert len(list((tmp_path / "qr").iterdir())) == 1  # one file per event, rewritten atomically
