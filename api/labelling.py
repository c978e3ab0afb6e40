"""The labelling page (paper 001 tool) and its JSON endpoints.

GET  /labelling                                    the page (chip map, segment map, thumbnails, label form)
GET  /labelling/api/datasets                       prepared datasets
GET  /labelling/api/concepts?q=                    concepts to pick a label from
GET  /labelling/api/{dataset}/chips                chip points (UMAP of the Hungarian similarity)
POST /labelling/api/{dataset}/segments             {"chips": [...]} -> segment points of those chips
GET  /labelling/api/{dataset}/overlay/{sample}.png ?segments=1,2 -> chip with those segments highlighted
GET  /labelling/api/{dataset}/labels.csv           saved labels (same as `rskg label export`)
POST /labelling/api/{dataset}/labels               save a label (needs 'Authorization: Bearer <token>')
"""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.auth import UNAUTHENTICATED, bearer_token, token_ok
from rskg.errors import NotFoundError, RskgError, ValidationError
from rskg.services import KeyedCache, KeyedCaches, Services

PAGES = Path(__file__).parent / "pages"
_LOCK = threading.Lock()


def _svc(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _error(exc: RskgError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, ValidationError) else 500
    return JSONResponse({"error": exc.message, "hint": exc.hint, "code": type(exc).__name__}, status_code=status)


async def _run(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


def prepared(services: Services, dataset: str) -> Any:
    """Artefacts of ``dataset``, cached per process and reloaded when `prepare` rewrote them."""
    from rskg.labelling import artifacts

    path = artifacts.labelling_dir(services.settings, dataset) / "chips.json"
    stamp = path.stat().st_mtime_ns if path.exists() else None
    entry = services.cache(PreparedCaches).entry(dataset)
    return entry.get(stamp, lambda: artifacts.load(services.settings, dataset))


class PreparedCaches(KeyedCaches[Any]):
    """Prepared labelling artefacts per dataset, keyed by their chips.json mtime."""


class LabellingContextCache(KeyedCache[Any]):
    """The labelling page's MappingContext (with the text encoder), opened once per process."""


def _open_context(services: Services) -> Any:
    from rskg.label_mapping import MappingContext

    return MappingContext.open(services)


def mapping_context(services: Services) -> Any:
    with _LOCK:
        return services.cache(LabellingContextCache).get(None, lambda: _open_context(services))


async def page(request: Request) -> Response:
    return FileResponse(PAGES / "labelling.html", media_type="text/html")


async def datasets(request: Request) -> Response:
    from rskg.labelling.artifacts import prepared as listing

    return JSONResponse({"datasets": listing(_svc(request).settings)})


async def concepts(request: Request) -> Response:
    from kg.labelling import LIST_CONCEPTS

    q = request.query_params.get("q", "").strip()
    recs = await _run(lambda: _svc(request).driver.execute_query(LIST_CONCEPTS, q=q, limit=50).records)
    return JSONResponse({"concepts": [{"id": r["id"], "name": r["name"]} for r in recs]})


async def chips(request: Request) -> Response:
    from rskg.labelling.views import chip_points

    try:
        prep = await _run(prepared, _svc(request), request.path_params["dataset"])
    except RskgError as exc:
        return _error(exc)
    return JSONResponse({"dataset": prep.dataset, "meta": prep.meta, "chips": chip_points(prep)})


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise ValidationError("the request body is not JSON", "Send a JSON object.") from exc


async def segments(request: Request) -> Response:
    from rskg.labelling.views import segment_points

    try:
        body = await _body(request)
        ids = [str(s) for s in (body.get("chips") or [])] if isinstance(body, dict) else []
        prep = await _run(prepared, _svc(request), request.path_params["dataset"])
        pts = await _run(segment_points, prep, ids)
    except RskgError as exc:
        return _error(exc)
    return JSONResponse({"dataset": prep.dataset, "segments": pts})


async def overlay(request: Request) -> Response:
    from rskg.labelling.chips import load_ids
    from rskg.labelling.views import overlay_png

    svc = _svc(request)
    sample = request.path_params["sample"]
    try:
        raw = request.query_params.get("segments", "")
        sel = [int(x) for x in raw.split(",") if x.strip()] if raw else []
    except ValueError:
        return _error(ValidationError("segments must be comma-separated integers"))

    def work() -> bytes:
        prep = prepared(svc, request.path_params["dataset"])
        prep.index(sample)
        chip = load_ids(svc, [sample])[0]
        return overlay_png(prep, chip.rgb, sample, sel)

    try:
        data = await _run(work)
    except RskgError as exc:
        return _error(exc)
    return Response(data, media_type="image/png")


async def save_label(request: Request) -> Response:
    from rskg.labelling.save import LabelRequest, save

    svc = _svc(request)
    if not token_ok(bearer_token(request.headers), svc.settings.api_token):
        return JSONResponse({"error": UNAUTHENTICATED, "code": "UNAUTHENTICATED"}, status_code=401)
    dataset = request.path_params["dataset"]
    try:
        req = LabelRequest.from_json(dataset, await _body(request))

        def work() -> Any:
            prep = prepared(svc, dataset)
            return save(svc, mapping_context(svc), prep, req)

        res = await _run(work)
    except RskgError as exc:
        return _error(exc)
    return JSONResponse(res.as_dict())


async def export_csv(request: Request) -> Response:
    from rskg.labelling.save import EXPORT_COLUMNS, export_rows

    rows = await _run(export_rows, _svc(request), request.path_params["dataset"])
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_COLUMNS)
    w.writerows(rows)
    return Response(buf.getvalue(), media_type="text/csv")


def labelling_routes() -> list[BaseRoute]:
    return [
        Route("/labelling", page),
        Route("/labelling/api/datasets", datasets),
        Route("/labelling/api/concepts", concepts),
        Route("/labelling/api/{dataset}/chips", chips),
        Route("/labelling/api/{dataset}/segments", segments, methods=["POST"]),
        Route("/labelling/api/{dataset}/overlay/{sample:path}.png", overlay),
        Route("/labelling/api/{dataset}/labels.csv", export_csv),
        Route("/labelling/api/{dataset}/labels", save_label, methods=["POST"]),
    ]
