"""The last-resort answer of an HTTP request that ends without one: JSON, never uvicorn's text.

Litestar answers every error itself; what escapes it is a request cut short — above all one
still running when a stop signal's grace period runs out, which uvicorn cancels and would answer
with a plain-text 500. Such a request may or may not have done its work (an order may have been
recorded), so the answer is a 503 that says so and asks for a retry with the same
client_order_id.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from msgspec import json

UNFINISHED_DETAIL = (
    "the server stopped before it finished this request, so its outcome is unknown; try again "
    "in a few seconds (an order with the same client_order_id, which cannot fill twice)"
)
_BODY = json.encode({"status_code": 503, "detail": UNFINISHED_DETAIL})
_START: Message = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BODY)).encode()),
        (b"retry-after", b"5"),
        (b"connection", b"close"),
    ],
}


def answer_unfinished(app: ASGIApp) -> ASGIApp:
    """`app`, plus a JSON 503 for any HTTP request that raises (or is cancelled) unanswered."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, receive, tracked)
        except BaseException:
            if not started:
                # Awaiting here is fine: the cancellation has been delivered, and the answer is
                # written to the transport before the server closes it.
                await send(_START)
                await send({"type": "http.response.body", "body": _BODY, "more_body": False})
            raise

    return guarded
