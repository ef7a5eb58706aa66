"""The resolved configuration of one ``tianshan run`` process.

:func:`load_run_config` reads the settings (TOML + ``TIANSHAN_*``, :func:`tianshan.config.load_settings`)
and applies the command-line overrides (``--role``, ``--http-port``, ``--log-format``);
:class:`RunConfig` derives every path the daemon uses from them:

* ``<data_dir>/run/``: files of the running daemon; ``http.json`` (``{"host", "port", "pid",
  "roles", "url"}``, written atomically once the HTTP endpoint is bound; a process running
  only some roles writes ``http-<role>-<role>.json`` instead, so processes sharing a data
  folder do not overwrite each other's);
* ``state_dir`` (default ``<data_dir>/run/state``): the SeedLink resume state, one file per
  server ``seedlink-<host>-<port>.json``;
* the event store: ``database_url``, else SQLite in ``data_dir``;
* the archive root (``[run] archive``; None = no archiving);
* ``[run.eew]`` (:attr:`RunConfig.eew`): early warning; messages under ``<data_dir>/products/eew``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from tianshan.config.settings import RUN_ROLES, Settings, SeedLinkSourceSettings, split_roles, load_settings
from tianshan.core.errors import InputError

ROLES = RUN_ROLES


def parse_roles(values: Iterable[str] | str) -> tuple[str, ...]:
    """``--role`` values (repeatable, comma lists, ``all``) -> role names in pipeline order."""
    try:
        return split_roles(list(values) if not isinstance(values, str) else values)
    except ValueError as err:
        raise InputError(str(err), field="--role") from None


@dataclass(frozen=True)
class RunConfig:
    """Settings of one daemon process plus command-line overrides (see the module docstring)."""

    settings: Settings
    roles: tuple[str, ...]
    log_format: str
    http_port: int
    config_file: Path | None = None

    @property
    def run(self):
        return self.settings.run

    @property
    def all_roles(self) -> bool:
        return set(self.roles) == set(ROLES)

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def state_dir(self) -> Path:
        return Path(self.run.state_dir) if self.run.state_dir is not None else self.run_dir / "state"

    @property
    def store_url(self) -> str:
        return self.settings.effective_database_url

    @property
    def archive_root(self) -> Path | None:
        return Path(self.run.archive) if self.run.archive is not None else None

    @property
    def bus_url(self) -> str | None:
        return None if self.run.bus == "memory" else self.run.bus

    @property
    def http_json(self) -> Path:
        name = "http.json" if self.all_roles else "http-" + "-".join(self.roles) + ".json"
        return self.run_dir / name

    def seedlink_state_file(self, source: SeedLinkSourceSettings) -> Path:
        host = re.sub(r"[^A-Za-z0-9.\-]", "_", source.host)
        return self.state_dir / f"seedlink-{host}-{source.port}.json"

    @property
    def eew(self):
        """``[run.eew]``: early warning in the process holding the packets (:mod:`tianshan.stages.eew`)."""
        return self.run.eew

    @property
    def eew_folder(self) -> Path | None:
        """Where the EEW stage writes its messages (JSON + CAP): ``<data_dir>/products/eew``, or None."""
        return self.data_dir / "products" / "eew" if self.run.eew.write_messages else None

    @property
    def publish_packets(self) -> bool:
        """Whether acquisition publishes raw records on the bus (default: only on a shared NATS bus)."""
        if self.run.publish_packets is not None:
            return self.run.publish_packets
        return self.bus_url is not None


def load_run_config(path: str | Path | None = None, *, roles: Iterable[str] | None = None,
                    http_port: int | None = None, log_format: str | None = None,
                    env: Mapping[str, str] | None = None) -> RunConfig:
    """Settings from ``path`` (or ``$TIANSHAN_CONFIG`` / ``./tianshan.toml``) with command-line overrides.

    Bad settings raise :class:`InputError` naming the file, line and field.
    """
    settings = load_settings(path, env)
    run = settings.run
    chosen = parse_roles(roles) if roles else run.role
    if log_format is not None and log_format not in ("json", "text"):
        raise InputError(f"log format must be json or text, got {log_format!r}", field="--log-format")
    if http_port is not None and not 0 <= http_port <= 65535:
        raise InputError(f"HTTP port must be 0-65535, got {http_port}", field="--http-port")
    cfg_file = Path(path) if path is not None else None
    return RunConfig(settings, chosen, log_format or run.log_format,
                     run.http.port if http_port is None else int(http_port), cfg_file)
