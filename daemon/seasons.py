"""Seasons (SPEC 6C) in the database: create, list, join, start (accounts set to the season's
cash), end (standings frozen), the rules a participant plays by, and the resets left."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec

from daemon.money import MoneyError, parse_decimal
from daemon.season_rules import MARKETS, Costs, SeasonRules
from daemon.sqlfiles import query

Visibility = Literal["private", "after_end", "live", "delayed_15m"]
Status = Literal["scheduled", "running", "ended"]
VISIBILITIES: tuple[Visibility, ...] = ("private", "after_end", "live", "delayed_15m")
MAX_SEASON = timedelta(days=366)


class SeasonError(ValueError):
    """A season request that cannot be done; `status` is the HTTP status it maps to."""

    def __init__(self, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.status = status


class NewSeason(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an ADMIN sends to create a season (POST /api/admin/seasons, `season create`)."""

    name: str
    starts_at: datetime
    ends_at: datetime
    initial_cash_krw: Decimal = Decimal("10000000")
    markets: list[str] = msgspec.field(default_factory=lambda: list(MARKETS))
    costs: Costs = "kr-broker-2026"
    resets_allowed: int = 0
    late_join: bool = True
    max_position_pct: Decimal | None = None
    portfolio_visibility: Visibility = "after_end"


