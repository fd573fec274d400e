"""The two-host lab (ops/lab/papertrade_lab.py), built once per test module."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ops" / "lab"))

import papertrade_lab
from papertrade_lab import EdgeClient, Lab

BTC = "CRYPTO-COIN-BTC"


# What a failed test shows of the lab: the last lines of each process's log (Traefik's access
# log says which route answered and how long home took; the daemon's says what it did).
_LOG_TAILS = (("home", "daemon.log"), ("edge", "traefik/access.log"), ("edge", "traefik.log"), ("edge", "edge-intake.log"))  # fmt: skip
_TAIL_BYTES = 4000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    lab = getattr(item, "funcargs", {}).get("lab")
    if report.failed and isinstance(lab, Lab):
        for side, name in _LOG_TAILS:
            path = getattr(lab, side).folder / name
            if path.exists():
                tail = path.read_bytes()[-_TAIL_BYTES:].decode(errors="replace")
                report.sections.append((f"lab {side}/{name} (last {_TAIL_BYTES} bytes)", tail))
    return report


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    reason = papertrade_lab.namespaces_unavailable()
    if reason:
        pytest.skip(f"the two-host lab cannot run here: {reason}")
    with Lab() as built:
        yield built


@pytest.fixture
def internet(lab: Lab) -> Iterator[None]:
    """The test's own sockets are a client's on the internet."""
    with lab.internet.entered():
        yield


@pytest.fixture
def client(lab: Lab, internet: None) -> Iterator[EdgeClient]:
    with EdgeClient(lab) as edge:
        yield edge


class Person:
    """A signed-up user with a token, using the edge from an address of their own (Traefik limits
    log-ins per address)."""

    def __init__(self, lab: Lab, source: str) -> None:
        self.client = EdgeClient(lab, source=source)
        self.username = f"u{uuid.uuid4().hex[:10]}"
        body = {"username": self.username, "password": "password123", "nickname": self.username}
        signed_up = self.client.post("/api/auth/signup", json=body)
        assert signed_up.status_code == 201, signed_up.text
        login = self.client.post("/api/auth/login", json={k: body[k] for k in ("username", "password")})  # fmt: skip
        assert login.status_code == 200, login.text
        self.token = login.json()["access_token"]
        self.client.headers["authorization"] = f"Bearer {self.token}"

    def order(self, side: str, quantity: str, **extra: Any) -> httpx.Response:
        body = {"ticker_id": BTC, "side": side, "type": "MARKET", "quantity": quantity, **extra}
        return self.client.post("/api/orders", json=body)

    def wait_settled(self, order_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.client.get(f"/api/orders/{order_id}")
            if answer.status_code == 200 and answer.json()["status"] != "PENDING":
                return answer.json()
            time.sleep(0.2)
        raise AssertionError(f"order {order_id} still not settled after {timeout}s")


# Every person of a module gets a client address no one else used (the auth limit is per minute).
_sources = iter(papertrade_lab.CLIENT_ADDRESSES)


@pytest.fixture
def people(lab: Lab, internet: None) -> Iterator[Callable[[int], list[Person]]]:
    made: list[Person] = []

    def make(count: int) -> list[Person]:
        made.extend(Person(lab, next(_sources)) for _ in range(count))
        return made[-count:]

    yield make
    for person in made:
        person.client.close()
