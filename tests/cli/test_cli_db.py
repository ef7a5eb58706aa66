"""``tianshan db upgrade`` / ``status``."""

from __future__ import annotations

import json

from tianshan.cli.main import main
from tianshan.store.migrate import head_revision


def test_upgrade_creates_the_store_and_reports_the_revision(tmp_path, capsys):
    assert main(["db", "upgrade", "--data-dir", str(tmp_path / "d"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["revision"] == out["head"] == head_revision()
    assert out["url"].endswith("tianshan.sqlite")
    assert (tmp_path / "d" / "tianshan.sqlite").is_file()
    assert main(["db", "upgrade", "--data-dir", str(tmp_path / "d")]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out


def test_status_before_and_after_upgrade(tmp_path, capsys):
    d = str(tmp_path / "d")
    assert main(["db", "status", "--data-dir", d, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["exists"] is False and info["revision"] is None and info["up_to_date"] is False
    assert not (tmp_path / "d" / "tianshan.sqlite").exists()  # status creates nothing
    assert main(["db", "upgrade", "--data-dir", d]) == 0
    capsys.readouterr()
    assert main(["db", "status", "--data-dir", d, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["up_to_date"] is True and info["counts"]["events"] == 0
    assert main(["db", "status", "--data-dir", d]) == 0
    assert "up to date" in capsys.readouterr().out


def test_settings_decide_without_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIANSHAN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIANSHAN_CONFIG", raising=False)
    monkeypatch.setenv("TIANSHAN_DATA_DIR", str(tmp_path / "from-env"))
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "from-env" / "tianshan.sqlite").is_file()


def test_bad_url_is_one_line_and_exit_2(capsys):
    for url in ("nonsense", "postgresql+psycopg://nobody:pw@127.0.0.1:1/none"):
        assert main(["db", "upgrade", "--url", url]) == 2
        err = capsys.readouterr().err
        assert err.startswith("tianshan: error: ") and err.count("\n") == 1 and "Traceback" not in err
        assert "pw@" not in err
    assert main(["db", "status", "--url", "mysql://x@y/z"]) == 2
    assert "unsupported database" in capsys.readouterr().err
