"""The market-data feeders named in PAPERTRADE_FEEDS: their common shape and how they are built."""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

import anyio
import asyncpg
from anyio.abc import ObjectSendStream

from daemon.clock import Clock
from daemon.config import ConfigError, Settings
from daemon.instruments import Instrument
from daemon.messages import MarketData


class Feeder(Protocol):
    """One source of quotes, run under the supervisor; the status attributes feed /readyz."""

    name: str
    connected: bool
    last_received: datetime | None  # UTC

    async def run(self) -> None: ...


class Backoff:
    """Exponential reconnect delays with jitter, so many clients never retry in step."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self._initial = initial
        self._maximum = maximum
        self._current = initial

    def reset(self) -> None:
        self._current = self._initial

    def next_delay(self) -> float:
        delay = self._current * random.uniform(0.5, 1.5)
        self._current = min(self._current * 2, self._maximum)
        return min(delay, self._maximum)

    async def sleep(self) -> float:
        delay = self.next_delay()
        await anyio.sleep(delay)
        return delay


def wire_decimal(value: object) -> Decimal:
    """A price or quantity exactly as a source wrote it: from a string or an integer, never a float.

    Raises ValueError for anything else (a float, NaN, infinity, empty), so the message is skipped.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected a decimal string, got {type(value).__name__} {value!r}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:  # 1.5E+8 from a JSON number: write it out
        number = number.quantize(Decimal(1))
    return number


def volume_delta(
    previous: tuple[str, Decimal] | None, day: str, cumulative: Decimal
) -> tuple[Decimal, tuple[str, Decimal]]:
    """The volume traded since the previous observation of a day's cumulative volume, and the
    observation to keep. A new `day` counts from zero. A figure behind one already seen the same
    day (a REST snapshot lagging the stream) adds nothing and is not kept, so the stream's next
    figure is counted from the highest one seen: no day's volume is booked into one bar twice."""
    if previous is None:
        return Decimal(0), (day, cumulative)
    if previous[0] != day:
        return cumulative, (day, cumulative)
    if cumulative < previous[1]:
        return Decimal(0), previous
    return cumulative - previous[1], (day, cumulative)


def build_feeders(
    settings: Settings,
    instruments: list[Instrument],
    out: ObjectSendStream[MarketData],
    clock: Clock,
    pool: asyncpg.Pool | None = None,
) -> list[Feeder]:
    """The upbit, kis and fx feeders named in `settings.feeds` ("sim" is built elsewhere);
    given `pool`, the upbit and kis feeders backfill chart history into it.

    They all send to `out` (the market hub's inbox) and never close it: the caller owns it.
    The KIS feeder and the FX feeder share one KIS client: one token, one request budget.
    """
    # Imported here: the feeder modules use Backoff and wire_decimal from this module.
    from daemon.actors.fx_feeder import FxFeeder
    from daemon.actors.kis_feeder import KisFeeder
    from daemon.actors.upbit_feeder import UpbitFeeder
    from daemon.kis_client import KisClient

    feeders: list[Feeder] = []
    kis: KisClient | None = None
    if (
        settings.kis_app_key
        and settings.kis_app_secret
        and ("kis" in settings.feeds or "fx" in settings.feeds)
    ):
        kis = KisClient(
            app_key=settings.kis_app_key,
            app_secret=settings.kis_app_secret,
            env=settings.kis_env,
            api_url=settings.kis_api_url,
            ws_url=settings.kis_ws_url,
            data_dir=settings.data_dir,
            clock=clock,
        )
    for name in dict.fromkeys(settings.feeds):
        if name == "upbit":
            feeders.append(
                UpbitFeeder(
                    instruments,
                    out,
                    clock,
                    api_url=settings.upbit_api_url,
                    ws_url=settings.upbit_ws_url,
                    pool=pool,
                )
            )
        elif name == "kis":
            if kis is None:
                raise ConfigError(
                    "PAPERTRADE_FEEDS names kis, but PAPERTRADE_KIS_APP_KEY and "
                    "PAPERTRADE_KIS_APP_SECRET are not both set"
                )
            feeders.append(KisFeeder(kis, instruments, out, clock, pool=pool))
        elif name == "fx":
            us = next((i for i in instruments if i.market == "US"), None)
            feeders.append(
                FxFeeder(
                    out,
                    clock,
                    kis=kis,
                    kis_probe=(us.exchange, us.symbol) if us is not None else ("NAS", "AAPL"),
                    fallback_url=settings.fx_fallback_url,
                )
            )
    return feeders
