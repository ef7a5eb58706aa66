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

    [run]                                # the real-time daemon (`tianshan run`), see RunSettings
    archive = "archive"                  # SDS root written as data arrive; omit: no archiving
    [[run.seedlink]]
    host = "127.0.0.1"
    port = 18000
    selectors = ["XJ_*:HH?"]

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
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
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


#: Roles of ``tianshan run`` (``all`` = every one of them in one process).
RUN_ROLES = ("acquisition", "picker", "associator", "products")


def split_roles(value: Any) -> Any:
    """``"picker,associator"``, ``["picker", "associator"]`` or ``"all"`` -> a tuple of role names."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        return value
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"a role is a name, got {item!r}")
        for name in item.split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name == "all":
                names = RUN_ROLES
            elif name in RUN_ROLES:
                names = (name,)
            else:
                raise ValueError(f"unknown role {name!r} (known: all, {', '.join(RUN_ROLES)})")
            out.extend(n for n in names if n not in out)
    if not out:
        raise ValueError("no role given")
    return tuple(r for r in RUN_ROLES if r in out)


class SeedLinkSourceSettings(BaseModel):
    """``[[run.seedlink]]``: one SeedLink server to acquire from (:class:`tianshan.stream.seedlink_client.SeedLinkSource`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(18000, ge=1, le=65535)
    selectors: tuple[str, ...] = Field(min_length=1, description='station selectors, e.g. ["XJ_LTA:HH?", "XJ_*"]')
    begin_time: datetime | None = Field(None, description="without resume state: request data from this time (UTC)")
    stop_on_end: bool = Field(False, description="stop this source when the server answers END (a finished replay)")

    @field_validator("selectors", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("selectors")
    @classmethod
    def _parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from tianshan.stream.seedlink_client import parse_selectors

        parse_selectors(value)  # InputError -> ValueError: names the bad selector
        return value

    @field_validator("begin_time")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class MqttSourceSettings(BaseModel):
    """``[[run.mqtt]]``: an MQTT broker carrying OpenEEW packets (:class:`tianshan.stream.mqtt_source.MqttSource`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(1883, ge=1, le=65535)
    topic: str = Field(min_length=1, description="MQTT topic (wildcards allowed)")
    network: str = Field("OE", min_length=1, max_length=2, description="network code of the sensors' stream ids")


class PickerRunSettings(BaseModel):
    """``[run.picker]``: the streaming picker (:class:`tianshan.stages.picking.StreamingPicker`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["classic", "ml"] = "classic"
    model: str | None = Field(None, description="SeisBench model name or weights path (kind = ml)")
    window_s: float = Field(60.0, gt=0, description="seconds of data per picking window")
    step_s: float = Field(10.0, gt=0, description="seconds of new data between windows")
    edge_s: float = Field(5.0, ge=0, description="P picks this close to a window end wait for the next window")
    s_edge_s: float = Field(20.0, ge=0, description="same for S picks")

    @model_validator(mode="after")
    def _step_fits(self) -> "PickerRunSettings":
        if self.step_s > self.window_s - max(self.edge_s, self.s_edge_s):
            raise ValueError(f"step_s ({self.step_s}) must be <= window_s - max(edge_s, s_edge_s) "
                             f"({self.window_s} - {max(self.edge_s, self.s_edge_s)})")
        return self


class HttpSettings(BaseModel):
    """``[run.http]``: health, metrics and timeline endpoint (port 0: any free port)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8780, ge=0, le=65535)


class BufferRunSettings(BaseModel):
    """``[run.buffer]``: ring buffers of live data (:class:`tianshan.stream.buffers.BufferSet`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity_s: float = Field(600.0, gt=0, description="seconds of data kept per channel (the magnitude "
                              "stage reads its window from them when no archive is configured: keep >= 600)")
    max_future_s: float = Field(60.0, gt=0, description="records ending this far ahead of the clock are dropped")
    max_past_s: float | None = Field(None, gt=0, description="records ending this far behind the clock are "
                                     "dropped (None: no limit, as for replays of old data)")
    reorder_wait_s: float = Field(0.0, ge=0, description="seconds of data to wait at a gap for late packets")


class EEWRunSettings(BaseModel):
    """``[run.eew]``: earthquake early warning inside the daemon (:class:`tianshan.stages.eew.EEWStage`).

    Runs in the process that holds the packets (role ``picker``, alone or with others). Messages
    go on the bus (``tianshan.alerts``) and, with ``publish_url``, to the alert server's signed
    publish endpoint with the key of ``key_file`` (``tianshan alerts keygen``; ``key_id``: which
    key of the file, default its only one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    publish_url: str | None = Field(None, description="alert server publish URL, e.g. http://127.0.0.1:8766/v1/alerts")
    key_file: Path | None = Field(None, description="JSON key file of the publisher (needed with publish_url)")
    key_id: str | None = Field(None, description="key of key_file to sign with (None: the file's only key)")
    write_messages: bool = Field(True, description="also write each message as JSON and CAP 1.2 under "
                                 "<data_dir>/products/eew/<event>/")
    test: bool = Field(False, description='messages carry status "test" (exercises)')
    policy: dict[str, Any] = Field(default_factory=dict, description="alert policy overrides (PolicyConfig)")

    @field_validator("publish_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"publish_url must be http(s)://host:port/path, got {value!r}")
        return value

    @field_validator("policy")
    @classmethod
    def _policy(cls, value: dict[str, Any]) -> dict[str, Any]:
        from tianshan.eew.policy import PolicyConfig

        known = PolicyConfig.__dataclass_fields__
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown policy setting(s) {unknown} (known: {', '.join(known)})")
        PolicyConfig(**value)  # InputError (a ValueError) names the setting
        return value

    @model_validator(mode="after")
    def _key_with_url(self) -> "EEWRunSettings":
        if self.publish_url is not None and self.key_file is None:
            raise ValueError("publish_url needs key_file (the publisher's HMAC key)")
        return self


class ShakeMapRunSettings(BaseModel):
    """``[run.shakemap]``: intensity maps and loss reports inside the daemon, role ``products``
    (:class:`tianshan.stages.shakemap.ShakeMapStage`). Version rules: see that module."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_magnitude: float = Field(3.5, gt=0, lt=10, description="events are mapped from this preferred magnitude on")
    grid_step_deg: float = Field(0.02, gt=0, le=0.5, description="grid spacing of the real-time map, degrees")
    half_width_deg: float = Field(2.0, gt=0, le=10, description="the map covers the epicentre +- this, degrees")
    layers: tuple[Literal["mmi", "pga", "pgv", "psa0.3", "psa1.0", "psa3.0"], ...] = Field(
        ("mmi", "pga", "pgv"), description="conditioned layers (PGA and PGV are needed for GB/T 17742)")
    gmm: str = Field("BooreEtAl2014", min_length=1, description="hazardlib ground-motion model of the prior")
    vs30: float = Field(760.0, gt=0, description="site Vs30 of the prior, m/s")
    loss: bool = Field(True, description="loss estimate and report for every map version")
    report_formats: tuple[Literal["html", "pdf"], ...] = ("html", "pdf")
    final_wait_s: float = Field(120.0, ge=0, description="wall seconds a final event waits for its station records")

    @model_validator(mode="after")
    def _grid(self) -> "ShakeMapRunSettings":
        if self.grid_step_deg >= self.half_width_deg:
            raise ValueError(f"grid_step_deg ({self.grid_step_deg}) must be below half_width_deg ({self.half_width_deg})")
        if not {"pga", "pgv"} <= set(self.layers):
            raise ValueError("layers must include pga and pgv (the GB/T 17742 intensity needs both)")
        if self.loss and "mmi" not in self.layers:
            raise ValueError("layers must include mmi when loss = true (the loss models take MMI)")
        return self


class RunSettings(BaseModel):
    """``[run]``: the real-time daemon ``tianshan run`` (see :mod:`tianshan.runtime`).

    The event store is the installation's (``database_url``, else SQLite in ``data_dir``);
    the stations come from ``inventory`` (StationXML) or ``region`` (default: the top-level
    ``region``); ``velocity_model`` (a velocity CSV) overrides the region's model.
    Relative paths in the file are relative to the file's folder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: tuple[str, ...] = Field(RUN_ROLES, description='"all" or a list/comma list of ' + ", ".join(RUN_ROLES))
    region: str | None = Field(None, description='region folder or "demo"; None: the top-level region')
    inventory: Path | None = Field(None, description="StationXML file of the network (instead of a region)")
    velocity_model: Path | None = Field(None, description="velocity CSV overriding the region's model")
    bus: str = Field("memory", description='"memory" (one process) or a NATS URL nats://host:port')
    archive: Path | None = Field(None, description="SDS root written as data arrive (None: no archiving)")
    state_dir: Path | None = Field(None, description="SeedLink resume state; None: <data_dir>/run/state")
    log_format: Literal["json", "text"] = "json"
    seedlink: tuple[SeedLinkSourceSettings, ...] = ()
    mqtt: tuple[MqttSourceSettings, ...] = ()
    picker: PickerRunSettings = Field(default_factory=PickerRunSettings)
    events: dict[str, Any] = Field(default_factory=dict, description="event rule overrides (EventStage config)")
    http: HttpSettings = Field(default_factory=HttpSettings)
    buffer: BufferRunSettings = Field(default_factory=BufferRunSettings)
    shakemap: ShakeMapRunSettings = Field(default_factory=ShakeMapRunSettings)
    eew: EEWRunSettings = Field(default_factory=EEWRunSettings)
    prime_s: float | None = Field(None, ge=0, description="seconds of archived data re-read at start "
                                  "(None: picker window + step + 30 s)")
    publish_packets: bool | None = Field(None, description="publish raw records on the bus (None: when the "
                                         "bus is NATS, i.e. other processes may need them)")

    @field_validator("role", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        return split_roles(value)

    @field_validator("events")
    @classmethod
    def _event_rules(cls, value: dict[str, Any]) -> dict[str, Any]:
        from tianshan.stages.rules import EventRules

        known = EventRules.__dataclass_fields__
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown event rule(s) {unknown} (known: {', '.join(known)})")
        EventRules(**value)  # InputError (a ValueError) names the rule
        return value

    @field_validator("bus")
    @classmethod
    def _bus_url(cls, value: str) -> str:
        value = value.strip()
        if value in ("", "memory", "memory://"):
            return "memory"
        if not value.startswith(("nats://", "tls://")):
            raise ValueError(f'bus must be "memory" or nats://host:port, got {value!r}')
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_network(self) -> "RunSettings":
        if self.region is not None and self.inventory is not None:
            raise ValueError("give region or inventory, not both")
        return self

    @property
    def effective_prime_s(self) -> float:
        """Seconds of archive re-read at start: ``prime_s``, else picker window + step + 30 s."""
        if self.prime_s is not None:
            return self.prime_s
        return self.picker.window_s + self.picker.step_s + 30.0


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
    run: RunSettings = Field(default_factory=RunSettings)

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


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The settings model found at ``loc`` (list indices and ``X | None`` unwrapped), or None."""
    model: Any = Settings
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        model = fields[part].annotation
        while typing.get_origin(model) in (tuple, list, typing.Union, types.UnionType):
            args = [a for a in typing.get_args(model) if a is not type(None) and a is not Ellipsis]
            model = args[0] if args else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _input_error(err: ValidationError, source_of, line_of) -> InputError:
    """First pydantic error as an InputError naming the field and the value."""
    e = err.errors(include_url=False)[0]
    field = ".".join(str(p) for p in e["loc"]) or None
    loc = tuple(str(p) for p in e["loc"] if not isinstance(p, int))  # list indices: not file keys
    if e["type"] == "extra_forbidden":
        model = _model_at(e["loc"][:-1])
        known = f" (known: {', '.join(model.model_fields)})" if model is not None else ""
        msg = f"unknown setting {field!r}{known}"
    else:
        text = e["msg"].removeprefix("Value error, ")
        msg = text if e["type"] == "value_error" else f"{text}, got {e.get('input')!r}"
    return InputError(msg, source_of(loc), line_of(loc), field)


def _validate(data: dict[str, Any]) -> Settings:
    token = _EXPLICIT_ONLY.set(True)
    try:
        return Settings(**data)
    finally:
        _EXPLICIT_ONLY.reset(token)


def _nearest_line(text: str, loc: tuple[str, ...]) -> int | None:
    """Line of ``loc`` in the file, else of the nearest enclosing table written there (a missing key)."""
    for n in range(len(loc), 0, -1):
        line = find_key_line(text, loc[:n])
        if line is not None:
            return line
    return None


#: Settings holding paths that, written in a file, are relative to the file's folder.
_PATH_KEYS = (("data_dir",), ("region",), ("run", "region"), ("run", "inventory"), ("run", "velocity_model"),
              ("run", "archive"), ("run", "state_dir"), ("run", "eew", "key_file"))


def _file_relative(data: dict[str, Any], cfg: Path) -> None:
    """Make the relative paths of :data:`_PATH_KEYS` in ``data`` (read from ``cfg``) absolute, in place."""
    for keys in _PATH_KEYS:
        holder: Any = data
        for k in keys[:-1]:
            holder = holder.get(k) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            continue
        value = holder.get(keys[-1])
        if isinstance(value, str) and value and not (keys[-1] == "region" and value == DEMO_REGION):
            p = Path(value).expanduser()
            holder[keys[-1]] = str(p if p.is_absolute() else cfg.absolute().parent / p)


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
        _file_relative(file_data, cfg)
        try:
            _validate(file_data)
        except ValidationError as err:
            raise _input_error(err, lambda loc: str(cfg), lambda loc: _nearest_line(text, loc)) from None
    env_data, env_names = _env_values(env)
    try:
        return _validate(_merge(file_data, env_data))
    except ValidationError as err:
        def source(loc: tuple[str, ...]) -> str:
            name = env_names.get(loc[:2]) or env_names.get(loc[:1])
            return f"environment variable {name}" if name else str(cfg)
        raise _input_error(err, source, lambda loc: None) from None
