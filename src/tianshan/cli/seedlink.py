"""``tianshan seedlink``: serve an SDS archive (or a simulated scenario) as a SeedLink 3 server.

``tianshan seedlink serve --archive DIR [--start T] [--speed X]`` replays the
archive in real time (``--speed 1``) or accelerated (``--speed 10``) from
``--start`` (default: the archive's first sample). ``DIR`` is an SDS root or a
folder written by ``tianshan simulate`` (its ``sds/`` subfolder is used).
Stop with Ctrl-C / SIGTERM, or after ``--duration`` seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.core.errors import InputError


def _sds_root(path: Path) -> Path:
    if not path.is_dir():
        raise InputError("SDS archive folder not found", source=str(path))
    if (path / "sds").is_dir() and not any(p.name.isdigit() for p in path.iterdir()):
        return path / "sds"
    return path


def _time_ns(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    from tianshan.core.timeutil import as_utc

    try:
        t = as_utc(text, option)
    except (ValueError, TypeError) as err:
        raise InputError(f"{option}: not a time ({err})", field=option) from None
    from datetime import datetime, timedelta, timezone

    return (t - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1) * 1000


async def _serve(root: Path, start_ns, end_ns, speed: float, host: str, port: int, duration: float | None,
                 ring_size: int, as_json: bool) -> dict:
    import asyncio
    import signal

    from tianshan.stream.seedlink_server import SeedLinkServer

    server = SeedLinkServer(host, port, ring_size=ring_size)
    await server.start()
    try:
        server.replay_sds(root, start_ns=start_ns, speed=speed, end_ns=end_ns)
        stations = len(server.rings)
        if not stations:
            raise InputError("no miniSEED day files found in the SDS archive", source=str(root))
        if not as_json:
            click.echo(f"SeedLink server on {host}:{server.port}: {stations} stations from {root} "
                       f"at {speed:g}x real time", err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                pass
        try:
            await asyncio.wait_for(stop.wait(), timeout=duration)
        except asyncio.TimeoutError:
            pass
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass
    finally:
        await server.close()
    s = server.stats
    return {"host": host, "port": server.port, "stations": len(server.rings), "connections": s.connections,
            "commands": s.commands, "errors": s.errors, "packets_sent": s.packets_sent,
            "archive_skipped": s.archive_skipped, "replay_complete": server.replay_done.is_set()}


@click.group(name="seedlink")
def command() -> None:
    """SeedLink 3 server: replay an SDS archive or a simulated scenario, forward live data."""


@command.command()
@click.option("--archive", "archive", type=click.Path(path_type=Path), required=True,
              help="SDS root folder (or a `tianshan simulate` output folder).")
@click.option("--start", default=None, help="Replay start time (ISO 8601, UTC); default: first sample.")
@click.option("--end", default=None, help="Replay end time (ISO 8601, UTC); default: last sample.")
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Replay speed, x real time (10: ten times faster).")
@click.option("--port", type=click.IntRange(0, 65535), default=18000, show_default=True,
              help="TCP port (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: run until stopped).")
@click.option("--ring-size", type=click.IntRange(1), default=100_000, show_default=True,
              help="Packets kept per station for clients that resume.")
@click.option("--json", "as_json", is_flag=True, help="Print the final counters as JSON.")
def serve(archive: Path, start, end, speed, port, host, duration, ring_size, as_json) -> None:
    """Serve ARCHIVE as a SeedLink 3 server in real time or accelerated."""
    import asyncio

    if not speed > 0:
        raise InputError(f"--speed must be > 0, got {speed}", field="--speed")
    if duration is not None and not duration > 0:
        raise InputError(f"--duration must be > 0, got {duration}", field="--duration")
    root = _sds_root(archive)
    start_ns, end_ns = _time_ns(start, "--start"), _time_ns(end, "--end")
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise InputError("--end must be after --start", field="--end")
    try:
        result = asyncio.run(_serve(root, start_ns, end_ns, speed, host, port, duration, ring_size, as_json))
    except OSError as err:
        raise InputError(f"cannot listen on {host}:{port} ({err.strerror or err})", field="--port") from None
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"served {result['packets_sent']} packets to {result['connections']} connections", err=True)
