"""What every fake exchange shares: a REST server and a websocket server on 127.0.0.1."""

from __future__ import annotations

from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse

from tests.fakes.http_server import HttpServer, Request, Response


class FakeExchange:
    """Subclasses implement `_handle` (REST) and `_ws_handler` (websocket), and set `ws_path`."""

    ws_path = ""

    def __init__(self) -> None:
        self.http = HttpServer(self._handle)
        self._ws_server: Server | None = None
        self._connections: set[ServerConnection] = set()
        self.ws_port = 0
        self.ws_enabled = True

    async def _handle(self, request: Request) -> Response:
        raise NotImplementedError

    async def _ws_handler(self, connection: ServerConnection) -> None:
        raise NotImplementedError

    @property
    def api_url(self) -> str:
        return self.http.url

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}{self.ws_path}"

    def count(self, path: str) -> int:
        return sum(1 for request in self.http.requests if request.path == path)

    async def start(self) -> None:
        await self.http.start()
        self._ws_server = await serve(
            self._ws_handler, "127.0.0.1", self.ws_port, process_request=self._gate
        )
        self.ws_port = self._ws_server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        await self.http.close()
        if self._ws_server is not None:
            self._ws_server.close()
            await self._ws_server.wait_closed()

    async def _gate(self, connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        if not self.ws_enabled:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "websocket disabled\n")
        return None
