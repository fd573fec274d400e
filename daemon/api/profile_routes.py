"""Players' profiles, the feed of shared trades, and the caller's own settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, get, patch
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, JSONBody, Parameter

from daemon.accounts import AccountError, visible_nickname
from daemon.api.context import AUTHENTICATED, ctx
from daemon.api.errors import ConflictError
from daemon.api.views import TradeView
from daemon.portfolios import load_portfolio
from daemon.rankings import RankRow
from daemon.seasons import current_season
from daemon.sqlfiles import query
from daemon.visibility import sight

RECENT_TRADES = 20
FEED_SCAN = 500  # newest shared trades looked at for one feed answer


class HoldingView(msgspec.Struct, frozen=True, kw_only=True):
    ticker_id: str
    quantity: Decimal
    market_value_krw: Decimal


class BadgeView(msgspec.Struct, frozen=True):
    badge: str
    awarded_at: datetime
    season_id: UUID | None


class SeasonResultView(msgspec.Struct, frozen=True, kw_only=True):
    season_id: UUID
    name: str
    rank: int
    players: int
    return_pct: Decimal
    equity_krw: Decimal


class ProfileView(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    nickname: str
    badges: list[BadgeView]
    season: RankRow | None  # this player's row in the running season, if they play it
    hall_of_fame: list[SeasonResultView]  # results in ended seasons, the latest first
    holdings_visible: bool
    holdings: list[HoldingView]  # [] unless holdings_visible
    trades_visible: bool
    recent_trades: list[TradeView]  # delayed as the season says; [] unless trades_visible


class SettingsRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    share_trades: bool | None = None
    nickname: str | None = None


class SettingsView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    username: str
    nickname: str
    role: Literal["ADMIN", "USER"]
    share_trades: bool


def _trade(row: asyncpg.Record, nickname: str) -> TradeView:
    return TradeView(
        id=row["id"],
        user_id=row["user_id"],
        nickname=nickname,
        ticker_id=row["ticker_id"],
        side=row["side"],
        type=row["type"],
        quantity=row["quantity"],
        price=row["price"],
        currency=row["currency"],
        total_krw=row["total_krw"],
        filled_at=row["filled_at"],
    )


class ProfileController(Controller):
    path = "/api"
    tags = ["players"]

    @get("/users/{player_id:uuid}", dependencies=AUTHENTICATED, summary="A player's profile")
    async def profile(
        self, request: Request, user_id: NamedDependency[UUID], player_id: FromPath[UUID]
    ) -> ProfileView:
        platform = ctx(request.app.state).platform
        pool = platform.pool
        player = await pool.fetchrow(query("season_player"), player_id)
        if player is None:
            raise NotFoundException(f"no player {player_id}")
        now = platform.clock.now()
        seen = sight(
            own=player_id == user_id,
            share_trades=player["share_trades"],
            season_visibility=player["visibility"],
        )
        holdings: list[HoldingView] = []
        if seen.holdings:
            portfolio = await load_portfolio(pool, platform.book, player_id, now)
            for v in portfolio.holdings if portfolio else []:
                holdings.append(
                    HoldingView(
                        ticker_id=v.holding.ticker_id,
                        quantity=v.holding.quantity,
                        market_value_krw=v.market_value_krw,
                    )
                )
        trades = []
        if seen.trades:
            rows = await pool.fetch(
                query("season_recent_trades"), player_id, now - seen.trades_delay, RECENT_TRADES
            )
            trades = [_trade(r, player["nickname"]) for r in rows]
        season_row = None
        season = await current_season(pool)
        if season is not None and season.status == "running":
            board = await platform.rankings.recent_board("season", season, season.initial_cash_krw)
            season_row = next((r for r in board if r.user_id == player_id), None)
        return ProfileView(
            user_id=player_id,
            nickname=player["nickname"],
            badges=[
                BadgeView(**dict(r)) for r in await pool.fetch(query("badges_of_user"), player_id)
            ],
            season=season_row,
            hall_of_fame=[
                SeasonResultView(**dict(r))
                for r in await pool.fetch(query("season_hall_of_user"), player_id)
            ],
            holdings_visible=seen.holdings,
            holdings=holdings,
            trades_visible=seen.trades,
            recent_trades=trades,
        )

    @get("/feed", dependencies=AUTHENTICATED, summary="Trades the players share, newest first")
    async def feed(
        self,
        request: Request,
        user_id: NamedDependency[UUID],
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> list[TradeView]:
        platform = ctx(request.app.state).platform
        now = platform.clock.now()
        result = []
        for row in await platform.pool.fetch(query("season_feed"), now, FEED_SCAN):
            seen = sight(
                own=row["user_id"] == user_id,
                share_trades=True,
                season_visibility=row["visibility"],
            )
            if seen.trades and row["filled_at"] <= now - seen.trades_delay:
                result.append(_trade(row, row["nickname"]))
                if len(result) == limit:
                    break
        return result

    @get("/me/settings", dependencies=AUTHENTICATED, summary="Your nickname and share_trades")
    async def my_settings(self, request: Request, user_id: NamedDependency[UUID]) -> SettingsView:
        return await self._settings(request, user_id, SettingsRequest())

    @patch(
        "/me/settings",
        dependencies=AUTHENTICATED,
        summary="Change your nickname or whether you share your trades (share_trades)",
    )
    async def settings(
        self, request: Request, user_id: NamedDependency[UUID], data: JSONBody[SettingsRequest]
    ) -> SettingsView:
        return await self._settings(request, user_id, data)

    @staticmethod
    async def _settings(request: Request, user_id: UUID, data: SettingsRequest) -> SettingsView:
        context = ctx(request.app.state)
        pool = context.platform.pool
        async with pool.acquire() as conn, conn.transaction():
            user = await conn.fetchrow(query("users_by_id"), user_id)
            if user is None:
                raise NotFoundException("this account no longer exists")
            if data.nickname is not None:
                try:
                    nickname = visible_nickname(data.nickname)
                    user = await conn.fetchrow(query("season_set_nickname"), user_id, nickname)
                except AccountError as exc:
                    raise ClientException(str(exc)) from None
                except asyncpg.UniqueViolationError:
                    raise ConflictError(
                        f"nickname {data.nickname!r} is taken (letter case aside); choose another"
                    ) from None
            share = await conn.fetchval(query("season_settings_upsert"), user_id, data.share_trades)
        if data != SettingsRequest():
            context.hub.forget([user_id])  # committed: the live feed looks again at the next fill
        return SettingsView(
            id=user["id"],
            username=user["username"],
            nickname=user["nickname"],
            role=user["role"],
            share_trades=share,
        )
