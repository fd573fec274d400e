"""A websocket client's queues: a market burst is written at once only when that keeps the order
of everything the client gets (nothing queued, nothing being sent, the socket taking it)."""

from __future__ import annotations

from collections.abc import Sequence

from daemon.api.ws_hub import WsClient


class Socket:
    def __init__(self, takes: bool = True) -> None:
        self.takes = takes
        self.written: list[tuple[str, ...]] = []

    def write_now(self, texts: Sequence[str]) -> bool:
        if self.takes:
            self.written.append(tuple(texts))
        return self.takes


def client(sock: Socket) -> WsClient:
    c = WsClient(backlog=8)
    c.write_now = sock.write_now
    return c


def test_an_idle_client_gets_a_burst_written_at_once_without_waking_its_task() -> None:
    sock = Socket()
    c = client(sock)
    c.push_market(("q1", "q2"))
    assert sock.written == [("q1", "q2")]
    assert not c.wakeup.is_set()
    assert list(c.take()) == []


def test_a_burst_waits_behind_what_is_queued_or_being_sent() -> None:
    sock = Socket()
    c = client(sock)
    c.push("order event", droppable=False)
    c.push_market(("q1",))
    assert sock.written == []
    assert list(c.take()) == ["order event", "q1"]  # in the order they came
    c.sending = True  # the task is writing that batch: nothing may overtake it
    c.push_market(("q2",))
    assert sock.written == []
    c.sending = False
    assert list(c.take()) == ["q2"]


def test_a_socket_held_back_by_flow_control_gets_the_burst_queued() -> None:
    sock = Socket(takes=False)
    c = client(sock)
    c.push_market(("q1", "q2"))
    assert c.wakeup.is_set()
    assert list(c.take()) == ["q1", "q2"]
