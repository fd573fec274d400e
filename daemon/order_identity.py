"""When two orders are the same order: a retry of one request, or a message altered on the way.

SPEC 6: the same client_order_id again is the same order. A repeat whose request differs (another
ticker, side, type, quantity or limit price) is not a retry; the gates answer it 409, and the
intake dead-letters a message whose order id names a recorded order it does not match.
"""

from __future__ import annotations

from daemon.messages import Order


def same_request(a: Order, b: Order) -> bool:
    """Whether `a` and `b` are what one client asked for (ids, times and outcomes aside)."""
    return (
        a.user_id == b.user_id
        and a.client_order_id == b.client_order_id
        and a.ticker_id == b.ticker_id
        and a.side == b.side
        and a.type == b.type
        and a.quantity == b.quantity
        and a.amount_krw == b.amount_krw
        and a.limit_price == b.limit_price
        and a.stop_price == b.stop_price
        and a.trail_percent == b.trail_percent
        and a.trail_amount == b.trail_amount
        and a.time_in_force == b.time_in_force
    )


def conflict_detail(client_order_id: str | None) -> str:
    return (
        f"client_order_id {client_order_id!r} is already an order with another ticker, side, "
        "type, quantity, amount_krw, price, trail or time_in_force; send the same body to retry it, or use a new "
        "client_order_id for a new order"
    )
