"""Seasons (SPEC 6C): ADMINs create them; everyone lists them, reads one with its standings
(live while it runs, frozen once it ended: the hall of fame) and joins."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, JSONBody

from daemon.api.context import ADMIN, AUTHENTICATED, ctx
from daemon.rankings import RankRow
from daemon.seasons import (
    NewSeason,
    Season,
    SeasonError,
    create_season,
    get_season,
    join_season,
    list_seasons,
)
from daemon.sqlfiles import query

if TYPE_CHECKING:
    from daemon.platform import Platform


class SeasonDetail(msgspec.Struct, frozen=True, kw_only=True):
    season: Season
    standings: list[RankRow]  # best first: live while running, frozen once ended


class JoinView(msgspec.Struct, frozen=True, kw_only=True):
    season_id: UUID
    joined: bool  # False: already in it
    detail: str


def season_refused(exc: SeasonError) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=str(exc))


async def frozen_standings(platform: Platform, season_id: UUID) -> list[RankRow]:
    rows = await platform.pool.fetch(query("season_standings"), season_id)
    return [RankRow(rank_change=None, **dict(row)) for row in rows]


async def season_standings(platform: Platform, season: Season) -> list[RankRow]:
    """The standings of `season`: frozen if it ended, live if it runs, none before."""
    if season.status == "ended":
        return await frozen_standings(platform, season.id)
    if season.status == "running":
        board = await platform.rankings.recent_board("season", season, season.initial_cash_krw)
        return [r for r in board if not r.benchmark]
    return []


async def _season(platform: Platform, season_id: UUID) -> Season:
    season = await get_season(platform.pool, season_id)
    if season is None:
        raise NotFoundException(f"no season {season_id}; GET /api/seasons lists them")
    return season


class SeasonController(Controller):
    path = "/api"
    tags = ["seasons"]

    @post(
        "/admin/seasons",
        dependencies=ADMIN,
        status_code=201,
        summary="Create a season with its rules (ADMIN)",
    )
    async def create(
        self, request: Request, admin_id: NamedDependency[UUID], data: JSONBody[NewSeason]
    ) -> Season:
        platform = ctx(request.app.state).platform
        try:
            return await create_season(platform.pool, data, admin_id, platform.clock.now())
        except SeasonError as exc:
            raise season_refused(exc) from None

    @get("/seasons", summary="Every season, the latest first")
    async def seasons(self, request: Request) -> list[Season]:
        return await list_seasons(ctx(request.app.state).platform.pool)

    @get("/seasons/{season_id:uuid}", summary="A season's rules, status and standings")
    async def season(self, request: Request, season_id: FromPath[UUID]) -> SeasonDetail:
        platform = ctx(request.app.state).platform
        season = await _season(platform, season_id)
        return SeasonDetail(season=season, standings=await season_standings(platform, season))

    @get("/me/seasons", dependencies=AUTHENTICATED, summary="The ids of the seasons you joined")
    async def joined(self, request: Request, user_id: NamedDependency[UUID]) -> list[UUID]:
        rows = await ctx(request.app.state).platform.pool.fetch(query("season_joined"), user_id)
        return [r["season_id"] for r in rows]

    @post(
        "/seasons/{season_id:uuid}/join",
        dependencies=AUTHENTICATED,
        status_code=200,
        summary="Join a season (before it starts, or late if its rules allow)",
    )
    async def join(
        self, request: Request, user_id: NamedDependency[UUID], season_id: FromPath[UUID]
    ) -> JoinView:
        platform = ctx(request.app.state).platform
        season = await _season(platform, season_id)
        try:
            joined = await join_season(platform.pool, season, user_id, platform.clock.now())
        except SeasonError as exc:
            raise season_refused(exc) from None
        cash = f"{season.initial_cash_krw.quantize(Decimal(1))} KRW"
        detail = (
            f"you are in; at its start your account is set to {cash} and open orders cancelled"
            if season.status == "scheduled"
            else f"you are in; your account is being set to {cash} and open orders cancelled"
        )
        return JoinView(
            season_id=season.id, joined=joined, detail=detail if joined else "already in it"
        )
