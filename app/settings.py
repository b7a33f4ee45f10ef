"""Service settings, read from the environment (prefix UFLPA_) by pydantic-settings.

Only main.py, the CLI and migrations/env.py read Settings; everything else receives the
values it needs as arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UFLPA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="Where the SQLite file and documents live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/uflpa.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    rules_dir: Path = PROJECT_ROOT / "rules"
    fixtures_dir: Path = PROJECT_ROOT / "fixtures"
    load_bundled_lists: bool = True
    lists_poll_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often a worker checks for list versions imported elsewhere.",
    )

    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    documents_dir: Path | None = Field(
        default=None,
        description="Content-addressed document store; default <data_dir>/documents.",
    )
    response_due_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Calendar days an importer has to answer a detention notice (CBP practice).",
    )
    rate_limit: str = Field(default="6000/minute", description="Per API key, `limits` notation.")
    rate_limit_storage: str = Field(
        default="memory://",
        description="memory:// (per process) or redis://host:6379 (shared by every worker and host).",
    )
    max_batch_body_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Body cap for the batch and CSV import routes (1,000 manifests fit).",
    )

    key_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a worker trusts a key that authenticated without asking the "
        "database again; a revocation takes effect within this time. 0: ask every time.",
    )
    request_threads: int = Field(
        default=40,
        ge=1,
        le=1000,
        description="Threads per worker for blocking request work (database, assessment).",
    )
    package_renderers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Processes per worker that lay out rebuttal-package PDFs (seconds of "
        "CPU each, kept out of the worker that serves submissions).",
    )
    package_render_queue: int = Field(
        default=4,
        ge=0,
        le=1000,
        description="Package downloads per worker that may wait for a renderer; one more "
        "is answered 503 with Retry-After.",
    )
    package_render_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a download waits for its package before a 503.",
    )

    run_background_workers: bool = Field(
        default=True,
        description="Run the webhook dispatcher and the job runner inside the service. "
        "Turn off when separate `uflpa worker` processes do it.",
    )
    webhook_allow_private_networks: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback or private addresses (off: SSRF guard).",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_base_seconds: float = Field(default=5.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A claimed delivery not finished within this time is retried elsewhere.",
    )
    jobs_poll_seconds: float = Field(default=2.0, gt=0)
    job_stale_seconds: float = Field(
        default=60.0,
        gt=0,
        description="SQLite: a running job without a heartbeat this long is resumed.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    replay_cache_size: int = Field(
        default=4,
        ge=1,
        le=64,
        description="How many rebuilt list indexes replay keeps (each holds a whole list set).",
    )

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'uflpa.db').as_posix()}"

    @property
    def resolved_documents_dir(self) -> Path:
        return self.documents_dir if self.documents_dir is not None else self.data_dir / "documents"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
