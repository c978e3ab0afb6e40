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
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ontology.sparql import CSV, FORMATS, JSON, TSV, TURTLE, XML, GraphCache, run_query
from rskg.errors import RskgError
from rskg.settings import Settings

_BINDINGS = [JSON, XML, CSV, TSV]
_GRAPH = [TURTLE]
_ALIASES = {"application/json": JSON, "application/xml": XML, "text/xml": XML}


def _accepted(header: str) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    for i, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        out.append((-q + i * 1e-6, _ALIASES.get(fields[0].lower(), fields[0].lower())))
    return sorted(out)


def negotiate(accept: str | None, is_graph: bool, fmt: str | None = None) -> str | None:
    """Media type to answer with, or None when nothing acceptable can be produced (406)."""
    offered = _GRAPH if is_graph else _BINDINGS
    if fmt:
        wanted = FORMATS.get(fmt)
        return wanted if wanted in offered else None
    if not accept:
        return offered[0]
    for negq, mt in _accepted(accept):
        if negq >= 0:           # q=0 means "not acceptable"
            continue
        if mt in offered:
            return mt
        if mt in ("*/*", "application/*", "text/*"):
            prefix = mt.split("/")[0]
            return next((o for o in offered if prefix == "*" or o.startswith(prefix + "/")), None)
    return None


def _error(message: str, status: int = 400) -> PlainTextResponse:
    return PlainTextResponse(message + "\n", status_code=status)


async def _extract_query(request: Request) -> str:
    if request.method == "GET":
        if "update" in request.query_params:
            raise RskgError("SPARQL update is not supported: this endpoint is read-only")
        return request.query_params.get("query", "")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/sparql-update":
        raise RskgError("SPARQL update is not supported: this endpoint is read-only")
    if ctype == "application/sparql-query":
        return (await request.body()).decode("utf-8")
    if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        if "update" in form:
            raise RskgError("SPARQL update is not supported: this endpoint is read-only")
        return str(form.get("query", ""))
    raise RskgError(f"unsupported content type {ctype or '(none)'}: use application/sparql-query or a form")


def create_sparql_app(settings: Settings) -> Starlette:
    cache = GraphCache(settings.ontology_dir)

    async def endpoint(request: Request) -> Response:
        try:
            query = await _extract_query(request)
            if not query.strip():
                return _error("missing 'query' parameter (SPARQL 1.1 Protocol: GET ?query=... or POST)")
            graph = await run_in_threadpool(cache.graph)
            result = await run_in_threadpool(run_query, graph, query)
            media = negotiate(request.headers.get("accept"), result.is_graph, request.query_params.get("format"))
            if media is None:
                offered = ", ".join(_GRAPH if result.is_graph else _BINDINGS)
                return _error(f"not acceptable: this {result.kind} result is available as {offered}", 406)
            body, ctype = await run_in_threadpool(result.serialize, media)
        except RskgError as exc:
            return _error(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        return Response(body, media_type=ctype.split(";")[0],
                        headers={"content-type": ctype, "x-rskg-ontology-version": cache.version})

    return Starlette(routes=[Route("/", endpoint, methods=["GET", "POST"])])
