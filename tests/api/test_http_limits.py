"""Issue 9 items 4 and 6: huge heads, slowloris and descriptor exhaustion, on raw sockets
against the daemon's HTTP server and the edge's (the same HttpServer), on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import httpx
import pytest

from daemon.actors.http_server import HttpServer
from daemon.amqp_topology import Topology
from daemon.clock import TestClock
from daemon.edge.app import EdgeContext, create_edge_app
from daemon.edge.publisher import OrderPublisher
from daemon.http_limits import HttpLimits
from daemon.tokens import TokenVerifier, load_or_create_private_key
from tests.api.conftest import Api
from tests.conftest import KRX_OPEN

pytestmark = pytest.mark.anyio
ATTACKER = "127.0.0.2"  # loopback too, but not the host's own health-check address


async def _connect(port: int, source: str = "127.0.0.1") -> anyio.abc.SocketStream:
    return await anyio.connect_tcp("127.0.0.1", port, local_host=source)


async def _answer(stream: anyio.abc.SocketStream, timeout: float = 20) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with anyio.fail_after(timeout):
        try:
            while chunk := await stream.receive():
                data += chunk
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
            pass
    return data


async def _send_big_head(port: int, head: bytes, filler: bytes, total: int) -> bytes:
    stream = await _connect(port)
    async with stream:
        await stream.send(head)
        sent = 0
        try:
            while sent < total:
                await stream.send(filler)
                sent += len(filler)
        except (anyio.BrokenResourceError, ConnectionResetError, OSError):
            pass  # the server stopped reading: what matters is what it answered
        return await _answer(stream)


@asynccontextmanager
async def edge_server(tmp_path, limits: HttpLimits | None = None) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    """The edge's app on its HttpServer (no broker needed for /healthz)."""
    clock = TestClock(KRX_OPEN)
    key = load_or_create_private_key(tmp_path / "keys", None)
    publisher = OrderPublisher("amqp://127.0.0.1:1/", Topology(queue="unused"), name="unused")
    app = create_edge_app(EdgeContext(TokenVerifier(key.public_key(), clock), publisher, {}, clock))
    server = HttpServer(app, "127.0.0.1", 0)
    if limits is not None:
        server.limits = limits
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.run)
        with anyio.fail_after(10):
            await server.serving.wait()
        assert server.port is not None
        yield server.port
        tg.cancel_scope.cancel()


async def _health(port: int) -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code


@pytest.mark.parametrize("server", ["daemon", "edge"])
async def test_a_huge_header_is_431_and_health_still_answers(
    api: Api, tmp_path, server: str
) -> None:  # type: ignore[no-untyped-def]
    async with edge_server(tmp_path) as edge_port:
        port = api.platform.http.port if server == "daemon" else edge_port  # type: ignore[union-attr]
        head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
        answer = await _send_big_head(port, head, b"a" * 65536, 20 * 1024 * 1024)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(
            b"X-H%d: 1\r\n" % n for n in range(500)
        )
        answer = await _send_big_head(port, many, b"", 0)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        long_url = b"GET /healthz?" + b"a" * 200_000
        answer = await _send_big_head(port, long_url, b"", 0)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
        assert await _health(port) == 200


async def test_half_sent_heads_time_out_and_one_address_cannot_hold_every_connection(
    api: Api,
) -> None:
    port = api.platform.http.port
    assert port is not None
    held: list[anyio.abc.SocketStream] = []
    refused = 0
    for _ in range(100):
        stream = await _connect(port, ATTACKER)
        await stream.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        held.append(stream)
    answers = []
    # The cap (64 per address) refuses the rest at once with 503; health checks still answer.
    assert await _health(port) == 200
    with anyio.fail_after(40):
        for stream in held:
            answers.append(await _answer(stream, timeout=30))
            await stream.aclose()
    refused = sum(a.startswith(b"HTTP/1.1 503") for a in answers)
    timed_out = sum(a.startswith(b"HTTP/1.1 408") for a in answers)
    assert refused == 100 - 64
    assert timed_out == 64  # the head deadline (10 s) closed every held one
    assert await _health(port) == 200


async def test_a_connection_budget_keeps_room_for_local_health_checks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    limits = HttpLimits(max_connections=40, local_room=4, per_address=1000, head_timeout=30)
    async with edge_server(tmp_path, limits) as port:
        streams = []
        for n in range(60):
            stream = await _connect(port, f"127.0.0.{2 + n % 5}")
            await stream.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            streams.append(stream)
        assert await _health(port) == 200  # 127.0.0.1 has room the others cannot take
        with anyio.move_on_after(1):  # the refused ones have their answer at once
            await anyio.sleep(1)
        answers = []
        for stream in streams[40:]:
            answers.append(await _answer(stream, timeout=10))
        assert all(a.startswith(b"HTTP/1.1 503") for a in answers), answers[:3]
        assert b"retry-after: 5" in answers[0]
        for stream in streams:
            await stream.aclose()
