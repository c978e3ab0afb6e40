"""search(text) and describe(sampleId | imageBase64): rskg.search in a worker thread. RskgErrors (empty or
over-long text, bad image) come back as GraphQL errors with their hint (api.errors)."""

from __future__ import annotations

from typing import Any

import strawberry

from api.admission import admitted
from api.context import Info
from api.search.types import Description, SearchResult
from api.uploads import decode_image


@strawberry.type
class SearchQueries:
    @strawberry.field(description="Free-text image search: phrases -> concepts of the label system -> retrieval "
                                  "pipeline (+ caption-learned text->visual map) -> images with evidence.")
    async def search(self, info: Info, text: str, limit: int = 20, route: str = "fused",
                     datasets: list[str] | None = None) -> SearchResult:
        from rskg.search.service import search

        ctx = info.context
        r = await admitted(ctx, "search", search, ctx.services, ctx.settings, text, limit, route, datasets)
        return SearchResult.of(r)

    @strawberry.field(description="Image -> text: the concepts (with hierarchy levels) an image is closest to. "
                                  "Give a catalog sampleId or an uploaded image as base64.")
    async def describe(self, info: Info, sample_id: str | None = None, image_base64: str | None = None,
                       top: int = 10) -> Description:
        from rskg.search.describe import describe

        ctx = info.context

        def run() -> Any:
            return describe(ctx.services, ctx.settings, sample_id, decode_image(image_base64, "imageBase64"), top)

        d = await admitted(ctx, "image" if image_base64 is not None else "describe", run)
        return Description.of(d)
