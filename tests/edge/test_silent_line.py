"""A line to the broker that goes silent (a dead WireGuard tunnel: nothing refused, nothing
closed) is noticed by the heartbeat, and the connection is back soon after the line is."""

from __future__ import annotations

import time

import anyio.lowlevel
import pytest
import structlog
from yarl import URL

from daemon import amqp_topology
from tests.edge.conftest import AMQP_URL
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.waiting import eventually

pytestmark = pytest.mark.anyio


def test_a_url_without_a_heartbeat_gets_ours_and_one_with_keeps_its_own() -> None:
    assert amqp_topology.with_heartbeat(URL(AMQP_URL)).query["heartbeat"] == "10"
    named = URL(AMQP_URL).update_query(heartbeat=30)
    assert amqp_topology.with_heartbeat(named).query["heartbeat"] == "30"


async def test_a_silent_line_is_noticed_and_the_connection_comes_back_after_it() -> None:
    proxy = TcpProxy("127.0.0.1", 5672)
    await proxy.start()
    # A 2 s heartbeat: taken for dead after about 9 s of silence (aiormq allows three misses).
    url = str(URL(AMQP_URL.replace(":5672", f":{proxy.port}")).update_query(heartbeat=2))
    try:
        with structlog.testing.capture_logs() as logs:
            connection = await amqp_topology.connect(url, "pt-test-silent", 0.2)
            try:
                proxy.frozen = True
                silent_since = time.monotonic()
                await eventually(
                    lambda: any(e["event"] == "amqp_connection_lost" for e in logs), seconds=30
                )
                noticed_after = time.monotonic() - silent_since
                proxy.frozen = False
                await eventually(
                    lambda: any(e["event"] == "amqp_connection_restored" for e in logs),
                    seconds=15,
                )
                channel = await connection.channel()  # and it works
                await channel.close()
            finally:
                await amqp_topology.close(connection)
        assert noticed_after < 20, noticed_after
    finally:
        await proxy.close()
        await anyio.lowlevel.checkpoint()
