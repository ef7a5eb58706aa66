"""``tianshan alerts``: serve, publish and receive earthquake early-warning messages.

* ``tianshan alerts keygen --out keys.json [--key-id eew1]`` -- a publisher key file (0600).
* ``tianshan alerts serve --key-file keys.json [--port 8765] [--publish-port 8766] [--workers N]
  [--mqtt HOST:PORT] [--webhook URL --webhook-secret-file F]`` -- WebSocket fan-out with N worker
  processes on one port, signed publish endpoint, optional MQTT and webhooks.
* ``tianshan alerts publish (FILE | --example) --key-file keys.json [--url ...]`` -- sign and
  send one message (JSON, ``alert.schema.json``); ``--example`` builds a demo alert.
* ``tianshan alerts listen [--url ws://...] [--lat --lon] [--radius-km R | --bbox w,s,e,n]`` --
  the reference receiver: shows each message, the countdown to S-wave arrival and the
  expected intensity.
* ``tianshan alerts cap FILE`` -- the CAP 1.2 XML of a message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tianshan.core.errors import InputError


@click.group(name="alerts")
def command() -> None:
    """Earthquake early-warning messages: serve (WebSocket/MQTT/webhooks), publish, listen."""


def _host_port(text: str, option: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        return host, int(port)
    except ValueError:
        raise InputError(f"{option}: expected HOST:PORT, got {text!r}", field=option) from None


def _floats(text: str, n: int, option: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) != n:
        raise InputError(f"{option}: expected {n} comma-separated numbers, got {text!r}", field=option)
    return vals


def _pick_key(key_file: Path, key_id: str | None):
    from tianshan.services.alerts.auth import load_keys

    keys = load_keys(key_file)
    if key_id is None:
        return keys[0]
    for k in keys:
        if k.key_id == key_id:
            return k
    raise InputError(f"no key {key_id!r} in the key file", source=str(key_file), field="--key-id")


# --------------------------------------------------------------------------- keygen

@command.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Key file to write.")
@click.option("--key-id", default="eew1", show_default=True, help="Publisher key id.")
def keygen(out: Path, key_id: str) -> None:
    """Write a new publisher key file (JSON, mode 0600); give it to the server and the publisher."""
    from tianshan.services.alerts.auth import generate_key, write_keys

    write_keys(out, [generate_key(key_id)])
    click.echo(f"wrote key {key_id!r} to {out}", err=True)


# --------------------------------------------------------------------------- serve

async def _serve(cfg, verifier, sinks, duration: float | None, as_json: bool) -> dict:
    import asyncio
    import signal

    from tianshan.services.alerts.server import AlertServer

    server = AlertServer(verifier, cfg, sinks=sinks)
    await server.start()
    try:
        if not as_json:
            click.echo(f"alerts: WebSocket {server.ws_url} ({cfg.workers or 'inline'} workers), "
                       f"publish {server.publish_url}", err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            await asyncio.wait_for(stop.wait(), timeout=duration)
        except asyncio.TimeoutError:
            pass
        stats = await server.collect_stats()
        for s in sinks:
            drain = getattr(s, "drain", None)
            if drain is not None:
                await asyncio.wait_for(drain(), 30.0)
    finally:
        await server.close()
        for s in sinks:
            close = getattr(s, "close", None)
            if close is not None:
                close()
    return stats


@command.command()
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Publisher keys (JSON {key_id: hex secret}); see `tianshan alerts keygen`.")
@click.option("--host", default="127.0.0.1", show_default=True, help="WebSocket listen address.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="WebSocket port.")
@click.option("--publish-host", default="127.0.0.1", show_default=True, help="Publish endpoint address.")
@click.option("--publish-port", type=click.IntRange(0, 65535), default=8766, show_default=True,
              help="Publish endpoint port (HTTP).")
@click.option("--workers", type=click.IntRange(0, 256), default=2, show_default=True,
              help="Fan-out worker processes sharing the port (0: one inside the hub process).")
@click.option("--queue-max", type=click.IntRange(1), default=32, show_default=True,
              help="Frames queued per slow client before it is dropped.")
@click.option("--mqtt", "mqtt_addr", default=None, help="Also publish to this MQTT broker (HOST:PORT), QoS 1.")
@click.option("--mqtt-root", default="tianshan/alerts", show_default=True, help="MQTT topic root.")
@click.option("--cell-deg", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="MQTT region cell size (degrees).")
@click.option("--webhook", "webhooks", multiple=True, help="POST each message to this URL (repeatable).")
@click.option("--webhook-secret-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File holding the webhook signing secret (hex); required with --webhook.")
@click.option("--duration", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Stop after this many seconds (default: until Ctrl-C / SIGTERM).")
@click.option("--json", "as_json", is_flag=True, help="Print the final counters as JSON.")
def serve(key_file, host, port, publish_host, publish_port, workers, queue_max, mqtt_addr, mqtt_root, cell_deg,
          webhooks, webhook_secret_file, duration, as_json) -> None:
    """Run the alert server: signed publish endpoint -> WebSocket workers, MQTT, webhooks."""
    import asyncio
    import logging

    from tianshan.services.alerts.auth import PublishVerifier, load_keys
    from tianshan.services.alerts.server import ServerConfig
    from tianshan.services.alerts.worker import FanoutOptions

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    verifier = PublishVerifier(load_keys(key_file))
    cfg = ServerConfig(host=host, port=port, publish_host=publish_host, publish_port=publish_port, workers=workers,
                       fanout=FanoutOptions(queue_max=queue_max))
    sinks = []
    if mqtt_addr:
        from tianshan.services.alerts.mqtt import MqttAlertPublisher

        mhost, mport = _host_port(mqtt_addr, "--mqtt", 1883)
        sinks.append(MqttAlertPublisher(mhost, mport, topic_root=mqtt_root, cell_deg=cell_deg).start())
    if webhooks:
        from tianshan.services.alerts.webhook import WebhookEndpoint, WebhookSender

        if webhook_secret_file is None:
            raise InputError("--webhook needs --webhook-secret-file", field="--webhook-secret-file")
        try:
            secret = bytes.fromhex(webhook_secret_file.read_text().strip())
        except ValueError:
            raise InputError("webhook secret file must hold hex", source=str(webhook_secret_file)) from None
        sinks.append(WebhookSender([WebhookEndpoint(u, secret) for u in webhooks]))
    try:
        stats = asyncio.run(_serve(cfg, verifier, sinks, duration, as_json))
    except OSError as err:
        raise InputError(f"cannot listen ({err.strerror or err})", field="--port") from None
    for s in sinks:
        if hasattr(s, "stats_dict"):
            stats["mqtt"] = s.stats_dict()
        elif hasattr(s, "stats"):
            stats["webhooks"] = s.stats.as_dict()
    if as_json:
        click.echo(json.dumps(stats))


# --------------------------------------------------------------------------- publish

def example_message(event_id: str, sequence: int, cancel: bool = False, test: bool = True):
    """A demo message: Mw 6.5 near Luntai (the demo region's scenario), issued now, status Test.

    Messages before ``sequence`` are assumed issued one second apart (their references).
    """
    from dataclasses import replace
    from datetime import timedelta

    from tianshan.core.alert import Alert, AlertLevel, AlertTarget
    from tianshan.core.timeutil import utc_now
    from tianshan.products.alerts.area import area_from_alert
    from tianshan.products.alerts.message import AlertMessage, MessageRef, MessageType, cap_token
    from tianshan.products.alerts.text import alert_text

    now = utc_now()
    targets = (AlertTarget("轮台县 Luntai", 41.78, 84.25, 7.6, 3.0), AlertTarget("库车市 Kuqa", 41.72, 82.96, 6.4, 26.0),
               AlertTarget("库尔勒市 Korla", 41.73, 86.17, 5.8, 44.0))
    alert = Alert(event_id, sequence, now - timedelta(seconds=6), 41.9, 84.3, 12_000.0, 6.5, AlertLevel.SEVERE,
                  targets, test=test, magnitude_uncertainty=0.3, issued_at=now)
    area = area_from_alert(alert)
    if cancel:
        alert = replace(alert, targets=(), cancelled=True)
    kind = MessageType.CANCEL if cancel else (MessageType.ALERT if sequence <= 1 else MessageType.UPDATE)
    zh, en = alert_text(alert, kind.value, "新疆轮台", "Luntai, Xinjiang")
    alert = replace(alert, message_zh=zh, message_en=en)
    sender = "tianshan-eew"
    refs = () if kind is MessageType.ALERT else tuple(
        MessageRef(sender, cap_token(f"{sender}.{event_id}.{s}"), now - timedelta(seconds=sequence - s))
        for s in range(1, sequence))
    return AlertMessage(kind, alert, area, sender, cap_token(f"{sender}.{event_id}.{sequence}"), refs)


@command.command()
@click.argument("message_file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--url", default="http://127.0.0.1:8766/v1/alerts", show_default=True, help="Publish endpoint.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Publisher key file.")
@click.option("--key-id", default=None, help="Key to sign with (default: the file's first).")
@click.option("--example", is_flag=True, help="Publish a demo alert (Mw 6.5 near Luntai, status Test).")
@click.option("--event-id", default="demo-event", show_default=True, help="--example: event id.")
@click.option("--sequence", type=click.IntRange(1), default=1, show_default=True, help="--example: sequence.")
@click.option("--cancel", is_flag=True, help="--example: publish a cancel.")
@click.option("--cap-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the message's CAP 1.2 XML here.")
def publish(message_file, url, key_file, key_id, example, event_id, sequence, cancel, cap_out) -> None:
    """Sign and publish one alert message (FILE: JSON, '-' for stdin) to the alert server."""
    from tianshan.products.alerts.message import message_from_json
    from tianshan.services.alerts.client import Publisher

    key = _pick_key(key_file, key_id)
    if example == (message_file is not None):
        raise InputError("give a MESSAGE_FILE or --example (one of them)", field="MESSAGE_FILE")
    if example:
        msg = example_message(event_id, sequence, cancel=cancel)
    else:
        src = "<stdin>" if message_file == "-" else message_file
        try:
            data = sys.stdin.buffer.read() if message_file == "-" else Path(message_file).read_bytes()
        except FileNotFoundError:
            raise InputError("message file not found", source=src) from None
        msg = message_from_json(data, source=src)
    if cap_out is not None:
        from tianshan.io.atomic import atomic_write_bytes
        from tianshan.products.alerts.cap import to_cap_xml

        atomic_write_bytes(cap_out, to_cap_xml(msg))
    try:
        with Publisher(url, key) as pub:
            status, reply = pub.publish(msg.to_json())
    except OSError as err:
        raise InputError(f"cannot reach the alert server at {url} ({err})", field="--url") from None
    click.echo(json.dumps({"status": status, **reply}, ensure_ascii=False))
    if status != 202:
        raise InputError(f"publish refused: HTTP {status} {reply.get('reason', '')} {reply.get('error', '')}".strip())


# --------------------------------------------------------------------------- cap

@command.command()
@click.argument("message_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (default stdout).")
def cap(message_file, out) -> None:
    """Convert an alert message (JSON) to CAP 1.2 XML."""
    from tianshan.products.alerts.cap import to_cap_xml
    from tianshan.products.alerts.message import message_from_json

    src = "<stdin>" if message_file == "-" else message_file
    try:
        data = sys.stdin.buffer.read() if message_file == "-" else Path(message_file).read_bytes()
    except FileNotFoundError:
        raise InputError("message file not found", source=src) from None
    xml = to_cap_xml(message_from_json(data, source=src))
    if out is None:
        click.echo(xml.decode("utf-8"))
    else:
        from tianshan.io.atomic import atomic_write_bytes

        atomic_write_bytes(out, xml)


# --------------------------------------------------------------------------- listen

def _render(view, lat, lon) -> str:
    from tianshan.products.alerts.text import roman

    kind = view.msg_type.upper()
    line = f"[{kind} #{view.sequence}] {view.event_id}: M{view.magnitude:.1f} ({view.level})"
    if view.msg_type == "cancel":
        return line + " -- cancelled / 已取消\n  " + view.text_zh + "\n  " + view.text_en
    cd = view.countdown_s()
    if cd is not None:
        where = "at your location / 您所在位置" if lat is not None else "first target / 最近目标"
        line += f"\n  S wave {where}: {'in %.1f s / %.1f 秒后到达' % (cd, cd) if cd > 0 else 'arrived / 已到达'}"
    if view.intensity is not None:
        near = f" ({view.place}, {view.place_distance_m / 1000:.0f} km)" if view.place_distance_m is not None else \
            f" ({view.place})"
        line += f"\n  expected intensity / 预计烈度: {roman(view.intensity)}{near}"
    elif lat is not None:
        line += "\n  no intensity prediction near you / 附近无烈度预测"
    return line + "\n  " + view.text_zh + "\n  " + view.text_en


async def _listen(url, lat, lon, count, timeout, as_json) -> int:
    import asyncio

    from tianshan.products.alerts.message import SequenceTracker, message_from_json
    from tianshan.services.alerts.client import connect_receiver
    from tianshan.services.alerts.receiver import view_message
    from tianshan.core.timeutil import as_utc

    queue: asyncio.Queue = asyncio.Queue()
    proto = await connect_receiver(url, lambda payload, t: queue.put_nowait((payload, t)))
    proto.closed.add_done_callback(lambda _f: queue.put_nowait((None, 0.0)))
    tracker = SequenceTracker()
    shown = 0
    loop = asyncio.get_running_loop()
    end = None if timeout is None else loop.time() + timeout
    tty = sys.stdout.isatty() and not as_json
    current = None
    try:
        while count is None or shown < count:
            wait = None if end is None else max(0.0, end - loop.time())
            if current is not None and tty:
                wait = 0.1 if wait is None else min(wait, 0.1)
            try:
                payload, t = await asyncio.wait_for(queue.get(), wait)
            except asyncio.TimeoutError:
                if end is not None and loop.time() >= end:
                    break
                if current is not None:  # countdown line (TTY only)
                    cd = current.countdown_s()
                    text = f"\r  countdown / 倒计时: {cd:5.1f} s " if cd > 0 else "\r  SHAKING NOW / 地震波已到达      \n"
                    sys.stdout.write(text)
                    sys.stdout.flush()
                    if cd <= 0:
                        current = None
                continue
            if payload is None:
                click.echo(f"tianshan: the alert server closed the connection (code {proto.closed.result()})",
                           err=True)
                break
            try:
                doc = json.loads(payload)
            except ValueError:
                continue
            if not isinstance(doc, dict) or "format" not in doc:
                continue  # hello / subscribed / pong
            try:
                msg = message_from_json(payload, source="received message")
            except InputError as err:
                click.echo(f"tianshan: warning: dropped a bad message ({err})", err=True)
                continue
            if not tracker.accept_message(msg):
                continue
            view = view_message(msg, lat, lon, received_at=as_utc(t))
            shown += 1
            if as_json:
                click.echo(json.dumps({**view.as_dict(), "identifier": msg.identifier}, ensure_ascii=False))
            else:
                if current is not None and tty:
                    sys.stdout.write("\n")
                click.echo(_render(view, lat, lon))
                cd = view.countdown_s()
                current = view if (cd is not None and cd > 0) else None
    finally:
        proto.close()
    return shown


@command.command()
@click.option("--url", default="ws://127.0.0.1:8765/alerts", show_default=True, help="Alert server WebSocket URL.")
@click.option("--lat", type=click.FloatRange(-90, 90), default=None, help="Your latitude (countdown, intensity).")
@click.option("--lon", type=click.FloatRange(-180, 180), default=None, help="Your longitude.")
@click.option("--radius-km", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Only alerts whose area comes within this distance of --lat/--lon.")
@click.option("--bbox", default=None, help="Only alerts whose area meets this box: west,south,east,north.")
@click.option("--count", type=click.IntRange(1), default=None, help="Exit after this many messages.")
@click.option("--timeout", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Exit after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per message (countdown, intensity, latency).")
def listen(url, lat, lon, radius_km, bbox, count, timeout, as_json) -> None:
    """Reference receiver: print alerts with the countdown to shaking and the expected intensity."""
    import asyncio
    from urllib.parse import urlencode

    if (lat is None) != (lon is None):
        raise InputError("give both --lat and --lon", field="--lat")
    if radius_km is not None and lat is None:
        raise InputError("--radius-km needs --lat and --lon", field="--radius-km")
    if radius_km is not None and bbox is not None:
        raise InputError("give --radius-km or --bbox, not both", field="--bbox")
    query = {}
    if bbox is not None:
        query["bbox"] = ",".join(str(v) for v in _floats(bbox, 4, "--bbox"))
    elif radius_km is not None:
        query["circle"] = f"{lat},{lon},{radius_km}"
    if query:
        url = url + ("&" if "?" in url else "?") + urlencode(query)
    try:
        asyncio.run(_listen(url, lat, lon, count, timeout, as_json))
    except (OSError, ConnectionError, asyncio.TimeoutError) as err:
        raise InputError(f"cannot listen on {url} ({err or type(err).__name__})", field="--url") from None
