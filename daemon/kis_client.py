"""The KIS (Korea Investment & Securities) Open API client: access tokens, REST quotes within the
rate limit, and the realtime websocket's wire format (JSON control messages, `0|TR|n|f^f^...` data).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
import msgspec
import structlog

from daemon.clock import Clock

log = structlog.get_logger(__name__)

KST = timezone(timedelta(hours=9))
DEFAULT_URLS = {
    "real": ("https://openapi.koreainvestment.com:9443", "ws://ops.koreainvestment.com:21000"),
    "mock": ("https://openapivts.koreainvestment.com:29443", "ws://ops.koreainvestment.com:31000"),
}
# KIS allows about 20 REST calls a second on a real account and 2 on a mock one; keep headroom.
DEFAULT_RATE = {"real": 15.0, "mock": 1.5}
WS_PATH = "/tryitout"

TR_KRX_TRADES = "H0STCNT0"  # domestic stock realtime trades (KRX)
TR_US_TRADES = "HDFSCNT0"  # overseas stock realtime (delayed-free for the US) trades
TR_KRX_BOOK = "H0STASP0"  # domestic stock realtime 10-level book (KRX)
TR_US_BOOK = "HDFSASP0"  # overseas stock realtime book (the US: level 1 only, free)
TR_KRX_PRICE = "FHKST01010100"  # inquire-price
TR_US_PRICE = "HHDFS00000300"  # overseas current price
TR_US_PRICE_DETAIL = "HHDFS76200200"  # overseas price detail, carries t_rate (today's USD/KRW)
TR_KRX_DAILY = "FHKST03010100"  # domestic daily chart prices (up to 100 days a call)
TR_US_DAILY = "HHDFS76240000"  # overseas daily prices (100 days a call)
TR_KRX_MINUTES = "FHKST03010200"  # domestic 1-minute chart of today (30 minutes a call)
TR_US_MINUTES = "HHDFS76950200"  # overseas minute chart (up to 120 minutes a call)

RATE_LIMITED = "EGW00201"  # "초당 거래건수를 초과하였습니다." (too many requests per second)
TOKEN_EXPIRED = ("EGW00123", "EGW00121")  # expired / invalid access token


class KisError(Exception):
    """KIS answered with an error code, or could not be reached (code "network")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class KisRateLimited(KisError):
    """EGW00201 even after backing off: try again later."""


class KisFrameError(ValueError):
    """A websocket message that is not in the KIS wire format."""


def kis_symbol(symbol: str) -> str:
    """Our US symbol as KIS writes it: share classes with a slash (BRK.B is BRK/B)."""
    return symbol.replace(".", "/")


def us_tr_key(exchange: str, symbol: str) -> str:
    """The HDFSCNT0 key: D (free realtime) + exchange code (NAS, NYS, AMS) + symbol."""
    return f"D{exchange}{kis_symbol(symbol)}"


def kst_to_utc(date: str, hhmmss: str) -> datetime:
    """KIS's Korean date (YYYYMMDD) and time (HHMMSS) as a UTC instant."""
    local = datetime.strptime(date + hhmmss[:6], "%Y%m%d%H%M%S").replace(tzinfo=KST)
    return local.astimezone(UTC)


class Realtime(msgspec.Struct, frozen=True):
    """One data frame: `records` are the `^`-separated fields, split into the frame's records."""

    encrypted: bool
    tr_id: str
    records: list[list[str]]


class Control(msgspec.Struct, frozen=True):
    """A JSON control message: a subscription answer, or the server's PINGPONG heartbeat."""

    tr_id: str
    tr_key: str | None
    ok: bool | None  # None for messages without a body (PINGPONG)
    msg_cd: str | None
    msg: str | None

    @property
    def is_pingpong(self) -> bool:
        return self.tr_id == "PINGPONG"


