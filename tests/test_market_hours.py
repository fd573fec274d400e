"""Market hours: KRX and NYSE sessions with holidays, late opens and early closes; crypto 24/7."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.market_hours import CALENDAR_START, MarketHours

KST = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
ONE_SECOND = timedelta(seconds=1)


def kst(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=KST).astimezone(UTC)


def et(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=NEW_YORK).astimezone(UTC)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


@pytest.fixture(scope="module")
def hours() -> MarketHours:
    market_hours = MarketHours()
    market_hours.warm_up()
    return market_hours


# --- KRX ---------------------------------------------------------------------------------


def test_krx_regular_day_opens_at_0900_and_closes_at_1530_kst(hours: MarketHours) -> None:
    day = (2026, 11, 25)  # a Wednesday
    assert not hours.is_open("KRX", kst(*day, 8, 59, 59))
    assert hours.is_open("KRX", kst(*day, 9, 0))
    assert hours.is_open("KRX", kst(*day, 15, 29, 59))
    assert not hours.is_open("KRX", kst(*day, 15, 30))
    assert hours.session("KRX", kst(*day, 12)) == (utc(2026, 11, 25, 0), utc(2026, 11, 25, 6, 30))
    assert hours.session("KRX", kst(*day, 15, 30)) is None


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # New Year's Day
        date(2026, 9, 24),  # Chuseok holidays (the 26th is a Saturday)
        date(2026, 9, 25),
        date(2026, 10, 5),  # substitute for National Foundation Day, a Saturday
        date(2026, 12, 31),  # KRX year-end closing day
    ],
)
def test_krx_holidays_are_closed_all_day(hours: MarketHours, day: date) -> None:
    for hour in (9, 10, 12, 15):
        assert not hours.is_open("KRX", kst(day.year, day.month, day.day, hour))


def test_krx_next_open_skips_the_chuseok_holidays_and_weekend(hours: MarketHours) -> None:
    assert hours.is_open("KRX", kst(2026, 9, 23, 10))
    assert hours.next_open("KRX", kst(2026, 9, 23, 15, 30)) == kst(2026, 9, 28, 9)
    assert hours.next_close("KRX", kst(2026, 9, 24, 10)) == kst(2026, 9, 28, 15, 30)


@pytest.mark.parametrize(
    "day",
    [
        date(2020, 12, 3),  # known to exchange_calendars itself: must not be shifted twice
        date(2021, 11, 18),
        date(2022, 11, 17),
        date(2023, 11, 16),
        date(2024, 11, 14),
        date(2025, 11, 13),
        date(2026, 11, 19),
    ],
)
def test_krx_csat_day_trades_1000_to_1630_kst(hours: MarketHours, day: date) -> None:
    ymd = (day.year, day.month, day.day)
    assert hours.session("KRX", kst(*ymd, 12)) == (kst(*ymd, 10), kst(*ymd, 16, 30))
    assert not hours.is_open("KRX", kst(*ymd, 9, 59, 59))
    assert hours.is_open("KRX", kst(*ymd, 16, 29, 59))
    assert not hours.is_open("KRX", kst(*ymd, 16, 30))


def test_krx_csat_2025_edges(hours: MarketHours) -> None:
    assert not hours.is_open("KRX", kst(2025, 11, 13, 9, 30))
    assert hours.is_open("KRX", kst(2025, 11, 13, 10, 0))
    assert hours.is_open("KRX", kst(2025, 11, 13, 16, 0))
    assert not hours.is_open("KRX", kst(2025, 11, 13, 16, 30))
    assert hours.next_open("KRX", kst(2025, 11, 13, 9, 30)) == kst(2025, 11, 13, 10)
    # The days around the exam keep regular hours.
    assert hours.session("KRX", kst(2025, 11, 12, 9)) == (
        kst(2025, 11, 12, 9),
        kst(2025, 11, 12, 15, 30),
    )
    assert hours.session("KRX", kst(2025, 11, 14, 9)) == (
        kst(2025, 11, 14, 9),
        kst(2025, 11, 14, 15, 30),
    )


@pytest.mark.parametrize("day", [date(2025, 1, 2), date(2026, 1, 2)])
def test_krx_first_trading_day_of_year_opens_at_1000_kst(hours: MarketHours, day: date) -> None:
    ymd = (day.year, day.month, day.day)
    assert not hours.is_open("KRX", kst(*ymd, 9, 30))
    assert hours.is_open("KRX", kst(*ymd, 10))
    assert hours.session("KRX", kst(*ymd, 12)) == (kst(*ymd, 10), kst(*ymd, 15, 30))
    assert hours.next_open("KRX", kst(day.year - 1, 12, 30, 16)) == kst(*ymd, 10)


# --- US ----------------------------------------------------------------------------------


def test_us_open_follows_daylight_saving_in_march(hours: MarketHours) -> None:
    # Friday 2026-03-06 is on EST (UTC-5), Monday 2026-03-09 on EDT (UTC-4).
    assert hours.session("US", utc(2026, 3, 6, 16)) == (
        utc(2026, 3, 6, 14, 30),
        utc(2026, 3, 6, 21),
    )
    assert not hours.is_open("US", utc(2026, 3, 9, 13, 29, 59))
    assert hours.is_open("US", utc(2026, 3, 9, 13, 30))
    assert hours.is_open("US", utc(2026, 3, 9, 19, 59, 59))
    assert not hours.is_open("US", utc(2026, 3, 9, 20))


def test_us_open_follows_daylight_saving_in_november(hours: MarketHours) -> None:
    assert hours.session("US", utc(2026, 10, 30, 16)) == (
        utc(2026, 10, 30, 13, 30),
        utc(2026, 10, 30, 20),
    )
    assert not hours.is_open("US", utc(2026, 11, 2, 13, 30))
    assert not hours.is_open("US", utc(2026, 11, 2, 14, 29, 59))
    assert hours.is_open("US", utc(2026, 11, 2, 14, 30))
    assert hours.is_open("US", utc(2026, 11, 2, 20, 30))
    assert not hours.is_open("US", utc(2026, 11, 2, 21))


def test_us_thanksgiving_closed_and_next_day_closes_at_1300_et(hours: MarketHours) -> None:
    assert not hours.is_open("US", et(2026, 11, 26, 12))
    assert hours.next_open("US", et(2026, 11, 26, 12)) == et(2026, 11, 27, 9, 30)
    assert hours.is_open("US", et(2026, 11, 27, 12, 59, 59))
    assert not hours.is_open("US", et(2026, 11, 27, 13))
    assert hours.session("US", et(2026, 11, 27, 10)) == (
        et(2026, 11, 27, 9, 30),
        et(2026, 11, 27, 13),
    )
    assert hours.next_close("US", et(2026, 11, 26, 12)) == et(2026, 11, 27, 13)


# --- weekends and next open/close --------------------------------------------------------


def test_weekend_is_closed(hours: MarketHours) -> None:
    for hour in range(0, 24, 3):
        assert not hours.is_open("KRX", kst(2026, 11, 28, hour))  # Saturday
        assert not hours.is_open("KRX", kst(2026, 11, 29, hour))  # Sunday
        assert not hours.is_open("US", et(2026, 11, 28, hour))
        assert not hours.is_open("US", et(2026, 11, 29, hour))


def test_next_open_and_close_across_a_weekend(hours: MarketHours) -> None:
    friday_evening = kst(2026, 11, 20, 16)
    assert hours.next_open("KRX", friday_evening) == kst(2026, 11, 23, 9)
    assert hours.next_close("KRX", friday_evening) == kst(2026, 11, 23, 15, 30)
    saturday = et(2026, 11, 21, 12)
    assert hours.next_open("US", saturday) == et(2026, 11, 23, 9, 30)
    assert hours.next_close("US", saturday) == et(2026, 11, 23, 16)


def test_while_open_next_close_is_today_and_next_open_is_tomorrow(hours: MarketHours) -> None:
    at = kst(2026, 11, 20, 9)  # Friday, the very first second of the session
    assert hours.next_close("KRX", at) == kst(2026, 11, 20, 15, 30)
    assert hours.next_open("KRX", at) == kst(2026, 11, 23, 9)
    # At the close instant the session is over: the next close is Monday's.
    assert hours.next_close("KRX", kst(2026, 11, 20, 15, 30)) == kst(2026, 11, 23, 15, 30)


# --- crypto ------------------------------------------------------------------------------


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_crypto_is_always_open(at: datetime) -> None:
    crypto = MarketHours()
    assert crypto.is_open("CRYPTO", at)
    assert crypto.next_open("CRYPTO", at) is None
    assert crypto.next_close("CRYPTO", at) is None
    session = crypto.session("CRYPTO", at)
    assert session is not None
    assert session[0] <= at < session[1]
    assert session[1] - session[0] == timedelta(days=1)


# --- arguments ---------------------------------------------------------------------------


@pytest.mark.parametrize("market", ["KRX", "US", "CRYPTO"])
def test_naive_datetime_is_refused(hours: MarketHours, market: str) -> None:
    naive = datetime(2026, 11, 25, 1, 0)
    for ask in (hours.is_open, hours.session, hours.next_open, hours.next_close):
        with pytest.raises(ValueError, match="timezone-aware"):
            ask(market, naive)


@pytest.mark.parametrize("market", ["NYSE", "krx", "", "XKRX"])
def test_unknown_market_is_refused(hours: MarketHours, market: str) -> None:
    with pytest.raises(ValueError, match="unknown market"):
        hours.is_open(market, utc(2026, 11, 25, 1))


def test_other_time_zones_are_read_as_the_same_instant_and_answered_in_utc(
    hours: MarketHours,
) -> None:
    at = datetime(2026, 11, 25, 9, 0, tzinfo=KST)
    assert hours.is_open("KRX", at)
    assert not hours.is_open("KRX", at - ONE_SECOND)
    opened = hours.next_open("US", at)
    assert opened == et(2026, 11, 25, 9, 30)
    assert opened is not None
    assert opened.utcoffset() == timedelta(0)


def test_outside_the_calendar_range_is_closed(hours: MarketHours) -> None:
    far = utc(2045, 6, 7, 2)  # a Wednesday, well past the calendars' horizon
    for market in ("KRX", "US"):
        assert not hours.is_open(market, far)
        assert hours.session(market, far) is None
        assert hours.next_open(market, far) is None
        assert hours.next_close(market, far) is None
        early = hours.next_open(market, utc(2010, 1, 4))
        assert early is not None
        assert early.date() >= CALENDAR_START


# --- properties over the whole calendar --------------------------------------------------

_instants = st.datetimes(
    min_value=datetime(2019, 1, 2), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(market=st.sampled_from(["KRX", "US"]), at=_instants)
def test_session_answers_agree_with_each_other(
    hours: MarketHours, market: str, at: datetime
) -> None:
    session = hours.session(market, at)
    assert hours.is_open(market, at) == (session is not None)
    next_open = hours.next_open(market, at)
    next_close = hours.next_close(market, at)
    assert next_open is not None
    assert next_close is not None
    assert at < next_open
    assert at < next_close
    assert hours.is_open(market, next_open)
    assert not hours.is_open(market, next_open - timedelta(microseconds=1))
    assert not hours.is_open(market, next_close)
    assert hours.is_open(market, next_close - timedelta(microseconds=1))
    if session is None:
        assert next_open < next_close
    else:
        start, end = session
        assert start <= at < end
        assert next_close == end
        assert end < next_open
        # Regular, late-open and early-close sessions all last between 3.5 and 7.5 hours.
        assert timedelta(hours=3, minutes=30) <= end - start <= timedelta(hours=7, minutes=30)
