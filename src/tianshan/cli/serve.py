"""``tianshan serve``: the data-centre web services (FDSN event, station, dataselect) over HTTP.

``tianshan serve --store URL --archive DIR --inventory FILE --port N`` serves

* fdsnws-event from the event store (``--store``; default: the settings' database),
* fdsnws-dataselect from the SDS archive (``--archive``),
* fdsnws-station from the inventory (``--inventory``: StationXML, a region folder or
  ``demo``; default: the stations saved in the store),

under ``http://HOST:PORT/fdsnws/``. Restricted channels (``restrictedStatus="closed"``
in the inventory) are served by ``dataselect/1/queryauth`` to the users of
``--htdigest`` (Apache htdigest file, realm ``FDSN``) and the holders of the tokens
in ``--tokens`` (``user:sha256-hex`` lines).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--store", "store_url", default=None,
              help="event store URL (sqlite:///FILE or postgresql+psycopg://...); default: the settings' database")
@click.option("--no-store", is_flag=True, help="do not serve events (station and dataselect only)")
@click.option("--archive", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="SDS archive folder (enables fdsnws-dataselect)")
@click.option("--inventory", default=None, help="StationXML file, region folder or 'demo' (fdsnws-station)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port")
@click.option("--htdigest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="users of queryauth: Apache htdigest file (user:realm:md5)")
@click.option("--tokens", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="bearer tokens of queryauth: user:sha256-hex lines")
@click.option("--realm", default="FDSN", show_default=True, help="HTTP Digest realm")
@click.option("--max-samples", type=click.IntRange(min=1), default=20_000_000, show_default=True,
              help="largest dataselect answer (samples); larger requests get 413")
@click.option("--max-events", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="largest event answer; larger requests get 413")
@click.option("--rate-limit", type=click.FloatRange(min=0.0), default=20.0, show_default=True,
              help="requests per second per client (0: no limit); more get 429")
@click.option("--burst", type=click.IntRange(min=1), default=100, show_default=True,
              help="requests a client may send at once before the rate limit applies")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="settings file (for the default database)")
def command(store_url, no_store, archive, inventory, host, port, htdigest, tokens, realm, max_samples, max_events,
            rate_limit, burst, config_path) -> None:
    """Serve the FDSN web services (event, station, dataselect) over HTTP."""
    import uvicorn

    from tianshan.services.fdsn.app import create_app
    from tianshan.services.fdsn.auth import Credentials

    if no_store:
        store_url = None
    elif store_url is None:
        from tianshan.cli._store_options import database_url

        store_url = database_url(None, None, config_path)
    credentials = Credentials.from_files(htdigest, tokens, realm=realm)
    app = create_app(store_url, archive, inventory, credentials=credentials, max_samples=max_samples,
                     max_events=max_events, rate_limit_per_s=rate_limit or None, rate_burst=burst)
    state = app.state.fdsn
    offered = [name for name in ("event", "station", "dataselect") if getattr(state, name) is not None]
    click.echo(f"tianshan serve: {', '.join('fdsnws-' + n for n in offered)} at http://{host}:{port}/fdsnws/",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
