"""A season's rules as settlement applies them, and who sees whose book (pure functions)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from daemon.engine.costs import (
    KR_BROKER_2026,
    NO_COSTS,
    parse_fee_schedule,
    with_commissions,
)
from daemon.reasons import REASONS
from daemon.season_rules import SeasonRules, costs_for, refusal
from daemon.seasons import NewSeason, SeasonError, check_new_season
from daemon.visibility import HIDDEN, OPEN, Sight, sight

RULES = SeasonRules(
    season_id=uuid.uuid4(),
    markets=frozenset({"KRX", "CRYPTO"}),
    costs="kr-broker-2026",
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
    uncapped = SeasonRules(season_id=RULES.season_id, markets=RULES.markets, costs="kr-broker-2026",
                           max_position_pct=None)  # fmt: skip
    assert _refusal(uncapped, "CRYPTO-COIN-BTC", "BUY", "10000000", "0") is None


def test_zero_costs_preset() -> None:
    zero = SeasonRules(season_id=RULES.season_id, markets=RULES.markets, costs="none",
                       max_position_pct=None)  # fmt: skip
    overridden = with_commissions(
        KR_BROKER_2026,
        parse_fee_schedule("KRX=0.0001/0.0001,US=0.0001/0.0001,CRYPTO=0.0001/0.0001"),
    )
    assert costs_for(zero, overridden) is NO_COSTS
    assert costs_for(RULES, overridden) is overridden  # the daemon's preset, override kept
    assert costs_for(None, NO_COSTS) is NO_COSTS  # free play: the daemon's
    assert costs_for(RULES, NO_COSTS) is KR_BROKER_2026  # the season's, whatever the daemon's


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


def test_a_new_season_is_checked_before_it_reaches_the_database() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    good = NewSeason(name=" 겨울 ", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=8),
                     markets=["CRYPTO", "KRX"])  # fmt: skip
    checked = check_new_season(good, now)
    assert checked.name == "겨울"
    assert checked.markets == ["KRX", "CRYPTO"]
    for bad, words in [
        ({"name": "a\x00b"}, "control"),
        ({"starts_at": now}, "future"),
        ({"ends_at": now + timedelta(days=400)}, "366 days"),
        ({"markets": ["NASDAQ"]}, "markets"),
        ({"initial_cash_krw": Decimal("1e13")}, "initial_cash_krw"),
        ({"max_position_pct": Decimal("0.000000001")}, "max_position_pct"),
        ({"max_position_pct": Decimal(101)}, "at most 100"),
        ({"resets_allowed": -1}, "resets_allowed"),
    ]:
        with pytest.raises(SeasonError, match=words):
            check_new_season(msgspec.structs.replace(good, **bad), now)
