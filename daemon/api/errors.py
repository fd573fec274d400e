"""Every error answers JSON `{"status_code", "detail"}` with a detail a person can act on."""

from __future__ import annotations

import asyncpg
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from daemon.db_faults import database_unavailable, refused_before_writing

log = structlog.get_logger(__name__)

# What a client is told to wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 2


class ConflictError(HTTPException):
    status_code = 409


class TooManyRequests(HTTPException):
    status_code = 429


class ServiceUnavailable(HTTPException):
    status_code = 503


def database_away(detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def order_not_recorded(exc: Exception, client_order_id: str | None) -> HTTPException | None:
    """The answer to an order the recorder could not record, or None if `exc` is a bug."""
    if database_unavailable(exc):
        if refused_before_writing(exc):
            return database_away(
                f"the database is unavailable: your order was not recorded; "
                f"send it again in {RETRY_AFTER_SECONDS} s"
            )
        retry = (
            f"retry with the same client_order_id {client_order_id!r}"
            if client_order_id is not None
            else "look for it in GET /api/orders before sending it again (send a "
            "client_order_id to make retries safe)"
        )
        return database_away(
            "the database went away while recording your order: it is unknown whether it was "
            f"recorded; {retry} in {RETRY_AFTER_SECONDS} s"
        )
    if isinstance(exc, asyncpg.ForeignKeyViolationError) and "user" in (exc.constraint_name or ""):
        return NotAuthorizedException(
            "the account this token was issued to no longer exists: the order was not recorded",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError):
        return ClientException(f"the order was not recorded: {exc.message}")
    return None


def _body(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return Response({"status_code": status, "detail": detail}, status_code=status, headers=headers)


def validation_error(_: Request, exc: ValidationException) -> Response:
    """Name the field and the problem instead of Litestar's generic 'Validation failed'."""
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            where = item.get("key") or item.get("source") or ""
            message = str(item.get("message", "")).strip()
            problems.append(f"{where}: {message}" if where and where not in message else message)
    detail = "; ".join(p for p in problems if p) or exc.detail or "invalid request"
    return _body(400, detail)


def http_error(_: Request, exc: HTTPException) -> Response:
    return _body(exc.status_code, exc.detail, exc.headers)


def too_deeply_nested(_: Request, exc: RecursionError) -> Response:
    # msgspec gives up on JSON nested thousands deep with RecursionError, before any handler.
    return _body(400, "the JSON body is nested too deeply; send a flat object")


def unexpected_error(request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        log.warning("database_unavailable", method=request.method, path=request.url.path,
                    error=repr(exc))  # fmt: skip
        detail = (
            "the database is unavailable right now: nothing was recorded"
            if refused_before_writing(exc)
            else "the database went away while answering: a change you asked for may or may "
            "not have been recorded; look before you send it again"
        )
        return http_error(request, database_away(f"{detail}; try again in {RETRY_AFTER_SECONDS} s"))
    log.exception("unhandled_error", method=request.method, path=request.url.path)
    return _body(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; it has been logged")


HANDLERS = {
    ValidationException: validation_error,
    HTTPException: http_error,
    RecursionError: too_deeply_nested,
    Exception: unexpected_error,
}
