"""Settings: TOML file + TIANSHAN_* environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tianshan.config import Settings, load_settings
from tianshan.config.tomlfile import find_key_line
from tianshan.core.errors import InputError


def _write(tmp_path: Path, text: str, name: str = "tianshan.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./tianshan.toml here
    s = load_settings(env={})
    assert s.data_dir == Path("tianshan-data")
    assert s.database_url is None
    assert s.region == "demo" and s.is_demo_region
    assert s.log_level == "INFO"
    assert s.simulation.seed == 42
    assert s.effective_database_url == f"sqlite:///{(tmp_path / 'tianshan-data' / 'tianshan.sqlite')}"


def test_file_values_and_relative_paths(tmp_path):
    cfg = _write(tmp_path, 'data_dir = "data"\nregion = "regions/xj"\nlog_level = "debug"\n'
                           'database_url = "postgresql+psycopg://u@h/db"\n[simulation]\nseed = 7\nduration_s = 60.5\n')
    s = load_settings(cfg, env={})
    assert s.data_dir == tmp_path / "data"
    assert s.region == str(tmp_path / "regions" / "xj")
    assert s.log_level == "DEBUG"
    assert s.effective_database_url == "postgresql+psycopg://u@h/db"
    assert (s.simulation.seed, s.simulation.duration_s) == (7, 60.5)


def test_demo_region_name_is_not_a_path(tmp_path):
    s = load_settings(_write(tmp_path, 'region = "demo"\n'), env={})
    assert s.region == "demo"


def test_environment_wins_over_file(tmp_path):
    cfg = _write(tmp_path, 'data_dir = "/from/file"\nlog_level = "INFO"\n[simulation]\nseed = 1\n')
    env = {"TIANSHAN_DATA_DIR": "/from/env", "TIANSHAN_SIMULATION__SEED": "99", "TIANSHAN_LOG_LEVEL": "",
           "TIANSHAN_SHARED_DATA": "/not/a/setting", "OTHER": "x"}
    s = load_settings(cfg, env=env)
    assert s.data_dir == Path("/from/env")
    assert s.simulation.seed == 99
    assert s.log_level == "INFO"  # empty variable = unset


def test_file_found_from_env_then_working_folder(tmp_path, monkeypatch):
    cfg = _write(tmp_path, "[simulation]\nseed = 5\n", "custom.toml")
    assert load_settings(env={"TIANSHAN_CONFIG": str(cfg)}).simulation.seed == 5
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "[simulation]\nseed = 6\n")
    assert load_settings(env={}).simulation.seed == 6
    # explicit argument first
    assert load_settings(cfg, env={"TIANSHAN_CONFIG": "/nope.toml"}).simulation.seed == 5


def test_missing_named_file(tmp_path):
    with pytest.raises(InputError, match="nope.toml.*does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(InputError, match="TIANSHAN_CONFIG"):
        load_settings(env={"TIANSHAN_CONFIG": str(tmp_path / "gone.toml")})


def test_malformed_toml_names_file_line_and_column(tmp_path):
    cfg = _write(tmp_path, 'region = "demo"\nlog_level = INFO\n')
    with pytest.raises(InputError) as info:
        load_settings(cfg, env={})
    err = info.value
    assert err.source == str(cfg) and err.line == 2
    assert "column 13" in str(err) and str(cfg) in str(err)


def test_malformed_toml_at_end_of_file(tmp_path):
    cfg = _write(tmp_path, 'region = "demo"\nx = [1,\n')
    with pytest.raises(InputError, match="end of file") as info:
        load_settings(cfg, env={})
    assert info.value.line == 2


def test_unknown_key_is_named(tmp_path):
    cfg = _write(tmp_path, 'region = "demo"\ndata_dri = "x"\n')
    with pytest.raises(InputError, match="unknown setting 'data_dri'") as info:
        load_settings(cfg, env={})
    assert info.value.line == 2 and info.value.field == "data_dri"


def test_unknown_nested_key_is_named(tmp_path):
    cfg = _write(tmp_path, "[simulation]\nseed = 1\nsede = 2\n")
    with pytest.raises(InputError, match="simulation.sede") as info:
        load_settings(cfg, env={})
    assert info.value.line == 3


def test_wrong_type_names_field_and_value(tmp_path):
    cfg = _write(tmp_path, '[simulation]\nseed = "many"\n')
    with pytest.raises(InputError) as info:
        load_settings(cfg, env={})
    msg = str(info.value)
    assert "simulation.seed" in msg and "'many'" in msg and info.value.line == 2


def test_wrong_env_value_names_variable():
    with pytest.raises(InputError, match="TIANSHAN_SIMULATION__DURATION_S.*simulation.duration_s.*'-3'"):
        load_settings(env={"TIANSHAN_SIMULATION__DURATION_S": "-3"})
    with pytest.raises(InputError, match="TIANSHAN_LOG_LEVEL"):
        load_settings(env={"TIANSHAN_LOG_LEVEL": "loud"})
    with pytest.raises(InputError, match="unknown setting simulation.sede"):
        load_settings(env={"TIANSHAN_SIMULATION__SEDE": "1"})


def test_load_settings_does_not_read_process_environment_when_env_given(monkeypatch):
    monkeypatch.setenv("TIANSHAN_REGION", "/somewhere")
    assert load_settings(env={}).region == "demo"
    assert load_settings().region == "/somewhere"
    assert Settings().region == "/somewhere"  # plain pydantic-settings behaviour


def test_find_key_line():
    text = 'a = 1\n[simulation]\n# c\nseed = 3\n[x.y]\nz.w = 1\n'
    assert find_key_line(text, ("a",)) == 1
    assert find_key_line(text, ("simulation", "seed")) == 4
    assert find_key_line(text, ("x", "y", "z", "w")) == 6
    assert find_key_line(text, ("nothing",)) is None
