"""A fake KIS Open API on 127.0.0.1: /oauth2/tokenP, /oauth2/Approval, the quotation REST calls and
the realtime websocket, answering in KIS's documented shapes (the official open-trading-api
samples): JSON control messages, `0|TR_ID|count|f1^f2^...` data frames, PINGPONG.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from daemon.kis_client import KST
from tests.fakes.exchange import FakeExchange
from tests.fakes.http_server import Request, Response

OK = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "정상처리 되었습니다."}
RATE_LIMITED = {"rt_cd": "1", "msg_cd": "EGW00201", "msg1": "초당 거래건수를 초과하였습니다."}
EXPIRED = {"rt_cd": "1", "msg_cd": "EGW00123", "msg1": "기간이 만료된 token 입니다."}


def krx_record(symbol: str, price: str, volume: str, cumulative: str, at: datetime) -> list[str]:
    """The 46 fields of one H0STCNT0 record (국내주식 실시간체결가)."""
    kst = at.astimezone(KST)
    ask, bid = (str(int(price) + 100), str(int(price) - 100)) if price.isdigit() else ("0", "0")
    return [
        symbol, kst.strftime("%H%M%S"), price, "5", "-100", "-0.14", "72023.83", "72100",
        "72400", "71700", ask, bid, volume, cumulative,
        "219853241700", "5105", "6937", "1832", "84.90", "1366314", "1159996", "1", "0.39",
        "20.28", "090020", "5", "-200", "090820", "5", "-500", "092619", "2", "200",
        kst.strftime("%Y%m%d"), "20", "N", "65945", "216924", "1118750", "2199410", "0.05",
        "2424142", "125.92", "0", "", "71900",
    ]  # fmt: skip


def us_record(
    key: str, price: str, bid: str, ask: str, volume: str, cumulative: str, at: datetime
) -> list[str]:
    """The 26 fields of one HDFSCNT0 record (해외주식 실시간지연체결가)."""
    kst = at.astimezone(KST)
    local = at.astimezone(UTC) - timedelta(hours=5)
    return [
        key, key[4:], "4", local.strftime("%Y%m%d"), local.strftime("%Y%m%d"),
        local.strftime("%H%M%S"), kst.strftime("%Y%m%d"), kst.strftime("%H%M%S"), price, price,
        price, price, "2", "1.2300", "0.51", bid, ask, "100", "200", volume, cumulative,
        "29876543", "61", "39", "101.23", "1",
    ]  # fmt: skip


def krx_book_record(
    symbol: str, asks: list[tuple[str, str]], bids: list[tuple[str, str]], at: datetime
) -> list[str]:
    """The 59 fields of one H0STASP0 record (국내주식 실시간호가): 10 asks, 10 bids, their sizes,
    totals and the expected-match fields; absent levels are "0" as KIS sends them."""
    asks = asks + [("0", "0")] * (10 - len(asks))
    bids = bids + [("0", "0")] * (10 - len(bids))
    return [
        symbol, at.astimezone(KST).strftime("%H%M%S"), "0",
        *(price for price, _ in asks), *(price for price, _ in bids),
        *(size for _, size in asks), *(size for _, size in bids),
        "1045873", "1231004", "0", "0", "0", "0", "0", "0", "0", "0.00", "8913225", "-1834",
        "2210", "0", "0", "0",
    ]  # fmt: skip


def us_book_record(key: str, bid: tuple[str, str], ask: tuple[str, str], at: datetime) -> list[str]:
    """The 71 fields of one HDFSASP0 record (해외주식 실시간호가): ten levels of bid, ask, their
    sizes and size changes; the US has level 1 only (the rest "0")."""
    kst = at.astimezone(KST)
    local = at.astimezone(UTC) - timedelta(hours=5)
    levels = [bid[0], ask[0], bid[1], ask[1], "5", "-3"] + ["0"] * 54
    return [
        key, key[4:], "4", local.strftime("%Y%m%d"), local.strftime("%H%M%S"),
        kst.strftime("%Y%m%d"), kst.strftime("%H%M%S"), bid[1], ask[1], "5", "-3", *levels,
    ]  # fmt: skip


class FakeKis(FakeExchange):
    ws_path = ""

    def __init__(self, app_key: str = "PSfakeappkey", app_secret: str = "fakesecret") -> None:
        super().__init__()
        self.app_key = app_key
        self.app_secret = app_secret
        self.tokens: set[str] = set()
        self.approval_keys: set[str] = set()
        self.max_subscriptions = 40
        self.rate_limit_next = 0  # answer this many quotation calls with EGW00201
        self.enforce_token_minute = True
        self.last_token_at = 0.0
        self.domestic: dict[str, dict[str, str]] = {}  # symbol -> inquire-price output
        self.overseas: dict[tuple[str, str], dict[str, str]] = {}  # (EXCD, SYMB) -> output
        self.t_rate = "1380.50"
        self.detail_error: dict[str, str] | None = None
        self.subscribe_requests: list[dict] = []
        # symbol (KRX) or "EXCD:SYMB" -> [(YYYYMMDD, close)], newest first
        self.daily: dict[str, list[tuple[str, str]]] = {}
        # symbol (KRX) or "EXCD:SYMB" -> [(minute start, close)], newest first
        self.minutes: dict[str, list[tuple[datetime, str]]] = {}
        self.echoes: list[str] = []
        self.connections_opened = 0

    # -- test controls ---------------------------------------------------------------------

    def set_domestic(
        self, symbol: str, price: str, cumulative: str = "1000", previous: str = "70000"
    ) -> None:
        self.domestic[symbol] = {
            "iscd_stat_cls_code": "55", "marg_rate": "20.00", "rprs_mrkt_kor_name": "KOSPI200",
            "bstp_kor_isnm": "전기.전자", "stck_prpr": price, "prdy_vrss": "-100",
            "prdy_vrss_sign": "5", "prdy_ctrt": "-0.14", "acml_tr_pbmn": "219853241700",
            "acml_vol": cumulative, "stck_oprc": price, "stck_hgpr": price, "stck_lwpr": price,
            "stck_mxpr": "93400", "stck_llam": "50400", "stck_sdpr": previous, "per": "14.36",
            "pbr": "1.37", "eps": "5000.00", "bps": "52000.00", "hts_avls": "4238540",
        }  # fmt: skip

    def set_overseas(self, excd: str, symb: str, last: str, cumulative: str = "1000") -> None:
        self.overseas[(excd, symb)] = {
            "rsym": f"D{excd}{symb}", "zdiv": "4", "base": "480.0000", "pvol": "45123456",
            "last": last, "sign": "2", "diff": "1.2300", "rate": "+0.51", "tvol": cumulative,
            "tamt": "29876543210", "ordy": "매도불가",
        }  # fmt: skip

    def expire_tokens(self) -> None:
        self.tokens.clear()

    async def send_frame(self, tr_id: str, records: list[list[str]]) -> None:
        """One data frame carrying every record: `0|TR_ID|00n|` + the fields joined by ^."""
        payload = "^".join(field for record in records for field in record)
        await self.send_raw(f"0|{tr_id}|{len(records):03d}|{payload}")

    async def send_raw(self, text: str) -> None:
        for connection in tuple(self._connections):
            with contextlib.suppress(ConnectionClosed):
                await connection.send(text)

    async def ping(self) -> None:
        stamp = datetime.now(KST).strftime("%Y%m%d%H%M%S")
        await self.send_raw(json.dumps({"header": {"tr_id": "PINGPONG", "datetime": stamp}}))

    async def drop_connections(self) -> None:
        for connection in tuple(self._connections):
            await connection.close(1011, "dropped")

    def subscribed(self, tr_ids: tuple[str, ...] = ("H0STCNT0", "HDFSCNT0")) -> set[str]:
        """The tr_keys registered on live sessions for `tr_ids` (the trade feeds by default)."""
        return {
            key for connection in self._connections
            for tr_id, key in connection.subscribed  # type: ignore[attr-defined]
            if tr_id in tr_ids
        }  # fmt: skip

    # -- REST --------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/oauth2/tokenP":
            return self._token(request)
        if request.method == "POST" and request.path == "/oauth2/Approval":
            body = request.json()
            if body.get("appkey") != self.app_key or body.get("secretkey") != self.app_secret:
                refusal = {"error_code": "EGW00105", "error_description": "유효하지 않은 AppSecret"}
                return Response.json(refusal, status=403)
            key = secrets.token_hex(16)
            self.approval_keys.add(key)
            return Response.json({"approval_key": key})
        if request.method == "GET" and request.path.startswith("/uapi/"):
            return self._quotation(request)
        return Response.json({"rt_cd": "1", "msg_cd": "EGW00002", "msg1": "no such api"}, 404)

    def _token(self, request: Request) -> Response:
        body = request.json()
        if body.get("appkey") != self.app_key or body.get("appsecret") != self.app_secret:
            return Response.json(
                {"error_code": "EGW00103", "error_description": "유효하지 않은 AppKey입니다."}, 403
            )
        if self.enforce_token_minute and time.monotonic() - self.last_token_at < 60:
            return Response.json(
                {
                    "error_code": "EGW00133",
                    "error_description": "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)",
                },
                status=403,
            )
        self.last_token_at = time.monotonic()
        token = "eyJ0eXAiOiJKV1Q" + secrets.token_hex(24)
        self.tokens.add(token)
        expires = datetime.now(KST) + timedelta(days=1)
        return Response.json(
            {
                "access_token": token,
                "access_token_token_expired": expires.strftime("%Y-%m-%d %H:%M:%S"),
                "token_type": "Bearer",
                "expires_in": 86400,
            }
        )

    def _quotation(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return Response.json(EXPIRED, status=500)
        if request.headers.get("appkey") != self.app_key:
            return Response.json({"rt_cd": "1", "msg_cd": "EGW00103", "msg1": "bad appkey"}, 500)
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return Response.json(RATE_LIMITED, status=500)
        tr_id = request.headers.get("tr_id")
        q = request.query
        if request.path == "/uapi/domestic-stock/v1/quotations/inquire-price":
            if tr_id != "FHKST01010100" or q.get("FID_COND_MRKT_DIV_CODE") != "J":
                return Response.json({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "bad tr"}, 500)
            output = self.domestic.get(q.get("FID_INPUT_ISCD", ""))
            if output is None:
                return Response.json({"rt_cd": "7", "msg_cd": "KIER2570", "msg1": "no such"})
            return Response.json({"output": output, **OK})
        if request.path == "/uapi/overseas-price/v1/quotations/price":
            if tr_id != "HHDFS00000300":
                return Response.json({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "bad tr"}, 500)
            empty = dict.fromkeys(("rsym", "zdiv", "base", "pvol", "last", "tvol"), "")
            output = self.overseas.get((q.get("EXCD", ""), q.get("SYMB", "")), empty)
            return Response.json({"output": output, **OK})
        if request.path == "/uapi/overseas-price/v1/quotations/price-detail":
            if self.detail_error is not None:
                return Response.json(self.detail_error, status=500)
            output = {
                "rsym": f"D{q.get('EXCD')}{q.get('SYMB')}", "pvol": "45123456", "open": "240.1",
                "high": "242.0", "low": "239.5", "last": "241.84", "base": "240.61",
                "tomv": "3600000000000", "curr": "USD", "zdiv": "4", "t_xprc": "333856",
                "t_rate": self.t_rate, "p_rate": "1379.00", "e_ordyn": "매매 가능",
                "tvol": "123456", "tamt": "29876543",
            }  # fmt: skip
            return Response.json({"output": output, **OK})
        if request.path == "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice":
            if tr_id != "FHKST03010100" or q.get("FID_PERIOD_DIV_CODE") != "D":
                return Response.json({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "bad tr"}, 500)
            rows = [
                {"stck_bsop_date": day, "stck_clpr": close, "stck_oprc": close, "stck_hgpr": close,
                 "stck_lwpr": close, "acml_vol": "1000", "acml_tr_pbmn": "71000000",
                 "flng_cls_code": "00", "prtt_rate": "0.00", "mod_yn": "N", "prdy_vrss_sign": "3",
                 "prdy_vrss": "0", "revl_issu_reas": ""}
                for day, close in self.daily.get(q.get("FID_INPUT_ISCD", ""), [])
                if q["FID_INPUT_DATE_1"] <= day <= q["FID_INPUT_DATE_2"]
            ][:100]  # fmt: skip
            return Response.json({"output1": {"stck_prpr": "71000"}, "output2": rows, **OK})
        if request.path == "/uapi/domestic-stock/v1/quotations/inquire-time-itemchartprice":
            if tr_id != "FHKST03010200":
                return Response.json({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "bad tr"}, 500)
            until = q["FID_INPUT_HOUR_1"]
            rows = [
                {"stck_bsop_date": at.astimezone(KST).strftime("%Y%m%d"),
                 "stck_cntg_hour": at.astimezone(KST).strftime("%H%M%S"), "stck_prpr": close,
                 "stck_oprc": close, "stck_hgpr": close, "stck_lwpr": close, "cntg_vol": "7",
                 "acml_tr_pbmn": "497000"}
                for at, close in self.minutes.get(q.get("FID_INPUT_ISCD", ""), [])
                if at.astimezone(KST).strftime("%H%M%S") <= until
            ][:30]  # fmt: skip
            return Response.json({"output1": {"stck_prpr": "71000"}, "output2": rows, **OK})
        if request.path == "/uapi/overseas-price/v1/quotations/inquire-time-itemchartprice":
            if tr_id != "HHDFS76950200" or q.get("NMIN") != "1":
                return Response.json({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "bad tr"}, 500)
            rows = [
                {"tymd": at.strftime("%Y%m%d"), "xymd": at.strftime("%Y%m%d"),
                 "xhms": at.strftime("%H%M%S"), "kymd": at.astimezone(KST).strftime("%Y%m%d"),
                 "khms": at.astimezone(KST).strftime("%H%M%S"), "open": close, "high": close,
                 "low": close, "last": close, "evol": "3", "eamt": "1470"}
                for at, close in self.minutes.get(f"{q.get('EXCD')}:{q.get('SYMB')}", [])
            ][:120]  # fmt: skip
            return Response.json({"output1": {"rsym": "D", "zdiv": "4"}, "output2": rows, **OK})
        if request.path == "/uapi/overseas-price/v1/quotations/dailyprice":
            if tr_id != "HHDFS76240000" or q.get("GUBN") != "0":
                return Response.json({"rt_cd": "1", "msg_cd": "OPSQ0002", "msg1": "bad tr"}, 500)
            key = f"{q.get('EXCD')}:{q.get('SYMB')}"
            rows = [
                *[
                    {
                        "xymd": day,
                        "clos": close,
                        "sign": "3",
                        "diff": "0.0000",
                        "rate": "0.00",
                        "open": close,
                        "high": close,
                        "low": close,
                        "tvol": "2000",
                        "tamt": "480000",
                        "pbid": close,
                        "vbid": "1",
                        "pask": close,
                        "vask": "1",
                    }
                    for day, close in self.daily.get(key, [])
                ][:100],
                dict.fromkeys(("xymd", "clos", "open", "high", "low", "tvol"), ""),
            ]
            return Response.json({"output1": {"rsym": f"D{key}", "zdiv": "4", "nrec": "100"},
                                  "output2": rows, **OK})  # fmt: skip
        return Response.json({"rt_cd": "1", "msg_cd": "EGW00002", "msg1": "no such api"}, 404)

    # -- websocket ---------------------------------------------------------------------------

    async def _ws_handler(self, connection: ServerConnection) -> None:
        self.connections_opened += 1
        connection.subscribed = []  # type: ignore[attr-defined]
        self._connections.add(connection)
        try:
            async for message in connection:
                request = json.loads(message)
                if request.get("header", {}).get("tr_id") == "PINGPONG":
                    self.echoes.append(message)
                    continue
                self.subscribe_requests.append(request)
                await connection.send(json.dumps(self._subscribe(connection, request)))
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(connection)

    def _subscribe(self, connection: ServerConnection, request: dict) -> dict:
        header, body = request["header"], request["body"]["input"]
        tr_id, tr_key = body["tr_id"], body["tr_key"]
        answer_header = {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}
        subscribed: list[tuple[str, str]] = connection.subscribed  # type: ignore[attr-defined]
        if header.get("approval_key") not in self.approval_keys:
            result = {"rt_cd": "1", "msg_cd": "OPSP0011", "msg1": "invalid approval : NOT FOUND"}
        elif (tr_id, tr_key) in subscribed:
            result = {"rt_cd": "1", "msg_cd": "OPSP0002", "msg1": "ALREADY IN SUBSCRIBE"}
        elif len(subscribed) >= self.max_subscriptions:
            result = {"rt_cd": "1", "msg_cd": "OPSP0008", "msg1": "MAX SUBSCRIBE OVER"}
        else:
            subscribed.append((tr_id, tr_key))
            result = {
                "rt_cd": "0",
                "msg_cd": "OPSP0000",
                "msg1": "SUBSCRIBE SUCCESS",
                "output": {"iv": secrets.token_hex(8), "key": secrets.token_hex(16)},
            }
        return {"header": answer_header, "body": result}
