"""The `uflpa` command as an operator uses it: keys, migrations, lists, matching."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from app.cli import main
from app.settings import PROJECT_ROOT


@pytest.fixture()
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UFLPA_DATABASE_URL", database_url)
    monkeypatch.setenv("UFLPA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("UFLPA_LOG_LEVEL", "WARNING")
    return tmp_path


def test_keys_create_list_revoke(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["keys", "create", "--role", "broker", "--importer", "A Co", "--importer", "B Co"])
        == 0
    )
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("uflpa_") and len(key) > 40
    key_id = key.rsplit("_", 1)[0]
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "A Co,B Co" in listing
    assert key.rsplit("_", 1)[1] not in listing  # the secret is never shown again
    assert main(["keys", "revoke", key_id]) == 0
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "create", "--role", "importer"]) == 2  # an importer key needs its importer
    assert "exactly one importer" in capsys.readouterr().err


def test_db_downgrade_and_upgrade(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "downgrade", "base"]) == 0
    assert "current: None" in capsys.readouterr().out
    assert main(["db", "upgrade", "head"]) == 0
    assert "current: None" not in capsys.readouterr().out


def test_lists_load_refuses_a_broken_file_and_keeps_the_previous_version(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = PROJECT_ROOT / "fixtures" / "lists" / "uflpa" / "uflpa_entity_list.csv"
    assert main(["lists", "load", "uflpa", str(good)]) == 0
    assert main(["lists", "show"]) == 0
    before = capsys.readouterr().out
    broken = env / "uflpa_entity_list.csv"
    lines = good.read_text(encoding="utf-8").splitlines()
    lines[5] = '"Unclosed quote, with, too many, columns'
    broken.write_text("\n".join(lines), encoding="utf-8")
    assert main(["lists", "load", "uflpa", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "row" in err and "previous version stays active" in err
    assert main(["lists", "show"]) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1:]
        == [line for line in before.splitlines() if line.startswith("uflpa")][-1:]
    )


def test_ofac_zip_upload_and_match(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ofac = PROJECT_ROOT / "fixtures" / "lists" / "ofac_sdn"
    archive = env / "sdn.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"):
            zf.write(ofac / name, name)
    assert main(["lists", "load", "ofac_sdn", str(archive)]) == 0
    assert "new version" in capsys.readouterr().out
    assert main(["match", "Chen Quanguo", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    top = result["matches"][0]
    assert top["list"] == "ofac_sdn" and top["entry_id"] == "29220" and top["band"] == "strong"
    assert main(["match", "Quanguo CHEN"]) == 0
    assert "29220" in capsys.readouterr().out


def test_an_invalid_setting_is_named_without_a_traceback_or_its_value(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UFLPA_PACKAGE_RENDERERS", "0")
    monkeypatch.setenv("UFLPA_REQUEST_THREADS", "secret-looking-value")
    assert main(["keys", "list"]) == 2
    err = capsys.readouterr().err
    assert (
        "uflpa: invalid setting UFLPA_PACKAGE_RENDERERS: Input should be greater than or equal to 1"
        in err
    )
    assert "uflpa: invalid setting UFLPA_REQUEST_THREADS: " in err
    assert "secret-looking-value" not in err and "Traceback" not in err
