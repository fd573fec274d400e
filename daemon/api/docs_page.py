"""The API reference at /schema: one page rendered here from the OpenAPI schema, no script.

It replaces a documentation viewer loaded from a CDN on the origin that keeps the login token
(issue 9 item 12): nothing from a third party runs here. The machine-readable schema is at
/schema/openapi.json for any viewer one likes to point at it.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
    "line-height:1.45}code{font-size:.95em}.op{border-top:1px solid #8884;padding:.6em 0}"
    ".m{display:inline-block;min-width:4.5em;font-weight:700}"
)


def _operation(path: str, method: str, operation: dict[str, Any]) -> str:
    summary = escape(operation.get("summary") or "")
    description = escape(operation.get("description") or "")
    statuses = ", ".join(escape(code) for code in operation.get("responses", {}))
    return (
        f'<div class="op"><span class="m">{method.upper()}</span><code>{escape(path)}</code>'
        f" — {summary}<br><small>{description} answers: {statuses}</small></div>"
    )


class DocsPage(OpenAPIRenderPlugin):
    def __init__(self) -> None:
        super().__init__(path="/", media_type="text/html")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        info = openapi_schema.get("info", {})
        operations = [
            _operation(path, method, item[method])
            for path, item in sorted(openapi_schema.get("paths", {}).items())
            for method in _METHODS
            if method in item
        ]
        return (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            f"<title>{escape(info.get('title', 'API'))} API</title><style>{_STYLE}</style>"
            f"<h1>{escape(info.get('title', 'API'))} API {escape(info.get('version', ''))}</h1>"
            f"<p>{escape(info.get('description', ''))}</p>"
            '<p>The full schema: <a href="/schema/openapi.json">/schema/openapi.json</a>.</p>'
            + "".join(operations)
            + "</html>"
        ).encode()
