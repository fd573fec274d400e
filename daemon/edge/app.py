"""`papertrade edge`: the order intake of the always-online cloud VM (SPEC section 5D).

No database: it verifies the token with the daemon's public key, validates the order with the
daemon's own code, and answers 202 only once RabbitMQ has confirmed the order in its durable
queue; 503 otherwise ("not accepted", or "unknown" where it may be queued). The message carries
the user's token: the home daemon trusts nothing else in it, and settles the order whenever it
next reads the queue. A repeated client_order_id is answered from the edge's own record
(`daemon/edge/idempotency.py`): the same order, or 409 if the body differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import anyio
import msgspec
import structlog
from litestar import Litestar, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import JSONBody

from daemon.actors.http_server import HttpServer
from daemon.amqp_topology import Topology
from daemon.api.access_log import access_log
from daemon.api.client_address import parse_networks
from daemon.api.context import AUTHENTICATED, bearer_token
from daemon.api.errors import HANDLERS
from daemon.api.json_plain import PlainDecimalResponse
from daemon.api.ops_routes import healthz
from daemon.api.views import OrderView, order_view
from daemon.clock import Clock, LiveClock
from daemon.config import ConfigError, Settings
from daemon.edge.idempotency import EdgeOrders
from daemon.edge.instruments import seeded_instruments
from daemon.edge.publisher import OrderPublisher
from daemon.edge.queue_gate import KnownOrders, QueueGate
from daemon.heap import freeze_startup_objects
from daemon.http_limits import HttpLimits
from daemon.instruments import Instrument
from daemon.order_requests import OrderRejected, OrderRequest, build_order
from daemon.signals import stop_on_signal
from daemon.supervisor import Actor, RestartPolicy, supervise
from daemon.tokens import TokenVerifier, load_public_key

log = structlog.get_logger(__name__)


class EdgeContext:
    """What the edge's handlers need, kept on `app.state.ctx`. The verifier has the name the
    daemon's context gives it, so the daemon's auth dependency serves the edge unchanged."""

    accounts = None  # no database here: check_token checks signature and expiry only

    def __init__(
        self,
        verifier: TokenVerifier,
        publisher: OrderPublisher,
        known: KnownOrders,
        instruments: Mapping[str, Instrument],
        clock: Clock,
    ) -> None:
        self.verifier = verifier
        self.publisher = publisher
        self.gate = QueueGate(publisher, known)
        self.instruments = instruments
        self.clock = clock


class EdgeReadiness(msgspec.Struct, frozen=True):
    ready: bool
    broker: bool  # connected to RabbitMQ
    confirms: bool  # and RabbitMQ confirms publishes in time (not blocked by an alarm, not stalled)


def _edge(request: Request) -> EdgeContext:
    return request.app.state.ctx


@post(
    "/api/orders",
    status_code=202,
    dependencies=AUTHENTICATED,
    tags=["orders"],
    summary="Place an order; answered once RabbitMQ has it, settled by the home daemon after",
)
async def place_order(
    request: Request, user_id: NamedDependency[UUID], data: JSONBody[OrderRequest]
) -> OrderView:
    edge = _edge(request)
    try:
        order = build_order(data, user_id, edge.instruments, edge.clock.now())
    except OrderRejected as exc:
        raise ClientException(str(exc)) from None
    stored, _ = await edge.gate.submit(order, bearer_token(request))
    return order_view(stored)


@get("/readyz", tags=["ops"], summary="Readiness: 200 while RabbitMQ is reachable and confirms")
async def readyz(request: Request) -> Response[EdgeReadiness]:
    publisher = _edge(request).publisher
    broker, confirms = publisher.connected, publisher.confirming
    return Response(
        EdgeReadiness(ready=confirms, broker=broker, confirms=confirms),
        status_code=200 if confirms else 503,
        headers={} if confirms else {"Retry-After": "2"},
    )


def create_edge_app(context: EdgeContext) -> Litestar:
    app = Litestar(
        response_class=PlainDecimalResponse,
        route_handlers=[place_order, healthz, readyz],
        exception_handlers=HANDLERS,
        openapi_config=None,
        request_max_body_size=64 * 1024,
        debug=False,
        logging_config=None,  # `papertrade` configures logging (structlog) itself
    )
    app.state.ctx = context
    return app


async def run_edge(settings: Settings) -> None:
    # Exit 78 (ConfigError): systemd does not restart what no restart can fix.
    if not settings.amqp_url:
        raise ConfigError("the edge needs PAPERTRADE_AMQP_URL, the RabbitMQ that keeps the orders")
    try:
        key = load_public_key(settings.data_dir, settings.jwt_public_key)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"the edge has no usable token public key ({exc}); set PAPERTRADE_JWT_PUBLIC_KEY "
            "to the daemon's jwt_ed25519.pub.pem (PEM text or a file path)"
        ) from None
    clock = LiveClock()
    publisher = OrderPublisher(
        settings.amqp_url, Topology(queue=settings.amqp_queue), name="papertrade-edge"
    )
    instruments = {instrument.ticker_id: instrument for instrument in seeded_instruments()}
    known = EdgeOrders(settings.data_dir, clock)
    app = create_edge_app(
        EdgeContext(TokenVerifier(key, clock), publisher, known, instruments, clock)
    )
    server = HttpServer(access_log(app), settings.http_host, settings.http_port)
    server.limits = HttpLimits(exempt=parse_networks(settings.trusted_proxies))
    freeze_startup_objects()
    policy = RestartPolicy(
        max_restarts=settings.max_restarts, window=settings.restart_window_seconds
    )
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(stop_on_signal, tg.cancel_scope)
            actors = [Actor("order_publisher", publisher.run), Actor("http", server.run)]
            await supervise(actors, policy)
            tg.cancel_scope.cancel()
    finally:
        known.close()
    log.info("stopped")
