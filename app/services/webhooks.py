"""Webhooks: subscriptions, the transactional outbox, and the dispatcher that delivers it.

Every decision that changes what a client should know (an assessment, a re-assessment, a
determination, a re-screen) writes one `outbox_events` row and one `webhook_deliveries` row
per subscribed webhook **in the same transaction as the decision**, so an event exists if and
only if its change was committed, and a restart loses nothing. A dispatcher (a thread in the
service, or `uflpa worker`) claims due deliveries, signs and POSTs them, and retries with
exponential back-off and jitter. Delivery is at-least-once; the event id is stable across
attempts so receivers can de-duplicate.

Signature: `X-UFLPA-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>` with
`X-UFLPA-Timestamp` (Unix seconds) and `X-UFLPA-Event-Id`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import ssl
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Protocol
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

import httpx
from sqlalchemy import Connection, Dialect, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import table_of, utcnow
from app.db.bulk import DeferredRows, deferred_query
from app.db.models import (
    Importer,
    OutboxEvent,
    Shipment,
    Webhook,
    WebhookDelivery,
    WebhookImporter,
)
from app.errors import Forbidden, NotFound, Unprocessable
from app.logs import get_logger
from app.services.destinations import (
    RefusedDestination,
    private_destination_reason,
    proxy_for,
    resolve_destination,
)
from app.services.principal import Principal, Role

log = get_logger("app.webhooks")

ASSESSED = "shipment.assessed"
REASSESSED = "shipment.reassessed"
DETERMINED = "shipment.determined"
RESCREENED = "shipment.rescreened"
EVENT_TYPES = (ASSESSED, REASSESSED, DETERMINED, RESCREENED)

# Decision kinds (decision log) -> the event clients subscribe to. Kinds not named here are
# re-assessments of some other cause (for example a rebuttal) and report as `reassessed`.
_EVENT_BY_DECISION_KIND = {
    "assessment": ASSESSED,
    "rescreen": RESCREENED,
    "determination": DETERMINED,
    "deemed_excluded": DETERMINED,
}

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"  # the webhook was disabled before the delivery went out

ROLES_WITH_WEBHOOKS = (Role.IMPORTER, Role.BROKER, Role.ADMIN)
MIN_SECRET_LENGTH = 16


def event_type_for_decision(kind: str) -> str:
    return _EVENT_BY_DECISION_KIND.get(kind, REASSESSED)


# --- subscriptions ----------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookView:
    webhook: Webhook
    importers: list[str]

    def to_dict(self) -> dict[str, Any]:
        w = self.webhook
        return {
            "id": str(w.id),
            "url": w.url,
            "events": list(w.events),
            "importers": None if w.covers_all_importers else self.importers,
            "all_importers": w.covers_all_importers,
            "description": w.description,
            "active": w.active,
            "created_at": w.created_at,
            "disabled_at": w.disabled_at,
        }


def _validate_url(url: str, allow_private: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Unprocessable(
            "webhook url must be an absolute http(s) URL",
            errors=[{"field": "url", "reason": "absolute http or https URL required"}],
        )
    reason = None if allow_private else private_destination_reason(url)
    if reason is not None:
        raise Unprocessable(
            f"webhook url refused: {reason}",
            errors=[{"field": "url", "reason": f"{reason} (UFLPA_WEBHOOK_ALLOW_PRIVATE_NETWORKS)"}],
        )
    return url


def create_webhook(
    session: Session,
    principal: Principal,
    *,
    url: str,
    events: Sequence[str],
    secret: str | None,
    importers: Sequence[str] | None,
    description: str | None,
    allow_private: bool = False,
) -> tuple[WebhookView, str]:
    """Store a subscription. Returns the view and the secret (shown to the caller once)."""
    if principal.role not in ROLES_WITH_WEBHOOKS:
        raise Forbidden(f"a {principal.role.value} key cannot register webhooks")
    _validate_url(url, allow_private)
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise Unprocessable(
            "unknown or missing event types",
            errors=[{"field": "events", "reason": f"one or more of {list(EVENT_TYPES)}"}],
        )
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise Unprocessable(
            "secret too short",
            errors=[{"field": "secret", "reason": f"at least {MIN_SECRET_LENGTH} characters"}],
        )
    covered: list[Importer] = []
    covers_all = False
    if principal.role is Role.ADMIN and not importers:
        covers_all = True
    elif importers:
        rows = {
            i.name: i for i in session.scalars(select(Importer).where(Importer.name.in_(importers)))
        }
        for name in importers:
            row = rows.get(name)
            if row is None or not principal.can_see(row.id):
                raise Forbidden(
                    f"this key does not act for importer '{name}'",
                    errors=[{"field": "importers", "reason": f"'{name}' is not yours"}],
                )
            covered.append(row)
    else:
        covered = list(
            session.scalars(select(Importer).where(Importer.id.in_(principal.importer_ids)))
        )
    plaintext = secret or f"whsec_{secrets.token_urlsafe(32)}"
    webhook = Webhook(
        url=url,
        events=sorted(set(events)),
        secret=plaintext,
        description=description,
        covers_all_importers=covers_all,
        active=True,
        created_by_key_id=None if principal.key_id.int == 0 else principal.key_id,
        created_at=utcnow(),
    )
    session.add(webhook)
    session.flush()
    for importer in covered:
        session.add(WebhookImporter(webhook_id=webhook.id, importer_id=importer.id))
    session.commit()
    log.info("webhook_created", webhook_id=str(webhook.id), events=webhook.events)
    return WebhookView(webhook, sorted(i.name for i in covered)), plaintext


def _importer_names(
    session: Session, webhook_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    names: dict[uuid.UUID, list[str]] = {w: [] for w in webhook_ids}
    if webhook_ids:
        rows = session.execute(
            select(WebhookImporter.webhook_id, Importer.name)
            .join(Importer, Importer.id == WebhookImporter.importer_id)
            .where(WebhookImporter.webhook_id.in_(webhook_ids))
        )
        for webhook_id, name in rows:
            names[webhook_id].append(name)
    return {k: sorted(v) for k, v in names.items()}


def _visible(session: Session, principal: Principal, webhook: Webhook) -> bool:
    if principal.sees_all:
        return principal.role is Role.ADMIN or not webhook.covers_all_importers
    if webhook.covers_all_importers:
        return False
    covered = set(
        session.scalars(
            select(WebhookImporter.importer_id).where(WebhookImporter.webhook_id == webhook.id)
        )
    )
    return bool(covered) and covered <= principal.importer_ids


def list_webhooks(session: Session, principal: Principal) -> list[WebhookView]:
    rows = [
        w
        for w in session.scalars(select(Webhook).order_by(Webhook.created_at, Webhook.id))
        if _visible(session, principal, w)
    ]
    names = _importer_names(session, [w.id for w in rows])
    return [WebhookView(w, names[w.id]) for w in rows]


def get_webhook(session: Session, principal: Principal, webhook_id: uuid.UUID) -> WebhookView:
    webhook = session.get(Webhook, webhook_id)
    # 404, not 403: other tenants' webhook ids must not leak.
    if webhook is None or not _visible(session, principal, webhook):
        raise NotFound(f"no webhook {webhook_id}")
    return WebhookView(webhook, _importer_names(session, [webhook.id])[webhook.id])


def disable_webhook(session: Session, principal: Principal, webhook_id: uuid.UUID) -> WebhookView:
    view = get_webhook(session, principal, webhook_id)
    if principal.role not in ROLES_WITH_WEBHOOKS:
        raise Forbidden(f"a {principal.role.value} key cannot disable webhooks")
    webhook = view.webhook
    if webhook.active:
        webhook.active = False
        webhook.disabled_at = utcnow()
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.status == PENDING)
            .values(status=CANCELLED)
        )
        session.commit()
    return view


def list_deliveries(
    session: Session, principal: Principal, webhook_id: uuid.UUID, *, limit: int = 100
) -> list[dict[str, Any]]:
    get_webhook(session, principal, webhook_id)
    rows = session.execute(
        select(WebhookDelivery, OutboxEvent.type)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    return [
        {
            "id": str(d.id),
            "event_id": str(d.event_id),
            "event_type": event_type,
            "status": d.status,
            "attempts": d.attempts,
            "last_status_code": d.last_status_code,
            "last_error": d.last_error,
            "created_at": d.created_at,
            "last_attempt_at": d.last_attempt_at,
            "next_attempt_at": d.next_attempt_at if d.status == PENDING else None,
            "delivered_at": d.delivered_at,
        }
        for d, event_type in rows
    ]


# --- the outbox -------------------------------------------------------------------------


_WEBHOOKS = table_of(Webhook)
_WEBHOOK_IMPORTERS = table_of(WebhookImporter)
# Built once, run as Core: it runs for every write that records a decision.
_SUBSCRIBERS = (
    select(_WEBHOOKS.c.id, _WEBHOOKS.c.events)
    .select_from(
        _WEBHOOKS.outerjoin(_WEBHOOK_IMPORTERS, _WEBHOOK_IMPORTERS.c.webhook_id == _WEBHOOKS.c.id)
    )
    .where(
        _WEBHOOKS.c.active.is_(True),
        or_(
            _WEBHOOKS.c.covers_all_importers.is_(True),
            _WEBHOOK_IMPORTERS.c.importer_id == bindparam("importer_id"),
        ),
    )
)


def subscribers(session: Session, importer_id: uuid.UUID, event_type: str) -> list[uuid.UUID]:
    rows = session.connection().execute(_SUBSCRIBERS, {"importer_id": importer_id})
    return subscribed(rows, event_type)


def subscribed(rows: Iterable[Any], event_type: str) -> list[uuid.UUID]:
    """The webhooks among (id, events) rows that want `event_type`."""
    return sorted({webhook_id for webhook_id, events in rows if event_type in events})


def subscribers_query(connection: Connection, importer_id: uuid.UUID) -> DeferredRows:
    """`subscribers` as a PostgreSQL query that can share a pipeline's round trip; read its
    rows with `subscribed`."""
    return deferred_query(
        connection, _subscribers_sql(connection.dialect), {"importer_id": importer_id}
    )


@lru_cache(maxsize=4)
def _subscribers_sql(dialect: Dialect) -> str:
    return str(_SUBSCRIBERS.compile(dialect=dialect))


def enqueue_event(
    session: Session,
    *,
    event_type: str,
    importer_id: uuid.UUID,
    shipment_id: uuid.UUID | None,
    data: dict[str, Any],
) -> OutboxEvent | None:
    """Add the event and its deliveries to the caller's transaction (the caller commits).

    Nothing is written when no webhook subscribes: there would be no one to deliver to.
    """
    targets = subscribers(session, importer_id, event_type)
    if not targets:
        return None
    return _write_event(session, targets, event_type, importer_id, shipment_id, data)


def _write_event(
    session: Session,
    targets: Sequence[uuid.UUID],
    event_type: str,
    importer_id: uuid.UUID,
    shipment_id: uuid.UUID | None,
    data: dict[str, Any],
) -> OutboxEvent:
    now = utcnow()
    event = OutboxEvent(
        id=uuid.uuid4(),
        type=event_type,
        importer_id=importer_id,
        shipment_id=shipment_id,
        created_at=now,
        payload={},
    )
    event.payload = {
        "id": str(event.id),
        "type": event_type,
        "created_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": data,
    }
    session.add(event)
    session.flush()
    for webhook_id in targets:
        session.add(
            WebhookDelivery(
                event_id=event.id,
                webhook_id=webhook_id,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return event


def decision_subscribers(
    session: Session, shipment: Shipment, decision_kind: str
) -> list[uuid.UUID]:
    """Who wants to hear about a decision of this kind. Called before the decision chain
    is locked, so the look-up does not lengthen the serialised part of every write."""
    return subscribers(session, shipment.importer_id, event_type_for_decision(decision_kind))


class DecisionFields(Protocol):
    """What an event tells of a decision record: a stored row or a just-appended draft."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def risk_score(self) -> int | None: ...
    @property
    def grounds(self) -> list[str]: ...
    @property
    def hash(self) -> str: ...
    @property
    def assessment_id(self) -> uuid.UUID | None: ...


