"""kill -9 in the middle of a JSON batch, a CSV import and a list import.

Each test starts a real `uflpa serve`, waits for evidence in the database that the import is
under way, kills the server's whole process group with SIGKILL, and checks the database
directly: no shipment without its assessment and its normalised rows, no assessment without
exactly one decision record, an intact decision chain, and the previous list version still
active. It then restarts the server and retries the same import, as a client would, and
checks that the answers agree with what the crash left behind.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from app.db.models import (
    Assessment,
    Decision,
    Job,
    ListEntryRecord,
    ListVersion,
    Shipment,
    ShipmentInput,
    ShipmentLine,
    ShipmentParty,
)
from app.db.session import make_engine, make_sessionmaker
from app.domain.manifest import iter_inputs, iter_parties
from app.domain.manifest_codec import manifest_from_dict
from app.services.decision_log import verify_chain
from app.services.lists import files_sha256
from app.settings import PROJECT_ROOT
from tests.api.conftest import example_manifest
from tests.e2e.servers import ServerProcess, create_key, server_env, start_server

pytestmark = pytest.mark.slow

IMPORTER = "Acme Apparel Inc"
ITEMS = 600  # several seconds of work for one worker: ample time to kill it midway
KILL_AFTER_STORED = 25  # shipments committed before the kill
SAMPLE_CSV = PROJECT_ROOT / "fixtures" / "csv" / "sample_shipments.csv"
CSL_FILE = PROJECT_ROOT / "fixtures" / "lists" / "us_csl" / "consolidated.csv.gz"
CSL_NAME = "consolidated.csv.gz"
CSL_V1_ROWS = 300  # the previous version: small, so a restart builds its index quickly
CSL_V2_COPIES = 2  # the killed version: the bundled file twice over, about 28,000 entries
LIST_STARTED = 1 << 20  # bytes of uncommitted entries written: the import is inserting
LIST_KILL_AT = 6 << 20  # and the kill point, about a third into its ~18 MB of entries


@pytest.fixture(scope="module")
def env(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return server_env(database_url, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def importer_key(env: dict[str, str]) -> str:
    return create_key(env, "importer", IMPORTER)


@pytest.fixture(scope="module")
def admin_key(env: dict[str, str]) -> str:
    return create_key(env, "admin")


# --- helpers ----------------------------------------------------------------------------


def reader_engine(database_url: str) -> Engine:
    """An engine for polling while the server writes. Not make_engine: that one opens every
    SQLite transaction with BEGIN IMMEDIATE and would queue behind the server's writer; a
    plain pysqlite connection reads a WAL snapshot without taking the write lock."""
    if database_url.startswith("sqlite"):
        return create_engine(database_url, connect_args={"timeout": 30})
    return create_engine(database_url, pool_size=1)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class InFlight:
    """One HTTP call on a background thread, so that the kill can cut it off."""

    def __init__(self, send: Callable[[], httpx.Response]) -> None:
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self._send = send
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.response = self._send()
        except httpx.HTTPError as exc:  # the server died under the request, as intended
            self.error = exc

    def join(self) -> None:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the client still waits on a killed server"


@contextmanager
def victim(env: dict[str, str], log: Path) -> Iterator[ServerProcess]:
    """A server the test kills; killed anyway if the test fails before the kill."""
    process = start_server(env, log)
    try:
        yield process
    finally:
        if process.process.poll() is None:
            process.kill_hard()


@contextmanager
def server(env: dict[str, str], log: Path) -> Iterator[ServerProcess]:
    process = start_server(env, log)
    try:
        yield process
    finally:
        process.stop()


def stored_shipments(engine: Engine, prefix: str) -> dict[str, str]:
    """reference -> shipment id, for the references with this prefix."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Shipment.reference, Shipment.id).where(Shipment.reference.startswith(prefix))
        ).all()
    found = Counter(reference for reference, _ in rows)
    assert set(found.values()) <= {1}, "a reference stored twice"
    return {reference: str(ident) for reference, ident in rows}


