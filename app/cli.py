"""The `uflpa` command: serve, db, keys (and more as capabilities land)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

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
    import uvicorn

    from app.db import migrate

    settings = _settings()
    migrate.upgrade(settings.resolved_database_url)
    # Prepare rules and bundled lists once, before the workers start, so N workers do not
    # race to load them on a new database.
    from app.services.bootstrap import prepare_database

    with _session(settings) as session:
        prepare_database(session, settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        proxy_headers=True,
    )
    return 0


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
                print(
                    f"created {info.role} key {info.key_id} for {', '.join(info.importers) or 'all importers'}"
                )
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
                print(
                    f"{v.source}\t{v.version}\t{v.entry_count} entries\t{v.imported_at:%Y-%m-%d %H:%M}\t{v.imported_by}"
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    raise SystemExit(main())