def enqueue_for_decision(
    session: Session,
    shipment: Shipment,
    decision: DecisionFields,
    targets: Sequence[uuid.UUID],
) -> None:
    """One outbox event per decision record, for the subscribers found beforehand (none:
    no write). Runs in the decision's transaction: an event exists iff its decision does."""
    if not targets:
        return
    _write_event(
        session,
        targets,
        event_type_for_decision(decision.kind),
        shipment.importer_id,
        shipment.id,
        {
            "shipment_id": str(shipment.id),
            "reference": shipment.reference,
            "importer": shipment.manifest.get("importer") or shipment.importer.name,
            "status": shipment.status,
            "assessment_id": None
            if decision.assessment_id is None
            else str(decision.assessment_id),
            "decision": {
                "seq": decision.seq,
                "kind": decision.kind,
                "outcome": decision.outcome,
                "risk_score": decision.risk_score,
                "grounds": list(decision.grounds),
                "hash": decision.hash,
            },
        },
    )


# --- delivery ---------------------------------------------------------------------------


def event_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed); the same on every attempt."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    secret: str, timestamp: str, body: bytes, header: str, *, tolerance: float = 300.0
) -> bool:
    """What a receiver does (also used by the tests): constant-time compare, fresh timestamp."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    if age > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))


def backoff_seconds(
    attempts: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Exponential back-off with jitter: between half and all of min(cap, base * 2^(n-1))."""
    ceiling: float = min(cap, base * 2.0 ** max(0, attempts - 1))
    return ceiling * (0.5 + rand() / 2)


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    lease: datetime
    attempts: int
    url: str
    secret: str
    event_id: uuid.UUID
    event_type: str
    body: bytes


