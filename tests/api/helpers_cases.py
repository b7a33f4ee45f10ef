"""Helpers shared by the documents and cases API tests."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.db.models import (
    Assessment,
    Decision,
    Determination,
    Document,
    Rebuttal,
    RebuttalDocument,
    Shipment,
)
from app.db.session import make_engine, make_sessionmaker
from app.settings import Settings
from tests.api.conftest import auth

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)


def pdf(tag: str) -> bytes:
    """A distinct small PDF per tag (distinct bytes -> distinct blobs)."""
    return PDF + f"% {tag}\n".encode()


def xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def upload(
    client: TestClient,
    key: str,
    data: bytes,
    *,
    name: str = "licence.pdf",
    media_type: str = "application/pdf",
    importer: str | None = None,
) -> Any:
    form = {"importer": importer} if importer is not None else None
    return client.post(
        "/v1/documents",
        files={"file": (name, data, media_type)},
        data=form,
        headers=auth(key),
    )


def counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (
                    Shipment,
                    Assessment,
                    Decision,
                    Document,
                    Rebuttal,
                    RebuttalDocument,
                    Determination,
                )
            }
    finally:
        engine.dispose()
