"""The PAPERTRADE_FEES override: parsing, and fee arithmetic (Decimal only, 8 decimals, half-even)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.engine.costs import FeeSchedule, MarketFees, fee_for, parse_fee_schedule
from daemon.money import QUANTUM

# The v1 default (commission plus the KRX sell tax in one rate), a typical override.
DEFAULT = parse_fee_schedule("KRX=0.00015/0.00215,US=0.0025/0.0025,CRYPTO=0.0005/0.0005")


def fee_krw(schedule: FeeSchedule, market: str, side: str, total_krw: Decimal) -> Decimal:
    return fee_for(total_krw, schedule.rate(market, side))


def test_schedule_reads_each_market_and_side() -> None:
    assert (
        FeeSchedule(
            krx=MarketFees(buy=Decimal("0.00015"), sell=Decimal("0.00215")),
            us=MarketFees(buy=Decimal("0.0025"), sell=Decimal("0.0025")),
            crypto=MarketFees(buy=Decimal("0.0005"), sell=Decimal("0.0005")),
        )
        == DEFAULT
    )


@pytest.mark.parametrize(
    ("market", "side", "total", "fee"),
    [
        ("KRX", "BUY", "1000000", "150.00000000"),
        ("KRX", "SELL", "1000000", "2150.00000000"),
        ("US", "BUY", "1234567.89", "3086.41972500"),
        ("US", "SELL", "0.00000001", "0E-8"),
        ("CRYPTO", "BUY", "50000.12345678", "25.00006173"),
        ("CRYPTO", "SELL", "0", "0E-8"),
    ],
)
def test_fee_examples(market: str, side: str, total: str, fee: str) -> None:
    result = fee_krw(DEFAULT, market, side, Decimal(total))
    assert str(result) == fee


def test_fee_rounds_half_to_even() -> None:
    tenth = parse_fee_schedule("KRX=0.1/0.1,US=0.1/0.1,CRYPTO=0.1/0.1")
    # 0.000000005 and 0.000000025 are exact halves at the 9th decimal.
    assert fee_krw(tenth, "KRX", "BUY", Decimal("0.00000005")) == Decimal("0")
    assert fee_krw(tenth, "KRX", "BUY", Decimal("0.00000015")) == Decimal("0.00000002")
    assert fee_krw(tenth, "KRX", "BUY", Decimal("0.00000025")) == Decimal("0.00000002")
    assert fee_krw(tenth, "KRX", "BUY", Decimal("0.00000026")) == Decimal("0.00000003")


def test_unrounded_totals_are_rounded_once_not_first_by_the_decimal_context() -> None:
    # 34 significant digits: the default 28-digit context would drop the final 1 and turn
    # "just above half" into an exact half, which half-even rounds down.
    total = Decimal("1000000000.00000005" + "0" * 15 + "1")
    tenth = parse_fee_schedule("KRX=0.1/0.1,US=0.1/0.1,CRYPTO=0.1/0.1")
    assert fee_krw(tenth, "KRX", "BUY", total) == Decimal("100000000.00000001")


def test_spaces_around_parts_are_allowed_and_order_does_not_matter() -> None:
    text = " CRYPTO = 0.0005 / 0.0005 , US=0.0025/0.0025,  KRX=0.00015/0.00215 "
    assert parse_fee_schedule(text) == DEFAULT


def test_schedule_is_frozen_and_round_trips_through_json() -> None:
    encoded = msgspec.json.encode(DEFAULT)
    assert b'"0.00215"' in encoded  # decimals as strings, never floats
    assert msgspec.json.decode(encoded, type=FeeSchedule) == DEFAULT
    with pytest.raises(AttributeError):
        DEFAULT.krx = MarketFees(buy=Decimal(0), sell=Decimal(0))  # type: ignore[misc]


GOOD_US_CRYPTO = "US=0.0025/0.0025,CRYPTO=0.0005/0.0005"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty entry"),
        (f"KRX=0.1/0.1,{GOOD_US_CRYPTO},", "empty entry"),
        (GOOD_US_CRYPTO, "no rates for KRX"),
        ("KRX=0.1/0.1", "no rates for US, CRYPTO"),
        (f"KRX=0.1/0.1,KRX=0.1/0.1,{GOOD_US_CRYPTO}", "KRX is given more than once"),
        (f"krx=0.1/0.1,{GOOD_US_CRYPTO}", "unknown market 'krx'"),
        (f"KRX=0.1/0.1,JP=0.1/0.1,{GOOD_US_CRYPTO}", "unknown market 'JP'"),
        (f"KRX:0.1/0.1,{GOOD_US_CRYPTO}", "'KRX:0.1/0.1' is not MARKET=buy_rate/sell_rate"),
        (f"KRX=0.1,{GOOD_US_CRYPTO}", "'KRX=0.1' needs exactly two rates"),
        (f"KRX=0.1/0.1/0.1,{GOOD_US_CRYPTO}", "needs exactly two rates"),
        (f"KRX=abc/0.1,{GOOD_US_CRYPTO}", "KRX buy rate 'abc' is not a decimal"),
        (f"KRX=0.1/,{GOOD_US_CRYPTO}", "KRX sell rate must be a decimal"),
        (f"KRX=0.1/0.2,{GOOD_US_CRYPTO}", "KRX sell rate '0.2' must be between 0 and 0.1"),
        (f"KRX=-0.001/0.1,{GOOD_US_CRYPTO}", "KRX buy rate '-0.001' must be between"),
        (f"KRX=NaN/0.1,{GOOD_US_CRYPTO}", "KRX buy rate must be a finite number"),
        (f"KRX=0.000000001/0.1,{GOOD_US_CRYPTO}", "KRX buy rate has more than 8 decimal"),
    ],
)
def test_bad_schedules_are_refused_naming_the_bad_part(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="PAPERTRADE_FEES") as caught:
        parse_fee_schedule(text)
    assert complaint in str(caught.value)


def test_negative_zero_rate_gives_plain_zero_fees() -> None:
    free = parse_fee_schedule("KRX=-0/-0,US=0/0,CRYPTO=0/0")
    assert str(fee_krw(free, "KRX", "SELL", Decimal("123.45"))) == "0E-8"


@pytest.mark.parametrize(
    ("market", "side", "total", "complaint"),
    [
        ("KRX", "buy", Decimal(1), "unknown side 'buy'"),
        ("NYSE", "BUY", Decimal(1), "unknown market 'NYSE'"),
        ("KRX", "BUY", Decimal("-1"), "non-negative"),
        ("KRX", "BUY", Decimal("NaN"), "finite"),
        ("KRX", "BUY", 1.5, "Decimal"),
    ],
)
def test_bad_fee_arguments_are_refused(
    market: str, side: str, total: object, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        fee_krw(DEFAULT, market, side, total)  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------

_rates = st.decimals(min_value=0, max_value=Decimal("0.1"), places=8)
_totals = st.decimals(min_value=0, max_value=Decimal("99999999999.99999999"), places=8)
_markets = st.sampled_from(["KRX", "US", "CRYPTO"])
_sides = st.sampled_from(["BUY", "SELL"])


@st.composite
def _schedules(draw: st.DrawFn) -> FeeSchedule:
    rates = [draw(_rates) for _ in range(6)]
    return parse_fee_schedule(
        f"KRX={rates[0]}/{rates[1]},US={rates[2]}/{rates[3]},CRYPTO={rates[4]}/{rates[5]}"
    )


@given(schedule=_schedules(), market=_markets, side=_sides, total=_totals)
def test_fee_is_the_rate_times_total_within_half_a_unit(
    schedule: FeeSchedule, market: str, side: str, total: Decimal
) -> None:
    fee = fee_krw(schedule, market, side, total)
    assert fee.as_tuple().exponent == -8
    assert fee >= 0
    exact = total * schedule.rate(market, side)  # exact: 28 digits hold 19 + 7
    assert abs(fee - exact) <= QUANTUM / 2
    assert fee <= total * Decimal("0.1") + QUANTUM / 2


@given(market=_markets, side=_sides, smaller=_totals, larger=_totals)
def test_fee_never_falls_as_the_total_grows(
    market: str, side: str, smaller: Decimal, larger: Decimal
) -> None:
    smaller, larger = sorted((smaller, larger))
    assert fee_krw(DEFAULT, market, side, smaller) <= fee_krw(DEFAULT, market, side, larger)


@given(total=_totals)
def test_krx_sell_costs_more_than_buy_by_the_difference(total: Decimal) -> None:
    buy = fee_krw(DEFAULT, "KRX", "BUY", total)
    sell = fee_krw(DEFAULT, "KRX", "SELL", total)
    assert abs(sell - buy - total * Decimal("0.002")) <= QUANTUM
