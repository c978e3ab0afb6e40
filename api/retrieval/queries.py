"""The retrieve query: runs rskg.retrieval.pipeline.retrieve in a worker thread."""

from __future__ import annotations

import strawberry

from api.admission import admitted
from api.catalog.types import composition_bounds
from api.context import Info
from api.retrieval.types import RetrievalInput, RetrievalResult
from api.uploads import decode_image
from rskg import validation
from rskg.retrieval.model import RetrievalRequest


def to_request(i: RetrievalInput) -> RetrievalRequest:
    bbox = validation.bbox(i.bbox)
    return RetrievalRequest(
        labels=list(i.labels), bbox=bbox, polygon_wkt=i.polygon_wkt, spatial=i.spatial, time_from=i.time_from,
        time_to=i.time_to, sensors=i.sensors, gsd_min=i.gsd_min, gsd_max=i.gsd_max, datasets=i.datasets,
        composition=composition_bounds(i.composition),
        alpha=i.alpha, beta=i.beta, tau=i.tau, max_distance=i.max_distance, k_per_prototype=i.k_per_prototype,
        similarity_threshold=i.similarity_threshold, limit_direct=i.limit_direct,
        limit_supplementary=i.limit_supplementary, rerank_hir=i.rerank_hir, hir_grid=i.hir_grid,
        hir_lambda=i.hir_lambda, hir_source=i.hir_source,
        hir_weights={w.concept_id: w.weight for w in i.hir_weights} if i.hir_weights else None,
        hir_shortlist=i.hir_shortlist, example_sample_id=i.example_sample_id,
        example_image=decode_image(i.example_image_base64, "exampleImageBase64"), example_gsd_m=i.example_gsd_m)


@strawberry.type
class RetrievalQueries:
    @strawberry.field(description="Training samples for labels (paper 000 Algorithm 2): PostGIS filter -> label "
                                  "expansion (Dijkstra) -> direct matches -> prototype kNN supplementary samples.")
    async def retrieve(self, info: Info, request: RetrievalInput) -> RetrievalResult:
        from rskg.retrieval.pipeline import retrieve

        ctx = info.context
        heavy = request.example_image_base64 is not None or bool(request.rerank_hir)
        result = await admitted(ctx, "image" if heavy else "retrieve",
                                lambda: retrieve(ctx.services, ctx.settings, to_request(request)))
        return RetrievalResult.of(result)
