"""GET /api/candles intervals: aggregation by the database on each market's own day and week,
paging back with `before`, and refusals a person can act on."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.api.conftest import Api

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
SAMSUNG = "KRX-STOCK-005930"
APPLE = "US-STOCK-AAPL"


async def minute_bars(api: Api, ticker: str, bars: list[tuple[str, int, int]]) -> None:
    """(UTC start, price, volume) 1-minute bars; high is price + 1, low price - 1."""
    await api.platform.pool.executemany(
        "INSERT INTO candles_1m (ticker_id, bucket, open, high, low, close, volume)"
        " VALUES ($1, $2, $3, $4, $5, $3, $6)",
        [
            (
                ticker,
                datetime.fromisoformat(at),
                Decimal(p),
                Decimal(p + 1),
                Decimal(p - 1),
                Decimal(v),
            )
            for at, p, v in bars
        ],
    )


async def candles(api: Api, ticker: str, **params: str) -> list[dict]:
    response = await api.client.get(f"/api/candles/{ticker}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_intraday_bins(api: Api) -> None:
    await minute_bars(api, BTC, [
        ("2026-11-25T00:00:00Z", 10, 1), ("2026-11-25T00:04:00Z", 14, 2),
        ("2026-11-25T00:05:00Z", 20, 3), ("2026-11-25T00:59:00Z", 30, 4),
        ("2026-11-25T01:00:00Z", 40, 5),
    ])  # fmt: skip
    five = await candles(api, BTC, interval="5m")
    assert [(c["time"], c["open"], c["close"], c["volume"]) for c in five] == [
        ("2026-11-25T00:00:00Z", "10", "14", "3"),
        ("2026-11-25T00:05:00Z", "20", "20", "3"),
        ("2026-11-25T00:55:00Z", "30", "30", "4"),
        ("2026-11-25T01:00:00Z", "40", "40", "5"),
    ]
    hours = await candles(api, BTC, interval="1h")
    assert [(c["time"], c["high"], c["low"], c["volume"]) for c in hours] == [
        ("2026-11-25T00:00:00Z", "31", "9", "10"),
        ("2026-11-25T01:00:00Z", "41", "39", "5"),
    ]
    quarter = await candles(api, BTC, interval="15m", limit="1", before="2026-11-25T00:59:00Z")
    assert [c["time"] for c in quarter] == ["2026-11-25T00:45:00Z"]
    older = await candles(api, BTC, interval="1m", limit="2", before="2026-11-25T00:59:00Z")
    assert [c["time"] for c in older] == ["2026-11-25T00:04:00Z", "2026-11-25T00:05:00Z"]


async def test_krx_days_start_at_midnight_kst_and_weeks_on_monday(api: Api) -> None:
    # 2026-11-22 is a Sunday; 15:00 UTC is midnight in Seoul.
    await minute_bars(api, SAMSUNG, [
        ("2026-11-22T14:59:00Z", 100, 1),  # Sunday 23:59 KST
        ("2026-11-22T15:00:00Z", 200, 2),  # Monday 00:00 KST
        ("2026-11-23T01:00:00Z", 210, 3),  # Monday 10:00 KST
        ("2026-11-25T00:30:00Z", 300, 4),  # Wednesday
    ])  # fmt: skip
    days = await candles(api, SAMSUNG, interval="1d")
    assert [(c["time"], c["open"], c["close"], c["volume"]) for c in days] == [
        ("2026-11-21T15:00:00Z", "100", "100", "1"),
        ("2026-11-22T15:00:00Z", "200", "210", "5"),
        ("2026-11-24T15:00:00Z", "300", "300", "4"),
    ]
    weeks = await candles(api, SAMSUNG, interval="1w")
    assert [(c["time"], c["open"], c["close"], c["volume"]) for c in weeks] == [
        ("2026-11-15T15:00:00Z", "100", "100", "1"),  # the week of Monday 16 November
        ("2026-11-22T15:00:00Z", "200", "300", "9"),
    ]


async def test_us_days_follow_new_york_across_daylight_saving(api: Api) -> None:
    # Daylight saving began in New York on Sunday 8 March 2026 (EST -5 to EDT -4).
    await minute_bars(api, APPLE, [
        ("2026-03-06T20:59:00Z", 10, 1),  # Friday 15:59 EST
        ("2026-03-09T13:30:00Z", 20, 2),  # Monday 09:30 EDT
        ("2026-03-10T03:59:00Z", 21, 3),  # Monday 23:59 EDT (Tuesday already in UTC)
    ])  # fmt: skip
    days = await candles(api, APPLE, interval="1d")
    assert [(c["time"], c["open"], c["close"], c["volume"]) for c in days] == [
        ("2026-03-06T05:00:00Z", "10", "10", "1"),
        ("2026-03-09T04:00:00Z", "20", "21", "5"),
    ]


async def test_stored_daily_bars_and_the_current_day_from_minutes(api: Api) -> None:
    today = api.clock.now()  # 2026-11-25T01:00:11Z: the crypto day is 25 November
    await api.platform.pool.executemany(
        "INSERT INTO candles_1d (ticker_id, day, open, high, low, close, volume)"
        " VALUES ($1, $2, $3, $3, $3, $3, 100)",
        [(BTC, date(2026, 11, 23), Decimal(1)), (BTC, date(2026, 11, 24), Decimal(2)),
         (BTC, date(2026, 11, 25), Decimal(3))],
    )  # fmt: skip
    await minute_bars(api, BTC, [
        ("2026-11-24T12:00:00Z", 50, 7),  # a day with a stored bar: the stored bar wins
        (today.replace(minute=0, second=0).isoformat(), 60, 8),  # today: from the minutes
    ])  # fmt: skip
    days = await candles(api, BTC, interval="1d")
    assert [(c["time"], c["close"], c["volume"]) for c in days] == [
        ("2026-11-23T00:00:00Z", "1", "100"),
        ("2026-11-24T00:00:00Z", "2", "100"),
        ("2026-11-25T00:00:00Z", "60", "8"),
    ]
    paged = await candles(api, BTC, interval="1d", limit="1", before="2026-11-24T00:00:00Z")
    assert [c["time"] for c in paged] == ["2026-11-23T00:00:00Z"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"interval": "7m"}, "1m, 5m, 15m, 1h, 1d, 1w"),
        ({"limit": "0"}, "from 1 to 2000"),
        ({"limit": "abc"}, "from 1 to 2000"),
        ({"limit": "2001"}, "from 1 to 2000"),
        ({"before": "yesterday"}, "ISO 8601"),
        ({"before": "2026-11-25T00:00:00"}, "with its zone"),
    ],
)
async def test_bad_parameters_are_400_with_a_detail(api: Api, params: dict, words: str) -> None:
    response = await api.client.get(f"/api/candles/{BTC}", params=params)
    assert response.status_code == 400
    assert words in response.json()["detail"]


async def test_market_stats_cover_each_markets_latest_day(api: Api) -> None:
    await minute_bars(api, SAMSUNG, [
        ("2026-11-24T01:00:00Z", 100, 5),  # the day before: not counted
        ("2026-11-25T00:10:00Z", 100, 2), ("2026-11-25T00:11:00Z", 110, 3),
    ])  # fmt: skip
    await minute_bars(api, APPLE, [("2026-11-24T15:00:00Z", 10, 7)])  # NYSE's last session
    stats = (await api.client.get("/api/market-stats")).json()
    assert stats == [
        {"ticker_id": SAMSUNG, "day": "2026-11-25", "volume": "5", "traded_value": "530.00"},
        {"ticker_id": APPLE, "day": "2026-11-24", "volume": "7", "traded_value": "70.00"},
    ]
