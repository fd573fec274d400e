"""A request still running when a stop's grace period runs out gets a JSON 503, not text."""

from __future__ import annotations

import anyio
import httpx
import pytest
from litestar import Litestar, get

from daemon.actors.http_server import HttpServer
from daemon.api.unfinished import UNFINISHED_DETAIL

pytestmark = pytest.mark.anyio


async def test_a_request_cut_short_by_the_stop_grace_is_answered_json_503() -> None:
    hanging = anyio.Event()

    @get("/hang")
    async def hang() -> None:
        hanging.set()
        await anyio.sleep_forever()

    server = HttpServer(Litestar([hang]), "127.0.0.1", 0)
    answers: list[httpx.Response] = []
    stop = anyio.CancelScope()

    async def serve() -> None:
        with stop:
            await server.run()

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        with anyio.fail_after(10):
            await server.serving.wait()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:

            async def call() -> None:
                answers.append(await client.get("/hang", timeout=30))

            tg.start_soon(call)
            with anyio.fail_after(10):
                await hanging.wait()
            stop.cancel()  # as a stop signal does: uvicorn's graceful shutdown, then its grace ends
            with anyio.fail_after(20):
                while not answers:  # noqa: ASYNC110 - the answer comes from another task
                    await anyio.sleep(0.05)
    answer = answers[0]
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["retry-after"] == "5"
    assert answer.json() == {"status_code": 503, "detail": UNFINISHED_DETAIL}