class Season(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    initial_cash_krw: Decimal
    markets: list[str]
    costs: Costs
    resets_allowed: int
    late_join: bool
    max_position_pct: Decimal | None
    portfolio_visibility: Visibility
    status: Status
    started_at: datetime | None
    ended_at: datetime | None
    participants: int


def check_new_season(spec: NewSeason, now: datetime) -> NewSeason:
    """`spec` with its markets in order if it is a season that can be run; SeasonError if not."""
    name = spec.name.strip()
    if not 1 <= len(name) <= 64:
        raise SeasonError("name must be 1 to 64 characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise SeasonError("name must not contain control or invisible characters")
    if spec.starts_at.tzinfo is None or spec.ends_at.tzinfo is None:
        raise SeasonError("starts_at and ends_at need a time zone, e.g. 2026-12-01T00:00:00Z")
    if spec.starts_at <= now:
        raise SeasonError(f"starts_at must be in the future (it is {now.isoformat()} now)")
    if not spec.starts_at < spec.ends_at <= spec.starts_at + MAX_SEASON:
        raise SeasonError("ends_at must be after starts_at, and a season lasts at most 366 days")
    unknown = sorted(set(spec.markets) - set(MARKETS))
    if unknown or not spec.markets:
        raise SeasonError(f"markets must be some of {', '.join(MARKETS)}; not {unknown or '[]'}")
    try:
        cash = parse_decimal(spec.initial_cash_krw, "initial_cash_krw")
    except MoneyError as exc:
        raise SeasonError(str(exc)) from None
    if cash <= 0:
        raise SeasonError("initial_cash_krw must be more than 0")
    if not 0 <= spec.resets_allowed <= 1000:
        raise SeasonError("resets_allowed must be 0 to 1000")
    try:
        cap = (
            None
            if spec.max_position_pct is None
            else parse_decimal(spec.max_position_pct, "max_position_pct")
        )
    except MoneyError as exc:
        raise SeasonError(str(exc)) from None
    if cap is not None and not 0 < cap <= 100:
        raise SeasonError("max_position_pct must be more than 0 and at most 100 (or left out)")
    return msgspec.structs.replace(
        spec,
        name=name,
        markets=[m for m in MARKETS if m in spec.markets],
        initial_cash_krw=cash,
        max_position_pct=cap,
    )


def _season(row: asyncpg.Record) -> Season:
    return Season(
        id=row["id"],
        name=row["name"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        initial_cash_krw=row["initial_cash_krw"],
        markets=list(row["markets"]),
        costs=row["costs"],
        resets_allowed=row["resets_allowed"],
        late_join=row["late_join"],
        max_position_pct=row["max_position_pct"],
        portfolio_visibility=row["portfolio_visibility"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        participants=row["participants"],
    )


async def create_season(
    pool: asyncpg.Pool, spec: NewSeason, created_by: UUID | None, now: datetime
) -> Season:
    spec = check_new_season(spec, now)
    try:
        row = await pool.fetchrow(
            query("season_insert"),
            uuid.uuid4(),
            spec.name,
            spec.starts_at,
            spec.ends_at,
            spec.initial_cash_krw,
            spec.markets,
            spec.costs,
            spec.resets_allowed,
            spec.late_join,
            spec.max_position_pct,
            spec.portfolio_visibility,
            created_by,
        )
    except asyncpg.ExclusionViolationError:
        raise SeasonError(
            "another season overlaps those dates; one season runs at a time (GET /api/seasons)",
            409,
        ) from None
    return _season(row)


async def list_seasons(pool: asyncpg.Pool) -> list[Season]:
    return [_season(row) for row in await pool.fetch(query("season_list"))]


async def get_season(pool: asyncpg.Pool, season_id: UUID) -> Season | None:
    row = await pool.fetchrow(query("season_get"), season_id)
    return None if row is None else _season(row)


async def current_season(pool: asyncpg.Pool) -> Season | None:
    """The running season, else the next one, else the latest ended."""
    row = await pool.fetchrow(query("season_current"))
    return None if row is None else _season(row)


async def join_season(pool: asyncpg.Pool, season: Season, user_id: UUID, now: datetime) -> bool:
    """Enter `user_id` in `season` (whether new). A running season is joined late only if its
    rules allow; the account is then set by `start_accounts` (the season clock does it)."""
    if season.status == "ended" or season.ends_at <= now:
        raise SeasonError("this season has ended; its standings are in GET /api/seasons/{id}", 409)
    if season.status == "running" and not season.late_join:
        raise SeasonError("this season has started and does not take late joiners", 409)
    return bool(await pool.fetchval(query("season_join"), season.id, user_id, now))


async def open_orders_of_unstarted(
    pool: asyncpg.Pool, season_id: UUID, user_id: UUID | None = None
) -> list[tuple[UUID, UUID]]:
    """(user_id, order_id) of the open orders of participants whose accounts are not yet set."""
    rows = await pool.fetch(query("season_open_orders"), season_id, user_id)
    return [(r["user_id"], r["id"]) for r in rows]


async def leftover_orders(pool: asyncpg.Pool) -> list[tuple[UUID, UUID]]:
    """(user_id, order_id) of open orders placed before their participant's start."""
    return [(r["user_id"], r["id"]) for r in await pool.fetch(query("season_leftover_orders"))]


async def start_accounts(
    pool: asyncpg.Pool, season: Season, at: datetime, user_id: UUID | None = None
) -> list[UUID]:
    """Mark `season` running (if it was not) and set the accounts of its participants not yet
    started (or only `user_id`'s) to its starting cash, in one transaction. Returns them."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(query("season_mark_running"), season.id, at)
        rows = await conn.fetch(
            query("season_start_accounts"), season.id, at, season.initial_cash_krw, user_id
        )
    return [r["user_id"] for r in rows]


async def participants_started(pool: asyncpg.Pool, season_id: UUID) -> list[asyncpg.Record]:
    return await pool.fetch(query("season_participants_started"), season_id)


async def rules_for_user(
    conn: asyncpg.Pool | asyncpg.Connection, user_id: UUID
) -> SeasonRules | None:
    """The rules of the running season `user_id` plays in; None in free play (settlement)."""
    row = await conn.fetchrow(query("season_rules_for_user"), user_id)
    return None if row is None else season_rules_of(row)


def season_rules_of(row: asyncpg.Record) -> SeasonRules:
    """A season's rules from a row of season_rules_for_user / settlement_seasons."""
    return SeasonRules(
        season_id=row["season_id"],
        markets=frozenset(row["markets"]),
        costs=row["costs"],
        max_position_pct=row["max_position_pct"],
    )


async def reset_allowance(conn: asyncpg.Connection, user_id: UUID) -> Decimal | None:
    """Inside a reset's transaction: the cash a reset of `user_id` starts from if they play a
    running season (counted against its `resets_allowed`; SeasonError beyond it), else None."""
    row = await conn.fetchrow(query("season_reset_check"), user_id)
    if row is None:
        return None
    if row["resets_used"] >= row["resets_allowed"]:
        raise SeasonError(
            f"season {row['name']!r} allows {row['resets_allowed']} reset(s) and this account "
            "has used them; it can be reset again when the season ends",
            409,
        )
    await conn.execute(query("season_reset_used"), row["season_id"], user_id)
    return row["initial_cash_krw"]


async def end_early(pool: asyncpg.Pool, season_id: UUID, now: datetime) -> bool:
    """Bring a running season's end forward to `now` (the season clock then freezes it);
    False if it is not running."""
    return bool(await pool.fetchval(query("season_end_now"), season_id, now))
