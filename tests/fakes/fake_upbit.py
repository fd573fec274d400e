"""A fake Upbit quotation API on 127.0.0.1: REST (/v1/market/all, /v1/ticker, /v1/orderbook,
/v1/candles/minutes/1, /v1/candles/days with `to` paging) and the websocket (/websocket/v1) speaking Upbit's documented JSON, so the real ccxt client runs.

Numbers are written into the JSON text verbatim (Upbit sends JSON numbers), which lets tests
check that nothing on the way turns them into floats.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from tests.fakes.exchange import FakeExchange
from tests.fakes.http_server import Request, Response

NAMES = {"BTC": ("비트코인", "Bitcoin"), "ETH": ("이더리움", "Ethereum"), "XRP": ("리플", "XRP")}


@dataclass
class Market:
    code: str  # KRW-BTC
    trade_price: str  # JSON number text
    trade_volume: str = "0.001"
    acc_trade_volume: str = "100"
    trade_timestamp: int = 0
    ask_price: str = ""
    bid_price: str = ""
    prev_closing_price: str = "1000"
    # orderbook_units as (ask_price, bid_price, ask_size, bid_size) JSON number texts, best first;
    # empty: one unit at bid_price/ask_price
    units: list[tuple[str, str, str, str]] = field(default_factory=list)


class FakeUpbit(FakeExchange):
    ws_path = "/websocket/v1"

    def __init__(self, markets: dict[str, str]) -> None:
        super().__init__()
        now = int(time.time() * 1000)
        self.markets = {
            code: Market(code, price, trade_timestamp=now) for code, price in markets.items()
        }
        self.subscriptions: list[list[dict]] = []
        # market -> candles, newest first, as Upbit lists them
        self.minute_candles: dict[str, list[dict]] = {}
        self.day_candles: dict[str, list[dict]] = {}

    # -- test controls ---------------------------------------------------------------------

    async def trade(self, code: str, price: str, volume: str = "0.01") -> None:
        """A trade happens: the ticker moves and every subscribed socket hears of it."""
        market = self.markets[code]
        market.trade_price = price
        market.trade_volume = volume
        market.acc_trade_volume = _add(market.acc_trade_volume, volume)
        market.trade_timestamp = int(time.time() * 1000)
        await self._broadcast(code, self._ticker_json(market, websocket=True))

    async def book(
        self, code: str, bid: str, ask: str, units: list[tuple[str, str, str, str]] | None = None
    ) -> None:
        """The book changes: `units` as (ask_price, bid_price, ask_size, bid_size), best first."""
        market = self.markets[code]
        market.bid_price, market.ask_price = bid, ask
        market.units = units or []
        await self._broadcast(code, self._orderbook_json(market, websocket=True))

    def set_candles(self, code: str, kind: str, newest: datetime, count: int) -> None:
        """`count` candles of `kind` ("minutes" or "days") ending with the one at `newest`."""
        step = timedelta(minutes=1) if kind == "minutes" else timedelta(days=1)
        rows = []
        for n in range(count):
            at = newest - n * step
            price = 100_000 + n
            row = {
                "market": code,
                "candle_date_time_utc": at.strftime("%Y-%m-%dT%H:%M:%S"),
                "candle_date_time_kst": (at + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S"),
                "opening_price": price, "high_price": price + 5, "low_price": price - 5,
                "trade_price": price + 1, "timestamp": int(at.timestamp() * 1000) + 59_000,
                "candle_acc_trade_price": "12345.6789", "candle_acc_trade_volume": "0.12345678",
            }  # fmt: skip
            row.update({"unit": 1} if kind == "minutes" else {"prev_closing_price": price})
            rows.append(row)
        (self.minute_candles if kind == "minutes" else self.day_candles)[code] = rows

    async def send_raw(self, payload: bytes) -> None:
        for connection in tuple(self._connections):
            with contextlib.suppress(ConnectionClosed):
                await connection.send(payload)

    async def drop_connections(self) -> None:
        for connection in tuple(self._connections):
            await connection.close(1011, "going away")

    # -- REST --------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if request.path == "/v1/market/all":
            listing = [
                {"market": code, "korean_name": korean, "english_name": english}
                for code in self.markets
                for korean, english in [NAMES[code.split("-")[1]]]
            ]
            listing.append({"market": "BTC-ETH", "korean_name": "이더리움", "english_name": "ETH"})
            return Response.json(listing)
        if request.path in ("/v1/ticker", "/v1/orderbook"):
            codes = request.query.get("markets", "").split(",")
            if any(code not in self.markets for code in codes):
                return Response.json(
                    {"error": {"name": 404, "message": "Code not found"}}, status=404
                )
            render = self._ticker_json if request.path == "/v1/ticker" else self._orderbook_json
            items = [render(self.markets[code], False) for code in codes]
            return Response.json_text("[" + ",".join(items) + "]")
        if request.path in ("/v1/candles/minutes/1", "/v1/candles/days"):
            table = self.minute_candles if "minutes" in request.path else self.day_candles
            if request.query.get("market") not in self.markets:
                return Response.json({"error": {"name": 404, "message": "Code not found"}}, 404)
            count = min(int(request.query.get("count", "1")), 200)
            rows = table.get(request.query["market"], [])
            if "to" in request.query:  # exclusive, "2025-12-01T00:00:00Z"
                to = datetime.fromisoformat(request.query["to"].replace("Z", "+00:00"))
                rows = [r for r in rows if _candle_time(r) < to]
            return Response.json(rows[:count])
        return Response.json({"error": {"name": 404, "message": "Not found"}}, status=404)

    # -- websocket ---------------------------------------------------------------------------

    async def _ws_handler(self, connection: ServerConnection) -> None:
        self._connections.add(connection)
        connection.codes = {}  # type: ignore[attr-defined]  # type -> set of codes
        try:
            async for message in connection:
                request = json.loads(message)
                self.subscriptions.append(request)
                codes: dict[str, set[str]] = {}
                for item in request:
                    if "type" in item:
                        codes.setdefault(item["type"], set()).update(item.get("codes", []))
                connection.codes = codes  # type: ignore[attr-defined]  # a new request replaces
                # Upbit answers a subscription with a SNAPSHOT of each code, then REALTIME updates.
                for code in codes.get("ticker", ()):
                    if code in self.markets:
                        text = self._ticker_json(self.markets[code], True)
                        await connection.send(_snapshot(text))
                for code in codes.get("orderbook", ()):
                    if code in self.markets and self.markets[code].bid_price:
                        text = self._orderbook_json(self.markets[code], True)
                        await connection.send(_snapshot(text))
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(connection)

    async def _broadcast(self, code: str, text: str) -> None:
        kind = json.loads(text).get("type", "ticker")
        for connection in tuple(self._connections):
            if code in connection.codes.get(kind, ()):  # type: ignore[attr-defined]
                with contextlib.suppress(ConnectionClosed):
                    await connection.send(text.encode())  # Upbit sends JSON as binary frames

    # -- documented message shapes ---------------------------------------------------------

    def _ticker_json(self, m: Market, websocket: bool) -> str:
        ts = m.trade_timestamp
        utc = time.gmtime(ts / 1000)
        kst = time.gmtime(ts / 1000 + 9 * 3600)
        fields = [
            ('"type"', '"ticker"') if websocket else None,
            ('"code"' if websocket else '"market"', f'"{m.code}"'),
            ('"trade_date"', f'"{time.strftime("%Y%m%d", utc)}"'),
            ('"trade_time"', f'"{time.strftime("%H%M%S", utc)}"'),
            ('"trade_date_kst"', f'"{time.strftime("%Y%m%d", kst)}"'),
            ('"trade_time_kst"', f'"{time.strftime("%H%M%S", kst)}"'),
            ('"trade_timestamp"', str(ts)),
            ('"opening_price"', m.trade_price),
            ('"high_price"', m.trade_price),
            ('"low_price"', m.trade_price),
            ('"trade_price"', m.trade_price),
            ('"prev_closing_price"', m.prev_closing_price),
            ('"change"', '"EVEN"'),
            ('"change_price"', "0.0"),
            ('"change_rate"', "0.0"),
            ('"signed_change_price"', "0.0"),
            ('"signed_change_rate"', "0.0"),
            ('"trade_volume"', m.trade_volume),
            ('"acc_trade_price"', "1000000.0"),
            ('"acc_trade_price_24h"', "2000000.0"),
            ('"acc_trade_volume"', m.acc_trade_volume),
            ('"acc_trade_volume_24h"', m.acc_trade_volume),
            ('"highest_52_week_price"', m.trade_price),
            ('"highest_52_week_date"', '"2024-12-17"'),
            ('"lowest_52_week_price"', m.trade_price),
            ('"lowest_52_week_date"', '"2024-08-05"'),
            ('"ask_bid"', '"BID"') if websocket else None,
            ('"market_state"', '"ACTIVE"') if websocket else None,
            # A stream message is sent for a trade; a REST answer is as of now.
            ('"timestamp"', str(ts + 5 if websocket else int(time.time() * 1000))),
            ('"stream_type"', '"REALTIME"') if websocket else None,
        ]
        return "{" + ",".join(f"{k}:{v}" for k, v in filter(None, fields)) + "}"

    def _orderbook_json(self, m: Market, websocket: bool) -> str:
        ask, bid = m.ask_price or m.trade_price, m.bid_price or m.trade_price
        units = m.units or [(ask, bid, "0.5", "0.25")]
        unit = ",".join(
            f'{{"ask_price":{a},"bid_price":{b},"ask_size":{a_size},"bid_size":{b_size}}}'
            for a, b, a_size, b_size in units
        )
        head = f'"type":"orderbook","code":"{m.code}"' if websocket else f'"market":"{m.code}"'
        tail = ',"stream_type":"REALTIME","level":0' if websocket else ',"level":0'
        return (
            f'{{{head},"timestamp":{int(time.time() * 1000)},"total_ask_size":0.5,'
            f'"total_bid_size":0.25,"orderbook_units":[{unit}]{tail}}}'
        )


def _snapshot(text: str) -> bytes:
    return text.replace('"stream_type":"REALTIME"', '"stream_type":"SNAPSHOT"').encode()


def _add(a: str, b: str) -> str:
    return str(Decimal(a) + Decimal(b))


def _candle_time(row: dict) -> datetime:
    return datetime.fromisoformat(row["candle_date_time_utc"]).replace(tzinfo=UTC)
