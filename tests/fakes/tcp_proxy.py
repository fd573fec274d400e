"""A TCP proxy on 127.0.0.1 in front of a real service, that a test can cut, stall and restore."""

from __future__ import annotations

import asyncio
import contextlib

from tests.fakes.loopback import LoopbackServer


class TcpProxy(LoopbackServer):
    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__()
        self._target = (target_host, target_port)
        self.stalled = False  # accept and hold connections without forwarding a byte
        # Open connections stay open but every byte is lost, both ways: a tunnel gone dead, which
        # refuses nothing and closes nothing.
        self.frozen = False

    async def cut(self) -> None:
        """Cut the line: stop listening and drop every open connection, until `start` again."""
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.stalled:
                await reader.read()  # hold until the client gives up
                return
            up_reader, up_writer = await asyncio.open_connection(*self._target)
            self._writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if not self.frozen:
                    writer.write(data)
                    await writer.drain()
        writer.close()
