"""The `uflpa` command: serve, db, keys, lists, screen, rescreen, worker."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from app.settings import Settings


def _settings() -> Settings:
    settings = Settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _session(settings: Settings):  # type: ignore[no-untyped-def]
    from app.db.session import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.resolved_database_url))()


def cmd_serve(args: argparse.Namespace) -> int:
    from app.db import migrate

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    # Prepare rules and bundled lists once, before the workers start, so N workers do not
    # race to load them on a new database.
    from app.services.bootstrap import prepare_database

    with _session(settings) as session:
        prepare_database(session, settings)
    from app.serve import serve

    return serve(args.host, args.port, args.workers, settings.log_level.lower())


def cmd_db(args: argparse.Namespace) -> int:
    from app.db import migrate
    from app.db.session import make_engine

    url = _settings().resolved_database_url
    if args.action == "upgrade":
        migrate.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        if not args.revision:
            print("downgrade needs a revision (e.g. base or -1)", file=sys.stderr)
            return 2
        migrate.downgrade(url, args.revision)
    engine = make_engine(url)
    try:
        print(f"current: {migrate.current_revision(engine)} (head: {migrate.head_revision(url)})")
    finally:
        engine.dispose()
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from app.errors import AppError
    from app.services import keys
    from app.services.principal import Role

    settings = _settings()
    from app.db import migrate

    migrate.upgrade(settings.resolved_database_url)
    with _session(settings) as session:
        try:
            if args.action == "create":
                info, plaintext = keys.create_key(
                    session, Role(args.role), args.importer or [], args.label
                )
                scope = ", ".join(info.importers) or "all importers"
                print(f"created {info.role} key {info.key_id} for {scope}")
                print("store it now: it is shown once and kept only as a hash")
                print(plaintext)
            elif args.action == "list":
                for k in keys.list_keys(session):
                    state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
                    print(
                        f"{k.key_id}\t{k.role}\t{state}\t{','.join(k.importers)}\t{k.label or ''}"
                    )
            elif args.action == "revoke":
                info = keys.revoke_key(session, args.key_id)
                print(f"revoked {info.key_id}")
        except AppError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
    return 0


def cmd_lists(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.db import migrate
    from app.errors import AppError
    from app.services import lists

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    with _session(settings) as session:
        if args.action == "show":
            for v in lists.active_versions(session):
                imported = f"{v.imported_at:%Y-%m-%d %H:%M}"
                print(
                    f"{v.source}\t{v.version}\t{v.entry_count} entries\t{imported}\t{v.imported_by}"
                )
            return 0
        try:
            paths = [Path(p) for p in args.files]
            if len(paths) == 1 and paths[0].suffix.lower() == ".zip":
                result = lists.import_uploaded(
                    session, args.source, paths[0].name, paths[0].read_bytes(), "cli"
                )
            else:
                files = {p.name: p.read_bytes() for p in paths}
                result = lists.import_list(session, args.source, files, actor="cli")
        except (AppError, OSError) as exc:
            print(
                f"error: {getattr(exc, 'detail', exc)}; the previous version stays active",
                file=sys.stderr,
            )
            return 2
        v = result.version
        state = "new version" if result.created else "unchanged (already the active version)"
        print(f"{v.source} {v.version}: {v.entry_count} entries, {state}")
    if result.rescreen_job_id is not None:
        if args.no_rescreen:
            print(f"re-screen queued as job {result.rescreen_job_id}; a service or worker runs it")
        else:
            _run_jobs_inline(
                settings, f"re-screening past shipments (job {result.rescreen_job_id})"
            )
    return 0


def _run_jobs_inline(settings: Settings, what: str) -> None:
    """Run queued jobs in this process (once-only rules apply: if a service instance is
    running the same group now, leave the job to it)."""
    from rich.console import Console

    from app.db.session import make_engine, make_sessionmaker
    from app.services import jobs
    from app.services.background import make_job_backend
    from app.services.bootstrap import AssessorRegistry

    engine = make_engine(settings.resolved_database_url)
    try:
        sessions = make_sessionmaker(engine)
        registry = AssessorRegistry(sessions, settings)
        backend = make_job_backend(registry, sessions, settings)
        with Console(stderr=True).status(what):
            ran = backend.run_pending()
        if not ran:
            print("nothing run here: the re-screen is queued or running in another process")
            return
        with sessions() as session:
            for job_id in ran:
                job = jobs.get_job(session, job_id)
                print(f"job {job.id} {job.kind}: {job.state} {job.result or job.error or ''}")
    finally:
        engine.dispose()


SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
SCREEN_COLUMNS = (
    "reference",
    "rows",
    "status",
    "recommendation",
    "risk_score",
    "risk_level",
    "grounds",
    "top_findings",
    "errors",
)


def _screen_row(meta: dict[str, Any], result: dict[str, Any] | None, errors: Any) -> dict[str, Any]:
    rows = meta.get("rows") or []
    row: dict[str, Any] = {
        "reference": meta.get("reference") or "",
        "rows": "-".join(str(r) for r in dict.fromkeys(rows)),
    }
    if result is None:
        shown = "; ".join(f"row {e['row']} {e['field']}: {e['reason']}" for e in errors)
        return row | {"status": "invalid", "errors": shown}
    findings = sorted(
        result["findings"], key=lambda f: SEVERITY_ORDER.get(str(f.get("severity")), 9)
    )
    grounds = list(result["presumption"]["grounds"])
    grounds += [f"sanctions:{name}" for name in result["sanctions"]["lists"]]
    return row | {
        "status": "assessed",
        "recommendation": result["recommendation"],
        "risk_score": result["risk_score"],
        "risk_level": result["risk_level"],
        "grounds": ";".join(grounds),
        "top_findings": ";".join(f"{f['code']}@{f['path']}" for f in findings[:5]),
    }


def cmd_screen(args: argparse.Namespace) -> int:
    """Assess a CSV of shipments offline, with the local rules and lists; nothing stored."""
    import csv
    from pathlib import Path

    from rich.progress import Progress

    from app.api.intake import csv_items
    from app.db import migrate
    from app.db.session import make_engine, make_sessionmaker
    from app.domain.manifest_codec import manifest_from_dict
    from app.logs import configure_logging
    from app.services.batch import Invalid
    from app.services.bootstrap import AssessorRegistry
    from app.services.csv_manifests import CsvFileError

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        # Built exactly as the service builds it: rules and lists from the local database
        # (a new database gets the bundled rules and list snapshots first).
        assessor = AssessorRegistry(make_sessionmaker(engine), settings).current
    finally:
        engine.dispose()
    try:
        with Path(args.file).open(newline="", encoding="utf-8-sig") as source:
            items = list(csv_items(source))
    except CsvFileError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        for err in exc.errors:
            print(f"  row {err['row']} {err['field']}: {err['reason']}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    counts = {"admit": 0, "detain": 0, "invalid": 0}
    with Path(args.out).open("w", newline="", encoding="utf-8") as sink:
        writer = csv.DictWriter(sink, fieldnames=SCREEN_COLUMNS, lineterminator="\n")
        writer.writeheader()
        with Progress(transient=True) as progress:
            task = progress.add_task("screening", total=len(items))
            for item in items:
                if isinstance(item.payload, Invalid):
                    row = _screen_row(dict(item.meta), None, item.payload.problem["errors"])
                    counts["invalid"] += 1
                else:
                    result = assessor.assess(manifest_from_dict(item.payload)).to_dict()
                    row = _screen_row(dict(item.meta), result, None)
                    counts[result["recommendation"]] += 1
                writer.writerow(row)
                progress.advance(task)
    print(
        f"{len(items)} shipments: {counts['detain']} detain, {counts['admit']} admit, "
        f"{counts['invalid']} invalid -> {args.out}"
    )
    return 1 if counts["invalid"] else 0


def cmd_rescreen(args: argparse.Namespace) -> int:
    from app.db import migrate
    from app.logs import configure_logging
    from app.services import jobs

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    migrate.upgrade(settings.resolved_database_url)
    with _session(settings) as session:
        job = jobs.enqueue(session, jobs.RESCREEN_ALL, {"scope": "all"}, created_by="cli")
        session.commit()
        print(f"queued full re-screen as job {job.id}")
    if not args.queue_only:
        _run_jobs_inline(settings, "re-screening every shipment")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Deliver webhooks and run jobs (alongside, or instead of, the service's own threads)."""
    import signal
    import threading

    from app.db import migrate
    from app.db.session import make_engine, make_sessionmaker
    from app.logs import configure_logging
    from app.services.background import Background
    from app.services.bootstrap import AssessorRegistry

    settings = _settings()
    configure_logging(settings.log_level, settings.log_json)
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        sessions = make_sessionmaker(engine)
        background = Background(AssessorRegistry(sessions, settings), sessions, settings)
        if args.once:
            while background.dispatcher.run_once():
                pass
            background.jobs.run_pending()
            background.dispatcher.close()
            return 0
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        background.start()
        stopped.wait()
        background.stop()
    finally:
        engine.dispose()
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    """Screen one name against the active lists of the local database."""
    from app.db import migrate
    from app.db.session import make_engine, make_sessionmaker
    from app.screening.entry import Schema
    from app.services.bootstrap import AssessorRegistry

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        assessor = AssessorRegistry(make_sessionmaker(engine), settings).current
    finally:
        engine.dispose()
    if assessor.screener is None:
        print("no lists loaded: run `uflpa lists load ...` first", file=sys.stderr)
        return 2
    schema = Schema(args.schema) if args.schema else None
    matches = assessor.screener.screen(args.name, args.country, args.address, schema)
    if args.json:
        print(
            json.dumps(
                {
                    "name": args.name,
                    "matches": [m.to_dict() for m in matches],
                    "lists_version": dict(assessor.lists_version),
                    "matcher_version": assessor.matcher_version,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not matches:
        print(f"no match for {args.name!r} ({assessor.matcher_version})")
    for m in matches:
        print(
            f"{m.score:.3f}  {m.band.value:8}  {m.list:14} {m.entry_id:28} {m.name}  (via {m.matched_alias!r})"
        )
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    from datetime import date

    from app.db import migrate
    from app.services import cases

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    try:
        today = date.fromisoformat(args.today) if args.today else cases.today_utc()
    except ValueError:
        print(f"error: --today {args.today!r} is not a YYYY-MM-DD date", file=sys.stderr)
        return 2
    with _session(settings) as session:
        swept = cases.sweep_deemed_exclusions(session, settings.response_due_days, today)
    for shipment_id in swept:
        print(f"deemed_excluded\t{shipment_id}")
    print(f"{len(swept)} case(s) recorded as deemed excluded on {today.isoformat()}")
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    """The decision log: verify the chain, replay a decision, export it."""
    from app.db import migrate
    from app.errors import AppError

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    if args.action == "verify":
        from app.db.session import make_engine, make_sessionmaker
        from app.services.audit import verify_log

        engine = make_engine(settings.resolved_database_url)
        try:
            result = verify_log(make_sessionmaker(engine))
        finally:
            engine.dispose()
        if result.intact:
            print(f"intact: {result.records} records")
            return 0
        print(f"BROKEN at seq {result.first_broken_seq}: {result.reason}")
        return 1
    if args.action == "replay":
        from app.services.replay import Replayer, ScreenerCache

        replayer = Replayer(ScreenerCache(settings.replay_cache_size), lambda: None)
        with _session(settings) as session:
            try:
                report = replayer.replay(session, args.seq)
            except AppError as exc:
                print(f"error: {exc.detail}", file=sys.stderr)
                return 2
        if args.json:
            print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        elif not report.replayable:
            print(f"seq {report.seq} ({report.kind}): not replayable: {report.reason}")
        else:
            verdict = "reproduced" if report.reproduced else "NOT reproduced"
            print(f"seq {report.seq} ({report.kind}): {verdict}")
            for diff in report.differences:
                print(f"  {diff.field}: recorded {diff.recorded!r}, replayed {diff.replayed!r}")
            for side, items in report.findings_diff.items():
                for item in items:
                    print(f"  findings {side}: {json.dumps(item, ensure_ascii=False)}")
            for note in report.notes:
                print(f"  note: {note}")
        if report.reproduced is False:
            return 1
        return 0
    # export
    from app.db.session import make_engine, make_sessionmaker
    from app.services import audit

    engine = make_engine(settings.resolved_database_url)
    try:
        rows = audit.iter_decisions(make_sessionmaker(engine), audit.DecisionFilter())
        chunks = audit.export_csv(rows) if args.format == "csv" else audit.export_ndjson(rows)
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uflpa", description="UFLPA import-risk service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate the database if needed and run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)

    keys = sub.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create a key (printed once, on the last line)")
    create.add_argument(
        "--role", required=True, choices=["importer", "broker", "reviewer", "auditor", "admin"]
    )
    create.add_argument("--importer", action="append", help="importer name (repeat for brokers)")
    create.add_argument("--label", help="free-text label, e.g. the system using the key")
    keys_sub.add_parser("list", help="list keys (never the secrets)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("key_id", help="the key id, e.g. uflpa_1a2b3c4d5e6f")
    keys.set_defaults(func=cmd_keys)

    lists_cmd = sub.add_parser("lists", help="entity lists")
    lists_sub = lists_cmd.add_subparsers(dest="action", required=True)
    lists_sub.add_parser("show", help="active list versions")
    load = lists_sub.add_parser("load", help="import an official list file as a new version")
    load.add_argument(
        "source", help="uflpa, ofac_sdn, ofac_cons, us_csl, eu_2020_1998, opensanctions"
    )
    load.add_argument("files", nargs="+", help="the file(s); OFAC: the CSV set or one ZIP")
    load.add_argument(
        "--no-rescreen",
        action="store_true",
        help="only queue the re-screen of past shipments (a service or worker runs it)",
    )
    lists_cmd.set_defaults(func=cmd_lists)

    match = sub.add_parser("match", help="screen one name against the loaded lists")
    match.add_argument("name")
    match.add_argument("--country", help="ISO 3166 alpha-2 country of the party")
    match.add_argument("--address")
    match.add_argument("--schema", choices=["person", "organization", "vessel", "aircraft"])
    match.add_argument(
        "--json", action="store_true", help="machine-readable output with explanations"
    )
    match.set_defaults(func=cmd_match)

    cases_cmd = sub.add_parser("cases", help="detention cases")
    cases_sub = cases_cmd.add_subparsers(dest="action", required=True)
    sweep = cases_sub.add_parser(
        "sweep",
        help="record deemed exclusion (status and decision log) for open cases past their "
        "deemed-exclusion date (reads already show it; run daily, e.g. from cron)",
    )
    sweep.add_argument("--today", help="YYYY-MM-DD (default: today, UTC)")
    cases_cmd.set_defaults(func=cmd_cases)

    log_cmd = sub.add_parser("log", help="the decision log (auditors)")
    log_sub = log_cmd.add_subparsers(dest="action", required=True)
    log_sub.add_parser("verify", help="recompute the hash chain; exit 1 naming the first break")
    replay = log_sub.add_parser(
        "replay", help="re-run a decision with its recorded rules and lists; exit 1 if it differs"
    )
    replay.add_argument("seq", type=int, help="the decision's sequence number")
    replay.add_argument("--json", action="store_true", help="print the full report as JSON")
    export = log_sub.add_parser("export", help="write every decision to stdout")
    export.add_argument("--format", choices=["csv", "ndjson"], default="ndjson")
    log_cmd.set_defaults(func=cmd_log)

    screen = sub.add_parser(
        "screen", help="assess a CSV of shipments offline (local rules and lists; stores nothing)"
    )
    screen.add_argument("file", help="CSV in the import format (docs/integrations.md)")
    screen.add_argument("--out", required=True, help="results CSV, one row per shipment")
    screen.set_defaults(func=cmd_screen)

    rescreen = sub.add_parser(
        "rescreen", help="re-assess stored shipments; only changed outcomes are recorded"
    )
    rescreen.add_argument(
        "--all", action="store_true", required=True, help="every shipment (after a rule change)"
    )
    rescreen.add_argument(
        "--queue-only", action="store_true", help="queue the job for a service or worker"
    )
    rescreen.set_defaults(func=cmd_rescreen)

    worker = sub.add_parser("worker", help="deliver webhooks and run background jobs")
    worker.add_argument("--once", action="store_true", help="drain what is due now, then exit")
    worker.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        # Which variable and why, without a traceback, and without the value given: it
        # may be a secret (a database URL with its password).
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            print(f"uflpa: invalid setting UFLPA_{name}: {error['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
