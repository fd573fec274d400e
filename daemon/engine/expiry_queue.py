"""Expiry times of open orders in a heap, so the actor ends DAY/GTC/OPG orders without scanning.

Lazy deletion: a removed or re-timed order leaves its old heap entry behind, skipped when due.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from uuid import UUID


class ExpiryQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[datetime, UUID]] = []
        self._due_at: dict[UUID, datetime] = {}

    def __len__(self) -> int:
        return len(self._due_at)

    def set(self, order_id: UUID, at: datetime | None) -> None:
        """Expire `order_id` at `at` (None: never; replaces an earlier time)."""
        if at is None:
            self._due_at.pop(order_id, None)
            return
        self._due_at[order_id] = at
        heapq.heappush(self._heap, (at, order_id))

    def due_at(self, order_id: UUID) -> datetime | None:
        """When `order_id` expires (None: never, or not queued)."""
        return self._due_at.get(order_id)

    def remove(self, order_id: UUID) -> None:
        self._due_at.pop(order_id, None)

    def next_due(self) -> datetime | None:
        """The earliest expiry still pending: how long the actor may sleep."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: datetime) -> list[UUID]:
        """Orders whose expiry is at or before `now`, earliest first; they leave the queue."""
        due: list[UUID] = []
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, order_id = heapq.heappop(self._heap)
            del self._due_at[order_id]
            due.append(order_id)

    def _drop_stale(self) -> None:
        while self._heap and self._due_at.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
