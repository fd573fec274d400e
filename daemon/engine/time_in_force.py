"""Time in force (SPEC 6A): defaults and allowed values per market, `expires_at` at acceptance on
the real market calendars, and the `market_closed` refusal of a MARKET stock order while closed.

The calendar is passed in (daemon.market_hours.MarketHours or anything with next_open /
next_close); `PAPERTRADE_GTC_DAYS` is a parameter. No clock is read here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Protocol

from daemon.engine.orders import OrderShapeError, TimeInForce

DEFAULT_GTC_DAYS: Final = 90
DEFAULT_TIME_IN_FORCE: Final[dict[str, TimeInForce]] = {"KRX": "DAY", "US": "DAY", "CRYPTO": "GTC"}
ALLOWED_TIME_IN_FORCE: Final[dict[str, tuple[TimeInForce, ...]]] = {
    "KRX": ("DAY", "GTC", "IOC", "FOK", "OPG"),
    "US": ("DAY", "GTC", "IOC", "FOK", "OPG"),
    "CRYPTO": ("GTC", "IOC", "FOK"),
}


class Calendar(Protocol):
    def next_open(self, market: str, at: datetime) -> datetime | None: ...

    def next_close(self, market: str, at: datetime) -> datetime | None: ...


def resolve_time_in_force(market: str, order_type: str, asked: TimeInForce | None) -> TimeInForce:
    """The order's time in force: the market's default when none was asked; refuse what the
    market does not offer (crypto: GTC, IOC, FOK). OPG, IOC and FOK execute at one instant, so
    they are for MARKET and LIMIT orders: a stop waits for its trigger (DAY or GTC)."""
    tif = DEFAULT_TIME_IN_FORCE[market] if asked is None else asked
    allowed = ALLOWED_TIME_IN_FORCE[market]
    if tif not in allowed:
        raise OrderShapeError(
            "time_in_force_not_offered",
            f"time_in_force {tif} is not offered on {market}; send one of {', '.join(allowed)}",
        )
    if tif in ("OPG", "IOC", "FOK") and order_type not in ("MARKET", "LIMIT"):
        raise OrderShapeError(
            "time_in_force_for_stops",
            f"time_in_force {tif} is for MARKET and LIMIT orders; send DAY or GTC for a {order_type}",
        )
    return tif


def expires_at(
    market: str,
    tif: TimeInForce,
    accepted_at: datetime,
    calendar: Calendar,
    gtc_days: int = DEFAULT_GTC_DAYS,
) -> datetime | None:
    """When an order accepted at `accepted_at` is CANCELLED `expired` if still open.

    DAY: the close of the session in progress, or of the next session when placed while closed
    (the calendar's next_close after `accepted_at` is both). OPG: the close of the session after
    the next open (it executes on that open's first quote). GTC: after `gtc_days`. IOC and FOK:
    None, they end when first decided. A DAY or OPG order beyond the known calendar is refused.
    """
    if tif == "GTC":
        return accepted_at + timedelta(days=gtc_days)
    if tif in ("IOC", "FOK"):
        return None
    start = accepted_at
    if tif == "OPG":
        start = calendar.next_open(market, accepted_at)
    close = None if start is None else calendar.next_close(market, start)
    if close is None:
        raise OrderShapeError(
            "calendar_unknown",
            f"no {market} session is known after {accepted_at.isoformat()}; send GTC instead",
        )
    return close


def market_closed_text(market: str, next_open: datetime | None) -> str:
    """`reason_text` of a MARKET stock order FAILED `market_closed`."""
    if next_open is None:
        return f"The {market} market is closed and no next session is known."
    stamp = next_open.isoformat().replace("+00:00", "Z")
    return (
        f"The {market} market is closed; it next opens at {stamp}. "
        "Send a LIMIT order, or time_in_force OPG to trade at the open."
    )
