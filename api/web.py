"""Non-GraphQL routes: the web app (Explore, Compose, Review, Statistics), the mapping review page, export
zips, static JS/CSS, thumbnails, the Browser guide and the SPARQL endpoint."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from api.downloads import export_zip
from api.guide import guide_html
from api.thumbnails import mask, thumbnail
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


# the web app (api/pages/app.html + its bundle in static/app/, built from web/ by `make web`): one page shell,
# routed in the browser by path
APP_PATHS = ("/", "/explore", "/explore/{concept_id:path}", "/compose", "/stats", "/review/composite/{composite_id}",
             "/sample/{sample_id:path}")


def web_routes(settings: Settings, sparql: SparqlPool | None = None) -> list[BaseRoute]:
    async def app_page(request: Request) -> Response:
        return FileResponse(PAGES / "app.html", media_type="text/html", headers={"Cache-Control": "no-cache"})

    async def mapping_review(request: Request) -> Response:
        return FileResponse(PAGES / "mapping_review.html", media_type="text/html")

    return [
        *[Route(p, app_page) for p in APP_PATHS],
        Route("/export/composite/{composite_id}", export_zip, methods=["POST"]),
        Route("/review/mappings", mapping_review),
        Route("/thumbnails/{name:path}", thumbnail),
        Route("/masks/{name:path}", mask),
        Route("/guide/rskg.html", guide, methods=["GET", "OPTIONS"]),
        Mount("/static", app=StaticFiles(directory=PAGES / "static"), name="static"),
        Mount("/sparql", app=create_sparql_app(settings, sparql)),
    ]
