"""Typed settings: a TOML file plus ``TIANSHAN_*`` environment variables (environment wins).

File lookup (:func:`load_settings`): the ``path`` argument, else the
environment variable ``TIANSHAN_CONFIG``, else ``./tianshan.toml`` when it
exists, else defaults only.

Example ``tianshan.toml``::

    data_dir = "/var/lib/tianshan"      # relative paths are relative to this file
    database_url = "postgresql+psycopg://tianshan@db/tianshan"   # omit: SQLite in data_dir
    region = "demo"                      # or a region profile folder
    log_level = "INFO"

    [simulation]
    seed = 42
    duration_s = 300.0

Environment variables: ``TIANSHAN_DATA_DIR``, ``TIANSHAN_DATABASE_URL``,
``TIANSHAN_REGION``, ``TIANSHAN_LOG_LEVEL``, and nested keys with a double
underscore, e.g. ``TIANSHAN_SIMULATION__SEED``. Empty variables count as
unset. Other ``TIANSHAN_*`` variables (``TIANSHAN_CONFIG``,
``TIANSHAN_SHARED_DATA``...) are not settings and are ignored, except an
unknown key inside a known section (``TIANSHAN_SIMULATION__SEDE``), which is
an error.

Errors are :class:`~tianshan.core.errors.InputError`: malformed TOML names the
file, line and column; an unknown key names the key; a wrong type names the
field and the value (and the file line or the environment variable).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tianshan.config.tomlfile import find_key_line, read_toml
from tianshan.core.errors import InputError

#: Environment prefix of every setting.
ENV_PREFIX = "TIANSHAN_"
#: Environment variable naming the settings file.
CONFIG_ENV = "TIANSHAN_CONFIG"
#: File looked up in the working folder when no path is given.
DEFAULT_CONFIG_NAME = "tianshan.toml"
#: Name of the built-in region (see :mod:`tianshan.regions.demo`).
DEMO_REGION = "demo"
#: SQLite file used inside ``data_dir`` when ``database_url`` is not set.
SQLITE_NAME = "tianshan.sqlite"

#: Set while :func:`load_settings` validates values it has already gathered:
#: then the process environment is not read a second time.
_EXPLICIT_ONLY: ContextVar[bool] = ContextVar("tianshan_settings_explicit_only", default=False)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class SimulationSettings(BaseModel):
    """``[simulation]``: defaults of the scenario simulator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(42, description="seed of numpy.random.default_rng for simulated noise and sources")
    duration_s: float = Field(300.0, gt=0, description="length of simulated records, seconds")


class Settings(BaseSettings):
    """All settings of a Tianshan installation.

    ``Settings()`` alone reads ``TIANSHAN_*`` from the process environment
    (pydantic-settings); :func:`load_settings` adds the TOML file and an
    explicit environment mapping.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid",
                                      frozen=True, env_ignore_empty=True)

    data_dir: Path = Field(Path("./tianshan-data"), description="folder for archives, products and the SQLite store")
    database_url: str | None = Field(None, description="SQLAlchemy URL; None = SQLite file in data_dir")
    region: str = Field(DEMO_REGION, min_length=1,
                        description='"demo" (built-in) or the path of a region profile folder')
    log_level: LogLevel = "INFO"
    simulation: SimulationSettings = Field(default_factory=SimulationSettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _EXPLICIT_ONLY.get():
            return (init_settings,)
        return (init_settings, env_settings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        """``database_url``, or ``sqlite:///<data_dir>/tianshan.sqlite`` (absolute path) when unset."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / SQLITE_NAME).absolute()}"

    @property
    def is_demo_region(self) -> bool:
        return self.region == DEMO_REGION


def find_config_file(path: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The settings file to read: ``path``, else ``$TIANSHAN_CONFIG``, else ``./tianshan.toml`` if present."""
    if path is not None:
        return Path(path)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.is_file() else None


def _env_values(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Nested settings dict from ``TIANSHAN_*`` variables, and key path -> variable name."""
    data: dict[str, Any] = {}
    names: dict[tuple[str, ...], str] = {}
    nested = {name for name, f in Settings.model_fields.items()
              if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}
    for var, value in env.items():
        if not var.upper().startswith(ENV_PREFIX) or value == "":
            continue
        parts = var[len(ENV_PREFIX):].lower().split("__")
        if parts[0] not in Settings.model_fields:
            continue  # TIANSHAN_CONFIG, TIANSHAN_SHARED_DATA...: not settings
        if parts[0] in nested:
            if len(parts) != 2:
                raise InputError(f"use {ENV_PREFIX}{parts[0].upper()}__<KEY>", f"environment variable {var}")
            sub = Settings.model_fields[parts[0]].annotation.model_fields  # type: ignore[union-attr]
            if parts[1] not in sub:
                raise InputError(f"unknown setting {parts[0]}.{parts[1]} (known: {', '.join(sub)})",
                                 f"environment variable {var}")
            data.setdefault(parts[0], {})[parts[1]] = value
        elif len(parts) == 1:
            data[parts[0]] = value
        else:
            continue
        names[tuple(parts)] = var
    return data, names


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _input_error(err: ValidationError, source_of, line_of) -> InputError:
    """First pydantic error as an InputError naming the field and the value."""
    e = err.errors(include_url=False)[0]
    loc = tuple(str(p) for p in e["loc"])
    field = ".".join(loc) or None
    if e["type"] == "extra_forbidden":
        model: Any = Settings
        for part in loc[:-1]:
            model = model.model_fields[part].annotation
        msg = f"unknown setting {field!r} (known: {', '.join(model.model_fields)})"
    else:
        msg = f"{e['msg']}, got {e.get('input')!r}"
    return InputError(msg, source_of(loc), line_of(loc), field)


def _validate(data: dict[str, Any]) -> Settings:
    token = _EXPLICIT_ONLY.set(True)
    try:
        return Settings(**data)
    finally:
        _EXPLICIT_ONLY.reset(token)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load settings from a TOML file and environment variables (environment wins).

    ``env`` defaults to :data:`os.environ`. Relative ``data_dir`` and
    ``region`` paths written in the file are taken relative to the file's
    folder; from the environment, relative to the working folder.
    """
    env = os.environ if env is None else env
    cfg = find_config_file(path, env)
    file_data: dict[str, Any] = {}
    text = ""
    if cfg is not None:
        if not cfg.is_file():
            how = "given" if path is not None else f"named by {CONFIG_ENV}"
            raise InputError(f"settings file {how} does not exist", str(cfg))
        file_data = read_toml(cfg)
        text = cfg.read_text(encoding="utf-8")
        for key in ("data_dir", "region"):
            value = file_data.get(key)
            if isinstance(value, str) and value and not (key == "region" and value == DEMO_REGION):
                p = Path(value).expanduser()
                file_data[key] = str(p if p.is_absolute() else cfg.absolute().parent / p)
        try:
            _validate(file_data)
        except ValidationError as err:
            raise _input_error(err, lambda loc: str(cfg), lambda loc: find_key_line(text, loc)) from None
    env_data, env_names = _env_values(env)
    try:
        return _validate(_merge(file_data, env_data))
    except ValidationError as err:
        def source(loc: tuple[str, ...]) -> str:
            name = env_names.get(loc[:2]) or env_names.get(loc[:1])
            return f"environment variable {name}" if name else str(cfg)
        raise _input_error(err, source, lambda loc: None) from None
