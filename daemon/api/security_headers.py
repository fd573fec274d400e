"""Content-Security-Policy and frame headers on every answer: the web app, the API, the docs.

The policy allows this origin only. The web app's inline scripts (the theme bootstrap in
index.html) are allowed by their sha256 hash, computed from the built file, like
ops/container/csp-header.mjs does for the edge's nginx. Websockets to this origin are covered
by 'self' (CSP Level 3 matches ws:/wss: of the same host).
"""

from __future__ import annotations

import base64
import hashlib
import re

from litestar.types import Message, Scope

_INLINE_SCRIPT = re.compile(rb"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.I | re.S)


def content_security_policy(index_html: bytes | None) -> str:
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(index_html or b"")
    ]
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *hashes]),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(policy: str):  # type: ignore[no-untyped-def]
    """A Litestar `before_send` hook adding the headers to each response start."""
    fixed = [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]

    async def add(message: Message, scope: Scope) -> None:
        # Appended as they are (no handler sets these): this runs for every answer.
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *fixed]

    return add
