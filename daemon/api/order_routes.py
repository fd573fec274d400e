"""Orders in (202 once durably recorded) and out (own orders only, with receipts and history),
modification (PATCH) and cancellation (DELETE) of open orders."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from daemon.api.context import AUTHENTICATED, ctx
from daemon.api.errors import (
    RETRY_AFTER_SECONDS,
    ConflictError,
    database_away,
    order_not_recorded,
)
from daemon.api.json_plain import SMALL_ANSWER
from daemon.api.views import (
    CostRuleView,
    CostsView,
    EventView,
    FeeView,
    FillQuoteView,
    FillView,
    LevelView,
    OrderDetailView,
    OrderView,
    order_view,
)
from daemon.door_prices import door_prices
from daemon.engine.costs import CostRule, FeeLine
from daemon.engine.market import BookLevel
from daemon.messages import ModifyRefused
from daemon.order_requests import (
    OrderChangeRequest,
    OrderRejected,
    OrderRequest,
    build_order,
    parse_changes,
)
from daemon.platform import CancelNotRecorded
from daemon.reasons import reason_text
from daemon.settlement_store import order_from_row
from daemon.sqlfiles import query
from daemon.tickers import TickerError, parse_ticker

StatusFilter = Literal["PENDING", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "FAILED", "open"]
_fees = msgspec.json.Decoder(list[FeeLine])
_levels = msgspec.json.Decoder(list[BookLevel])
_detail = msgspec.json.Decoder(dict[str, Any])


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
        opt={SMALL_ANSWER: True},
        summary="Place an order; answered once it is durably recorded, settled after",
        description="quantity, amount_krw and the prices are decimal strings (at most 8 decimal "
        "places); types MARKET, LIMIT, STOP, STOP_LIMIT, TRAILING_STOP and time_in_force DAY, "
        "GTC, IOC, FOK, OPG as SPEC 6A says. The same client_order_id again returns the same "
        "order instead of a new one.",
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

    @get("/", summary="Your orders, newest first (status=open: PENDING and PARTIALLY_FILLED)")
    async def list_orders(
        self,
        request: Request,
        user_id: NamedDependency[UUID],
        status: FromQuery[StatusFilter | None] = None,
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

    @get("/{order_id:str}", summary="One of your orders, with its fills and events")
    async def get_order(
        self, request: Request, user_id: NamedDependency[UUID], order_id: FromPath[str]
    ) -> OrderDetailView:
        pool = ctx(request.app.state).platform.pool
        found = _order_id(order_id)
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            row = await conn.fetchrow(query("orders_get_own"), found, user_id)
            if row is None:
                raise NotFoundException(f"you have no order {order_id}")
            fills = await conn.fetch(query("orders_fills"), found)
            events = await conn.fetch(query("orders_events"), found)
        view = order_view(order_from_row(row))
        return OrderDetailView(
            **msgspec.structs.asdict(view),
            fills=[_fill_view(r) for r in fills],
            events=[
                EventView(
                    seq=r["seq"],
                    kind=r["kind"],
                    at=r["at"],
                    reason=r["reason"],
                    reason_text=reason_text(r["reason"]),
                    detail=None if r["detail"] is None else _detail.decode(r["detail"]),
                )
                for r in events
            ],
        )

    @patch(
        "/{order_id:str}",
        summary="Modify an open order (quantity, limit_price, stop_price, trail_percent, "
        "trail_amount: those its type has); its reservation is recomputed",
    )
    async def modify(
        self,
        request: Request,
        user_id: NamedDependency[UUID],
        order_id: FromPath[str],
        data: JSONBody[OrderChangeRequest],
    ) -> OrderView:
        try:
            changes = parse_changes(data)
        except OrderRejected as exc:
            raise ClientException(str(exc)) from None
        found = _order_id(order_id)
        try:
            answer = await ctx(request.app.state).platform.modify(user_id, found, changes)
        except CancelNotRecorded:
            raise database_away(
                f"the change of {order_id} could not be recorded now (the database is "
                f"unavailable); the order is as it was: send it again in {RETRY_AFTER_SECONDS} s"
            ) from None
        if isinstance(answer, ModifyRefused):
            raise HTTPException(status_code=answer.status, detail=answer.detail)
        return order_view(answer)

    @delete(
        "/{order_id:str}",
        status_code=200,
        summary="Cancel an open order (PENDING or PARTIALLY_FILLED: the filled part stands)",
    )
    async def cancel(
        self, request: Request, user_id: NamedDependency[UUID], order_id: FromPath[str]
    ) -> OrderView:
        try:
            answer = await ctx(request.app.state).platform.cancel(user_id, _order_id(order_id))
        except CancelNotRecorded:
            raise database_away(
                f"the cancellation of {order_id} could not be recorded now (the database is "
                f"unavailable); the order is as it was: send it again in {RETRY_AFTER_SECONDS} s"
            ) from None
        if answer is None:
            raise NotFoundException(f"you have no order {order_id}")
        order = answer.order
        if not answer.cancelled:
            ended = order.status if order.reason is None else f"{order.status} ({order.reason})"
            raise ConflictError(
                f"order {order_id} is {ended}, not open: it can no longer be cancelled"
            )
        return order_view(order)


def _fill_view(row: Any) -> FillView:
    return FillView(
        seq=row["seq"],
        quantity=row["quantity"],
        price=row["price"],
        rate=row["rate"],
        total_krw=row["total_krw"],
        fee_krw=row["fee_krw"],
        fees=[FeeView(line.kind, line.amount_krw) for line in _fees.decode(row["fees"])],
        rule=row["rule"],
        at=row["decided_at"],
        levels=[LevelView(lvl.price, lvl.size) for lvl in _levels.decode(row["levels"])],
        quote=FillQuoteView(
            price=row["quote_price"],
            bid=row["quote_bid"],
            ask=row["quote_ask"],
            source=row["quote_source"],
            ts=row["quote_ts"],
            received_at=row["quote_received_at"],
            age_seconds=row["quote_age_seconds"],
        ),
    )


@get("/api/costs", tags=["orders"], summary="The trading-cost preset in force and the reserves")
async def costs(request: Request) -> CostsView:
    """Every fee rule of the preset (PAPERTRADE_COSTS, with a PAPERTRADE_FEES override), so a
    client's estimate uses the server's rates; and the slippage and FX reserves."""
    platform = ctx(request.app.state).platform
    return CostsView(
        preset=platform.costs.name,
        rules=[_cost_rule_view(rule) for rule in platform.costs.rules],
        slippage_reserve=platform.reserve.slippage,
        fx_reserve=platform.reserve.fx,
    )


def _cost_rule_view(rule: CostRule) -> CostRuleView:
    per_share = rule.basis == "per_share"
    return CostRuleView(
        market=rule.market,
        kind=rule.kind,
        side=rule.side,
        currency="USD" if per_share else "KRW",
        effective_from=rule.effective_from,
        source=rule.source,
        instrument_kinds=sorted(rule.instrument_kinds),
        rate=None if per_share else rule.rate,
        per_share=rule.rate if per_share else None,
        max_per_trade=rule.cap,
    )
