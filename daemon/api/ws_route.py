"""WS /ws: subscribe to tickers, authenticate, receive quotes, candles and one's own orders.

Close codes: 1000 normal; 1003 a frame that is not JSON text; 1008 (policy) a bad token, or
one that expired or was revoked while connected (checked every TOKEN_RECHECK and at expiry);
1009 a frame over 64 KiB. A malformed op is answered with an error message, not a close.
"""

from __future__ import annotations

from datetime import timedelta

import anyio
import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from daemon.api.context import ApiContext, ctx
from daemon.api.ws_hub import ALL, WsClient, encode
from daemon.api.ws_messages import (
    Auth,
    Authenticated,
    ClientOp,
    ErrorMessage,
    Heartbeat,
    Ping,
    Pong,
    Subscribe,
    Subscribed,
    Unsubscribe,
)
from daemon.token_check import check_token
from daemon.tokens import LEEWAY, Claims, TokenError

log = structlog.get_logger(__name__)
HEARTBEAT = timedelta(seconds=15)
TOKEN_RECHECK = timedelta(seconds=5)  # a revoked token's socket closes within this long
MAX_FRAME = 64 * 1024
# ASGI extension of our HTTP server (daemon/actors/http_server.py): {"type": SEND_BATCH,
# "texts": [...]} sends each text as its own frame, all in one socket write; a tuple may be the
# very one other clients get too (WsClient.take), so the server may frame it once. Without the
# extension every message is its own ASGI send and system call: 1,000 clients cannot afford it.
SEND_BATCH = "papertrade.websocket.send_batch"
# A second extension: {"write": callable(texts) -> bool} writes texts as frames at once, without
# the socket's own task, if the socket is open, uncompressed and not held back by flow control
# (False: it wrote nothing). The hub hands a market burst to 1,000 clients so, without waking
# 1,000 tasks (WsClient.push_market).
WRITE_NOW = "papertrade.websocket.write_now"
_decoder = msgspec.json.Decoder(ClientOp)


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Session:
    """The token a socket authenticated with, and why it must close (set by any task)."""

    def __init__(self) -> None:
        self.token: str | None = None
        self.claims: Claims | None = None
        self.close: _Close | None = None
        self.authenticated = anyio.Event()


@websocket("/ws")
async def ws_endpoint(socket: WebSocket) -> None:
    context = ctx(socket.app.state)
    await socket.accept()
    client = context.hub.connect()
    client.write_now = ((socket.scope.get("extensions") or {}).get(WRITE_NOW) or {}).get("write")
    session = _Session()
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_send_loop, socket, client, tg.cancel_scope)
            tg.start_soon(_watch_token, context, session, tg.cancel_scope)
            try:
                token = socket.query_params.get("token")
                if token:
                    await _authenticate(context, client, session, token)
                await _receive_loop(socket, context, client, session)
            except _Close as exc:
                session.close = exc
            except WebSocketDisconnect:
                pass
            tg.cancel_scope.cancel()
        close = session.close
        if close is not None:
            with anyio.move_on_after(1, shield=True):
                await socket.send_text(encode(ErrorMessage(close.reason)))
                await socket.close(code=close.code, reason=close.reason[:120])
    except (WebSocketDisconnect, RuntimeError):
        pass  # the peer went away while we closed
    finally:
        context.hub.disconnect(client)


async def _send_loop(socket: WebSocket, client: WsClient, scope: anyio.CancelScope) -> None:
    send = socket.send  # plain ASGI events: send_text's two extra layers cost per message
    batched = SEND_BATCH in (socket.scope.get("extensions") or {})
    try:
        while True:
            with anyio.move_on_after(HEARTBEAT.total_seconds()) as idle:
                await client.wakeup.wait()
            batch = client.take()
            if not batch:
                if not idle.cancelled_caught:
                    continue  # woken for what an earlier batch already carried
                batch = [encode(Heartbeat(ts=_now(socket)))]
            client.sending = True  # nothing is written around this batch meanwhile (order)
            try:
                if batched:
                    await send({"type": SEND_BATCH, "texts": batch})  # type: ignore[typeddict-item]
                else:
                    for text in batch:
                        await send({"type": "websocket.send", "text": text})
            finally:
                client.sending = False
    except (WebSocketDisconnect, RuntimeError, OSError):
        scope.cancel()  # the peer is gone: stop receiving too


def _now(socket: WebSocket):  # type: ignore[no-untyped-def]
    return ctx(socket.app.state).platform.clock.now()


async def _watch_token(context: ApiContext, session: _Session, scope: anyio.CancelScope) -> None:
    """Close the socket (1008) once its token expires or is revoked."""
    await session.authenticated.wait()
    while True:
        claims = session.claims
        assert claims is not None
        assert session.token is not None
        until_expiry = claims.expires_at + LEEWAY - context.platform.clock.now()
        wait = min(TOKEN_RECHECK, until_expiry + timedelta(milliseconds=10))
        await anyio.sleep(max(wait.total_seconds(), 0))
        try:
            session.claims = await check_token(session.token, context.verifier, context.accounts)
        except TokenError as exc:
            session.close = _Close(1008, str(exc))
            scope.cancel()
            return


async def _receive_loop(
    socket: WebSocket, context: ApiContext, client: WsClient, session: _Session
) -> None:
    while True:
        message = await socket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            raise _Close(1003, "send JSON text frames")
        if len(text) > MAX_FRAME:
            raise _Close(1009, "frame too large: at most 64 KiB")
        try:
            op = _decoder.decode(text)
        except msgspec.DecodeError as exc:
            client.push(encode(ErrorMessage(f"bad message: {exc}")), droppable=False)
            continue
        await _handle(context, client, session, op)


async def _handle(context: ApiContext, client: WsClient, session: _Session, op: ClientOp) -> None:
    hub = context.hub
    match op:
        case Subscribe(tickers=tickers) | Unsubscribe(tickers=tickers):
            unknown = [t for t in tickers if t != ALL and t not in context.platform.instruments]
            if unknown:
                client.push(
                    encode(
                        ErrorMessage(f"unknown ticker ids {unknown[:5]}; see GET /api/instruments")
                    ),
                    droppable=False,
                )
                return
            if isinstance(op, Subscribe):
                client.push(
                    encode(Subscribed(sorted(set(tickers) | client.tickers))), droppable=False
                )
                hub.subscribe(client, tickers)
            else:
                hub.unsubscribe(client, tickers)
                client.push(encode(Subscribed(sorted(client.tickers))), droppable=False)
        case Auth(token=token):
            await _authenticate(context, client, session, token)
        case Ping():
            client.push(encode(Pong()), droppable=False)


async def _authenticate(
    context: ApiContext, client: WsClient, session: _Session, token: str
) -> None:
    try:
        claims = await check_token(token, context.verifier, context.accounts)
    except TokenError as exc:
        raise _Close(1008, str(exc)) from None
    session.token, session.claims = token, claims
    session.authenticated.set()
    context.hub.authenticate(client, claims.user_id)
    client.push(encode(Authenticated(ok=True, user_id=str(claims.user_id))), droppable=False)
