"""Portfolios and rankings valued at current prices in KRW (reads only; settlement writes).

A portfolio's reservations are read from the open orders' rows (`reserved_krw`, the unfilled
quantity of SELLs), which settlement writes with every decision: one source of truth, the same
numbers its in-memory ledger holds.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
import asyncpg
import msgspec

from daemon.price_book import PriceBook
from daemon.sqlfiles import query
from daemon.valuation import (
    Holding,
    Performance,
    ValuedHolding,
    equity,
    performance,
    value_holding,
)

KST = ZoneInfo("Asia/Seoul")  # the players' day: "today" starts at 00:00 KST


class Portfolio(msgspec.Struct, frozen=True):
    cash_krw: Decimal
    holdings: list[ValuedHolding]
    equity_krw: Decimal
    performance: Performance
    reserved_cash_krw: Decimal = Decimal(0)  # held back by open BUY orders
    reserved_quantity: dict[str, Decimal] = {}  # ticker -> held back by open SELL orders

    @property
    def available_cash_krw(self) -> Decimal:
        return self.cash_krw - self.reserved_cash_krw


def day_start(now: datetime) -> datetime:
    """00:00 KST of the day `now` falls on."""
    return datetime.combine(now.astimezone(KST).date(), time(), KST)


class Standing(msgspec.Struct, frozen=True):
    user_id: UUID
    nickname: str
    equity_krw: Decimal


class Valuer:
    """Prices for valuation: the live book (even if stale), else the average price paid."""

    def __init__(self, book: PriceBook, fallback_usd_krw: Decimal | None) -> None:
        self._book = book
        self._fallback_usd_krw = fallback_usd_krw

    def value(self, holding: Holding) -> ValuedHolding:
        quote = self._book.quote(holding.ticker_id)
        last = quote.price if quote is not None else holding.average_price
        return value_holding(holding, last, self._rate(holding.currency))

    def _rate(self, currency: str) -> Decimal:
        if currency != "USD":
            return Decimal(1)
        fx = self._book.fx()
        if fx is not None:
            return fx.rate
        return self._fallback_usd_krw or Decimal(0)


async def _valuer(conn: asyncpg.Pool | asyncpg.Connection, book: PriceBook) -> Valuer:
    fallback = None if book.fx() is not None else await conn.fetchval(query("fx_last_applied"))
    return Valuer(book, fallback)


async def load_portfolio(
    pool: asyncpg.Pool, book: PriceBook, user_id: UUID, now: datetime
) -> Portfolio | None:
    """Cash and positions valued now, with today's and all-time profit (`now` says when today is)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        cash = await conn.fetchval(query("wallet_balance"), user_id)
        if cash is None:
            return None
        rows = await conn.fetch(query("portfolio_holdings"), user_id)
        books = await conn.fetchrow(query("portfolio_books"), user_id, day_start(now))
        reserved = await conn.fetch(query("portfolio_reservations"), user_id)
        valuer = await _valuer(conn, book)
    holdings = [valuer.value(Holding(**dict(row))) for row in rows]
    total = equity(cash, holdings)
    snapshot = books["day_start_snapshot_krw"]
    return Portfolio(
        cash,
        holdings,
        total,
        performance(
            total,
            day_start_equity_krw=(
                books["deposits_at_day_start_krw"] if snapshot is None else snapshot
            ),
            deposits_since_day_start_krw=books["deposits_since_day_start_krw"],
            net_deposits_krw=books["net_deposits_krw"],
        ),
        reserved_cash_krw=next(r["reserved"] for r in reserved if r["ticker_id"] is None),
        reserved_quantity={r["ticker_id"]: r["reserved"] for r in reserved if r["ticker_id"]},
    )


async def standings(pool: asyncpg.Pool, book: PriceBook) -> list[Standing]:
    """Every account's equity valued now, highest first (returns: daemon/rankings.py)."""
    async with pool.acquire() as conn:
        accounts = await conn.fetch(query("rankings_accounts"))
        rows = await conn.fetch(query("rankings_holdings"))
        valuer = await _valuer(conn, book)
    # Valuing every holding of every account is long pure work (tens of thousands of holdings):
    # a worker thread does it, so the event loop keeps serving ticks and orders meanwhile.
    return await anyio.to_thread.run_sync(_standings, accounts, rows, valuer)


def _standings(
    accounts: list[asyncpg.Record], rows: list[asyncpg.Record], valuer: Valuer
) -> list[Standing]:
    holdings: dict[UUID, list[ValuedHolding]] = {}
    for row in rows:
        holding = Holding(row["ticker_id"], row["quantity"], row["average_price"], row["currency"])
        holdings.setdefault(row["user_id"], []).append(valuer.value(holding))
    result = []
    for account in accounts:
        total = equity(account["balance_krw"], holdings.get(account["user_id"], []))
        result.append(Standing(account["user_id"], account["nickname"], total))
    result.sort(key=lambda s: (-s.equity_krw, s.nickname))
    return result
