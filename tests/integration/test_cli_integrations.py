"""`uflpa screen` (offline CSV assessment) and `uflpa rescreen --all` (SQLite file)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "csv" / "sample_shipments.csv"


@pytest.fixture()
def local_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UFLPA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("UFLPA_DATABASE_URL", raising=False)
    monkeypatch.setenv("UFLPA_LOAD_BUNDLED_LISTS", "false")  # rules only: fast
    monkeypatch.setenv("UFLPA_LOG_LEVEL", "WARNING")
    return tmp_path


def test_screen_writes_one_row_per_shipment(
    local_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = local_env / "results.csv"
    assert main(["screen", str(SAMPLE), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["reference"] for r in rows] == ["ENTRY-2026-000123", "ENTRY-2026-000901"]
    design, clean = rows
    assert design["recommendation"] == "detain" and "xuar_nexus" in design["grounds"]
    assert "XUAR_PLACE@lines[0].inputs[0]" in design["top_findings"]
    assert int(design["risk_score"]) > int(clean["risk_score"])
    assert clean["recommendation"] == "admit" and design["rows"] == "2-5"
    assert "2 shipments: 1 detain, 1 admit, 0 invalid" in capsys.readouterr().out


def test_screen_reports_invalid_rows(local_env: Path) -> None:
    source = local_env / "bad.csv"
    source.write_text(
        "reference,importer,line_number,hts_code,description\n"
        "R-1,Acme,1,6109.10.0012,Shirts\n"
        "R-2,Acme,x,6109.10.0012,Shirts\n"
    )
    out = local_env / "out.csv"
    assert main(["screen", str(source), "--out", str(out)]) == 1
    rows = {r["reference"]: r for r in csv.DictReader(out.open())}
    assert rows["R-1"]["status"] == "assessed"
    assert rows["R-2"]["status"] == "invalid" and "row 3 line_number" in rows["R-2"]["errors"]
    header_only = local_env / "header.csv"
    header_only.write_text("colour\n")
    assert main(["screen", str(header_only), "--out", str(out)]) == 2


def test_rescreen_all_runs_inline(local_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rescreen", "--all"]) == 0
    out = capsys.readouterr().out
    assert "queued full re-screen" in out and "succeeded" in out
