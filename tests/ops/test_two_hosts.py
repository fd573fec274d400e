"""The two-host deployment for real: a person on the internet uses the edge over HTTPS, the home
server behind WireGuard settles; home goes offline and comes back; nothing is lost or doubled.

One lab for the module (building it takes ~15 s); the tests run in file order and the last one
takes home offline and brings it back.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import hmac
import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import anyio
import asyncpg
import jwt
import pytest
import websockets.sync.client
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from papertrade_lab import DOMAIN, EDGE_PUBLIC, HOME_PORT, HOME_TUNNEL, HOME_WAN, EdgeClient, Lab

from daemon.tokens import ISSUER
from tests.ops.conftest import BTC, Person

# The first test also builds the lab (and, on a fresh checkout, the web app: npm ci + build).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
QUANTITY = "0.0002"  # BTC: far above Upbit's 5,000 KRW minimum, far below the starting cash


def test_the_web_app_comes_from_the_edge_over_https(client: EdgeClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<script type="module"' in page.text
    # nginx's policy (with index.html's inline script hash) and Traefik's own headers.
    assert "script-src 'self' 'sha256-" in page.headers["content-security-policy"]
    assert page.headers["strict-transport-security"].startswith("max-age=31536000")
    assert page.headers["x-frame-options"] == "DENY"
    # Plain HTTP only redirects.
    plain = _raw_get(f"http://{EDGE_PUBLIC}/", host=DOMAIN)
    assert plain.startswith(("HTTP/1.1 301", "HTTP/1.1 308")), plain
    assert f"Location: https://{DOMAIN}/" in plain


def _raw_get(url: str, host: str) -> str:
    """One raw HTTP/1.1 GET (the caller's namespace), the answer's head."""
    address = url.removeprefix("http://").split("/", 1)[0]
    with socket.create_connection((address, 80), timeout=5) as sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        return sock.recv(4096).decode(errors="replace")


def test_a_person_signs_up_and_trades_through_the_edge(
    people: Callable[[int], list[Person]],
) -> None:
    (alice,) = people(1)
    assert alice.client.get("/api/me").json()["username"] == alice.username
    accepted = alice.order("BUY", QUANTITY)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "PENDING"
    filled = alice.wait_settled(accepted.json()["id"])
    assert filled["status"] == "FILLED", filled
    portfolio = alice.client.get("/api/portfolio").json()
    assert [p["quantity"] for p in portfolio["positions"] if p["ticker_id"] == BTC] == [
        f"{Decimal(QUANTITY):.8f}"
    ]


def test_the_websocket_streams_through_traefik(lab: Lab, internet: None) -> None:
    # The handshake may take longer than Traefik's wait for home's answer (responseHeaderTimeout,
    # 10 s): a home that does not answer then shows as Traefik's 504, not as this client's timeout.
    sock = socket.create_connection((EDGE_PUBLIC, 443), timeout=10)
    with websockets.sync.client.connect(
        f"wss://{DOMAIN}/ws", sock=sock, ssl=lab.ssl_context(), server_hostname=DOMAIN,
        origin=f"https://{DOMAIN}", open_timeout=20,
    ) as ws:  # fmt: skip
        ws.send(json.dumps({"op": "subscribe", "tickers": [BTC]}))
        deadline = time.monotonic() + 15
        kinds = []
        while time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=10))
            kinds.append(message["type"])
            if message["type"] == "quote":
                assert message["ticker_id"] == BTC
                assert Decimal(message["price"]) > 0
                return
        raise AssertionError(f"no quote through Traefik in 15 s, only {kinds}")


def test_the_internet_cannot_reach_the_home_daemon(lab: Lab, internet: None) -> None:
    # Home's public address: nothing listens there.
    assert _connect_error(HOME_WAN, HOME_PORT) == errno.ECONNREFUSED
    # A neighbour that routes the tunnel address at home (Linux answers for any local address on
    # any interface): refused by the firewall rule, not by luck.
    via = ["ip", "route", "add", f"{HOME_TUNNEL}/32", "via", HOME_WAN]
    lab.internet.run(*via)
    try:
        assert _connect_error(HOME_TUNNEL, HOME_PORT) == errno.ECONNREFUSED
        lab.home.run("nft", "delete", "table", "inet", "papertrade")
        try:
            assert _connect_error(HOME_TUNNEL, HOME_PORT) is None  # what the rule prevents
        finally:
            lab.home.run("nft", "-f", str(lab.home.folder / "home.nft"))
        assert _connect_error(HOME_TUNNEL, HOME_PORT) == errno.ECONNREFUSED
    finally:
        lab.internet.run("ip", "route", "del", f"{HOME_TUNNEL}/32")


def _connect_error(host: str, port: int) -> int | None:
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return exc.errno
    return None


def test_the_edge_cannot_mint_tokens(lab: Lab, people: Callable[[int], list[Person]]) -> None:
    assert "PAPERTRADE_JWT_PRIVATE_KEY" not in lab.edge_env
    public = Path(lab.edge_env["PAPERTRADE_JWT_PUBLIC_KEY"])
    assert public.is_relative_to(lab.edge.folder)
    for pem in lab.edge.folder.rglob("*.pem"):  # the TLS key is there; no signing key is
        text = pem.read_bytes()
        if b"PRIVATE KEY" in text:
            key = serialization.load_pem_private_key(text, password=None)
            assert not isinstance(key, ed25519.Ed25519PrivateKey), pem
    (mallory,) = people(1)
    sub = jwt.decode(mallory.token, options={"verify_signature": False})["sub"]
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": sub, "role": "admin", "gen": 0, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}  # fmt: skip
    forged = [
        jwt.encode(claims, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA"),
        # The public key as an HMAC secret (the classic algorithm confusion).
        _hs256(claims, public.read_bytes()),
    ]
    body = {"ticker_id": BTC, "side": "BUY", "type": "MARKET", "quantity": QUANTITY}
    for token in forged:
        answer = mallory.client.post(
            "/api/orders", json=body, headers={"authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401, answer.text
        assert answer.json()["detail"]


def _hs256(claims: dict[str, object], secret: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64(signature)}"


def test_home_offline_orders_are_queued_then_settled_once_in_order(
    lab: Lab, people: Callable[[int], list[Person]], tmp_path: Path
) -> None:
    persons = people(3)
    (viewer,) = people(1)  # uses the web app in chromium
    shots = tmp_path
    _browser(lab, "online", viewer, shots)
    accepted: dict[str, list[str]] = {p.username: [] for p in persons}
    sides = ["BUY", "SELL"]  # a SELL settled before its BUY would fail: insufficient quantity

    def place_round(round_no: int) -> None:
        for person in persons:
            side = sides[round_no % 2]
            client_order_id = uuid.uuid4().hex
            # As the web app does: a 503 (the intake has no broker yet) accepted nothing, so
            # the same submission is sent again.
            deadline = time.monotonic() + 30
            while (answer := person.order(side, QUANTITY, client_order_id=client_order_id)).status_code == 503:  # fmt: skip
                assert time.monotonic() < deadline, answer.text
                time.sleep(0.5)
            assert answer.status_code == 202, answer.text
            assert answer.json()["status"] == "PENDING"
            accepted[person.username].append(answer.json()["id"])

    place_round(0)  # home online
    # 1. The tunnel goes down (home's side of it).
    lab.tunnel_down(lab.home)
    _assert_web_app_sees_queued_mode(persons[0])
    seen = json.loads(_browser(lab, "offline", viewer, shots))
    assert "주문은 계속 접수" in seen["banner"], seen
    assert "대기열" in seen["result"], seen
    place_round(1)
    # 2. And the home daemon stops.
    lab.stop_home_daemon()
    place_round(2)
    # 3. The edge's broker restarts while home is away: the queue is durable.
    lab.stop_edge_broker()
    lab.start_edge_broker()
    place_round(3)
    place_round(4)
    # 4. Home comes back.
    lab.tunnel_up(lab.home)
    lab.start_home_daemon()
    for person in persons:
        for order_id in accepted[person.username]:
            settled = person.wait_settled(order_id, timeout=60)
            assert settled["status"] == "FILLED", settled
    (browser_order,) = viewer.client.get("/api/orders").json()
    assert viewer.wait_settled(browser_order["id"])["status"] == "FILLED"
    # In a thread of its own: anyio's pytest plugin may keep an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        names = [p.username for p in persons]
        books = thread.submit(anyio.run, _books, lab.home_database_dsn, names).result()
    for person in persons:
        orders = {o["id"]: o for o in books[person.username]}
        assert sorted(orders) == sorted(accepted[person.username])  # each once, none more
        in_acceptance_order = [orders[order_id] for order_id in accepted[person.username]]
        assert [o["ledger_rows"] for o in in_acceptance_order] == [1] * len(orders)
        ledger_ids = [o["ledger_id"] for o in in_acceptance_order]
        assert ledger_ids == sorted(ledger_ids), (
            f"settled out of the order accepted: {in_acceptance_order}"
        )
        position = person.client.get("/api/portfolio").json()["positions"]
        assert [p["quantity"] for p in position if p["ticker_id"] == BTC] == [
            f"{Decimal(QUANTITY):.8f}"
        ]


BROWSER = Path(__file__).with_name("browser_offline.mjs")


def _browser(lab: Lab, phase: str, person: Person, shots: Path) -> str:
    """tests/ops/browser_offline.mjs in the internet namespace; its output."""
    cert = x509.load_pem_x509_certificate((lab.edge.folder / "traefik" / "cert.pem").read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    env = {
        "PATH": os.environ["PATH"], "HOME": str(shots), "LAB_HOST": DOMAIN,
        "LAB_ADDRESS": EDGE_PUBLIC, "LAB_SPKI": base64.b64encode(hashlib.sha256(spki).digest()).decode(),
        "LAB_USER": person.username, "LAB_PASSWORD": "password123", "LAB_SHOTS": str(shots),
    }  # fmt: skip
    ran = subprocess.run(
        ["ip", "netns", "exec", lab.internet.name, "node", str(BROWSER), phase, str(shots / "state.json")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}"
    return ran.stdout.strip().splitlines()[-1]


def _assert_web_app_sees_queued_mode(person: Person) -> None:
    """What the web app reads to tell people their orders are queued (web/src/lib/api.ts):
    a home route fails with the edge's JSON detail, and the intake still answers."""
    deadline = time.monotonic() + 10
    while (home := person.client.get("/api/fx")).status_code == 200:
        assert time.monotonic() < deadline, "home still answers with the tunnel down"
        time.sleep(0.2)
    assert home.status_code in (502, 504), home.text
    assert "orders are still accepted" in home.json()["detail"].lower()
    probe = person.client.post("/api/orders", content=b"{}", headers={"content-type": "application/json"})  # fmt: skip
    assert probe.status_code == 400, probe.text
    assert probe.json()["detail"]


async def _books(dsn: str, usernames: list[str]) -> dict[str, list[dict[str, object]]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """
            SELECT u.username, o.id::text AS id, o.created_at, o.side,
                   count(l.id) AS ledger_rows, min(l.id) AS ledger_id
              FROM orders o JOIN users u ON u.id = o.user_id
              LEFT JOIN cash_ledger l ON l.order_id = o.id
             WHERE u.username = ANY($1::text[])
             GROUP BY u.username, o.id, o.created_at, o.side
            """,
            usernames,
        )
    finally:
        await conn.close()
    books: dict[str, list[dict[str, object]]] = {name: [] for name in usernames}
    for row in rows:
        books[row["username"]].append(dict(row))
    return books
