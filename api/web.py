"""Non-GraphQL routes: review pages, static JS/CSS, thumbnails, the Browser guide and the SPARQL endpoint."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.guide import guide_html
from api.thumbnails import thumbnail
from ontology.sparql_http import create_sparql_app
from ontology.sparql_pool import SparqlPool
from rskg.settings import Settings

PAGES = Path(__file__).parent / "pages"

# Browser fetches guides cross-origin from its own page (port 7474): allow it to read this one.
GUIDE_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}


async def guide(request: Request) -> Response:
    if request.method == "OPTIONS":
        # Browser's fetch sends custom headers, so Chromium asks first (CORS preflight)
        return Response(status_code=204, headers={
            **GUIDE_HEADERS, "Access-Control-Allow-Methods": "GET, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers", "*"),
            "Access-Control-Max-Age": "600"})
    return HTMLResponse(guide_html(), headers=GUIDE_HEADERS)


def web_routes(settings: Settings, sparql: SparqlPool | None = None) -> list[BaseRoute]:
    async def index(request: Request) -> Response:
        return FileResponse(PAGES / "index.html", media_type="text/html")

    async def composite_review(request: Request) -> Response:
        return FileResponse(PAGES / "composite_review.html", media_type="text/html")

    async def mapping_review(request: Request) -> Response:
        return FileResponse(PAGES / "mapping_review.html", media_type="text/html")

    return [
        Route("/", index),
        Route("/review/composite/{composite_id}", composite_review),
        Route("/review/mappings", mapping_review),
        Route("/thumbnails/{name:path}", thumbnail),
        Route("/guide/rskg.html", guide, methods=["GET", "OPTIONS"]),
        Mount("/static", app=StaticFiles(directory=PAGES / "static"), name="static"),
        Mount("/sparql", app=create_sparql_app(settings, sparql)),
    ]
