"""JPEG thumbnails of samples, rendered from the Zarr pixel store (RGB, or PCA-3 for multispectral).

Cached on disk under ``settings.cache_dir/thumbnails`` keyed by the sample's content hash, so a
re-ingested (changed) image gets a new thumbnail and an unchanged one is rendered once. Also the mask
thumbnails of composed samples (``/masks/<sample id>.png``, stored in PostgreSQL by the composition step).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from urllib.parse import unquote

import numpy as np
from PIL import Image
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from rskg import artifacts, atomic
from rskg.catalog.zarr_store import PixelStore
from rskg.services import KeyedCache, Services

THUMB_PX = 192
SELECT_STORAGE = "SELECT storage, sha256 FROM samples WHERE id = %s"


def render(rgb: np.ndarray, px: int = THUMB_PX) -> bytes:
    img = Image.fromarray(np.ascontiguousarray(rgb[..., :3]).astype(np.uint8), mode="RGB")
    img.thumbnail((px, px), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


class PixelStoreCache(KeyedCache[PixelStore]):
    """The process's reader of the Zarr pixel store (opened once)."""


def _pixels(services: Services) -> PixelStore:
    path = services.settings.zarr_path
    return services.cache(PixelStoreCache).get(path, lambda: PixelStore(path))


def thumbnail_bytes(services: Services, sample_id: str) -> bytes | None:
    with services.connection() as conn:
        row = conn.execute(SELECT_STORAGE, (sample_id,)).fetchone()
    if row is None:
        return None
    storage, sha = row[0], (row[1] or "").strip()
    cache = artifacts.thumbnail_cache(services.settings, sha, THUMB_PX)
    if cache.exists():
        return cache.read_bytes()
    data = render(_pixels(services).read_rgb(storage))
    atomic.write_bytes(cache, data)
    return data


async def _sample_image(request: Request, suffix: str, render_fn: Callable[[Services, str], bytes | None],
                        media_type: str, missing: str, cache_control: str) -> Response:
    name = unquote(request.path_params["name"])
    if not name.endswith(suffix):
        return PlainTextResponse(f"use {request.url.path.rsplit('/', 1)[0]}/<sample id>{suffix}", status_code=404)
    data = await asyncio.to_thread(render_fn, request.app.state.services, name[: -len(suffix)])
    if data is None:
        return PlainTextResponse(missing, status_code=404)
    return Response(data, media_type=media_type, headers={"Cache-Control": cache_control})


async def thumbnail(request: Request) -> Response:
    return await _sample_image(request, ".jpg", thumbnail_bytes, "image/jpeg", "no such sample", "public, max-age=3600")


def mask_bytes(services: Services, sample_id: str) -> bytes | None:
    from rskg.composition import store

    with services.connection() as conn:
        return store.mask(conn, sample_id)


async def mask(request: Request) -> Response:
    """The segmentation head's argmax mask of a composed sample (palette PNG, GID-15 legend colours)."""
    return await _sample_image(request, ".png", mask_bytes, "image/png",
                               "no such sample, or it is not composed (rskg composition backfill)", "no-cache")
