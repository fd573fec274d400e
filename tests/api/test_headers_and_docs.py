"""Issue 9 item 12: CSP and frame headers everywhere, API docs with nothing from a third
party, and no token in any log line (the websocket's ?token= included)."""

from __future__ import annotations

import logging
import re

import pytest
import websockets

from tests.api.conftest import Api, running_api

pytestmark = pytest.mark.anyio
THEME_SCRIPT = "document.documentElement.dataset.theme = 'dark';"


async def test_every_answer_has_csp_and_frame_headers(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text(
        f'<!doctype html><script>{THEME_SCRIPT}</script><script type="module" src="/assets/a.js">'
        "</script>"
    )
    (web / "assets" / "a.js").write_text("export {}")
    async with running_api(database_url, tmp_path / "data", PAPERTRADE_WEB_DIR=str(web)) as api:
        for path in ("/", "/markets", "/assets/a.js", "/api/instruments", "/schema", "/healthz",
                     "/api/me", "/nope%00"):  # fmt: skip
            response = await api.client.get(path)
            csp = response.headers["content-security-policy"]
            assert "default-src 'self'" in csp, path
            assert "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        csp = (await api.client.get("/")).headers["content-security-policy"]
        # The inline theme script is allowed by its hash; nothing else inline, no other origin.
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src is not None
        assert script_src.group(1).split()[0] == "'self'"
        assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", script_src.group(1))) == 1
        assert "http" not in csp
        assert "unsafe-eval" not in csp


async def test_the_api_docs_load_nothing_from_another_origin(api: Api) -> None:
    page = await api.client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/api/orders" in page.text
    assert "/api/auth/logout" in page.text
    assert "<script" not in page.text
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text)
    assert (await api.client.get("/schema/openapi.json")).status_code == 200


async def test_no_token_reaches_a_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    headers = await api.user("logged_1")
    token = headers["Authorization"].split()[1]
    url = api.base_url.replace("http://", "ws://") + f"/ws?token={token}"
    with caplog.at_level(logging.DEBUG):
        async with websockets.connect(url) as ws:
            await ws.send('{"op": "ping"}')
            await ws.recv()
        await api.client.get("/api/me", headers=headers)
        await api.client.get(f"/api/me?token={token}", headers=headers)
    # The test's own clients (httpx, websockets) log their requests; the server's are checked.
    client_loggers = ("websockets.client", "httpx", "httpcore")
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith(client_loggers)]
    assert any("WebSocket" in line for line in lines), lines  # uvicorn did log the socket
    assert not [line for line in lines if token in line or token[:40] in line]


async def test_large_answers_are_gzipped_and_an_order_placed_is_not(api: Api) -> None:
    """Compression pays above 1 KiB; placing an order (always a small answer) skips the
    middleware altogether, and its answer is the same JSON either way."""
    headers = {**(await api.user()), "Accept-Encoding": "gzip"}
    listing = await api.client.get("/api/instruments", headers=headers)
    assert listing.status_code == 200
    assert listing.headers["content-encoding"] == "gzip"
    assert listing.json()  # httpx undid the gzip: the same JSON
    placed = await api.client.post(
        "/api/orders",
        json={"ticker_id": "CRYPTO-COIN-BTC", "side": "BUY", "type": "MARKET", "quantity": "0.001"},
        headers=headers,
    )
    assert placed.status_code == 202, placed.text
    assert "content-encoding" not in placed.headers
    assert placed.json()["status"] == "PENDING"
