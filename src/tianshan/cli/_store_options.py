"""Options shared by the commands that open the event store (``db``, ``catalog``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable

import click

from tianshan.core.errors import DomainError, InputError


def store_options(func: Callable) -> Callable:
    """``--url``, ``--data-dir`` and ``--config``; without them the settings decide (TOML + TIANSHAN_*)."""
    func = click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        help="settings file (default $TIANSHAN_CONFIG or ./tianshan.toml)")(func)
    func = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="data folder: SQLite store <DATA_DIR>/tianshan.sqlite")(func)
    func = click.option("--url", help="database URL (sqlite:///FILE or postgresql+psycopg://USER@HOST/DB)")(func)
    return func


def database_url(url: str | None, data_dir: Path | None, config_path: Path | None) -> str:
    """``--url``, else SQLite in ``--data-dir``, else the settings' database."""
    from tianshan.store.database import resolve_url

    if url or data_dir is not None:
        return resolve_url(url, data_dir)
    from tianshan.config import load_settings

    return load_settings(config_path).effective_database_url


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 time from the command line (naive = UTC)."""
    if value is None:
        return None
    from tianshan.core.timeutil import as_utc

    try:
        return as_utc(value, option)
    except DomainError:
        raise InputError(f"not an ISO-8601 time: {value!r}", field=option) from None
