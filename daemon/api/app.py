"""The Litestar application: controllers, error handlers, OpenAPI at /schema, the web app at /."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import ClientException, NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from daemon.api.auth_routes import AuthController
from daemon.api.context import ApiContext
from daemon.api.docs_page import DocsPage
from daemon.api.errors import HANDLERS, http_error
from daemon.api.json_plain import SMALL_ANSWER, PlainDecimalResponse
from daemon.api.market_routes import MarketController
from daemon.api.ops_routes import healthz, metrics, readyz
from daemon.api.order_routes import OrderController, costs
from daemon.api.portfolio_routes import PortfolioController
from daemon.api.profile_routes import ProfileController
from daemon.api.ranking_routes import RankingController
from daemon.api.season_routes import SeasonController
from daemon.api.security_headers import content_security_policy, security_headers
from daemon.api.ws_route import ws_endpoint

_API_PREFIXES = ("/api", "/ws", "/schema", "/healthz", "/readyz", "/metrics")
_PLACEHOLDER = """<!doctype html><html lang="en"><meta charset="utf-8"><title>papertrade</title>
<body style="font-family:system-ui;max-width:40em;margin:4em auto;line-height:1.5">
<h1>papertrade is running</h1><p>The web app has not been built. Run <code>./papertrade run</code>
from the repository (it builds <code>web/</code>), or set <code>PAPERTRADE_WEB_DIR</code>.</p>
<p>The API is at <a href="/schema">/schema</a>.</p></body></html>"""


def find_web_dir(configured: Path | None) -> Path | None:
    """The built web app: PAPERTRADE_WEB_DIR, else web/dist of this checkout if built."""
    if configured is not None:
        return configured if (configured / "index.html").exists() else None
    checkout = Path(__file__).resolve().parents[2] / "web" / "dist"
    return checkout if (checkout / "index.html").exists() else None


async def refuse_nul(request: Request) -> None:
    """A NUL in a path cannot name a file or a route (and breaks os.stat in the static files)."""
    if "\x00" in request.scope["path"]:
        raise ClientException("the path contains a NUL character (%00); remove it")


def create_app(context: ApiContext, web_dir: Path | None = None) -> Litestar:
    route_handlers: list = [
        AuthController,
        OrderController,
        costs,
        MarketController,
        PortfolioController,
        RankingController,
        SeasonController,
        ProfileController,
        healthz,
        readyz,
        metrics,
        ws_endpoint,
    ]
    index_html: bytes | None = None
    if web_dir is not None:
        if (web_dir / "assets").is_dir():
            # Vite names assets by content hash: cache them for a year, never revalidate.
            route_handlers.append(
                create_static_files_router(
                    path="/assets",
                    directories=[web_dir / "assets"],
                    name="web_assets",
                    cache_control=CacheControlHeader(
                        max_age=31_536_000, public=True, immutable=True
                    ),
                )
            )
        route_handlers.append(
            create_static_files_router(
                path="/",
                directories=[web_dir],
                html_mode=True,
                name="web",
                cache_control=CacheControlHeader(no_cache=True),
            )
        )
        index_html = (web_dir / "index.html").read_bytes()

    def not_found(request: Request, exc: NotFoundException) -> Response:
        # The web app routes on the client: an unknown page path gets the app, not a 404.
        path = request.url.path
        if request.method == "GET" and not path.startswith(_API_PREFIXES):
            return Response(
                index_html or _PLACEHOLDER.encode(), media_type="text/html", status_code=200
            )
        return http_error(request, exc)

    app = Litestar(
        response_class=PlainDecimalResponse,
        route_handlers=route_handlers,
        exception_handlers={**HANDLERS, NotFoundException: not_found},
        openapi_config=OpenAPIConfig(
            title="papertrade",
            version="1.0.0",
            description="Paper trading of KRX, US stocks and crypto, ranked in KRW. Decimals are "
            "JSON strings, times UTC ISO 8601. Errors are {status_code, detail}.",
            path="/schema",
            render_plugins=[DocsPage()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT",
                        description="The access_token from POST /api/auth/login",
                    )
                }
            ),
            security=[{"bearer": []}],
        ),
        request_max_body_size=64 * 1024,
        before_request=refuse_nul,
        before_send=[security_headers(content_security_policy(index_html))],
        # Answers under 1 KiB (an order, a quote) are sent as they are; gzip only pays above.
        # Routes whose answer is always that small (placing an order) skip the middleware.
        compression_config=CompressionConfig(
            backend="gzip", minimum_size=1024, gzip_compress_level=6, exclude_opt_key=SMALL_ANSWER
        ),
        debug=False,
        logging_config=None,  # the daemon configures logging (structlog) itself
    )
    app.state.ctx = context
    return app
