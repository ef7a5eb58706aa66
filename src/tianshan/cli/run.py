"""``tianshan run``: the real-time daemon (SeedLink/MQTT ingest, picking, events, products).

``tianshan run --config FILE [--role R] [--http-port N] [--log-format json|text] [--until-idle S]``

Settings come from the ``[run]`` section of the settings file
(:class:`tianshan.config.settings.RunSettings`); ``--role`` (repeatable or a comma list:
``all``, ``acquisition``, ``picker``, ``associator``, ``products``) overrides ``run.role``,
``--http-port`` the HTTP port (0: any free port; the bound port is logged and written to
``<data_dir>/run/http.json``), ``--log-format`` the log format. ``--until-idle S`` ends the
run gracefully after S seconds without packets, once every stage has flushed (replays,
tests, the demo). SIGTERM/SIGINT stop gracefully (exit 0); a second signal exits at once.
Bad settings: one line ``tianshan: error: ...`` and exit status 2.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="settings file (default $TIANSHAN_CONFIG or ./tianshan.toml)")
@click.option("--role", "roles", multiple=True,
              help="role(s) of this process: all, acquisition, picker, associator, products "
                   "(repeat or comma-separate; default run.role)")
@click.option("--http-port", type=click.IntRange(0, 65535), default=None,
              help="HTTP port for /health, /metrics, /events/<id>/timeline (0: any free port)")
@click.option("--log-format", type=click.Choice(["json", "text"]), default=None,
              help="log lines on stderr: JSON objects or text (default run.log_format)")
@click.option("--until-idle", "until_idle", type=float, default=None,
              help="stop gracefully after this many seconds without packets (replays, tests)")
def command(config_path, roles, http_port, log_format, until_idle) -> int:
    """Run the real-time engine until stopped (SIGTERM/SIGINT) or idle."""
    import asyncio

    from tianshan.core.errors import InputError
    from tianshan.runtime.config import load_run_config
    from tianshan.runtime.logs import setup_logging

    if until_idle is not None and not until_idle > 0:
        raise InputError(f"--until-idle must be > 0 seconds, got {until_idle}", field="--until-idle")
    cfg = load_run_config(config_path, roles=roles or None, http_port=http_port, log_format=log_format)
    setup_logging(cfg.log_format, cfg.settings.log_level)
    from tianshan.runtime.daemon import Daemon

    return asyncio.run(Daemon(cfg).run(until_idle_s=until_idle))
