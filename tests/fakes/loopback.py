"""A TCP server on 127.0.0.1 (a free port, kept across restarts) that can drop every connection."""

from __future__ import annotations

import asyncio


class LoopbackServer:
    """Subclasses implement `_serve`, adding each connection's writer to `_writers`."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop every open connection (the port stays ours to restart on)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in tuple(self._writers):
            writer.close()
        self._writers.clear()
