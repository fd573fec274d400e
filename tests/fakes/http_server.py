"""A tiny HTTP/1.1 server on 127.0.0.1 (keep-alive, Content-Length bodies) for the fake sources."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.loopback import LoopbackServer


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> object:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json_text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None):
        """A JSON body given as text, so numbers go on the wire exactly as written."""
        return cls(
            status,
            text.encode(),
            {"content-type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def json(cls, value: object, status: int = 200, headers: dict[str, str] | None = None):
        return cls.json_text(json.dumps(value, ensure_ascii=False), status, headers)


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer(LoopbackServer):
    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self._handler = handler
        self.requests: list[Request] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                response = await self._handler(request)
                reason = HTTPStatus(response.status).phrase
                head = [f"HTTP/1.1 {response.status} {reason}"]
                headers = {"content-length": str(len(response.body)), **response.headers}
                head += [f"{name}: {value}" for name, value in headers.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
                await writer.drain()
                if request.headers.get("connection", "").lower() == "close":
                    return
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(OSError):
                writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Request(method, parts.path, dict(parse_qsl(parts.query)), headers, body)
