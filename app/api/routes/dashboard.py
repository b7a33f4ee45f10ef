"""The auditor's dashboard: read-only HTML pages over the auditor JSON API.

The pages themselves hold no data, so serving them needs no key. The browser keeps the key
the auditor pastes in sessionStorage (gone when the tab closes) and sends it as a Bearer
header on every fetch to /v1, where the role check happens: an importer key is refused there
(403) and the login form says so. A strict Content-Security-Policy (scripts only from this
origin, no inline script) is what keeps a key in sessionStorage safe from injected script;
the scripts render every value with textContent, never as HTML.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=SECURITY_HEADERS)


@router.get("/dashboard")
def dashboard() -> FileResponse:
    return _page("dashboard.html")


@router.get("/dashboard/shipments/{shipment_id}")
def dashboard_shipment(shipment_id: uuid.UUID) -> FileResponse:
    # The id is validated here; the page reads it from its own URL and fetches the data.
    return _page("shipment.html")


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
