"""A season's rules as settlement applies them, and who sees whose book (pure functions)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from daemon.reasons import REASONS
from daemon.season_rules import SeasonRules, fee_rate, refusal
from daemon.visibility import HIDDEN, OPEN, Sight, sight

RULES = SeasonRules(
    season_id=uuid.uuid4(),
    markets=frozenset({"KRX", "CRYPTO"}),
    costs="standard",
    max_position_pct=Decimal("20"),
)


def _refusal(
    rules: SeasonRules | None, ticker_id: str, side: str, order: str, position: str
) -> str | None:
    return refusal(
        rules,
        ticker_id=ticker_id,
        side=side,
        order_value_krw=Decimal(order),
        position_value_krw=Decimal(position),
        equity_krw=Decimal("10000000"),
    )


def test_free_play_refuses_nothing() -> None:
    assert _refusal(None, "US-STOCK-AAPL", "BUY", "9999999", "0") is None


def test_a_market_outside_the_season_is_refused_on_either_side() -> None:
    assert _refusal(RULES, "US-STOCK-AAPL", "BUY", "1000", "0") == "season_market_excluded"
    assert _refusal(RULES, "US-STOCK-AAPL", "SELL", "1000", "0") == "season_market_excluded"
    assert _refusal(RULES, "KRX-STOCK-005930", "BUY", "1000", "0") is None


def test_the_position_cap_counts_what_is_held_and_what_is_bought() -> None:
    # 20 % of 10,000,000 is 2,000,000: 1,500,000 held + 500,000 bought is exactly the cap.
    assert _refusal(RULES, "CRYPTO-COIN-BTC", "BUY", "500000", "1500000") is None
    assert (
        _refusal(RULES, "CRYPTO-COIN-BTC", "BUY", "500000.01", "1500000") == "season_position_limit"
    )
    # Selling never grows a position, even one over the cap (prices moved).
    assert _refusal(RULES, "CRYPTO-COIN-BTC", "SELL", "100", "5000000") is None


def test_no_cap_no_refusal() -> None:
    uncapped = SeasonRules(season_id=RULES.season_id, markets=RULES.markets, costs="standard",
                           max_position_pct=None)  # fmt: skip
    assert _refusal(uncapped, "CRYPTO-COIN-BTC", "BUY", "10000000", "0") is None


def test_zero_costs_preset() -> None:
    zero = SeasonRules(season_id=RULES.season_id, markets=RULES.markets, costs="zero",
                       max_position_pct=None)  # fmt: skip
    assert fee_rate(zero, Decimal("0.0005")) == 0
    assert fee_rate(RULES, Decimal("0.0005")) == Decimal("0.0005")
    assert fee_rate(None, Decimal("0.0005")) == Decimal("0.0005")


def test_the_codes_are_documented() -> None:
    for code in ("season_started", "season_market_excluded", "season_position_limit"):
        assert code in REASONS


def test_who_sees_what() -> None:
    assert sight(own=True, share_trades=False, season_visibility="private") == OPEN
    assert sight(own=False, share_trades=False, season_visibility="live") == HIDDEN
    assert sight(own=False, share_trades=True, season_visibility=None) == OPEN
    assert sight(own=False, share_trades=True, season_visibility="live") == OPEN
    for hidden in ("private", "after_end"):
        assert sight(own=False, share_trades=True, season_visibility=hidden) == HIDDEN
    assert sight(own=False, share_trades=True, season_visibility="delayed_15m") == Sight(
        False, True, timedelta(minutes=15)
    )
