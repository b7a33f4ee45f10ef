"""Evidence documents: multipart upload, metadata, content download."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from app.api.deps import PrincipalDep, SessionDep, SettingsDep
from app.errors import Unprocessable, UnsupportedMediaType
from app.services import documents as service
from app.services.storage import CHUNK_BYTES, DocumentStore

router = APIRouter(tags=["documents"])


def get_document_store(request: Request) -> DocumentStore:
    store: DocumentStore = request.app.state.document_store
    return store


StoreDep = Annotated[DocumentStore, Depends(get_document_store)]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    404: {"description": "No such document for this caller"},
}

_UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "importer": {
                            "type": "string",
                            "description": "Owning importer (required for broker and admin keys)",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/documents",
    status_code=201,
    openapi_extra=_UPLOAD_SCHEMA,
    responses={
        **PROBLEMS,
        200: {"description": "The same bytes were already uploaded for this importer"},
        413: {"description": "Larger than the upload limit"},
        415: {"description": "Media type not accepted, or content does not match it"},
        422: {"description": "Missing file or importer"},
    },
)
async def upload_document(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Upload one evidence file (PDF, PNG/JPEG/TIFF/WebP, XLSX/XLS/ODS, CSV, text, XML, JSON).

    Returns id, sha256, size and media type. The same bytes uploaded again for the same
    importer return the existing record (200)."""
    # Authentication is done; end its (SQLite: write-locking) transaction before the body,
    # which may be large and slow, is received.
    await run_in_threadpool(session.rollback)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "upload the document as multipart/form-data with a `file` part",
            errors=[{"field": "body", "reason": "expected multipart/form-data"}],
        )
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        importer = form.get("importer")
        if not isinstance(upload, UploadFile):
            raise Unprocessable(
                "no file in the upload", errors=[{"field": "file", "reason": "required"}]
            )
        if importer is not None and not isinstance(importer, str):
            raise Unprocessable(
                "importer must be a text field",
                errors=[{"field": "importer", "reason": "not a text field"}],
            )
        document, created = await run_in_threadpool(
            service.upload_document,
            session,
            store,
            principal,
            stream=upload.file,
            declared_type=upload.content_type,
            filename=upload.filename,
            importer_name=importer.strip() if importer else None,
            max_bytes=settings.max_upload_bytes,
        )
    return JSONResponse(
        jsonable_encoder(service.describe(document)),
        status_code=201 if created else 200,
        headers={"Location": f"/v1/documents/{document.id}"},
    )


@router.get("/documents/{document_id}", responses=PROBLEMS)
def get_document(
    document_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    return service.describe(service.get_document(session, principal, document_id))


@router.get(
    "/documents/{document_id}/content",
    responses={**PROBLEMS, 200: {"description": "The bytes as uploaded"}},
    response_class=StreamingResponse,
)
def get_document_content(
    document_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, store: StoreDep
) -> StreamingResponse:
    document = service.get_document(session, principal, document_id)
    handle = store.open(document.sha256)

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    name = document.original_name
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
    return StreamingResponse(
        chunks(),
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size),
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(name)}",
            "ETag": f'"{document.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "X-Content-SHA256": document.sha256,
        },
    )
