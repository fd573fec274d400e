"""The rankings by period with benchmark rows, and one player's rank and equity over time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromQuery, QueryParameter

from daemon.api.context import ctx
from daemon.api.season_routes import frozen_standings
from daemon.rankings import HistoryPoint, Period, RankRow
from daemon.seasons import Season, current_season, get_season

if TYPE_CHECKING:
    from daemon.platform import Platform


async def _season(platform: Platform, period: Period, season_id: UUID | None) -> Season | None:
    """The season a board is about: the one named, else "the season" (running, next, last)."""
    if season_id is not None:
        season = await get_season(platform.pool, season_id)
        if season is None:
            raise NotFoundException(f"no season {season_id}; GET /api/seasons lists them")
        return season
    if period != "season":
        return None
    season = await current_season(platform.pool)
    if season is None:
        raise NotFoundException("there is no season yet; an ADMIN creates one")
    return season


class RankingController(Controller):
    path = "/api/rankings"
    tags = ["rankings"]

    @get(
        "/",
        summary="Players and benchmarks ranked by time-weighted return over a period",
        description="Periods start at 00:00 KST (week: Monday). `season` alone: the running "
        "season's participants, else the latest season's frozen standings.",
    )
    async def rankings(
        self,
        request: Request,
        period: FromQuery[Period] = "all",
        season_id: Annotated[UUID | None, QueryParameter(query="season")] = None,
    ) -> list[RankRow]:
        platform = ctx(request.app.state).platform
        season = await _season(platform, period, season_id)
        if period == "season" and season is not None and season.status == "ended":
            return await frozen_standings(platform, season.id)
        return await platform.rankings.recent_board(
            period, season, platform.settings.initial_cash_krw
        )

    @get("/history", summary="A player's rank and equity over a period, oldest first")
    async def history(
        self,
        request: Request,
        user_id: FromQuery[UUID],
        period: FromQuery[Period] = "week",
        season_id: Annotated[UUID | None, QueryParameter(query="season")] = None,
    ) -> list[HistoryPoint]:
        platform = ctx(request.app.state).platform
        season = await _season(platform, period, season_id)
        return await platform.rankings.history(user_id, period, season)