@dataclass(frozen=True)
class DispatchSettings:
    timeout_seconds: float = 10.0
    max_attempts: int = 8
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: float = 120.0
    batch_size: int = 50
    allow_private: bool = False  # deliver to loopback/private addresses (tests, closed networks)


# Deliveries keep one connection per receiving host alive for a few seconds, so a burst
# of events (a batch) costs one TCP and TLS handshake, not one per event. Shorter than the
# idle timeouts servers commonly use (5 s and up), so the receiver rarely closes first.
KEEPALIVE_SECONDS = 4.0
MAX_CLIENTS = 32  # receiving hosts with a connection pool at once (least recent dropped)
# An answer is read to its end (which lets its connection carry the next delivery) only if
# it declares a length up to this; otherwise it is never read and its connection closed.
MAX_ANSWER_BYTES = 64 * 1024


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _read_short_answer(response: httpx.Response) -> None:
    """Only the status of an answer matters. A short one of declared length is read so the
    connection can be kept; an endless, chunked or long one is left unread, and closing
    the response closes its connection, so no answer can hold the dispatcher."""
    declared = response.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_ANSWER_BYTES:
        return
    try:
        for _ in response.iter_raw():
            pass
    except httpx.HTTPError:
        return  # the status is known; the connection is closed with the response


