"""`batches`: every item of a memory stream, in order, a batch per wait."""

from __future__ import annotations

import math

import anyio
import pytest

from daemon.streams import batches

pytestmark = pytest.mark.anyio


async def test_what_queued_meanwhile_comes_as_one_batch_in_order_and_the_end_ends_it() -> None:
    send, receive = anyio.create_memory_object_stream[int](math.inf)
    for n in range(5):
        send.send_nowait(n)
    seen: list[list[int]] = []

    async def read() -> None:
        async for batch in batches(receive):
            seen.append(batch)

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.wait_all_tasks_blocked()
        assert seen == [[0, 1, 2, 3, 4]]  # all that had queued, in one list
        send.send_nowait(5)
        await anyio.wait_all_tasks_blocked()
        send.send_nowait(6)
        send.send_nowait(7)
        send.close()  # the items sent before the end still come, then the loop ends
    assert seen == [[0, 1, 2, 3, 4], [5], [6, 7]]


async def test_a_batch_holds_at_most_the_limit_and_the_rest_follows() -> None:
    send, receive = anyio.create_memory_object_stream[int](math.inf)
    for n in range(7):
        send.send_nowait(n)
    send.close()
    assert [batch async for batch in batches(receive, limit=3)] == [[0, 1, 2], [3, 4, 5], [6]]
