"""The tradable instruments, as seeded in `sql/0002_instruments.sql`."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import msgspec

from daemon.sqlfiles import query


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    ticker_id: str
    name: str
    name_ko: str | None
    market: str  # KRX, US, CRYPTO
    currency: str  # KRW, USD, KRW-COIN
    exchange: str  # KOSPI, KOSDAQ, NAS, NYS, AMS, UPBIT
    sim_start_price: Decimal

    @property
    def symbol(self) -> str:
        return self.ticker_id.split("-", 2)[2]


async def load_instruments(conn: asyncpg.Connection | asyncpg.Pool) -> list[Instrument]:
    rows = await conn.fetch(query("instruments_all"))
    return [Instrument(**dict(row)) for row in rows]
