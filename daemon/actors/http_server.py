"""The HTTP/websocket actor: uvicorn serving the Litestar app inside the daemon's task group."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import anyio
import structlog
import uvicorn
from litestar.types import ASGIApp

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The daemon owns SIGTERM/SIGINT and cancels every actor, this one included.
        yield


class HttpServer:
    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self.port: int | None = None  # the bound port (useful when asked for port 0)
        self.serving = anyio.Event()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
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
            ws_max_size=64 * 1024,
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
