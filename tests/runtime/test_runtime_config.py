"""``[run]`` settings and the resolved RunConfig: defaults, roles, paths, errors naming file/line/field."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tianshan.core.errors import InputError
from tianshan.runtime.config import RunConfig, load_run_config, parse_roles


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "tianshan.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults(tmp_path):
    cfg = load_run_config(_write(tmp_path, 'data_dir = "d"\n'), env={})
    assert isinstance(cfg, RunConfig)
    assert cfg.roles == ("acquisition", "picker", "associator", "products") and cfg.all_roles
    assert cfg.run.bus == "memory" and cfg.bus_url is None and not cfg.publish_packets
    assert cfg.archive_root is None
    assert cfg.log_format == "json" and cfg.http_port == 8780
    assert cfg.state_dir == tmp_path / "d" / "run" / "state"
    assert cfg.http_json == tmp_path / "d" / "run" / "http.json"
    assert cfg.store_url == f"sqlite:///{tmp_path / 'd' / 'tianshan.sqlite'}"
    assert cfg.run.effective_prime_s == 60.0 + 10.0 + 30.0


def test_full_section_and_relative_paths(tmp_path):
    text = """
data_dir = "data"
[run]
role = "picker, associator"
inventory = "net/stations.xml"
velocity_model = "vel.csv"
bus = "nats://127.0.0.1:4222"
archive = "sds"
state_dir = "/var/state"
log_format = "TEXT"
prime_s = 45
[[run.seedlink]]
host = "seedlink.example.org"
port = 18001
selectors = ["XJ_LTA:HH?", "XJ_KSH"]
begin_time = 2024-05-01T12:00:00
[[run.seedlink]]
selectors = "XJ_*"
[[run.mqtt]]
topic = "/traces/#"
[run.picker]
window_s = 40
step_s = 5
s_edge_s = 15
[run.events]
min_stations = 4
[run.http]
host = "0.0.0.0"
port = 0
[run.buffer]
capacity_s = 900
max_past_s = 3600
"""
    cfg = load_run_config(_write(tmp_path, text), env={})
    run = cfg.run
    assert cfg.roles == ("picker", "associator") and not cfg.all_roles
    assert run.inventory == tmp_path / "net" / "stations.xml" and run.velocity_model == tmp_path / "vel.csv"
    assert cfg.archive_root == tmp_path / "sds" and cfg.state_dir == Path("/var/state")
    assert cfg.bus_url == "nats://127.0.0.1:4222" and cfg.publish_packets
    assert cfg.log_format == "text" and cfg.http_port == 0 and run.http.host == "0.0.0.0"
    assert run.seedlink[0].selectors == ("XJ_LTA:HH?", "XJ_KSH")
    assert run.seedlink[0].begin_time == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)  # naive = UTC
    assert run.seedlink[1].host == "127.0.0.1" and run.seedlink[1].port == 18000
    assert run.mqtt[0].port == 1883 and run.mqtt[0].network == "OE"
    assert (run.picker.window_s, run.picker.step_s) == (40.0, 5.0)
    assert run.events == {"min_stations": 4}
    assert run.buffer.capacity_s == 900 and run.buffer.max_past_s == 3600
    assert run.effective_prime_s == 45
    assert cfg.seedlink_state_file(run.seedlink[0]) == Path("/var/state/seedlink-seedlink.example.org-18001.json")
    assert cfg.http_json.name == "http-picker-associator.json"


def test_command_line_overrides(tmp_path):
    cfg = load_run_config(_write(tmp_path, "[run]\nrole = 'picker'\n"), roles=["acquisition", "products,picker"],
                          http_port=0, log_format="text", env={})
    assert cfg.roles == ("acquisition", "picker", "products")
    assert cfg.http_port == 0 and cfg.log_format == "text"
    assert load_run_config(_write(tmp_path, ""), roles=["all"], env={}).all_roles


def test_roles_from_environment(tmp_path):
    cfg = load_run_config(_write(tmp_path, ""), env={"TIANSHAN_RUN__ROLE": "associator", "TIANSHAN_RUN__BUS": "memory"})
    assert cfg.roles == ("associator",)


@pytest.mark.parametrize("values, expected", [
    (["all"], ("acquisition", "picker", "associator", "products")),
    (["products", "picker"], ("picker", "products")),
    ("associator,acquisition", ("acquisition", "associator")),
])
def test_parse_roles(values, expected):
    assert parse_roles(values) == expected


def test_parse_roles_rejects_unknown():
    with pytest.raises(InputError, match="unknown role 'pickr'") as err:
        parse_roles(["pickr"])
    assert err.value.field == "--role"


@pytest.mark.parametrize("text, line, field, message", [
    ("[run]\nrole = 'pickr'\n", 2, "run.role", "unknown role"),
    ("[run]\n\nbus = 'redis://x'\n", 3, "run.bus", "nats://host:port"),
    ("[run]\nfoo = 1\n", 2, "run.foo", "unknown setting"),
    ("[[run.seedlink]]\nselectors = ['XJ_LTA']\nhots = 'x'\n", 3, "run.seedlink.0.hots", "known: host, port"),
    ("[[run.seedlink]]\nselectors = ['not a selector']\n", 2, "run.seedlink.0.selectors", "bad station selector"),
    ("[[run.seedlink]]\nhost = 'h'\n", 1, "run.seedlink.0.selectors", "Field required"),
    ("[run.picker]\nstep_s = 50\n", 1, "run.picker", "step_s (50.0) must be <= window_s"),
    ("[run.http]\nport = 70000\n", 2, "run.http.port", "less than or equal to 65535"),
    ("[run]\nregion = 'demo'\ninventory = 'x.xml'\n", 1, "run", "region or inventory, not both"),
    ("[run]\nlog_format = 'xml'\n", 2, "run.log_format", "'json' or 'text'"),
])
def test_errors_name_file_line_and_field(tmp_path, text, line, field, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_run_config(path, env={})
    e = err.value
    assert e.source == str(path)
    assert e.line == line, str(e)
    assert e.field == field, str(e)
    assert message in str(e)


def test_cli_bad_config_is_one_line_exit_2(tmp_path):
    path = _write(tmp_path, "[run]\nrole = 'pickr'\n")
    out = subprocess.run([sys.executable, "-m", "tianshan.cli.main", "run", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("tianshan: error: ") and "unknown role" in lines[0]
    assert "Traceback" not in out.stderr


def test_cli_bad_role_option_exit_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tianshan.cli.main", "run", "--config", str(_write(tmp_path, "")),
                          "--role", "nope"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown role 'nope'" in out.stderr and "Traceback" not in out.stderr
