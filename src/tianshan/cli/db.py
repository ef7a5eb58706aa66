"""``tianshan db``: create or upgrade the event store's schema, show its state."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.cli._store_options import database_url, store_options


@click.group(name="db")
def command() -> None:
    """Event store: create/upgrade the schema (Alembic), show its state."""


@command.command()
@store_options
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def upgrade(url: str | None, data_dir: Path | None, config_path: Path | None, as_json: bool) -> None:
    """Create the database schema or migrate it to the newest revision."""
    from tianshan.store import EventStore
    from tianshan.store.migrate import head_revision

    resolved = database_url(url, data_dir, config_path)
    with EventStore.open(resolved, upgrade=True) as store:
        revision = store.revision()
        shown = store.url
    if as_json:
        click.echo(json.dumps({"url": shown, "revision": revision, "head": head_revision()}))
    else:
        click.echo(f"{shown}: schema at revision {revision} (head)")


@command.command()
@store_options
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def status(url: str | None, data_dir: Path | None, config_path: Path | None, as_json: bool) -> None:
    """Show the database, its schema revision and what it holds (creates nothing)."""
    from tianshan.store import EventStore
    from tianshan.store.database import check_connection, make_engine, redact, sqlite_path
    from tianshan.store.migrate import current_revision, head_revision

    resolved = database_url(url, data_dir, config_path)
    head = head_revision()
    info: dict = {"url": redact(resolved), "exists": True, "revision": None, "head": head, "up_to_date": False,
                  "counts": None}
    path = sqlite_path(resolved)
    if path is not None and not path.is_file():
        info["exists"] = False
    else:
        engine = make_engine(resolved)
        try:
            check_connection(engine)
            info["revision"] = current_revision(engine)
        finally:
            engine.dispose()
        info["up_to_date"] = info["revision"] == head
        if info["up_to_date"]:
            with EventStore.open(resolved, upgrade=False) as store:
                info["counts"] = store.counts()
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"database: {info['url']}")
    if not info["exists"]:
        click.echo("state:    no database yet (run `tianshan db upgrade`)")
        return
    state = "up to date" if info["up_to_date"] else f"needs `tianshan db upgrade` (head is {head})"
    click.echo(f"revision: {info['revision'] or '(empty)'} - {state}")
    if info["counts"] is not None:
        click.echo("contents: " + ", ".join(f"{n} {name}" for name, n in info["counts"].items()))
