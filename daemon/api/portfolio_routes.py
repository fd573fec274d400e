"""The caller's portfolio and equity history, and everyone's rankings."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from daemon.api.context import AUTHENTICATED, ctx
from daemon.api.views import EquityPointView, PortfolioView, PositionView, RankingView
from daemon.portfolios import load_portfolio, standings
from daemon.sqlfiles import query


class PortfolioController(Controller):
    path = "/api"
    tags = ["portfolio"]

    @get(
        "/portfolio",
        dependencies=AUTHENTICATED,
        summary="Cash, positions valued now in KRW, and equity",
    )
    async def portfolio(self, request: Request, user_id: NamedDependency[UUID]) -> PortfolioView:
        platform = ctx(request.app.state).platform
        portfolio = await load_portfolio(platform.pool, platform.book, user_id)
        if portfolio is None:
            raise NotFoundException("this account no longer exists")
        return PortfolioView(
            cash_krw=portfolio.cash_krw,
            positions=[
                PositionView(
                    ticker_id=v.holding.ticker_id,
                    quantity=v.holding.quantity,
                    average_price=v.holding.average_price,
                    currency=v.holding.currency,
                    last_price=v.last_price,
                    fx_rate=v.fx_rate,
                    market_value_krw=v.market_value_krw,
                    unrealized_pnl_krw=v.unrealized_pnl_krw,
                )
                for v in portfolio.holdings
            ],
            equity_krw=portfolio.equity_krw,
        )

    @get(
        "/portfolio/history",
        dependencies=AUTHENTICATED,
        summary="Equity over time, oldest first, ending with the equity now",
    )
    async def history(
        self,
        request: Request,
        user_id: NamedDependency[UUID],
        days: int = Parameter(default=30, ge=1, le=3650),
    ) -> list[EquityPointView]:
        platform = ctx(request.app.state).platform
        now = platform.clock.now()
        rows = await platform.pool.fetch(
            query("equity_history"), user_id, now - timedelta(days=days)
        )
        points = [EquityPointView(time=r["time"], equity_krw=r["equity_krw"]) for r in rows]
        current = await load_portfolio(platform.pool, platform.book, user_id)
        if current is not None:
            points.append(EquityPointView(time=now, equity_krw=current.equity_krw))
        return points

    @get("/rankings", summary="Everyone's equity in KRW and return %, highest first")
    async def rankings(self, request: Request) -> list[RankingView]:
        platform = ctx(request.app.state).platform
        ranked = await standings(platform.pool, platform.book)
        return [
            RankingView(
                rank=i, nickname=s.nickname, equity_krw=s.equity_krw, return_pct=s.return_pct
            )
            for i, s in enumerate(ranked, start=1)
        ]
