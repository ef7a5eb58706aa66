"""Importing the package and its core must stay light and free of side effects."""

import subprocess
import sys

HEAVY = ("obspy", "openquake", "torch", "matplotlib", "sqlalchemy", "seisbench", "numpy", "scipy")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return {line.split(".")[0] for line in out.stdout.split()}


def test_core_and_cli_entry_import_no_heavy_library(tmp_path):
    mods = _modules_after("import tianshan, tianshan.core, tianshan.cli.main")
    assert not (mods & set(HEAVY)), mods & set(HEAVY)


def test_help_lists_commands_and_exits_zero():
    out = subprocess.run([sys.executable, "-m", "tianshan.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in ("demo", "simulate", "region", "db", "catalog"):
        assert name in out.stdout


def test_unknown_command_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "tianshan.cli.main", "nope"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "No such command" in out.stderr
