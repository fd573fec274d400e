"""The caller's portfolio and equity history, and everyone's rankings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from daemon.api.context import AUTHENTICATED, ctx
from daemon.api.views import EquityPointView, PortfolioView, PositionView, RankingView
from daemon.portfolios import load_portfolio, standings
from daemon.sqlfiles import query

ZERO = Decimal(0)


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
        portfolio = await load_portfolio(
            platform.pool, platform.book, user_id, platform.clock.now()
        )
        if portfolio is None:
            raise NotFoundException("this account no longer exists")
        p = portfolio.performance
        held = portfolio.reserved_quantity
        return PortfolioView(
            cash_krw=portfolio.cash_krw,
            reserved_cash_krw=portfolio.reserved_cash_krw,
            available_cash_krw=portfolio.available_cash_krw,
            positions=[
                PositionView(
                    ticker_id=v.holding.ticker_id,
                    quantity=v.holding.quantity,
                    reserved_quantity=held.get(v.holding.ticker_id, ZERO),
                    available_quantity=v.holding.quantity - held.get(v.holding.ticker_id, ZERO),
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
            day_start_equity_krw=p.day_start_equity_krw,
            day_pnl_krw=p.day_pnl_krw,
            day_return_pct=p.day_return_pct,
            net_deposits_krw=p.net_deposits_krw,
            total_pnl_krw=p.total_pnl_krw,
            total_return_pct=p.total_return_pct,
        )

    @get(
        "/portfolio/history",
        dependencies=AUTHENTICATED,
        summary="Recorded equity snapshots, oldest first ([] before the first one)",
    )
    async def history(
        self,
        request: Request,
        user_id: NamedDependency[UUID],
        days: int = Parameter(default=30, ge=1, le=3650),
    ) -> list[EquityPointView]:
        platform = ctx(request.app.state).platform
        since = platform.clock.now() - timedelta(days=days)
        rows = await platform.pool.fetch(query("equity_history"), user_id, since)
        return [EquityPointView(time=r["time"], equity_krw=r["equity_krw"]) for r in rows]

    @get("/rankings", summary="Everyone's equity in KRW and return %, highest first")
    async def rankings(self, request: Request) -> list[RankingView]:
        platform = ctx(request.app.state).platform
        ranked = await standings(platform.pool, platform.book)
        return [
            RankingView(
                rank=i,
                user_id=s.user_id,
                nickname=s.nickname,
                equity_krw=s.equity_krw,
                return_pct=s.return_pct,
            )
            for i, s in enumerate(ranked, start=1)
        ]