# One statement, so one snapshot on both databases: the shipments of this run, and those
# of them visible without an assessment, with an assessment no decision cites, or without
# their line rows. While the server works, the last three must stay zero.
PROGRESS = text(
    "SELECT"
    " (SELECT count(*) FROM shipments s WHERE s.reference LIKE :p),"
    " (SELECT count(*) FROM shipments s WHERE s.reference LIKE :p AND NOT EXISTS"
    "   (SELECT 1 FROM assessments a WHERE a.shipment_id = s.id)),"
    " (SELECT count(*) FROM assessments a JOIN shipments s ON s.id = a.shipment_id"
    "   WHERE s.reference LIKE :p AND NOT EXISTS"
    "   (SELECT 1 FROM decisions d WHERE d.assessment_id = a.id)),"
    " (SELECT count(*) FROM shipments s WHERE s.reference LIKE :p AND NOT EXISTS"
    "   (SELECT 1 FROM shipment_lines l WHERE l.shipment_id = s.id))"
)


def count_stored(engine: Engine, prefix: str) -> int:
    """Stored shipments of this run; fails if any is visible half-written."""
    with engine.connect() as conn:
        stored, unassessed, undecided, lineless = conn.execute(PROGRESS, {"p": prefix + "%"}).one()
    assert (unassessed, undecided, lineless) == (0, 0, 0), (
        f"visible while the server works: {unassessed} shipments without an assessment, "
        f"{undecided} assessments without a decision, {lineless} shipments without lines"
    )
    return int(stored)


