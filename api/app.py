"""Starlette app factory: GraphQL (+GraphiQL) at /graphql, SPARQL at /sparql, review pages, thumbnails,
the Neo4j Browser guide and /healthz. Services are built once in the lifespan and injected."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cross_web import HTTPException  # strawberry's HTTP error (its dependency)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from api.admission import Admission
from api.context import Context
from api.db import Db
from api.errors import add_hints
from api.middleware import CSP, GRAPHIQL_CSP, INLINE_CSP, BodyLimit, SecurityHeaders
from api.schema import build_schema
from ontology.sparql_http import sparql_pool
from ontology.sparql_pool import SparqlPool
from rskg.services import Services
from rskg.settings import Settings

log = logging.getLogger("rskg.api")
HEALTH_TIMEOUT_S = 3.0

# pages still carrying inline <script>/<style> (relaxed CSP until they move into the bundled web app, which has
# none: /, /explore, /compose, /stats, /review/composite/... get the strict policy)
INLINE_SCRIPT_PAGES = ("/review/mappings", "/labelling")


class RskgGraphQL(GraphQL[Context, None]):
    def parse_json(self, data: str | bytes) -> Any:
        """The request body: strict UTF-8 JSON holding one object, else HTTP 400 saying what is wrong."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPException(400, "the request body is not valid UTF-8") from exc
        try:
            value = json.loads(data)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise HTTPException(400, "the request body is not valid JSON") from exc
        if not isinstance(value, dict):
            raise HTTPException(400, 'the request body must be a JSON object: {"query": "...", "variables": {...}}')
        return value

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        add_hints(result.errors)
        return await super().process_result(request, result)

    async def get_context(self, request: Any, response: Any = None) -> Context:
        services: Services = request.app.state.services
        return Context(request=request, response=response, settings=request.app.state.settings,
                       services=services, db=Db(services))


async def healthz(request: Request) -> JSONResponse:
    """Both servers answer a trivial query within a few seconds: 200 ok, else 503 naming the one down."""
    services: Services = request.app.state.services

    def neo4j() -> None:
        services.driver.execute_query("RETURN 1", timeout=HEALTH_TIMEOUT_S)

    def postgres() -> None:
        with services.pool.connection(timeout=HEALTH_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")

    async def check(fn: Any) -> str:
        try:
            await asyncio.wait_for(asyncio.to_thread(fn), HEALTH_TIMEOUT_S + 1)
            return "ok"
        except TimeoutError:
            return "error: no answer within the time limit"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            return f"error: {type(exc).__name__}"

    n, p = await asyncio.gather(check(neo4j), check(postgres))
    status = {"neo4j": n, "postgres": p}
    ok = all(v == "ok" for v in status.values())
    return JSONResponse({"status": "ok" if ok else "degraded", **status}, status_code=200 if ok else 503)


def _warm_retrieval(services: Services) -> None:
    import os

    from rskg.retrieval.pipeline import warm_up

    try:
        warm_up(services)
    except Exception:  # noqa: BLE001 - a missing index / stopped server is reported by the first request
        logging.getLogger(__name__).warning("retrieval warm-up failed", exc_info=True)
    # one PostgreSQL connection per worker thread (asyncio.to_thread's default pool: cores + 4) opened now, so
    # a burst of requests does not open them (a backend start each) while it is being served
    pool = services.pool
    pool.resize(min_size=min(services.settings.pg_pool_max, (os.cpu_count() or 1) + 4), max_size=pool.max_size)
    try:
        pool.wait(timeout=10)
    except Exception:  # noqa: BLE001 - the pool keeps trying in the background; requests still get connections
        logging.getLogger(__name__).warning("PostgreSQL pool warm-up incomplete", exc_info=True)


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """Build the app. ``services`` may be passed in (tests); otherwise opened in the lifespan and closed after."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own = services is None
        svc = services or Services(settings)
        svc.driver          # noqa: B018 - open now: a stopped server fails at startup with a clear RskgError
        svc.pool            # noqa: B018
        app.state.services = svc
        app.state.settings = settings
        app.state.sparql = sparql
        app.state.admission = Admission(settings)
        if own:   # load the retrieval caches before serving: no request pays for (or queues behind) the loading
            await asyncio.to_thread(_warm_retrieval, svc)
            await asyncio.to_thread(sparql.warm)
        try:
            yield
        finally:
            sparql.close()
            app.state.admission.close()
            if own:
                svc.close()

    sparql = sparql_pool(settings)
    graphql_app = RskgGraphQL(build_schema(), graphql_ide="graphiql")
    routes: list[BaseRoute] = [
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        Route("/healthz", healthz),
    ]
    routes += _extra_routes(settings, sparql)
    routes += __import__("api.labelling", fromlist=["labelling_routes"]).labelling_routes()
    inline = {p: INLINE_CSP for p in INLINE_SCRIPT_PAGES}
    return Starlette(routes=routes, lifespan=lifespan, middleware=[
        Middleware(SecurityHeaders, csp=CSP, csp_by_path={"/graphql": GRAPHIQL_CSP, **inline}),
        Middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)])


def _extra_routes(settings: Settings, sparql: SparqlPool) -> list[BaseRoute]:
    from api.web import web_routes

    return web_routes(settings, sparql)


__all__ = ["create_app", "Response"]


def app_from_env() -> Starlette:
    """Factory for uvicorn (``--factory``), e.g. several worker processes: settings from the environment."""
    from rskg.settings import load_settings

    return create_app(load_settings())
