"""Issue 9 item 10: input that used to 500 is a 400 with a detail, and changes nothing; lenient
numbers are refused with the pattern in the detail; the schema says so."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Api, running_api

pytestmark = pytest.mark.anyio
BTC = "CRYPTO-COIN-BTC"
PATTERN = r"^[0-9]+(\.[0-9]{1,8})?$"
NOT_DECIMAL = {"ticker_id", "side", "type", "time_in_force", "client_order_id"}


def _order(**fields: object) -> dict:
    return {"ticker_id": BTC, "side": "BUY", "type": "LIMIT", "quantity": "1",
            "limit_price": "100", **fields}  # fmt: skip


HUGE = "123456789012345678901234567890.123456789"
LENIENT = ["1e3", "1E+999999999999", "1_000", "+1", " 1", "1 ", "１", "١", "٣.٥", "1.", ".5",
           "0x10", "1,5", "NaN", "-0", "1.123456789"]  # fmt: skip


@pytest.mark.parametrize("field", ["quantity", "limit_price"])
@pytest.mark.parametrize("value", [HUGE, *LENIENT])
async def test_bad_decimal_strings_are_400_naming_the_pattern(
    api: Api, field: str, value: str
) -> None:
    headers = await api.user()
    response = await api.client.post("/api/orders", json=_order(**{field: value}), headers=headers)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert field in detail
    assert PATTERN in detail or "too large" in detail or "decimals" in detail, detail
    assert await api.platform.pool.fetchval("SELECT count(*) FROM orders") == 0


@pytest.mark.parametrize("value", [1, 1.5, 10**30, 1e308])
async def test_a_json_number_is_refused_with_a_clear_reason(api: Api, value: object) -> None:
    headers = await api.user()
    response = await api.client.post("/api/orders", json=_order(quantity=value), headers=headers)
    assert response.status_code == 400
    assert 'must be a JSON string such as "0.5"' in response.json()["detail"]


async def test_the_schema_says_decimal_strings_with_the_pattern(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()
    for body in ("OrderRequest", "OrderChangeRequest"):  # POST and PATCH /api/orders
        fields = schema["components"]["schemas"][body]["properties"]
        decimals = [name for name in fields if name not in NOT_DECIMAL]
        assert "quantity" in decimals
        for name in decimals:
            assert fields[name]["pattern"] == PATTERN, (body, name)
            text = json.dumps(fields[name])
            assert "number" not in text, (body, name)
            assert "integer" not in text, (body, name)


async def test_json_nested_10000_deep_is_400(api: Api) -> None:
    headers = {**(await api.user()), "content-type": "application/json"}
    deep = "[" * 10_000 + "]" * 10_000
    for path in ("/api/orders", "/api/auth/login", "/api/auth/signup"):
        body = '{"ticker_id": ' + deep + "}"
        response = await api.client.post(path, content=body, headers=headers)
        assert response.status_code == 400, (path, response.text[:200])
        assert response.json()["detail"]


async def test_a_nul_in_a_static_path_is_400(database_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>app</title>")
    (web / "assets" / "app.js").write_text("console.log(1)")
    async with running_api(database_url, tmp_path / "data", PAPERTRADE_WEB_DIR=str(web)) as api:
        assert (await api.client.get("/assets/app.js")).status_code == 200
        for path in ("/assets/%00", "/assets/app.js%00", "/%00", "/index.html%00.js"):
            response = await api.client.get(path)
            assert response.status_code == 400, (path, response.text[:200])
            assert "NUL" in response.json()["detail"]


async def test_a_nul_in_a_username_or_invite_code_is_400(api: Api) -> None:
    login = await api.client.post(
        "/api/auth/login", json={"username": "ali\x00ce", "password": "password123"}
    )
    assert login.status_code == 400
    assert "username" in login.json()["detail"]
    signup = await api.client.post(
        "/api/auth/signup",
        json={"username": "alice_9", "password": "password123", "nickname": "A",
              "invite_code": "abc\x00"},
    )  # fmt: skip
    assert signup.status_code == 400
    assert "invite_code" in signup.json()["detail"]
    nul_nickname = await api.client.post(
        "/api/auth/signup",
        json={"username": "alice_8", "password": "password123", "nickname": "A\x00"},
    )
    assert nul_nickname.status_code == 400
    assert await api.platform.pool.fetchval("SELECT count(*) FROM users") == 0
