"""FastAPI dependencies: database session, the assessor, the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.api.ratelimit import KeyRateLimiter
from app.api.schemas.text import NUL_REASON, holds_nul
from app.errors import Forbidden, Unauthorized, Unprocessable
from app.services.assessor import Assessor
from app.services.group_writer import GroupWriter
from app.services.keys import authenticate
from app.services.principal import Principal, Role
from app.services.principal_cache import PrincipalCache
from app.settings import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Services own commits; this only guarantees the session is closed (rolling back
    # anything left uncommitted by a failed request). Creating a session does no I/O, and
    # closing one does only when a transaction is still open: only then is it worth a
    # hand-off to the thread pool.
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


# The cheap dependencies are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hand-off that costs more than these functions themselves.
async def get_assessor(request: Request) -> Assessor:
    assessor: Assessor = request.app.state.assessors.current
    return assessor


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_group_writer(request: Request) -> GroupWriter:
    writer: GroupWriter = request.app.state.group_writer
    return writer


SessionDep = Annotated[Session, Depends(get_session)]
AssessorDep = Annotated[Assessor, Depends(get_assessor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
GroupWriterDep = Annotated[GroupWriter, Depends(get_group_writer)]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer <key>`")


def _authenticate(request: Request, presented: str) -> Principal:
    # Its own short session: on SQLite every transaction holds the database's write lock
    # (BEGIN IMMEDIATE), so the look-up must not share the request's session and keep it.
    with request.app.state.sessionmaker() as session:
        return authenticate(session, presented)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "send the API key as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    cache: PrincipalCache = request.app.state.principal_cache
    principal = cache.get(credentials.credentials)
    if principal is None:
        principal = await run_in_threadpool(_authenticate, request, credentials.credentials)
        cache.put(credentials.credentials, principal)
    request.state.key_id = principal.key_prefix
    limiter: KeyRateLimiter = request.app.state.rate_limiter
    if limiter.in_memory:
        limiter.check(principal.key_prefix)
    else:
        await run_in_threadpool(limiter.check, principal.key_prefix)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must hold one of `roles`."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this endpoint needs one of the roles: {allowed}")
        return principal

    return check


def _query_param_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_param_names(sub)
    return names


def _list_query_param_names(dependant: Dependant) -> set[str]:
    """Query parameters declared as lists (which may repeat)."""
    names = set()
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        options = (
            get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
        )
        if any(get_origin(option) in (list, tuple, set, frozenset) for option in options):
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= _list_query_param_names(sub)
    return names


QueryParamsByRoute = dict[int, tuple[Dependant, frozenset[str], frozenset[str]]]


def _allowed_query_params(
    known_by_route: QueryParamsByRoute, dependant: Dependant
) -> tuple[frozenset[str], frozenset[str]]:
    """(every query parameter, those that may repeat) of a route: fixed once routes exist,
    so worked out once per route rather than on every request. (Dependant is not
    hashable; the entry keeps it, so its id cannot be reused by another object.)"""
    known = known_by_route.get(id(dependant))
    if known is None or known[0] is not dependant:
        known = (
            dependant,
            frozenset(_query_param_names(dependant)),
            frozenset(_list_query_param_names(dependant)),
        )
        known_by_route[id(dependant)] = known
    return known[1], known[2]


async def reject_unknown_query_params(request: Request) -> None:
    """Unknown query parameters are refused, as unknown body fields are: a typo such as
    `?stauts=detained` must not silently return every shipment."""
    if not request.query_params:
        return
    with_nul = sorted(
        {name for name, value in request.query_params.multi_items() if holds_nul(value)}
    )
    if with_nul:  # PostgreSQL text cannot hold it: refuse it rather than fail the query
        raise Unprocessable(
            f"query parameter(s) with a NUL character: {', '.join(with_nul)}",
            errors=[{"field": name, "reason": NUL_REASON} for name in with_nul],
        )
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed, repeatable = _allowed_query_params(request.app.state.query_params_by_route, dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise Unprocessable(
            f"unknown query parameter(s): {', '.join(unknown)}",
            errors=[{"field": name, "reason": "unknown query parameter"} for name in unknown],
        )
    repeated = sorted(
        name
        for name in set(request.query_params) - repeatable
        if len(request.query_params.getlist(name)) > 1
    )
    if repeated:
        raise Unprocessable(
            f"query parameter(s) given more than once: {', '.join(repeated)}",
            errors=[{"field": name, "reason": "given more than once"} for name in repeated],
        )
