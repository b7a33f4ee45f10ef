"""ASGI middleware: request id, access log, Prometheus metrics, request body cap."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import get_logger

log = get_logger("app.access")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "uflpa_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "uflpa_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.group_size = Histogram(
            "uflpa_group_commit_shipments",
            "New shipments written per group-commit transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.group_retries = Counter(
            "uflpa_group_commit_retries_total",
            "Groups that failed and were written again one shipment per transaction",
            registry=self.registry,
        )


def _problem_bytes(status: int, slug: str, title: str, detail: str) -> bytes:
    body = {"type": f"urn:uflpa:problem:{slug}", "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode()


BULK_PATHS = frozenset({"/v1/shipments/batch", "/v1/shipments/import"})


class BodyTooLarge(Exception):
    pass


class RequestContextMiddleware:
    """Binds a request id, caps the body size, records metrics and one access-log line."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        max_body_bytes: int,
        max_upload_bytes: int,
        max_batch_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_batch_body_bytes = max_batch_body_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = (
            incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        content_type = headers.get("content-type", "")
        if scope.get("path") in BULK_PATHS and scope.get("method") == "POST":
            # Batches and CSV imports carry up to 1,000 shipments: their own, larger cap.
            limit = self.max_batch_body_bytes
        elif content_type.startswith("multipart/"):
            limit = self.max_upload_bytes
        else:
            limit = self.max_body_bytes
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        declared = headers.get("content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await self._reject(send_wrapper, 413, limit)
            else:
                received = 0

                async def limited_receive() -> Message:
                    nonlocal received
                    message = await receive()
                    if message["type"] == "http.request":
                        received += len(message.get("body", b""))
                        if received > limit:
                            raise BodyTooLarge()
                    return message

                try:
                    await self.app(scope, limited_receive, send_wrapper)
                except BodyTooLarge:
                    await self._reject(send_wrapper, 413, limit)
        finally:
            elapsed = time.perf_counter() - started
            route = self._route(scope)
            status = status_holder["status"]
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                ms=round(elapsed * 1000, 2),
                key_id=scope.get("state", {}).get("key_id"),
            )
            structlog.contextvars.clear_contextvars()

    @staticmethod
    def _route(scope: Scope) -> str:
        """The route template (/v1/shipments/{shipment_id}), never the raw path, so the
        metric's label set stays bounded."""
        if scope.get("route") is None:
            return "unmatched"
        params: dict[str, Any] = scope.get("path_params") or {}
        names_by_value = {str(v): k for k, v in params.items()}
        segments = [
            f"{{{names_by_value[seg]}}}" if seg in names_by_value else seg
            for seg in str(scope["path"]).split("/")
        ]
        return "/".join(segments)

    @staticmethod
    async def _reject(send: Any, status: int, limit: int) -> None:
        body = _problem_bytes(
            status, "payload-too-large", "Request body too large", f"the limit is {limit} bytes"
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
