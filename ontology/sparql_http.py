"""Read-only SPARQL 1.1 Protocol endpoint as a Starlette sub-application.

``create_sparql_app(settings)`` serves the label system (``settings.ontology_dir``, reloaded when
the Turtle files change).  Queries come as ``GET ?query=``, ``POST`` form (``query=``) or
``POST`` ``application/sparql-query``; results are negotiated from ``Accept``
(application/sparql-results+json (default), +xml, text/csv, text/tab-separated-values;
text/turtle for CONSTRUCT/DESCRIBE).  Updates (``update=``, ``application/sparql-update``,
INSERT/DELETE/LOAD/CLEAR/...) and malformed queries get 400 with a plain-text message.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ontology.sparql import negotiate
from ontology.sparql_pool import SparqlBusy, SparqlLimits, SparqlPool
from rskg.errors import RskgError
from rskg.settings import Settings

__all__ = ["create_sparql_app", "negotiate", "sparql_pool"]

def _error(message: str, status: int = 400, headers: dict[str, str] | None = None) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


async def _body_text(request: Request, limit: int) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RskgError(f"SPARQL query is longer than {limit} bytes", "Send a shorter query.")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RskgError("SPARQL query is not valid UTF-8", "Send the query text encoded as UTF-8.") from exc


async def _extract_query(request: Request, limit: int) -> str:
    if request.method == "GET":
        if "update" in request.query_params:
            raise RskgError("SPARQL update is not supported: this endpoint is read-only")
        return request.query_params.get("query", "")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/sparql-update":
        raise RskgError("SPARQL update is not supported: this endpoint is read-only")
    if ctype == "application/sparql-query":
        return await _body_text(request, limit)
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form(max_files=0, max_fields=16, max_part_size=limit)
        if "update" in form:
            raise RskgError("SPARQL update is not supported: this endpoint is read-only")
        return str(form.get("query", ""))
    raise RskgError(f"unsupported content type {ctype or '(none)'}: use application/sparql-query or a form")


def sparql_pool(settings: Settings) -> SparqlPool:
    return SparqlPool(settings.ontology_dir, SparqlLimits(
        workers=settings.sparql_workers, queue=settings.sparql_queue, timeout_s=settings.sparql_timeout_s,
        max_rows=settings.sparql_max_rows, memory_mb=settings.sparql_memory_mb))


def create_sparql_app(settings: Settings, pool: SparqlPool | None = None) -> Starlette:
    """The endpoint; queries run in ``pool`` (one of its own, started at the first query, when None)."""
    workers = pool or sparql_pool(settings)
    limit = settings.sparql_max_query_bytes

    async def endpoint(request: Request) -> Response:
        try:
            query = await _extract_query(request, limit)
            if not query.strip():
                return _error("missing 'query' parameter (SPARQL 1.1 Protocol: GET ?query=... or POST)")
            if len(query.encode("utf-8", "surrogatepass")) > limit:
                return _error(f"SPARQL query is longer than {limit} bytes")
            if "\x00" in query:
                return _error("SPARQL query contains a NUL character")
            ans = await workers.run(query, request.headers.get("accept"), request.query_params.get("format"),
                                    request.is_disconnected)
        except SparqlBusy as exc:
            return _error(f"{exc.message} ({exc.hint})", 503, {"Retry-After": "2"})
        except RskgError as exc:
            return _error(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        headers = {"content-type": ans.content_type}
        if ans.version:
            headers["x-rskg-ontology-version"] = ans.version
        return Response(ans.body, status_code=ans.status, media_type=ans.content_type.split(";")[0],
                        headers=headers)

    app = Starlette(routes=[Route("/", endpoint, methods=["GET", "POST"])])
    app.state.sparql_pool = workers
    return app