def assert_nothing_half_written(database_url: str) -> None:
    """Whole-database checks, run while no server is writing: every shipment has its
    assessment, its one 'assessment' decision and all its normalised rows; every assessment
    is cited by exactly one decision record, of its own shipment; the chain verifies."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            shipments = session.execute(select(Shipment.id, Shipment.manifest)).all()
            assessments = dict(session.execute(select(Assessment.id, Assessment.shipment_id)).all())
            decisions = session.execute(
                select(Decision.shipment_id, Decision.assessment_id, Decision.kind)
            ).all()
            normalised = {
                name: Counter(session.scalars(select(model.shipment_id)))
                for name, model in (
                    ("lines", ShipmentLine),
                    ("parties", ShipmentParty),
                    ("inputs", ShipmentInput),
                )
            }
            chain = verify_chain(session)
    finally:
        engine.dispose()

    problems: list[str] = []
    assessments_of = Counter(assessments.values())
    citing = Counter(a for _, a, _ in decisions if a is not None)
    assessment_decisions = Counter(s for s, _, kind in decisions if kind == "assessment")
    for shipment_id, raw in shipments:
        manifest = manifest_from_dict(raw)
        expected = {
            "lines": len(manifest.lines),
            "parties": sum(1 for _ in iter_parties(manifest)),
            "inputs": sum(1 for _ in iter_inputs(manifest)),
        }
        if assessments_of[shipment_id] < 1:
            problems.append(f"shipment {shipment_id} has no assessment")
        if assessment_decisions[shipment_id] != 1:
            problems.append(
                f"shipment {shipment_id} has {assessment_decisions[shipment_id]} "
                "'assessment' decision records"
            )
        for name, count in expected.items():
            if normalised[name][shipment_id] != count:
                problems.append(
                    f"shipment {shipment_id} has {normalised[name][shipment_id]} {name} rows; "
                    f"its manifest has {count}"
                )
    for assessment_id in assessments:
        if citing[assessment_id] != 1:
            problems.append(
                f"assessment {assessment_id} is cited by {citing[assessment_id]} decisions"
            )
    for shipment_id, assessment_id, kind in decisions:
        if assessment_id is not None and assessments.get(assessment_id) != shipment_id:
            problems.append(f"a {kind} decision cites assessment {assessment_id} of another")
    shipment_ids = {s for s, _ in shipments}
    for name, counts in normalised.items():
        if set(counts) - shipment_ids:
            problems.append(f"{name} rows without their shipment")
    assert problems == [], "\n".join(problems[:20])
    assert chain.intact, chain
    assert chain.records == len(decisions)


def crash_then_retry(
    send: Callable[[str], httpx.Response],
    references: list[str],
    env: dict[str, str],
    database_url: str,
    logs: Path,
    also: Callable[[str, list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Kill the server while `send` (given the base URL) is being processed; check the
    database; restart; send again and check every answer against what survived.
    `also(base_url, results)` runs extra checks against the restarted server."""
    prefix = references[0][: references[0].rindex("-") + 1]
    assert all(r.startswith(prefix) for r in references)
    reader = reader_engine(database_url)
    try:
        with victim(env, logs / "victim.log") as doomed:
            request = InFlight(lambda: send(doomed.base_url))
            wait_for(
                lambda: count_stored(reader, prefix) >= KILL_AFTER_STORED,
                timeout=45,
                what=f"{KILL_AFTER_STORED} stored shipments (see {logs / 'victim.log'})",
            )
            doomed.kill_hard()
        request.join()
        survivors = stored_shipments(reader, prefix)
    finally:
        reader.dispose()
    assert request.response is None, (
        f"the import answered {request.response.status_code} before the kill; "
        "the test needs a bigger import"
    )
    assert request.error is not None
    assert KILL_AFTER_STORED <= len(survivors) < len(references), len(survivors)
    assert set(survivors) <= set(references)
    assert_nothing_half_written(database_url)

    with server(env, logs / "restarted.log") as restarted:
        response = send(restarted.base_url)
        assert response.status_code == 200, response.text[:2000]
        results: list[dict[str, Any]] = response.json()["results"]
        assert len(results) == len(references)
        statuses = Counter(r["status"] for r in results)
        assert set(statuses) <= {200, 201}, [r for r in results if r["status"] not in (200, 201)]
        assert statuses[200] == len(survivors), statuses  # stored before the crash: a resend
        assert statuses[201] == len(references) - len(survivors), statuses  # lost in it
        for index, result in enumerate(results):
            reference = references[index]
            assert result["index"] == index
            assert result["shipment"]["reference"] == reference
            if reference in survivors:
                assert result["status"] == 200
                assert result["shipment"]["id"] == survivors[reference]
            else:
                assert result["status"] == 201
        # The same manifest but for the reference: the same answer, stored before or after.
        outcomes = {
            (
                r["shipment"]["assessment"]["recommendation"],
                r["shipment"]["assessment"]["risk_score"],
            )
            for r in results
        }
        assert len(outcomes) == 1, outcomes
        if also is not None:
            also(restarted.base_url, results)

    engine = make_engine(database_url)
    try:
        stored = stored_shipments(engine, prefix)
    finally:
        engine.dispose()
    assert stored == {r["shipment"]["reference"]: r["shipment"]["id"] for r in results}
    assert_nothing_half_written(database_url)
    return results


# --- shipments: JSON batch and CSV --------------------------------------------------------


