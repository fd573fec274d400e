"""The Redis mirror: each quote SET to `price:{TICKER_ID}` (TTL 5 s), PUBLISHed on `market_updates`,
without ever slowing the in-process path.
"""

from __future__ import annotations

import contextlib
import random
import time

import anyio
import msgspec
import redis.asyncio as aioredis
import redis.exceptions
import structlog
from anyio.abc import ObjectReceiveStream
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from daemon.messages import FxRate, MarketData, Quote

log = structlog.get_logger(__name__)

_encoder = msgspec.json.Encoder()

# KEYS: the keys to set. ARGV: channel, then a TTL per key, a payload per key, then every
# payload to publish, in order. Each quote still gets its own SET ... EX and PUBLISH.
_MIRROR_SCRIPT = """
local k = #KEYS
for i = 1, k do
  redis.call('SET', KEYS[i], ARGV[k + 1 + i], 'EX', ARGV[1 + i])
end
for i = 2 * k + 2, #ARGV do
  redis.call('PUBLISH', ARGV[1], ARGV[i])
end
return #ARGV - 2 * k - 1
"""


def encode(data: MarketData) -> bytes:
    """JSON with a `type` tag ("quote" or "fx"); decimals as strings, times ISO 8601 UTC."""
    body = _encoder.encode(data)
    tag = b'{"type":"quote",' if isinstance(data, Quote) else b'{"type":"fx",'
    return tag + body[1:]


class RedisMirror:
    """Sends whatever is queued as one script call that SETs and PUBLISHes each quote in Redis:
    one round trip and one reply per batch, however many quotes it holds.

    Writes time out; a failed batch is dropped and counted, and reconnects back off with jitter.
    """

    def __init__(
        self,
        url: str,
        inbox: ObjectReceiveStream[MarketData],
        prefix: str = "",
        *,
        ttl_seconds: int = 5,
        fx_ttl_seconds: int = 60,
        max_batch: int = 1000,
        linger: float = 0.002,
        timeout: float = 1.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
    ) -> None:
        self._url = url
        self._inbox = inbox
        self._prefix = prefix
        self._channel = f"{prefix}market_updates"
        self._ttl = ttl_seconds
        self._fx_ttl = fx_ttl_seconds
        self._max_batch = max_batch
        self._linger = linger
        self._timeout = timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._backoff = backoff_initial
        self._retry_at = 0.0
        self._failing = False
        self._client: aioredis.Redis | None = None
        self._script: AsyncScript | None = None
        self.connected = False
        self.written = 0
        self.dropped = 0

    async def run(self) -> None:
        try:
            while True:
                try:
                    first = await self._inbox.receive()
                except anyio.EndOfStream:
                    return
                batch = [first]
                self._drain_into(batch)
                if len(batch) < self._max_batch and self._linger:
                    # Under load, waiting a moment for company turns many tiny round trips
                    # into a few big ones; when quiet it costs one quote `linger` seconds.
                    await anyio.sleep(self._linger)
                    self._drain_into(batch)
                await self._write(batch)
        finally:
            with anyio.move_on_after(1, shield=True):
                await self._disconnect()

    def _drain_into(self, batch: list[MarketData]) -> None:
        while len(batch) < self._max_batch:
            try:
                batch.append(self._inbox.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                return

    async def _write(self, batch: list[MarketData]) -> None:
        if time.monotonic() < self._retry_at:
            self.dropped += len(batch)  # Redis is down and we are backing off
            return
        payloads = []
        newest: dict[str, tuple[bytes, int]] = {}  # one SET per key per batch: the last wins anyway
        for data in batch:
            payload = encode(data)
            payloads.append(payload)
            if isinstance(data, FxRate):
                newest[f"{self._prefix}fx:{data.pair}"] = (payload, self._fx_ttl)
            else:
                newest[f"{self._prefix}price:{data.ticker_id}"] = (payload, self._ttl)
        keys = list(newest)
        ttls = [ttl for _, ttl in newest.values()]
        latest = [payload for payload, _ in newest.values()]
        try:
            with anyio.fail_after(self._timeout * 2):
                script = await self._connect()
                await script(keys=keys, args=[self._channel, *ttls, *latest, *payloads])
        except (redis.exceptions.RedisError, OSError, TimeoutError) as exc:
            self.dropped += len(batch)
            await self._fail(exc)
            return
        self.written += len(batch)
        self._backoff = self._backoff_initial
        self._failing = False
        if not self.connected:
            self.connected = True
            log.info("redis_mirror_connected", url=_safe_url(self._url))

    async def _connect(self) -> AsyncScript:
        if self._client is None or self._script is None:
            self._client = aioredis.Redis.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=Retry(NoBackoff(), 0),
            )
            self._script = self._client.register_script(_MIRROR_SCRIPT)
        return self._script

    async def _fail(self, exc: BaseException) -> None:
        delay = self._backoff * random.uniform(0.5, 1.5)
        self._retry_at = time.monotonic() + delay
        self._backoff = min(self._backoff * 2, self._backoff_max)
        # A warning when the outage starts; each retry after that only at debug level.
        report = log.warning if self.connected or not self._failing else log.debug
        report(
            "redis_mirror_down",
            url=_safe_url(self._url),
            error=repr(exc),
            retry_in_seconds=round(delay, 2),
            dropped=self.dropped,
        )
        self._failing = True
        self.connected = False
        with anyio.move_on_after(1, shield=True):
            await self._disconnect()

    async def _disconnect(self) -> None:
        client, self._client, self._script = self._client, None, None
        if client is not None:
            with contextlib.suppress(redis.exceptions.RedisError, OSError):
                await client.aclose()


def _safe_url(url: str) -> str:
    """The URL without a password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest
