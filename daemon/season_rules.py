"""A running season's rules, as settlement applies them to an order (pure: no I/O).

Settlement asks `refusal()` before it fills an order of a season's participant; a code it
returns is the order's FAILED reason (daemon/reasons.py).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Literal
from uuid import UUID

import msgspec

from daemon.engine.costs import CostPreset, preset
from daemon.money import MONEY_CONTEXT

Market = Literal["KRX", "US", "CRYPTO"]
MARKETS: tuple[Market, ...] = ("KRX", "US", "CRYPTO")
Costs = Literal["kr-broker-2026", "none"]  # SPEC 6A cost presets (daemon/engine/costs.py)


class SeasonRules(msgspec.Struct, frozen=True, kw_only=True):
    """What a running season allows its participants (SPEC 6C)."""

    season_id: UUID
    markets: frozenset[str]
    costs: Costs
    max_position_pct: Decimal | None  # the most one position may be of equity, in percent


def market_of(ticker_id: str) -> str:
    """KRX, US or CRYPTO: the first part of a ticker id."""
    return ticker_id.split("-", 1)[0]


def excludes(rules: SeasonRules | None, ticker_id: str) -> bool:
    """True if the running season does not trade `ticker_id`'s market (refused on arrival,
    whatever the price)."""
    return rules is not None and market_of(ticker_id) not in rules.markets


def refusal(
    rules: SeasonRules | None,
    *,
    ticker_id: str,
    side: str,
    order_value_krw: Decimal,
    position_value_krw: Decimal,
    equity_krw: Decimal,
) -> str | None:
    """Why the season refuses this order (a reason code), or None if it allows it.

    `order_value_krw`: the order's value in KRW at the fill price (price × quantity × rate;
    for an amount order, the amount less its fee); `position_value_krw`: the account's position
    in `ticker_id` valued now, before the order; `equity_krw`: cash plus every position valued
    now. A SELL only shrinks a position, so the cap never refuses one; an order outside the
    season's markets is refused on either side (a position held from free play was closed at
    the season's start, so there is nothing to sell).
    """
    if rules is None:
        return None
    if excludes(rules, ticker_id):
        return "season_market_excluded"
    if side == "BUY" and rules.max_position_pct is not None:
        with localcontext(MONEY_CONTEXT):
            # Buying spends cash on the position: equity stays what it was (fees aside).
            after = position_value_krw + order_value_krw
            if after * 100 > rules.max_position_pct * equity_krw:
                return "season_position_limit"
    return None


def costs_for(rules: SeasonRules | None, daemon_costs: CostPreset) -> CostPreset:
    """The costs a participant's fills pay: the season's preset, or the daemon's in free play.
    The daemon's own preset keeps its PAPERTRADE_FEES override in a season that names it."""
    # with_commissions names an overridden preset "<preset>+PAPERTRADE_FEES".
    if rules is None or rules.costs == daemon_costs.name.split("+", 1)[0]:
        return daemon_costs
    return preset(rules.costs)
