"""The edge's memory of the orders it accepted, so a repeated client_order_id gets the same answer.

The edge has no database; this is a small SQLite file in its data folder (`edge_orders.sqlite3`),
holding each confirmed order that has a client_order_id for `retention` (7 days by default),
pruned as it goes. WAL with synchronous=NORMAL: it survives a crash of the process (not of the
machine's power, which costs only this record: the daemon still records a retry once, by id).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import msgspec

from daemon.clock import Clock
from daemon.messages import Order
from daemon.sqlfiles import query

FILE_NAME = "edge_orders.sqlite3"
_PRUNE_EVERY = 1000  # inserts


class EdgeOrders:
    """`KnownOrders` for the edge (daemon/edge/queue_gate.py). Its calls take microseconds: they
    run on the event loop."""

    def __init__(
        self, data_dir: Path, clock: Clock, retention: timedelta = timedelta(days=7)
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(data_dir / FILE_NAME, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(query("edge_orders_table"))
        self._clock = clock
        self._retention = retention
        self._inserts = 0
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Order)

    async def get(self, order_id: UUID) -> Order | None:
        row = self._db.execute(query("edge_orders_get"), {"1": str(order_id)}).fetchone()
        return None if row is None else self._decoder.decode(row[0])

    async def remember(self, order: Order) -> None:
        now = self._clock.now().timestamp()
        self._db.execute(
            query("edge_orders_insert"),
            {"1": str(order.id), "2": self._encoder.encode(order), "3": now},
        )
        self._inserts += 1
        if self._inserts % _PRUNE_EVERY == 0:
            self.prune()

    def prune(self) -> None:
        cutoff = self._clock.now().timestamp() - self._retention.total_seconds()
        self._db.execute(query("edge_orders_prune"), {"1": cutoff})

    def close(self) -> None:
        self._db.close()
