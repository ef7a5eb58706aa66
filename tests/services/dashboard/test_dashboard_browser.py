"""End-to-end tests of the dashboard in headless Chromium (Debian chromium + chromedriver, Selenium).

The real server of ``tianshan serve`` (:func:`tianshan.services.api.server.create_server`: REST API,
FDSN services and the dashboard at ``/dashboard/``; uvicorn in a thread on a free port) serves a demo-like store (:mod:`scene`: the demo's Mw 6.5
near Luntai with three origin versions, picks, an intensity map and an early-warning alert). The
browser opens the page, finds the event in the list and on the map, opens the event page,
shows the intensity overlay, picks a city in the EEW panel and sees its countdown, switches to
Chinese, and sees a new event and alert written to the store arrive over the live WebSocket.
Screenshots go to ``test-output/screenshots/``; the map with event, intensity overlay and EEW
panel is also copied to ``docs/img/dashboard.png`` for the README when
``TIANSHAN_UPDATE_README_SCREENSHOT=1``.

Skips (with the reason) when chromium or chromedriver is missing, except under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scene as scene_mod  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "test-output" / "screenshots"
DOCS_IMG = ROOT / "docs" / "img" / "dashboard.png"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        reason = f"headless browser tests need Debian chromium and chromedriver; missing: {', '.join(missing)} " \
                 "(`make system-deps` installs them)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return scene_mod.build_scene(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def server(scene):
    import uvicorn

    from tianshan.services.api.server import create_server
    from tianshan.services.dashboard import static_dir

    # what `tianshan serve` runs: REST API + FDSN + the dashboard's files at /dashboard/
    app = create_server(scene.store_url, region="demo", products_dir=scene.products_dir, dashboard_dir=static_dir(),
                        api_options={"poll_s": 0.5, "rate_limit_per_s": None})
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="wsproto", log_level="warning",
                                       lifespan="on"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(300):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(10)


@pytest.fixture(scope="module")
def browser():
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000",
              "--lang=en-US", "--hide-scrollbars"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield drv
    drv.quit()


def _wait(fn, timeout_s: float = 10.0, what: str = "condition"):
    end = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
        except Exception as err:  # the element may not exist yet (selenium raises)
            last = err
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _severe_logs(drv) -> list[str]:
    return [e["message"] for e in drv.get_log("browser") if e["level"] == "SEVERE"]


def _degree(intensity: float) -> int:
    from tianshan.groundmotion.intensity.gbt17742 import degree

    return int(degree(intensity))


def test_dashboard_end_to_end(server, browser, scene):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tianshan.products.shakemap.mapplot import SHAKEMAP_COLOURS

    d = browser
    css = d.find_elements
    d.get(f"{server}/dashboard/?lang=en")
    _wait(lambda: d.execute_script("return document.body.dataset.ready === '1'"), 20, "the page to load")

    # 1. the event is in the list and on the map; stations and towns are drawn; the live feed is up
    item = _wait(lambda: d.find_element(By.CSS_SELECTOR, f'#event-list li[data-id="{scene.event_id}"]'), 5, "event row")
    assert "6.5" in item.text
    assert css(By.CSS_SELECTOR, f'g.markers-events g[data-id="{scene.event_id}"]'), "event marker missing on the map"
    n_st = len(css(By.CSS_SELECTOR, "g.markers-stations g.marker-group"))
    assert n_st >= 30, f"only {n_st} station markers"
    assert len(css(By.CSS_SELECTOR, "g.markers-town g.marker-group")) >= 20
    _wait(lambda: d.find_element(By.ID, "live-status").get_attribute("data-state") == "connected", 10, "WebSocket")
    d.save_screenshot(str(SHOTS / "01_map.png"))

    # 2. event page: origin history, magnitudes, picks
    item.click()
    _wait(lambda: d.find_element(By.ID, "event-panel").is_displayed(), 5, "event page")
    _wait(lambda: len(css(By.CSS_SELECTOR, "#origins-table tbody tr")) == scene.n_origins, 5, "origin rows")
    assert d.find_element(By.ID, "ev-id").text == scene.event_id
    rows = css(By.CSS_SELECTOR, "#origins-table tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [f"v{i + 1}" for i in range(scene.n_origins)]
    assert "preferred" in rows[-1].get_attribute("class")
    assert len(css(By.CSS_SELECTOR, "#picks-table tbody tr")) == scene.n_picks
    phases = {r.find_elements(By.TAG_NAME, "td")[1].text for r in css(By.CSS_SELECTOR, "#picks-table tbody tr")}
    assert phases == {"P", "S"}
    assert len(css(By.CSS_SELECTOR, "g.markers-origins g.marker-group")) == scene.n_origins - 1  # earlier versions
    d.save_screenshot(str(SHOTS / "02_event.png"))

    # 3. intensity overlay from the contours product, Chinese-scale colours
    toggle = d.find_element(By.ID, "intensity-toggle")
    assert toggle.is_enabled()
    toggle.click()
    paths = _wait(lambda: css(By.CSS_SELECTOR, "g.layer-intensity path"), 10, "intensity polygons")
    degrees = sorted(int(p.get_attribute("class").split("degree-")[1]) for p in paths)
    assert degrees[0] == 2 and degrees[-1] == scene.max_degree
    for p in paths:
        n = int(p.get_attribute("class").split("degree-")[1])
        assert p.get_attribute("fill").lower() == SHAKEMAP_COLOURS[n - 1]
    assert d.find_element(By.ID, "intensity-legend").is_displayed()

    # 4. EEW panel: choose the alert's city, see its predicted degree; the alert is old -> replay the countdown
    Select(d.find_element(By.ID, "eew-city")).select_by_visible_text(
        next(o.text for o in css(By.CSS_SELECTOR, "#eew-city option") if o.get_attribute("data-name") == scene.alert_city))
    box = _wait(lambda: d.find_element(By.ID, "eew-intensity"), 5, "predicted intensity")
    assert int(box.get_attribute("data-degree")) == _degree(scene.alert_intensity)
    assert "arrived" in d.find_element(By.ID, "eew-countdown").text  # S wave came long ago
    d.find_element(By.ID, "eew-replay").click()
    first = float(_wait(lambda: d.find_element(By.ID, "eew-countdown").get_attribute("data-remaining"), 3, "countdown"))
    assert 0 < first <= scene.alert_warning_s + 0.2
    time.sleep(0.6)
    second = float(d.find_element(By.ID, "eew-countdown").get_attribute("data-remaining"))
    assert second < first, "countdown does not run"
    d.save_screenshot(str(SHOTS / "03_intensity_eew.png"))
    if os.environ.get("TIANSHAN_UPDATE_README_SCREENSHOT") == "1":  # never rewrite a tracked file by default
        DOCS_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHOTS / "03_intensity_eew.png", DOCS_IMG)

    # 5. language switch
    d.find_element(By.ID, "lang-btn").click()
    _wait(lambda: d.find_element(By.CSS_SELECTOR, ".brand-title").text == "天山地震监测", 3, "Chinese title")
    assert d.find_element(By.ID, "lang-btn").text == "English"
    assert "震相" in d.find_element(By.ID, "event-panel").text
    assert d.execute_script("return document.documentElement.lang") == "zh-CN"
    d.save_screenshot(str(SHOTS / "04_zh.png"))
    d.find_element(By.ID, "lang-btn").click()
    _wait(lambda: d.find_element(By.CSS_SELECTOR, ".brand-title").text == "Tianshan seismic monitor", 3, "English")

    # 6. live: a new event and its alert written to the store arrive over the WebSocket
    new_id, pred = scene_mod.push_event(scene.store_url)
    _wait(lambda: d.find_element(By.CSS_SELECTOR, f'#event-list li[data-id="{new_id}"]'), 15, "the live event")
    assert css(By.CSS_SELECTOR, f'g.markers-events g[data-id="{new_id}"]'), "live event not on the map"
    _wait(lambda: d.find_element(By.CSS_SELECTOR, f'.eew-alert[data-event="{new_id}"]'), 15, "the live alert")
    Select(d.find_element(By.ID, "eew-city")).select_by_visible_text(
        next(o.text for o in css(By.CSS_SELECTOR, "#eew-city option") if o.get_attribute("data-name") == pred.target.name))
    box = _wait(lambda: d.find_element(By.ID, "eew-intensity"), 5, "live predicted intensity")
    assert int(box.get_attribute("data-degree")) == _degree(pred.intensity)
    left = float(_wait(lambda: d.find_element(By.ID, "eew-countdown").get_attribute("data-remaining"), 3, "countdown"))
    assert 0 < left < pred.warning_time_s, "a live alert counts down to the real S arrival"
    d.save_screenshot(str(SHOTS / "05_live.png"))
    assert _severe_logs(d) == []


def test_page_loads_nothing_from_outside(server):
    """Offline: every asset is local; no http(s) URL except the SVG namespace."""
    import re

    import httpx

    from tianshan.services.dashboard import STATIC_DIR

    for f in sorted(STATIC_DIR.iterdir()):
        text = f.read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, f"{f.name} refers to {urls}"
        r = httpx.get(f"{server}/dashboard/{f.name}")
        assert r.status_code == 200
        if f.suffix == ".js":
            assert "javascript" in r.headers["content-type"]  # module scripts need a JS MIME type
    assert httpx.get(f"{server}/", follow_redirects=False).headers["location"] == "/dashboard/"


def test_intensity_colours_match_the_map_products():
    """eew.js's colours are the PNG maps' palette (products/shakemap/mapplot.py)."""
    import re

    from tianshan.products.shakemap.mapplot import SHAKEMAP_COLOURS
    from tianshan.services.dashboard import STATIC_DIR

    js = (STATIC_DIR / "eew.js").read_text(encoding="utf-8")
    block = re.search(r"INTENSITY_COLOURS = \[(.*?)\]", js, re.S).group(1)
    assert tuple(re.findall(r'"(#[0-9a-f]{6})"', block)) == SHAKEMAP_COLOURS


def test_demo_serve_serves_the_dashboard_over_the_demo_store(scene, tmp_path):
    """`tianshan demo --serve` on an output folder the demo already wrote: no new run, the API and the
    dashboard over the demo's store, the URL printed on stdout."""
    import subprocess

    import httpx

    out = tmp_path / "demo-out"
    out.mkdir()
    (out / "index.html").write_text("<!doctype html><title>demo</title>\n", encoding="utf-8")  # the demo's marker
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from tianshan.cli.main import main; main()", "demo", "--out",
                             str(out), "--database-url", scene.store_url, "--serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/dashboard/", proc.stderr.read() if proc.poll() is not None else url

        def page():
            try:
                return httpx.get(url, timeout=2)
            except httpx.TransportError:
                return None

        r = _wait(page, 30, "the demo server")
        assert r.status_code == 200 and 'src="app.js"' in r.text
        events = httpx.get(f"http://127.0.0.1:{port}/api/v1/events", timeout=5).json()["events"]
        assert scene.event_id in {e["id"] for e in events}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/region/cities", timeout=5).json()["cities"]
    finally:
        proc.terminate()
        proc.wait(15)
