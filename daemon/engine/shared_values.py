"""One object per repeated value of the orders a settlement partition keeps in memory.

Orders read from PostgreSQL or decoded from a message each carry their own copy of "BUY", of
their ticker id, of their user's UUID and of 0E-8: about 600 bytes an order that 100,000
resting orders would hold 100,000 times over. `SharedValues.order` gives back the order with
every such field pointing at the one object of its value (values are immutable, so nothing can
tell the difference but the memory). The table is bounded: once it holds `capacity` values, a
value not yet in it stays the order's own.

Decimals are keyed by their text, not by equality: Decimal("1") == Decimal("1.00000000") but
they print differently, and an order keeps the exact value it was given.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import msgspec

from daemon.engine.orders import EngineOrder

# Fields whose values repeat across orders: ids of users and tickers, the enumerations, and the
# quantities and prices that orders on one price grid share. Unique values (order ids, times,
# reserved amounts) are left alone: sharing them would cost a table entry and save nothing.
_SHARED: Final = (
    "user_id",
    "ticker_id",
    "side",
    "type",
    "time_in_force",
    "currency",
    "status",
    "quantity",
    "filled_quantity",
    "total_krw",
    "fee_krw",
    "limit_price",
    "stop_price",
    "trail_percent",
    "trail_amount",
    "trail_mark",
)
DEFAULT_CAPACITY: Final = 65_536


class SharedValues:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._decimals: dict[str, Decimal] = {}
        self._others: dict[object, object] = {}

    def __len__(self) -> int:
        return len(self._decimals) + len(self._others)

    def order(self, order: EngineOrder) -> EngineOrder:
        changes: dict[str, object] = {}
        for name in _SHARED:
            value = getattr(order, name)
            if value is not None and (shared := self._value(value)) is not value:
                changes[name] = shared
        return msgspec.structs.replace(order, **changes) if changes else order

    def _value(self, value: object) -> object:
        if isinstance(value, Decimal):
            table: dict = self._decimals
            key: object = str(value)
        else:
            table, key = self._others, value
        shared = table.get(key)
        if shared is None:
            if len(self) >= self._capacity:
                return value
            table[key] = shared = value
        return shared
