"""A fake public FX source on 127.0.0.1 answering like ExchangeRate-API's open endpoint
(https://open.er-api.com/v6/latest/USD) or Frankfurter (/latest?from=USD)."""

from __future__ import annotations

from tests.fakes.http_server import HttpServer, Request, Response


def er_api_body(krw: str, updated_unix: int = 1741046401) -> str:
    """An ExchangeRate-API answer (trimmed to a few currencies); `krw` goes in verbatim."""
    return (
        '{"result":"success","provider":"https://www.exchangerate-api.com",'
        '"documentation":"https://www.exchangerate-api.com/docs/free",'
        '"terms_of_use":"https://www.exchangerate-api.com/terms",'
        f'"time_last_update_unix":{updated_unix},'
        '"time_last_update_utc":"Tue, 04 Mar 2025 00:00:01 +0000",'
        f'"time_next_update_unix":{updated_unix + 86400},'
        '"time_next_update_utc":"Wed, 05 Mar 2025 00:00:01 +0000",'
        '"time_eol_unix":0,"base_code":"USD",'
        f'"rates":{{"USD":1,"EUR":0.952341,"JPY":149.683921,"KRW":{krw}}}}}'
    )


def frankfurter_body(krw: str, date: str = "2025-03-03") -> str:
    return f'{{"amount":1.0,"base":"USD","date":"{date}","rates":{{"KRW":{krw}}}}}'


class FakeFx:
    def __init__(self, body: str) -> None:
        self.body = body
        self.status = 200
        self.http = HttpServer(self._handle)

    @property
    def url(self) -> str:
        return f"{self.http.url}/v6/latest/USD"

    @property
    def hits(self) -> int:
        return len(self.http.requests)

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

    async def _handle(self, request: Request) -> Response:
        if self.status != 200:
            return Response.json({"result": "error", "error-type": "rate-limited"}, self.status)
        return Response.json_text(self.body)
