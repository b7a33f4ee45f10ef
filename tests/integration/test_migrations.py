"""Migrations upgrade and downgrade cleanly, and match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.db import migrate
from app.db.base import Base
from app.db.session import make_engine


def not_procrastinate(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """procrastinate's own tables (migration 0005, PostgreSQL) are not in our models."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def test_downgrade_to_base_and_back(database_url: str) -> None:
    migrate.downgrade(database_url, "base")
    engine = make_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(database_url)
        assert migrate.is_at_head(engine)
        assert "decisions" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn, opts={"compare_type": True, "include_object": not_procrastinate}
                ),
                Base.metadata,
            )
        assert diff == []
    finally:
        engine.dispose()