def parse_ws_message(text: str) -> Realtime | Control:
    """Decode one websocket message; raise KisFrameError if it is neither form."""
    if text[:1] in ("0", "1"):
        parts = text.split("|", 3)
        if len(parts) != 4:
            raise KisFrameError(f"data frame without 4 parts: {text[:80]!r}")
        flag, tr_id, count_text, payload = parts
        try:
            count = int(count_text)
        except ValueError:
            raise KisFrameError(f"bad record count {count_text!r}") from None
        values = payload.split("^")
        if count < 1 or len(values) % count:
            raise KisFrameError(f"{len(values)} fields do not split into {count} records")
        width = len(values) // count
        records = [values[i * width : (i + 1) * width] for i in range(count)]
        return Realtime(flag == "1", tr_id, records)
    try:
        message = json.loads(text)
        header = message["header"]
        body = message.get("body")
        return Control(
            tr_id=str(header["tr_id"]),
            tr_key=header.get("tr_key"),
            ok=None if body is None else body.get("rt_cd") == "0",
            msg_cd=None if body is None else body.get("msg_cd"),
            msg=None if body is None else body.get("msg1"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KisFrameError(f"not a KIS control message: {text[:80]!r} ({exc!r})") from None


def subscribe_message(
    approval_key: str, tr_id: str, tr_key: str, action: Literal["1", "2"] = "1"
) -> str:
    """The JSON that registers ("1") or releases ("2") one realtime subscription."""
    return json.dumps(
        {
            "header": {
                "approval_key": approval_key,
                "custtype": "P",
                "tr_type": action,
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    )


class _Token(msgspec.Struct, frozen=True):
    access_token: str
    expires_at: datetime
    issued_at: datetime
    api_url: str
    app_key_sha256: str


class _Pacer:
    """Evenly spaced requests (at most `rate` a second) and a shared pause after EGW00201."""

    def __init__(self, rate: float, backoff_initial: float, backoff_max: float) -> None:
        self._interval = 1 / rate
        self._next = 0.0
        self._paused_until = 0.0
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._backoff = backoff_initial

    async def wait_turn(self) -> None:
        now = time.monotonic()
        start = max(now, self._next, self._paused_until)
        self._next = start + self._interval  # claimed before awaiting: no lock needed
        if start > now:
            await anyio.sleep(start - now)

    def rate_limited(self) -> float:
        pause = self._backoff
        self._paused_until = max(self._paused_until, time.monotonic() + pause)
        self._backoff = min(self._backoff * 2, self._backoff_max)
        return pause

    def succeeded(self) -> None:
        self._backoff = self._backoff_initial


class KisClient:
    """One app key's connection to KIS, shared by the KIS and FX feeders (one token, one budget)."""

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        env: Literal["real", "mock"] = "real",
        api_url: str | None = None,
        ws_url: str | None = None,
        data_dir: Path,
        clock: Clock,
        rate_per_second: float | None = None,
        min_token_interval: float = 60.0,
        token_margin: timedelta = timedelta(minutes=10),
        timeout: float = 10.0,
        rate_limit_backoff: tuple[float, float] = (1.0, 10.0),
    ) -> None:
        self.env = env
        self.api_url = (api_url or DEFAULT_URLS[env][0]).rstrip("/")
        self.ws_url = (ws_url or DEFAULT_URLS[env][1]).rstrip("/")
        self._app_key = app_key
        self._app_secret = app_secret
        self._key_hash = hashlib.sha256(app_key.encode()).hexdigest()
        self._token_path = Path(data_dir) / "kis_token.json"
        self._clock = clock
        self._pacer = _Pacer(rate_per_second or DEFAULT_RATE[env], *rate_limit_backoff)
        self._min_token_interval = timedelta(seconds=min_token_interval)
        self._token_margin = token_margin
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._token: _Token | None = None
        self._last_issue: datetime | None = None
        self._token_lock = anyio.Lock()
        self._approval_key: str | None = None
        self._refused: set[str] = set()
        self.tokens_issued = 0
        self.rate_limited = 0

    @property
    def websocket_url(self) -> str:
        return self.ws_url + WS_PATH

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.api_url,
                timeout=self._timeout,
                headers={"content-type": "application/json; charset=utf-8"},
            )
        return self._http

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()

    # -- access token ----------------------------------------------------------------------

    async def access_token(self) -> str:
        """A valid token: from memory, else the data folder's cache, else a newly issued one."""
        async with self._token_lock:
            now = self._clock.now()
            if self._token is None:
                self._token = self._read_cached()
            if self._token is not None and self._token.expires_at - self._token_margin > now:
                return self._token.access_token
            return (await self._issue_token()).access_token

    def forget_token(self, token: str) -> None:
        """KIS refused `token`: the next call issues a new one (still at most once a minute).

        The cache file stays until replaced: its issue time still counts against the minute."""
        self._refused.add(token)
        if self._token is not None and self._token.access_token == token:
            self._token = None

    def _read_cached(self) -> _Token | None:
        try:
            token = msgspec.json.decode(self._token_path.read_bytes(), type=_Token)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None
        if token.api_url != self.api_url or token.app_key_sha256 != self._key_hash:
            return None  # another key's token: neither usable nor counting against our minute
        if self._last_issue is None or token.issued_at > self._last_issue:
            self._last_issue = token.issued_at
        return None if token.access_token in self._refused else token

    def _write_cached(self, token: _Token) -> None:
        """Keep the token across restarts (KIS counts issues); owner-only, replaced atomically."""
        try:
            self._token_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._token_path.with_suffix(".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(msgspec.json.encode(token))
            os.replace(temporary, self._token_path)
        except OSError as exc:
            log.warning("kis_token_not_cached", path=str(self._token_path), error=repr(exc))

    async def _issue_token(self) -> _Token:
        if self._last_issue is not None:
            wait = (self._last_issue + self._min_token_interval - self._clock.now()).total_seconds()
            if wait > 0:
                log.info("kis_token_wait", feed="kis", seconds=round(wait, 1))
                await anyio.sleep(wait)
        await self._pacer.wait_turn()
        credentials = {"appkey": self._app_key, "appsecret": self._app_secret}
        body = await self._post(
            "/oauth2/tokenP", {"grant_type": "client_credentials", **credentials}
        )
        now = self._clock.now()
        self._last_issue = now
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            code = str(body.get("error_code") or body.get("msg_cd") or "token")
            raise KisError(code, str(body.get("error_description") or body.get("msg1") or body))
        try:  # "2026-11-27 09:00:00", Korean time
            day, clock_time = str(body["access_token_token_expired"]).split(" ")
            expires_at = kst_to_utc(day.replace("-", ""), clock_time.replace(":", ""))
        except (KeyError, ValueError, TypeError):
            expires_at = now + timedelta(seconds=int(body.get("expires_in", 86400)))
        token = _Token(access_token, expires_at, now, self.api_url, self._key_hash)
        self._token = token
        self.tokens_issued += 1
        self._write_cached(token)
        log.info("kis_token_issued", feed="kis", expires_at=expires_at.isoformat())
        return token

    async def approval_key(self, renew: bool = False) -> str:
        """The websocket approval key (valid a day; a live session keeps working past that)."""
        if self._approval_key is None or renew:
            await self._pacer.wait_turn()
            credentials = {"appkey": self._app_key, "secretkey": self._app_secret}
            body = await self._post(
                "/oauth2/Approval", {"grant_type": "client_credentials", **credentials}
            )
            key = body.get("approval_key")
            if not isinstance(key, str) or not key:
                raise KisError(str(body.get("error_code", "approval")), str(body))
            self._approval_key = key
        return self._approval_key

    async def _post(self, path: str, payload: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._client().post(path, json=payload)
            body = json.loads(response.content, parse_float=str)
        except (httpx.HTTPError, ValueError) as exc:
            raise KisError("network", f"POST {path}: {exc!r}") from exc
        if not isinstance(body, dict):
            raise KisError("format", f"POST {path}: unexpected body {str(body)[:100]}")
        return body

    # -- REST quotes -------------------------------------------------------------------------

    async def get(self, path: str, tr_id: str, params: dict[str, str]) -> dict[str, Any]:
        """A quotation GET within the rate limit; backs off and retries on EGW00201 and
        re-issues the token once if KIS says it expired."""
        for attempt in range(4):
            await self._pacer.wait_turn()
            token = await self.access_token()
            headers = {
                "authorization": f"Bearer {token}",
                "appkey": self._app_key,
                "appsecret": self._app_secret,
                "tr_id": tr_id,
                "custtype": "P",
            }
            try:
                response = await self._client().get(path, params=params, headers=headers)
                body = json.loads(response.content, parse_float=str)
            except (httpx.HTTPError, ValueError) as exc:
                raise KisError("network", f"GET {path}: {exc!r}") from exc
            if not isinstance(body, dict):
                raise KisError("format", f"GET {path}: unexpected body {str(body)[:100]}")
            if body.get("rt_cd") == "0":
                self._pacer.succeeded()
                return body
            code = str(body.get("msg_cd") or body.get("error_code") or response.status_code)
            message = str(body.get("msg1") or body.get("error_description") or "")
            if code == RATE_LIMITED:
                self.rate_limited += 1
                pause = self._pacer.rate_limited()
                log.warning("kis_rate_limited", feed="kis", tr_id=tr_id, pause_seconds=pause)
                continue
            if code in TOKEN_EXPIRED and attempt == 0:
                log.warning("kis_token_refused", feed="kis", code=code, message=message)
                self.forget_token(token)
                continue
            raise KisError(code, message)
        raise KisRateLimited(RATE_LIMITED, f"{tr_id} still rate limited after backing off")

    async def domestic_price(self, symbol: str) -> dict[str, Any]:
        body = await self.get(
            "/uapi/domestic-stock/v1/quotations/inquire-price",
            TR_KRX_PRICE,
            {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        )
        return _output(body)

    async def overseas_price(self, exchange: str, symbol: str) -> dict[str, Any]:
        body = await self.get(
            "/uapi/overseas-price/v1/quotations/price",
            TR_US_PRICE,
            {"AUTH": "", "EXCD": exchange, "SYMB": kis_symbol(symbol)},
        )
        return _output(body)

    async def overseas_price_detail(self, exchange: str, symbol: str) -> dict[str, Any]:
        body = await self.get(
            "/uapi/overseas-price/v1/quotations/price-detail",
            TR_US_PRICE_DETAIL,
            {"AUTH": "", "EXCD": exchange, "SYMB": kis_symbol(symbol)},
        )
        return _output(body)

    async def domestic_daily(self, symbol: str, start: str, end: str) -> list[dict[str, Any]]:
        """Daily bars (adjusted) from `start` to `end` (YYYYMMDD, Korean dates), newest first."""
        body = await self.get(
            "/uapi/domestic-stock/v1/quotations/inquire-daily-itemchartprice",
            TR_KRX_DAILY,
            {
                "FID_COND_MRKT_DIV_CODE": "J",
                "FID_INPUT_ISCD": symbol,
                "FID_INPUT_DATE_1": start,
                "FID_INPUT_DATE_2": end,
                "FID_PERIOD_DIV_CODE": "D",
                "FID_ORG_ADJ_PRC": "0",
            },
        )
        return _rows(body)

    async def overseas_daily(self, exchange: str, symbol: str) -> list[dict[str, Any]]:
        """The last 100 daily bars (adjusted, local exchange dates), newest first."""
        body = await self.get(
            "/uapi/overseas-price/v1/quotations/dailyprice",
            TR_US_DAILY,
            {"AUTH": "", "EXCD": exchange, "SYMB": kis_symbol(symbol), "GUBN": "0", "BYMD": "",
             "MODP": "1"},
        )  # fmt: skip
        return _rows(body)

    async def domestic_minutes(self, symbol: str, until: str) -> list[dict[str, Any]]:
        """Today's 1-minute bars at or before `until` (HHMMSS, Korean time), newest first."""
        body = await self.get(
            "/uapi/domestic-stock/v1/quotations/inquire-time-itemchartprice",
            TR_KRX_MINUTES,
            {"FID_ETC_CLS_CODE": "", "FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol,
             "FID_INPUT_HOUR_1": until, "FID_PW_DATA_INCU_YN": "N"},
        )  # fmt: skip
        return _rows(body)

    async def overseas_minutes(self, exchange: str, symbol: str) -> list[dict[str, Any]]:
        """The latest 120 1-minute bars (the previous session's too), newest first."""
        body = await self.get(
            "/uapi/overseas-price/v1/quotations/inquire-time-itemchartprice",
            TR_US_MINUTES,
            {"AUTH": "", "EXCD": exchange, "SYMB": kis_symbol(symbol), "NMIN": "1", "PINC": "1",
             "NEXT": "", "NREC": "120", "FILL": "", "KEYB": ""},
        )  # fmt: skip
        return _rows(body)


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    rows = body.get("output2")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise KisError("format", f"no output2 list in {str(body)[:100]}")
    return rows


def _output(body: dict[str, Any]) -> dict[str, Any]:
    output = body.get("output")
    if not isinstance(output, dict):
        raise KisError("format", f"no output object in {str(body)[:100]}")
    return output