class Dispatcher:
    """Claims due deliveries and sends them. Safe to run in several processes at once:
    PostgreSQL claims with FOR UPDATE SKIP LOCKED; SQLite's BEGIN IMMEDIATE serialises the
    claim transaction. A claim pushes `next_attempt_at` forward (the lease), so a delivery
    whose dispatcher died is picked up again once the lease runs out."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: DispatchSettings,
        *,
        verify: ssl.SSLContext | bool = True,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        """`proxies` as `urllib.request.getproxies_environment()` gives them (the default):
        the egress proxy, if any, for each scheme, and `no_proxy`. `verify` is for tests."""
        self._sessions = sessions
        self._settings = settings
        self._verify = verify
        self._proxies = dict(getproxies_environment() if proxies is None else proxies)
        self._clients: OrderedDict[tuple[str | None, str], httpx.Client] = OrderedDict()

    def _client(self, proxy: str | None, host: str) -> httpx.Client:
        """The client for deliveries to `host`, directly (proxy None) or through `proxy`.

        One client per host name, so a kept-alive connection only ever carries requests for
        the name it was opened (and its TLS certificate checked) for: direct requests go to
        a pinned address (see `send`), and httpcore pools connections by scheme, address
        and port, so in a shared pool two names on one address would share connections.
        Proxies are only the ones `proxy_for` chose (httpx's own reading of the environment
        is off): httpx would send pinned requests through a proxy too, and a TLS tunnel
        through one checks the certificate against the pinned address, not the name."""
        key = (proxy, host)
        client = self._clients.pop(key, None)
        if client is None:
            while len(self._clients) >= MAX_CLIENTS:
                _, least_recent = self._clients.popitem(last=False)
                least_recent.close()
            client = httpx.Client(
                timeout=httpx.Timeout(self._settings.timeout_seconds),
                follow_redirects=False,
                limits=httpx.Limits(
                    max_keepalive_connections=1, keepalive_expiry=KEEPALIVE_SECONDS
                ),
                # Receivers are other parties' servers: accept none of their cookies, so
                # nothing one sets is sent on to another.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
                verify=self._verify,
                proxy=proxy,
                trust_env=False,
            )
        self._clients[key] = client  # the most recently used last
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def claim(self) -> list[Claimed]:
        now = utcnow()
        lease = now + timedelta(seconds=self._settings.lease_seconds)
        with self._sessions() as session:
            query = (
                select(WebhookDelivery)
                .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(self._settings.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            deliveries = list(session.scalars(query))
            if not deliveries:
                session.rollback()
                return []
            for delivery in deliveries:
                delivery.next_attempt_at = lease
            webhooks = {
                w.id: w
                for w in session.scalars(
                    select(Webhook).where(Webhook.id.in_({d.webhook_id for d in deliveries}))
                )
            }
            events = {
                e.id: e
                for e in session.scalars(
                    select(OutboxEvent).where(OutboxEvent.id.in_({d.event_id for d in deliveries}))
                )
            }
            claimed: list[Claimed] = []
            for delivery in deliveries:
                webhook = webhooks[delivery.webhook_id]
                if not webhook.active:
                    delivery.status = CANCELLED
                    continue
                event = events[delivery.event_id]
                claimed.append(
                    Claimed(
                        delivery_id=delivery.id,
                        lease=lease,
                        attempts=delivery.attempts,
                        url=webhook.url,
                        secret=webhook.secret,
                        event_id=event.id,
                        event_type=event.type,
                        body=event_body(event.payload),
                    )
                )
            session.commit()
        return claimed

    def send(self, claimed: Claimed) -> tuple[int | None, str | None]:
        """POST the event: the host is resolved once, checked, and the connection goes to
        a checked address (DNS rebinding cannot swap it between check and connect)."""
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "uflpa-webhooks/1",
            "X-UFLPA-Event-Id": str(claimed.event_id),
            "X-UFLPA-Event-Type": claimed.event_type,
            "X-UFLPA-Timestamp": timestamp,
            "X-UFLPA-Signature": sign(claimed.secret, timestamp, claimed.body),
        }
        try:
            url = httpx.URL(claimed.url)
            host = url.raw_host.decode("ascii")  # IDNA-encoded, as httpx would connect to it
        except (httpx.InvalidURL, UnicodeError) as exc:
            return None, f"invalid url: {exc}"[:500]
        proxy = proxy_for(url.scheme, host, self._proxies)
        try:
            addresses = resolve_destination(
                host, url.port, allow_private=self._settings.allow_private
            )
        except RefusedDestination as exc:
            return None, f"refused: {exc}"[:500]
        except (OSError, UnicodeError) as exc:
            if proxy is None:
                return None, f"ConnectError: cannot resolve {host}: {exc}"[:500]
            addresses = []  # behind a proxy, only the proxy may be able to resolve names
        try:
            client = self._client(proxy, host)
        except (ImportError, ValueError):  # a socks:// proxy (no socksio), a bad scheme
            # Not httpx's message: it quotes the proxy's URL, and with it any password
            # it could not recognise as one (user:secret@host without a scheme).
            return None, "egress proxy unusable: only http:// and https:// proxies are supported"
        if proxy is not None:
            # By name: the proxy connects (CONNECT host:port for https, so TLS is checked
            # end to end against the name); it resolves the name again itself.
            request = client.build_request("POST", url, content=claimed.body, headers=headers)
            try:
                return self._post(client, request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                return None, _describe(exc)
        error = "no address"
        for address in addresses:  # in order, to the next only if no connection was made
            # Built for the original URL, so Host (with a non-default port) and every other
            # header are what they always were; then only the address to connect to changes.
            # `sni_hostname` keeps TLS (SNI and the certificate's name check) on the host name.
            request = client.build_request(
                "POST",
                url,
                content=claimed.body,
                headers=headers,
                extensions={"sni_hostname": host},
            )
            request.url = url.copy_with(host=address)
            try:
                return self._post(client, request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = _describe(exc)
        return None, error

    @staticmethod
    def _post(client: httpx.Client, request: httpx.Request) -> tuple[int | None, str | None]:
        """The status and the error to record; raises ConnectError or ConnectTimeout if no
        connection was made (the caller may try another address)."""
        try:
            response = client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.HTTPError as exc:
            return None, _describe(exc)
        try:
            _read_short_answer(response)
        finally:
            response.close()
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def record(self, claimed: Claimed, status_code: int | None, error: str | None) -> str:
        now = utcnow()
        attempts = claimed.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "last_status_code": status_code,
            "last_error": error,
        }
        if error is None:
            values |= {"status": DELIVERED, "delivered_at": now}
        elif attempts >= self._settings.max_attempts:
            values |= {"status": FAILED}
        else:
            delay = backoff_seconds(
                attempts, self._settings.backoff_base_seconds, self._settings.backoff_max_seconds
            )
            values |= {"next_attempt_at": now + timedelta(seconds=delay)}
        with self._sessions() as session:
            # Only while our lease holds: if it ran out and another dispatcher took the
            # delivery, its outcome is the one to keep.
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.delivery_id,
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.next_attempt_at == claimed.lease,
                )
                .values(**values)
            )
            session.commit()
        outcome = str(values.get("status", "retry"))
        log.info(
            "webhook_delivery",
            delivery_id=str(claimed.delivery_id),
            event_id=str(claimed.event_id),
            attempt=attempts,
            status_code=status_code,
            outcome=outcome,
        )
        return outcome

    def run_once(self) -> int:
        claimed = self.claim()
        for item in claimed:
            status_code, error = self.send(item)
            self.record(item, status_code, error)
        return len(claimed)

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception as exc:  # a database hiccup must not kill the dispatcher
                log.warning("webhook_dispatch_failed", error=type(exc).__name__)
                busy = 0
            if not busy:
                stop.wait(poll_seconds)