def test_kill_during_batch_import_leaves_whole_shipments_and_retry_is_consistent(
    env: dict[str, str], importer_key: str, database_url: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    references = [f"CRASH-B{run}-{i:04d}" for i in range(ITEMS)]
    body = {"shipments": [example_manifest(reference=r) for r in references]}

    def send(base_url: str) -> httpx.Response:
        return httpx.post(
            f"{base_url}/v1/shipments/batch",
            json=body,
            headers={"Authorization": f"Bearer {importer_key}"},
            timeout=120,
        )

    crash_then_retry(send, references, env, database_url, tmp_path)


def csv_file(references: list[str]) -> bytes:
    """The sample CSV's first shipment (the design example, 4 rows) once per reference."""
    with SAMPLE_CSV.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    template = [row for row in rows if row[0] == "ENTRY-2026-000123"]
    assert len(template) == 4
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for reference in references:
        writer.writerows([reference, *row[1:]] for row in template)
    return out.getvalue().encode()


def test_kill_during_csv_import_leaves_whole_shipments_and_retry_is_consistent(
    env: dict[str, str], importer_key: str, database_url: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    references = [f"CRASH-C{run}-{i:04d}" for i in range(ITEMS)]
    data = csv_file(references)
    headers = {"Authorization": f"Bearer {importer_key}"}

    def send(base_url: str) -> httpx.Response:
        return httpx.post(
            f"{base_url}/v1/shipments/import",
            files={"file": ("shipments.csv", data, "text/csv")},
            headers=headers,
            timeout=120,
        )

    def json_resend(base_url: str, results: list[dict[str, Any]]) -> None:
        # A CSV row set is the same manifest as its JSON spelling: a JSON resend of shipments
        # stored before and after the crash answers 200 with the same shipment.
        assert [r["reference"] for r in results] == references
        for result in (results[0], results[-1]):
            resend = httpx.post(
                f"{base_url}/v1/shipments",
                json=example_manifest(reference=result["reference"]),
                headers=headers,
                timeout=30,
            )
            assert resend.status_code == 200, resend.text
            assert resend.json()["id"] == result["shipment"]["id"]

    crash_then_retry(send, references, env, database_url, tmp_path, also=json_resend)


# --- entity lists -------------------------------------------------------------------------


def csl_rows() -> tuple[list[str], list[list[str]]]:
    text_ = gzip.decompress(CSL_FILE.read_bytes()).decode("utf-8-sig")
    header, *body = list(csv.reader(io.StringIO(text_, newline="")))
    return header, [row for row in body if any(cell.strip() for cell in row)]


def csl_file(rows: list[list[str]], copies: int = 1) -> bytes:
    """A trade.gov consolidated.csv.gz of these rows, `copies` times over with distinct ids."""
    header, _ = csl_rows()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for copy in range(copies):
        suffix = f"-copy{copy}" if copies > 1 else ""
        writer.writerows([row[0] + suffix, *row[1:]] for row in rows)
    return gzip.compress(out.getvalue().encode(), compresslevel=1)


def import_csl(base_url: str, key: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/lists/us_csl/import",
        files={"file": (CSL_NAME, data, "application/gzip")},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )


def identity(version: dict[str, Any]) -> dict[str, Any]:
    return {
        name: version[name]
        for name in ("id", "source", "version", "file_sha256", "entry_count", "counts")
    }


def active_csl(base_url: str, key: str) -> dict[str, Any]:
    """The active us_csl version as GET /v1/lists reports it (its identifying fields)."""
    response = httpx.get(
        f"{base_url}/v1/lists", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    active = [v for v in response.json()["active"] if v["source"] == "us_csl"]
    assert len(active) == 1, active
    return identity(active[0])


def screened(base_url: str, key: str, name: str) -> tuple[str, set[str]]:
    """The us_csl version the server's in-memory index was built from, and the entry ids a
    party of this name matches strongly."""
    response = httpx.post(
        f"{base_url}/v1/screen",
        json={"parties": [{"name": name}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    strong = {m["entry_id"] for m in body["results"][0]["matches"] if m["band"] == "strong"}
    return body["lists_version"]["us_csl"], strong


def wait_for_job(base_url: str, key: str, job_id: str | None) -> None:
    if job_id is None:
        return

    def finished() -> bool:
        response = httpx.get(
            f"{base_url}/v1/jobs/{job_id}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["state"] != "failed", response.json()
        return bool(response.json()["state"] == "succeeded")

    wait_for(finished, timeout=30, what=f"re-screen job {job_id}")


class ImportProbe:
    """Watches a list import from outside the server: how many bytes it has written so far
    (before its commit), and whether the new version is visible yet.

    SQLite: the WAL, truncated first while the server is idle; only the import's single
    transaction spilling its new entries from the page cache writes megabytes to it.
    PostgreSQL: the on-disk size of list_entries, which grows with uncommitted rows too.
    """

    def __init__(self, database_url: str, reader: Engine, sha: str) -> None:
        self._reader = reader
        self._sha = sha
        self._wal: Path | None = None
        if database_url.startswith("sqlite"):
            database = make_url(database_url).database
            assert database
            self._wal = Path(database + "-wal")
            wait_for(self._truncate_wal, timeout=30, what="an idle moment to truncate the WAL")
        self._baseline = 0
        self._baseline = self.written()

    def _truncate_wal(self) -> bool:
        assert self._wal is not None
        with self._reader.connect() as conn:
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        return bool(busy == 0) and self._size(self._wal) == 0

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0

    def written(self) -> int:
        if self._wal is not None:
            return self._size(self._wal) - self._baseline
        with self._reader.connect() as conn:
            size = conn.scalar(text("SELECT pg_total_relation_size('list_entries')"))
        return int(size or 0) - self._baseline

    def visible(self) -> bool:
        """Whether the new version is visible; fails if it is visible with part of its
        entries (one statement, so one snapshot, on both databases)."""
        stored = (
            select(func.count())
            .select_from(ListEntryRecord)
            .where(ListEntryRecord.list_version_id == ListVersion.id)
            .scalar_subquery()
        )
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(ListVersion.entry_count, stored).where(ListVersion.file_sha256 == self._sha)
            ).all()
        for entry_count, count in rows:
            assert count == entry_count, (
                f"a half-written list version is visible: {count} of its {entry_count} entries"
            )
        return bool(rows)


def kill_mid_import(doomed: ServerProcess, probe: ImportProbe) -> None:
    """kill -9 once the import has written LIST_KILL_AT bytes, and before it commits.

    From the first evidence of writing on, the server is frozen (SIGSTOP) between short
    steps (SIGCONT, 5 ms, SIGSTOP), so the kill point does not depend on how fast this test
    polls; at every stop the new version must still be invisible.
    """
    wait_for(
        lambda: probe.visible() or probe.written() >= LIST_STARTED,
        timeout=45,
        what=f"the list import to write (see {doomed.log})",
    )
    group = doomed.process.pid
    os.killpg(group, signal.SIGSTOP)
    try:
        for _ in range(1000):
            assert not probe.visible(), "timing: the import committed before the kill point"
            if probe.written() >= LIST_KILL_AT:
                return
            os.killpg(group, signal.SIGCONT)
            time.sleep(0.005)
            os.killpg(group, signal.SIGSTOP)
        raise AssertionError(f"the import stopped writing at {probe.written()} bytes")
    finally:
        doomed.kill_hard()


def list_state(database_url: str) -> dict[str, Any]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            versions = {
                str(v.id): (v.file_sha256, v.entry_count)
                for v in session.scalars(select(ListVersion).where(ListVersion.source == "us_csl"))
            }
            all_versions = {str(i) for i in session.scalars(select(ListVersion.id))}
            entries = Counter(
                str(i) for i in session.scalars(select(ListEntryRecord.list_version_id))
            )
            job_versions = Counter(
                str(params["version_id"])
                for params in session.scalars(select(Job.params))
                if params.get("version_id") is not None
            )
            job_ids = {str(i) for i in session.scalars(select(Job.id))}
            deferred: list[str] = []
            if session.get_bind().dialect.name == "postgresql":
                deferred = list(
                    session.scalars(text("SELECT args->>'job_id' FROM procrastinate_jobs"))
                )
    finally:
        engine.dispose()
    # Every stored entry belongs to a stored version, which holds the count it claims; every
    # queued re-screen names a stored version; every procrastinate job its jobs row.
    assert set(entries) <= all_versions, "list entries of a version that was never stored"
    for ident, (_, entry_count) in versions.items():
        assert entries[ident] == entry_count, f"version {ident}: {entries[ident]} entries"
    assert set(job_versions) <= all_versions, "a re-screen job for a version never stored"
    assert set(deferred) <= job_ids, "a procrastinate job without its jobs row"
    return {"versions": versions, "job_versions": job_versions}


def test_kill_during_list_import_keeps_the_previous_version_active(
    env: dict[str, str], admin_key: str, database_url: str, tmp_path: Path
) -> None:
    _, rows = csl_rows()
    v1 = csl_file(rows[:CSL_V1_ROWS])
    v2 = csl_file(rows, copies=CSL_V2_COPIES)
    v2_sha = files_sha256({CSL_NAME: v2})
    # A name of the first version, and one that only the killed version holds.
    v1_names = {row[5] for row in rows[:CSL_V1_ROWS]}
    in_v1 = next(r for r in rows[:CSL_V1_ROWS] if r[3] == "Entity" and len(r[5]) > 15)
    only_v2 = next(
        r
        for r in rows[CSL_V1_ROWS:]
        if r[3] == "Entity" and len(r[5]) > 15 and r[5] not in v1_names
    )

    reader = reader_engine(database_url)
    try:
        with victim(env, tmp_path / "victim.log") as doomed:
            first = import_csl(doomed.base_url, admin_key, v1)
            assert first.status_code == 201, first.text
            previous = identity(first.json()["version"])
            assert previous["entry_count"] == CSL_V1_ROWS
            wait_for_job(doomed.base_url, admin_key, first.json()["rescreen_job_id"])
            assert active_csl(doomed.base_url, admin_key) == previous

            probe = ImportProbe(database_url, reader, v2_sha)
            request = InFlight(lambda: import_csl(doomed.base_url, admin_key, v2))
            kill_mid_import(doomed, probe)
        request.join()
        assert not probe.visible()  # and nothing became visible after the kill either
    finally:
        reader.dispose()
    assert request.response is None

    # Straight after the crash: the first version, whole, is the only one; nothing (entries,
    # re-screen jobs) refers to the killed one.
    state = list_state(database_url)
    assert state["versions"] == {
        previous["id"]: (previous["file_sha256"], previous["entry_count"])
    }, "the killed import left a version behind"

    with server(env, tmp_path / "restarted.log") as restarted:
        base, key = restarted.base_url, admin_key
        assert active_csl(base, key) == previous
        assert screened(base, key, in_v1[5]) == (previous["version"], {in_v1[0]})
        index_version, matches = screened(base, key, only_v2[5])
        assert index_version == previous["version"] and not any(
            m.startswith(only_v2[0]) for m in matches
        )

        retry = import_csl(base, key, v2)
        assert retry.status_code == 201, retry.text
        new = retry.json()
        assert new["created"] is True
        assert new["version"]["file_sha256"] == v2_sha
        assert new["version"]["entry_count"] == CSL_V2_COPIES * len(rows)
        assert new["rescreen_job_id"] is not None  # a previous version exists
        assert active_csl(base, key) == identity(new["version"])
        assert screened(base, key, only_v2[5]) == (
            new["version"]["version"],
            {f"{only_v2[0]}-copy{c}" for c in range(CSL_V2_COPIES)},
        )

        again = import_csl(base, key, v2)  # a client that retries once more: already active
        assert again.status_code == 200, again.text
        assert again.json()["created"] is False
        assert identity(again.json()["version"]) == identity(new["version"])
        wait_for_job(base, key, new["rescreen_job_id"])

    state = list_state(database_url)
    assert state["versions"] == {
        previous["id"]: (previous["file_sha256"], previous["entry_count"]),
        new["version"]["id"]: (v2_sha, new["version"]["entry_count"]),
    }
    assert state["job_versions"][new["version"]["id"]] == 1
    assert_nothing_half_written(database_url)
