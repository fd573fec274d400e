"""Property-based bodies for POST /api/orders and the auth routes against a real daemon
process: never a 5xx, only the documented 4xx, each with a detail (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.engine.orders import OrderType, TimeInForce
from tests.daemon_process import DaemonProcess

NUMERIC_FIELDS = ("quantity", "amount_krw", "limit_price", "stop_price", "trail_percent",
                  "trail_amount")  # fmt: skip
UNICODE_DIGITS = "0123456789０１２３٠١٢٣۴۵६७৮๙߀᠑"
TEXTS = st.text(max_size=80)
NUMBER_LIKE = st.one_of(
    # Valid by the pattern (or just past its limits): the validator's rules behind the parsing.
    st.from_regex(r"\A[0-9]{1,13}(\.[0-9]{1,9})?\Z"),
    st.from_regex(r"\A[+-]?[0-9_ ]{0,40}(\.[0-9]{0,12})?([eE][+-]?[0-9]{1,15})?\Z"),
    st.text(alphabet=UNICODE_DIGITS + ".eE+-_ ", max_size=40),
    st.sampled_from(
        [
            "NaN",
            "-Infinity",
            "1E+999999999999",
            "123456789012345678901234567890.1",
            "0.000000001",
            "0",
            "-0",
            "00000000000000000001",
            "9" * 5000,
        ]
    ),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXTS,
    NUMBER_LIKE,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=6,
)
TICKERS = ["CRYPTO-COIN-BTC", "KRX-STOCK-005930", "US-STOCK-AAPL"]
ANY_ORDERS = st.fixed_dictionaries(
    {
        "ticker_id": st.sampled_from([*TICKERS, "btc", ""]) | TEXTS,
        "side": st.sampled_from(["BUY", "SELL"]) | JSON_SCALARS,
        "type": st.sampled_from(get_args(OrderType)) | JSON_SCALARS,
    },
    optional={
        **{field: NUMBER_LIKE | JSON_VALUES for field in NUMERIC_FIELDS},
        "time_in_force": st.sampled_from(get_args(TimeInForce)) | JSON_SCALARS,
        "client_order_id": TEXTS | JSON_SCALARS,
    },
)
# Well formed but for the numbers: each type with the numeric fields it needs (SPEC 6A), each
# mostly a plain decimal string, so that bodies get past the shape checks to the decimal rules
# and the validator behind them (ticks, limits, the worth of an order).
PLAIN = st.from_regex(r"\A[0-9]{1,7}(\.[0-9]{1,8})?\Z")  # what a player would send
NUMERIC = st.one_of(PLAIN, PLAIN, PLAIN, NUMBER_LIKE)
NEEDS = {
    "MARKET": [("quantity",), ("amount_krw",)],
    "LIMIT": [("quantity", "limit_price")],
    "STOP": [("quantity", "stop_price")],
    "STOP_LIMIT": [("quantity", "stop_price", "limit_price")],
    "TRAILING_STOP": [("quantity", "trail_percent"), ("quantity", "trail_amount")],
}
assert set(NEEDS) == set(get_args(OrderType))
NUMERIC_ORDERS = st.sampled_from(
    [(kind, fields) for kind, choices in NEEDS.items() for fields in choices]
).flatmap(
    lambda need: st.fixed_dictionaries(
        {
            "ticker_id": st.sampled_from(TICKERS),
            "side": st.sampled_from(["BUY", "SELL"]),
            "type": st.just(need[0]),
            **{field: NUMERIC for field in need[1]},
        },
        optional={"time_in_force": st.sampled_from(get_args(TimeInForce))},
    )
)
AUTH_BODIES = st.fixed_dictionaries(
    {"username": TEXTS | JSON_SCALARS, "password": TEXTS | JSON_SCALARS},
    optional={"nickname": TEXTS | JSON_SCALARS, "invite_code": TEXTS | JSON_SCALARS},
)
DEPTHS = st.integers(min_value=1, max_value=50_000)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _check(response: httpx.Response, allowed: set[int]) -> None:
    assert response.status_code < 500, response.text[:300]
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert detail


@pytest.mark.timeout(300)
def test_generated_bodies_never_get_a_server_error(database_url: str, tmp_path: Path) -> None:
    daemon = DaemonProcess(
        tmp_path / "data", database_url, PAPERTRADE_LOG_LEVEL="warning",
        PAPERTRADE_SIGNUP_RATE="100000 per minute",
    )  # fmt: skip
    daemon.start()
    try:
        with httpx.Client(base_url=daemon.url, timeout=30) as client:
            client.post("/api/auth/signup", json={
                "username": "fuzzer", "password": "password123", "nickname": "Fuzzer"},
            ).raise_for_status()  # fmt: skip
            token = client.post(
                "/api/auth/login", json={"username": "fuzzer", "password": "password123"}
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}

            @settings(FUZZ, max_examples=100)
            @given(ANY_ORDERS)
            def orders(body: dict) -> None:
                _check(client.post("/api/orders", json=body, headers=auth), {202, 400})

            @settings(FUZZ, max_examples=200)
            @given(NUMERIC_ORDERS)
            def numeric_orders(body: dict) -> None:
                _check(client.post("/api/orders", json=body, headers=auth), {202, 400})

            @settings(FUZZ, max_examples=60)
            @given(AUTH_BODIES, st.sampled_from(["/api/auth/login", "/api/auth/signup"]))
            def auth_routes(body: dict, path: str) -> None:
                allowed = {200, 400, 401, 429, 503} if path.endswith("login") else {
                    201, 400, 403, 409, 429, 503}  # fmt: skip
                _check(client.post(path, json=body), allowed)

            @settings(FUZZ, max_examples=20)
            @given(DEPTHS, st.sampled_from(["/api/orders", "/api/auth/login", "/api/auth/signup"]))
            def nested(depth: int, path: str) -> None:
                body = '{"quantity": ' + "[" * depth + "]" * depth + "}"
                response = client.post(
                    path, content=body, headers={**auth, "content-type": "application/json"}
                )
                _check(response, {400, 413})

            orders()
            numeric_orders()
            auth_routes()
            nested()
            assert json.loads(client.get("/healthz").text)["status"] == "ok"
    finally:
        assert daemon.stop() == 0, daemon.log.read_text()[-3000:]
