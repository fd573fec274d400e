"""Reading an anyio memory stream a batch at a time.

`receive()` on an anyio memory stream yields to the event loop before every item, even when
items are waiting (a checkpoint: ~4.6 µs with uvloop, against ~0.2 µs for `receive_nowait()`).
A consumer of every order event or every tick pays that per item; `batches` pays it once per
wait and hands over whatever has queued meanwhile, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

import anyio
from anyio.abc import ObjectReceiveStream

T = TypeVar("T")


async def batches(stream: ObjectReceiveStream[T], limit: int = 256) -> AsyncIterator[list[T]]:
    """What `stream` delivers, in order, as lists of 1 to `limit` items: each list is what had
    queued by the time the first of it arrived. Ends when the stream ends (after its last
    items)."""
    while True:
        try:
            batch = [await stream.receive()]
        except anyio.EndOfStream:
            return
        while len(batch) < limit:
            try:
                batch.append(stream.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break  # an ended stream ends at the next receive(), after this batch
        yield batch
