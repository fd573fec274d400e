"""Orders in (202 once durably recorded) and out (own orders only), and cancellation."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from daemon.actors.settlement import order_from_row
from daemon.api.context import AUTHENTICATED, ctx
from daemon.api.errors import (
    RETRY_AFTER_SECONDS,
    ConflictError,
    database_away,
    order_not_recorded,
)
from daemon.api.views import OrderView, order_view
from daemon.door_prices import door_prices
from daemon.order_requests import OrderRejected, OrderRequest, build_order
from daemon.platform import CancelNotRecorded
from daemon.sqlfiles import query
from daemon.tickers import TickerError, parse_ticker

Status = Literal["PENDING", "FILLED", "CANCELLED", "FAILED"]


def _order_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise NotFoundException(f"no order {text!r}: order ids are UUIDs") from None


class OrderController(Controller):
    path = "/api/orders"
    tags = ["orders"]
    dependencies = AUTHENTICATED

    @post(
        "/",
        status_code=202,
        summary="Place an order; answered once it is durably recorded, settled after",
        description="quantity and limit_price are decimal strings (at most 8 decimal places). "
        "The same client_order_id again returns the same order instead of a new one.",
    )
    async def place(
        self, request: Request, user_id: NamedDependency[UUID], data: JSONBody[OrderRequest]
    ) -> OrderView:
        context = ctx(request.app.state)
        platform = context.platform
        try:
            now = platform.clock.now()
            prices = door_prices(platform.book, platform.calendar, data.ticker_id, data.side, now)
            order = build_order(data, user_id, platform.instruments, now, prices)
        except OrderRejected as exc:
            raise ClientException(str(exc)) from None
        try:
            stored, _ = await context.submit(order)
        except Exception as exc:
            answer = order_not_recorded(exc, order.client_order_id)
            if answer is None:
                raise
            raise answer from exc
        return order_view(stored)

    @get("/", summary="Your orders, newest first")
    async def list_orders(
        self,
        request: Request,
        user_id: NamedDependency[UUID],
        status: FromQuery[Status | None] = None,
        ticker_id: FromQuery[str | None] = None,
        limit: int = Parameter(default=100, ge=1, le=1000),
    ) -> list[OrderView]:
        if ticker_id is not None:
            try:
                parse_ticker(ticker_id)
            except TickerError as exc:
                raise ClientException(str(exc)) from None
        rows = await ctx(request.app.state).platform.pool.fetch(
            query("orders_list_own"), user_id, status, ticker_id, limit
        )
        return [order_view(order_from_row(row)) for row in rows]

    @get("/{order_id:str}", summary="One of your orders")
    async def get_order(
        self, request: Request, user_id: NamedDependency[UUID], order_id: FromPath[str]
    ) -> OrderView:
        row = await ctx(request.app.state).platform.pool.fetchrow(
            query("orders_get_own"), _order_id(order_id), user_id
        )
        if row is None:
            raise NotFoundException(f"you have no order {order_id}")
        return order_view(order_from_row(row))

    @delete("/{order_id:str}", status_code=200, summary="Cancel a PENDING order")
    async def cancel(
        self, request: Request, user_id: NamedDependency[UUID], order_id: FromPath[str]
    ) -> OrderView:
        try:
            order = await ctx(request.app.state).platform.cancel(user_id, _order_id(order_id))
        except CancelNotRecorded:
            raise database_away(
                f"the cancellation of {order_id} could not be recorded now (the database is "
                f"unavailable); the order is as it was: send it again in {RETRY_AFTER_SECONDS} s"
            ) from None
        if order is None:
            raise NotFoundException(f"you have no order {order_id}")
        if order.status != "CANCELLED" or order.reason != "user_cancelled":
            raise ConflictError(
                f"order {order_id} is {order.status}, not PENDING: it can no longer be cancelled"
            )
        return order_view(order)
