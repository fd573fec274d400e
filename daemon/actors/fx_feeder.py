"""The FX feeder: USD/KRW from KIS (the overseas price detail's `t_rate`, today's rate) when KIS
is configured, else, or while KIS fails, from a keyless public daily reference rate.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anyio
import httpx
import msgspec
import structlog
from anyio.abc import ObjectSendStream

from daemon.clock import Clock
from daemon.feeds import Backoff, wire_decimal
from daemon.kis_client import KisClient, KisError
from daemon.messages import FxRate, MarketData

log = structlog.get_logger(__name__)

DEFAULT_FALLBACK_URL = "https://open.er-api.com/v6/latest/USD"
PAIR = "USD/KRW"
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError)


class _Cached(msgspec.Struct, frozen=True):
    rate: Decimal
    ts: datetime  # when the source set this rate
    fetched_at: float  # monotonic


def parse_fallback(body: Any, fetched: datetime) -> tuple[Decimal, datetime]:
    """The USD/KRW rate and its time from an ExchangeRate-API or Frankfurter answer."""
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    if body.get("result", "success") != "success":
        raise ValueError(f"source error: {body.get('error-type', body.get('result'))}")
    base = body.get("base_code", body.get("base", "USD"))
    if base != "USD":
        raise ValueError(f"rates are against {base}, not USD")
    rate = wire_decimal(body["rates"]["KRW"])
    if rate <= 0:
        raise ValueError(f"non-positive rate {rate}")
    if isinstance(body.get("time_last_update_unix"), int):
        ts = datetime.fromtimestamp(body["time_last_update_unix"], UTC)
    elif isinstance(body.get("date"), str):
        ts = datetime.strptime(body["date"], "%Y-%m-%d").replace(tzinfo=UTC)
    else:
        ts = fetched
    return rate, ts


class FxFeeder:
    """Announces USD/KRW every `interval` seconds while a source answers; silent (so the rate
    goes stale and USD trades stop) when none does.

    The default fallback is ExchangeRate-API's open endpoint (https://open.er-api.com/v6/latest/USD,
    no key; attribution "Rates By Exchange Rate API"). It publishes one rate a day and asks for at
    most one call an hour, so it is fetched every `fallback_refresh` seconds and its current rate
    re-announced while the last good fetch is younger than `fallback_max_age`. A Frankfurter
    `/latest?from=USD` URL works as well.
    """

    name = "fx"

    def __init__(
        self,
        out: ObjectSendStream[MarketData],
        clock: Clock,
        *,
        kis: KisClient | None = None,
        kis_probe: tuple[str, str] = ("NAS", "AAPL"),
        fallback_url: str | None = None,
        interval: float = 15.0,
        fallback_refresh: float = 3600.0,
        fallback_max_age: float = 3 * 3600.0,
        timeout: float = 10.0,
    ) -> None:
        self._out = out
        self._clock = clock
        self._kis = kis
        self._kis_probe = kis_probe
        self._fallback_url = fallback_url or DEFAULT_FALLBACK_URL
        self._interval = interval
        self._fallback_refresh = fallback_refresh
        self._fallback_max_age = fallback_max_age
        self._timeout = timeout
        self._cached: _Cached | None = None
        self._fallback_retry_at = -math.inf
        self._fallback_backoff = Backoff(interval, fallback_refresh)
        self._kis_failing = False
        self.connected = False
        self.last_received: datetime | None = None
        self.source: str | None = None  # which source the last rate came from

    async def run(self) -> None:
        async with httpx.AsyncClient(
            timeout=self._timeout,
            follow_redirects=True,
            headers={"user-agent": "papertrade (paper-trading platform; FX fallback)"},
        ) as http:
            while True:
                rate = await self._from_kis() if self._kis is not None else None
                if rate is None:
                    rate = await self._from_fallback(http)
                self.connected = rate is not None
                if rate is not None:
                    self.last_received = rate.received_at
                    self.source = rate.source
                    await self._out.send(rate)
                await anyio.sleep(self._interval)

    async def _from_kis(self) -> FxRate | None:
        assert self._kis is not None
        try:
            output = await self._kis.overseas_price_detail(*self._kis_probe)
            rate = wire_decimal(output["t_rate"])
            if rate <= 0:
                raise ValueError(f"non-positive t_rate {rate}")
        except (KisError, *_MALFORMED) as exc:
            if not self._kis_failing:
                log.warning("fx_kis_failed", feed=self.name, pair=PAIR, error=str(exc)[:200])
            self._kis_failing = True
            return None
        if self._kis_failing:
            log.info("fx_kis_back", feed=self.name, pair=PAIR)
        self._kis_failing = False
        now = self._clock.now()
        return FxRate(pair=PAIR, rate=rate, ts=now, received_at=now, source="kis")

    async def _from_fallback(self, http: httpx.AsyncClient) -> FxRate | None:
        now = time.monotonic()
        cached = self._cached
        fresh_enough = cached is not None and now - cached.fetched_at < self._fallback_refresh
        if not fresh_enough and now >= self._fallback_retry_at:
            await self._fetch_fallback(http)
            cached = self._cached
        if cached is None or now - cached.fetched_at >= self._fallback_max_age:
            return None
        return FxRate(
            pair=PAIR, rate=cached.rate, ts=cached.ts, received_at=self._clock.now(),
            source="fallback",
        )  # fmt: skip

    async def _fetch_fallback(self, http: httpx.AsyncClient) -> None:
        try:
            response = await http.get(self._fallback_url)
            response.raise_for_status()
            rate, ts = parse_fallback(
                json.loads(response.content, parse_float=str), self._clock.now()
            )
        except (httpx.HTTPError, *_MALFORMED) as exc:
            delay = self._fallback_backoff.next_delay()
            self._fallback_retry_at = time.monotonic() + delay
            log.warning(
                "fx_fallback_failed", feed=self.name, pair=PAIR, url=self._fallback_url,
                error=str(exc)[:200], retry_in=round(delay, 1),
            )  # fmt: skip
            return
        self._fallback_backoff.reset()
        self._cached = _Cached(rate, ts, time.monotonic())
        log.info("fx_fallback_fetched", feed=self.name, pair=PAIR, rate=str(rate))
