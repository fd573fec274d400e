"""Trading sessions of KRX, US (NYSE) and crypto: whether a market is open at an instant, and
when it next opens or closes. Holidays, early closes and late opens come from exchange_calendars."""

from __future__ import annotations

import threading
import warnings
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import exchange_calendars as xc

KRX: Final = "KRX"
US: Final = "US"
CRYPTO: Final = "CRYPTO"
MARKETS: Final = frozenset({KRX, US, CRYPTO})

_CALENDAR_CODES: Final = {KRX: "XKRX", US: "XNYS"}
_KST: Final = ZoneInfo("Asia/Seoul")

# Sessions are known from this date up to _HORIZON after the calendars are built (at first use).
# An instant outside that range is treated as closed, and next_open/next_close answer None
# when no session is known after it: we would rather refuse a fill than invent a schedule.
# exchange_calendars' own default ends one year ahead; two years keeps a long-running daemon
# well inside the range. XKRX cannot be built past 2050 (its lunar holidays stop there).
CALENDAR_START: Final = date(2019, 1, 1)
_HORIZON: Final = timedelta(days=2 * 365)

_CSAT_HOURS_KST: Final = (time(10, 0), time(16, 30))

# KRX sessions moved one hour later (10:00-16:30 KST instead of 09:00-15:30) for the college
# entrance exam (수능, CSAT), keyed by exam day; values are (open, close) in KST.
# Verified against exchange_calendars 4.13.2 (the installed release): it shifts CSAT days only up
# to 2020-12-03 and reports each date below as a regular 09:00-15:30 session. Its unreleased main
# branch (commit 7062399, June 2026) adds 2021-11-18..2025-11-13 but not 2026. The times here are
# absolute, so when a newer release already shifts a date, applying this table changes nothing.
# To add a year: KRX announces the shifted hours a few weeks before the exam (a Thursday in
# mid-November); add `date(YYYY, M, D): _CSAT_HOURS_KST` and a case in tests/test_market_hours.py.
KRX_CSAT_SESSIONS_KST: Final[dict[date, tuple[time, time]]] = {
    date(2021, 11, 18): _CSAT_HOURS_KST,
    date(2022, 11, 17): _CSAT_HOURS_KST,
    date(2023, 11, 16): _CSAT_HOURS_KST,
    date(2024, 11, 14): _CSAT_HOURS_KST,
    date(2025, 11, 13): _CSAT_HOURS_KST,
    date(2026, 11, 19): _CSAT_HOURS_KST,
}


@dataclass(frozen=True, slots=True)
class _Sessions:
    """One market's sessions in time order: session i is [opens[i], closes[i])."""

    opens: list[datetime]
    closes: list[datetime]


_sessions_cache: dict[str, _Sessions] = {}
_build_lock = threading.Lock()


def _as_utc(at: datetime) -> datetime:
    if at.tzinfo is UTC:
        return at
    if at.utcoffset() is None:
        raise ValueError(f"need a timezone-aware datetime (UTC), got naive {at.isoformat()}")
    # Comparing datetimes that share one tzinfo object skips utcoffset() calls: ~10x faster.
    return at.astimezone(UTC)


def _build_sessions(market: str) -> _Sessions:
    end = datetime.now(UTC).date() + _HORIZON
    with warnings.catch_warnings():
        # exchange_calendars trips pandas 3 deprecation warnings while building; they are its own.
        warnings.simplefilter("ignore", DeprecationWarning)
        calendar = xc.get_calendar(
            _CALENDAR_CODES[market], start=CALENDAR_START.isoformat(), end=end.isoformat()
        )
    by_day: dict[date, tuple[datetime, datetime]] = {
        label.date(): (
            open_.to_pydatetime().astimezone(UTC),
            close.to_pydatetime().astimezone(UTC),
        )
        for label, open_, close in zip(
            calendar.sessions, calendar.opens, calendar.closes, strict=True
        )
    }
    if market == KRX:
        for day, (open_kst, close_kst) in KRX_CSAT_SESSIONS_KST.items():
            # A listed day the calendar has as a holiday stays closed: never invent a session.
            if day in by_day:
                by_day[day] = (
                    datetime.combine(day, open_kst, _KST).astimezone(UTC),
                    datetime.combine(day, close_kst, _KST).astimezone(UTC),
                )
    ordered = sorted(by_day.values())
    return _Sessions(opens=[o for o, _ in ordered], closes=[c for _, c in ordered])


def _sessions_for(market: str) -> _Sessions:
    sessions = _sessions_cache.get(market)
    if sessions is None:
        with _build_lock:
            sessions = _sessions_cache.get(market)
            if sessions is None:
                sessions = _sessions_cache[market] = _build_sessions(market)
    return sessions


class MarketHours:
    """Answers "is this market open?" for KRX, US and CRYPTO at any UTC instant.

    Calendars are built on first use of each market, once per process (about 1-2 s for XKRX);
    call `warm_up()` from a worker thread at start-up so the event loop never pays for it.
    """

    def __init__(self) -> None:
        self._tables: dict[str, _Sessions] = {}

    def warm_up(self) -> None:
        """Build every calendar now rather than on the first question."""
        for market in _CALENDAR_CODES:
            self._tables[market] = _sessions_for(market)

    def _table(self, market: str) -> _Sessions | None:
        """The market's sessions, or None for CRYPTO."""
        table = self._tables.get(market)
        if table is not None:
            return table
        if market == CRYPTO:
            return None
        if market not in MARKETS:
            raise ValueError(f"unknown market {market!r}; expected one of {sorted(MARKETS)}")
        table = self._tables[market] = _sessions_for(market)
        return table

    def is_open(self, market: str, at: datetime) -> bool:
        """True if `market` is trading at instant `at` (open inclusive, close exclusive)."""
        at = _as_utc(at)
        table = self._table(market)
        if table is None:
            return True
        i = bisect_right(table.opens, at) - 1
        return i >= 0 and at < table.closes[i]

    def session(self, market: str, at: datetime) -> tuple[datetime, datetime] | None:
        """The (open, close) in UTC of the session containing `at`, or None if closed then.

        CRYPTO never closes; it answers the UTC day containing `at`, which is also Upbit's
        trading day (its daily candles roll over at 09:00 KST = 00:00 UTC).
        """
        at = _as_utc(at)
        table = self._table(market)
        if table is None:
            day_start = datetime.combine(at.date(), time(0), UTC)
            return day_start, day_start + timedelta(days=1)
        i = bisect_right(table.opens, at) - 1
        if i >= 0 and at < table.closes[i]:
            return table.opens[i], table.closes[i]
        return None

    def next_open(self, market: str, at: datetime) -> datetime | None:
        """The first session open strictly after `at`; None for CRYPTO or beyond the calendar."""
        at = _as_utc(at)
        table = self._table(market)
        if table is None:
            return None
        i = bisect_right(table.opens, at)
        return table.opens[i] if i < len(table.opens) else None

    def next_close(self, market: str, at: datetime) -> datetime | None:
        """The first session close strictly after `at` (the current session's close while open)."""
        at = _as_utc(at)
        table = self._table(market)
        if table is None:
            return None
        i = bisect_right(table.closes, at)
        return table.closes[i] if i < len(table.closes) else None
