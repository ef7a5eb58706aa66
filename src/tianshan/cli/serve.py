"""``tianshan serve``: the data centre over HTTP -- REST API, FDSN web services, dashboard.

``tianshan serve --store URL --archive DIR --port N`` serves, on one port,

* the REST API under ``/api/v1/`` (OpenAPI at ``/api/v1/openapi.json``, docs at
  ``/api/v1/docs``, live feed ``/api/v1/live``) over the event store (``--store``;
  default: the settings' database), with the region's map layers (``--region``; default
  the settings' region) and extra product files (``--products DIR/<event id>/...``);
* fdsnws-event from the store, fdsnws-dataselect from the SDS archive (``--archive``),
  fdsnws-station from ``--inventory`` (StationXML, region folder or ``demo``; default the
  stations saved in the store) under ``/fdsnws/``; restricted channels through
  ``dataselect/1/queryauth`` for the users of ``--htdigest`` and ``--tokens``;
* the dashboard's static files under ``/dashboard/`` when its folder exists.

API tokens live in the store, hashed: ``tianshan serve token create --user NAME --role
analyst|operator|admin`` prints a new one (once); ``token list`` and ``token revoke ID``.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def _store_url(store_url: str | None, config_path: Path | None) -> str:
    if store_url is not None:
        return store_url
    from tianshan.cli._store_options import database_url

    return database_url(None, None, config_path)


_store_option = click.option("--store", "store_url", default=None,
                             help="event store URL (sqlite:///FILE or postgresql+psycopg://...); "
                                  "default: the settings' database")
_config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                              default=None, help="settings file (default database and region)")


@click.group(invoke_without_command=True)
@_store_option
@click.option("--no-store", is_flag=True,
              help="no event store: serve fdsnws-station and fdsnws-dataselect only (no API, no dashboard)")
@click.option("--archive", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="SDS archive folder (enables fdsnws-dataselect)")
@click.option("--inventory", default=None, help="StationXML file, region folder or 'demo' (fdsnws-station)")
@click.option("--region", default=None, help="region folder or 'demo' for the API's map and stations "
                                             "(default: the settings' region)")
@click.option("--products", "products_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder of extra product files, one subfolder per event id")
@click.option("--dashboard", "dashboard_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="dashboard static folder (default: the packaged one, when present)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port")
@click.option("--htdigest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="users of FDSN queryauth: Apache htdigest file (user:realm:md5)")
@click.option("--tokens", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="bearer tokens of FDSN queryauth: user:sha256-hex lines")
@click.option("--realm", default="FDSN", show_default=True, help="HTTP Digest realm")
@click.option("--max-samples", type=click.IntRange(min=1), default=20_000_000, show_default=True,
              help="largest dataselect answer (samples); larger requests get 413")
@click.option("--max-events", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="largest fdsnws-event answer; larger requests get 413")
@click.option("--rate-limit", type=click.FloatRange(min=0.0), default=20.0, show_default=True,
              help="requests per second per client (0: no limit); more get 429")
@click.option("--burst", type=click.IntRange(min=1), default=100, show_default=True,
              help="requests a client may send at once before the rate limit applies")
@click.option("--poll", "poll_s", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="seconds between store polls of the live feed")
@click.option("--exclusions", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="QC exclusion list (JSON, `tianshan qc run`) for the stations' excluded flag")
@click.option("--no-upgrade", is_flag=True, help="refuse a store not at the newest schema instead of migrating it")
@_config_option
@click.pass_context
def command(ctx, store_url, no_store, archive, inventory, region, products_dir, dashboard_dir, host, port, htdigest, tokens,
            realm, max_samples, max_events, rate_limit, burst, poll_s, exclusions, no_upgrade, config_path) -> None:
    """Serve the REST API, the FDSN web services and the dashboard over HTTP."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from tianshan.services.api.server import create_server
    from tianshan.services.fdsn.auth import Credentials

    if no_store:
        _serve_fdsn_only(archive, inventory, host, port, Credentials.from_files(htdigest, tokens, realm=realm),
                         max_samples, max_events, rate_limit, burst)
        return
    url = _store_url(store_url, config_path)
    if region is None:
        from tianshan.config import load_settings

        region = load_settings(config_path).region
    credentials = Credentials.from_files(htdigest, tokens, realm=realm)
    limit = rate_limit or None
    app = create_server(url, archive=archive, inventory=inventory, region=region, products_dir=products_dir,
                        dashboard_dir=dashboard_dir,
                        api_options={"rate_limit_per_s": limit, "rate_burst": burst, "poll_s": poll_s,
                                     "exclusions": exclusions, "upgrade": not no_upgrade},
                        fdsn_options={"credentials": credentials, "max_samples": max_samples,
                                      "max_events": max_events, "rate_limit_per_s": limit, "rate_burst": burst})
    state = app.fdsn.state.fdsn
    offered = [name for name in ("event", "station", "dataselect") if getattr(state, name) is not None]
    base = f"http://{host}:{port}"
    click.echo(f"tianshan serve: REST API {base}/api/v1/ (docs {base}/api/v1/docs); "
               f"{', '.join('fdsnws-' + n for n in offered)} {base}/fdsnws/"
               + (f"; dashboard {base}/dashboard/" if app.static is not None else ""), err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", ws="wsproto")


def _serve_fdsn_only(archive, inventory, host, port, credentials, max_samples, max_events, rate_limit, burst) -> None:
    """``--no-store``: the FDSN station and dataselect services alone (a waveform/metadata node)."""
    import uvicorn

    from tianshan.services.fdsn.app import create_app

    app = create_app(None, archive, inventory, credentials=credentials, max_samples=max_samples,
                     max_events=max_events, rate_limit_per_s=rate_limit or None, rate_burst=burst)
    state = app.state.fdsn
    offered = [name for name in ("event", "station", "dataselect") if getattr(state, name) is not None]
    click.echo(f"tianshan serve: {', '.join('fdsnws-' + n for n in offered)} at http://{host}:{port}/fdsnws/",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


@command.group("token")
def token() -> None:
    """API tokens (stored hashed in the event store)."""


@token.command("create")
@click.option("--user", required=True, help="user name the token stands for")
@click.option("--role", type=click.Choice(["analyst", "operator", "admin"]), required=True, help="role of the token")
@click.option("--expires", default=None, help="expiry time, ISO 8601 (UTC); default: never")
@click.option("--json", "as_json", is_flag=True, help="print JSON (token and its record)")
@_store_option
@_config_option
def token_create(user, role, expires, as_json, store_url, config_path) -> None:
    """Create a token and print it (it is shown only this once)."""
    from tianshan.cli._store_options import parse_time
    from tianshan.store import EventStore
    from tianshan.store.access import AccessStore

    with EventStore.open(_store_url(store_url, config_path)) as store:
        secret, info = AccessStore(store).create_token(user, role, created_by="cli",
                                                       expires_at=parse_time(expires, "expires"))
    if as_json:
        click.echo(json.dumps({"token": secret, "info": info.as_dict()}, ensure_ascii=False))
    else:
        click.echo(secret)
        click.echo(f"令牌已创建 / token created: id {info.id}, user {info.user}, role {info.role} "
                   "(保存好，不会再显示 / keep it safe: it is not shown again)", err=True)


@token.command("list")
@_store_option
@_config_option
def token_list(store_url, config_path) -> None:
    """List the tokens (ids, users, roles; never the secrets) as JSON lines."""
    from tianshan.store import EventStore
    from tianshan.store.access import AccessStore

    with EventStore.open(_store_url(store_url, config_path)) as store:
        for info in AccessStore(store).tokens():
            click.echo(json.dumps(info.as_dict(), ensure_ascii=False))


@token.command("revoke")
@click.argument("token_id")
@_store_option
@_config_option
def token_revoke(token_id, store_url, config_path) -> None:
    """Revoke the token with id TOKEN_ID."""
    from tianshan.core.errors import InputError
    from tianshan.store import EventStore
    from tianshan.store.access import AccessStore

    with EventStore.open(_store_url(store_url, config_path)) as store:
        try:
            info = AccessStore(store).revoke_token(token_id)
        except KeyError:
            raise InputError(f"no token with id {token_id!r}", field="token_id") from None
    click.echo(f"令牌已吊销 / token revoked: {info.id} ({info.user}, {info.role})", err=True)
