"""Every error answers JSON `{"status_code", "detail"}` with a detail a person can act on."""

from __future__ import annotations

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = structlog.get_logger(__name__)


class ConflictError(HTTPException):
    status_code = 409


class TooManyRequests(HTTPException):
    status_code = 429


class ServiceUnavailable(HTTPException):
    status_code = 503


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
    log.exception("unhandled_error", method=request.method, path=request.url.path)
    return _body(HTTP_500_INTERNAL_SERVER_ERROR, "internal error; it has been logged")


HANDLERS = {
    ValidationException: validation_error,
    HTTPException: http_error,
    RecursionError: too_deeply_nested,
    Exception: unexpected_error,
}
