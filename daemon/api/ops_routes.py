"""Liveness, readiness (database writable, feeds fresh, settlement recovered, no actor waiting
for an outside fault) and metrics."""

from __future__ import annotations

import msgspec
from litestar import MediaType, Request, Response, get

from daemon.api.context import ctx
from daemon.api.errors import RETRY_AFTER_SECONDS

FEED_FRESH_SECONDS = 30.0
# Not ready for this long after the recorder's last group commit the database refused (unless
# one succeeded since); then ready again, to let orders show whether the fault is over.
RECORDING_REFUSED_SECONDS = 5.0


class Health(msgspec.Struct, frozen=True):
    status: str


class FeedState(msgspec.Struct, frozen=True):
    name: str
    connected: bool
    age_seconds: float | None  # since its last message; null if none yet
    fresh: bool
    # Its tickers whose latest quote is stale now (a closed market's, or one the feed lost):
    # shown, not a readiness condition.
    stale_quotes: int = 0


class Readiness(msgspec.Struct, frozen=True):
    ready: bool
    database: bool  # takes a write now (not merely answers)
    recording: bool  # no order refused by the database in the last few seconds
    settlement: bool
    broker: bool | None  # RabbitMQ confirming publishes; null when orders do not go through it
    feeds: list[FeedState]
    waiting_for_outside_fault: list[str]  # actors restarting until an outside fault clears


@get("/healthz", tags=["ops"], summary="Liveness: 200 while the daemon serves")
async def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    tags=["ops"],
    summary="Readiness: 200 if the database takes writes and feeds are fresh",
)
async def readyz(request: Request) -> Response[Readiness]:
    platform = ctx(request.app.state).platform
    database = await platform.write_probe.writable()
    recording = not platform.recorder.refused_within(RECORDING_REFUSED_SECONDS)
    feeds = []
    now = platform.clock.now()
    for feeder in platform.feeders:
        age = None if feeder.last_received is None else (now - feeder.last_received).total_seconds()
        fresh = age is not None and age <= FEED_FRESH_SECONDS
        feeds.append(
            FeedState(
                name=feeder.name,
                connected=feeder.connected,
                age_seconds=age,
                fresh=fresh,
                stale_quotes=platform.book.stale_quotes(feeder.name),
            )
        )
    settlement = all(actor.ready.is_set() for actor in platform.settlement)
    publisher = platform.order_publisher
    broker = None if publisher is None else publisher.confirming
    waiting = platform.faults.waiting
    ready = (
        database
        and recording
        and settlement
        and not waiting
        and broker is not False
        and all(f.fresh for f in feeds)
    )
    body = Readiness(
        ready=ready, database=database, recording=recording, settlement=settlement, broker=broker,
        feeds=feeds, waiting_for_outside_fault=waiting,
    )  # fmt: skip
    if ready:
        return Response(body)
    return Response(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@get("/metrics", tags=["ops"], media_type=MediaType.TEXT, summary="Prometheus metrics")
async def metrics(request: Request) -> bytes:
    return ctx(request.app.state).platform.metrics.render()
