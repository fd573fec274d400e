"""Hardening of uvicorn's httptools protocol, for the daemon and the edge alike.

httptools (llhttp) buffers a header of any size and uvicorn sets no limit of its own: four
200 MB headers took the daemon to 1.7 GB. Here a request head (request line and headers) is
limited in bytes and in header count (431), must arrive within a deadline (408, against
slowloris), and connections are capped per client address and in total (503 at once), so a
flood of half-open connections cannot use up the descriptors that the database pool and
health checks need. The last LOCAL_ROOM connections of the budget are kept for the host's own
health checks (127.0.0.1, ::1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_LOCAL_PEERS = frozenset({"127.0.0.1", "::1"})
_DESCRIPTORS_KEPT = 256  # for the database pool, the broker, files and the log
_LINGER = 1.0  # seconds a refused connection is drained before it is closed


class HttpLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_head_bytes: int = 64 * 1024  # request line and all headers together
    max_headers: int = 100
    head_timeout: float = 10.0  # seconds from the first byte (or the connection) to the head's end
    per_address: int = 64  # open connections from one client address (trusted proxies exempt)
    max_connections: int | None = None  # None: the descriptor limit less what the process needs
    local_room: int = 16  # connections beyond the budget for 127.0.0.1/::1 only
    # Peers not capped per address: the trusted proxies, behind which every client is one peer.
    exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def _response(status: bytes, detail: str, extra: bytes = b"") -> bytes:
    code = int(status.split(b" ")[0])
    body = msgspec.json.encode({"status_code": code, "detail": detail})
    return b"".join(
        [
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            extra,
            b"connection: close\r\n\r\n",
            body,
        ]
    )


_TOO_LARGE = _response(
    b"431 Request Header Fields Too Large", "the request head is too large or has too many headers"
)
_TOO_SLOW = _response(b"408 Request Timeout", "the request head took too long to arrive")
_BUSY = _response(
    b"503 Service Unavailable",
    "too many connections; close some and try again",
    b"retry-after: 5\r\n",
)


class _Connections:
    """The open connections of one server, by client address (transports, pruned lazily:
    a connection upgraded to a websocket leaves this protocol without telling it)."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        budget = limits.max_connections
        if budget is None:
            budget = max(raise_descriptor_limit() - _DESCRIPTORS_KEPT - limits.local_room, 64)
        self.budget = budget
        self.by_address: dict[str, set[asyncio.BaseTransport]] = {}
        self.total = 0

    def _prune(self, address: str) -> set[asyncio.BaseTransport]:
        open_ = self.by_address.get(address, set())
        closed = {t for t in open_ if t.is_closing()}
        if closed:
            open_ -= closed
            self.total -= len(closed)
        if not open_:
            self.by_address.pop(address, None)
        return open_

    def _exempt(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.limits.exempt)

    def admit(self, address: str, transport: asyncio.BaseTransport) -> bool:
        open_ = self._prune(address)
        budget = self.budget + (self.limits.local_room if address in _LOCAL_PEERS else 0)
        if self.total >= budget:
            for other in list(self.by_address):
                self._prune(other)
        if self.total >= budget:
            return False
        if len(open_) >= self.limits.per_address and not self._exempt(address):
            return False
        self.by_address.setdefault(address, open_).add(transport)
        self.total += 1
        return True


class _LimitedHttpToolsProtocol(HttpToolsProtocol):
    _connections: _Connections  # set per server by limited_http_protocol

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # bytes read while the head was incomplete
        self._header_bytes = 0
        self._header_count = 0
        self._reading_head = True
        self._refused = False
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else ""
        if not self._connections.admit(address, transport):
            self._refuse(_BUSY)
            return
        self._start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:
            if self._head_deadline is None:
                self._start_head_deadline()
            # Everything before this read was head: past the limit, parse no more of it
            # (httptools would keep a header of any size in memory until it ends).
            if self._head_bytes > self._connections.limits.max_head_bytes:
                self._refuse(_TOO_LARGE)
                return
            self._head_bytes += len(data)
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._reading_head = True
        self._header_count = 0
        self._header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self._refused or len(self.url) + len(url) > self._connections.limits.max_head_bytes:
            self._refuse(_TOO_LARGE)
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # The bytes of the head as parsed (a read may carry the body too: do not count that).
        self._header_count += 1
        self._header_bytes += len(name) + len(value) + 4
        limits = self._connections.limits
        if (
            self._refused
            or self._header_count > limits.max_headers
            or len(self.url) + self._header_bytes > limits.max_head_bytes
        ):
            self._refuse(_TOO_LARGE)
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return  # start no request
        self._reading_head = False
        self._head_bytes = 0
        self._stop_head_deadline()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            self._reading_head = True  # what comes next is the next request's head (keep-alive)
            super().on_message_complete()

    def _start_head_deadline(self) -> None:
        self._stop_head_deadline()
        self._head_deadline = self.loop.call_later(
            self._connections.limits.head_timeout, self._head_too_slow
        )

    def _stop_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._reading_head:
            self._refuse(_TOO_SLOW)

    def _refuse(self, response: bytes) -> None:
        """Answer and close. The rest of what the client sends is read and dropped for a moment
        first: closing with unread data makes the kernel reset the connection, and the client
        would lose the answer."""
        self._stop_head_deadline()
        if self._refused:
            return
        self._refused = True
        if self.transport.is_closing():
            return
        self.transport.write(response)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(_LINGER, self.transport.close)
        else:
            self.transport.close()


def limited_http_protocol(limits: HttpLimits) -> type[HttpToolsProtocol]:
    """An httptools protocol class with `limits`, counting the connections of one server."""
    return type(
        "LimitedHttpToolsProtocol",
        (_LimitedHttpToolsProtocol,),
        {"_connections": _Connections(limits)},
    )
