"""``POST /export/composite/<id>?format=imagefolder|stac|csv``: the export as a zip streamed to the browser.

Needs the API token (``Authorization: Bearer``) like the exportComposite mutation: the export is written into a
temporary folder with :func:`rskg.composites.export.export` (rejected items left out, ATTRIBUTION.md of every
source dataset inside), zipped on disk and streamed in chunks; both are removed once the response is sent."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from api.auth import UNAUTHENTICATED, bearer_token, token_ok
from rskg.errors import RskgError

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1 << 16


def _zip_export(request: Request, composite_id: str, fmt: str, include_pending: bool, tmp: Path) -> tuple[Path, str]:
    from rskg.composites.composite import get_composite
    from rskg.composites.export import export

    services = request.app.state.services
    comp = get_composite(services, composite_id)
    stem = f"{_SAFE.sub('_', comp.name)[:60]}-{comp.id[:8]}-{_SAFE.sub('_', fmt)}"
    out = tmp / stem
    export(services, comp.id, fmt, out, include_pending)
    archive = tmp / f"{stem}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(out.rglob("*")):
            if f.is_file():
                # images are already compressed: store them, deflate the text files
                kind = zipfile.ZIP_STORED if f.suffix.lower() in {".png", ".jpg", ".jpeg", ".tif", ".tiff"} \
                    else zipfile.ZIP_DEFLATED
                zf.write(f, f"{stem}/{f.relative_to(out)}", compress_type=kind)
    return archive, f"{stem}.zip"


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            yield block


async def export_zip(request: Request) -> Response:
    settings = request.app.state.settings
    if not token_ok(bearer_token(request.headers), settings.api_token):
        return JSONResponse({"error": UNAUTHENTICATED, "code": "UNAUTHENTICATED"}, status_code=401)
    fmt = request.query_params.get("format", "imagefolder")
    include_pending = request.query_params.get("includePending", "true").lower() != "false"
    tmp = Path(tempfile.mkdtemp(prefix="rskg-export-"))
    try:
        archive, name = await asyncio.to_thread(_zip_export, request, request.path_params["composite_id"], fmt,
                                                include_pending, tmp)
    except RskgError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        return JSONResponse({"error": exc.message, "hint": exc.hint}, status_code=400)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return StreamingResponse(_chunks(archive), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Content-Length": str(archive.stat().st_size)},
                             background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))
