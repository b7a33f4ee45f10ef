"""The auditor's view of the decision log over HTTP and the CLI.

A few hundred shipments go in through the API (detained and admitted, several importers,
sectors, origins and currencies), plus determinations, rebuttal assessments and rescreens.
Then: only auditors and admins read the log; the export has one row per decision and its
figures, recomputed here from the rows alone, match /v1/stats; the chain verifies (also
offline, from the export); decisions replay; a tampered record is named by HTTP and CLI.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app import cli
from app.db.models import Decision
from app.db.session import make_engine, make_sessionmaker
from app.services.audit import EXPORT_FIELDS
from app.services.decision_log import GENESIS_HASH, sha256_json
from app.services.replay import Replayer, ScreenerCache
from app.settings import Settings
from tests.api.conftest import auth
from tests.audit_population import add_follow_ups, manifests

LOAD_LISTS = True  # replay must rebuild real list indexes
SHIPMENTS = 300
STATUSES = ("admitted", "pending", "released", "excluded")

# The record fields the chain hashes (decision_log.decision_payload), as the export shows them.
HASHED_FIELDS = (
    "seq",
    "shipment_id",
    "importer_id",
    "assessment_id",
    "kind",
    "outcome",
    "risk_score",
    "grounds",
    "findings_sha256",
    "rules_version",
    "lists_version",
    "matcher_version",
    "country_of_origin",
    "sectors",
    "declared_value",
    "actor_key_id",
    "actor_role",
    "recorded_at",
    "prev_hash",
)


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.resolved_database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture(scope="module")
def keys(make_key: Any) -> dict[str, str]:
    return {
        "auditor": make_key("auditor"),
        "admin": make_key("admin"),
        "importer": make_key("importer", "Acme Apparel Inc"),
        "broker": make_key("broker", "Acme Apparel Inc", "Globex Imports LLC"),
        "reviewer": make_key("reviewer"),
    }


@pytest.fixture(scope="module")
def populated(
    client: TestClient, keys: dict[str, str], sessions: sessionmaker[Session]
) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    for manifest in manifests(SHIPMENTS):
        response = client.post("/v1/shipments", json=manifest, headers=auth(keys["admin"]))
        assert response.status_code == 201, response.text
        outcomes[response.json()["assessment"]["recommendation"]] += 1
    follow_ups = add_follow_ups(sessions)
    assert outcomes["detain"] >= 50 and outcomes["admit"] >= 50, outcomes
    return {"outcomes": outcomes, "follow_ups": follow_ups}


def get(client: TestClient, key: str, path: str, **params: Any) -> Any:
    response = client.get(path, params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def ndjson_rows(client: TestClient, key: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        "/v1/decisions/export", params={"format": "ndjson", **params}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines() if line]


def db_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Decision)) or 0


# --- before anything is recorded (runs first: the population fixture is lazy) ---------------


def test_an_empty_log_has_zero_figures_and_an_intact_chain(
    client: TestClient, keys: dict[str, str]
) -> None:
    stats = get(client, keys["auditor"], "/v1/stats")
    assert stats["totals"]["shipments"] == 0 and stats["totals"]["value"] == "0.00"
    assert stats["by_month"] == [] and stats["decisions"] == []
    assert {row["key"]: row["shipments"] for row in stats["by_status"]} == {
        "admitted": 0,
        "pending": 0,
        "released": 0,
        "excluded": 0,
        "detained": 0,
    }
    assert get(client, keys["auditor"], "/v1/decisions") == {"items": [], "next_cursor": None}
    assert ndjson_rows(client, keys["auditor"]) == []
    csv_text = client.get(
        "/v1/decisions/export", params={"format": "csv"}, headers=auth(keys["auditor"])
    ).text
    assert csv_text.splitlines() == [",".join(EXPORT_FIELDS)]
    assert get(client, keys["auditor"], "/v1/decisions/verify")["intact"] is True


# --- access ------------------------------------------------------------------------------


AUDITOR_PATHS = (
    "/v1/decisions",
    "/v1/decisions/export",
    "/v1/decisions/verify",
    "/v1/decisions/1",
    "/v1/decisions/1/replay",
    "/v1/stats",
)


@pytest.mark.parametrize("role", ["importer", "broker", "reviewer"])
def test_only_auditors_and_admins_read_the_log(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any], role: str
) -> None:
    for path in AUDITOR_PATHS:
        response = client.get(path, headers=auth(keys[role]))
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "decisions" not in response.json()  # nothing of the log leaks in the body
        assert client.get(path).status_code == 401
    for role_ok in ("auditor", "admin"):
        assert client.get("/v1/stats", headers=auth(keys[role_ok])).status_code == 200


# --- list and filters ----------------------------------------------------------------------


def test_keyset_pagination_walks_every_decision_once(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any], sessions: Any
) -> None:
    for order in ("asc", "desc"):
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 97, "order": order}
            if cursor:
                params["cursor"] = cursor
            page = get(client, keys["auditor"], "/v1/decisions", **params)
            seen.extend(item["seq"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected = list(range(1, db_count(sessions) + 1))
        assert seen == (expected if order == "asc" else expected[::-1])


def test_filters_select_exactly_the_matching_decisions(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any]
) -> None:
    everything = ndjson_rows(client, keys["auditor"])
    some_importer = everything[0]

    def seqs(**params: Any) -> list[int]:
        page = get(client, keys["auditor"], "/v1/decisions", limit=500, **params)
        assert page["next_cursor"] is None
        return [item["seq"] for item in page["items"]]

    cases: list[tuple[dict[str, Any], Any]] = [
        ({"kind": "determination"}, lambda r: r["kind"] == "determination"),
        ({"outcome": "detain"}, lambda r: r["outcome"] == "detain"),
        ({"country": "cn"}, lambda r: r["country_of_origin"] == "CN"),
        ({"sector": "cotton"}, lambda r: "cotton" in r["sectors"]),
        (
            {"importer": some_importer["importer_name"]},
            lambda r: r["importer_id"] == some_importer["importer_id"],
        ),
        (
            {"importer": some_importer["importer_id"]},
            lambda r: r["importer_id"] == some_importer["importer_id"],
        ),
        (
            {"shipment": some_importer["shipment_id"]},
            lambda r: r["shipment_id"] == some_importer["shipment_id"],
        ),
        (
            {"kind": "assessment", "outcome": "admit", "sector": "apparel"},
            lambda r: (
                r["kind"] == "assessment" and r["outcome"] == "admit" and "apparel" in r["sectors"]
            ),
        ),
    ]
    for params, predicate in cases:
        expected = [r["seq"] for r in everything if predicate(r)]
        assert expected, params  # each filter is exercised on real matches
        assert len(expected) < len(everything), params
        assert seqs(**params) == expected, params
        exported = [r["seq"] for r in ndjson_rows(client, keys["auditor"], **params)]
        assert exported == expected, params

    middle = everything[len(everything) // 2]["recorded_at"]
    after = [r["seq"] for r in everything if r["recorded_at"] >= middle]
    assert [r["seq"] for r in ndjson_rows(client, keys["auditor"], **{"from": middle})] == after
    before = [r["seq"] for r in everything if r["recorded_at"] < middle]
    assert [r["seq"] for r in ndjson_rows(client, keys["auditor"], to=middle)] == before
    assert seqs(importer="No Such Importer") == []


def test_bad_filters_are_422_problems(client: TestClient, keys: dict[str, str]) -> None:
    for params in (
        {"cursor": "!!!"},
        {"limit": 0},
        {"limit": 501},
        {"from": "yesterday"},
        {"country": "CHN"},
        {"shipment": "not-a-uuid"},
        {"order": "sideways"},
        {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    ):
        response = client.get("/v1/decisions", params=params, headers=auth(keys["auditor"]))
        assert response.status_code == 422, (params, response.text)
        body = response.json()
        assert body["errors"] and body["errors"][0]["field"], body
    bad_format = client.get(
        "/v1/decisions/export", params={"format": "xml"}, headers=auth(keys["auditor"])
    )
    assert bad_format.status_code == 422
    assert client.get("/v1/decisions/999999", headers=auth(keys["auditor"])).status_code == 404


# --- export and stats ----------------------------------------------------------------------


def test_export_has_one_row_per_decision_in_both_formats(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any], sessions: Any
) -> None:
    total = db_count(sessions)
    assert total >= SHIPMENTS + sum(populated["follow_ups"].values())
    rows = ndjson_rows(client, keys["auditor"])
    assert [r["seq"] for r in rows] == list(range(1, total + 1))

    response = client.get(
        "/v1/decisions/export", params={"format": "csv"}, headers=auth(keys["admin"])
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == total
    for from_csv, from_ndjson in zip(table, rows, strict=True):
        assert int(from_csv["seq"]) == from_ndjson["seq"]
        assert from_csv["hash"] == from_ndjson["hash"]
        assert from_csv["outcome"] == from_ndjson["outcome"]
        assert from_csv["sectors"] == ";".join(from_ndjson["sectors"])


def test_the_chain_verifies_offline_from_the_export(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any]
) -> None:
    previous = GENESIS_HASH
    for row in ndjson_rows(client, keys["auditor"]):
        payload = {name: row[name] for name in HASHED_FIELDS}
        assert row["prev_hash"] == previous
        assert sha256_json(payload) == row["hash"], row["seq"]
        previous = row["hash"]


def expected_stats(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """The documented per-shipment definitions, applied in Python to the export alone."""
    by_shipment: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_shipment[row["shipment_id"]].append(row)
    cuts: dict[str, dict[str, dict[str, Any]]] = {
        "by_month": {},
        "by_origin": {},
        "by_sector": {},
        "by_ground": {},
        "totals": {},
    }

    def add(cut: str, key: str | None, status: str, value: Decimal) -> None:
        bucket = cuts[cut].setdefault(
            key or "(none)", {"shipments": 0, "value": Decimal(0), **dict.fromkeys(STATUSES, 0)}
        )
        bucket["shipments"] += 1
        bucket["value"] += value
        bucket[status] += 1

    for decisions in by_shipment.values():
        decisions.sort(key=lambda r: r["seq"])
        first, latest = decisions[0], decisions[-1]
        detains = [r for r in decisions if r["outcome"] == "detain"]
        finals = [
            r
            for r in decisions
            if r["kind"] == "determination" or r["outcome"] in ("released", "excluded")
        ]
        status = finals[-1]["outcome"] if finals else ("pending" if detains else "admitted")
        usd = latest["currency"] == "USD" and latest["declared_value"] is not None
        value = Decimal(latest["declared_value"]) if usd else Decimal(0)
        add("totals", "all", status, value)
        add("by_month", first["recorded_at"][:7], status, value)
        add("by_origin", latest["country_of_origin"], status, value)
        for sector in latest["sectors"] or [None]:
            add("by_sector", sector, status, value)
        if status != "admitted":
            for ground in (detains[-1]["grounds"] if detains else []) or [None]:
                add("by_ground", ground, status, value)
    return cuts


def _comparable(bucket: dict[str, Any]) -> dict[str, Any]:
    return {
        "shipments": bucket["shipments"],
        "value": Decimal(bucket["value"]),
        **{s: bucket[s] for s in STATUSES},
    }


def test_export_figures_match_stats(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any]
) -> None:
    rows = ndjson_rows(client, keys["auditor"])
    stats = get(client, keys["auditor"], "/v1/stats")
    expected = expected_stats(rows)

    assert _comparable(stats["totals"]) == _comparable(expected["totals"]["all"])
    assert stats["totals"]["shipments"] == SHIPMENTS
    assert stats["totals"]["detained"] == SHIPMENTS - stats["totals"]["admitted"]
    for status in STATUSES:
        assert stats["totals"][status] > 0, status  # every status occurs in this data
    for cut in ("by_month", "by_origin", "by_sector", "by_ground"):
        got = {b["key"]: _comparable(b) for b in stats[cut]}
        want = {k: _comparable(v) for k, v in expected[cut].items()}
        assert got == want, cut
    by_status = {b["key"]: b for b in stats["by_status"]}
    assert by_status["detained"]["shipments"] == stats["totals"]["detained"]
    assert sum(by_status[s]["shipments"] for s in STATUSES) == SHIPMENTS
    assert Decimal(by_status["released"]["value"]) == Decimal(
        stats["totals"]["value_by_status"]["released"]
    )

    decision_counts = Counter((r["kind"], r["outcome"]) for r in rows)
    assert {(d["kind"], d["outcome"]): d["count"] for d in stats["decisions"]} == dict(
        decision_counts
    )
    # EUR shipments are counted but their value is not added to the dollar total.
    eur = [r for r in rows if r["currency"] == "EUR"]
    assert eur
    usd_total = sum(
        (
            Decimal(r["declared_value"])
            for r in rows
            if r["kind"] == "assessment" and r["currency"] == "USD" and r["declared_value"]
        ),
        Decimal(0),
    )
    assert Decimal(stats["totals"]["value"]) == usd_total


def test_stats_filters(client: TestClient, keys: dict[str, str], populated: dict[str, Any]) -> None:
    rows = ndjson_rows(client, keys["auditor"])
    everything = get(client, keys["auditor"], "/v1/stats")
    cn = get(client, keys["auditor"], "/v1/stats", country="CN")
    origin_cn = next(b for b in everything["by_origin"] if b["key"] == "CN")
    assert _comparable(cn["totals"]) == _comparable(origin_cn)
    cotton = get(client, keys["auditor"], "/v1/stats", sector="cotton")
    sector_cotton = next(b for b in everything["by_sector"] if b["key"] == "cotton")
    assert _comparable(cotton["totals"]) == _comparable(sector_cotton)
    name = rows[0]["importer_name"]
    one = get(client, keys["auditor"], "/v1/stats", importer=name)
    assert one["totals"]["shipments"] == len(
        {r["shipment_id"] for r in rows if r["importer_name"] == name}
    )
    future = get(client, keys["auditor"], "/v1/stats", **{"from": "2999-01-01T00:00:00Z"})
    assert future["totals"]["shipments"] == 0 and future["by_month"] == []


# --- verify and replay ---------------------------------------------------------------------


def test_verify_reports_an_intact_chain(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any], sessions: Any
) -> None:
    result = get(client, keys["auditor"], "/v1/decisions/verify")
    assert result["intact"] is True and result["cached"] is False
    assert result["records"] == db_count(sessions)
    assert result["first_broken_seq"] is None
    again = get(client, keys["auditor"], "/v1/decisions/verify", cached="true")
    assert again["cached"] is True and again["checked_at"] == result["checked_at"]


def test_replay_reproduces_assessments_over_http(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any]
) -> None:
    rows = ndjson_rows(client, keys["auditor"], kind="assessment")
    # One detained shipment per kind of ground, including the entity-list match (screener).
    picked: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        picked.setdefault((row["outcome"], *row["grounds"]), row)
    assert any("entity_list_nexus" in key for key in picked), picked.keys()
    for row in picked.values():
        report = get(client, keys["auditor"], f"/v1/decisions/{row['seq']}/replay")
        assert report["replayable"] is True, report
        assert report["reproduced"] is True, report
        assert report["differences"] == [] and report["notes"] == []
        assert report["replayed"]["findings_sha256"] == row["findings_sha256"]
        assert report["replayed"]["lists_version"] == row["lists_version"]


def test_determinations_are_not_replayable(
    client: TestClient, keys: dict[str, str], populated: dict[str, Any]
) -> None:
    row = ndjson_rows(client, keys["auditor"], kind="determination")[0]
    report = get(client, keys["auditor"], f"/v1/decisions/{row['seq']}/replay")
    assert report["replayable"] is False and report["reproduced"] is None
    assert "determination" in report["reason"]


def test_replay_rebuilds_the_recorded_lists_and_caches_the_index(
    client: TestClient,
    keys: dict[str, str],
    populated: dict[str, Any],
    sessions: sessionmaker[Session],
) -> None:
    """Without the live index to reuse, replay builds one from the recorded list versions."""
    rows = ndjson_rows(client, keys["auditor"], kind="assessment", outcome="detain")
    cache = ScreenerCache(size=2)
    replayer = Replayer(cache, lambda: None)
    with sessions() as session:
        for row in rows[:3]:
            report = replayer.replay(session, row["seq"])
            assert report.reproduced is True, report.to_dict()
    assert cache.builds == 1  # one list-version set, built once


def test_replay_names_what_differs(
    client: TestClient,
    keys: dict[str, str],
    populated: dict[str, Any],
    sessions: sessionmaker[Session],
) -> None:
    """A record whose outcome and findings do not follow from its inputs is caught."""
    from app.db.models import Shipment
    from app.services.decision_log import record_decision
    from app.services.principal import SYSTEM

    original = ndjson_rows(client, keys["auditor"], kind="assessment", outcome="detain")[0]
    with sessions() as session:
        shipment = session.get(Shipment, __import__("uuid").UUID(original["shipment_id"]))
        assert shipment is not None
        forged = record_decision(
            session,
            shipment=shipment,
            kind="assessment",
            outcome="admit",
            actor=SYSTEM,
            risk_score=3,
            grounds=[],
            findings=[],
            rules_version=original["rules_version"],
            lists_version=original["lists_version"],
            matcher_version=original["matcher_version"],
            assessment_id=__import__("uuid").UUID(original["assessment_id"]),
        )
        seq = forged.seq
        session.commit()
    report = get(client, keys["auditor"], f"/v1/decisions/{seq}/replay")
    assert report["replayable"] is True and report["reproduced"] is False
    fields = {d["field"] for d in report["differences"]}
    assert {"outcome", "risk_score", "grounds", "findings_sha256"} <= fields
    assert any("assessment row" in note for note in report["notes"]), report["notes"]


def test_replay_lists_the_findings_a_changed_manifest_loses(
    client: TestClient,
    keys: dict[str, str],
    populated: dict[str, Any],
    engine: Engine,
) -> None:
    """Shipment rows are not append-only; replay shows when a stored manifest was edited."""
    row = next(
        r
        for r in ndjson_rows(client, keys["auditor"], kind="assessment", outcome="detain")
        # Every ninth manifest is the design example, with its Xinjiang cotton input.
        if int(r["shipment_reference"].split("-")[1]) % 9 == 8
    )
    shipment = get(client, keys["auditor"], f"/v1/shipments/{row['shipment_id']}")
    manifest = shipment["manifest"]
    for line in manifest["lines"]:
        line["inputs"] = []
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE shipments SET manifest = :m WHERE id = :i"),
            {"m": json.dumps(manifest), "i": _db_uuid(engine, row["shipment_id"])},
        )
    report = get(client, keys["auditor"], f"/v1/decisions/{row['seq']}/replay")
    assert report["reproduced"] is False
    assert "findings_sha256" in {d["field"] for d in report["differences"]}
    assert any("body hash" in note for note in report["notes"]), report["notes"]
    lost = report["findings_diff"]["only_recorded"]
    assert lost and all(f["path"].startswith("lines[0].inputs") for f in lost), lost


def _db_uuid(engine: Engine, value: str) -> str:
    # SQLAlchemy stores Uuid as 32 hex characters on SQLite and as uuid on PostgreSQL.
    return value.replace("-", "") if engine.dialect.name == "sqlite" else value


def test_cli_verify_and_replay(
    client: TestClient,
    keys: dict[str, str],
    populated: dict[str, Any],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("UFLPA_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("UFLPA_DATA_DIR", str(settings.data_dir))
    assert cli.main(["log", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    seq = ndjson_rows(client, keys["auditor"], kind="assessment", outcome="admit")[0]["seq"]
    assert cli.main(["log", "replay", str(seq)]) == 0
    assert f"seq {seq} (assessment): reproduced" in capsys.readouterr().out
    determination = ndjson_rows(client, keys["auditor"], kind="determination")[0]["seq"]
    assert cli.main(["log", "replay", str(determination)]) == 0
    assert "not replayable" in capsys.readouterr().out
    assert cli.main(["log", "replay", "99999999"]) == 2
    capsys.readouterr()
    assert cli.main(["log", "export", "--format", "ndjson"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert exported == ndjson_rows(client, keys["auditor"])


# --- tampering (last: it breaks this module's chain) ---------------------------------------


def tamper(engine: Engine, seq: int) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update"))
            conn.execute(text("UPDATE decisions SET outcome = 'admit' WHERE seq = :s"), {"s": seq})
            conn.execute(text("ALTER TABLE decisions ENABLE TRIGGER decisions_no_update"))
        else:
            conn.execute(text("DROP TRIGGER decisions_no_update"))
            conn.execute(text("UPDATE decisions SET outcome = 'admit' WHERE seq = :s"), {"s": seq})
            conn.execute(
                text(
                    "CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions "
                    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END"
                )
            )


def test_a_tampered_record_is_named_by_http_and_cli(
    client: TestClient,
    keys: dict[str, str],
    populated: dict[str, Any],
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = ndjson_rows(client, keys["auditor"], outcome="detain")[7]["seq"]
    tamper(engine, target)
    result = get(client, keys["auditor"], "/v1/decisions/verify")
    assert result["intact"] is False
    assert result["first_broken_seq"] == target
    assert "hash" in result["reason"]

    monkeypatch.setenv("UFLPA_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("UFLPA_DATA_DIR", str(settings.data_dir))
    assert cli.main(["log", "verify"]) == 1
    assert f"BROKEN at seq {target}" in capsys.readouterr().out
