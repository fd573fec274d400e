"""Helpers for tests that place orders on a running platform and wait for their outcome."""

from __future__ import annotations

import uuid
from decimal import Decimal

import anyio

from daemon.accounts import User, create_user
from daemon.messages import Order
from daemon.order_requests import OrderRequest, build_order
from daemon.platform import Platform
from daemon.settlement_store import order_from_row
from daemon.sqlfiles import query

INITIAL = Decimal("10000000")


async def new_user(platform: Platform, cash: Decimal = INITIAL) -> User:
    name = "u" + uuid.uuid4().hex[:12]
    return await create_user(platform.pool, name, "password123", name, cash)


async def submit(
    platform: Platform, user: User, ticker_id: str, side: str, quantity: str,
    limit_price: str | None = None, client_order_id: str | None = None,
) -> Order:  # fmt: skip
    request = OrderRequest(
        ticker_id=ticker_id,
        side=side,  # type: ignore[arg-type]
        type="LIMIT" if limit_price else "MARKET",
        quantity=quantity,
        limit_price=limit_price,
        client_order_id=client_order_id,
    )
    order = build_order(request, user.id, platform.instruments, platform.clock.now())
    stored, _ = await platform.submit(order)
    return stored


async def outcome(platform: Platform, order_id: uuid.UUID, timeout: float = 10) -> Order:
    """Wait for the order's first event past PENDING."""
    with anyio.fail_after(timeout):
        async for event in platform.events_out:
            if event.order.id == order_id and event.order.status != "PENDING":
                return event.order
    raise AssertionError("event stream ended")


async def outcomes(
    platform: Platform, order_ids: set[uuid.UUID], timeout: float = 30
) -> dict[uuid.UUID, Order]:
    """Wait for every one of `order_ids` to leave PENDING."""
    ended: dict[uuid.UUID, Order] = {}
    if not order_ids:
        return ended
    with anyio.fail_after(timeout):
        async for event in platform.events_out:
            if event.order.id in order_ids and event.order.status != "PENDING":
                ended[event.order.id] = event.order
                if len(ended) == len(order_ids):
                    return ended
    raise AssertionError("event stream ended")


async def place(platform: Platform, user: User, *args: str | None, **kwargs: str | None) -> Order:
    order = await submit(platform, user, *args, **kwargs)  # type: ignore[arg-type]
    return await outcome(platform, order.id)


async def wallet(platform: Platform, user: User) -> Decimal:
    return await platform.pool.fetchval(
        "SELECT balance_krw FROM wallets WHERE user_id = $1", user.id
    )


async def ledger_sum(platform: Platform, user: User) -> Decimal:
    return await platform.pool.fetchval(
        "SELECT sum(amount_krw) FROM cash_ledger WHERE user_id = $1", user.id
    )


async def ledger_rows(platform: Platform, *order_ids: uuid.UUID) -> int:
    """How many cash ledger rows these orders made: exactly one per fill, never more."""
    return await platform.pool.fetchval(
        "SELECT count(*) FROM cash_ledger WHERE order_id = ANY($1::uuid[])", list(order_ids)
    )


async def position(
    platform: Platform, user: User, ticker_id: str
) -> tuple[Decimal, Decimal] | None:
    row = await platform.pool.fetchrow(
        "SELECT quantity, average_price FROM portfolios WHERE user_id = $1 AND ticker_id = $2",
        user.id,
        ticker_id,
    )
    return None if row is None else (row["quantity"], row["average_price"])


async def submit_request(platform: Platform, user: User, **fields: str | None) -> Order:
    """Record an order of any v2 shape (OrderRequest fields) and hand it to settlement."""
    request = OrderRequest(**fields)  # type: ignore[arg-type]
    order = build_order(request, user.id, platform.instruments, platform.clock.now())
    stored, _ = await platform.submit(order)
    return stored


async def stored_order(platform: Platform, order_id: uuid.UUID) -> Order:
    row = await platform.pool.fetchrow(query("orders_get"), order_id)
    return order_from_row(row)


async def event_kinds(platform: Platform, order_id: uuid.UUID) -> list[str]:
    rows = await platform.pool.fetch(query("orders_events"), order_id)
    return [row["kind"] for row in rows]


async def fill_rules(platform: Platform, order_id: uuid.UUID) -> list[tuple[str, Decimal]]:
    rows = await platform.pool.fetch(query("orders_fills"), order_id)
    return [(row["rule"], row["price"]) for row in rows]


async def changed(platform: Platform, order_id: uuid.UUID, kind: str, timeout: float = 10) -> Order:
    """Wait for the websocket-bound event `kind` of the order."""
    with anyio.fail_after(timeout):
        async for event in platform.events_out:
            if event.order.id == order_id and event.event.kind == kind:
                return event.order
    raise AssertionError("event stream ended")
