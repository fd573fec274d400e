"""Structured access log lines for any ASGI app: method, path, status, milliseconds, client.

Tokens never reach a log: our lines carry the path without its query string, and uvicorn's
own lines (e.g. 'WebSocket /ws?token=...' [accepted]) pass through TokenRedaction.
"""

from __future__ import annotations

import logging
import re
import time

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("papertrade.access")
_SECRETS = (
    (re.compile(r"([?&](?:access_)?token=)[^&\s\"']*"), r"\1[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"), "[redacted-jwt]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class TokenRedaction(logging.Filter):
    """Rewrites a record's message with tokens (query parameters, bearer values, JWTs) removed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_REDACTION = TokenRedaction()


def access_log(app: ASGIApp) -> ASGIApp:
    """Structured access log lines: method, path, status, milliseconds."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        if _REDACTION not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_REDACTION)

    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            log.info(
                "http_request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
                client=(scope.get("client") or ("", 0))[0],
            )

    return logged
