"""expires_at on the real calendars (holidays, early closes, CSAT), the closed-market text, and
the expiry queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from daemon.engine.expiry_queue import ExpiryQueue
from daemon.engine.orders import OrderShapeError
from daemon.engine.time_in_force import expires_at, market_closed_text
from daemon.market_hours import MarketHours

HOURS = MarketHours()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_day_order_during_a_session_expires_at_its_close() -> None:
    # Christmas Eve 2026 is an early close on NYSE: 13:00 New York = 18:00 UTC.
    assert expires_at("US", "DAY", utc(2026, 12, 24, 15, 0), HOURS) == utc(2026, 12, 24, 18, 0)
    assert expires_at("KRX", "DAY", utc(2026, 12, 1, 2, 0), HOURS) == utc(2026, 12, 1, 6, 30)


def test_day_order_placed_while_closed_is_for_the_next_session_across_a_holiday() -> None:
    # Placed after Wednesday's close; Thursday is Thanksgiving; Friday closes early at 13:00 ET.
    assert expires_at("US", "DAY", utc(2026, 11, 25, 22, 0), HOURS) == utc(2026, 11, 27, 18, 0)
    # KRX: 2026-12-31 is the year-end holiday, 1 January too; the next session is Monday 4 January.
    assert expires_at("KRX", "DAY", utc(2026, 12, 31, 3, 0), HOURS) == utc(2027, 1, 4, 6, 30)


def test_day_order_on_the_csat_day_expires_at_the_late_close() -> None:
    # 2026-11-19: KRX opens 10:00 and closes 16:30 KST (07:30 UTC).
    assert expires_at("KRX", "DAY", utc(2026, 11, 18, 7, 0), HOURS) == utc(2026, 11, 19, 7, 30)


def test_opg_expires_at_the_close_of_the_session_it_opens_for() -> None:
    # Placed during Tuesday's session: it is for Wednesday's open.
    assert expires_at("KRX", "OPG", utc(2026, 12, 1, 2, 0), HOURS) == utc(2026, 12, 2, 6, 30)


def test_gtc_lasts_gtc_days_and_ioc_fok_do_not_rest() -> None:
    at = utc(2026, 12, 1, 2, 0)
    assert expires_at("CRYPTO", "GTC", at, HOURS) == at + timedelta(days=90)
    assert expires_at("KRX", "GTC", at, HOURS, gtc_days=7) == at + timedelta(days=7)
    assert expires_at("CRYPTO", "IOC", at, HOURS) is None
    assert expires_at("US", "FOK", at, HOURS) is None


def test_day_beyond_the_calendar_is_refused() -> None:
    with pytest.raises(OrderShapeError, match="send GTC instead"):
        expires_at("KRX", "DAY", utc(2060, 1, 1), HOURS)


def test_market_closed_text_names_the_next_open() -> None:
    text = market_closed_text("KRX", HOURS.next_open("KRX", utc(2026, 12, 31, 3, 0)))
    assert "2027-01-04T01:00:00Z" in text
    assert "OPG" in text


def test_expiry_queue_pops_due_orders_in_time_order() -> None:
    queue = ExpiryQueue()
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    queue.set(a, utc(2026, 1, 1, 10))
    queue.set(b, utc(2026, 1, 1, 9))
    queue.set(c, utc(2026, 1, 1, 11))
    queue.set(c, utc(2026, 1, 1, 8))  # modified: the old time no longer counts
    queue.remove(b)  # cancelled
    assert queue.next_due() == utc(2026, 1, 1, 8)
    assert queue.pop_due(utc(2026, 1, 1, 9, 30)) == [c]
    assert queue.pop_due(utc(2026, 1, 1, 12)) == [a]
    assert len(queue) == 0
    assert queue.next_due() is None
