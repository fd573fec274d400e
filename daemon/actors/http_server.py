"""The HTTP/websocket actor: uvicorn serving the Litestar app inside the daemon's task group."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Sequence

import anyio
import structlog
import uvicorn
from litestar.types import ASGIApp
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import State

from daemon.api.unfinished import answer_unfinished
from daemon.api.ws_route import SEND_BATCH, WRITE_NOW
from daemon.http_limits import HttpLimits, limited_http_protocol
from daemon.startup import StartupError

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon owns SIGTERM/SIGINT and cancels every actor, this one included.
        yield


_SHORT_HEADERS = [bytes((0x81, n)) for n in range(126)]  # FIN + text, unmasked, length < 126


def _text_frames(texts: Sequence[str]) -> bytes:
    """Server-to-client text frames (RFC 6455 5.2), one per text, uncompressed, concatenated."""
    parts: list[bytes] = []
    for text in texts:
        data = text.encode()
        size = len(data)
        if size < 126:
            parts.append(_SHORT_HEADERS[size])
        elif size < 65536:
            parts.append(b"\x81\x7e" + size.to_bytes(2, "big"))
        else:
            parts.append(b"\x81\x7f" + size.to_bytes(8, "big"))
        parts.append(data)
    return b"".join(parts)


class _WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets protocol plus one ASGI extension, SEND_BATCH: many text messages,
    each its own frame, written to the socket at once (one system call, not one per frame)."""

    _framed: tuple[Sequence[str], bytes] | None = None  # the last tuple of texts, framed

    async def run_asgi(self) -> None:
        self.scope["extensions"][SEND_BATCH] = {}  # type: ignore[index]
        self.scope["extensions"][WRITE_NOW] = {"write": self.write_now}  # type: ignore[index]
        await super().run_asgi()

    def write_now(self, texts: Sequence[str]) -> bool:
        """Write `texts` as frames now, without a task: only to an open, uncompressed socket
        whose transport is not paused (flow control); False if nothing was written."""
        if (
            self.disconnected
            or not self.handshake_complete
            or self.close_sent
            or self.conn.state is not State.OPEN
            or self.conn.extensions
            or not self.writable.is_set()
        ):
            return False
        self.transport.write(self._frames(texts))
        return True

    @staticmethod
    def _frames(texts: Sequence[str]) -> bytes:
        cache = _WebSocketProtocol._framed  # the same burst goes to many clients in a row
        if cache is None or cache[0] is not texts:
            cache = _WebSocketProtocol._framed = (texts, _text_frames(texts))
            if not isinstance(texts, tuple):  # a list may change: keep no copy of it
                _WebSocketProtocol._framed = None
        return cache[1]

    async def send(self, message):  # type: ignore[no-untyped-def]
        if message["type"] != SEND_BATCH:
            await super().send(message)
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        if not self.handshake_complete or self.close_sent:
            raise RuntimeError(f"{SEND_BATCH} before accept or after close")
        if self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        if self.conn.extensions:  # permessage-deflate: each client's own compressor frames it
            try:
                for text in message["texts"]:
                    self.conn.send_text(text.encode())
            except InvalidState:
                raise ClientDisconnected() from None
            self.transport.write(b"".join(self.conn.data_to_send()))
        else:
            self.transport.write(self._frames(message["texts"]))


class HttpServer:
    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self._app = answer_unfinished(app)
        self._host = host
        self._port = port
        self.port: int | None = None  # the bound port (useful when asked for port 0)
        self.serving = anyio.Event()
        self.limits = HttpLimits()  # request head size, count and time; connections (431/408/503)

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise StartupError(
                f"cannot listen on {self._host}:{self._port} ({exc.strerror}); stop what uses "
                "it or set PAPERTRADE_HTTP_PORT / PAPERTRADE_HTTP_HOST"
            ) from None
        sock.listen(2048)
        sock.setblocking(False)
        return sock

    async def run(self) -> None:
        sock = self._bind()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            log_config=None,
            access_log=False,
            http=limited_http_protocol(self.limits),
            # uvicorn would take X-Forwarded-For from any loopback peer; the API decides whom
            # to believe (PAPERTRADE_TRUSTED_PROXIES, daemon/api/client_address.py).
            proxy_headers=False,
            ws=_WebSocketProtocol,
            ws_max_size=64 * 1024,
            # Compressing every frame once per client costs more than the fan-out itself (a quote
            # is ~250 bytes; a browser's share is ~30 KB/s uncompressed).
            ws_per_message_deflate=False,
            ws_ping_interval=20,
            ws_ping_timeout=20,
            timeout_graceful_shutdown=5,
            backlog=2048,
        )
        server = _Server(config)
        stopped = anyio.Event()

        async def serve() -> None:
            # Shielded so that a cancel becomes uvicorn's own graceful shutdown, below.
            with anyio.CancelScope(shield=True):
                try:
                    await server.serve([sock])
                finally:
                    stopped.set()

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(serve)
                try:
                    while not server.started:
                        if stopped.is_set():
                            raise RuntimeError("the HTTP server stopped while starting")
                        await anyio.sleep(0.01)
                    log.info("http_serving", host=self._host, port=self.port)
                    self.serving.set()
                    await stopped.wait()
                finally:
                    server.should_exit = True
                    with anyio.move_on_after(8, shield=True):
                        await stopped.wait()
                    if not stopped.is_set():
                        server.force_exit = True
        finally:
            self.serving = anyio.Event()
            sock.close()
