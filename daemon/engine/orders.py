"""Order model v2 (SPEC 6A): types, time in force, the order's engine state, and its shape rules.

`check_shape` takes an order built from an already parsed request (Decimals, not strings: the
shared validator in daemon/order_requests.py parses, resolves the time in force, builds the
EngineOrder and calls it) and refuses one whose fields do not go together, saying which rule it
broke and what to send instead.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final, Literal
from uuid import UUID

import msgspec

from daemon.engine.costs import FeeLine

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP"]
TimeInForce = Literal["DAY", "GTC", "IOC", "FOK", "OPG"]
Status = Literal["PENDING", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "FAILED"]

ORDER_TYPES: Final = ("MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP")
OPEN_STATUSES: Final = frozenset({"PENDING", "PARTIALLY_FILLED"})
# Orders that execute at the market once live: priced by the quote, reserved with slippage.
MARKET_LIKE: Final = frozenset({"MARKET", "STOP", "TRAILING_STOP"})
ZERO: Final = Decimal(0)


class OrderShapeError(ValueError):
    """The request's fields do not fit together; `rule` is a stable code, the message says what to send."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class EngineOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order as the engine sees it; every change is a new Struct (msgspec.structs.replace).

    `resting_since` is set when the order first rests (after its arrival was decided), so a
    recovered order is never mistaken for a new arrival. `trail_mark` is the best last price
    seen since acceptance for a TRAILING_STOP (high for SELL, low for BUY).

    It is also the order as recorded and sent between actors (daemon.messages.Order):
    `client_order_id` from the request, and of the latest fill `applied_exchange_rate` and
    `filled_at`; `price` is the average fill price.
    """

    id: UUID
    user_id: UUID
    ticker_id: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    currency: str
    created_at: datetime
    quantity: Decimal | None = None
    amount_krw: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_amount: Decimal | None = None
    status: Status = "PENDING"
    filled_quantity: Decimal = ZERO
    average_price: Decimal | None = None
    total_krw: Decimal = ZERO
    fee_krw: Decimal = ZERO
    fees: tuple[FeeLine, ...] = ()
    reserved_krw: Decimal = ZERO
    trail_mark: Decimal | None = None
    triggered_at: datetime | None = None
    expires_at: datetime | None = None
    resting_since: datetime | None = None
    reason: str | None = None
    client_order_id: str | None = None
    applied_exchange_rate: Decimal | None = None
    filled_at: datetime | None = None

    @property
    def price(self) -> Decimal | None:
        """The fill price in the asset's currency (the average over fills); None before one."""
        return self.average_price

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining_quantity(self) -> Decimal | None:
        """What is left to fill; None for an amount_krw order not yet filled."""
        return None if self.quantity is None else self.quantity - self.filled_quantity

    @property
    def live_type(self) -> OrderType:
        """What the order behaves as now: a triggered STOP is a MARKET, a STOP_LIMIT a LIMIT."""
        if self.triggered_at is None:
            return self.type
        return "LIMIT" if self.type == "STOP_LIMIT" else "MARKET"


_NEEDS: Final[dict[str, frozenset[str]]] = {
    "MARKET": frozenset(),
    "LIMIT": frozenset({"limit_price"}),
    "STOP": frozenset({"stop_price"}),
    "STOP_LIMIT": frozenset({"stop_price", "limit_price"}),
    "TRAILING_STOP": frozenset(),
}
_HINT: Final = {
    "limit_price": "the worst price you accept",
    "stop_price": "the price that triggers the order",
}


def _refuse_absent(spec: EngineOrder, field: str, hint: str) -> None:
    if getattr(spec, field) is not None:
        raise OrderShapeError(
            f"{field}_not_allowed", f"{field} {hint}; leave it out of a {spec.type} order"
        )


def check_shape(spec: EngineOrder) -> None:
    """Refuse a request whose fields do not go with its type (SPEC 6A request table)."""
    if spec.type not in ORDER_TYPES:
        raise OrderShapeError("unknown_type", f"type must be one of {', '.join(ORDER_TYPES)}")
    if (spec.quantity is None) == (spec.amount_krw is None):
        raise OrderShapeError(
            "quantity_or_amount",
            "send exactly one of quantity or amount_krw (amount_krw: MARKET BUY only)",
        )
    if spec.amount_krw is not None:
        if spec.type != "MARKET" or spec.side != "BUY":
            raise OrderShapeError(
                "amount_krw_market_buy_only",
                "amount_krw is for MARKET BUY orders only; send quantity instead",
            )
        if spec.amount_krw <= 0:
            raise OrderShapeError("amount_krw_positive", "amount_krw must be greater than 0")
    elif spec.quantity is not None and spec.quantity <= 0:
        raise OrderShapeError("quantity_positive", "quantity must be greater than 0")
    needs = _NEEDS[spec.type]
    for field in ("limit_price", "stop_price"):
        if field in needs:
            value = getattr(spec, field)
            if value is None:
                raise OrderShapeError(
                    f"{field}_required", f"a {spec.type} order needs {field}, {_HINT[field]}"
                )
            if value <= 0:
                raise OrderShapeError(f"{field}_positive", f"{field} must be greater than 0")
        else:
            _refuse_absent(spec, field, "is only for " + _owners(field))
    if spec.type == "TRAILING_STOP":
        if (spec.trail_percent is None) == (spec.trail_amount is None):
            raise OrderShapeError(
                "trail_one_of",
                'a TRAILING_STOP needs exactly one of trail_percent (e.g. "5" for 5 %) or trail_amount',
            )
        if spec.trail_percent is not None and not ZERO < spec.trail_percent < 100:
            raise OrderShapeError(
                "trail_percent_range", 'trail_percent must be between 0 and 100, e.g. "5"'
            )
        if spec.trail_amount is not None and spec.trail_amount <= 0:
            raise OrderShapeError("trail_amount_positive", "trail_amount must be greater than 0")
    else:
        for field in ("trail_percent", "trail_amount"):
            _refuse_absent(spec, field, "is only for TRAILING_STOP orders")


def _owners(field: str) -> str:
    return " and ".join(t for t, needs in _NEEDS.items() if field in needs) + " orders"
